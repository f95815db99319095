#!/usr/bin/env bash
# End-to-end, connections that end without any DESTROY event. With the
# kernel's default net.netfilter.nf_conntrack_events=2, a connection created
# while no conntrack listener exists gets no event cache and never reports
# its end, not even after a listener subscribes. Here a TCP upload (closed,
# in TIME_WAIT with its final counters), a UDP request/reply and a ping are
# made that way; the connection table (conntrack -L) is the truth. nfflowd
# then starts (resync_interval 1), the connections are deleted with
# conntrack -D, and a conntrack -E listener started after they were created
# must see no DESTROY for them (the kernel fact this test rests on). nfflowd
# must notice by its periodic dumps that they are gone, log "3 connections
# from the start-up dump ended without an event", and export their triplets
# with the exact counters and the kernel's start times; each end time must
# lie between the deletion and the moment nfflowd logged that line (every
# connection still had far more timeout left than that).
# Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=core_v5_unseen_end
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONNECTIONS=3        # TCP upload, UDP request/reply, ICMP echo
PROTOCOLS="1 6 17"
RECORDS=9            # 3 per connection: all are NATed and all have replies
UPLOAD=300000
RESYNC=1             # resync_interval, seconds
WAIT_LOG=5           # seconds allowed for nfflowd to find them gone

R() { ip netns exec "$LAB_RTR" "$@"; }

events_sysctl() { R sysctl -n net.netfilter.nf_conntrack_events; }

# Called through lab_wait_for.
# shellcheck disable=SC2317
tcp_in_time_wait() {
	R conntrack -L -p tcp -s "$LAB_CLIENT_IP" 2>/dev/null | grep -q ' TIME_WAIT '
}
# shellcheck disable=SC2317
all_found_gone() { [ "$(lab_nfflowd_ended_unseen)" -ge "$CONNECTIONS" ]; }

no_listener() { # WHEN
	local l
	l=$(lab_ct_listeners)
	[ -z "$l" ] || lab_die "a conntrack event listener exists in the router namespace $1:"$'\n'"$l"
	# Since Linux 6.3 the kernel tracks event listeners globally: one in
	# any namespace gives every new connection an event cache.
	l=$(listeners_anywhere)
	[ -z "$l" ] || lab_skip "conntrack event listeners run elsewhere on this machine ($l); with them the kernel reports every DESTROY, and this test cannot make connections without events"
}

# Pids of processes, in any network namespace, with a socket subscribed to
# conntrack events.
listeners_anywhere() {
	local pid ns seen=" " out=""
	for pid in /proc/[0-9]*; do
		pid=${pid#/proc/}
		ns=$(readlink "/proc/$pid/ns/net" 2>/dev/null) || continue
		case "$seen" in *" $ns "*) continue ;; esac
		seen="$seen$ns "
		if nsenter -t "$pid" -n cat /proc/net/netlink 2>/dev/null |
			awk 'NR > 1 && $2 == 12 && (index("0123456789abcdef", tolower(substr($4, length($4)))) - 1) % 8 != 0 { f = 1 } END { exit !f }'; then
			out="$out netns of pid $pid"
		fi
	done
	echo "${out# }"
}

lab_require
lab_require_nfflowd
lab_up
lab_servers_start
lab_nfcapd_start "$LAB_COLLECTOR_PORT"

# ---------------------------------------------------------------------------
# Connections created with events=2 and no listener: no event cache.

R sysctl -qw net.netfilter.nf_conntrack_events=2
[ "$(events_sysctl)" = 2 ] || lab_die "cannot set nf_conntrack_events=2 in the router namespace"
no_listener "before the connections were made"

lab_log "traffic with nf_conntrack_events=2 and no listener: TCP upload $UPLOAD B, UDP request/reply, 3 ICMP echoes"
lab_tcp_upload "$UPLOAD"
lab_udp_exchange "unseen-end-query"
lab_ping 3
lab_wait_for 10 "the TCP connection to reach TIME_WAIT" tcp_in_time_wait ||
	lab_die "the TCP upload's connection is not in TIME_WAIT"
sleep 0.5 # the last ACK
no_listener "while the connections were made"
[ "$(events_sysctl)" = 2 ] || lab_die "nf_conntrack_events changed under the test"

