#!/usr/bin/env bash
# End-to-end, deterministic NAT logged as port blocks (RFC 7422, RFC 8158
# natEvent 16/17): the router source-NATs 10.77.1.2 through an nftables
# per-source map (a named map, before the lab's masquerade), nfflowd
# exports IPFIX to nfcapd (nat_events all, nat_sessions outside-blocks)
# while tshark captures it, and writes its NAT log (nat_sessions
# outside-blocks).
#
#   start      the map holds 10.77.1.2's block 40000-40099: one allocation
#   add        "nft add element" gives 10.77.1.9 the block 41000-41099:
#              one allocation, read after nftables' netlink event
#   traffic    a UDP exchange from 10.77.1.2 (inside its block) and one from
#              10.77.1.3 (masqueraded, in no block)
#   delete     "nft delete element" of 10.77.1.9: one de-allocation
#
# Checks: tshark decodes, with nothing malformed, natEvent 16 twice and 17
# once with portRangeStart/End/StepSize/NumPorts of the blocks and their
# addresses; the session events (natEvent 4, and 5 besides the flow
# records') only of 10.77.1.3's connection; flow records of both
# connections (nfcapd counts them); the NAT log holds block-alloc twice,
# block-free once and the end line of 10.77.1.3 alone. What nfdump prints
# for the block events is logged (nfflowd.conf(5) says it).
#
# Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=nat_port_blocks
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT=$LAB_COLLECTOR_PORT
CLIENT2=10.77.1.3

lab_require jq tshark
lab_require_nfflowd
lab_up
ip -n "$LAB_CLI" addr add "$CLIENT2/24" dev eth0
NATLOG=$LAB_TMP/nat.log
CONF=$LAB_TMP/nfflowd.conf

ip netns exec "$LAB_RTR" nft -f - <<NFT || lab_skip "this kernel or nft refuses a per-source snat map"
table ip detnat {
	map blocks {
		type ipv4_addr : interval ipv4_addr . inet_service
		flags interval
		elements = { $LAB_CLIENT_IP : $LAB_ROUTER_WAN_IP . 40000-40099 }
	}
	chain post {
		type nat hook postrouting priority srcnat - 10; policy accept;
		oifname "wan0" meta l4proto { tcp, udp } snat ip to ip saddr map @blocks
	}
}
NFT

{
	lab_collector ipfix 10 "$PORT" "nat_events all" "nat_sessions outside-blocks"
	printf '<natlog>\n    file %s\n    nat_sessions outside-blocks\n</natlog>\n' "$NATLOG"
	lab_nfflowd_conf_common
} >"$CONF"

lab_servers_start
lab_nfcapd_start "$PORT"
lab_tshark_start "$PORT"
lab_ct_start
lab_nfflowd_start_conf "$CONF"
grep -q "port blocks: 1 in force" "$LAB_TMP/nfflowd.err" ||
	lab_fail "nfflowd did not log the block at start: $(grep 'port blocks' "$LAB_TMP/nfflowd.err" || true)"

# shellcheck disable=SC2317 # called through lab_wait_for
log_has() { grep -q -- "$1" "$LAB_TMP/nfflowd.err"; }

lab_log "add a block: 10.77.1.9 -> $LAB_ROUTER_WAN_IP:41000-41099"
ip netns exec "$LAB_RTR" nft add element ip detnat blocks "{ 10.77.1.9 : $LAB_ROUTER_WAN_IP . 41000-41099 }"
lab_wait_for 5 "nfflowd to read the new block" log_has "port blocks: 2 in force" ||
	lab_fail "nfflowd did not follow the added element"

lab_udp_from "$LAB_CLIENT_IP" 5000
lab_udp_from "$CLIENT2" 5001
ip netns exec "$LAB_RTR" conntrack -L -s "$LAB_CLIENT_IP" -p udp 2>/dev/null | grep -q "dport=4000[0-9] \|dport=400[0-9][0-9] " ||
	lab_warn "10.77.1.2's connection does not seem translated into its block: $(ip netns exec "$LAB_RTR" conntrack -L -p udp 2>/dev/null)"
