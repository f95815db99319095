#!/usr/bin/env bash
# End-to-end, a netlink overrun reaches the collector (RFC 7011 §4.3): as
# overrun.sh, nfflowd without the kernel's reliable delivery and with a 64K
# receive buffer is stopped (SIGSTOP) while 20,000 connections are made, so
# that the kernel drops events. It exports IPFIX and NetFlow v9 (nfcapd
# listening, tshark capturing). Checks:
#  - nfflowd check's lost line counts the events the kernel dropped
#    (netlink-events > 0), and the kernel's own drop count for nfflowd's
#    socket (/proc/net/netlink) is at least that;
#  - each stream carries a loss report (options template 260) that tshark
#    decodes with notSentFlowTotalCount (cflow.notsent_flows) > 0, equal to
#    check's netlink-events at the end, and nothing malformed or flagged;
#  - nfcapd counted no bad packet, and no sequence error in v9 (in IPFIX
#    at most one per loss report: nfcapd 1.7.1 leaves options records out
#    of its count, which RFC 7011 §3.1 includes; tshark finds no gap).
# Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=overrun_loss
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FLOOD=20000
P9=$LAB_COLLECTOR_PORT
P10=$((LAB_COLLECTOR_PORT + 1))

lab_require tshark
lab_require_nfflowd
lab_up
lab_servers_start
for p in $P9 $P10; do lab_nfcapd_start "$p"; done
lab_tshark_start "$P9" "$P10"
{
	echo "# nfflowd configuration for $LAB_NAME"
	lab_collector v9 9 "$P9" "observation_domain 7"
	lab_collector ipfix 10 "$P10" "observation_domain 7"
	echo "netlink_rcvbuf 64K"
	echo "netlink_reliable no"
	lab_nfflowd_conf_common
} >"$LAB_TMP/nfflowd.conf"
lab_nfflowd_start_conf "$LAB_TMP/nfflowd.conf"
pid=$(cat "$LAB_TMP/nfflowd.pid")
lab_udp_exchange "before" 41001

lab_log "stopping nfflowd (pid $pid) and creating $FLOOD connections"
kill -STOP "$pid"
lab_udp_connections "$FLOOD"
kill -CONT "$pid"

check() { lab_nfflowd_check "$LAB_TMP/nfflowd.conf"; }
lost() { check | lab_stat_value "lost:" "$1"; }
# shellcheck disable=SC2317 # called through lab_wait_for
lost_counted() { [ "$(lost netlink-events)" -gt 0 ] 2>/dev/null; }
lab_wait_for 10 "nfflowd to count the events lost" lost_counted ||
	lab_fail "nfflowd's lost line shows no events lost: $(check | grep '^lost:' || true)"
sleep 3 # the drops are counted again for a while; the report follows
events=$(lost netlink-events)
lab_log "nfflowd: $(check | grep '^lost:' || true)"
kdrops=$(lab_netlink_socks "$pid" | awk '{ d += $9 } END { print d + 0 }')
lab_log "the kernel's drops for nfflowd's netlink sockets: $kdrops"
[ "${kdrops:-0}" -ge "${events:-1}" ] || lab_fail "nfflowd counted $events events lost, the kernel dropped $kdrops"
ip netns exec "$LAB_RTR" conntrack -D -p udp -s "$LAB_CLIENT_IP" --sport 42000 >/dev/null 2>&1 || true
sleep 2
events=$(lost netlink-events)
lab_nfflowd_stop TERM
for p in $P9 $P10; do lab_nfcapd_stop "$p"; done
for p in $P9 $P10; do lab_tshark_stop "$p"; done

for p in $P9 $P10; do
	problems=$(lab_tshark_problems "$p")
	[ -z "$problems" ] || lab_fail "tshark, port $p: malformed packets or expert information:"$'\n'"$problems"
	reported=$(lab_tshark_fields "$p" cflow.notsent_flows | tr ',' '\n' | grep -v '^$' | sort -n | tail -1)
	n=$(lab_tshark_fields "$p" cflow.notsent_flows | tr ',' '\n' | grep -vc '^$' || true)
	lab_log "port $p: $n loss reports, the last notSentFlowTotalCount ${reported:-none} (nfflowd counted $events)"
	[ "${reported:-0}" -gt 0 ] || lab_fail "port $p: no loss report with notSentFlowTotalCount > 0"
	[ "${reported:-0}" = "$events" ] || lab_fail "port $p: reported $reported flows not sent, nfflowd counted $events"
	total=$(lab_nfcapd_totals "$LAB_TMP/nfcapd-$p.err" | cut -d' ' -f3-)
	read -r seqerr badpk <<<"${total:-x x}"
	lab_log "nfcapd on port $p: $seqerr sequence errors, $badpk bad packets"
	[ "$badpk" = 0 ] || lab_fail "nfcapd on port $p: bad packets '${total:-no summary}'"
	# v9 numbers packets: no error. IPFIX numbers data records, the loss
	# report (an options data record, RFC 7011 §3.1) included, which
	# nfcapd 1.7.1 does not count: at most one error per report.
	if [ "$p" = "$P9" ]; then
		[ "$seqerr" = 0 ] || lab_fail "nfcapd on port $p: $seqerr sequence errors"
	else
		[ "$seqerr" -le "$n" ] 2>/dev/null ||
			lab_fail "nfcapd on port $p: $seqerr sequence errors, more than the $n loss reports"
	fi
done

[ "$LAB_FAILURES" -eq 0 ] || lab_show_evidence
lab_finish