# The truth: the connection table itself, with final counters.
TRUTH=$LAB_TMP/truth.txt
lab_ct_list >"$TRUTH"
t_list=$(lab_now_ms)
lab_show "$TRUTH" "connection table (id proto osrc osport odst odport rsrc rsport rdst rdport opkts obytes rpkts rbytes start_ms - timeout_s):" >&2
n=$(wc -l <"$TRUTH")
[ "$n" -eq "$CONNECTIONS" ] || lab_die "the connection table holds $n connections, expected $CONNECTIONS"
protos=$(awk '{ print $2 }' "$TRUTH" | sort -n | tr '\n' ' ' | sed 's/ $//')
[ "$protos" = "$PROTOCOLS" ] || lab_die "protocols in the table: '$protos', expected '$PROTOCOLS'"
bad=$(awk -v cli="$LAB_CLIENT_IP" -v wan="$LAB_ROUTER_WAN_IP" -v up="$UPLOAD" '
	$3 != cli { print "  not from the client: " $0; next }
	$9 != wan { print "  not NATed to " wan ": " $0; next }
	$11 == 0 || $13 == 0 { print "  no packets counted in one direction: " $0; next }
	$15 == "-" { print "  no start timestamp: " $0; next }
	$2 == 6 && $12 < up { print "  fewer TCP bytes than uploaded: " $0 }' "$TRUTH")
[ -z "$bad" ] || lab_die "the connection table is not as expected:"$'\n'"$bad"

# Listeners started only now, after the connections exist: they must never
# report these connections' DESTROY.
lab_ct_start

lab_nfflowd_start_with "$LAB_COLLECTOR_PORT" "resync_interval $RESYNC"
grep -Eq 'ready: 3 connections open' "$LAB_TMP/nfflowd.err" ||
	lab_log "note: nfflowd's ready line does not say '3 connections open': $(grep ready "$LAB_TMP/nfflowd.err")"
[ "$(events_sysctl)" = 1 ] || lab_fail "nfflowd did not set nf_conntrack_events=1 (it is $(events_sysctl))"
grep -q 'nf_conntrack_events=1' "$LAB_TMP/nfflowd.err" ||
	lab_fail "nfflowd did not log that it set nf_conntrack_events=1"

# Two resync dumps find all three still there: nothing may be exported yet.
sleep $((2 * RESYNC)).5
[ "$(lab_csv_flows "$LAB_TMP/nfflowd.out" | wc -l)" -eq 0 ] ||
	lab_fail "nfflowd exported records while the connections were still open:"$'\n'"$(cat "$LAB_TMP/nfflowd.out")"
[ "$(lab_nfflowd_ended_unseen)" -eq 0 ] ||
	lab_fail "nfflowd says connections ended while all were still open"

# They are idle: their counters now are the ones nfflowd's dumps have seen.
lab_ct_list >"$LAB_TMP/truth-again.txt"
same=$(awk 'FILENAME == ARGV[1] { c[$1] = $11 " " $12 " " $13 " " $14; next }
	!($1 in c) || c[$1] != $11 " " $12 " " $13 " " $14 { print "  " $0 }' "$TRUTH" "$LAB_TMP/truth-again.txt")
if [ -n "$same" ] || [ "$(wc -l <"$LAB_TMP/truth-again.txt")" -ne "$CONNECTIONS" ]; then
	lab_die "the connections were not idle; the table changed to:"$'\n'"$(cat "$LAB_TMP/truth-again.txt")"
fi

# ---------------------------------------------------------------------------
# End them. No event can tell nfflowd.

t_del=$(lab_now_ms)
ended=$(lab_ct_flush_client)
[ "$ended" -eq "$CONNECTIONS" ] ||
	lab_fail "conntrack -D ended $ended client connections, expected $CONNECTIONS"
if lab_wait_for "$WAIT_LOG" "nfflowd to find $CONNECTIONS connections gone" all_found_gone; then
	t_found=$(lab_now_ms)
	lab_log "nfflowd found them gone within $((t_found - t_del)) ms of conntrack -D"
else
	t_found=$(lab_now_ms)
	lab_fail "nfflowd did not log that $CONNECTIONS connections from the start-up dump ended without an event within ${WAIT_LOG}s (it counted $(lab_nfflowd_ended_unseen))"
fi
sleep 0.5 # flush_interval 0.2: the records are sent before SIGTERM

lab_nfflowd_stop TERM
lab_nfcapd_stop "$LAB_COLLECTOR_PORT"

# The listeners must still work (a fresh probe reaches them) and must not
# have reported the three connections.
lab_ct_probe || lab_fail "the conntrack -E listeners no longer report DESTROY events"
lab_ct_stop
lab_ct_events v5 >"$LAB_TMP/destroys.txt"
if [ -s "$LAB_TMP/destroys.txt" ]; then
	lab_fail "the kernel DID report DESTROY events for connections created while nf_conntrack_events=2 and no listener existed (kernel $(uname -r)); this test's premise does not hold here, so it proves nothing about dump-based reconciliation:"$'\n'"$(sed 's/^/    /' "$LAB_TMP/destroys.txt")"
else
	lab_log "kernel fact confirmed: conntrack -D of $CONNECTIONS connections created without a listener reported no DESTROY event"
fi

# ---------------------------------------------------------------------------
# Compare with the connection table.

lines=$(grep -c 'connections from the start-up dump ended without an event' "$LAB_TMP/nfflowd.err" || true)
unseen=$(lab_nfflowd_ended_unseen)
[ "$unseen" -eq "$CONNECTIONS" ] ||
	lab_fail "nfflowd's log counts $unseen connections from the start-up dump ended without an event, expected $CONNECTIONS"
[ "$lines" -le 1 ] || lab_log "note: nfflowd found them gone in $lines dumps"
stats=$(grep -Eo 'ended unseen [0-9]+' "$LAB_TMP/nfflowd.err" | tail -n 1 || true)
[ -z "$stats" ] || [ "$stats" = "ended unseen $CONNECTIONS" ] ||
	lab_fail "nfflowd's statistics say '$stats', expected 'ended unseen $CONNECTIONS'"

# Expected records: the triplets of the table entries; the end column is
# the deletion time here, and checked precisely below.
awk -v t="$t_del" '{ for (i = 1; i <= 15; i++) printf "%s ", $i; print t }' "$TRUTH" | lab_expected_triplets ct >"$LAB_TMP/expected.txt"
nexp=$(wc -l <"$LAB_TMP/expected.txt")
[ "$nexp" -eq "$RECORDS" ] || lab_fail "the connection table calls for $nexp records, expected $RECORDS"
lab_nfdump_flows "$LAB_COLLECTOR_PORT" >"$LAB_TMP/collector.txt"
lab_csv_flows "$LAB_TMP/nfflowd.out" >"$LAB_TMP/csv.txt"
lab_nfcapd_check "$LAB_COLLECTOR_PORT" "$RECORDS"

# Addresses, ports, protocol, exact counters; times loosely here.
window=$((t_found - t_del + 1000))
lab_compare "$LAB_TMP/expected.txt" "$LAB_TMP/collector.txt" "collector (nfcapd) vs connection table" "$window" ||
	lab_fail "the collector's records differ from the connection table (above)"
lab_compare "$LAB_TMP/expected.txt" "$LAB_TMP/csv.txt" "nfflowd CSV copy vs connection table" "$window" ||
	lab_fail "nfflowd's CSV lines differ from the connection table (above)"
lab_as_expected collector <"$LAB_TMP/collector.txt" >"$LAB_TMP/collector-as-expected.txt"
lab_compare "$LAB_TMP/collector-as-expected.txt" "$LAB_TMP/csv.txt" "collector vs nfflowd CSV copy" 2 ||
	lab_fail "nfflowd's CSV lines and the datagrams it sent disagree (above)"

# The cap on the end time applies only if every connection had more timeout
# left than the test took; otherwise this test cannot say what the end is.
short=$(awk -v tl="$t_list" -v tf="$t_found" '$15 != "-" && tl + ($17 - 1) * 1000 <= tf' "$TRUTH")
[ -z "$short" ] || lab_die "connections whose timeout ran out during the test (too slow a run):"$'\n'"$short"

# times WHAT GOT: start = the kernel's start (ms rounding), and
# deletion <= end <= the moment nfflowd's log line was seen.
times() {
	local bad
	bad=$(awk -v del="$t_del" -v found="$t_found" '
		function abs(x) { return x < 0 ? -x : x }
		FILENAME == ARGV[1] { k = $2 " " $3 " " $4 " " $5 " " $6; start[k] = $9; lab[k] = $1; next }
		{
			k = $1 " " $2 " " $3 " " $4 " " $5
			if (!(k in start)) next # reported by lab_compare
			if (abs($8 - start[k]) > 1)
				printf "  %s %s: start %.0f, the kernel says %.0f (%+d ms)\n", lab[k], k, $8, start[k], $8 - start[k]
			if ($9 < del || $9 > found)
				printf "  %s %s: end %.0f not between the deletion %.0f and the log line %.0f (%+d ms after the deletion)\n",
					lab[k], k, $9, del, found, $9 - del
		}' "$LAB_TMP/expected.txt" "$2")
	[ -z "$bad" ] || lab_fail "$1: wrong start or end times:"$'\n'"$bad"
	lab_log "$1: end times $(awk -v d="$t_del" '{ print $9 - d }' "$2" | sort -n | uniq | tr '\n' ' ')ms after the deletion (log line seen after $((t_found - t_del)) ms)"
}
times "collector" "$LAB_TMP/collector.txt"
times "nfflowd CSV copy" "$LAB_TMP/csv.txt"

if [ "$LAB_FAILURES" -ne 0 ]; then
	lab_show "$TRUTH" "connection table before nfflowd started:"
	lab_show "$LAB_TMP/expected.txt" "expected records (label proto src sport dst dport pkts bytes start_ms deletion_ms):"
	lab_show "$LAB_TMP/collector.txt" "collector records (proto src sport dst dport pkts bytes start_ms end_ms received_ms):"
	lab_show "$LAB_TMP/nfflowd.out" "nfflowd stdout:"
	lab_show "$LAB_TMP/nfflowd.err" "nfflowd stderr:"
fi
lab_finish
