#!/usr/bin/env bash
# End-to-end, the <filter> block: which connections nfflowd exports. Each
# phase runs a fresh nfflowd with one kind of filter, a fresh nfcapd (a new
# port) and fresh conntrack -E listeners, makes a mix of connections of which
# some match and some do not, and ends them all (conntrack -D). Then:
#   - the kernel reported every planned connection's DESTROY, and the
#     connections that match (decided from the kernel's own tuples, marks and
#     zones) are as many as planned, and so are those that do not;
#   - the collector holds exactly the matching connections' NAT triplets with
#     the kernel's counters, and nothing else (no "extra-ok"), and so does
#     nfflowd's CSV local copy; nfcapd counts no sequence gap;
#   - nfflowd's own counters (nfflowd check): connections exported, the
#     NEW and DESTROY events it received, and "filtered", the events it
#     received and left out.
# Phases:
#   protocol  protocol icmp: ping, UDP and TCP; only ICMP. Attached in the
#             kernel as a socket filter: nfflowd never receives the UDP and
#             TCP events, so its event counters count the ICMP connection
#             only and "filtered" stays 0.
#   port      port 5353: UDP to 5353 and UDP from source port 5353 match;
#             UDP to another port, TCP and an ICMP echo whose identifier is
#             5353 (ICMP has no ports) do not.
#   address   the same mix three times: client -> server (NATed to
#             203.0.113.1), router -> server, server -> client (routed, no
#             NAT), each UDP and ICMP:
#               original_address 10.77.1.2/32 (orig.src or orig.dst),
#               translated_address 203.0.113.1 (reply tuple only),
#               address 203.0.113.1/32 and protocol udp (either tuple, and
#               both keys: user space and kernel together).
#   zone      zone 5: the router puts client UDP to 5353 into conntrack zone
#             5 (nft, before connection tracking).
#   mark      mark 0x10/0xf0: TCP to 8080 marked 0x10 from its first packet
#             (forward chain, before the NEW event, which carries it), the
#             HTTP download marked 0x13 only once established (its NEW event
#             has no mark, its DESTROY has), UDP marked 0x20, ICMP unmarked.
#             Attached in the kernel too: the download's NEW event is
#             dropped there, and it must still be exported from its DESTROY.
#   nat_only  nat_only yes: the client's NATed connections, not the
#             server -> client ones nor the router's own.
#   self      the collector in the server namespace (203.0.113.2), so that
#             nfflowd's export datagrams are a connection of the router;
#             it is ended with the rest: by default no record of it, with
#             export_self yes its record too. A client's own UDP to the
#             collector's address and port is not nfflowd's traffic and is
#             exported either way.
# Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=filters
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OTHER_UDP_PORT=7777    # server: a second UDP echo, on a port no filter names
PORT_BASE=9960         # each phase's collector port: PORT_BASE + n
CONF=""                # the running nfflowd's configuration file
PHASE=""               # name of the current phase
PORT=$PORT_BASE        # its collector port
PHASE_FAILURES=0       # LAB_FAILURES when the phase began

lab_require curl
lab_require_nfflowd
lab_up
lab_servers_start
lab_udp_echo udp-echo-other "$LAB_SRV" "$LAB_SERVER_IP" "$OTHER_UDP_PORT"
lab_udp_echo cli-udp-echo "$LAB_CLI" "$LAB_CLIENT_IP" "$LAB_CLIENT_PORT"
if ! lab_wait_for 10 "the second UDP echo" lab_listening "$LAB_SRV" udp "$OTHER_UDP_PORT" ||
	! lab_wait_for 10 "the client's UDP echo" lab_listening "$LAB_CLI" udp "$LAB_CLIENT_PORT"; then
	lab_die "UDP echo servers did not start"
fi
lab_direct_route 4 # server -> client without NAT
lab_ct_flush_all >/dev/null

# ---------------------------------------------------------------------------
# Traffic, in parallel where it can be: each call in the background, then
# traffic_wait.

