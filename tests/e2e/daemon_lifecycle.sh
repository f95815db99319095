#!/usr/bin/env bash
# End-to-end, the daemon's life cycle as an operator drives it: nfflowd's own
# commands (check, start, reload, stop, restart) and signals, with a detached
# nfflowd in the router namespace of the lab and nfcapd as the collector.
#
#   check      a good file: exit 0 and "configuration OK"; a bad one: exit 1
#              and FILE:LINE: message
#   start      a start that cannot work (source address not on the host)
#              fails with its reason and leaves nothing behind; a good one
#              returns 0 once the daemon is up: detached (not a child of this
#              shell, its own session, no terminal, /dev/null as stdin/out/err,
#              no descriptor inherited from its caller), as nobody with
#              CapEff/CapPrm CAP_NET_ADMIN alone and an empty bounding set;
#              a second start is refused
#   check      reports it running with its counters
#   traffic    a UDP exchange and a ping through the NAT, ended by conntrack
#              -D, reach collector A (flush_interval 10: by the timer)
#   reload     a file with collector B moves the export there, same pid; a
#              file with a syntax error is refused with FILE:LINE: and so is
#              one the daemon cannot apply (bind error): the daemon keeps
#              collector B; SIGHUP with the broken file keeps it too
#   SIGHUP     with a good file (collector C) moves the export to C
#   stop       with records pending (flush_interval 10) sends them, returns
#              once the process is gone, removes the pid file and socket
#   restart    a new pid, exporting to collector D
#   afterwards stop says "not running" (exit 0), reload fails (exit 1)
#   relative   "-c FILE" relative to the current directory works for start
#              and reload
#
# Every connection's records (the kernel's DESTROYs, from conntrack -E, are
# the reference) must be at exactly the collector that was configured when
# it ended, and nowhere else. Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=daemon_lifecycle
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Records wait for the timer, so that some are pending at stop and reload.
LAB_FLUSH_INTERVAL=10
PORT_A=$LAB_COLLECTOR_PORT
PORT_B=$((LAB_COLLECTOR_PORT + 1))
PORT_C=$((LAB_COLLECTOR_PORT + 2))
PORT_D=$((LAB_COLLECTOR_PORT + 3))
BAD_PORT=$((LAB_COLLECTOR_PORT + 4)) # only in files that must be refused
NOT_LOCAL=192.0.2.77                   # TEST-NET-1: never an address of the lab
# Client UDP source port of each phase's exchange: it tells the phases apart.
SPORT_BASE=41000

lab_require
lab_require_nfflowd
lab_up
CONF=$LAB_TMP/nfflowd.conf
PIDFILE=$LAB_TMP/nfflowd.pid
SOCKET=$LAB_TMP/nfflowd.sock
NOBODY_UID=$(id -u nobody) # lab_require_nfflowd: it exists

# nf_cmd NAME ARGS...: nfflowd -c $CONF ARGS in the router namespace; output
# in $LAB_TMP/NAME.out and .err, exit status in LAB_RC.
nf_cmd() {
	local name=$1
	shift
	lab_nfflowd_cmd "$name" -c "$CONF" "$@"
}

# phase_conf PORT [LINE...]: the daemon's configuration, exporting to PORT.
phase_conf() {
	local port=$1
	shift
	lab_nfflowd_conf "$CONF" "$port" "$@"
	# A good copy with the same pid file and socket, to reach the daemon
	# with "check" while $CONF is broken on purpose.
	cp "$CONF" "$LAB_TMP/good.conf"
}

# daemon_pid: the pid in the pid file (empty if none).
daemon_pid() { cat "$PIDFILE" 2>/dev/null || true; }

# stats: what "check" reports (through the good copy of the file).
stats() { lab_nfflowd_check "$LAB_TMP/good.conf"; }
exported() { lab_stat_value "connections:" exported <<<"$(stats)"; }
sent_to() { lab_stat_value "collector 127.0.0.1:$1:" records <<<"$(stats)"; }
# shellcheck disable=SC2317 # called through lab_wait_for
exported_at_least() { [ "$(exported)" -ge "$1" ] 2>/dev/null; }
# shellcheck disable=SC2317 # called through lab_wait_for
sent_at_least() { [ "$(sent_to "$1")" -ge "$2" ] 2>/dev/null; }
collector_is() { grep -q "^collector 127\.0\.0\.1:$1:" <<<"$(stats)"; }

