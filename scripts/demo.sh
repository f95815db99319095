#!/usr/bin/env bash
# nfflowd demo: a small NAT router in network namespaces, real traffic through
# it, nfflowd exporting every finished connection as NetFlow v5 to nfcapd,
# and what arrived shown side by side with nfflowd's local copy.
#
#   sudo ./scripts/install-deps.sh && sudo ./scripts/demo.sh
#
# Needs root (it creates network namespaces). Builds nfflowd first if needed
# (set NFFLOWD=/path/to/nfflowd to use another binary). Leaves nothing behind:
# the namespaces and processes go away at the end, on error and on Ctrl-C.
# The files it shows are copied to ./demo-out/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/demo-out

say() {
	if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi
}

require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		cat >&2 <<-EOF
			The demo builds a small NAT router out of three network namespaces
			(client, router, server), loads an nftables NAT rule in the router and
			listens to its connection tracking. All of that needs root:

			    sudo $0

			Nothing outside those namespaces is changed, and they are removed at the end.
		EOF
		exit 1
	fi
}

build_nfflowd() {
	if [ -n "${NFFLOWD:-}" ]; then
		[ -x "$NFFLOWD" ] || { echo "NFFLOWD=$NFFLOWD is not an executable" >&2; exit 1; }
		return
	fi
	say "Building nfflowd"
	if [ ! -f "$ROOT/build/CMakeCache.txt" ]; then
		cmake -S "$ROOT" -B "$ROOT/build"
	fi
	cmake --build "$ROOT/build" --target nfflowd -j "$(nproc)"
	NFFLOWD=$ROOT/build/nfflowd
}

require_root
command -v cmake >/dev/null 2>&1 || [ -n "${NFFLOWD:-}" ] ||
	{ echo "cmake is missing: run sudo ./scripts/install-deps.sh first" >&2; exit 1; }
build_nfflowd
export NFFLOWD

LAB_NAME=demo
LAB_UDP_ECHO_PORT=53 # a DNS-like request/reply
# shellcheck source=tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"
lab_require curl

say "Building the lab"
cat <<EOF
  client  $LAB_CLIENT_IP     (namespace $LAB_CLI)
     |
  router  $LAB_ROUTER_LAN_IP / $LAB_ROUTER_WAN_IP   (namespace $LAB_RTR)
          masquerades everything leaving towards the server: source NAT to $LAB_ROUTER_WAN_IP
     |
  server  $LAB_SERVER_IP   (namespace $LAB_SRV): HTTP on :$LAB_HTTP_PORT, UDP echo on :$LAB_UDP_ECHO_PORT

  In the router: nfcapd (the collector) on 127.0.0.1:$LAB_COLLECTOR_PORT, and nfflowd.
EOF
lab_up
lab_servers_start
lab_nfcapd_start "$LAB_COLLECTOR_PORT"
lab_ct_start # conntrack -E: the kernel's own account, to check against

say "Starting nfflowd in the router"
lab_nfflowd_start "$LAB_COLLECTOR_PORT"
sed 's/^/  /' "$LAB_TMP/nfflowd.conf"
grep ready "$LAB_TMP/nfflowd.err" | sed 's/^/  stderr: /'

say "Traffic from the client"
echo "  HTTP: curl http://$LAB_SERVER_IP:$LAB_HTTP_PORT/1M.bin (1 MiB download)"
lab_http_download 1M.bin
echo "  UDP:  one request to $LAB_SERVER_IP:$LAB_UDP_ECHO_PORT and its reply (DNS-like)"
lab_udp_exchange "A? www.example.test"
echo "  ICMP: ping -c 3 $LAB_SERVER_IP"
lab_ping 3
sleep 1

say "Ending the connections"
echo "  conntrack -D in the router ends them now, as their timeouts would later;"
echo "  the kernel then reports each one with its final counters."
echo "  ended: $(lab_ct_flush_client) connections"
lab_ct_wait_destroys 3 || true
lab_nfflowd_stop TERM
[ "$LAB_RC" -eq 0 ] || lab_fail "nfflowd exited with status $LAB_RC on SIGTERM"
lab_nfcapd_stop "$LAB_COLLECTOR_PORT"
lab_ct_stop

