#!/usr/bin/env bash
# End-to-end, events taken in batches under load. A sender makes NATed UDP
# connections through the router at REST_RATE a second for REST_SECONDS and
# deletes each one 100 ms later over ctnetlink, so that NEW and DESTROY
# events come at twice that rate. nfflowd keeps up with them, and must:
#   - receive every event (its counters against the sender's);
#   - take them many per wake-up: it rests its event socket for a
#     millisecond each time it emptied it (nfflowd(8), Under a flood), so
#     its context switches over the load must be at most one per
#     MIN_PER_WAKE events. A loop that waits for each event again as soon
#     as it has read the last one wakes about once per event or two here.
# Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=loop_rest
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REST_RATE=${REST_RATE:-20000}
REST_SECONDS=${REST_SECONDS:-3}
MIN_PER_WAKE=8

lab_require
lab_require_nfflowd
lab_flood_up
conf=$LAB_TMP/nfflowd.conf
lab_nfflowd_conf "$conf" "$LAB_COLLECTOR_PORT"
lab_nfflowd_cmd start -c "$conf" start
[ "$LAB_RC" -eq 0 ] || lab_die "nfflowd start failed: $(cat "$LAB_TMP/start.err")"
pid=$(cat "$LAB_TMP/nfflowd.pid")

# switches: the daemon's context switches so far, voluntary and not
switches() {
	echo $(($(lab_proc_status "$pid" voluntary_ctxt_switches) +
		$(lab_proc_status "$pid" nonvoluntary_ctxt_switches)))
}
# events: NEW + DESTROY events the daemon has received ("events:" in check)
events() {
	lab_nfflowd_check "$conf" >"$LAB_TMP/check.out"
	echo $(($(lab_stat_value "events:" new <"$LAB_TMP/check.out") +
		$(lab_stat_value "events:" destroy <"$LAB_TMP/check.out")))
}

e0=$(events)
s0=$(switches)
ip netns exec "$LAB_CLI" timeout -k 5 $((REST_SECONDS + 20)) "$UDPFLOOD" \
	-n $((REST_RATE * REST_SECONDS)) -r "$REST_RATE" -t $((REST_SECONDS + 10)) -a 32 \
	-A 203.0.113.10 -s 30000 -D "/run/netns/$LAB_RTR" -L 100 >"$LAB_TMP/gen.out" 2>&1 ||
	lab_die "the sender failed: $(tail -n 3 "$LAB_TMP/gen.out")"
sent=$(awk '$1 == "result" { for (i = 2; i <= NF; i++) if ($i ~ /^sent=/) print substr($i, 6) }' "$LAB_TMP/gen.out")
deleted=$(awk '$1 == "result" { for (i = 2; i <= NF; i++) if ($i ~ /^deleted=/) print substr($i, 9) }' "$LAB_TMP/gen.out")
want=$((sent + deleted))
have_all() { [ $(($(events) - e0)) -ge "$want" ]; }
lab_wait_for 10 "nfflowd to receive the $want events" have_all || true
s1=$(switches)
e1=$(events)
got=$((e1 - e0)) wakes=$((s1 - s0))
lab_log "sender: $sent connections made, $deleted deleted; nfflowd: $got events in $wakes context switches ($((got / (wakes > 0 ? wakes : 1))) per switch)"
[ "$got" -ge "$want" ] || lab_fail "nfflowd received $got events of the $want the sender caused"
[ "$((wakes * MIN_PER_WAKE))" -le "$got" ] ||
	lab_fail "nfflowd switched $wakes times for $got events: fewer than $MIN_PER_WAKE events per wake-up"
[ "$sent" -ge $((REST_RATE * REST_SECONDS * 9 / 10)) ] ||
	lab_fail "the sender made only $sent of $((REST_RATE * REST_SECONDS)) connections"
lab_finish