# expect_rc WHAT RC: LAB_RC must be RC; shows the command's output if not.
expect_rc() {
	if [ "$LAB_RC" -ne "$2" ]; then
		lab_fail "$1: exit status $LAB_RC, expected $2"
		lab_show "$LAB_TMP/$3.out" "  stdout:"
		lab_show "$LAB_TMP/$3.err" "  stderr:"
		return 1
	fi
}

# expect_in NAME STREAM REGEX WHAT: the command's stdout/stderr matches.
expect_in() {
	grep -Eq "$3" "$LAB_TMP/$1.$2" ||
		lab_fail "$4: $2 does not match /$3/: $(tr '\n' '|' <"$LAB_TMP/$1.$2")"
}

# still_running PID WHAT: PID is alive and still in the pid file.
still_running() {
	lab_pid_alive "$1" || lab_fail "$2: the daemon (pid $1) is gone"
	[ "$(daemon_pid)" = "$1" ] || lab_fail "$2: pid file holds '$(daemon_pid)', expected $1"
}

# exchange PHASE: one UDP request/reply with the phase's source port, ended
# by conntrack -D; waits until the daemon has handled its DESTROY.
exchange() {
	local phase=$1 before
	before=$(exported)
	lab_udp_exchange "phase-$phase" "$((SPORT_BASE + phase))"
	[ "$(lab_ct_flush_client)" -eq 1 ] || lab_fail "phase $phase: conntrack -D did not end 1 connection"
	lab_wait_for 10 "nfflowd to export phase $phase" exported_at_least "$((before + 1))" ||
		lab_fail "phase $phase: nfflowd did not count the connection as exported"
}

# gone PID: no such process (any more).
gone() { ! lab_pid_alive "$1"; }

lab_servers_start
for port in "$PORT_A" "$PORT_B" "$PORT_C" "$PORT_D"; do
	lab_nfcapd_start "$port"
done
lab_ct_start

# ---- check ------------------------------------------------------------------
lab_log "check: a good file, a bad one"
phase_conf "$PORT_A"
nf_cmd check-good check
expect_rc "check of a good file" 0 check-good &&
	expect_in check-good out "^$CONF: configuration OK" "check of a good file"
expect_in check-good out "^nfflowd is not running" "check before start"
expect_in check-good out "^kernel: nf_conntrack_acct=" "check before start"

cp "$CONF" "$LAB_TMP/bad.conf"
printf 'flush_intreval 2\n' >>"$LAB_TMP/bad.conf"
bad_line=$(wc -l <"$LAB_TMP/bad.conf")
lab_nfflowd_cmd check-bad -c "$LAB_TMP/bad.conf" check
expect_rc "check of a bad file" 1 check-bad &&
	expect_in check-bad err "^nfflowd: $LAB_TMP/bad.conf:$bad_line: unknown key 'flush_intreval'" \
		"check of a bad file"

# ---- a start that cannot work -------------------------------------------------
lab_log "start: a source address that is not on the host"
lab_nfflowd_conf "$LAB_TMP/unbindable.conf" "$PORT_A"
sed -i "0,/args 127.0.0.1/s//args $NOT_LOCAL/" "$LAB_TMP/unbindable.conf"
lab_nfflowd_cmd start-fail -c "$LAB_TMP/unbindable.conf" start
expect_rc "start with source address $NOT_LOCAL" 1 start-fail &&
	expect_in start-fail err "could not start: .*source address" "start with source address $NOT_LOCAL"
[ ! -e "$PIDFILE" ] || lab_fail "a failed start left the pid file $PIDFILE"
left=$(lab_ns_pids_named "$LAB_RTR" nfflowd)
[ -z "$left" ] || lab_fail "a failed start left nfflowd processes: $left"

# ---- start ----------------------------------------------------------------------
lab_log "start (detached)"
exec 7>"$LAB_TMP/inherited.txt" # a descriptor the daemon must not keep
nf_cmd start start
exec 7>&-
expect_rc "start" 0 start || lab_die "nfflowd did not start"
expect_in start out "^nfflowd started \(pid [0-9]+\)" "start"
PID=$(daemon_pid)
[ -n "$PID" ] || lab_die "start returned 0 but there is no pid file $PIDFILE"
grep -q "(pid $PID)" "$LAB_TMP/start.out" || lab_fail "start printed another pid than the pid file's $PID"
lab_pid_alive "$PID" || lab_die "the daemon (pid $PID) is not running after start returned"
lab_log "daemon pid $PID"

