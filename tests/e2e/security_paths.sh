#!/usr/bin/env bash
# End-to-end, the files nfflowd creates or opens as root cannot be turned
# against the host, and bad values of the configuration's path and user
# are refused at once. The daemon runs detached in the lab's router
# namespace.
#
#   .tmp link   a symbolic link planted as the pid file's .tmp (and one as
#               the pid file) leaves its target untouched: the pid file is a
#               new regular file holding the daemon's pid
#   directories a pid file or control socket in a directory other users can
#               write to (mode 1777), or that belongs to another user, is
#               refused with a message naming the directory; nothing is
#               created there
#   socket      a control_socket path holding a regular file is refused and
#               the file left as it was
#   links       a recording (-w) or a file copy that is a symbolic link is
#               refused, its target untouched
#   FIFO        a FIFO as the configuration file: check, reload, start and
#               stop each return within a second, saying "not a regular file"
#               (stop falls back to the default paths, as for any unreadable
#               file)
#   user        "user root" and "user nosuchuser" fail check (exit 1) and
#               start
#   stale       a pid file naming a live process called nfflowd that does not
#               answer on the control socket is stale: check says not
#               running, start replaces it, stop never signals that process
#
# Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=security_paths
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

lab_require
lab_require_nfflowd
lab_up
RUN=$LAB_TMP/run # root's, 0755: where the pid file and socket go
PUB=$LAB_TMP/pub # everyone's, 1777
OWNED=$LAB_TMP/owned # nobody's, 0755
mkdir -m 0755 "$RUN" "$OWNED"
mkdir -m 1777 "$PUB"
chown nobody "$OWNED"
VICTIM=$LAB_TMP/victim
printf 'precious\n' >"$VICTIM"
chmod 0644 "$VICTIM"
VICTIM_SUM=$(sha256sum <"$VICTIM")

# conf FILE LINE...: a lab configuration with its pid file and socket in
# $RUN, then the LINEs (later keys win where they repeat: they replace).
conf() {
	local file=$1 line key
	shift
	lab_nfflowd_conf "$file" "$LAB_COLLECTOR_PORT"
	sed -i -e "s|^pidfile .*|pidfile $RUN/nfflowd.pid|" -e "s|^control_socket .*|control_socket $RUN/nfflowd.sock|" "$file"
	for line in "$@"; do
		key=${line%% *}
		if grep -q "^$key " "$file"; then
			sed -i "s|^$key .*|$line|" "$file"
		else
			printf '%s\n' "$line" >>"$file"
		fi
	done
}

# expect NAME RC REGEX WHAT: the last command (lab_nfflowd_cmd NAME) exited
# RC and its stderr (or stdout) matches REGEX.
expect() {
	if [ "$LAB_RC" -ne "$2" ]; then
		lab_fail "$4: exit status $LAB_RC, expected $2; stderr: $(tr '\n' '|' <"$LAB_TMP/$1.err")"
	elif ! grep -Eq -- "$3" "$LAB_TMP/$1.err" "$LAB_TMP/$1.out"; then
		lab_fail "$4: no /$3/ in: $(tr '\n' '|' <"$LAB_TMP/$1.err") $(tr '\n' '|' <"$LAB_TMP/$1.out")"
	fi
}

victim_untouched() {
	[ -f "$VICTIM" ] && [ ! -L "$VICTIM" ] && [ "$(sha256sum <"$VICTIM")" = "$VICTIM_SUM" ] &&
		[ "$(stat -c '%a %U' "$VICTIM")" = "644 root" ]
}

# no_daemon WHAT: no nfflowd runs in the router namespace (one that does
# is a failure, and is killed so that the next check starts clean).
no_daemon() {
	local left
	left=$(lab_ns_pids_named "$LAB_RTR" nfflowd)
	[ -n "$left" ] || return 0
	lab_fail "$1: nfflowd processes left: $left"
	# shellcheck disable=SC2086 # a list of pids
	kill -KILL $left 2>/dev/null || true
	rm -f "$RUN/nfflowd.pid" "$RUN/nfflowd.sock"
}

