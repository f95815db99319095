#!/usr/bin/env bash
# The NetFlow v9 and IPFIX encoder's output as real collectors decode it,
# against fixtures, without the lab or nfflowd. tests/ipfix_probe.c encodes
# seven made-up records (IPv4 SNAT TCP, ICMP with a translated echo
# identifier, NAT66 UDP, a NAT44 create event in zone 7, TCP without NAT in a
# zone of its original direction, ICMPv6 without NAT, a NAT66 delete event
# with a zone of its reply direction) with fixed times, in two messages per
# version, and sends them to nfcapd and to a tshark capture on the loopback
# of a namespace of its own. Then, for v9 and for IPFIX:
#   - nfcapd stored the 7 records, with no sequence error and no bad packet,
#     and tshark finds nothing malformed and adds no expert information;
#   - what nfdump and tshark decode (TZ=UTC) is exactly
#     tests/data/ipfix-{nfdump,tshark}-v{9,10}.txt (made with Debian 12's
#     nfdump 1.7.1 and tshark 4.0 by the commands in ipfix_probe.c).
# The probe is $IPFIX_PROBE (CTest sets it, tests/probe.cmake), by default
# tests/ipfix_probe in the build directory of $NFFLOWD.
# Exit 0 pass, 1 fail, 77 skipped (not root, tools or the probe missing).
set -euo pipefail
LAB_NAME=v9_ipfix_probe
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROBE=${IPFIX_PROBE:-$(dirname "$NFFLOWD")/tests/ipfix_probe}
DATA=$LAB_ROOT/tests/data
PORT_V9=9909
PORT_IPFIX=9910
export TZ=UTC # the fixtures' times

# The fixtures' commands (ipfix_probe.c): nfdump's and tshark's fields.
NFDUMP_FMT='fmt:%ts %te %pr %sap %dap %xsap %xdap %ipkt %ibyt %opkt %obyt %tevt %nevt %ivrf %evrf %in %out'
TSHARK_FIELDS=(cflow.version cflow.count cflow.sequence cflow.srcaddr cflow.srcaddrv6
	cflow.srcport cflow.post_natsource_ipv4_address cflow.post_nat_source_ipv6_address
	cflow.post_naptsource_transport_port cflow.octets cflow.packets cflow.initiator_octets
	cflow.responder_octets cflow.initiator_packets cflow.responder_packets
	cflow.icmp_type_code_ipv4 cflow.icmp_ipv6_type cflow.icmp_ipv6_code cflow.flow_id
	cflow.flow_end_reason cflow.nat_event cflow.observation_time_milliseconds
	cflow.ingress_vrfid cflow.egress_vrfid cflow.inputint cflow.outputint)

# check_decoded WHAT FIXTURE GOT: GOT must be FIXTURE, line for line.
check_decoded() {
	local diffs
	if ! diffs=$(diff -u "$2" "$3"); then
		lab_fail "$1 decodes other than $(basename "$2") (- expected, + decoded; $(nfdump -V 2>&1 | head -n 1), $(tshark --version 2>/dev/null | head -n 1)):"$'\n'"$diffs"
	fi
}

lab_require_only ip nfcapd nfdump tshark socat timeout ss
[ -x "$PROBE" ] || lab_skip "no probe at $PROBE (build it: cmake --build build --target ipfix_probe; or set IPFIX_PROBE)"

lab_begin
lab_ns_add "$LAB_RTR" # the collectors' namespace: its loopback only
lab_nfcapd_start "$PORT_V9"
lab_nfcapd_start "$PORT_IPFIX"
lab_tshark_start "$PORT_V9" "$PORT_IPFIX"
for v in 9 10; do
	port=$PORT_V9
	[ "$v" = 9 ] || port=$PORT_IPFIX
	ip netns exec "$LAB_RTR" timeout 10 "$PROBE" "$v" "$port" >"$LAB_TMP/probe-v$v.out" 2>&1 ||
		lab_die "ipfix_probe $v $port failed: $(cat "$LAB_TMP/probe-v$v.out")"
	lab_log "v$v: $(tr '\n' ' ' <"$LAB_TMP/probe-v$v.out")"
done
lab_nfcapd_stop "$PORT_V9"
lab_nfcapd_stop "$PORT_IPFIX"
lab_tshark_stop "$PORT_V9"
lab_tshark_stop "$PORT_IPFIX"

for v in 9 10; do
	port=$PORT_V9
	[ "$v" = 9 ] || port=$PORT_IPFIX
	lab_nfcapd_check "$port" 7
	problems=$(lab_tshark_problems "$port")
	[ -z "$problems" ] || lab_fail "tshark finds problems in the v$v messages:"$'\n'"$problems"
	nfdump -q -N -R "$(lab_nfcapd_dir "$port")" -o "$NFDUMP_FMT" >"$LAB_TMP/nfdump-v$v.txt"
	check_decoded "nfdump (v$v)" "$DATA/ipfix-nfdump-v$v.txt" "$LAB_TMP/nfdump-v$v.txt"
	lab_tshark_fields "$port" "${TSHARK_FIELDS[@]}" >"$LAB_TMP/tshark-v$v.txt"
	check_decoded "tshark (v$v)" "$DATA/ipfix-tshark-v$v.txt" "$LAB_TMP/tshark-v$v.txt"
done
lab_finish
