#!/usr/bin/env bash
# End-to-end, NetFlow v9 and IPFIX with NAT: nfflowd in the router of the
# full lab (lib.sh lab_up_full: IPv4 and IPv6, masquerade, a port forward
# and a path without NAT) exports to two collectors at once, IPFIX to nfcapd
# on 127.0.0.1 and NetFlow v9 to nfcapd on [::1], while tshark captures both
# streams. Thirteen connections, each of a known NAT shape:
#   snat4  TCP 300 kB, UDP, ICMP echo        client -> server, masquerade
#   nat66  TCP 200 kB, UDP, ICMPv6 echo      client -> server, NAT66
#   dnat4  TCP 100 kB, UDP                   server -> router:8081 -> client
#   dnat6  TCP 100 kB                        the same over IPv6
#   nonat4 TCP 50 kB, UDP, ICMP echo         server -> client, routed
#   nonat6 UDP                               the same over IPv6
# all ended by conntrack -D. The kernel's NEW and DESTROY events are the
# reference. Checks:
#  - the kernel: exactly these 13 connections, each with a NEW event of the
#    same tuples, counters and timestamps;
#  - nfdump, IPFIX and v9 files: per connection exactly one flow record
#    with the original tuple, the translated one (X-Src/X-Dst, nfdump -o
#    raw "xlt"), in/out packets and bytes exactly the kernel's, start/end
#    the kernel's (ms), natEvent as a number (5 for NAT44, 2 for NAT66, 0
#    without NAT); per NATed connection exactly one create event (the NAT
#    event template: 4 or 1, no counters, the kernel's creation time as its
#    event time), none without NAT; nfcapd counted no sequence error and no
#    bad packet;
#  - nfdump's natEvent column (%nevt) names the codes as expected: UNKNOW
#    for 4/5, ADD/DELETE for 1/2, INVALID for 0; nfcapd saw each exporter
#    (127.0.0.1 and ::1) with its observation domain / source ID;
#  - tshark: nothing malformed or expert-flagged; every message of each
#    stream has the right version, length or count, domain, export time,
#    sequence number (IPFIX: data records before it; v9: messages before
#    it) and templates (the four, flow records and NAT events of each
#    family: first message, then exactly every template_refresh_packets
#    messages, before the data); every record decodes with every field
#    equal to the kernel's (including the IPv6 post-NAT addresses nfdump
#    does not decode in IPFIX, flowId = conntrack id and flowEndReason), v9's
#    1/2 equal to its 231/298, the ICMP type/code IE equal to the port
#    convention;
#  - nfflowd's own counters: what tshark captured, no send error;
#  - a second start of nfflowd with nat_event_codes legacy and nat_events
#    all for the v9 collector (nfdump then prints ADD/DELETE; a delete event
#    at each NATed connection's end besides its flow record) and nat_events
#    no for the IPFIX one (no NAT events there).
# Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=v9_ipfix_nat
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT_IPFIX=$LAB_COLLECTOR_PORT     # nfcapd on 127.0.0.1
PORT_V9=$((LAB_COLLECTOR_PORT + 1)) # nfcapd on ::1
PORT_IPFIX2=$((LAB_COLLECTOR_PORT + 2))
PORT_V92=$((LAB_COLLECTOR_PORT + 3))
IPFIX_DOMAIN=4242 # observation_domain of the IPFIX collector
V9_SOURCE_ID=77   # ... and of the v9 one
IPFIX_TMPL_EVERY=3 # template_refresh_packets (template_refresh 0: by count only)
V9_TMPL_EVERY=4

CONNECTIONS=13
CATEGORIES="dnat4/17 dnat4/6 dnat6/6 nat66/17 nat66/58 nat66/6 nonat4/1 nonat4/17 nonat4/6 nonat6/17 snat4/1 snat4/17 snat4/6"
NATED=9
CONNECTIONS2=4
CATEGORIES2="dnat4/6 nat66/17 nonat4/17 snat4/17"