TRAFFIC_PIDS=()
traffic() {
	"$@" &
	TRAFFIC_PIDS+=("$!")
}
traffic_wait() {
	local pid bad=0
	for pid in "${TRAFFIC_PIDS[@]}"; do
		wait "$pid" || bad=1
	done
	TRAFFIC_PIDS=()
	[ "$bad" -eq 0 ] || lab_die "traffic failed (above)"
}

# ---------------------------------------------------------------------------
# nfflowd

# write_conf FILE SOURCE COLLECTOR PORT [FILTER-LINE...]: the lab's
# configuration (lab_nfflowd_conf) with these addresses and a <filter>
# block of the lines.
write_conf() {
	local file=$1 src=$2 coll=$3 port=$4 line lines=()
	shift 4
	if [ "$#" -gt 0 ]; then
		lines=("<filter>")
		for line in "$@"; do lines+=("    $line"); done
		lines+=("</filter>")
	fi
	LAB_EXPORT_SOURCE=$src LAB_EXPORT_COLLECTOR=$coll lab_nfflowd_conf "$file" "$port" "${lines[@]}"
}

# stats: the running nfflowd's counters (nfflowd check), also kept in
# $LAB_TMP/$PHASE-stats.txt.
stats() {
	lab_nfflowd_check "$CONF" >"$LAB_TMP/$PHASE-stats.txt"
	cat "$LAB_TMP/$PHASE-stats.txt"
}
stat_of() { lab_stat_value "$1" "$2" <"$LAB_TMP/$PHASE-stats.txt"; } # PREFIX KEY, last stats

# wait_counts EXPORTED FILTERED [NEW]: until nfflowd has exported EXPORTED
# connections, left out FILTERED events (and received NEW NEW events), for
# at most 3 s of the wall clock (nfflowd check takes a while); then
# $LAB_TMP/$PHASE-stats.txt holds its counters.
wait_counts() {
	local deadline=$((SECONDS + 3))
	while :; do
		stats >/dev/null
		if [ "$(stat_of "connections:" exported)" = "$1" ] &&
			[ "$(stat_of "netlink:" filtered)" = "$2" ] &&
			{ [ -z "${3:-}" ] || [ "$(stat_of "events:" new)" = "$3" ]; }; then
			return 0
		fi
		[ "$SECONDS" -le "$deadline" ] || break
		sleep 0.1
	done
	lab_warn "$PHASE: nfflowd did not reach exported $1, filtered $2${3:+, new $3} (see its counters below)"
}

# ---------------------------------------------------------------------------
# Phases

# phase_begin NAME WHAT [NS ADDRESS]: a new collector port, nfcapd on it (in
# the router on 127.0.0.1, or in NS on ADDRESS), an empty connection table,
# the kernel's listeners.
phase_begin() {
	PHASE=$1
	PORT=$((PORT + 1))
	PHASE_FAILURES=$LAB_FAILURES
	lab_log "---- $PHASE: $2 (at ${SECONDS}s)"
	if [ -n "${3:-}" ]; then
		lab_nfcapd_start_in "$3" "$4" "$PORT"
	else
		lab_nfcapd_start "$PORT"
	fi
	lab_ct_flush_all >/dev/null
	lab_ct_start
}

# start_nfflowd: nfflowd with $CONF, started with an empty connection table
# (lab_bg empties nfflowd.out and .err first: no "ready" of the previous
# phase's nfflowd is left in them).
start_nfflowd() {
	lab_nfflowd_start_conf "$CONF"
	grep -q "ready: 0 connections open at start" "$LAB_TMP/nfflowd.err" ||
		lab_fail "$PHASE: nfflowd did not start with an empty connection table: $(grep ready "$LAB_TMP/nfflowd.err")"
}

