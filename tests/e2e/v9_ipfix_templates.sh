#!/usr/bin/env bash
# End-to-end, IPFIX templates over UDP: periodic refresh and a collector
# that goes away and comes back. nfflowd exports IPFIX to nfcapd with
# template_refresh 2 and template_refresh_packets 0 (by time only) and
# nat_events no (one record, one message per connection here); tshark
# captures the stream. Three phases of UDP request/replies through the NAT
# router, each connection ended at once with conntrack -D:
#   up      about 6 s of exchanges: every message carries the templates
#           exactly when 2 s or more have passed since the last ones (the
#           first message always), so they are re-sent about every 2 s;
#   down    nfcapd stopped (its port answers ICMP port unreachable): a few
#           more connections; nfflowd must count send errors and hold the
#           records, probing once a second with a message of templates only
#           (carrying the sequence number of the oldest message held);
#   back    nfcapd started again on the same port: the first message after
#           it came back carries the templates (the probe), and nfcapd
#           decodes every record of the down and back phases, equal to the
#           kernel's connections: nothing is lost. Since the collector
#           stopped, messages carry templates before the 2 s timer was due.
# Also: tshark finds nothing malformed, holds every connection's record
# exactly once (none dropped, none duplicated), with IPFIX sequence numbers
# counting the data records before each message (probes included); nfflowd's
# counters equal what was captured. Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=v9_ipfix_templates
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT=$LAB_COLLECTOR_PORT
REFRESH_MS=2000
UP_SECONDS=6   # the up phase lasts this long (two refreshes and some) ...
UP_MAX=25      # ... or this many connections
DOWN=4         # connections while nfcapd is down
BACK=4         # connections after it came back
SLACK_MS=100   # capture time vs nfflowd's clock when it decides

# exchange TAG: one UDP request/reply through the router (socat waits only
# 0.3 s for the reply after sending), then end the connection and wait for
# its DESTROY.
NCONN=0
exchange() {
	local reply ended
	reply=$(printf '%s' "$1" | ip netns exec "$LAB_CLI" timeout 5 \
		socat -T 1 -t 0.3 - "UDP4:$LAB_SERVER_IP:$LAB_UDP_ECHO_PORT") || lab_die "UDP exchange $1 failed"
	[ "$reply" = "$1" ] || lab_die "UDP echo replied '$reply' instead of '$1'"
	ended=$(lab_ct_delete -f ipv4)
	[ "$ended" -eq 1 ] || lab_fail "conntrack -D ended $ended connections after exchange $1, expected 1"
	NCONN=$((NCONN + 1))
	lab_ct_wait destroy "$NCONN" || true
}

# counter NAME: one of nfflowd's counters for the collector, now.
counter() {
	lab_nfflowd_check "$LAB_TMP/nfflowd.conf" | lab_stat_value "collector 127.0.0.1:$PORT:" "$1"
}

lab_require tshark
lab_require_nfflowd
T0=$(lab_now_ms)
lab_up
lab_servers_start
lab_nfcapd_start "$PORT"
lab_tshark_start "$PORT"
lab_ct_start NEW,DESTROY
{
	echo "# nfflowd configuration for $LAB_NAME"
	lab_collector ipfix 10 "$PORT" "template_refresh $((REFRESH_MS / 1000))" \
		"template_refresh_packets 0" "nat_events no"
	cat <<-EOF
		flush_interval 0.2
		pidfile $LAB_TMP/nfflowd.pid
		control_socket $LAB_TMP/nfflowd.sock
		<ptee>
		    <conf>
		    </conf>
		</ptee>
	EOF
} >"$LAB_TMP/nfflowd.conf"
lab_nfflowd_start_conf "$LAB_TMP/nfflowd.conf"

# up
lab_log "up: UDP exchanges for ${UP_SECONDS}s, each connection ended at once"
t_end=$(($(lab_now_ms) + UP_SECONDS * 1000))
for ((i = 1; i <= UP_MAX; i++)); do
	exchange "up-$i"
	[ "$(lab_now_ms)" -lt "$t_end" ] || break
