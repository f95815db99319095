#!/usr/bin/env bash
# bench/million.sh: nfflowd with a million concurrent NATed connections, in
# the namespace lab of tests/e2e/lib.sh. nf_conntrack_max (initial
# namespace) is raised for the run and restored at exit; UDP timeouts in the
# router are long enough that nothing times out during it.
#
#   1. nfflowd starts on an empty table (active_timeout $T, one IPFIX
#      collector); $CONNS connections are made and kept open. RSS per open
#      connection with kernel timestamps: nothing is remembered.
#   2. Two rounds of interim records (active_timeout): CPU per connection
#      and round, and the memory of the interim state per connection.
#   3. nfflowd is restarted on the full table: the start-up dump's time and
#      CPU, and the memory of the start-up snapshots per connection.
#   4. One resync dump (resync_interval): its CPU.
#   5. conntrack -F ends them all: every connection exported (nfflowd's
#      count against the kernel's), no event dropped for nfflowd's socket.
#
# Prints a table (also bench/out/million.txt). Needs root; about five
# minutes. Environment: CONNS (1000000), NFFLOWD (default build/nfflowd).
set -euo pipefail
LAB_NAME=million
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"

CONNS=${CONNS:-1000000}
T=40 # active_timeout: dumps every 10 s
OUT=${BENCH_OUT:-$ROOT/bench/out}
LAB_MAX_SECONDS=900
mkdir -p "$OUT"
[ "$(id -u)" -eq 0 ] || { echo "needs root: sudo $0" >&2; exit 1; }
make -s -C "$ROOT/bench" OUT="$OUT" >/dev/null
NFFLOWD=${NFFLOWD:-$ROOT/build/nfflowd}
[ -x "$NFFLOWD" ] || { echo "build nfflowd first (cmake -S . -B build && cmake --build build)" >&2; exit 1; }

declare -A OLD=()
raise() { # KEY VALUE: raise KEY to at least VALUE, remember the old value
	local old
	old=$(sysctl -n "$1")
	[ "$old" -lt "$2" ] || return 0
	OLD[$1]=$old
	sysctl -qw "$1=$2"
}
restore() { local k; for k in "${!OLD[@]}"; do sysctl -qw "$k=${OLD[$k]}" || true; done; }
lab_require
UDPFLOOD=$OUT/udpflood lab_flood_up
trap 'rc=$?; restore; lab_down "$rc"' EXIT
raise net.netfilter.nf_conntrack_max $((CONNS + CONNS / 4))
raise net.netfilter.nf_conntrack_buckets $((CONNS / 2))
ip netns exec "$LAB_RTR" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=1800 \
	net.netfilter.nf_conntrack_udp_timeout_stream=1800
printf '%s\n' "<collector ipfix>" "address 127.0.0.1" "port $LAB_COLLECTOR_PORT" "version 10" \
	"nat_events no" "</collector>" "active_timeout $T" "<ptee>" "</ptee>" "user nobody" \
	"pidfile $LAB_TMP/nfflowd.pid" "control_socket $LAB_TMP/nfflowd.sock" >"$LAB_TMP/nfflowd.conf"

