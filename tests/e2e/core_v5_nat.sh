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
# 120 s); the DESTROY events carry the final counters. The ICMP one first and
# the rest later than flush_interval after it, so that nfflowd sends more
# than one datagram and nfcapd checks the flow_sequence between them.
ended=$(ip netns exec "$LAB_RTR" conntrack -D -p icmp -s "$LAB_CLIENT_IP" 2>&1 >/dev/null |
	sed -n 's/.* \([0-9][0-9]*\) flow entries have been deleted.*/\1/p')
lab_ct_wait_destroys 1 || true
sleep 0.6
ended=$((${ended:-0} + $(lab_ct_flush_client)))
[ "$ended" -eq "$CONNECTIONS" ] ||
	lab_fail "conntrack -D ended $ended client connections, expected $CONNECTIONS"
lab_ct_wait_destroys "$CONNECTIONS" || true

# Longer than flush_interval (0.2 s): what arrives now was sent on time, not
# only on SIGTERM.
sleep 1.5
lab_nfflowd_stop TERM
[ "$LAB_RC" -eq 0 ] || lab_fail "nfflowd exited with status $LAB_RC on SIGTERM, expected 0"
lab_nfcapd_stop "$LAB_COLLECTOR_PORT"
lab_ct_stop

lab_verify_exports "$LAB_COLLECTOR_PORT"
lab_check_destroys "$LAB_TMP/destroys.txt" "$CONNECTIONS" "$PROTOCOLS"
nexp=$(wc -l <"$LAB_TMP/expected.txt")
[ "$nexp" -eq "$RECORDS" ] || lab_fail "the kernel's DESTROYs call for $nexp records, expected $RECORDS"

# flush_interval 0.2: no record may reach the collector much later than its
# connection ended (its end time is the kernel's stop timestamp).
slow=$(awk '$10 - $9 > 1000 { printf "  %s %s:%s -> %s:%s ended %.0f, received %.0f (%d ms later)\n",
	$1, $2, $3, $4, $5, $9, $10, $10 - $9 }' "$LAB_TMP/collector.txt")
[ -z "$slow" ] || lab_fail "records reached the collector more than 1 s after their connection ended (flush_interval 0.2):"$'\n'"$slow"
lab_log "export delay after the kernel's DESTROY: at most $(awk '{ d = $10 - $9; if (d > m) m = d } END { print m + 0 }' "$LAB_TMP/collector.txt") ms"

[ "$LAB_FAILURES" -eq 0 ] || lab_show_evidence
lab_finish