done
sleep 0.5 # the last one sent
lab_ct_events all >"$LAB_TMP/events-up.txt"
lab_nfcapd_stop "$PORT"
T_DOWN=$(lab_now_ms)
mv "$(lab_nfcapd_dir "$PORT")" "$LAB_TMP/nfcapd-up"
cp "$LAB_TMP/nfcapd-$PORT.err" "$LAB_TMP/nfcapd-up.err"
[ "$(counter send-errors)" = 0 ] || lab_fail "nfflowd counted send errors while the collector was up"

# down
lab_log "down: nfcapd stopped, $DOWN more connections"
for ((i = 1; i <= DOWN; i++)); do exchange "down-$i"; done
sleep 0.3 # > flush_interval: the last one sent
errors=$(counter send-errors)
lab_log "nfflowd counted ${errors:-?} send errors while the collector was down"
[ "${errors:-0}" -ge 1 ] || lab_fail "nfflowd counted '${errors:-}' send errors while the collector was down, expected at least 1"
lab_ct_events all >"$LAB_TMP/events-down.txt"

# back
lab_nfcapd_start "$PORT"
T_BACK=$(lab_now_ms)
lab_log "back: nfcapd listening again, $BACK more connections"
for ((i = 1; i <= BACK; i++)); do exchange "back-$i"; done
sleep 0.5
lab_ct_events all >"$LAB_TMP/events-all.txt"
stats=$(lab_nfflowd_check "$LAB_TMP/nfflowd.conf" | grep "^collector " || true)
lab_nfflowd_stop TERM
lab_nfcapd_stop "$PORT"
lab_tshark_stop "$PORT"
lab_ct_stop

# ---------------------------------------------------------------------------

E=$LAB_TMP/events
nup=$(awk '$1 == "destroy"' "$E-up.txt" | wc -l)
ndown=$(($(awk '$1 == "destroy"' "$E-down.txt" | wc -l) - nup))
nall=$(awk '$1 == "destroy"' "$E-all.txt" | wc -l)
nback=$((nall - nup - ndown))
lab_log "kernel DESTROYs: up $nup, down $ndown, back $nback"
[ "$nup" -ge 5 ] || lab_fail "only $nup connections in the up phase, expected at least 5"
[ "$ndown" -eq "$DOWN" ] || lab_fail "$ndown connections in the down phase, expected $DOWN"
[ "$nback" -eq "$BACK" ] || lab_fail "$nback connections after the collector came back, expected $BACK"
bad=$(awk '$1 == "destroy" && ($4 != 17 || $13 != 1 || $15 != 1 || $17 == "-")' "$E-all.txt")
[ -z "$bad" ] || lab_fail "unexpected kernel DESTROYs (not UDP with 1 packet each way and timestamps):"$'\n'"$bad"
awk 'FILENAME == ARGV[1] { if ($1 == "destroy") seen[$2] = 1; next } !($1 == "destroy" && ($2 in seen))' \
	"$E-up.txt" "$E-all.txt" >"$E-back.txt"

# tshark: the whole stream as the collector took it. A datagram sent while
# it was down was refused (ICMP port unreachable): the probes, and the last
# datagram before the outage was noticed, which nfflowd holds and sends
# again. The capture shows them, the collector never got them: leave out the
# frames captured from the stop until the first message after it came back.
P=$LAB_TMP/tshark
lab_tshark_nat_parse "$PORT" >"$P.all"
awk -v down="$T_DOWN" -v back="$T_BACK" '
	$1 == "M" { refused = ($3 >= down && $3 < back) }
	refused { print $2 > "/dev/stderr"; next }
	{ print }' "$P.all" >"$P.parsed" 2>"$P.refused-frames"