# write_conf FILE PORT_IPFIX PORT_V9 V9_CODES IPFIX_NAT_EVENTS [V9_NAT_EVENTS]
write_conf() {
	cat >"$1" <<-EOF
		# nfflowd configuration for $LAB_NAME
		<collector ipfix>
		    address 127.0.0.1
		    port $2
		    version 10
		    source 127.0.0.1
		    observation_domain $IPFIX_DOMAIN
		    template_refresh 0
		    template_refresh_packets $IPFIX_TMPL_EVERY
		    nat_events $5
		</collector>
		<collector v9>
		    address ::1
		    port $3
		    version 9
		    source ::1
		    observation_domain $V9_SOURCE_ID
		    template_refresh 0
		    template_refresh_packets $V9_TMPL_EVERY
		    nat_event_codes $4
		    nat_events ${6:-yes}
		</collector>
	EOF
	lab_nfflowd_conf_common >>"$1"
}

# end_all N: end every connection in the router (both families), expect N,
# wait for their DESTROYs, then for nfflowd to send them.
end_all() {
	local ended
	ended=$(lab_ct_flush_all)
	[ "$ended" -eq "$1" ] || lab_fail "conntrack -D ended $ended connections, expected $1"
	lab_ct_wait destroy "$1" || true
	sleep 1 # > flush_interval
}

