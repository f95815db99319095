#!/usr/bin/env bash
# End-to-end, a loop that answers under a flood. Two senders make NATed UDP
# connections through the router as fast as they go and delete each one
# 100 ms later over ctnetlink, so that NEW and DESTROY events arrive
# together, for FLOOD_SECONDS. nfflowd (the daemon, detached) is held to a
# quarter of one CPU by a cgroup, so that events come faster than it can
# take them whatever the machine: its socket never runs dry (the kernel
# drops what does not fit, which nfflowd counts). Meanwhile it must:
#   - answer "nfflowd check" within 1 s, every time it is asked;
#   - keep its flush timer: records reach the collector every second;
#   - keep its probe timer: a collector that is down is probed once a second;
# and "nfflowd stop", in the middle of the flood, must finish within 3 s.
# A loop that reads its event socket until it is empty fails all of these.
# Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=flood
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FLOOD_SECONDS=${FLOOD_SECONDS:-14}
CHECKS=8            # check rounds, one a second, during the flood
DOWN_PORT=9994      # a collector nobody listens on

lab_require taskset
lab_require_nfflowd
lab_flood_up
conf=$LAB_TMP/nfflowd.conf
lab_nfflowd_conf "$conf" "$LAB_COLLECTOR_PORT" \
	"<collector down>" "address 127.0.0.1" "port $DOWN_PORT" "version 10" "</collector>"
lab_nfflowd_cmd start -c "$conf" start
[ "$LAB_RC" -eq 0 ] || lab_die "nfflowd start failed: $(cat "$LAB_TMP/start.err")"
daemon_pid=$(cat "$LAB_TMP/nfflowd.pid")

# throttle PID: at most a quarter of one CPU (cgroup v2 cpu.max, or v1
# cpu.cfs_quota_us); the cgroup goes at exit.
CGROUP=""
throttle() {
	local v2=/sys/fs/cgroup v1=/sys/fs/cgroup/cpu
	if grep -qw cpu "$v2/cgroup.controllers" 2>/dev/null; then
		grep -qw cpu "$v2/cgroup.subtree_control" || echo +cpu >"$v2/cgroup.subtree_control"
		CGROUP=$v2/$LAB_ID
		mkdir "$CGROUP" && echo "25000 100000" >"$CGROUP/cpu.max" && echo "$1" >"$CGROUP/cgroup.procs"
	elif [ -w "$v1" ]; then
		CGROUP=$v1/$LAB_ID
		mkdir "$CGROUP" && echo 100000 >"$CGROUP/cpu.cfs_period_us" &&
			echo 25000 >"$CGROUP/cpu.cfs_quota_us" && echo "$1" >"$CGROUP/tasks"
	else
		lab_skip "no cgroup cpu controller to hold nfflowd to a share of the CPU"
	fi
}
# cgroup_remove: rmdir fails while a process killed by lab_down still exits.
# shellcheck disable=SC2317 # called from the EXIT trap
cgroup_remove() {
	[ -z "$CGROUP" ] || lab_wait_for 3 "the removal of $CGROUP" rmdir "$CGROUP" 2>/dev/null || true
}
trap 'rc=$?; lab_down "$rc"; cgroup_remove; exit "$rc"' EXIT
throttle "$daemon_pid"

ms_of() { # COMMAND...: run it in the router namespace; prints its wall time in ms
	local t0
	t0=$(lab_now_ms)
	ip netns exec "$LAB_RTR" timeout -k 5 20 "$@" >"$LAB_TMP/last.out" 2>&1 || true
	echo $(($(lab_now_ms) - t0))
}
stat_of() { lab_stat_value "$1" "$2" <"$LAB_TMP/last.out"; }

pids=()
for i in 0 1; do
	ip netns exec "$LAB_CLI" taskset -c "$i" timeout -k 5 $((FLOOD_SECONDS + 10)) "$UDPFLOOD" \
		-n 1500000 -t "$FLOOD_SECONDS" -a 32 -A 203.0.113.10 -s $((30000 + i)) \
		-D "/run/netns/$LAB_RTR" -L 100 >"$LAB_TMP/gen-$i.out" 2>&1 &
	pids+=($!)
done
sleep 2 # the flood is on

worst=0 prev_recs=0 prev_probes=0 stalls=0
for ((round = 1; round <= CHECKS; round++)); do
	ms=$(ms_of "$NFFLOWD" -c "$conf" check)
	recs=$(stat_of "collector 127.0.0.1:$LAB_COLLECTOR_PORT:" records)
	probes=$(stat_of "collector 127.0.0.1:$DOWN_PORT:" datagrams)
	new=$(stat_of "events:" new)
	lab_log "round $round: check answered in $ms ms; new events ${new:-?}, records sent ${recs:-?}, probes ${probes:-?}"
	[ "$ms" -gt "$worst" ] && worst=$ms
	[ -n "$recs" ] && [ "$recs" -gt "$prev_recs" ] || stalls=$((stalls + 1))
	prev_recs=${recs:-0}
	[ "$round" -eq 1 ] || [ "${probes:-0}" -gt "$prev_probes" ] ||
		lab_fail "round $round: the collector that is down was not probed in the last second"
	prev_probes=${probes:-0}
	sleep 1
done
[ "$worst" -lt 1000 ] || lab_fail "nfflowd check took up to $worst ms under the flood (limit 1000)"
[ "$stalls" -eq 0 ] || lab_fail "in $stalls of $CHECKS rounds no record reached the collector (flush timer)"

ms=$(ms_of "$NFFLOWD" -c "$conf" stop)
lab_log "stop took $ms ms under the flood"
[ "$ms" -lt 3000 ] || lab_fail "nfflowd stop took $ms ms under the flood (limit 3000)"
! kill -0 "$daemon_pid" 2>/dev/null || lab_fail "nfflowd still runs after stop"

for p in "${pids[@]}"; do wait "$p" || true; done
rate=$(awk '$1 == "result" { for (i = 2; i <= NF; i++) if ($i ~ /^rate=/) r += substr($i, 6) } END { printf "%.0f", r }' \
	"$LAB_TMP"/gen-*.out)
lab_log "the senders made about $rate connections/s (each a NEW and a DESTROY event)"
[ "${rate:-0}" -gt 20000 ] || lab_fail "the flood was too weak to test anything: $rate connections/s"

lab_finish