# phase_nfflowd [FILTER-LINE...]: a fresh nfflowd exporting to 127.0.0.1.
phase_nfflowd() {
	CONF=$LAB_TMP/$PHASE.conf
	write_conf "$CONF" 127.0.0.1 127.0.0.1 "$PORT" "$@"
	start_nfflowd
}

# phase_end_connections N: end every connection (N expected) and wait for
# the kernel's DESTROY events.
phase_end_connections() {
	local n
	sleep 0.5 # the last ACKs and FINs
	n=$(lab_ct_flush_all)
	[ "$n" -eq "$1" ] || lab_fail "$PHASE: conntrack -D ended $n connections, expected $1"
	lab_ct_wait destroy "$1" || true
}

# phase_stop: nfflowd, nfcapd and the listeners; keep nfflowd's output.
phase_stop() {
	lab_nfflowd_stop TERM "$PHASE: nfflowd"
	lab_nfcapd_stop "$PORT"
	lab_ct_stop
	cp "$LAB_TMP/nfflowd.out" "$LAB_TMP/$PHASE-nfflowd.out"
	cp "$LAB_TMP/nfflowd.err" "$LAB_TMP/$PHASE-nfflowd.err"
	cp "$LAB_TMP/ct-txt.out" "$LAB_TMP/$PHASE-ct-txt.out"
}

# phase_verify MATCH NMATCH NOTHER NEW FILTERED [KERNEL]: MATCH is an awk
# condition on the kernel's DESTROYs, lab_ct_events v5 lines plus 17 mark and
# 18 zone:
#   1 id 2 proto 3 osrc 4 osport 5 odst 6 odport 7 rsrc 8 rsport 9 rdst
#   10 rdport 11 opkts 12 obytes 13 rpkts 14 rbytes 15 start_ms 16 stop_ms
# NMATCH connections must match it and NOTHER not; the collector and the CSV
# copy must hold exactly the matching ones' triplets; nfflowd must have
# exported NMATCH connections from NMATCH DESTROY and NEW NEW events, and
# left out FILTERED events. With KERNEL (a kernel socket filter must be
# attached), its netlink socket must have received those events and nothing
# else.
phase_verify() {
	local match=$1 nmatch=$2 nother=$3 new=$4 filtered=$5 kernel=${6:-} t=$LAB_TMP/$PHASE n
	lab_ct_events marks >"$t-marks.txt"
	lab_ct_events v5 | awk 'FILENAME == ARGV[1] { if ($1 == "destroy") { m[$2] = $3; z[$2] = $4 } next }
		{ print $0, ($1 in m) ? m[$1] : "?", ($1 in z) ? z[$1] : "?" }' "$t-marks.txt" - >"$t-destroys.txt"
	awk "$match" "$t-destroys.txt" >"$t-match.txt"
	awk "!($match)" "$t-destroys.txt" >"$t-other.txt"
	n=$(wc -l <"$t-match.txt")
	[ "$n" -eq "$nmatch" ] || lab_fail "$PHASE: $n of the kernel's connections match the filter, planned $nmatch"
	n=$(wc -l <"$t-other.txt")
	[ "$n" -eq "$nother" ] || lab_fail "$PHASE: $n of the kernel's connections do not match the filter, planned $nother"
	n=$(awk '$11 == 0 || $15 == "-" || $16 == "-"' "$t-destroys.txt")
	[ -z "$n" ] || lab_fail "$PHASE: DESTROYs without packets or timestamps:"$'\n'"$n"

	lab_expected_triplets ct <"$t-match.txt" >"$t-expected.txt"
	lab_nfdump_flows "$PORT" >"$t-collector.txt"
	lab_csv_flows "$t-nfflowd.out" >"$t-csv.txt"
	lab_nfcapd_check "$PORT" "$(wc -l <"$t-expected.txt")"
	lab_compare "$t-expected.txt" "$t-collector.txt" "$PHASE: collector (nfcapd) vs matching connections" ||
		lab_fail "$PHASE: the collector's records are not exactly the matching connections' (above)"
	lab_compare "$t-expected.txt" "$t-csv.txt" "$PHASE: nfflowd CSV copy vs matching connections" ||
		lab_fail "$PHASE: nfflowd's CSV lines are not exactly the matching connections' (above)"

	local got want
	got="exported $(stat_of "connections:" exported), events new $(stat_of "events:" new)"
	got="$got destroy $(stat_of "events:" destroy), filtered $(stat_of "netlink:" filtered)"
	got="$got, overruns $(stat_of "netlink:" overruns), parse-errors $(stat_of "netlink:" parse-errors)"
	want="exported $nmatch, events new $new destroy $nmatch, filtered $filtered, overruns 0, parse-errors 0"
	lab_log "$PHASE: nfflowd: $got (netlink datagrams received: $(stat_of "netlink:" datagrams))"
	[ "$got" = "$want" ] || lab_fail "$PHASE: nfflowd counted $got; expected $want"
	if [ -n "$kernel" ]; then
		! grep -q "cannot filter events in the kernel" "$t-nfflowd.err" ||
			lab_fail "$PHASE: nfflowd could not attach its kernel filter: $(grep "cannot filter" "$t-nfflowd.err")"
		n=$(stat_of "netlink:" datagrams)
		[ "$n" = $((new + nmatch + filtered)) ] ||
			lab_fail "$PHASE: nfflowd received $n netlink datagrams, expected only the $((new + nmatch + filtered)) events above (kernel filter)"
	fi

	if [ "$LAB_FAILURES" -ne "$PHASE_FAILURES" ]; then
		lab_show "$t-destroys.txt" "$PHASE: kernel DESTROYs (id proto osrc osport odst odport rsrc rsport rdst rdport opkts obytes rpkts rbytes start_ms stop_ms mark zone):"
		lab_show "$t-expected.txt" "$PHASE: expected records:"
		lab_show "$t-collector.txt" "$PHASE: collector records:"
		lab_show "$t-stats.txt" "$PHASE: nfflowd check:"
		lab_show "$t-nfflowd.err" "$PHASE: nfflowd stderr:"
	fi
}

