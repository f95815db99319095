#!/usr/bin/env bash
# End-to-end, connections that were already open when nfflowd started: a TCP
# upload that sends 200 kB, waits while nfflowd starts, then sends 300 kB
# more, and a UDP flow (fixed source port) with one exchange before and one
# after the start. When they end, their triplets must reach the collector
# with the kernel's exact counters for their whole life (not only the part
# nfflowd saw) and with start times from before nfflowd started. nfflowd
# runs with a long flush_interval and is stopped with SIGINT while the
# records are pending: they must be sent on the way out.
# Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=core_v5_preexisting
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONNECTIONS=2
PROTOCOLS="6 17"
RECORDS=6
UDP_SPORT=40123
FIRST_PART=200000
SECOND_PART=300000

lab_require
lab_require_nfflowd
lab_up
lab_servers_start
lab_nfcapd_start "$LAB_COLLECTOR_PORT"
lab_ct_start

# Orig-direction bytes of the client's TCP connection to the sink, per the
# kernel (0 while there is none). Both are called through lab_wait_for.
# shellcheck disable=SC2317
tcp_orig_bytes() {
	ip netns exec "$LAB_RTR" conntrack -L -p tcp -s "$LAB_CLIENT_IP" --dport "$LAB_TCP_SINK_PORT" 2>/dev/null |
		awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^bytes=/) { print substr($i, 7); exit } }'
}
# shellcheck disable=SC2317
tcp_first_part_seen() { [ "$(tcp_orig_bytes)" -ge "$FIRST_PART" ] 2>/dev/null; }

lab_log "opening connections before nfflowd starts"
# The TCP client writes FIRST_PART, waits (at most 30 s) for the go file,
# then writes SECOND_PART and closes.
# shellcheck disable=SC2016
lab_bg slow-tcp "$LAB_CLI" bash -c '
	{
		head -c "$1" /dev/urandom
		for _ in $(seq 300); do [ -e "$3" ] && break; sleep 0.1; done
		head -c "$2" /dev/urandom
	} | socat -u - "TCP4:$4"' _ "$FIRST_PART" "$SECOND_PART" "$LAB_TMP/go" \
	"$LAB_SERVER_IP:$LAB_TCP_SINK_PORT"
lab_udp_exchange "before-nfflowd" "$UDP_SPORT"
lab_wait_for 10 "the first $FIRST_PART bytes through the router" tcp_first_part_seen ||
	lab_die "the slow TCP upload did not start"
sleep 1 # so that "started before nfflowd" is unambiguous

# A long flush_interval, and SIGINT right after the connections ended: the
# records are still pending then, and must be sent on the way out.
LAB_FLUSH_INTERVAL=10
lab_nfflowd_start "$LAB_COLLECTOR_PORT"
t0=$LAB_NFFLOWD_T0_MS
grep -Eq 'ready.* 2 connections open' "$LAB_TMP/nfflowd.err" ||
	lab_log "note: nfflowd's ready line does not say '2 connections open': $(grep ready "$LAB_TMP/nfflowd.err")"

lab_log "finishing them after nfflowd started"
touch "$LAB_TMP/go"
lab_wait_exit slow-tcp 30 || lab_fail "the slow TCP upload did not finish"
[ "$LAB_RC" -eq 0 ] || lab_fail "the slow TCP upload failed (status $LAB_RC): $(cat "$LAB_TMP/slow-tcp.err")"
lab_udp_exchange "after-nfflowd" "$UDP_SPORT"
sleep 1

lab_ct_end_client "$CONNECTIONS"

lab_nfflowd_stop INT
lab_nfcapd_stop "$LAB_COLLECTOR_PORT"
lab_ct_stop

lab_verify_connections "$LAB_COLLECTOR_PORT" "$CONNECTIONS" "$PROTOCOLS" "$RECORDS"

# Both connections began before nfflowd, and their counters cover all of it.
late=$(awk -v t0="$t0" '$15 >= t0' "$LAB_TMP/destroys.txt")
[ -z "$late" ] || lab_fail "the kernel says these connections started after nfflowd: $late"
small=$(awk -v min=$((FIRST_PART + SECOND_PART)) '$2 == 6 && $12 < min' "$LAB_TMP/destroys.txt")
[ -z "$small" ] || lab_fail "the kernel counted fewer TCP bytes than were sent: $small"
late=$(awk -v t0="$t0" '$8 >= t0' "$LAB_TMP/collector.txt")
[ -z "$late" ] || lab_fail "the collector shows start times after nfflowd started ($t0 ms):"$'\n'"$late"
[ -s "$LAB_TMP/collector.txt" ] || lab_fail "the collector received nothing"

[ "$LAB_FAILURES" -eq 0 ] || lab_show_evidence
lab_finish
