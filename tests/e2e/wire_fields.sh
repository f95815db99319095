#!/usr/bin/env bash
# End-to-end, what the fields say, as Debian's tshark decodes them: nfflowd
# in the router exports NetFlow v5, v9 and IPFIX at once (nfcapd listening
# on each port, tshark capturing each stream), every collector with mtu 512,
# v9 and IPFIX with nat_events all, and active_timeout 2. The client makes
# one long TCP connection (6 s of a byte a second, closed by the client),
# and UDP exchanges that an nftables rule in the router's raw prerouting
# puts into conntrack zone 7 (ct zone set 7, both directions). Then every
# connection is ended with conntrack -D. Checks:
#  - tshark: nothing malformed and no expert information in any of the
#    three streams; no captured export packet longer than 512 bytes (IP);
#  - interfaces: v5 input/output and v9/IPFIX ingressInterface/
#    egressInterface (cflow.inputint/outputint) are the router's ifIndexes
#    of lan0 and wan0 (ip link): the original direction in by lan0, out by
#    wan0; v5's reply records the other way round;
#  - the long connection: interim records (natEvent 0, flowEndReason 2)
#    and one last record (natEvent 5, flowEndReason 3, 1 or 4);
#  - NAT events (templates 258/259): a create (4) for each NATed connection
#    and a delete (5) at its end, each with observationTimeMilliseconds and
#    no counters;
#  - zone 7: the UDP connections' flow records and events carry
#    ingressVRFID 7 (cflow.ingress_vrfid), the TCP connection's 0;
#  - nfcapd: no sequence error and no bad packet on any port.
# Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=wire_fields
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

P5=$LAB_COLLECTOR_PORT
P9=$((LAB_COLLECTOR_PORT + 1))
P10=$((LAB_COLLECTOR_PORT + 2))
MTU=512
UDP_CONNS=6

lab_require tshark
lab_require_nfflowd
lab_up
lab_servers_start
lab_udp_zone zones "$LAB_UDP_ECHO_PORT" 7
LAN_IF=$(lab_ifindex lan0)
WAN_IF=$(lab_ifindex wan0)
lab_log "router interfaces: lan0 $LAN_IF, wan0 $WAN_IF"
for p in $P5 $P9 $P10; do lab_nfcapd_start "$p"; done
lab_tshark_start "$P5" "$P9" "$P10"

{
	echo "# nfflowd configuration for $LAB_NAME"
	lab_collector v5 5 "$P5" "mtu $MTU"
	lab_collector v9 9 "$P9" "mtu $MTU" "nat_events all"
	lab_collector ipfix 10 "$P10" "mtu $MTU" "nat_events all"
	echo "active_timeout 2"
	lab_nfflowd_conf_common
} >"$LAB_TMP/nfflowd.conf"
lab_nfflowd_start_conf "$LAB_TMP/nfflowd.conf"

lab_log "one long TCP connection (6 s) and $UDP_CONNS UDP exchanges in zone 7"
(for i in 1 2 3 4 5 6; do printf x; sleep 1; done) |
	ip netns exec "$LAB_CLI" timeout 20 socat -u - "TCP4:$LAB_SERVER_IP:$LAB_TCP_SINK_PORT" &
long=$!
for ((i = 1; i <= UDP_CONNS; i++)); do lab_udp_exchange "zone-$i" $((41000 + i)); done
wait "$long" || lab_die "the long TCP connection failed"
zone7=$(ip netns exec "$LAB_RTR" conntrack -L -w 7 2>/dev/null | grep -c "dport=$LAB_UDP_ECHO_PORT" || true)
lab_log "conntrack zone 7 holds $zone7 connections"
[ "$zone7" -eq "$UDP_CONNS" ] || lab_fail "conntrack zone 7 holds $zone7 connections, expected $UDP_CONNS"
ended=$(lab_ct_flush_all)
lab_log "ended $ended connections"
sleep 1.5
lab_nfflowd_stop TERM
for p in $P5 $P9 $P10; do lab_nfcapd_stop "$p"; done
for p in $P5 $P9 $P10; do lab_tshark_stop "$p"; done

# ---------------------------------------------------------------------------

