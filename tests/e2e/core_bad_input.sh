#!/usr/bin/env bash
# End-to-end, error handling:
#  1. bad configuration files (missing, a directory, unreadable, bad address,
#     bad port, two or four args, an unclosed block): nfflowd must exit
#     non-zero at once with a message naming the file (and file:line where
#     there is a line to name);
#  2. a collector that is not listening (every datagram draws an ICMP port
#     unreachable) while connections end: nfflowd must keep running, report
#     the send errors, and once a collector listens, every later connection
#     must arrive with the kernel's exact counters; SIGTERM still exits 0.
# Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=core_bad_input
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DOWN_PORT=9997      # the collector's port; nothing listens there at first
DOWN_ROUNDS=3       # connections ended (and exported) while nobody listens

lab_require setpriv
lab_require_nfflowd
lab_up

# ---------------------------------------------------------------------------
# 1. Bad configuration files

CONFDIR=$LAB_TMP/conf
mkdir -p "$CONFDIR"
chmod 755 "$CONFDIR"

# write_conf NAME ARGS...: a config whose <flow_send> has the given args
# lines; the first args is on line 3.
write_conf() {
	local name=$1 arg
	shift
	{
		echo "# $name"
		echo "<flow_send>"
		for arg in "$@"; do echo "    args $arg"; done
		echo "</flow_send>"
		echo "flush_interval 0.2"
	} >"$CONFDIR/$name.conf"
}

# expect_rejected WHAT CONF PATTERN [RUNAS]: nfflowd -f -c CONF start must
# exit non-zero within 10 s, with PATTERN (extended regex) on stderr.
expect_rejected() {
	local what=$1 conf=$2 pattern=$3 runas=${4:-} rc=0 bin=$NFFLOWD
	local err=$LAB_TMP/reject.err
	local -a pre=()
	if [ -n "$runas" ]; then
		# Root reads any file: run as nobody to get EACCES.
		bin=$(lab_nfflowd_copy)
		pre=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	fi
	ip netns exec "$LAB_RTR" timeout -k 2 10 "${pre[@]}" "$bin" -f -c "$conf" start \
		</dev/null >"$LAB_TMP/reject.out" 2>"$err" || rc=$?
	if [ "$rc" -eq 0 ]; then
		lab_fail "$what: nfflowd exited 0, expected an error"
	elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		lab_fail "$what: nfflowd was still running after 10 s, expected it to refuse to start"
	elif ! grep -Eq -- "$pattern" "$err"; then
		lab_fail "$what: exit status $rc, but stderr does not match /$pattern/:"$'\n'"$(sed 's/^/    /' "$err")"
	else
		lab_log "$what: rejected (status $rc): $(head -n 1 "$err")"
	fi
}

# Escape a path for use inside an extended regex.
re() { printf '%s' "$1" | sed 's/[][\.*^$+?(){}|/]/\\&/g'; }

lab_log "bad configuration files"
expect_rejected "missing config" "$CONFDIR/missing.conf" "$(re "$CONFDIR/missing.conf")"

mkdir "$CONFDIR/dir.conf"
expect_rejected "config is a directory" "$CONFDIR/dir.conf" "$(re "$CONFDIR/dir.conf")"

write_conf unreadable 127.0.0.1 127.0.0.1 "$DOWN_PORT"
chmod 000 "$CONFDIR/unreadable.conf"
expect_rejected "unreadable config (as nobody)" "$CONFDIR/unreadable.conf" \
	"$(re "$CONFDIR/unreadable.conf")" nobody

write_conf bad-address 127.0.0.1 10.0.0.300 "$DOWN_PORT"
expect_rejected "bad collector address" "$CONFDIR/bad-address.conf" "$(re "$CONFDIR/bad-address.conf"):4([^0-9]|$)"

write_conf bad-source 127.0.0.999 127.0.0.1 "$DOWN_PORT"
expect_rejected "bad source address" "$CONFDIR/bad-source.conf" "$(re "$CONFDIR/bad-source.conf"):3([^0-9]|$)"

write_conf bad-port 127.0.0.1 127.0.0.1 70000
expect_rejected "bad collector port" "$CONFDIR/bad-port.conf" "$(re "$CONFDIR/bad-port.conf"):5([^0-9]|$)"

