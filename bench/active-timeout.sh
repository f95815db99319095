#!/usr/bin/env bash
# bench/active-timeout.sh: what active_timeout costs with 200,000 open
# connections. In the namespace lab, nfflowd runs with active_timeout 20 (so
# dumps come every 5 s) and an IPFIX collector; 200,000 NATed UDP
# connections are made and kept open (UDP timeout 900 s). It prints nfflowd's
# CPU time and memory (VmRSS) before the connections, once they are open (no
# state: kernel timestamps are on), and after the first and second rounds of
# interim records (when it remembers what it exported for every connection):
# CPU per connection and round, bytes per connection.
# Needs root; about a minute. Restores nf_conntrack_max; leaves nothing.
set -euo pipefail
LAB_NAME=active-timeout
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"

CONNS=${CONNS:-200000}
T=20
OUT=$ROOT/bench/out
mkdir -p "$OUT"
[ "$(id -u)" -eq 0 ] || { echo "needs root: sudo $0" >&2; exit 1; }
make -s -C "$ROOT/bench" >/dev/null
NFFLOWD=${NFFLOWD:-$ROOT/build/nfflowd}
[ -x "$NFFLOWD" ] || { echo "build nfflowd first (cmake -S . -B build && cmake --build build)" >&2; exit 1; }

old_max=$(sysctl -n net.netfilter.nf_conntrack_max 2>/dev/null || echo 0)
restore() { [ "$old_max" -gt 0 ] && sysctl -qw net.netfilter.nf_conntrack_max="$old_max" || true; }
lab_require
UDPFLOOD=$OUT/udpflood lab_flood_up
trap 'rc=$?; restore; lab_down "$rc"' EXIT
[ "$old_max" -ge $((CONNS * 2)) ] || sysctl -qw net.netfilter.nf_conntrack_max=$((CONNS * 2))
ip netns exec "$LAB_RTR" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=900 \
	net.netfilter.nf_conntrack_udp_timeout_stream=900
{
	printf '%s\n' "<collector ipfix>" "address 127.0.0.1" "port $LAB_COLLECTOR_PORT" "version 10" \
		"nat_events no" "</collector>" "active_timeout $T" "<ptee>" "</ptee>" "user nobody" \
		"pidfile $LAB_TMP/nfflowd.pid" "control_socket $LAB_TMP/nfflowd.sock"
} >"$LAB_TMP/nfflowd.conf"
lab_nfflowd_start_conf "$LAB_TMP/nfflowd.conf"
pid=$(cat "$LAB_TMP/nfflowd.pid")
hz=$(getconf CLK_TCK)
cpu() { awk -v hz="$hz" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$pid/stat"; }
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$pid/status"; }
value() { lab_nfflowd_check "$LAB_TMP/nfflowd.conf" | lab_stat_value "$1" "$2"; }

c0=$(cpu) r0=$(rss)
ip netns exec "$LAB_CLI" timeout 120 "$ROOT/bench/out/udpflood" -n "$CONNS" -a 32 -t 100 >/dev/null
sleep 2
c1=$(cpu) r1=$(rss)
lab_log "$(ip netns exec "$LAB_RTR" conntrack -C) connections open"
# The first round of interim records comes at the first dump T s after the
# connections began; the second T s later.
interim_at_least() { [ "$(value "connections:" interim)" -ge "$1" ]; }
lab_wait_for $((T + 20)) "the first round of interim records" interim_at_least "$CONNS" || true
c2=$(cpu) r2=$(rss) d2=$(value "netlink:" dumps) i2=$(value "connections:" interim)
lab_wait_for $((T + 20)) "the second round" interim_at_least $((2 * CONNS)) || true
c3=$(cpu) r3=$(rss) d3=$(value "netlink:" dumps) i3=$(value "connections:" interim)
lab_nfflowd_stop
awk -v n="$CONNS" -v c0="$c0" -v c1="$c1" -v c2="$c2" -v c3="$c3" -v r0="$r0" -v r1="$r1" \
	-v r2="$r2" -v r3="$r3" -v d2="$d2" -v d3="$d3" -v i2="$i2" -v i3="$i3" -v t="$T" '
BEGIN {
	printf "active_timeout %d s, %d open connections\n", t, n
	printf "%-44s %8s %10s\n", "", "CPU s", "VmRSS KiB"
	printf "%-44s %8.2f %10d\n", "nfflowd started", c0, r0
	printf "%-44s %8.2f %10d\n", "connections made and open", c1, r1
	printf "%-44s %8.2f %10d\n", "first interim round (" i2 " records)", c2, r2
	printf "%-44s %8.2f %10d\n", "second interim round (" i3 " records)", c3, r3
	printf "second round: %d dumps, %.2f CPU s: %.1f us per connection and round\n", d3 - d2, c3 - c2, (c3 - c2) * 1e6 / n
	printf "memory for the interim state: %.0f bytes per open connection\n", (r2 - r1) * 1024 / n
}' | tee "$OUT/active-timeout.txt"
lab_finish
