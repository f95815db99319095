#!/usr/bin/env bash
# End-to-end, reload when the daemon cannot read its own files: nfflowd runs
# as nobody in the lab's router namespace, its configuration is root's alone
# (mode 0600 in a 0700 directory) and its file copy lives in a directory
# only root can write to.
#
#   start      the daemon runs as nobody with NoNewPrivs 1; what it created
#              is not world-readable although the test runs with umask 022:
#              the file copy 0640, the recording 0640, the control socket
#              0660 root:nogroup, the pid file 0644 (a pid is no secret)
#   reload     "nfflowd reload" as root hands the daemon the text and the
#              copy's file: the export moves from collector A to B, same pid
#   rotation   the copy is renamed (as logrotate does) and reloaded: the new
#              file is created (0640) and written to, the old one no more
#   SIGHUP     with the file unreadable for nobody: the daemon logs why
#              ("Permission denied") and "run: nfflowd -c FILE reload as
#              root", and keeps collector B; with the file readable but the
#              copy's file not writable for nobody, the same for the copy;
#              with a file it can read whole (no file copy), SIGHUP moves the
#              export to collector C
#   moved      a file that changes pidfile is refused on reload with a
#              message naming it; "stop" with that file still finds the
#              daemon (by its control socket) and stops it
#
# Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=security_reload
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT_A=$LAB_COLLECTOR_PORT
PORT_B=$((LAB_COLLECTOR_PORT + 1))
PORT_C=$((LAB_COLLECTOR_PORT + 2))
SPORT_BASE=42000

lab_require setpriv
lab_require_nfflowd
umask 022
lab_up
ETC=$LAB_TMP/etc # root's alone: 0700
LOGS=$LAB_TMP/logs
CONF=$ETC/nfflowd.conf
COPY=$LOGS/flows.csv
REC=$LOGS/netlink.pcap
mkdir -m 0700 "$ETC" "$LOGS"

# conf PORT [copy]: the root-only configuration, exporting to PORT, with the
# file copy unless the second argument is "nocopy".
conf() {
	lab_nfflowd_conf "$CONF.new" "$1"
	if [ "${2:-copy}" = copy ]; then
		# Replace the screen copy of the lab's configuration by a file copy.
		sed -i -e '/^<ptee>/,$d' "$CONF.new"
		cat >>"$CONF.new" <<-EOF
			<ptee>
			    <conf>
			        dispatchers file
			        <file>
			            class Log::Dispatch::File
			            filename $COPY
			        </file>
			    </conf>
			</ptee>
		EOF
	fi
	chmod 0600 "$CONF.new"
	mv "$CONF.new" "$CONF"
}

nf_cmd() {
	local name=$1
	shift
	lab_nfflowd_cmd "$name" -c "$CONF" "$@"
}

expect_rc() {
	if [ "$LAB_RC" -ne "$2" ]; then
		lab_fail "$1: exit status $LAB_RC, expected $2; stdout: $(tr '\n' '|' <"$LAB_TMP/$3.out") stderr: $(tr '\n' '|' <"$LAB_TMP/$3.err")"
		return 1
	fi
}

stats() { lab_nfflowd_check "$CONF"; }
exported() { lab_stat_value "connections:" exported <<<"$(stats)"; }
collector_is() { grep -q "^collector 127\.0\.0\.1:$1:" <<<"$(stats)"; }
# shellcheck disable=SC2317 # called through lab_wait_for
exported_at_least() { [ "$(exported)" -ge "$1" ] 2>/dev/null; }
# shellcheck disable=SC2317 # called through lab_wait_for
log_has() { grep -q -- "$1" "$LAB_TMP/nfflowd.err"; }

# exchange N: one UDP exchange (source port SPORT_BASE+N), ended; waits
# until the daemon exported it.
exchange() {
	local before
	before=$(exported)
	lab_udp_exchange "phase-$1" "$((SPORT_BASE + $1))"
	[ "$(lab_ct_flush_client)" -eq 1 ] || lab_fail "phase $1: conntrack -D did not end 1 connection"
	lab_wait_for 10 "nfflowd to export phase $1" exported_at_least "$((before + 1))" ||
		lab_fail "phase $1: not exported"
}

# lines_with FILE N: lines of the copy FILE with the phase's source port.
lines_with() { grep -c ",$((SPORT_BASE + $2))," "$1" 2>/dev/null || true; }
# shellcheck disable=SC2317 # called through lab_wait_for
copy_has() { [ "$(lines_with "$1" "$2")" -ge 1 ]; }