C=$LAB_CLIENT_IP
S=$LAB_SERVER_IP
W=$LAB_ROUTER_WAN_IP
U=$LAB_UDP_ECHO_PORT # 5353

# ---- protocol -------------------------------------------------------------
phase_begin protocol "protocol icmp: ping, UDP and TCP; only ICMP (kernel filter)"
phase_nfflowd "protocol icmp"
traffic lab_ping_from "$LAB_CLI" "$S" 3
traffic lab_udp_send "$LAB_CLI" "$S" "$U" proto-udp
traffic lab_tcp_upload 100000
traffic_wait
phase_end_connections 3
# The kernel drops the UDP and TCP events before they are queued to nfflowd:
# it receives the ICMP connection's NEW and DESTROY only, and filters none.
wait_counts 1 0
phase_stop
# shellcheck disable=SC2016 # an awk condition
phase_verify '$2 == 1' 1 2 1 0 kernel

# ---- port -----------------------------------------------------------------
phase_begin port "port $U: source or destination port, either tuple"
phase_nfflowd "port $U"
traffic lab_udp_send "$LAB_CLI" "$S" "$U" port-dst
traffic lab_udp_send "$LAB_CLI" "$S" "$OTHER_UDP_PORT" port-src "$U"
traffic lab_udp_send "$LAB_CLI" "$S" "$OTHER_UDP_PORT" port-none
traffic lab_tcp_upload 100000
traffic lab_ping_from "$LAB_CLI" "$S" 2 "$U"
traffic_wait
phase_end_connections 5
wait_counts 2 6
phase_stop
grep -q "type=8 code=0 id=$U .*type=0 code=0 id=$U " "$LAB_TMP/port-ct-txt.out" ||
	lab_fail "port: the kernel shows no ICMP echo with identifier $U (ping -e): the ICMP case is not tested"