# check_kernel EVENTS COUNT CATEGORIES: the kernel reported exactly these
# connections, each with a NEW of the same tuples, counters and timestamps.
check_kernel() {
	local ev=$1 count=$2 want=$3 got bad
	got=$(lab_ct_full_categories <"$ev" | sort | tr '\n' ' ' | sed 's/ $//')
	[ "$got" = "$want" ] ||
		lab_fail "kernel DESTROYs by path/protocol: got '$got', expected '$want'"
	[ "$(awk '$1 == "destroy"' "$ev" | wc -l)" -eq "$count" ] ||
		lab_fail "kernel reported $(awk '$1 == "destroy"' "$ev" | wc -l) DESTROYs, expected $count"
	bad=$(awk '
		{ t = $5; for (i = 6; i <= 12; i++) t = t " " $i }
		$1 == "new" { if ($2 in nw) print "  two NEW events for id " $2; nw[$2] = t; next }
		{ de[$2] = t
		  if ($13 == 0 || $15 == 0) print "  no packets counted in a direction (nf_conntrack_acct?): " $0
		  if ($17 == "-" || $18 == "-") print "  no timestamps (nf_conntrack_timestamp?): " $0 }
		END {
			for (i in de) if (!(i in nw)) print "  DESTROY without NEW: id " i
			else if (nw[i] != de[i]) print "  id " i ": NEW " nw[i] " but DESTROY " de[i]
			for (i in nw) if (!(i in de)) print "  NEW without DESTROY: id " i
		}' "$ev")
	[ -z "$bad" ] || lab_fail "kernel events not as expected:"$'\n'"$bad"
}

# check_nfdump PORT DECODER CODES CREATES EVENTS: nfdump's records of the
# collector on PORT against the kernel's connections.
check_nfdump() {
	local port=$1 dec=$2 codes=$3 creates=$4 ev=$5 t=$LAB_TMP/nfdump-$1
	lab_nat_expected "$dec" "$codes" "$creates" <"$ev" >"$t.expected"
	lab_nfdump_nat_records "$port" >"$t.records"
	lab_nfcapd_check "$port" "$(wc -l <"$t.expected")"
	lab_nat_compare "$t.expected" "$t.records" "nfdump ($dec, port $port) vs kernel" ||
		lab_fail "nfdump's records from port $port differ from the kernel's connections (above)"
}

# check_tshark PORT VERSION DOMAIN EVERY EVENTS CODES CREATES: the capture
# of the stream to PORT, message by message (templates every EVERY
# messages) and record by record (natEvent CODES, create records or not).
check_tshark() {
	local port=$1 version=$2 domain=$3 every=$4 ev=$5 t=$LAB_TMP/tshark-$1 problems bad
	problems=$(lab_tshark_problems "$port")
	[ -z "$problems" ] ||
		lab_fail "tshark: malformed packets or expert information in the stream to $port:"$'\n'"$problems"
	lab_tshark_nat_parse "$port" >"$t.parsed"
	grep '^M ' "$t.parsed" >"$t.messages" || true
	grep '^R ' "$t.parsed" | cut -d' ' -f4-22 >"$t.records" || true
	bad=$(awk -v v="$version" -v dom="$domain" -v every="$every" '
		$1 == "M" {
			# M frame captured_ms payload version sequence count_or_length domain sets templates data export_s
			i = nmsg++
			where = "  message " i " (frame " $2 "): "
			if ($5 != v) print where "version " $5 ", expected " v
			if ($3 < $12 * 1000 || $3 - $12 * 1000 > 1100) print where "header time " $12 " s, captured at " $3 " ms"
			if ($8 != dom) print where "domain " $8 ", expected " dom
			if (v == 10 && $7 != $4) print where "length " $7 ", but the payload is " $4 " bytes"
			if (v == 9 && $7 != $10 + $11) print where "count " $7 ", but it holds " $10 " templates and " $11 " data records"
			want = (v == 10) ? data : i
			if ($6 != want) print where "sequence " $6 ", expected " want (v == 10 ? " (data records before it)" : " (messages before it)")
			tmpl = (i % every == 0) ? 4 : 0
			if ($10 != tmpl) print where $10 " template records, expected " tmpl
			n = split($9, set, ",")
			if ($10 > 0 && set[1] != (v == 10 ? 2 : 0)) print where "the template set is not first: sets " $9
			for (k = 1; k <= n; k++) if ((set[k] < 256 || set[k] > 259) && set[k] != (v == 10 ? 2 : 0))
				print where "unexpected set id " set[k]
			if ($11 < 1) print where "no data record"
			data += $11; frame[$2] = i
			next
		}
		{
			# R frame set kind proto src sport dst dport xsrc xsport xdst xdport ip ib op ob start end
			#   nevt flowid endreason icmp obs packets octets
			where = "  record in frame " $2 " (" $5 " " $6 " " $7 " -> " $8 " " $9 "): "
			icmp = ($5 == 1 || $5 == 58)
			event = ($3 == 258 || $3 == 259) # a NAT event: no counters, no start or end
			if (($6 ~ /:/) != ($3 == 257 || $3 == 259)) print where "in data set " $3 ", wrong for its address family"
			if ($23 != (icmp ? $9 : 0)) print where "ICMP type/code IE " $23 ", expected " (icmp ? $9 : 0)
			if ($24 != $19) print where "observationTimeMilliseconds " $24 ", flowEndMilliseconds " $19
			if (event && ($25 $26) != "--") print where "a NAT event with counters: " $25 " " $26
			if (!event && ($25 != $14 || $26 != $15)) print where "packetDeltaCount/octetDeltaCount " $25 "/" $26 \
				", the original direction counters are " $14 "/" $15
		}
		END { print "messages " nmsg + 0 " data " data + 0 > "/dev/stderr" }' "$t.parsed" 2>"$t.totals")
	[ -z "$bad" ] || lab_fail "tshark, stream to $port (version $version):"$'\n'"$bad"
	lab_log "tshark, stream to $port: $(cat "$t.totals"); sets per message: $(awk '{ printf "%s ", $9 }' "$t.messages")"
	[ -s "$t.messages" ] || lab_fail "tshark captured no message to port $port"
	lab_nat_expected tshark "$6" "$7" <"$ev" >"$t.expected"
	lab_nat_compare "$t.expected" "$t.records" "tshark (v$version, port $port) vs kernel" ||
		lab_fail "the records tshark decodes from port $port differ from the kernel's connections (above)"
}

# check_stats STATS ADDRESS:PORT VERSION NAME TSHARK_TOTALS: nfflowd's
# counters for one collector are what tshark captured, without errors.
check_stats() {
	local line want
	line=$(awk -v a="$2" '$1 == a' "$1")
	if [ -z "$line" ]; then
		lab_fail "nfflowd check printed no counters for collector $2"
		return
	fi
	want="$2 $(awk '{ print $2, $4 }' "$5") 0 0 0 $3 $4"
	[ "$line" = "$want" ] ||
		lab_fail "nfflowd's counters for $2: '$line', expected '$want' (address datagrams records send-errors dropped queued version name)"
}

# nevt_summary PORT: how many records of each family and kind (a NAT event,
# without counters, or a flow record) nfdump shows with each natEvent name,
# e.g. "ipv4:event:UNKNOW=5 ipv4:flow:...".
nevt_summary() {
	nfdump -q -N -R "$(lab_nfcapd_dir "$1")" -o 'fmt:%sa|%ipkt|%nevt' | awk -F'|' '
		{ for (i = 1; i <= NF; i++) gsub(/[ \t]/, "", $i) }
		NF == 3 { n[($1 ~ /:/ ? "ipv6" : "ipv4") ":" ($2 == 0 ? "event" : "flow") ":" $3]++ }
		END { for (k in n) printf "%s=%d\n", k, n[k] }' | sort | tr '\n' ' ' | sed 's/ $//'
}

lab_require curl tshark
lab_require_nfflowd
T0=$(lab_now_ms)
lab_up_full
lab_servers_full_start
lab_nfcapd_start_at 127.0.0.1 "$PORT_IPFIX"
lab_nfcapd_start_at ::1 "$PORT_V9"
lab_tshark_start "$PORT_IPFIX" "$PORT_V9"
lab_ct_start NEW,DESTROY
write_conf "$LAB_TMP/nfflowd.conf" "$PORT_IPFIX" "$PORT_V9" iana yes
lab_nfflowd_start_conf "$LAB_TMP/nfflowd.conf"

lab_log "traffic: $CONNECTIONS connections (SNAT, NAT66, port forwards, no NAT; TCP, UDP, ICMP, ICMPv6)"
lab_tcp_upload 307200
lab_udp_send "$LAB_CLI" "$LAB_SERVER_IP" "$LAB_UDP_ECHO_PORT" "snat4-udp"
lab_ping 3
lab_tcp_upload6 204800
lab_udp_exchange6 "nat66-udp"
lab_ping6 3
lab_tcp_send "$LAB_SRV" "$LAB_ROUTER_WAN_IP" "$LAB_FWD_PORT" 102400
lab_udp_send "$LAB_SRV" "$LAB_ROUTER_WAN_IP" "$LAB_FWD_PORT" "dnat4-udp"
lab_tcp_send "$LAB_SRV" "$LAB_ROUTER_WAN_IP6" "$LAB_FWD_PORT" 102400
lab_tcp_send "$LAB_SRV" "$LAB_CLIENT_IP" "$LAB_CLIENT_PORT" 51200
lab_udp_send "$LAB_SRV" "$LAB_CLIENT_IP" "$LAB_CLIENT_PORT" "nonat4-udp"
lab_ping_from "$LAB_SRV" "$LAB_CLIENT_IP" 2
lab_udp_send "$LAB_SRV" "$LAB_CLIENT_IP6" "$LAB_CLIENT_PORT" "nonat6-udp"
sleep 1 # the last ACKs and FINs
end_all "$CONNECTIONS"

lab_nfflowd_collector_stats "$LAB_TMP/nfflowd.conf" >"$LAB_TMP/stats-1.txt"
lab_nfflowd_check "$LAB_TMP/nfflowd.conf" >"$LAB_TMP/check-1.txt"
lab_nfflowd_stop TERM
cp "$LAB_TMP/nfflowd.err" "$LAB_TMP/nfflowd-1.err"
lab_nfcapd_stop "$PORT_IPFIX"
lab_nfcapd_stop "$PORT_V9"
lab_tshark_stop "$PORT_IPFIX"
lab_tshark_stop "$PORT_V9"
lab_ct_stop
EV1=$LAB_TMP/events-1.txt
lab_ct_events all >"$EV1"

# ---------------------------------------------------------------------------
# Second start: legacy natEvent codes and create and delete events for v9,
# no NAT events for IPFIX.

lab_nfcapd_start_at 127.0.0.1 "$PORT_IPFIX2"
lab_nfcapd_start_at ::1 "$PORT_V92"
lab_ct_start NEW,DESTROY
write_conf "$LAB_TMP/nfflowd-2.conf" "$PORT_IPFIX2" "$PORT_V92" legacy no all
lab_nfflowd_start_conf "$LAB_TMP/nfflowd-2.conf"
lab_log "traffic: $CONNECTIONS2 connections, v9 with nat_event_codes legacy and nat_events all, IPFIX with nat_events no"
lab_udp_send "$LAB_CLI" "$LAB_SERVER_IP" "$LAB_UDP_ECHO_PORT" "snat4-udp-2"
lab_udp_exchange6 "nat66-udp-2"
lab_tcp_send "$LAB_SRV" "$LAB_ROUTER_WAN_IP" "$LAB_FWD_PORT" 20480
lab_udp_send "$LAB_SRV" "$LAB_CLIENT_IP" "$LAB_CLIENT_PORT" "nonat4-udp-2"
end_all "$CONNECTIONS2"
lab_nfflowd_stop TERM "nfflowd (second start)"
lab_nfcapd_stop "$PORT_IPFIX2"
lab_nfcapd_stop "$PORT_V92"
lab_ct_stop
EV2=$LAB_TMP/events-2.txt
lab_ct_events all >"$EV2"

# ---------------------------------------------------------------------------
# First start

check_kernel "$EV1" "$CONNECTIONS" "$CATEGORIES"
check_nfdump "$PORT_IPFIX" nfdump-ipfix iana yes "$EV1"
check_nfdump "$PORT_V9" nfdump-v9 iana yes "$EV1"
check_tshark "$PORT_IPFIX" 10 "$IPFIX_DOMAIN" "$IPFIX_TMPL_EVERY" "$EV1" iana yes
check_tshark "$PORT_V9" 9 "$V9_SOURCE_ID" "$V9_TMPL_EVERY" "$EV1" iana yes
check_stats "$LAB_TMP/stats-1.txt" "127.0.0.1:$PORT_IPFIX" 10 ipfix "$LAB_TMP/tshark-$PORT_IPFIX.totals"
check_stats "$LAB_TMP/stats-1.txt" "[::1]:$PORT_V9" 9 v9 "$LAB_TMP/tshark-$PORT_V9.totals"
creates=$(sed -n 's/.* nat-create-events \([0-9]*\).*/\1/p' "$LAB_TMP/check-1.txt")
[ "$creates" = "$NATED" ] || lab_fail "nfflowd counted '$creates' NAT create events, expected $NATED"

# The codes as nfdump's natEvent column (%nevt) names them: 1/2 ADD/DELETE,
# 0 INVALID, and the IANA NAT44 codes 4/5 UNKNOW (their numbers were
# checked above, from nfdump -o raw).
nevt=$(nevt_summary "$PORT_V9")
want="ipv4:event:UNKNOW=5 ipv4:flow:INVALID=3 ipv4:flow:UNKNOW=5 ipv6:event:ADD=4 ipv6:flow:DELETE=4 ipv6:flow:INVALID=1"
[ "$nevt" = "$want" ] || lab_fail "nfdump %nevt, v9 with IANA codes: '$nevt', expected '$want'"
for exporter in "New ipfix exporter: .*Observation domain $IPFIX_DOMAIN from: 127.0.0.1" \
	"New v9 exporter: .*Domain: $V9_SOURCE_ID, IP: ::1"; do
	grep -q "$exporter" "$LAB_TMP"/nfcapd-"$PORT_IPFIX".err "$LAB_TMP"/nfcapd-"$PORT_V9".err ||
		lab_fail "nfcapd did not log '$exporter'"
done

# ---------------------------------------------------------------------------
# Second start

check_kernel "$EV2" "$CONNECTIONS2" "$CATEGORIES2"
check_nfdump "$PORT_IPFIX2" nfdump-ipfix iana no "$EV2"
check_nfdump "$PORT_V92" nfdump-v9 legacy all "$EV2"
nevt=$(nevt_summary "$PORT_V92")
want="ipv4:event:ADD=2 ipv4:event:DELETE=2 ipv4:flow:DELETE=2 ipv4:flow:INVALID=1 ipv6:event:ADD=1 ipv6:event:DELETE=1 ipv6:flow:DELETE=1"
[ "$nevt" = "$want" ] || lab_fail "nfdump %nevt with nat_event_codes legacy: '$nevt', expected '$want'"

if [ "$LAB_FAILURES" -ne 0 ]; then
	lab_show "$EV1" "kernel events, first start (event id family proto osrc osport odst odport rsrc rsport rdst rdport opkts obytes rpkts rbytes start_ms stop_ms state):"
	lab_show "$EV2" "kernel events, second start:"
	lab_show "$LAB_TMP/nfflowd-1.err" "nfflowd stderr, first start:"
	lab_show "$LAB_TMP/nfflowd.err" "nfflowd stderr, second start:"
fi
lab_log "run time $(($(lab_now_ms) - T0)) ms"
lab_finish