write_conf two-args 127.0.0.1 "$DOWN_PORT"
expect_rejected "two args" "$CONFDIR/two-args.conf" "$(re "$CONFDIR/two-args.conf"):[0-9]+"

write_conf four-args 127.0.0.1 127.0.0.1 "$DOWN_PORT" 9998
expect_rejected "four args" "$CONFDIR/four-args.conf" "$(re "$CONFDIR/four-args.conf"):[0-9]+"

printf '<flow_send>\n    args 127.0.0.1\n    args 127.0.0.1\n    args %s\n' "$DOWN_PORT" \
	>"$CONFDIR/unclosed.conf"
expect_rejected "unclosed <flow_send> block" "$CONFDIR/unclosed.conf" "$(re "$CONFDIR/unclosed.conf"):[0-9]+"

# ---------------------------------------------------------------------------
# 2. A collector that does not listen, then does

lab_log "collector down: nothing listens on 127.0.0.1:$DOWN_PORT"
lab_servers_start
lab_ct_start
lab_nfflowd_start "$DOWN_PORT"
lab_listening "$LAB_RTR" udp "$DOWN_PORT" && lab_die "something already listens on port $DOWN_PORT"

# One connection per round, each ended and exported on its own, so that
# every datagram draws its own ICMP port unreachable.
for ((round = 1; round <= DOWN_ROUNDS; round++)); do
	lab_udp_exchange "while-collector-down-$round"
	lab_ct_flush_client >/dev/null
	lab_ct_wait_destroys "$round" || true
	sleep 0.6 # > flush_interval: the records have been sent (and refused)
	lab_alive nfflowd || break
done
lab_ct_events v5 | awk '{ print $1 }' >"$LAB_TMP/down-ids.txt"
[ "$(wc -l <"$LAB_TMP/down-ids.txt")" -eq "$DOWN_ROUNDS" ] ||
	lab_fail "kernel reported $(wc -l <"$LAB_TMP/down-ids.txt") DESTROYs while the collector was down, expected $DOWN_ROUNDS"

if ! lab_alive nfflowd; then
	lab_wait_exit nfflowd 1 || true
	lab_fail "nfflowd died (status $LAB_RC) while the collector was not listening"
	lab_show "$LAB_TMP/nfflowd.err" "nfflowd stderr:"
	lab_finish
fi
lab_log "nfflowd still running; starting the collector"

lab_nfcapd_start "$DOWN_PORT"
lab_tcp_upload 200000
lab_udp_exchange "collector-up"
lab_ping 2
sleep 1
ended=$(lab_ct_flush_client)
[ "$ended" -eq 3 ] || lab_fail "conntrack -D ended $ended client connections, expected 3"
lab_ct_wait_destroys $((DOWN_ROUNDS + 3)) || true

lab_alive nfflowd || lab_fail "nfflowd is not running after the collector came back"
lab_nfflowd_stop TERM
lab_nfcapd_stop "$DOWN_PORT"
lab_ct_stop

# The connections that ended while nobody listened may be missing at the
# collector (or arrive late, but then exactly right); all later ones must
# be there, and the local CSV copy must hold all of them.
lab_verify_exports "$DOWN_PORT" "$LAB_TMP/down-ids.txt"
lab_check_destroys "$LAB_TMP/destroys.txt" $((DOWN_ROUNDS + 3)) "17 17 17 6 17 1"
required=$(grep -vc ' optional$' "$LAB_TMP/expected.txt" || true)
[ "$required" -eq 9 ] || lab_fail "expected 9 required records after the collector came back, the kernel's DESTROYs call for $required"

# Send errors must be reported (wording free): after the "ready" line.
if ! sed -n '/ready/,$p' "$LAB_TMP/nfflowd.err" | grep -Eiq 'send|unreachable|refused'; then
	lab_fail "nfflowd's stderr mentions no send error although $DOWN_ROUNDS exports were refused"
else
	lab_log "send errors reported: $(sed -n '/ready/,$p' "$LAB_TMP/nfflowd.err" | grep -Ei 'send|unreachable|refused' | head -n 3 | tr '\n' ' ')"
fi

[ "$LAB_FAILURES" -eq 0 ] || lab_show_evidence
lab_finish
