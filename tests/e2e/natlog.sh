#!/usr/bin/env bash
# End-to-end, the NAT log (<natlog>) and the abuse desk's lookup: nfflowd in
# the router of the basic lab (masquerade) writes its NAT log (JSON Lines)
# and exports IPFIX to nfcapd, running as nobody.
#
#   lookup     two private hosts (10.77.1.2, and 10.77.1.3 added to the
#              client) use the same private source port one after the
#              other, so masquerade gives both the same public address and
#              port at different moments; TCP uploads and UDP exchanges
#              around them
#   rotation   while a background loop makes and ends connections, the NAT
#              log is renamed (as logrotate does) and "nfflowd reload" is
#              run as root: the new file is created 0640
#   exact      the lines of both files together are exactly the lines made
#              from the kernel's DESTROY events (conntrack -E): tuples,
#              translated tuples, counters, start and end in ms; no line
#              lost, none twice; the probe entries (no NAT) left out
#   answer     for one moment inside each of the two connections that
#              shared a public address:port, the commands nfflowd(8)
#              documents under "Finding the host behind a public address"
#              (nfdump on the collector's files, jq and grep on the NAT
#              log) give exactly that connection's private host and port
#
# Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=natlog
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT=$LAB_COLLECTOR_PORT
CLIENT2=10.77.1.3
SHARED_SPORT=40001
ROT_BASE=41000
ROT_N=15

lab_require jq
lab_require_nfflowd
umask 022
lab_up
ip -n "$LAB_CLI" addr add "$CLIENT2/24" dev eth0
LOGS=$LAB_TMP/logs
NATLOG=$LOGS/nat.log
CONF=$LAB_TMP/nfflowd.conf
mkdir -m 0755 "$LOGS"

{
	lab_collector ipfix 10 "$PORT"
	printf '<natlog>\n    file %s\n</natlog>\n' "$NATLOG"
	lab_nfflowd_conf_common
} >"$CONF"

lab_servers_start
lab_nfcapd_start "$PORT"
lab_ct_start
lab_nfflowd_start_conf "$CONF"
[ "$(stat -c '%a %U' "$NATLOG")" = "640 root" ] ||
	lab_fail "NAT log $NATLOG: $(stat -c '%a %U' "$NATLOG"), expected 640 root"

# udp_from SRC SPORT [SECONDS]: a UDP exchange from SRC:SPORT, the
# connection kept SECONDS (default 0) before conntrack -D ends it.
udp_from() {
	lab_udp_from "$1" "$2"
	sleep "${3:-0}"
	[ "$(lab_ct_delete -p udp -s "$1" --sport "$2")" -eq 1 ] ||
		lab_die "conntrack -D did not end $1:$2"
}

# iso: Unix ms (a string) to UTC ISO 8601 with milliseconds, in jq.
# shellcheck disable=SC2016 # jq's variables
ISO='def iso: tonumber as $m
	| (($m / 1000 | floor | todate) | sub("Z$"; "")) + "."
	  + ("00" + ($m % 1000 | tostring) | .[-3:]) + "Z";'

# ---- lookup phase ----------------------------------------------------------
lab_log "two private hosts share $LAB_ROUTER_WAN_IP:$SHARED_SPORT one after the other"
lab_tcp_upload 100000
udp_from "$LAB_CLIENT_IP" "$SHARED_SPORT" 1
udp_from "$CLIENT2" "$SHARED_SPORT" 1
lab_tcp_upload 20000
lab_udp_exchange one 42001
ended=$(lab_ct_flush_client)
[ "$ended" -eq 3 ] || lab_fail "conntrack -D ended $ended client connections, expected 3"

# ---- rotation under load -----------------------------------------------------
lab_log "rotation: rename the NAT log and reload (as root) while connections end"
(
	for ((i = 0; i < ROT_N; i++)); do
		udp_from "$LAB_CLIENT_IP" "$((ROT_BASE + i))"
		sleep 0.05
	done
) &
loop=$!
# shellcheck disable=SC2317 # called through lab_wait_for
log_has_lines() { [ "$(wc -l <"$NATLOG")" -ge "$1" ]; }
lab_wait_for 10 "the first connections of the loop in the NAT log" log_has_lines 8 ||
	lab_fail "the NAT log does not hold the loop's first connections"
mv "$NATLOG" "$NATLOG.1"
lab_nfflowd_cmd reload -c "$CONF" reload
[ "$LAB_RC" -eq 0 ] || lab_fail "reload after rotation: status $LAB_RC: $(cat "$LAB_TMP/reload.err")"
wait "$loop" || lab_fail "the background connections failed"
[ -f "$NATLOG" ] || lab_fail "reload did not create a new $NATLOG"
[ ! -f "$NATLOG" ] || [ "$(stat -c '%a %U' "$NATLOG")" = "640 root" ] ||
	lab_fail "new NAT log: $(stat -c '%a %U' "$NATLOG"), expected 640 root"

TOTAL=$((5 + ROT_N))
lab_ct_wait destroy "$TOTAL" || true
sleep 0.5 # > flush_interval
# shellcheck disable=SC2119
lab_nfflowd_stop
lab_ct_stop
lab_nfcapd_stop "$PORT"