phase_verify "\$2 != 1 && (\$4 == $U || \$6 == $U || \$8 == $U || \$10 == $U)" 2 3 2 6

# ---- address --------------------------------------------------------------
# Six connections, UDP and ICMP each: client -> server (orig C -> S, reply
# S -> W), router -> server (W -> S, S -> W), server -> client (S -> C,
# C -> S).
address_mix() {
	traffic lab_udp_send "$LAB_CLI" "$S" "$U" "$1-cli"
	traffic lab_ping_from "$LAB_CLI" "$S" 2
	traffic lab_udp_send "$LAB_RTR" "$S" "$U" "$1-rtr"
	traffic lab_ping_from "$LAB_RTR" "$S" 2
	traffic lab_udp_send "$LAB_SRV" "$C" "$LAB_CLIENT_PORT" "$1-srv"
	traffic lab_ping_from "$LAB_SRV" "$C" 2
	traffic_wait
	phase_end_connections 6
}

phase_begin original_address "original_address $C/32: client -> server and server -> client, not router -> server"
phase_nfflowd "original_address $C/32"
address_mix orig
wait_counts 4 4
phase_stop
phase_verify "\$3 == \"$C\" || \$5 == \"$C\"" 4 2 4 4

phase_begin translated_address "translated_address $W: client -> server (NATed) and router -> server, not server -> client"
phase_nfflowd "translated_address $W"
address_mix xlat
wait_counts 4 4
phase_stop
phase_verify "\$7 == \"$W\" || \$9 == \"$W\"" 4 2 4 4

phase_begin address_udp "address $W/32 and protocol udp: UDP client -> server ($W in the reply only) and router -> server"
phase_nfflowd "address $W/32" "protocol udp"
address_mix any
# ICMP is left out in the kernel, the UDP server -> client by nfflowd.
wait_counts 2 2
phase_stop
phase_verify "\$2 == 17 && (\$3 == \"$W\" || \$5 == \"$W\" || \$7 == \"$W\" || \$9 == \"$W\")" 2 4 2 2 kernel

# ---- zone -----------------------------------------------------------------
phase_begin zone "zone 5: client UDP to $U in conntrack zone 5"
lab_udp_zone lab_zone "$U" 5
phase_nfflowd "zone 5"
traffic lab_udp_send "$LAB_CLI" "$S" "$U" zone-a
traffic lab_udp_send "$LAB_CLI" "$S" "$U" zone-b
traffic lab_udp_send "$LAB_CLI" "$S" "$OTHER_UDP_PORT" zone-none
traffic lab_ping_from "$LAB_CLI" "$S" 2
traffic lab_tcp_upload 100000
traffic_wait
phase_end_connections 5
wait_counts 2 6
phase_stop
ip netns exec "$LAB_RTR" nft delete table ip lab_zone
# shellcheck disable=SC2016 # an awk condition
phase_verify '$18 == 5' 2 3 2 6
zoned=$(awk '$18 == 5 { print $2 "/" $6 }' "$LAB_TMP/zone-destroys.txt" | sort | tr '\n' ' ')
[ "$zoned" = "17/$U 17/$U " ] || lab_fail "zone: the kernel's zone-5 connections are '$zoned', expected two UDP to $U"

# ---- mark -----------------------------------------------------------------
phase_begin mark "mark 0x10/0xf0: TCP marked 0x10 at once, HTTP marked 0x13 once established (kernel filter)"
# A third listener shows the mark each NEW event carries.
lab_bg ct-new "$LAB_RTR" conntrack -E -e NEW -o extended,id
# shellcheck disable=SC2317 # called through lab_wait_for
ct_new_subscribed() {
	lab_ct_probe >/dev/null 2>&1 && grep -q "NEW.* src=$LAB_PROBE_SRC " "$LAB_TMP/ct-new.out"
}
lab_wait_for 5 "the NEW listener" ct_new_subscribed || lab_die "conntrack -E -e NEW did not subscribe"
ip netns exec "$LAB_RTR" nft -f - <<-EOF
	table ip lab_mark {
		chain marks {
			type filter hook forward priority filter; policy accept;
			tcp dport $LAB_TCP_SINK_PORT ct mark set 0x10
			tcp dport $LAB_HTTP_PORT ct state established ct mark set 0x13
			udp dport $U ct mark set 0x20
		}
	}