[ "$(ip netns identify "$PID")" = "$LAB_RTR" ] || lab_fail "the daemon does not run in the router namespace"
ppid=$(lab_proc_status "$PID" PPid)
[ "$ppid" != "$$" ] || lab_fail "the daemon's parent is the test shell"
sid=$(awk '{ print $6 }' "/proc/$PID/stat")
tty=$(awk '{ print $7 }' "/proc/$PID/stat")
[ "$sid" != "$(awk '{ print $6 }' /proc/$$/stat)" ] || lab_fail "the daemon is in the test shell's session ($sid)"
[ "$tty" = 0 ] || lab_fail "the daemon has a controlling terminal (tty_nr $tty)"
for fd in 0 1 2; do
	[ "$(readlink "/proc/$PID/fd/$fd")" = /dev/null ] ||
		lab_fail "the daemon's fd $fd is $(readlink "/proc/$PID/fd/$fd"), expected /dev/null"
done
[ "$(readlink "/proc/$PID/cwd")" = / ] || lab_fail "the daemon's working directory is $(readlink "/proc/$PID/cwd"), expected /"
# What it holds besides /dev/null must be its own sockets and the signalfd
# it reads its signals from.
foreign=$(for f in "/proc/$PID/fd/"*; do
	t=$(readlink "$f") || continue
	case "$t" in /dev/null | socket:* | "anon_inode:[signalfd]") ;; *) printf ' %s->%s' "${f##*/}" "$t" ;; esac
done)
[ -z "$foreign" ] || lab_fail "the daemon keeps descriptors inherited from the command that started it:$foreign"

uids=$(lab_proc_status "$PID" Uid)
gids=$(lab_proc_status "$PID" Gid)
[ "$uids" = "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID" ] ||
	lab_fail "the daemon's Uid (real, effective, saved, fs) is '$uids', expected nobody ($NOBODY_UID) in all four"
case " $gids " in *" 0 "*) lab_fail "the daemon kept group id 0: Gid '$gids'" ;; esac
case " $(lab_proc_status "$PID" Groups) " in *" 0 "*) lab_fail "the daemon kept supplementary group 0" ;; esac
for cap in CapEff:0000000000001000 CapPrm:0000000000001000 CapBnd:0000000000000000 CapAmb:0000000000000000; do
	got=$(lab_proc_status "$PID" "${cap%%:*}")
	[ "$got" = "${cap#*:}" ] || lab_fail "the daemon's ${cap%%:*} is $got, expected ${cap#*:}"
done
[ -S "$SOCKET" ] || lab_fail "no control socket at $SOCKET"

lab_log "start again while it runs: refused"
nf_cmd start-again start
expect_rc "a second start" 1 start-again &&
	expect_in start-again err "already running \(pid $PID" "a second start"
still_running "$PID" "after a refused second start"
[ "$(lab_ns_pids_named "$LAB_RTR" nfflowd)" = "$PID" ] ||
	lab_fail "nfflowd processes in the router namespace: $(lab_ns_pids_named "$LAB_RTR" nfflowd), expected only $PID"

nf_cmd check-running check
expect_rc "check while running" 0 check-running || true
expect_in check-running out "^nfflowd is running \(pid $PID\)" "check while running"
for line in "^events: " "^connections: exported [0-9]+" "^netlink: " \
	"^collector 127\.0\.0\.1:$PORT_A: datagrams [0-9]+ records [0-9]+"; do
	expect_in check-running out "$line" "check while running"
done

# ---- phase 1: traffic to collector A ----------------------------------------------
lab_log "phase 1: UDP exchange and ping -> collector A (flush_interval $LAB_FLUSH_INTERVAL s)"
lab_udp_exchange "phase-1" "$((SPORT_BASE + 1))"
lab_ping 2
n=$(lab_ct_flush_client)
[ "$n" -eq 2 ] || lab_fail "phase 1: conntrack -D ended $n connections, expected 2"
lab_wait_for 10 "nfflowd to export phase 1" exported_at_least 2 ||
	lab_fail "phase 1: nfflowd did not count 2 connections as exported"
lab_wait_for $((LAB_FLUSH_INTERVAL + 5)) "6 records sent to collector A" sent_at_least "$PORT_A" 6 ||
	lab_fail "phase 1: nfflowd reports $(sent_to "$PORT_A") records sent to collector A, expected 6"

# ---- phase 2: reload to collector B -------------------------------------------------
lab_log "phase 2: reload with collector B"
phase_conf "$PORT_B"
nf_cmd reload-b reload
expect_rc "reload with collector B" 0 reload-b && expect_in reload-b out "reloaded" "reload with collector B"
still_running "$PID" "after reload"
collector_is "$PORT_B" || lab_fail "after reload, check does not list collector B (port $PORT_B)"
collector_is "$PORT_A" && lab_fail "after reload, check still lists collector A (port $PORT_A)"
exchange 2