for p in $P5 $P9 $P10; do
	problems=$(lab_tshark_problems "$p")
	[ -z "$problems" ] || lab_fail "tshark: malformed packets or expert information (port $p):"$'\n'"$problems"
	n=$(lab_tshark_fields "$p" ip.len | wc -l)
	longest=$(lab_tshark_fields "$p" ip.len | sort -n | tail -1)
	lab_log "port $p: $n export packets, the longest $longest bytes (IP)"
	[ "$n" -gt 0 ] || lab_fail "tshark captured nothing to port $p"
	[ "${longest:-0}" -le "$MTU" ] || lab_fail "port $p: an export packet of $longest bytes, mtu $MTU"
	total=$(lab_nfcapd_totals "$LAB_TMP/nfcapd-$p.err" | cut -d' ' -f3-)
	[ "$total" = "0 0" ] || lab_fail "nfcapd on port $p: sequence errors and bad packets '${total:-no summary}'"
done

# v5: every record's interfaces.
bad=$(lab_tshark_fields "$P5" cflow.srcaddr cflow.inputint cflow.outputint |
	awk -F'|' -v cli="$LAB_CLIENT_IP" -v wan="$LAB_ROUTER_WAN_IP" -v srv="$LAB_SERVER_IP" \
		-v lan_if="$LAN_IF" -v wan_if="$WAN_IF" '
	{
		n = split($1, s, ","); split($2, in_, ","); split($3, out, ",")
		for (i = 1; i <= n; i++) {
			recs++
			if (s[i] == cli || s[i] == wan) { want_in = lan_if; want_out = wan_if }
			else if (s[i] == srv) { want_in = wan_if; want_out = lan_if }
			else { print "  a record from " s[i]; continue }
			if (in_[i] != want_in || out[i] != want_out)
				print "  record from " s[i] ": input " in_[i] " output " out[i] ", expected " want_in " " want_out
		}
	}
	END { if (recs < 3) print "  only " recs + 0 " v5 records" }')
[ -z "$bad" ] || lab_fail "v5 interfaces:"$'\n'"$bad"

# v9 and IPFIX: R frame set kind proto src sport dst dport xs xsp xd xdp ip ib
# op ob start end nevt flowid endreason icmp obs packets octets inputint
# outputint ingress_vrfid notsent_flows
for p in $P9 $P10; do
	lab_tshark_nat_parse "$p" | grep '^R ' >"$LAB_TMP/records-$p.txt" || true
	bad=$(awk -v lan_if="$LAN_IF" -v wan_if="$WAN_IF" -v udp_conns="$UDP_CONNS" '
	{
		where = "  " $3 " " $4 " " $5 " " $6 ":" $7 ": "
		zone = ($5 == 17) ? 7 : 0
		if ($29 != zone) print where "ingressVRFID " $29 ", expected " zone
		if ($3 == 256) {
			if ($27 != lan_if || $28 != wan_if) print where "interfaces " $27 " " $28 ", expected " lan_if " " wan_if
			if ($22 == 2) { interim[$5]++; if ($20 != 0) print where "interim record with natEvent " $20 }
			else {
				last[$5]++
				if ($20 != 5) print where "last record with natEvent " $20
				if ($22 != 1 && $22 != 3 && $22 != 4) print where "last record with flowEndReason " $22
			}
		} else if ($3 == 258) {
			ev[$5 ":" $20]++
			if ($24 == "-" || $24 == 0) print where "NAT event without observationTimeMilliseconds"
			if ($25 != "-" || $26 != "-") print where "NAT event with counters " $25 " " $26
			if ($27 != "-" || $28 != "-") print where "NAT event with interfaces"
		} else print where "record of set " $3
	}
	END {
		if (interim[6] < 1) print "  no interim record of the long TCP connection"
		if (last[6] != 1) print "  " last[6] + 0 " last records of the TCP connection, expected 1"
		if (last[17] != udp_conns) print "  " last[17] + 0 " UDP flow records, expected " udp_conns
		for (p = 6; p <= 17; p += 11) {
			want = (p == 6) ? 1 : udp_conns
			if (ev[p ":4"] != want || ev[p ":5"] != want)
				print "  protocol " p ": " ev[p ":4"] + 0 " create and " ev[p ":5"] + 0 " delete events, expected " want
		}
	}' "$LAB_TMP/records-$p.txt")
	lab_log "port $p: $(wc -l <"$LAB_TMP/records-$p.txt") records decoded"
	[ -z "$bad" ] || lab_fail "tshark, port $p:"$'\n'"$bad"
done

[ "$LAB_FAILURES" -eq 0 ] || lab_show_evidence
lab_finish