EOF
phase_nfflowd "mark 0x10/0xf0"
traffic lab_tcp_upload 100000
traffic lab_http_download 300k.bin
traffic lab_udp_send "$LAB_CLI" "$S" "$U" mark-udp
traffic lab_ping_from "$LAB_CLI" "$S" 2
traffic_wait
phase_end_connections 4
# nfflowd receives the NEW event of the TCP upload (marked at its first
# packet, before the event) but not the HTTP download's (marked later), and
# both DESTROYs.
wait_counts 2 0
phase_stop
lab_stop ct-new 5
ip netns exec "$LAB_RTR" nft delete table ip lab_mark
# The marks the kernel put in the NEW events, by destination port.
lab_ct_events marks "$LAB_TMP/ct-new.out" >"$LAB_TMP/mark-new-marks.txt"
# shellcheck disable=SC2016 # an awk condition
phase_verify '$2 == 6 && int($17 / 16) % 16 == 1' 2 2 1 0 kernel
new_marks=$(awk 'FILENAME == ARGV[1] { if ($1 == "new") m[$2] = $3; next }
	{ print $6 ":" (($1 in m) ? m[$1] : "?") "/" $17 }' "$LAB_TMP/mark-new-marks.txt" "$LAB_TMP/mark-destroys.txt" |
	sort -n | tr '\n' ' ' | sed 's/ $//')
lab_log "mark: dport:mark-in-NEW/mark-in-DESTROY: $new_marks"
[ "$new_marks" = "2048:0/0 $U:32/32 $LAB_HTTP_PORT:0/19 $LAB_TCP_SINK_PORT:16/16" ] ||
	lab_fail "mark: the kernel's marks (dport:NEW/DESTROY) are '$new_marks', expected the HTTP download unmarked at NEW"

# ---- nat_only -------------------------------------------------------------
phase_begin nat_only "nat_only yes: client -> server (NATed), not server -> client or router -> server"
phase_nfflowd "nat_only yes"
traffic lab_udp_send "$LAB_CLI" "$S" "$U" nat-cli
traffic lab_ping_from "$LAB_CLI" "$S" 2
traffic lab_udp_send "$LAB_SRV" "$C" "$LAB_CLIENT_PORT" nat-srv
traffic lab_ping_from "$LAB_SRV" "$C" 2
traffic lab_ping_from "$LAB_RTR" "$S" 2
traffic_wait
phase_end_connections 5
wait_counts 2 6
phase_stop
# shellcheck disable=SC2016 # an awk condition
phase_verify '$9 != $3 || ($2 != 1 && $10 != $4)' 2 3 2 6

# ---- self -----------------------------------------------------------------
# The collector on the server: nfflowd's datagrams 203.0.113.1 -> 203.0.113.2
# are a UDP connection of the router. Client connections end first; once
# their records went out, the export connection is ended too. One of the
# client's connections goes to the collector's address and port as well (as
# another exporter behind the NAT would): after NAT it differs from nfflowd's
# own only by its original source, and it is not nfflowd's traffic, so it
# is exported in both cases. The server drops it, so that nfcapd never sees
# it.
OTHER_EXPORTER_SPORT=40999
ip netns exec "$LAB_SRV" nft -f - <<-EOF
	table ip lab_drop {
		chain input {
			type filter hook input priority filter; policy accept;
			udp sport $OTHER_EXPORTER_SPORT drop
		}
	}
EOF