# mode_of FILE: octal mode, owner and group.
mode_of() { stat -c '%a %U %G' "$1"; }

lab_servers_start
for port in "$PORT_A" "$PORT_B" "$PORT_C"; do
	lab_nfcapd_start "$port"
done
lab_ct_start

# ---- start --------------------------------------------------------------------------
lab_log "start as root (foreground, user nobody), configuration 0600 in a 0700 directory"
conf "$PORT_A"
lab_nfflowd_start_conf "$CONF" -w "$REC"
PID=$(cat "$LAB_TMP/nfflowd.pid")
[ "$(lab_proc_status "$PID" NoNewPrivs)" = 1 ] ||
	lab_fail "NoNewPrivs of the daemon is '$(lab_proc_status "$PID" NoNewPrivs)', expected 1"
[ "$(lab_proc_status "$PID" Uid)" = "65534 65534 65534 65534" ] ||
	lab_fail "the daemon does not run as nobody: Uid $(lab_proc_status "$PID" Uid)"
[ "$(mode_of "$COPY")" = "640 root root" ] || lab_fail "file copy $COPY: $(mode_of "$COPY"), expected 640 root root"
[ "$(mode_of "$REC")" = "640 root root" ] || lab_fail "recording $REC: $(mode_of "$REC"), expected 640 root root"
[ "$(mode_of "$LAB_TMP/nfflowd.sock")" = "660 root nogroup" ] ||
	lab_fail "control socket: $(mode_of "$LAB_TMP/nfflowd.sock"), expected 660 root nogroup"
[ "$(mode_of "$LAB_TMP/nfflowd.pid")" = "644 root root" ] ||
	lab_fail "pid file: $(mode_of "$LAB_TMP/nfflowd.pid"), expected 644 root root"
# Nothing it made is readable by others, whatever the umask.
others=$(find "$LOGS" "$LAB_TMP/nfflowd.sock" -perm /o=rwx -printf '%p %m\n')
[ -z "$others" ] || lab_fail "files open to other users: $others"
exchange 1
lab_wait_for 5 "the copy to hold phase 1" copy_has "$COPY" 1 ||
	lab_fail "the file copy holds no line of phase 1"

# ---- reload as root -------------------------------------------------------------------
lab_log "reload as root: collector B, the daemon cannot read the file itself"
conf "$PORT_B"
nf_cmd reload-b reload
expect_rc "reload as root with collector B" 0 reload-b &&
	grep -q "reloaded" "$LAB_TMP/reload-b.out" || lab_fail "reload did not say 'reloaded'"
collector_is "$PORT_B" || lab_fail "after reload, check does not list collector B"
collector_is "$PORT_A" && lab_fail "after reload, check still lists collector A"
[ "$(cat "$LAB_TMP/nfflowd.pid")" = "$PID" ] && lab_pid_alive "$PID" || lab_fail "reload replaced the daemon"
exchange 2

# ---- rotation ----------------------------------------------------------------------------
lab_log "rotation: rename the copy, reload"
mv "$COPY" "$COPY.1"
nf_cmd reload-rotate reload
expect_rc "reload after rotation" 0 reload-rotate || true
[ -f "$COPY" ] || lab_fail "reload after rotation did not create $COPY"
[ ! -f "$COPY" ] || [ "$(mode_of "$COPY")" = "640 root root" ] ||
	lab_fail "the new copy: $(mode_of "$COPY"), expected 640 root root"
exchange 3
lab_wait_for 5 "the new copy to hold phase 3" copy_has "$COPY" 3 ||
	lab_fail "the rotated-to file copy holds no line of phase 3"
[ "$(lines_with "$COPY.1" 3)" -eq 0 ] || lab_fail "phase 3 went to the rotated file $COPY.1"
[ "$(lines_with "$COPY.1" 2)" -ge 1 ] || lab_fail "the rotated file lost phase 2"

# ---- SIGHUP --------------------------------------------------------------------------------
lab_log "SIGHUP with a file nobody cannot read"
conf "$PORT_C"
kill -HUP "$PID"
lab_wait_for 5 "the SIGHUP refusal in the log" log_has "run: nfflowd -c $CONF reload as root" ||
	lab_fail "SIGHUP with an unreadable file: no 'run: nfflowd -c $CONF reload as root' in the log"