lab_verify_exports "$LAB_COLLECTOR_PORT" >"$LAB_TMP/verify.txt" 2>&1 || true

say "nfflowd's local copy (flow-tools CSV, one line per record)"
echo "  unix_secs,unix_nsecs,sysuptime,exaddr,dpkts,doctets,first,last,srcaddr,dstaddr,nexthop,input,output,srcport,dstport,prot,tos,tcp_flags"
sed 's/^/  /' "$LAB_TMP/nfflowd.out"

say "What the collector received (nfdump)"
lab_nfdump_table "$LAB_COLLECTOR_PORT" | sed 's/^/  /'

say "The same records as NAT triplets"
awk -v cli="$LAB_CLIENT_IP" '
	function name(p) { return p == 6 ? "TCP" : p == 17 ? "UDP" : p == 1 ? "ICMP" : "proto " p }
	function ep(a, port, p) { return p == 1 ? a : a ":" port }
	function icmp(p, port) { return p == 1 ? sprintf(" (type %d code %d)", int(port / 256), port % 256) : "" }
	FILENAME == ARGV[1] { got[$1 " " $2 " " $3 " " $4 " " $5] = $6 " " $7; next }
	{
		split($1, l, ":"); n = l[2]
		if (n == 1) printf "\n  connection %d: %s%s\n", ++conn, name($2), icmp($2, $6)
		what = n == 1 ? "(1) before NAT" : n == 2 ? "(2) after NAT " : "(3) reply     "
		key = $2 " " $3 " " $4 " " $5 " " $6
		if (key in got) { split(got[key], c, " "); counts = sprintf("%7d pkts %10d bytes", c[1], c[2]) }
		else counts = "MISSING at the collector"
		printf "    %s  %-21s -> %-21s %s\n", what, ep($3, $4, $2), ep($5, $6, $2), counts
	}' "$LAB_TMP/collector.txt" "$LAB_TMP/expected.txt"
echo
if [ "$LAB_FAILURES" -eq 0 ]; then
	echo "  Checked against the kernel (conntrack -E): every record arrived, with exactly"
	echo "  the kernel's packet and byte counts."
else
	echo "  Checked against the kernel (conntrack -E): MISMATCHES:"
	sed 's/^/  /' "$LAB_TMP/verify.txt"
fi

cat <<EOF

  How to read a triplet: NetFlow v5 records are one-way and have no NAT fields,
  so nfflowd describes each finished connection with up to three records.
  Record 1 is the connection as the private client made it ($LAB_CLIENT_IP and its
  port, to the server) with the packets and bytes it sent. Record 2 is the same
  direction after the router's source NAT: the source is now the router's public
  address $LAB_ROUTER_WAN_IP (and the port the router chose), with the same counters.
  Record 3 is the reply direction as seen on the public side, server back to
  $LAB_ROUTER_WAN_IP, with the reply's packets and bytes. Records 1 and 2 share their
  destination, counters and times, so whoever sees "$LAB_ROUTER_WAN_IP:port at time T"
  in a complaint or a log can find record 2 and, beside it, record 1: the private
  host and port behind the NAT.
EOF

mkdir -p "$OUT"
cp "$LAB_TMP/nfflowd.conf" "$OUT/nfflowd.conf"
cp "$LAB_TMP/nfflowd.out" "$OUT/nfflowd.csv"
cp "$LAB_TMP/nfflowd.err" "$OUT/nfflowd.log"
lab_nfdump_table "$LAB_COLLECTOR_PORT" >"$OUT/nfdump.txt"
rm -rf "$OUT/nfcapd"
cp -r "$(lab_nfcapd_dir "$LAB_COLLECTOR_PORT")" "$OUT/nfcapd"

say "Done"
echo "  Files kept in $OUT (read the collector's files with: nfdump -R $OUT/nfcapd)."
echo "  Removing the lab."
[ "$LAB_FAILURES" -eq 0 ]
