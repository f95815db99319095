#!/usr/bin/env bash
# End-to-end, record and replay: nfflowd records the netlink stream it
# receives (-w FILE.pcap) while exporting live; the recording must be a pcap
# that tshark decodes as netlink conntrack messages, with nothing malformed;
# replaying it (nfflowd replay FILE) must give the same records as the live
# run (counters, addresses, ports, absolute times), to a collector too, and
# two replays (from the file, and from a pipe) must give byte-identical
# local copies.
# Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=record_replay
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REPLAY_PORT=9997

lab_require tshark
lab_require_nfflowd
lab_up
lab_servers_start
lab_nfcapd_start "$LAB_COLLECTOR_PORT"
lab_nfcapd_start "$REPLAY_PORT"
lab_ct_start

# A connection open before nfflowd starts: it reaches the recording through
# the start-up dump.
lab_udp_exchange "before" 40001

rec=$LAB_TMP/stream.pcap
lab_nfflowd_conf "$LAB_TMP/nfflowd.conf" "$LAB_COLLECTOR_PORT"
lab_nfflowd_start_conf "$LAB_TMP/nfflowd.conf" -w "$rec"
grep -q "recording the netlink stream to $rec" "$LAB_TMP/nfflowd.err" ||
	lab_fail "nfflowd did not say it records to $rec"

lab_tcp_upload 200000
lab_udp_exchange "after" 40001
lab_ping 3
sleep 0.5
ended=$(lab_ct_flush_client)
[ "$ended" -eq 3 ] || lab_fail "conntrack -D ended $ended client connections, expected 3"
lab_ct_wait_destroys 3 || true
lab_nfflowd_stop TERM

# The recording: a pcap of netlink conntrack messages, as Wireshark sees it.
[ -s "$rec" ] || lab_die "no recording at $rec"
frames=$(tshark -r "$rec" 2>/dev/null | wc -l)
ct=$(tshark -r "$rec" -V 2>/dev/null | grep -c "Subsystem: Conntrack (1)" || true)
bad=$(tshark -r "$rec" -Y '_ws.expert.severity >= 6291456 || _ws.malformed' 2>/dev/null || true)
lab_log "recording: $frames packets, $ct conntrack messages as tshark decodes them"
# The dump (one entry, then NLMSG_DONE), 2 NEW and 3 DESTROY events.
[ "$frames" -ge 7 ] || lab_fail "the recording holds $frames packets, expected at least 7"
[ "$ct" -ge 6 ] || lab_fail "tshark decoded only $ct conntrack messages, expected at least 6"
[ -z "$bad" ] || lab_fail "tshark flags packets of the recording:"$'\n'"$bad"

# Replay it twice: once to a collector, once more (collector gone) for
# determinism; that one must exit 1, saying the datagrams were not delivered.
sed "s/args $LAB_COLLECTOR_PORT /args $REPLAY_PORT /" "$LAB_TMP/nfflowd.conf" >"$LAB_TMP/replay.conf"
replay() { # N FILE [EXPECTED-STATUS]
	local rc=0
	ip netns exec "$LAB_RTR" timeout 30 "$NFFLOWD" -c "$LAB_TMP/replay.conf" replay "$2" \
		>"$LAB_TMP/replay$1.csv" 2>"$LAB_TMP/replay$1.err" || rc=$?
	[ "$rc" -eq "${3:-0}" ] ||
		lab_fail "replay $1 exited $rc, expected ${3:-0}: $(cat "$LAB_TMP/replay$1.err")"
}
replay 1 "$rec"
lab_nfcapd_stop "$REPLAY_PORT"
# The second from a pipe: read as a stream.
replay 2 /dev/stdin 1 < <(cat "$rec")
grep -q "datagrams were not delivered" "$LAB_TMP/replay2.err" ||
	lab_fail "replay 2 did not say that its datagrams were lost: $(cat "$LAB_TMP/replay2.err")"
grep -E "replayed [0-9]+ events" "$LAB_TMP/replay1.err" >&2 || lab_fail "replay did not report its rate"
cmp -s "$LAB_TMP/replay1.csv" "$LAB_TMP/replay2.csv" ||
	lab_fail "two replays of the same file gave different records"
lab_nfcapd_stop "$LAB_COLLECTOR_PORT"
lab_ct_stop

# Live: checked against the kernel as in the other tests.
lab_verify_exports "$LAB_COLLECTOR_PORT"
lab_check_destroys "$LAB_TMP/destroys.txt" 3 "1 6 17"

# Replayed: the same records as live (2 ms: times are ms in both).
lab_csv_flows "$LAB_TMP/replay1.csv" >"$LAB_TMP/replay.txt"
lab_as_expected live <"$LAB_TMP/csv.txt" >"$LAB_TMP/live-as-expected.txt"
lab_compare "$LAB_TMP/live-as-expected.txt" "$LAB_TMP/replay.txt" "replayed copy vs live copy" 2 ||
	lab_fail "the replay's records differ from the live run's"
lab_nfdump_flows "$REPLAY_PORT" >"$LAB_TMP/replay-collector.txt"
lab_compare "$LAB_TMP/live-as-expected.txt" "$LAB_TMP/replay-collector.txt" \
	"replayed collector vs live copy" 2 || lab_fail "the replay's collector records differ"
[ "$(wc -l <"$LAB_TMP/replay.txt")" -eq 9 ] ||
	lab_fail "the replay gave $(wc -l <"$LAB_TMP/replay.txt") records, expected 9"

[ "$LAB_FAILURES" -eq 0 ] || lab_show_evidence
lab_finish