self_phase() { # default|yes: export_self
	local opt=() n
	[ "$1" = default ] || opt=("export_self $1")
	phase_begin "self_$1" "collector on $S: export_self ${1/default/no (default)}" "$LAB_SRV" "$S"
	CONF=$LAB_TMP/$PHASE.conf
	write_conf "$CONF" "$W" "$S" "$PORT" "${opt[@]}"
	start_nfflowd
	traffic lab_udp_send "$LAB_CLI" "$S" "$U" "self-$1"
	traffic lab_ping_from "$LAB_CLI" "$S" 2
	traffic_wait
	printf 'not-netflow' | ip netns exec "$LAB_CLI" timeout 5 \
		socat -u - "UDP4-SENDTO:$S:$PORT,sourceport=$OTHER_EXPORTER_SPORT" ||
		lab_die "UDP from the client to $S:$PORT failed"
	sleep 0.3
	n=$(lab_ct_delete -s "$C")
	[ "$n" -eq 3 ] || lab_fail "$PHASE: conntrack -D ended $n client connections, expected 3"
	lab_ct_wait destroy 3 || true
	# shellcheck disable=SC2317 # called through lab_wait_for
	export_flow() {
		[ -n "$(ip netns exec "$LAB_RTR" conntrack -L -p udp -s "$W" -d "$S" --dport "$PORT" 2>/dev/null)" ]
	}
	lab_wait_for 5 "the export datagrams' connection" export_flow ||
		lab_fail "$PHASE: no connection of nfflowd's datagrams to $S:$PORT in the router"
	sleep 0.4 # more than flush_interval: every client record has left
	n=$(lab_ct_delete -p udp -s "$W" -d "$S" --dport "$PORT")
	[ "$n" -eq 1 ] || lab_fail "$PHASE: conntrack -D ended $n export connections, expected 1"
	lab_ct_wait destroy 4 || true
	if [ "$1" = yes ]; then
		# Its record is sent in a new datagram, which is a new connection:
		# nfflowd receives its NEW event.
		wait_counts 4 0 5
	else
		wait_counts 3 2 # the export connection's NEW and DESTROY
	fi
	phase_stop
	lab_ct_flush_all >/dev/null
	local own="\$2 == 17 && \$3 == \"$W\" && \$5 == \"$S\" && \$6 == $PORT"
	if [ "$1" = yes ]; then
		phase_verify 1 4 0 5 0
	else
		phase_verify "!($own)" 3 1 3 2
	fi
	local t=$LAB_TMP/$PHASE own_sport
	n=$(awk "$own && \$11 > 0" "$t-destroys.txt" | wc -l)
	[ "$n" -eq 1 ] || lab_fail "$PHASE: the kernel reported $n DESTROYs of the export connection with packets, expected 1"
	own_sport=$(awk "$own { print \$4; exit }" "$t-destroys.txt")
	n=$(awk -v w="$W" -v sp="$own_sport" -v s="$S" -v p="$PORT" \
		'$1 == 17 && $2 == w && $3 == sp && $4 == s && $5 == p' "$t-collector.txt" | wc -l)
	if [ "$1" = yes ]; then
		[ "$n" -eq 1 ] || lab_fail "$PHASE: $n records of the export connection at the collector, expected 1"
	else
		[ "$n" -eq 0 ] || lab_fail "$PHASE: $n records of the export connection at the collector, expected none"
	fi
	n=$(awk -v c="$C" -v sp="$OTHER_EXPORTER_SPORT" -v p="$PORT" \
		'$1 == 17 && $2 == c && $3 == sp && $5 == p' "$t-collector.txt" | wc -l)
	[ "$n" -eq 1 ] || lab_fail "$PHASE: the client's connection to the collector ($C:$OTHER_EXPORTER_SPORT -> $S:$PORT, not nfflowd's own traffic) has $n records at the collector, expected 1"
}
self_phase default
self_phase yes

lab_log "all phases done in ${SECONDS}s"
lab_finish