hz=$(getconf CLK_TCK)
start() {
	lab_bg nfflowd "$LAB_RTR" "$NFFLOWD" -f -c "$LAB_TMP/nfflowd.conf" start
	lab_wait_for 300 "nfflowd to be ready" lab_nfflowd_ready || lab_die "nfflowd did not start: $(cat "$LAB_TMP/nfflowd.err")"
	pid=$(cat "$LAB_TMP/nfflowd.pid")
}
cpu() { awk -v hz="$hz" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$pid/stat"; }
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$pid/status"; }
value() { lab_nfflowd_check "$LAB_TMP/nfflowd.conf" | lab_stat_value "$1" "$2"; }
at_least() { [ "$(value "$1" "$2")" -ge "$3" ] 2>/dev/null; }
drops() { lab_netlink_socks "$pid" | awk '$2 == 12 { d += $9 } END { print d + 0 }'; }
ct_count() { ip netns exec "$LAB_RTR" conntrack -C; }

# 1. An empty table, then the connections.
start
c0=$(cpu) r0=$(rss)
gens=()
for i in 0 1; do
	ip netns exec "$LAB_CLI" taskset -c "$i" timeout 300 "$OUT/udpflood" -n $((CONNS / 2)) -a 32 \
		-A 203.0.113.10 -s $((20000 + i)) -t 280 >"$LAB_TMP/gen-$i.out" &
	gens+=($!)
done
wait "${gens[@]}"
open=$(ct_count)
lab_log "$open connections open"
lab_wait_for 60 "nfflowd to read every NEW" at_least "events:" new "$CONNS" || true
c1=$(cpu) r1=$(rss)

# 2. Two rounds of interim records.
lab_wait_for $((T + 60)) "the first interim round" at_least "connections:" interim "$CONNS" || true
c2=$(cpu) r2=$(rss) i2=$(value "connections:" interim)
lab_wait_for $((T + 60)) "the second interim round" at_least "connections:" interim $((2 * CONNS)) || true
c3=$(cpu) r3=$(rss) i3=$(value "connections:" interim)
lab_nfflowd_stop

# 3. A restart on the full table: the start-up dump.
t0=$(lab_now_ms)
start
t1=$(lab_now_ms)
c4=$(cpu) r4=$(rss)
rd=$(awk '/ready:/ { print; exit }' "$LAB_TMP/nfflowd.err")
lab_log "$rd"

# 4. One resync dump (every resync_interval while start-up snapshots are held).
d0=$(value "netlink:" dumps)
lab_wait_for 30 "a resync dump" at_least "netlink:" dumps $((d0 + 1)) || true
sleep 0.5
c5a=$(cpu)
lab_wait_for 30 "another resync dump" at_least "netlink:" dumps $((d0 + 2)) || true
sleep 0.5
c5=$(cpu)

# 5. The flush.
before=$(ct_count)
e0=$(value "connections:" exported)
ip netns exec "$LAB_RTR" conntrack -F 2>/dev/null || true
lab_wait_for 120 "nfflowd to export the flush" at_least "connections:" exported $((e0 + before)) || true
e1=$(value "connections:" exported)
dr=$(drops)
c6=$(cpu)
lab_nfflowd_stop
lost=$((before - (e1 - e0)))

awk -v n="$open" -v c0="$c0" -v c1="$c1" -v c2="$c2" -v c3="$c3" -v c4="$c4" -v c5a="$c5a" \
	-v c5="$c5" -v c6="$c6" -v r0="$r0" -v r1="$r1" -v r2="$r2" -v r3="$r3" -v r4="$r4" \
	-v i2="$i2" -v i3="$i3" -v ms=$((t1 - t0)) -v before="$before" -v exported=$((e1 - e0)) \
	-v lost="$lost" -v dr="$dr" -v t="$T" '
BEGIN {
	printf "nfflowd with %d concurrent NATed connections (active_timeout %d s)\n", n, t
	printf "%-52s %12s\n", "", "value"
	printf "%-52s %12.0f\n", "RSS per open connection, kernel timestamps (B)", (r1 - r0) * 1024 / n
	printf "%-52s %12.2f\n", "interim round: CPU per connection (us)", (c3 - c2) * 1e6 / n
	printf "%-52s %12.0f\n", "interim state per connection (B)", (r3 - r1) * 1024 / n
	printf "%-52s %12.2f\n", "start-up dump: wall time to ready (s)", ms / 1000
	printf "%-52s %12.2f\n", "start-up dump: CPU (s)", c4
	printf "%-52s %12.0f\n", "start-up snapshots per connection (B)", r4 * 1024 / n
	printf "%-52s %12.2f\n", "resync dump: CPU (s)", c5 - c5a
	printf "%-52s %12d\n", "connections ended by the flush", before
	printf "%-52s %12d\n", "  exported by nfflowd", exported
	printf "%-52s %12d\n", "  lost", lost
	printf "%-52s %12d\n", "  events the kernel dropped for nfflowd", dr
	printf "(interim records: %d after the first round, %d after the second)\n", i2, i3
}' | tee "$OUT/million.txt"
[ "$lost" -eq 0 ] || lab_fail "$lost connections of the flush were not exported"
lab_finish