# ---- phase 3: refused reloads keep collector B ------------------------------------------
lab_log "phase 3: reload of a broken file, of a file the daemon cannot apply, SIGHUP with a broken file"
lab_nfflowd_conf "$CONF" "$BAD_PORT"
printf '<ct2ft>\n    ttl 60\n' >>"$CONF" # an unclosed block
broken_line=$(grep -n '^<ct2ft>' "$CONF" | tail -n 1 | cut -d: -f1)
nf_cmd reload-broken reload
expect_rc "reload of a broken file" 1 reload-broken || true
expect_in reload-broken err "^nfflowd: $CONF:$broken_line: " "reload of a broken file"
expect_in reload-broken err "reload refused" "reload of a broken file"

lab_nfflowd_conf "$CONF" "$BAD_PORT"
sed -i "0,/args 127.0.0.1/s//args $NOT_LOCAL/" "$CONF"
nf_cmd reload-unbindable reload
expect_rc "reload with source address $NOT_LOCAL" 1 reload-unbindable || true
expect_in reload-unbindable err "source address" "reload with source address $NOT_LOCAL"

lab_nfflowd_conf "$CONF" "$BAD_PORT"
printf 'flush_intreval 2\n' >>"$CONF"
kill -HUP "$PID"
stats >/dev/null # two round trips: the second is served after the SIGHUP
stats >/dev/null
phase_conf "$PORT_B"
still_running "$PID" "after refused reloads"
collector_is "$PORT_B" || lab_fail "after refused reloads, check does not list collector B"
collector_is "$BAD_PORT" && lab_fail "a refused reload was applied: check lists port $BAD_PORT"
exchange 3
lab_wait_for $((LAB_FLUSH_INTERVAL + 5)) "6 records sent to collector B" sent_at_least "$PORT_B" 6 ||
	lab_fail "phases 2-3: nfflowd reports $(sent_to "$PORT_B") records sent to collector B, expected 6"

# ---- phase 4: SIGHUP to collector C ----------------------------------------------------
lab_log "phase 4: SIGHUP with collector C"
phase_conf "$PORT_C"
kill -HUP "$PID"
lab_wait_for 5 "SIGHUP to move the export to collector C" collector_is "$PORT_C" ||
	lab_fail "after SIGHUP, check does not list collector C (port $PORT_C)"
still_running "$PID" "after SIGHUP"
exchange 4
lab_wait_for $((LAB_FLUSH_INTERVAL + 5)) "3 records sent to collector C" sent_at_least "$PORT_C" 3 ||
	lab_fail "phase 4: nfflowd reports $(sent_to "$PORT_C") records sent to collector C, expected 3"

# ---- phase 5: stop with records pending ----------------------------------------------------
lab_log "phase 5: stop with records pending"
exchange 5
pending=$(sent_to "$PORT_C")
[ "$pending" = 3 ] ||
	lab_fail "phase 5: $pending records already sent to collector C before stop, expected 3 (flush_interval $LAB_FLUSH_INTERVAL)"
t0=$(lab_now_ms)
nf_cmd stop stop
took=$(($(lab_now_ms) - t0))
expect_rc "stop" 0 stop && expect_in stop out "^nfflowd stopped \(pid $PID\)" "stop"
lab_log "stop took $took ms"
gone "$PID" || lab_fail "stop returned while the daemon (pid $PID) still runs"
[ "$took" -lt $((LAB_FLUSH_INTERVAL * 1000 / 2)) ] ||
	lab_fail "stop took $took ms: it waited for the flush timer instead of flushing"
[ ! -e "$PIDFILE" ] || lab_fail "stop left the pid file $PIDFILE"
[ ! -e "$SOCKET" ] || lab_fail "stop left the control socket $SOCKET"

# ---- phase 6: start, restart -------------------------------------------------------------------
lab_log "phase 6: start, restart (collector D)"
phase_conf "$PORT_D"
nf_cmd start-d start
expect_rc "start after stop" 0 start-d || true
PID1=$(daemon_pid)
nf_cmd restart restart
expect_rc "restart" 0 restart || true
PID2=$(daemon_pid)
if [ -z "$PID2" ] || [ "$PID2" = "$PID1" ]; then
	lab_fail "restart: pid file holds '$PID2', expected a new pid (was $PID1)"