grep "reload failed" "$LAB_TMP/nfflowd.err" | grep -q "Permission denied" ||
	lab_fail "SIGHUP: the log does not say why (Permission denied): $(grep 'reload failed' "$LAB_TMP/nfflowd.err")"
collector_is "$PORT_B" || lab_fail "a refused SIGHUP changed the collector"

lab_log "SIGHUP with a readable file whose copy nobody cannot write"
chmod 0755 "$ETC"
chmod 0644 "$CONF"
before=$(grep -c "reload failed" "$LAB_TMP/nfflowd.err")
kill -HUP "$PID"
# shellcheck disable=SC2317
more_failures() { [ "$(grep -c "reload failed" "$LAB_TMP/nfflowd.err")" -gt "$before" ]; }
lab_wait_for 5 "a second refusal" more_failures || lab_fail "SIGHUP with an unwritable copy was not refused"
grep "reload failed" "$LAB_TMP/nfflowd.err" | tail -n 1 | grep -q "copy file: cannot open $COPY: Permission denied.*run: nfflowd -c $CONF reload as root" ||
	lab_fail "SIGHUP with an unwritable copy: $(grep 'reload failed' "$LAB_TMP/nfflowd.err" | tail -n 1)"
collector_is "$PORT_B" || lab_fail "a refused SIGHUP changed the collector"

lab_log "SIGHUP with a file the daemon can read and apply itself"
conf "$PORT_C" nocopy
chmod 0644 "$CONF"
kill -HUP "$PID"
lab_wait_for 5 "SIGHUP to move the export to collector C" collector_is "$PORT_C" ||
	lab_fail "SIGHUP with a readable file did not move the export to collector C"
exchange 4

# ---- a file that moves the pid file -----------------------------------------------------------
lab_log "reload with another pidfile: refused; stop still finds the daemon"
conf "$PORT_C" nocopy
sed -i "s|^pidfile .*|pidfile $LAB_TMP/moved.pid|" "$CONF"
nf_cmd reload-moved reload
expect_rc "reload that moves the pid file" 1 reload-moved || true
grep -q "pidfile changed from $LAB_TMP/nfflowd.pid to $LAB_TMP/moved.pid: refused" "$LAB_TMP/reload-moved.err" ||
	lab_fail "reload that moves the pid file: $(tr '\n' '|' <"$LAB_TMP/reload-moved.err")"
lab_pid_alive "$PID" || lab_fail "the daemon died on a refused reload"
sed -i "s|^control_socket .*|control_socket $LAB_TMP/moved.sock|" "$CONF"
nf_cmd stop-moved stop
expect_rc "stop with a file whose pid file and socket moved" 0 stop-moved || true
grep -q "nfflowd stopped (pid $PID)" "$LAB_TMP/stop-moved.out" ||
	lab_fail "stop with the moved paths: $(tr '\n' '|' <"$LAB_TMP/stop-moved.out") $(tr '\n' '|' <"$LAB_TMP/stop-moved.err")"
lab_wait_exit nfflowd 10 || lab_fail "the daemon did not exit after stop"
[ "$LAB_RC" -eq 0 ] || lab_fail "the daemon exited with status $LAB_RC"

# ---- what the collectors received --------------------------------------------------------------
lab_ct_stop
for port in "$PORT_A" "$PORT_B" "$PORT_C"; do
	lab_nfcapd_stop "$port"
done
lab_ct_events v5 >"$LAB_TMP/destroys.txt"
for port in "$PORT_A" "$PORT_B" "$PORT_C"; do
	case $port in
	"$PORT_A") phases=" 1 " ;;
	"$PORT_B") phases=" 2 3 " ;;
	*) phases=" 4 " ;;
	esac
	awk -v base="$SPORT_BASE" -v phases="$phases" 'index(phases, " " ($4 - base) " ")' \
		"$LAB_TMP/destroys.txt" | lab_expected_triplets ct >"$LAB_TMP/expected-$port.txt"
	lab_nfdump_flows "$port" >"$LAB_TMP/collector-$port.txt"
	lab_compare "$LAB_TMP/expected-$port.txt" "$LAB_TMP/collector-$port.txt" \
		"collector on port $port (phases$phases) vs kernel" ||
		lab_fail "collector on port $port: records differ from the connections of phases$phases"
done
if [ "$LAB_FAILURES" -ne 0 ]; then
	lab_show "$LAB_TMP/nfflowd.err" "nfflowd stderr:"
fi
lab_finish