ended=$(lab_ct_flush_client)
ended=$((ended + $(lab_ct_delete -s "$CLIENT2")))
[ "$ended" -eq 2 ] || lab_fail "conntrack -D ended $ended connections, expected 2"

lab_log "delete the block of 10.77.1.9"
ip netns exec "$LAB_RTR" nft delete element ip detnat blocks "{ 10.77.1.9 }"
lab_wait_for 5 "nfflowd to read the deleted block" log_has "port blocks: 1 in force (1 " ||
	lab_fail "nfflowd did not follow the deleted element"
sleep 0.5 # > flush_interval
# shellcheck disable=SC2119
lab_nfflowd_stop
lab_ct_stop
lab_tshark_stop "$PORT"
lab_nfcapd_stop "$PORT"

# ---- tshark ----------------------------------------------------------------------
problems=$(lab_tshark_problems "$PORT")
[ -z "$problems" ] || lab_fail "tshark flags the capture: $problems"
lab_tshark_fields "$PORT" cflow.nat_event cflow.port_range_start cflow.port_range_end \
	cflow.port_range_step_size cflow.port_range_num_ports >"$LAB_TMP/fields"
events=$(cut -d'|' -f1 "$LAB_TMP/fields" | tr ',' '\n' | grep -v '^$' | sort -n | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
lab_log "natEvent values tshark decoded (value:count): $events"
# 16 twice, 17 once; 4 once (the create of 10.77.1.3's connection alone);
# 5 three times: both flow records and 10.77.1.3's delete event.
[ "$events" = "4:1 5:3 16:2 17:1 " ] ||
	lab_fail "natEvent values: '$events', expected '4:1 5:3 16:2 17:1 '"
blocks=$(awk -F'|' '$2 != "" { n = split($2, s, ","); split($3, e, ","); split($4, st, ","); split($5, np, ",")
	for (i = 1; i <= n; i++) print s[i] "-" e[i] "/" st[i] "/" np[i] }' "$LAB_TMP/fields" | sort | tr '\n' ' ')
[ "$blocks" = "40000-40099/1/100 41000-41099/1/100 41000-41099/1/100 " ] ||
	lab_fail "port ranges tshark decoded: '$blocks'"

# ---- nfcapd / nfdump ---------------------------------------------------------------
lab_log "nfcapd: $(grep -h 'Flows:' "$LAB_TMP/nfcapd-$PORT.err" | tail -n 1)"
nfdump -N -R "$(lab_nfcapd_dir "$PORT")" -o raw >"$LAB_TMP/nfdump.raw" 2>&1 || true
lab_log "nfdump -o raw of a block event:"
awk '/^Flow Record:/ { r = $0 "\n"; next } { r = r $0 "\n" } /nat event *= *16/ { print r; exit }' "$LAB_TMP/nfdump.raw" |
	sed 's/^/    /' >&2 || true

# ---- NAT log -------------------------------------------------------------------------
blocks=$(jq -r 'select(.event | startswith("block")) | "\(.event) \(.src) \(.xsrc) \(.port_start)-\(.port_end)/\(.step)/\(.ports)"' "$NATLOG" | tr '\n' '|')
want="block-alloc $LAB_CLIENT_IP $LAB_ROUTER_WAN_IP 40000-40099/1/100|block-alloc 10.77.1.9 $LAB_ROUTER_WAN_IP 41000-41099/1/100|block-free 10.77.1.9 $LAB_ROUTER_WAN_IP 41000-41099/1/100|"
[ "$blocks" = "$want" ] || lab_fail "NAT log block lines: '$blocks', expected '$want'"
ends=$(jq -r 'select(.event == "end") | "\(.src):\(.sport)"' "$NATLOG" | tr '\n' ' ')
[ "$ends" = "$CLIENT2:5001 " ] || lab_fail "NAT log session lines: '$ends', expected '$CLIENT2:5001 ' (10.77.1.2 is inside its block)"

lab_finish