lab_log "frames refused while the collector was down (left out): $(sort -un "$P.refused-frames" | tr '\n' ' ')"
problems=$(lab_tshark_problems "$PORT" | awk 'FILENAME == ARGV[1] { skip[$1] = 1; next } !($1 in skip)' \
	"$P.refused-frames" -)
[ -z "$problems" ] || lab_fail "tshark: malformed packets or expert information:"$'\n'"$problems"
grep '^M ' "$P.parsed" >"$P.messages" || true
grep '^R ' "$P.parsed" | cut -d' ' -f4-22 >"$P.records" || true
lab_nat_expected tshark iana no <"$E-all.txt" >"$P.expected"
lab_nat_compare "$P.expected" "$P.records" "tshark, every message sent, vs kernel" ||
	lab_fail "the records tshark decodes differ from the kernel's connections (above)"

# Message by message: M frame captured_ms payload version sequence length
# domain sets templates data export_s.
bad=$(awk -v refresh="$REFRESH_MS" -v slack="$SLACK_MS" -v down="$T_DOWN" -v back="$T_BACK" -v tot="$P.totals" '
	{
		i = n++
		where = "  message " i " (frame " $2 ", at " $3 "): "
		if ($5 != 10) print where "version " $5
		# Messages held while the collector was down leave later than
		# their export time; the others within a second of it.
		held = ($3 >= down)
		if ($3 < $12 * 1000 || (!held && $3 - $12 * 1000 > 1100)) print where "export time " $12 " s, captured at " $3 " ms"
		if ($7 != $4) print where "length " $7 ", payload " $4 " bytes"
		if ($6 != data) print where "sequence " $6 ", expected " data " (data records before it)"
		if ($10 != 0 && $10 != 4) print where $10 " template records, expected 0 or 4"
		if ($10 > 0 && substr($9, 1, 2) != "2," && $9 != "2") print where "the template set is not first: sets " $9
		probe = ($3 >= down && $10 > 0 && $11 == 0)
		if ($11 < 1 && !probe) print where "no data record"
		data += $11
		tmpl = ($10 > 0)
		if ($3 < down) {
			# up: templates exactly when refresh ms have passed (within the slack)
			since = (i == 0) ? -1 : $3 - last
			if (i == 0 && !tmpl) print where "the first message has no templates"
			if (i > 0 && since >= refresh + slack && !tmpl) print where "no templates, " since " ms after the last ones"
			if (i > 0 && since < refresh - slack && tmpl) print where "templates again only " since " ms after the last ones"
			if (i > 0 && tmpl) { gaps = gaps " " since; nrefresh++ }
		}
		if ($3 >= down && tmpl && $3 - last < refresh - slack) {
			# templates before the timer was due: forced after a send error
			forced = forced " " i
			if ($3 > back && !seenback) fback = 1
		}
		if ($3 > back && !seenback) {
			seenback = 1
			if (!tmpl) print where "the first message after the collector came back has no templates"
			printf "first message after the collector came back (%d): templates %s, %d ms after the previous ones\n",
				i, tmpl ? "yes" : "no", $3 - last > "/dev/stderr"
		}
		if (tmpl) last = $3
	}
	END {
		printf "%d messages, %d data records; template refreshes while up: %d, after (ms):%s\n", n, data, nrefresh, gaps > "/dev/stderr"
		if (nrefresh < 2) print "  only " nrefresh + 0 " template refreshes while the collector was up, expected at least 2"
		if (!seenback) print "  no message after the collector came back"
		# Under load the first message after the collector came back may be
		# 2 s after the previous templates; then the messages sent while it
		# was down (each after a send error) show the templates forced.
		if (forced == "") print "  no message after the first send error carries templates before the timer was due"
		printf "messages with templates forced (before the timer was due) since the collector stopped:%s%s\n",
			forced, fback ? " (including the first one after it came back)" : "" > "/dev/stderr"
		print n, data > tot
	}' "$P.messages" 2>"$P.log")
sed "s/^/[$LAB_NAME] /" "$P.log" >&2
[ -z "$bad" ] || lab_fail "IPFIX messages as tshark decodes them:"$'\n'"$bad"

# nfcapd: the up phase before it stopped, everything after it came back.
# (lab_nfcapd_totals: "files flows sequence-errors bad-packets", summed over
# every file nfcapd wrote, should the run cross its 300 s file boundary)
summary=$(lab_nfcapd_totals "$LAB_TMP/nfcapd-up.err")
lab_log "nfcapd (up): files, flows, sequence errors, bad packets: ${summary:-none}"
[ "$summary" = "${summary%% *} $nup 0 0" ] ||
	lab_fail "nfcapd before it stopped: '$summary', expected $nup flows, no sequence errors, no bad packets"
lab_nat_expected nfdump-ipfix iana no <"$E-up.txt" >"$LAB_TMP/nfdump-up.expected"
lab_nfdump_nat_records "$LAB_TMP/nfcapd-up" >"$LAB_TMP/nfdump-up.records"
lab_nat_compare "$LAB_TMP/nfdump-up.expected" "$LAB_TMP/nfdump-up.records" "nfdump (up) vs kernel" ||
	lab_fail "nfcapd's records before it stopped differ from the kernel's connections (above)"
lab_nat_expected nfdump-ipfix iana no <"$E-back.txt" >"$LAB_TMP/nfdump-back.expected"
lab_nfdump_nat_records "$PORT" >"$LAB_TMP/nfdump-back.records"
lab_nat_compare "$LAB_TMP/nfdump-back.expected" "$LAB_TMP/nfdump-back.records" "nfdump (held while down, and after) vs kernel" ||
	lab_fail "nfcapd lost or changed records held while it was down or sent after it came back (above)"
summary=$(lab_nfcapd_totals "$LAB_TMP/nfcapd-$PORT.err")
lab_log "nfcapd (back): files, flows, sequence errors, bad packets: ${summary:-none}"
read -r _ flows _ bad <<<"${summary:-0 0 0 0}"
[ -n "$summary" ] && [ "$flows" -eq $((ndown + nback)) ] && [ "$bad" -eq 0 ] ||
	lab_fail "nfcapd after it came back: '$summary', expected $((ndown + nback)) flows and no bad packets"

# nfflowd's counters: what tshark captured (refused frames included: nfflowd
# sent them), the errors counted, nothing lost.
read -r ndgrams nrecs < <(awk '$1 == "M" { n++; d += $11 } END { print n + 0, d + 0 }' "$P.all")
line=$(awk -v a="127.0.0.1:$PORT:" '$2 == a' <<<"$stats")
lab_log "nfflowd: $line"
final_errors=$(awk '{ print $8 }' <<<"$line")
queued=$(awk '{ print $12 }' <<<"$line")
want="collector 127.0.0.1:$PORT: datagrams $ndgrams records $nrecs send-errors $final_errors dropped 0 queued $queued version 10 name ipfix outages 1 resent 1 waiting 0"
if [ "$line" != "$want" ] || [ "${final_errors:-0}" -lt "${errors:-1}" ] || [ "${queued:-0}" -lt 1 ]; then
	lab_fail "nfflowd's counters: '$line', expected '$want' with at least ${errors:-1} send errors and held datagrams (datagrams and records as captured)"
fi

if [ "$LAB_FAILURES" -ne 0 ]; then
	lab_show "$E-all.txt" "kernel events (event id family proto osrc osport odst odport rsrc rsport rdst rdport opkts obytes rpkts rbytes start_ms stop_ms state):"
	lab_show "$P.messages" "messages (M frame captured_ms payload version sequence length domain sets templates data); collector stopped at $T_DOWN, back at $T_BACK:"
	lab_show "$LAB_TMP/nfflowd.err" "nfflowd stderr:"
fi
lab_log "run time $(($(lab_now_ms) - T0)) ms"
lab_finish
