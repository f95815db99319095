#!/usr/bin/env bash
# End-to-end, NetFlow v5 through a NAT router: a TCP upload, an HTTP
# download, a UDP request/reply and an ICMP echo go from the client through
# the masquerading router. For every connection the kernel ends (conntrack -E
# DESTROY, the reference), the collector nfcapd must hold its NAT triplet
# with exactly the kernel's packet and byte counts, the right addresses,
# ports and protocol, and plausible start/end times; nfflowd's CSV local copy
# must say the same. Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=core_v5_nat
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONNECTIONS=4        # TCP upload, HTTP download, UDP, ICMP
PROTOCOLS="6 6 17 1"
RECORDS=12           # 3 per connection: all are NATed and all have replies

lab_require curl
lab_require_nfflowd
lab_up
lab_servers_start
lab_nfcapd_start "$LAB_COLLECTOR_PORT"
lab_ct_start
lab_nfflowd_start "$LAB_COLLECTOR_PORT"

lab_log "traffic: TCP upload 500 kB, HTTP download 300 kB, UDP request/reply, 3 ICMP echoes"
lab_tcp_upload 512000
lab_http_download 300k.bin
lab_udp_exchange "nfflowd-e2e-query"
lab_ping 3
sleep 1 # the last ACKs and FINs

# End the connections now rather than after their timeouts (TIME_WAIT is
# 120 s); the DESTROY events carry the final counters. ICMP first, so that
# nfcapd checks the flow_sequence between two datagrams.
lab_ct_end_client "$CONNECTIONS" icmp-first

# Longer than flush_interval (0.2 s): what arrives now was sent on time, not
# only on SIGTERM.
sleep 1.5
lab_nfflowd_stop TERM
lab_nfcapd_stop "$LAB_COLLECTOR_PORT"
lab_ct_stop

lab_verify_connections "$LAB_COLLECTOR_PORT" "$CONNECTIONS" "$PROTOCOLS" "$RECORDS"

# flush_interval 0.2: no record may reach the collector much later than its
# connection ended (its end time is the kernel's stop timestamp).
slow=$(awk '$10 - $9 > 1000 { printf "  %s %s:%s -> %s:%s ended %.0f, received %.0f (%d ms later)\n",
	$1, $2, $3, $4, $5, $9, $10, $10 - $9 }' "$LAB_TMP/collector.txt")
[ -z "$slow" ] || lab_fail "records reached the collector more than 1 s after their connection ended (flush_interval 0.2):"$'\n'"$slow"
lab_log "export delay after the kernel's DESTROY: at most $(awk '{ d = $10 - $9; if (d > m) m = d } END { print m + 0 }' "$LAB_TMP/collector.txt") ms"

[ "$LAB_FAILURES" -eq 0 ] || lab_show_evidence
lab_finish
