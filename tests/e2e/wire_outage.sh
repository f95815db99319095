#!/usr/bin/env bash
# End-to-end, a collector outage as Debian's tshark and nfcapd see it:
# nfflowd exports NetFlow v5, v9 and IPFIX at once to three nfcapd, tshark
# capturing each stream. Three phases of UDP exchanges through the NAT
# router, each connection ended at once with conntrack -D:
#   up     two connections;
#   down   the three nfcapd stopped (their ports answer ICMP port
#          unreachable), three more connections: nfflowd holds them and
#          probes once a second;
#   back   nfcapd started again on the same ports; two more connections.
# Checks, for each version:
#  - nfcapd counted no sequence error and no bad packet, before and after
#    the outage, and got every record: v5 the triplets (3 records per
#    connection: client, after NAT, reply), v9 and IPFIX one flow record
#    and one NAT create event per connection (nfdump counts both);
#  - tshark finds nothing malformed and no expert information in what the
#    collectors took: the capture without the datagrams refused while they
#    were down (between the stop and the restart), which nfflowd sends
#    again.
# Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=wire_outage
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

P5=$LAB_COLLECTOR_PORT
P9=$((LAB_COLLECTOR_PORT + 1))
P10=$((LAB_COLLECTOR_PORT + 2))
UP=2
DOWN=3
BACK=2

NCONN=0
exchange() {
	local ended
	lab_udp_exchange "$1"
	ended=$(lab_ct_delete -f ipv4)
	[ "$ended" -eq 1 ] || lab_fail "conntrack -D ended $ended connections after exchange $1, expected 1"
	NCONN=$((NCONN + 1))
	lab_ct_wait destroy "$NCONN" || true
}

# summary FILE: "flows sequence-errors bad-packets" of nfcapd's summaries in FILE.
summary() { lab_nfcapd_totals "$1" | cut -d' ' -f2-; }

lab_require tshark
lab_require_nfflowd
lab_up
lab_servers_start
for p in $P5 $P9 $P10; do lab_nfcapd_start "$p"; done
lab_tshark_start "$P5" "$P9" "$P10"
lab_ct_start
{
	echo "# nfflowd configuration for $LAB_NAME"
	lab_collector v5 5 "$P5"
	lab_collector v9 9 "$P9"
	lab_collector ipfix 10 "$P10"
	lab_nfflowd_conf_common
} >"$LAB_TMP/nfflowd.conf"
lab_nfflowd_start_conf "$LAB_TMP/nfflowd.conf"

lab_log "up: $UP connections"
for ((i = 1; i <= UP; i++)); do exchange "up-$i"; done
sleep 0.5
for p in $P5 $P9 $P10; do
	lab_nfcapd_stop "$p"
	cp "$LAB_TMP/nfcapd-$p.err" "$LAB_TMP/nfcapd-$p-up.err"
done
T_DOWN=$(lab_now_ms)
lab_log "down: nfcapd stopped, $DOWN connections"
for ((i = 1; i <= DOWN; i++)); do exchange "down-$i"; done
sleep 1.5 # probes are refused
for p in $P5 $P9 $P10; do lab_nfcapd_start "$p"; done
T_BACK=$(lab_now_ms)
lab_log "back: nfcapd listening again, $BACK connections"
sleep 2.5 # a probe gets through: what was held follows
for ((i = 1; i <= BACK; i++)); do exchange "back-$i"; done
sleep 1
lab_nfflowd_stop TERM
for p in $P5 $P9 $P10; do lab_nfcapd_stop "$p"; done
for p in $P5 $P9 $P10; do lab_tshark_stop "$p"; done
lab_ct_stop

# ---------------------------------------------------------------------------

total=$((UP + DOWN + BACK))
for p in $P5 $P9 $P10; do
	up=$(summary "$LAB_TMP/nfcapd-$p-up.err")
	back=$(summary "$LAB_TMP/nfcapd-$p.err")
	lab_log "nfcapd on port $p (flows, sequence errors, bad packets): before the outage $up, after $back"
	per=2 # v9 and IPFIX: a flow record and a NAT create event
	[ "$p" = "$P5" ] && per=3
	read -r f1 s1 b1 <<<"${up:-0 x x}"
	read -r f2 s2 b2 <<<"${back:-0 x x}"
	[ "$s1 $b1 $s2 $b2" = "0 0 0 0" ] || lab_fail "nfcapd on port $p: sequence errors or bad packets"
	[ $((f1 + f2)) -eq $((total * per)) ] ||
		lab_fail "nfcapd on port $p got $((f1 + f2)) records, expected $((total * per))"

	# What the collector took: the capture without the frames refused
	# while it was down.
	f=$(lab_tshark_file "$p")
	tshark -n -r "$f" -Y "frame.time_epoch < $((T_DOWN / 1000)).$(printf %03d $((T_DOWN % 1000))) || frame.time_epoch >= $((T_BACK / 1000)).$(printf %03d $((T_BACK % 1000)))" \
		-w "$LAB_TMP/taken-$p.pcapng" 2>/dev/null
	problems=$(lab_tshark_problems "$p" "$LAB_TMP/taken-$p.pcapng")
	n=$(tshark -n -r "$LAB_TMP/taken-$p.pcapng" -Y "udp.dstport == $p" 2>/dev/null | wc -l)
	lab_log "port $p: tshark decodes $n datagrams the collector took"
	[ -z "$problems" ] || lab_fail "tshark, port $p: malformed packets or expert information:"$'\n'"$problems"
done

[ "$LAB_FAILURES" -eq 0 ] || lab_show_evidence
lab_finish
