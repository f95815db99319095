#!/usr/bin/env bash
# End-to-end, the interfaces follow the routing table: nfflowd caches its
# route lookups and must forget them when a route changes. Two UDP
# exchanges through the NAT router, exported to IPFIX (tshark capturing):
# the first ends at once and is exported with egressInterface wan0 (the
# lookup of the server's address is then cached); the second ends after a
# host route to the server through another interface (a veth) was added
# in the router, and must be exported with that interface: the route
# change cleared the cache. ingressInterface is lan0 for both.
# Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=wire_routes
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT=$LAB_COLLECTOR_PORT

lab_require tshark
lab_require_nfflowd
lab_up
lab_servers_start
lab_nfcapd_start "$PORT"
lab_tshark_start "$PORT"
{
	echo "# nfflowd configuration for $LAB_NAME"
	lab_collector ipfix 10 "$PORT" "nat_events no"
	lab_nfflowd_conf_common
} >"$LAB_TMP/nfflowd.conf"
lab_nfflowd_start_conf "$LAB_TMP/nfflowd.conf"
LAN_IF=$(lab_ifindex lan0)
WAN_IF=$(lab_ifindex wan0)

lab_udp_exchange "first" 41001
[ "$(lab_ct_delete -f ipv4)" -eq 1 ] || lab_fail "conntrack -D did not end the first connection"
sleep 1 # exported: the lookups are cached
lab_udp_exchange "second" 41002
ip -n "$LAB_RTR" link add alt0 type veth peer name alt1
ip -n "$LAB_RTR" link set alt1 up
ip -n "$LAB_RTR" link set alt0 up
ip -n "$LAB_RTR" route add "$LAB_SERVER_IP/32" dev alt0
ALT_IF=$(lab_ifindex alt0)
lab_log "router interfaces: lan0 $LAN_IF, wan0 $WAN_IF, alt0 $ALT_IF (now the route to $LAB_SERVER_IP)"
sleep 0.3
[ "$(lab_ct_delete -f ipv4)" -eq 1 ] || lab_fail "conntrack -D did not end the second connection"
sleep 1
lab_nfflowd_stop TERM
lab_nfcapd_stop "$PORT"
lab_tshark_stop "$PORT"

got=$(lab_tshark_nat_parse "$PORT" | awk '$1 == "R" && $3 == 256 { print $7, $27, $28 }')
lab_log "flow records (source port, ingressInterface, egressInterface): $(tr '\n' ';' <<<"$got")"
want="41001 $LAN_IF $WAN_IF
41002 $LAN_IF $ALT_IF"
[ "$got" = "$want" ] || lab_fail "interfaces: got '$got', expected '$want'"
problems=$(lab_tshark_problems "$PORT")
[ -z "$problems" ] || lab_fail "tshark: malformed packets or expert information:"$'\n'"$problems"

[ "$LAB_FAILURES" -eq 0 ] || lab_show_evidence
lab_finish