# ---- a planted .tmp link ---------------------------------------------------------------
lab_log "pid file: a symbolic link planted as nfflowd.pid.tmp and as nfflowd.pid"
conf "$LAB_TMP/good.conf"
ln -s "$VICTIM" "$RUN/nfflowd.pid.tmp"
ln -s "$VICTIM" "$RUN/nfflowd.pid"
lab_nfflowd_cmd start-link -c "$LAB_TMP/good.conf" start
expect start-link 0 "nfflowd started" "start with planted links"
victim_untouched || lab_fail "the target of the planted links changed: $(cat "$VICTIM"; stat -c '%a %U' "$VICTIM")"
PID=$(lab_ns_pids_named "$LAB_RTR" nfflowd)
if [ -L "$RUN/nfflowd.pid" ] || [ "$(cat "$RUN/nfflowd.pid")" != "$PID" ]; then
	lab_fail "the pid file is not a new file holding the daemon's pid $PID: $(ls -l "$RUN")"
fi
[ ! -e "$RUN/nfflowd.pid.tmp" ] && [ ! -L "$RUN/nfflowd.pid.tmp" ] || lab_fail "nfflowd.pid.tmp left behind"
lab_nfflowd_cmd stop-link -c "$LAB_TMP/good.conf" stop
expect stop-link 0 "nfflowd stopped" "stop"

# ---- unsafe directories ----------------------------------------------------------------------
for where in pidfile control_socket; do
	for dir in "$PUB" "$OWNED"; do
		name=$where-${dir##*/}
		lab_log "$where in $dir ($(stat -c '%a %U' "$dir")): refused"
		conf "$LAB_TMP/$name.conf" "$where $dir/nfflowd.${where%%_*}"
		lab_nfflowd_cmd "$name" -c "$LAB_TMP/$name.conf" start
		if [ "$dir" = "$PUB" ]; then
			expect "$name" 1 "directory $dir is writable by other users \(mode 1777\)" "$where in $dir"
		else
			expect "$name" 1 "directory $dir belongs to uid $(id -u nobody)" "$where in $dir"
		fi
		[ -z "$(ls -A "$dir")" ] || lab_fail "$where in $dir: files were created there: $(ls -A "$dir")"
		no_daemon "$where in $dir"
	done
done

# ---- a control_socket path that holds a file ----------------------------------------------
lab_log "control_socket naming a regular file: refused, the file kept"
printf 'keep\n' >"$RUN/plain"
conf "$LAB_TMP/plain.conf" "control_socket $RUN/plain"
lab_nfflowd_cmd plain -c "$LAB_TMP/plain.conf" start
expect plain 1 "control socket $RUN/plain: exists and is not a socket" "control_socket naming a file"
[ "$(cat "$RUN/plain")" = keep ] || lab_fail "the file at control_socket was changed"
no_daemon "control_socket naming a file"

# ---- links as recording and file copy ------------------------------------------------------------
lab_log "a recording and a file copy that are symbolic links: refused"
ln -s "$VICTIM" "$RUN/rec.pcap"
lab_nfflowd_cmd rec-link -c "$LAB_TMP/good.conf" -w "$RUN/rec.pcap" start
expect rec-link 1 "cannot record to $RUN/rec.pcap: it is a symbolic link" "a recording that is a link"
ln -s "$VICTIM" "$RUN/copy.csv"
conf "$LAB_TMP/copy-link.conf"
sed -i -e '/^<ptee>/,$d' "$LAB_TMP/copy-link.conf"
printf '<ptee>\n<conf>\ndispatchers f\n<f>\nclass Log::Dispatch::File\nfilename %s\n</f>\n</conf>\n</ptee>\n' \
	"$RUN/copy.csv" >>"$LAB_TMP/copy-link.conf"
lab_nfflowd_cmd copy-link -c "$LAB_TMP/copy-link.conf" start
expect copy-link 1 "copy f: cannot open $RUN/copy.csv: it is a symbolic link" "a file copy that is a link"
victim_untouched || lab_fail "the target of the recording or copy link changed"
no_daemon "links"

# ---- a FIFO as the configuration ----------------------------------------------------------------
mkfifo -m 0600 "$LAB_TMP/fifo.conf"
verbs="check reload start stop"
# stop falls back to the default paths: never near a daemon of this host.
if [ -e /run/nfflowd/nfflowd.sock ] || [ -e /run/nfflowd/nfflowd.pid ]; then
	lab_warn "an nfflowd with the default paths runs on this host: stop with a FIFO not tried"
	verbs="check reload start"
fi
for verb in $verbs; do
	lab_log "FIFO configuration: $verb"
	t0=$(lab_now_ms)
	lab_nfflowd_cmd "fifo-$verb" -c "$LAB_TMP/fifo.conf" "$verb"
	took=$(($(lab_now_ms) - t0))
	[ "$took" -lt 1000 ] || lab_fail "$verb with a FIFO configuration took $took ms"
	case $verb in
	stop) expect "fifo-$verb" 0 "fifo.conf: not a regular file" "stop with a FIFO configuration" ;;
	*) expect "fifo-$verb" 1 "fifo.conf: not a regular file" "$verb with a FIFO configuration" ;;
	esac
