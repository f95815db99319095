#!/usr/bin/env bash
# bench/soak.sh: the soak test for long NATed connections (not part of CI).
# In the namespace lab of tests/e2e/lib.sh, nfflowd runs with
# active_timeout 1 (a dump every second) and exports NetFlow v5 to nfcapd.
# Each of ROUNDS rounds runs CONNS slow TCP downloads side by side (10 kB
# every 0.1 s for ROUND_SECONDS s) through the NAT router, while other things run
# alongside: conntrack listeners in the router namespace and in NOISE_NS
# other namespaces (each with its own NAT table and its own traffic), and a
# stream of short connections through the router (made and deleted again,
# NOISE_RATE a second). Then the downloads are ended with conntrack -D.
#
# For every download the kernel ended (conntrack -E, DESTROY with counters,
# in the router namespace), the records at the collector must add up exactly
# to the kernel's counters in both directions, and nfflowd must have
# received its DESTROY. Prints one line per round and a summary; exits 1 if
# any connection did not add up.
#
# Needs root. Environment: ROUNDS (10), CONNS (8), ROUND_SECONDS (6), NOISE_NS (2),
# NOISE_RATE (2000), NFFLOWD (default build/nfflowd).
set -euo pipefail
LAB_NAME=soak
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"

ROUNDS=${ROUNDS:-10}
CONNS=${CONNS:-8}
SECONDS_PER_ROUND=${ROUND_SECONDS:-6}
NOISE_NS=${NOISE_NS:-2}
NOISE_RATE=${NOISE_RATE:-2000}
SLOW_PORT=8090
OUT=${BENCH_OUT:-$ROOT/bench/out}
LAB_MAX_SECONDS=$((ROUNDS * (SECONDS_PER_ROUND + 20) + 120))
mkdir -p "$OUT"
[ "$(id -u)" -eq 0 ] || { echo "needs root: sudo $0" >&2; exit 1; }
make -s -C "$ROOT/bench" OUT="$OUT" >/dev/null
NFFLOWD=${NFFLOWD:-$ROOT/build/nfflowd}
[ -x "$NFFLOWD" ] || { echo "build nfflowd first" >&2; exit 1; }

lab_require
lab_up
lab_server_add_addrs 203.0.113.10 32

# Other namespaces with conntrack and listeners, each making its own
# connections over loopback.
for ((i = 0; i < NOISE_NS; i++)); do
	ns="$LAB_ID-noise$i"
	lab_ns_add "$ns"
	ip netns exec "$ns" nft add table ip nat
	ip netns exec "$ns" nft "add chain ip nat post { type nat hook postrouting priority srcnat; }"
	lab_bg "noise-ct$i" "$ns" conntrack -E
	lab_bg "noise-traffic$i" "$ns" bash -c \
		'while :; do for p in $(seq 20000 20200); do echo x >/dev/udp/127.0.0.1/$p; done; sleep 0.2; done'
done
lab_bg router-ct2 "$LAB_RTR" conntrack -E -e NEW

lab_nfcapd_start "$LAB_COLLECTOR_PORT"
lab_ct_start
lab_nfflowd_start_with "$LAB_COLLECTOR_PORT" "active_timeout 1"

# Short connections through the router all along, deleted 100 ms after.
lab_bg noise-flood "$LAB_CLI" "$OUT/udpflood" -n $((NOISE_RATE * LAB_MAX_SECONDS)) -r "$NOISE_RATE" \
	-a 32 -A 203.0.113.10 -s 30000 -t "$LAB_MAX_SECONDS" -D "/run/netns/$LAB_RTR" -L 100

total=0 bad=0 unrecorded=0
for ((round = 1; round <= ROUNDS; round++)); do
	for ((k = 0; k < CONNS; k++)); do
		lab_slow_server "srv$k" $((SLOW_PORT + k)) $((SECONDS_PER_ROUND * 10))
	done
	for ((k = 0; k < CONNS; k++)); do lab_slow_client "cli$k" $((SLOW_PORT + k)); done
	for ((k = 0; k < CONNS; k++)); do lab_wait_exit "cli$k" $((SECONDS_PER_ROUND + 30)) || true; done
	sleep 0.3
	ended=$(lab_ct_delete -s "$LAB_CLIENT_IP" -p tcp)
	sleep 1.5 # their DESTROY events
	total=$((total + ended))
	lab_log "round $round: $ended downloads ended"
done
sleep 2 # the last interim and final records, flush_interval
lab_nfflowd_stop
lab_nfcapd_stop "$LAB_COLLECTOR_PORT"
lab_ct_stop

# Every TCP download the kernel ended, against the collector's records.
lab_ct_events v5 | awk '$2 == 6' >"$LAB_TMP/destroys.txt"
lab_nfdump_flows "$LAB_COLLECTOR_PORT" >"$LAB_TMP/collector.txt"
while read -r _ _ osrc osp odst odp rsrc rsp rdst rdp opk ob rpk rb _ _; do
	read -r n1 p1 b1 < <(awk -v s="$osrc" -v sp="$osp" -v d="$odst" -v dp="$odp" \
		'$2 == s && $3 == sp && $4 == d && $5 == dp { n++; p += $6; b += $7 } END { print n + 0, p + 0, b + 0 }' \
		"$LAB_TMP/collector.txt")
	read -r n3 p3 b3 < <(awk -v s="$rsrc" -v sp="$rsp" -v d="$rdst" -v dp="$rdp" \
		'$2 == s && $3 == sp && $4 == d && $5 == dp { n++; p += $6; b += $7 } END { print n + 0, p + 0, b + 0 }' \
		"$LAB_TMP/collector.txt")
	if [ "$n1" -eq 0 ]; then
		unrecorded=$((unrecorded + 1))
		lab_warn "no record at all for $osrc:$osp -> $odst:$odp (kernel $opk/$ob, $rpk/$rb)"
	elif [ "$p1 $b1 $p3 $b3" != "$opk $ob $rpk $rb" ]; then
		bad=$((bad + 1))
		lab_warn "$osrc:$osp -> $odst:$odp: $n1+$n3 records add up to $p1/$b1 and $p3/$b3, kernel $opk/$ob and $rpk/$rb"
	fi
done <"$LAB_TMP/destroys.txt"
kernel=$(wc -l <"$LAB_TMP/destroys.txt")
got=$(grep 'events: new' "$LAB_TMP/nfflowd.err" | tail -n 1)
{
	echo "soak: $ROUNDS rounds of $CONNS downloads of ${SECONDS_PER_ROUND} s, active_timeout 1,"
	echo "  $NOISE_NS other namespaces with listeners, a listener beside nfflowd, $NOISE_RATE short connections/s"
	echo "  downloads ended by the kernel: $kernel (of $total deleted)"
	echo "  that add up exactly: $((kernel - bad - unrecorded)); wrong sums: $bad; no record: $unrecorded"
	echo "  nfflowd: ${got#*: }"
} | tee "$OUT/soak.txt"
[ "$bad" -eq 0 ] && [ "$unrecorded" -eq 0 ] || lab_fail "$((bad + unrecorded)) downloads did not add up"
lab_finish
