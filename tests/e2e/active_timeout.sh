#!/usr/bin/env bash
# End-to-end, long-lived connections: a TCP download lasting about four
# active timeouts (active_timeout 2) must produce interim records while it is
# still open, sent before its end, and all its records together must add up
# exactly to the kernel's DESTROY counters, in both directions, at the v5
# collector and at the IPFIX collector (where interim records say
# flowEndReason 2, active timeout, and the last one 3 or 1).
# Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=active_timeout
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IPFIX_PORT=9998
SLOW_PORT=8090

lab_require
lab_require_nfflowd
lab_up
lab_nfcapd_start "$LAB_COLLECTOR_PORT"
lab_nfcapd_start "$IPFIX_PORT"
lab_ct_start
lab_nfflowd_start_with "$LAB_COLLECTOR_PORT" "active_timeout 2" \
	"<collector ipfix>" "address 127.0.0.1" "port $IPFIX_PORT" "version 10" "</collector>"

# The server sends 10 kB every 0.1 s for 8 s; the client reads it all.
lab_slow_server slow-server "$SLOW_PORT" 80
lab_slow_client slow-client "$SLOW_PORT"
lab_wait_exit slow-client 30 || lab_fail "the download did not finish"
end_ms=$(lab_now_ms)
sleep 0.5
ended=$(lab_ct_flush_client)
[ "$ended" -eq 1 ] || lab_fail "conntrack -D ended $ended client connections, expected 1"
lab_ct_wait_destroys 1 || true
lab_nfflowd_stop TERM
lab_nfcapd_stop "$LAB_COLLECTOR_PORT"
lab_nfcapd_stop "$IPFIX_PORT"
lab_ct_stop

lab_ct_events v5 >"$LAB_TMP/destroys.txt"
lab_check_destroys "$LAB_TMP/destroys.txt" 1 "6"
read -r _ _ osrc osp odst odp rsrc rsp rdst rdp opk ob rpk rb start stop <"$LAB_TMP/destroys.txt"
lab_log "kernel: $osrc:$osp -> $odst:$odp ($opk pkts $ob bytes / reply $rpk pkts $rb bytes), $((stop - start)) ms"
[ $((stop - start)) -ge 7000 ] || lab_fail "the connection lasted only $((stop - start)) ms"

# v5 at nfcapd: records 1 (client side) and 3 (reply) add up to the kernel's.
lab_nfdump_flows "$LAB_COLLECTOR_PORT" >"$LAB_TMP/collector.txt"
sum() { # SRC SPORT DST DPORT: "records packets bytes" of that direction
	awk -v s="$1" -v sp="$2" -v d="$3" -v dp="$4" \
		'$2 == s && $3 == sp && $4 == d && $5 == dp { n++; p += $6; b += $7 }
		END { print n + 0, p + 0, b + 0 }' "$LAB_TMP/collector.txt"
}
read -r n1 p1 b1 < <(sum "$osrc" "$osp" "$odst" "$odp")
read -r n3 p3 b3 < <(sum "$rsrc" "$rsp" "$rdst" "$rdp")
lab_log "v5: $n1 original-direction records ($p1 pkts $b1 bytes), $n3 reply records ($p3 pkts $b3 bytes)"
[ "$n1" -ge 3 ] || lab_fail "only $n1 records for the original direction: no interim records"
[ "$p1 $b1" = "$opk $ob" ] || lab_fail "original direction: records add up to $p1/$b1, kernel $opk/$ob"
[ "$p3 $b3" = "$rpk $rb" ] || lab_fail "reply direction: records add up to $p3/$b3, kernel $rpk/$rb"

# Interim records were sent while the connection was open: the local copy's
# datagram times (unix_secs, unix_nsecs) of all but the last record lie
# before the download ended.
early=$(awk -F, -v e="$end_ms" -v s="$osrc" -v sp="$osp" \
	'$9 == s && $14 == sp && $1 * 1000 + int($2 / 1000000) < e { n++ } END { print n + 0 }' \
	"$LAB_TMP/nfflowd.out")
lab_log "$early original-direction records were sent before the download ended"
[ "$early" -ge 2 ] || lab_fail "no interim record was sent while the connection was open"

# IPFIX: one record per interval with both directions; end reasons.
nfdump -R "$(lab_nfcapd_dir "$IPFIX_PORT")" -q -N -o 'fmt:%sa|%sp|%ipkt|%ibyt|%opkt|%obyt' \
	>"$LAB_TMP/ipfix.txt" 2>/dev/null || true
read -r ni pi bi po bo < <(awk -F'|' -v s="$osrc" -v sp="$osp" \
	'{ gsub(/ /, "") } $1 == s && $2 == sp { n++; a += $3; b += $4; c += $5; d += $6 }
	END { print n + 0, a + 0, b + 0, c + 0, d + 0 }' "$LAB_TMP/ipfix.txt")
lab_log "IPFIX: $ni records, in $pi pkts $bi bytes, out $po pkts $bo bytes"
[ "$ni" -ge 3 ] || lab_fail "only $ni IPFIX records: no interim records"
[ "$pi $bi $po $bo" = "$opk $ob $rpk $rb" ] ||
	lab_fail "IPFIX records add up to $pi/$bi and $po/$bo, kernel $opk/$ob and $rpk/$rb"
grep -q "active-timeout\|interim" "$LAB_TMP/nfflowd.err" || true

[ "$LAB_FAILURES" -eq 0 ] || lab_show_evidence
lab_finish