# ---- exact: the NAT log against the kernel's DESTROYs ------------------------
lab_ct_events v5 | jq -R -c "$ISO"'
	def pname: {"6": "tcp", "17": "udp", "1": "icmp"}[.] // .;
	split(" ")
	| {event: "end", start: (.[14] | iso), end: (.[15] | iso), proto: (.[1] | pname),
	   src: .[2], sport: (.[3] | tonumber), dst: .[4], dport: (.[5] | tonumber),
	   xsrc: .[8], xsport: (.[9] | tonumber), xdst: .[6], xdport: (.[7] | tonumber),
	   packets: (.[10] | tonumber), bytes: (.[11] | tonumber),
	   rpackets: (.[12] | tonumber), rbytes: (.[13] | tonumber), zone: 0}' |
	sort >"$LAB_TMP/natlog.want"
cat "$NATLOG.1" "$NATLOG" | sort >"$LAB_TMP/natlog.got"
want=$(wc -l <"$LAB_TMP/natlog.want")
[ "$want" -eq "$TOTAL" ] || lab_fail "the kernel reported $want DESTROYs, expected $TOTAL"
if ! diff "$LAB_TMP/natlog.want" "$LAB_TMP/natlog.got" >"$LAB_TMP/natlog.diff"; then
	lab_fail "NAT log lines differ from the kernel's DESTROYs (< kernel, > NAT log):"
	sed 's/^/    /' "$LAB_TMP/natlog.diff" >&2
fi
[ "$(sort -u "$LAB_TMP/natlog.got" | wc -l)" -eq "$(wc -l <"$LAB_TMP/natlog.got")" ] ||
	lab_fail "a line is in the NAT log twice"
old=$(wc -l <"$NATLOG.1")
new=$(wc -l <"$NATLOG")
lab_log "NAT log: $old lines before the rotation, $new after, $want DESTROYs"
if [ "$old" -lt 8 ] || [ "$new" -lt 1 ]; then
	lab_fail "rotation: $old lines in the old file, $new in the new one"
fi
! grep "copy natlog:.* dropped [1-9]" "$LAB_TMP/nfflowd.err" || lab_fail "the NAT log dropped lines"

# ---- answer: the documented lookup ---------------------------------------------
# The two connections that shared the public address:port, by the kernel.
lab_ct_events v5 | awk -v p="$SHARED_SPORT" '$4 == p' >"$LAB_TMP/shared"
[ "$(wc -l <"$LAB_TMP/shared")" -eq 2 ] || lab_fail "the kernel did not report 2 connections from port $SHARED_SPORT"
while read -r _ _ osrc osport _ _ _ _ rdst rdport _ _ _ _ start stop; do
	[ "$rdst:$rdport" = "$LAB_ROUTER_WAN_IP:$SHARED_SPORT" ] ||
		lab_warn "$osrc:$osport was translated to $rdst:$rdport, not $LAB_ROUTER_WAN_IP:$SHARED_SPORT"
	moment_ms=$(((start + stop) / 2))
	moment_iso=$(jq -n -r --arg m "$moment_ms" "$ISO"' $m | iso')
	moment_nfdump="${moment_iso%Z}"
	moment_nfdump="${moment_nfdump/T/ }"
	lab_log "who was $rdst:$rdport at $moment_iso? the kernel: $osrc:$osport"

	# nfdump, as nfflowd(8) documents it.
	TZ=UTC nfdump -R "$(lab_nfcapd_dir "$PORT")" -q -N -o 'fmt:%ts %te %sa %sp' \
		"src xip $rdst and src xport $rdport" >"$LAB_TMP/nfdump.$osrc"
	got=$(awk -v t="$moment_nfdump" '{ s = $1 " " $2; e = $3 " " $4 } s <= t && t <= e { print $5, $6 }' \
		"$LAB_TMP/nfdump.$osrc")
	[ "$got" = "$osrc $osport" ] || {
		lab_fail "nfdump lookup of $rdst:$rdport at $moment_nfdump gave '$got', expected '$osrc $osport'; nfdump printed:"
		sed 's/^/    /' "$LAB_TMP/nfdump.$osrc" >&2
	}

	# jq on the NAT log, as nfflowd(8) documents it.
	got=$(cat "$NATLOG.1" "$NATLOG" | jq -r --arg a "$rdst" --argjson p "$rdport" --arg t "$moment_iso" \
		'select(.xsrc == $a and .xsport == $p and .start <= $t and .end >= $t) | "\(.src) \(.sport)"')
	[ "$got" = "$osrc $osport" ] ||
		lab_fail "jq lookup of $rdst:$rdport at $moment_iso gave '$got', expected '$osrc $osport'"

	# grep, as nfflowd(8) documents it: the lines of that public
	# address:port; the one whose start and end enclose the moment.
	got=$(cat "$NATLOG.1" "$NATLOG" | grep -F "\"xsrc\":\"$rdst\",\"xsport\":$rdport," |
		awk -v t="\"start\":\"$moment_iso\"" -F, '{ s = $2; e = $3; sub(/"end"/, "\"start\"", e) } s <= t && t <= e' |
		grep -c -F "\"src\":\"$osrc\",\"sport\":$osport,")
	[ "$got" -eq 1 ] || lab_fail "grep found $got lines of $osrc:$osport as $rdst:$rdport at $moment_iso, expected 1"
done <"$LAB_TMP/shared"

lab_finish