else
	expect_in restart out "^nfflowd stopped \(pid $PID1\)" "restart"
	expect_in restart out "^nfflowd started \(pid $PID2\)" "restart"
	gone "$PID1" || lab_fail "restart: the old daemon (pid $PID1) still runs"
	lab_pid_alive "$PID2" || lab_fail "restart: the new daemon (pid $PID2) is not running"
	[ "$(lab_proc_status "$PID2" CapEff)" = 0000000000001000 ] ||
		lab_fail "restart: the new daemon's CapEff is $(lab_proc_status "$PID2" CapEff)"
fi
exchange 6
nf_cmd stop-d stop
expect_rc "stop after restart" 0 stop-d || true
[ -z "$PID2" ] || gone "$PID2" || lab_fail "stop returned while the daemon (pid $PID2) still runs"

# ---- not running -----------------------------------------------------------------------------
nf_cmd stop-again stop
expect_rc "stop when not running" 0 stop-again && expect_in stop-again out "not running" "stop when not running"
nf_cmd reload-stopped reload
expect_rc "reload when not running" 1 reload-stopped || true
nf_cmd check-stopped check
expect_rc "check when not running" 0 check-stopped &&
	expect_in check-stopped out "^nfflowd is not running" "check when not running"

# ---- a configuration file named relative to the current directory -------------------------------
lab_log "start and reload with -c relative to the current directory"
LAB_RC=0
(cd "$LAB_TMP" && ip netns exec "$LAB_RTR" timeout 60 "$NFFLOWD" -c "${CONF##*/}" start \
	</dev/null >"$LAB_TMP/start-rel.out" 2>"$LAB_TMP/start-rel.err") || LAB_RC=$?
if expect_rc "start -c ${CONF##*/} (in $LAB_TMP)" 0 start-rel; then
	(cd "$LAB_TMP" && ip netns exec "$LAB_RTR" timeout 60 "$NFFLOWD" -c "${CONF##*/}" reload \
		</dev/null >"$LAB_TMP/reload-rel.out" 2>"$LAB_TMP/reload-rel.err") || LAB_RC=$?
	expect_rc "reload -c ${CONF##*/} (in $LAB_TMP)" 0 reload-rel || true
	nf_cmd stop-rel stop
	expect_rc "stop after the relative start" 0 stop-rel || true
fi
left=$(lab_ns_pids_named "$LAB_RTR" nfflowd)
[ -z "$left" ] || lab_fail "nfflowd processes left running: $left"

# ---- what the collectors received -------------------------------------------------------------
lab_ct_stop
for port in "$PORT_A" "$PORT_B" "$PORT_C" "$PORT_D"; do
	lab_nfcapd_stop "$port"
done

# The kernel's DESTROYs, each assigned to the collector configured when it
# ended: ICMP and the UDP source port of phase 1 -> A, 2-3 -> B, 4-5 -> C, 6 -> D.
lab_ct_events v5 >"$LAB_TMP/destroys.txt"
lab_check_destroys "$LAB_TMP/destroys.txt" 7 "1 17 17 17 17 17 17"
for port in "$PORT_A" "$PORT_B" "$PORT_C" "$PORT_D"; do
	case $port in
	"$PORT_A") phases="1" ;;
	"$PORT_B") phases="2 3" ;;
	"$PORT_C") phases="4 5" ;;
	*) phases="6" ;;
	esac
	awk -v base="$SPORT_BASE" -v phases=" $phases " '
		$2 == 1 { if (index(phases, " 1 ")) print; next }
		index(phases, " " ($4 - base) " ") { print }' "$LAB_TMP/destroys.txt" |
		lab_expected_triplets ct >"$LAB_TMP/expected-$port.txt"
	lab_nfdump_flows "$port" >"$LAB_TMP/collector-$port.txt"
	lab_nfcapd_check "$port" "$(wc -l <"$LAB_TMP/expected-$port.txt")"
	lab_compare "$LAB_TMP/expected-$port.txt" "$LAB_TMP/collector-$port.txt" \
		"collector on port $port (phases $phases) vs kernel" ||
		lab_fail "collector on port $port: records differ from the connections of phases $phases (above)"
done

if [ "$LAB_FAILURES" -ne 0 ]; then
	lab_show "$LAB_TMP/destroys.txt" "kernel DESTROYs (id proto osrc osport odst odport rsrc rsport rdst rdport opkts obytes rpkts rbytes start_ms stop_ms):"
	for port in "$PORT_A" "$PORT_B" "$PORT_C" "$PORT_D"; do
		lab_show "$LAB_TMP/collector-$port.txt" "collector on port $port:"
	done
fi
lab_finish