done
no_daemon "FIFO configuration"

# ---- users -------------------------------------------------------------------------------------------
# bad_user USER CHECK-REGEX START-REGEX: check and start with "user USER"
# both exit 1, saying so; no daemon is left.
bad_user() {
	conf "$LAB_TMP/user-$1.conf" "user $1"
	lab_nfflowd_cmd "$1-check" -c "$LAB_TMP/user-$1.conf" check
	expect "$1-check" 1 "$2" "check with user $1"
	lab_nfflowd_cmd "$1-start" -c "$LAB_TMP/user-$1.conf" start
	expect "$1-start" 1 "$3" "start with user $1"
	no_daemon "user $1"
}
lab_log "user root and user nosuchuser: check fails, start refuses"
bad_user root "user 'root' is uid 0: nfflowd does not run as root" "user 'root' is uid 0"
bad_user nosuchuser "user 'nosuchuser': no such user" "user 'nosuchuser': no such user"

# ---- a stale pid file ------------------------------------------------------------------------------
lab_log "a stale pid file naming a live process called nfflowd"
mkdir -p "$LAB_TMP/bin"
cp "$(command -v sleep)" "$LAB_TMP/bin/nfflowd"
lab_bg impostor "$LAB_RTR" "$LAB_TMP/bin/nfflowd" 120
lab_wait_for 5 "the impostor to run" lab_alive impostor || lab_die "cannot start the impostor"
IMPOSTOR=$(lab_ns_pids_named "$LAB_RTR" nfflowd)
echo "$IMPOSTOR" >"$RUN/nfflowd.pid"
lab_nfflowd_cmd stale-check -c "$LAB_TMP/good.conf" check
expect stale-check 0 "^nfflowd is not running" "check with a stale pid file"
lab_nfflowd_cmd stale-stop -c "$LAB_TMP/good.conf" stop
expect stale-stop 0 "not running" "stop with a stale pid file"
lab_pid_alive "$IMPOSTOR" || lab_fail "stop with a stale pid file killed the process it named"
echo "$IMPOSTOR" >"$RUN/nfflowd.pid"
lab_nfflowd_cmd stale-start -c "$LAB_TMP/good.conf" start
expect stale-start 0 "nfflowd started" "start with a stale pid file"
PID=$(cat "$RUN/nfflowd.pid")
[ "$PID" != "$IMPOSTOR" ] && lab_pid_alive "$PID" || lab_fail "start did not replace the stale pid file"
lab_nfflowd_cmd stale-stop2 -c "$LAB_TMP/good.conf" stop
expect stale-stop2 0 "nfflowd stopped \(pid $PID\)" "stop after replacing a stale pid file"
lab_pid_alive "$IMPOSTOR" || lab_fail "stop killed the impostor"
lab_stop impostor 2
no_daemon "stale pid file"
lab_finish
