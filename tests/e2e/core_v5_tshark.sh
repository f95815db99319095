#!/usr/bin/env bash
# End-to-end, NetFlow v5 checked by a second, independent decoder: while
# nfflowd exports to nfcapd, tshark captures the export datagrams on the
# router's loopback and decodes them with Wireshark's NetFlow dissector.
# Traffic: a TCP upload, an HTTP download, 15 UDP request/replies and a
# ping (18 connections, 54 records: at least three datagrams, the ICMP
# connection being ended first). Checks:
#  - tshark finds no malformed packet and no expert information;
#  - every datagram is version 5, its count equals the records tshark
#    decodes in it and its size is 24 + 48 * count bytes, its flow_sequence
#    is the number of records in the datagrams before it (from 0), and its
#    header time is when it was captured (within 1 s);
#  - the datagrams and records are the ones nfflowd says it sent;
#  - the records tshark decodes are nfcapd's (same flows, counters,
#    addresses, ports, times within 2 ms) and the kernel's DESTROYs' NAT
#    triplets (start/end within 2 s of the kernel's timestamps);
#  - and, as in core_v5_nat, nfcapd and nfflowd's CSV copy agree with the
#    kernel.
# Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=core_v5_tshark
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

UDP_EXCHANGES=15
CONNECTIONS=$((3 + UDP_EXCHANGES)) # TCP upload, HTTP download, ICMP, UDP...
PROTOCOLS="1 6 6$(printf ' 17%.0s' $(seq "$UDP_EXCHANGES"))"
RECORDS=$((3 * CONNECTIONS))       # all are NATed and all have replies
MIN_DATAGRAMS=3                    # ICMP alone, then 51 records in >= 2
PORT=$LAB_COLLECTOR_PORT

# udp_burst N: N UDP request/replies at once, each from its own source port.
udp_burst() {
	local i pids=() bad=""
	for ((i = 1; i <= $1; i++)); do
		printf 'burst-%02d' "$i" | ip netns exec "$LAB_CLI" timeout 5 \
			socat -T 2 -t 1 - "UDP4:$LAB_SERVER_IP:$LAB_UDP_ECHO_PORT" >"$LAB_TMP/udp-$i.out" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || bad="$bad (a client failed)"; done
	for ((i = 1; i <= $1; i++)); do
		[ "$(cat "$LAB_TMP/udp-$i.out")" = "$(printf 'burst-%02d' "$i")" ] ||
			bad="$bad exchange $i: '$(cat "$LAB_TMP/udp-$i.out")'"
	done
	[ -z "$bad" ] || lab_die "UDP burst failed:$bad"
}

lab_require curl tshark
lab_require_nfflowd
lab_up
lab_servers_start
lab_nfcapd_start "$PORT"
lab_tshark_start "$PORT"
lab_ct_start
lab_nfflowd_start "$PORT"

lab_log "traffic: TCP upload 200 kB, HTTP download 300 kB, $UDP_EXCHANGES UDP request/replies, 3 ICMP echoes"
lab_tcp_upload 204800
lab_http_download 300k.bin
udp_burst "$UDP_EXCHANGES"
lab_ping 3
sleep 1 # the last ACKs and FINs

# ICMP first: one small datagram, then full ones.
lab_ct_end_client "$CONNECTIONS" icmp-first
sleep 1.5

lab_nfflowd_stop TERM
lab_nfcapd_stop "$PORT"
lab_tshark_stop "$PORT"
lab_ct_stop

# The usual comparison: nfcapd and the CSV copy against the kernel.
lab_verify_connections "$PORT" "$CONNECTIONS" "$PROTOCOLS" "$RECORDS"

# ---------------------------------------------------------------------------
# tshark

problems=$(lab_tshark_problems "$PORT")
[ -z "$problems" ] || lab_fail "tshark reports malformed packets or expert information:"$'\n'"$problems"
lab_tshark_fields "$PORT" frame.number frame.protocols >"$LAB_TMP/tshark-protocols.txt"
notflow=$(awk -F'|' '$2 !~ /:cflow$/' "$LAB_TMP/tshark-protocols.txt")
[ -z "$notflow" ] || lab_fail "captured export datagrams tshark does not decode as NetFlow:"$'\n'"$notflow"

HEADERS=$LAB_TMP/tshark-headers.txt
lab_tshark_v5_headers "$PORT" >"$HEADERS"
ndgrams=$(wc -l <"$HEADERS")
nrecs=$(awk '{ n += $9 } END { print n + 0 }' "$HEADERS")
lab_log "tshark: $ndgrams datagrams, $nrecs records, counts $(awk '{ print $5 }' "$HEADERS" | tr '\n' ' ')"
[ "$ndgrams" -ge "$MIN_DATAGRAMS" ] ||
	lab_fail "tshark captured $ndgrams export datagrams, expected at least $MIN_DATAGRAMS"
[ "$nrecs" -eq "$RECORDS" ] || lab_fail "tshark decoded $nrecs records, expected $RECORDS"
bad=$(awk '
	$4 != 5 { print "  frame " $1 ": version " $4 ", expected 5" }
	$5 != $9 { print "  frame " $1 ": count " $5 ", but " $9 " records decoded" }
	$5 < 1 || $5 > 30 { print "  frame " $1 ": count " $5 " outside 1..30" }
	$3 != 24 + 48 * $5 { print "  frame " $1 ": " $3 " bytes of payload, expected 24 + 48 * " $5 }
	$6 != sent { print "  frame " $1 ": flow_sequence " $6 ", expected " sent " (records in earlier datagrams)" }
	$8 > $2 || $2 - $8 > 1000 { print "  frame " $1 ": header time " $8 " ms, captured at " $2 " ms" }
	{ sent += $5 }' "$HEADERS")
[ -z "$bad" ] || lab_fail "NetFlow v5 headers as tshark decodes them:"$'\n'"$bad"

# What nfflowd says it sent, if its statistics line is there.
sent=$(grep -Eo "collector [^ ]*:$PORT: datagrams [0-9]+ records [0-9]+" "$LAB_TMP/nfflowd.err" | tail -n 1 || true)
if [ -n "$sent" ]; then
	[ "$sent" = "collector 127.0.0.1:$PORT: datagrams $ndgrams records $nrecs" ] ||
		lab_fail "nfflowd says '$sent'; tshark captured $ndgrams datagrams with $nrecs records"
else
	lab_log "note: no 'collector ... datagrams N records M' line in nfflowd's log to compare with"
fi

lab_tshark_v5_flows "$PORT" >"$LAB_TMP/tshark.txt"
lab_compare "$LAB_TMP/collector-as-expected.txt" "$LAB_TMP/tshark.txt" "tshark vs collector (nfcapd)" 2 ||
	lab_fail "tshark and nfcapd decode nfflowd's datagrams differently (above)"
lab_compare "$LAB_TMP/expected.txt" "$LAB_TMP/tshark.txt" "tshark vs kernel" 2000 ||
	lab_fail "the records tshark decodes differ from the kernel's connections (above)"

if [ "$LAB_FAILURES" -ne 0 ]; then
	lab_show_evidence
	lab_show "$HEADERS" "tshark headers (frame captured_ms payload_bytes version count sequence sysuptime_ms export_ms records):"
	lab_show "$LAB_TMP/tshark.txt" "tshark records (proto src sport dst dport pkts bytes start_ms end_ms captured_ms):"
fi
lab_finish
