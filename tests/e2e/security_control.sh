#!/usr/bin/env bash
# End-to-end, the control socket knows who is asking. nfflowd runs as nobody
# (the fallback user the issue is about) in the lab's router namespace.
#
#   nobody      "nfflowd stop" and "nfflowd reload" run as nobody are refused
#               ("root only", exit 1), the refusal is logged with the uid,
#               and the daemon runs on; "nfflowd check" as nobody (the
#               daemon's own user) shows the counters
#   others      a process of another uid that can reach the socket (through
#               its group) is refused at once and logged
#   slow        while processes of the daemon's user hold every connection
#               slot of the socket without sending a command (reconnecting
#               whenever the daemon drops them), root's check answers with the
#               counters within 3 s each time, and root's stop works
#
# Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=security_control
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OTHER_UID=4242 # no such user: a stranger in group nogroup

lab_require setpriv
lab_require_nfflowd
getent group nogroup >/dev/null || lab_skip "no group nogroup"
lab_up
CONF=$LAB_TMP/nfflowd.conf
SOCKET=$LAB_TMP/nfflowd.sock

# as UID CMD...: CMD in the router namespace as UID, group nogroup, no
# supplementary groups.
as() {
	local uid=$1
	shift
	ip netns exec "$LAB_RTR" setpriv --reuid="$uid" --regid=nogroup --clear-groups "$@"
}

# nf_as NAME UID VERB: nfflowd -c CONF VERB as UID; LAB_RC, NAME.out/.err.
nf_as() {
	LAB_RC=0
	as "$2" timeout -k 5 60 "$(lab_nfflowd_copy)" -c "$CONF" "$3" </dev/null \
		>"$LAB_TMP/$1.out" 2>"$LAB_TMP/$1.err" || LAB_RC=$?
}

show() { tr '\n' '|' <"$LAB_TMP/$1.$2"; }
log_has() { grep -q -- "$1" "$LAB_TMP/nfflowd.err"; }

lab_nfflowd_start
PID=$(cat "$LAB_TMP/nfflowd.pid")
[ "$(lab_proc_status "$PID" Uid)" = "65534 65534 65534 65534" ] || lab_die "the daemon does not run as nobody"
chmod 0644 "$CONF"

# ---- nobody ------------------------------------------------------------------------------
lab_log "stop and reload as nobody: refused; check as nobody: allowed"
nf_as stop-nobody nobody stop
[ "$LAB_RC" -eq 1 ] || lab_fail "stop as nobody: exit status $LAB_RC, expected 1: $(show stop-nobody err)"
grep -q "stop refused: error permission denied: stop is root only" "$LAB_TMP/stop-nobody.err" ||
	lab_fail "stop as nobody: $(show stop-nobody err)"
sleep 0.5
lab_pid_alive "$PID" || lab_die "the daemon stopped for nobody"
log_has "control: refused 'stop' from uid 65534 gid 65534 pid [0-9]*: root only" ||
	lab_fail "the refused stop is not logged: $(grep control: "$LAB_TMP/nfflowd.err" || true)"

nf_as reload-nobody nobody reload
[ "$LAB_RC" -eq 1 ] || lab_fail "reload as nobody: exit status $LAB_RC, expected 1"
grep -q "permission denied: reload is root only" "$LAB_TMP/reload-nobody.err" ||
	lab_fail "reload as nobody: $(show reload-nobody err)"
log_has "control: refused 'reload' from uid 65534" || lab_fail "the refused reload is not logged"

nf_as check-nobody nobody check
[ "$LAB_RC" -eq 0 ] || lab_fail "check as nobody: exit status $LAB_RC: $(show check-nobody err)"
grep -q "^nfflowd is running (pid $PID)" "$LAB_TMP/check-nobody.out" &&
	grep -q "^connections: exported" "$LAB_TMP/check-nobody.out" ||
	lab_fail "check as nobody shows no counters: $(show check-nobody out)"

# ---- another user --------------------------------------------------------------------------
lab_log "check as uid $OTHER_UID (group nogroup reaches the socket): refused"
nf_as check-other "$OTHER_UID" check
grep -q "error permission denied: only root and the daemon's user" "$LAB_TMP/check-other.out" ||
	lab_fail "check as uid $OTHER_UID: $(show check-other out) $(show check-other err)"
grep -q "^connections:" "$LAB_TMP/check-other.out" && lab_fail "uid $OTHER_UID got the counters"
log_has "control: refused a connection from uid $OTHER_UID" || lab_fail "the refused connection is not logged"

# ---- slow clients ------------------------------------------------------------------------------
lab_log "slow clients of the daemon's user hold every slot; root still gets answers"
cat >"$LAB_TMP/hog.py" <<'EOF'
import select, socket, sys, time
path, seconds, n = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s
socks = [conn() for _ in range(n)]
end = time.time() + seconds
reconnects = busy = 0
try:
    while time.time() < end:
        r, _, _ = select.select(socks, [], [], 0.05)
        for s in r:  # the daemon dropped or answered it: take the slot again
            busy += s.recv(100).startswith(b"error busy")
            socks.remove(s)
            s.close()
            socks.append(conn())
            reconnects += 1
except OSError as e:  # the daemon stopped
    print("stopped:", e)
print("reconnects", reconnects, "answered busy", busy)
EOF
as nobody timeout 30 python3 "$LAB_TMP/hog.py" "$SOCKET" 9 24 >"$LAB_TMP/hog.out" 2>&1 &
HOG=$!
sleep 1
for i in 1 2 3; do
	t0=$(lab_now_ms)
	lab_nfflowd_cmd "check-root-$i" -c "$CONF" check
	took=$(($(lab_now_ms) - t0))
	if [ "$LAB_RC" -ne 0 ] || ! grep -q "^connections: exported" "$LAB_TMP/check-root-$i.out"; then
		lab_fail "root's check $i during the slow clients: exit $LAB_RC, $(show "check-root-$i" out)"
	fi
	[ "$took" -lt 3000 ] || lab_fail "root's check $i took $took ms during the slow clients"
	sleep 1
done
lab_nfflowd_cmd stop-root -c "$CONF" stop
[ "$LAB_RC" -eq 0 ] || lab_fail "root's stop during the slow clients: exit $LAB_RC: $(show stop-root err)"
wait "$HOG" || true
lab_log "slow clients: $(cat "$LAB_TMP/hog.out")"
lab_wait_exit nfflowd 10 || lab_fail "the daemon did not stop"
[ "$LAB_FAILURES" -eq 0 ] || lab_show "$LAB_TMP/nfflowd.err" "nfflowd stderr:"
lab_finish
