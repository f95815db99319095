#!/usr/bin/env bash
# shellcheck shell=bash
# Helpers for nfflowd's end-to-end tests and demo: a three-namespace NAT lab
# on the real kernel, the real collectors (nfcapd/nfdump, tshark) and
# conntrack -E as the kernel's record of every connection.
#
#   client ns  10.77.1.2/24  --veth--  10.77.1.1 router ns 203.0.113.1
#                                      --veth--  203.0.113.2/24 server ns
#
# The router masquerades towards the server, so every connection through it
# is source-NATed to 203.0.113.1. nfflowd, nfcapd and the conntrack listeners
# run in the router namespace; the collector listens on 127.0.0.1 there.
# lab_up_full extends that lab with IPv6 (NAT66), a port forward and paths
# without NAT.
#
# Source this file, then: lab_require; lab_up; ...; the EXIT trap installed
# by lab_up tears everything down (also on failure and on Ctrl-C). Run
# directly (CTest runs every e2e/*.sh), it tests the lab itself, without
# nfflowd: see lab_self_test at the end.
#
# Normalised flow lines, used to compare what the kernel reported with what
# the collector and nfflowd's local copy hold (one flow per line, blanks):
#   got:      proto src sport dst dport packets bytes start_ms end_ms [received_ms]
#   expected: label proto src sport dst dport packets bytes start_ms end_ms [optional]
# ICMP flows carry sport 0 and dport type*256+code (the NetFlow v5 convention).

LAB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_ROOT=${NFFLOWD_SRC:-$(cd "$LAB_LIB_DIR/../.." && pwd)}
NFFLOWD=${NFFLOWD:-$LAB_ROOT/build/nfflowd}

LAB_CLIENT_IP=10.77.1.2
LAB_ROUTER_LAN_IP=10.77.1.1
LAB_ROUTER_WAN_IP=203.0.113.1
LAB_SERVER_IP=203.0.113.2
LAB_CLIENT_IP6=fd77:1::2             # lab_up_full only
LAB_ROUTER_LAN_IP6=fd77:1::1
LAB_ROUTER_WAN_IP6=2001:db8:113::1
LAB_SERVER_IP6=2001:db8:113::2
LAB_TCP_SINK_PORT=${LAB_TCP_SINK_PORT:-8080}   # server: TCP sink (uploads)
LAB_HTTP_PORT=${LAB_HTTP_PORT:-8000}       # server: python3 http.server (downloads)
LAB_UDP_ECHO_PORT=${LAB_UDP_ECHO_PORT:-5353}   # server: UDP echo (request/reply)
LAB_COLLECTOR_PORT=${LAB_COLLECTOR_PORT:-9995}  # router: nfcapd on 127.0.0.1
LAB_FWD_PORT=${LAB_FWD_PORT:-8081}         # router: port forward (DNAT) to the client
LAB_CLIENT_PORT=${LAB_CLIENT_PORT:-8000}   # client: TCP sink and UDP echo
LAB_TSHARK_PROBE_PORT=${LAB_TSHARK_PROBE_PORT:-9994} # captured, never exported to
# Tuple of the entries used to check that a conntrack listener is subscribed;
# TEST-NET-1 addresses that no packet ever uses in the lab.
LAB_PROBE_SRC=192.0.2.250
LAB_PROBE_DST=192.0.2.251

# Upper bound in seconds on every background process (CTest allows 300 s).
LAB_MAX_SECONDS=${LAB_MAX_SECONDS:-270}

LAB_ID="nfft-$$"
LAB_CLI="$LAB_ID-cli"
LAB_RTR="$LAB_ID-rtr"
LAB_SRV="$LAB_ID-srv"
LAB_NAMESPACES=()
LAB_TMP=""
LAB_KEEP=${LAB_KEEP:-0}   # 1: keep the temporary directory even on success
LAB_RC=0                  # exit status of the last process lab_stop waited for
LAB_PROBE_SEQ=0
LAB_NFFLOWD_T0_MS=0       # wall clock (ms) just before nfflowd was started
declare -gA LAB_PID=()    # background process name -> pid (a timeout(1) wrapper)

# ---------------------------------------------------------------------------
# Messages

lab_log() { printf '[%s] %s\n' "${LAB_NAME:-e2e}" "$*" >&2; }
lab_warn() { printf '[%s] WARNING: %s\n' "${LAB_NAME:-e2e}" "$*" >&2; }
lab_die() {
	printf '[%s] ERROR: %s\n' "${LAB_NAME:-e2e}" "$*" >&2
	exit 1
}
lab_skip() {
	printf '[%s] SKIP: %s\n' "${LAB_NAME:-e2e}" "$*" >&2
	exit 77
}

lab_now_ms() { date +%s%3N; }

# Failures are collected, so that one run reports every problem it finds.
LAB_FAILURES=0
lab_fail() {
	printf '[%s] FAIL: %s\n' "${LAB_NAME:-e2e}" "$*" >&2
	LAB_FAILURES=$((LAB_FAILURES + 1))
}

# lab_finish: exit 0 if nothing failed, 1 otherwise.
lab_finish() {
	if [ "$LAB_FAILURES" -eq 0 ]; then
		lab_log "PASS"
		exit 0
	fi
	lab_log "$LAB_FAILURES check(s) FAILED"
	exit 1
}

# ---------------------------------------------------------------------------
# Preconditions

# lab_require [extra-tool...]: exit 77 unless root, the lab's tools, the
# extra ones and network namespaces work.
lab_require() {
	lab_require_only ip nft conntrack nfcapd nfdump timeout ss ping socat python3 "$@"
}

# lab_require_only TOOL...: lab_require for a test that needs only these
# tools (not the whole lab's).
lab_require_only() {
	local tool missing=()
	[ "$(id -u)" -eq 0 ] || lab_skip "needs root (network namespaces, conntrack, nftables)"
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
	done
	[ "${#missing[@]}" -eq 0 ] || lab_skip "missing tools: ${missing[*]} (see scripts/install-deps.sh)"
	local probe="$LAB_ID-probe"
	ip netns add "$probe" 2>/dev/null || lab_skip "cannot create network namespaces (ip netns add failed)"
	ip netns del "$probe" 2>/dev/null || true
}

# lab_require_nfflowd: exit 77 unless the nfflowd binary has been built and
# the user nobody, whom every lab configuration names
# (lab_nfflowd_conf_common), exists.
lab_require_nfflowd() {
	[ -x "$NFFLOWD" ] || lab_skip "no nfflowd binary at $NFFLOWD (build it: cmake -S . -B build && cmake --build build)"
	id nobody >/dev/null 2>&1 || lab_skip "no user nobody"
}

# ---------------------------------------------------------------------------
# Lab life cycle

lab_on_exit() {
	local rc=$?
	trap - EXIT INT TERM HUP
	lab_down "$rc"
	exit "$rc"
}

lab_on_signal() {
	lab_log "interrupted; cleaning up"
	exit "$1"
}

lab_install_traps() {
	trap lab_on_exit EXIT
	trap 'lab_on_signal 130' INT
	trap 'lab_on_signal 143' TERM
	trap 'lab_on_signal 129' HUP
}

# lab_begin: the EXIT trap (lab_down) and this run's temporary directory
# $LAB_TMP. lab_up starts with it; a test without the lab's namespaces
# calls it alone, then lab_ns_add what it needs.
lab_begin() {
	lab_install_traps
	LAB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/nfft.XXXXXX")
	chmod 755 "$LAB_TMP"
}

# lab_ns_add NS: a network namespace with its loopback up, removed by
# lab_down.
lab_ns_add() {
	ip netns add "$1"
	LAB_NAMESPACES+=("$1")
	ip -n "$1" link set lo up
}

# lab_nft_lo_notrack FAMILY: an nftables table that keeps loopback traffic
# (nfflowd -> the collectors) out of the connection table.
lab_nft_lo_notrack() {
	cat <<-EOF
		table $1 raw {
			chain pre {
				type filter hook prerouting priority raw; policy accept;
				iifname "lo" notrack
			}
			chain out {
				type filter hook output priority raw; policy accept;
				oifname "lo" notrack
			}
		}
	EOF
}

# lab_family_up 4|6: the lab's addresses of one IP version, the client's
# and the server's default routes via the router, forwarding in the router
# and its nftables tables for that version: masquerade of what leaves wan0
# (which is what brings conntrack to life in the namespace) and loopback
# (nfflowd -> the collectors) kept out of the connection table, so that
# every DESTROY in the lab is a connection through the router or of its
# own. IPv6 addresses skip duplicate address detection (nodad): they are
# usable at once.
lab_family_up() {
	local len=24 nft=ip ns cli=$LAB_CLIENT_IP lan=$LAB_ROUTER_LAN_IP wan=$LAB_ROUTER_WAN_IP srv=$LAB_SERVER_IP
	local -a nodad=()
	if [ "$1" = 6 ]; then
		len=64 nft=ip6 nodad=(nodad)
		cli=$LAB_CLIENT_IP6 lan=$LAB_ROUTER_LAN_IP6 wan=$LAB_ROUTER_WAN_IP6 srv=$LAB_SERVER_IP6
		for ns in "$LAB_CLI" "$LAB_RTR" "$LAB_SRV"; do
			ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 \
				net.ipv6.conf.default.disable_ipv6=0 net.ipv6.conf.all.accept_dad=0 \
				net.ipv6.conf.default.accept_dad=0
		done
		ip netns exec "$LAB_RTR" sysctl -qw net.ipv6.conf.all.forwarding=1
	else
		ip netns exec "$LAB_RTR" sysctl -qw net.ipv4.ip_forward=1
	fi
	ip -n "$LAB_CLI" addr add "$cli/$len" dev eth0 "${nodad[@]}"
	ip -n "$LAB_CLI" route add default via "$lan"
	ip -n "$LAB_SRV" addr add "$srv/$len" dev eth0 "${nodad[@]}"
	ip -n "$LAB_SRV" route add default via "$wan"
	ip -n "$LAB_RTR" addr add "$lan/$len" dev lan0 "${nodad[@]}"
	ip -n "$LAB_RTR" addr add "$wan/$len" dev wan0 "${nodad[@]}"
	ip netns exec "$LAB_RTR" nft -f - <<-EOF
		table $nft nat {
			chain post {
				type nat hook postrouting priority srcnat; policy accept;
				oifname "wan0" masquerade
			}
		}
		$(lab_nft_lo_notrack "$nft")
	EOF
}

# lab_reach NS HOST WHAT: wait until NS gets a ping reply from HOST (IPv4
# or IPv6), or die: WHAT does not work.
lab_reach() {
	lab_wait_for 5 "$1 to reach $2" \
		ip netns exec "$1" ping "-$(lab_family "$2")" -c 1 -W 1 -q "$2" >/dev/null ||
		lab_die "$3 does not work"
}

# lab_up: the basic lab (above): IPv4 only, client -> server masqueraded.
lab_up() {
	lab_begin
	lab_ns_add "$LAB_CLI"
	lab_ns_add "$LAB_RTR"
	lab_ns_add "$LAB_SRV"

	# The veth pairs are created inside the router namespace, so no name can
	# clash with an interface of the host or of another run.
	ip -n "$LAB_RTR" link add lan0 type veth peer name eth0 netns "$LAB_CLI"
	ip -n "$LAB_RTR" link add wan0 type veth peer name eth0 netns "$LAB_SRV"
	ip -n "$LAB_CLI" link set eth0 up
	ip -n "$LAB_SRV" link set eth0 up
	ip -n "$LAB_RTR" link set lan0 up
	ip -n "$LAB_RTR" link set wan0 up
	lab_family_up 4

	# Counters and timestamps apply to connections created after they are
	# set; events=1 makes every connection report its DESTROY (the default 2
	# only does so for connections created while a listener existed).
	ip netns exec "$LAB_RTR" sysctl -qw net.netfilter.nf_conntrack_acct=1 \
		net.netfilter.nf_conntrack_timestamp=1 net.netfilter.nf_conntrack_events=1

	lab_reach "$LAB_CLI" "$LAB_SERVER_IP" "lab routing"
	# That ping left a connection behind: end it before any test starts.
	lab_ct_flush_client >/dev/null
	lab_log "lab up: $LAB_CLI ($LAB_CLIENT_IP) - $LAB_RTR ($LAB_ROUTER_LAN_IP/$LAB_ROUTER_WAN_IP, masquerade) - $LAB_SRV ($LAB_SERVER_IP); files in $LAB_TMP"
}

# lab_udp_zone TABLE PORT ZONE: an nftables table TABLE in the router that
# puts UDP connections of the client to the server's PORT into conntrack
# ZONE. Zones are chosen before the connection is looked up (priority raw,
# before conntrack's -200); the replies need the same zone to find it.
lab_udp_zone() {
	ip netns exec "$LAB_RTR" nft -f - <<-EOF
		table ip $1 {
			chain pre {
				type filter hook prerouting priority raw; policy accept;
				iifname "lan0" udp dport $2 ct zone set $3
				iifname "wan0" udp sport $2 ct zone set $3
			}
		}
	EOF
}

# lab_direct_route 4|6: the server reaches the client's network of that
# IP version through the router (a route via its WAN address), without NAT:
# masquerade only applies to connections that leave through wan0.
lab_direct_route() {
	if [ "$1" = 6 ]; then
		ip -n "$LAB_SRV" route add fd77:1::/64 via "$LAB_ROUTER_WAN_IP6"
		lab_reach "$LAB_SRV" "$LAB_CLIENT_IP6" "the IPv6 route server -> client (no NAT)"
	else
		ip -n "$LAB_SRV" route add "${LAB_CLIENT_IP%.*}.0/24" via "$LAB_ROUTER_WAN_IP"
		lab_reach "$LAB_SRV" "$LAB_CLIENT_IP" "the route server -> client (no NAT)"
	fi
}

# lab_up_full: lab_up, extended with
#   - IPv6: client fd77:1::2/64 - router fd77:1::1 | 2001:db8:113::1 -
#     server 2001:db8:113::2/64, NAT66 (masquerade on wan0, as for IPv4);
#   - a port forward (DNAT) on the router: TCP and UDP to
#     203.0.113.1:8081 and [2001:db8:113::1]:8081 from the server side go to
#     the client's 10.77.1.2:8000 / [fd77:1::2]:8000;
#   - paths without NAT: the server reaches the client's networks through
#     the router directly (lab_direct_route).
# lab_servers_full_start adds the servers for these paths; lab_ct_start
# NEW,DESTROY and lab_ct_events all are the kernel's truth for them.
lab_up_full() {
	lab_up
	lab_family_up 6
	lab_reach "$LAB_CLI" "$LAB_SERVER_IP6" "IPv6 routing in the lab"
	ip netns exec "$LAB_RTR" nft -f - <<-EOF
		table ip lab_fwd {
			chain pre {
				type nat hook prerouting priority dstnat; policy accept;
				iifname "wan0" ip daddr $LAB_ROUTER_WAN_IP meta l4proto { tcp, udp } th dport $LAB_FWD_PORT dnat to $LAB_CLIENT_IP:$LAB_CLIENT_PORT
			}
		}
		table ip6 lab_fwd {
			chain pre {
				type nat hook prerouting priority dstnat; policy accept;
				iifname "wan0" ip6 daddr $LAB_ROUTER_WAN_IP6 meta l4proto { tcp, udp } th dport $LAB_FWD_PORT dnat to [$LAB_CLIENT_IP6]:$LAB_CLIENT_PORT
			}
		}
	EOF
	lab_direct_route 4
	lab_direct_route 6
	lab_ct_flush_all >/dev/null
	lab_log "full lab: + IPv6 $LAB_CLIENT_IP6 - $LAB_ROUTER_LAN_IP6/$LAB_ROUTER_WAN_IP6 (NAT66) - $LAB_SERVER_IP6; port forward :$LAB_FWD_PORT -> client :$LAB_CLIENT_PORT; server -> client without NAT"
}

# lab_down [rc]: stop every process, remove the namespaces, remove the
# temporary directory (kept for inspection after a failure, or always with
# LAB_KEEP=1).
lab_down() {
	local rc=${1:-0} name ns pids
	set +e
	for name in "${!LAB_PID[@]}"; do
		lab_stop "$name" 3 2>/dev/null
	done
	for ns in "${LAB_NAMESPACES[@]}"; do
		# Anything still running in our namespaces was started by this run.
		pids=$(ip netns pids "$ns" 2>/dev/null)
		if [ -n "$pids" ]; then
			# shellcheck disable=SC2086
			kill -KILL $pids 2>/dev/null
		fi
		ip netns del "$ns" 2>/dev/null
	done
	LAB_NAMESPACES=()
	if [ -n "$LAB_TMP" ] && [ -d "$LAB_TMP" ]; then
		case "$LAB_KEEP:$rc" in
		0:0 | 0:77 | 0:129 | 0:130 | 0:143) # passed, skipped or interrupted
			rm -rf "$LAB_TMP"
			;;
		*)
			lab_log "kept $LAB_TMP for inspection"
			;;
		esac
	fi
	LAB_TMP=""
	set -e
}

# lab_wait_for SECONDS WHAT CMD...: run CMD every 0.1 s until it succeeds.
lab_wait_for() {
	local secs=$1 what=$2 i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		if "$@"; then
			return 0
		fi
		sleep 0.1
	done
	lab_warn "timed out after ${secs}s waiting for $what"
	return 1
}

# ---------------------------------------------------------------------------
# Background processes, each bounded by timeout(1)

# lab_bg NAME NS CMD...: start CMD in namespace NS; stdout/stderr go to
# $LAB_TMP/NAME.out and NAME.err. The pid is in LAB_PID[NAME].
lab_bg() {
	local name=$1 ns=$2
	shift 2
	# Emptied here, not only by the child's redirection, so that a wait on
	# these files never reads what an earlier NAME left.
	: >"$LAB_TMP/$name.out"
	: >"$LAB_TMP/$name.err"
	ip netns exec "$ns" timeout -k 5 "$LAB_MAX_SECONDS" "$@" \
		</dev/null >"$LAB_TMP/$name.out" 2>"$LAB_TMP/$name.err" &
	LAB_PID[$name]=$!
}

lab_pid_alive() {
	local state
	[ -r "/proc/$1/stat" ] || return 1
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

lab_alive() {
	local pid=${LAB_PID[$1]:-}
	[ -n "$pid" ] && lab_pid_alive "$pid"
}

# lab_stop NAME [SECONDS [SIGNAL]]: SIGNAL (default TERM; timeout(1) passes
# it on), wait up to SECONDS (default 10), then SIGKILL. The exit status is
# left in LAB_RC (143 = died of SIGTERM).
lab_stop() {
	local name=$1 secs=${2:-10} sig=${3:-TERM} pid i
	pid=${LAB_PID[$name]:-}
	LAB_RC=0
	[ -n "$pid" ] || return 0
	kill "-$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 10; i++)); do
		lab_pid_alive "$pid" || break
		sleep 0.1
	done
	if lab_pid_alive "$pid"; then
		lab_warn "$name (pid $pid) still running ${secs}s after SIG$sig; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || LAB_RC=$?
	unset "LAB_PID[$name]"
}

# lab_wait_exit NAME SECONDS: wait for NAME to exit by itself; LAB_RC gets
# its status. Fails (and stops it) if it is still running after SECONDS.
lab_wait_exit() {
	local name=$1 secs=$2 pid
	pid=${LAB_PID[$name]:-}
	LAB_RC=0
	[ -n "$pid" ] || return 0
	if ! lab_wait_for "$secs" "$name to finish" lab_not_alive "$name"; then
		lab_stop "$name" 2
		return 1
	fi
	wait "$pid" 2>/dev/null || LAB_RC=$?
	unset "LAB_PID[$name]"
}

lab_not_alive() { ! lab_alive "$1"; }

# lab_listening NS tcp|udp PORT [N]: at least N (default 1) sockets listen
# on PORT in NS.
lab_listening() {
	local opt=-Htln
	[ "$2" = udp ] && opt=-Huln
	[ "$(ip netns exec "$1" ss "$opt" "sport = :$3" 2>/dev/null | wc -l)" -ge "${4:-1}" ]
}

# lab_ns_pids_named NS NAME: the pids (one line, sorted) of the processes in
# network namespace NS whose command name is NAME.
lab_ns_pids_named() {
	local pid out=()
	for pid in $(ip netns pids "$1" 2>/dev/null); do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && out+=("$pid")
	done
	[ "${#out[@]}" -eq 0 ] || printf '%s\n' "${out[@]}" | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# lab_proc_status PID FIELD: the value of FIELD in /proc/PID/status, its
# words separated by single spaces (e.g. Uid -> "65534 65534 65534 65534").
lab_proc_status() {
	awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ +/, ""); print; exit }' "/proc/$1/status" 2>/dev/null
}

# lab_netlink_socks PID: the /proc/net/netlink lines of PID's netlink
# sockets (seen from PID's own namespace): sk Eth Pid Groups Rmem Wmem Dump
# Locks Drops Inode. Nothing if PID has none or is gone.
lab_netlink_socks() {
	local inodes
	inodes=$(find "/proc/$1/fd" -maxdepth 1 -lname 'socket:*' -printf '%l\n' 2>/dev/null | tr -cd '0-9\n' | tr '\n' ' ')
	[ -n "${inodes// /}" ] || return 0
	awk -v want="$inodes" 'BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) ok[w[i]] = 1 }
		NR > 1 && ($10 in ok)' "/proc/$1/net/netlink" 2>/dev/null || true
}

# ---------------------------------------------------------------------------
# Servers and traffic (all bounded in size and time)

# lab_family HOST: 4 or 6.
lab_family() {
	case $1 in
	*:*) echo 6 ;;
	*) echo 4 ;;
	esac
}

# lab_host_port HOST PORT: HOST:PORT for socat, an IPv6 HOST in brackets.
lab_host_port() {
	case $1 in
	*:*) echo "[$1]:$2" ;;
	*) echo "$1:$2" ;;
	esac
}

# lab_tcp_sink NAME NS HOST PORT: a TCP sink on HOST:PORT (IPv4 or IPv6)
# in namespace NS, a process per connection, started as lab_bg NAME.
lab_tcp_sink() {
	local host=$3
	[ "$(lab_family "$host")" = 4 ] || host="[$host]"
	lab_bg "$1" "$2" socat -u \
		"TCP$(lab_family "$3")-LISTEN:$4,bind=$host,reuseaddr,fork" OPEN:/dev/null,wronly=1
}

# lab_udp_echo NAME NS HOST PORT: a UDP echo on HOST:PORT (IPv4 or IPv6)
# in namespace NS, started as lab_bg NAME.
lab_udp_echo() {
	local host=$3
	[ "$(lab_family "$host")" = 4 ] || host="[$host]"
	lab_bg "$1" "$2" socat -T 2 "UDP$(lab_family "$3")-RECVFROM:$4,bind=$host,fork" PIPE
}

# lab_servers_start: TCP sink, UDP echo and HTTP server in the server ns.
lab_servers_start() {
	mkdir -p "$LAB_TMP/www"
	head -c 1048576 /dev/urandom >"$LAB_TMP/www/1M.bin"
	head -c 307200 /dev/urandom >"$LAB_TMP/www/300k.bin"
	lab_tcp_sink tcp-sink "$LAB_SRV" "$LAB_SERVER_IP" "$LAB_TCP_SINK_PORT"
	lab_udp_echo udp-echo "$LAB_SRV" "$LAB_SERVER_IP" "$LAB_UDP_ECHO_PORT"
	lab_bg http "$LAB_SRV" python3 -m http.server "$LAB_HTTP_PORT" \
		--bind "$LAB_SERVER_IP" --directory "$LAB_TMP/www"
	if ! lab_wait_for 10 "the TCP sink" lab_listening "$LAB_SRV" tcp "$LAB_TCP_SINK_PORT" ||
		! lab_wait_for 10 "the UDP echo server" lab_listening "$LAB_SRV" udp "$LAB_UDP_ECHO_PORT" ||
		! lab_wait_for 15 "the HTTP server" lab_listening "$LAB_SRV" tcp "$LAB_HTTP_PORT"; then
		lab_die "servers did not start (see $LAB_TMP/*.err)"
	fi
}

# lab_servers_full_start: lab_servers_start, plus the server's IPv6 TCP sink
# and UDP echo (the same ports) and the client's TCP sink and UDP echo on
# LAB_CLIENT_PORT (both families), reached through the port forward and
# the no-NAT path of lab_up_full.
lab_servers_full_start() {
	lab_servers_start
	lab_tcp_sink tcp-sink6 "$LAB_SRV" "$LAB_SERVER_IP6" "$LAB_TCP_SINK_PORT"
	lab_udp_echo udp-echo6 "$LAB_SRV" "$LAB_SERVER_IP6" "$LAB_UDP_ECHO_PORT"
	lab_tcp_sink cli-tcp-sink "$LAB_CLI" "$LAB_CLIENT_IP" "$LAB_CLIENT_PORT"
	lab_udp_echo cli-udp-echo "$LAB_CLI" "$LAB_CLIENT_IP" "$LAB_CLIENT_PORT"
	lab_tcp_sink cli-tcp-sink6 "$LAB_CLI" "$LAB_CLIENT_IP6" "$LAB_CLIENT_PORT"
	lab_udp_echo cli-udp-echo6 "$LAB_CLI" "$LAB_CLIENT_IP6" "$LAB_CLIENT_PORT"
	local ns proto port
	for ns in "$LAB_SRV:tcp:$LAB_TCP_SINK_PORT" "$LAB_SRV:udp:$LAB_UDP_ECHO_PORT" \
		"$LAB_CLI:tcp:$LAB_CLIENT_PORT" "$LAB_CLI:udp:$LAB_CLIENT_PORT"; do
		IFS=: read -r ns proto port <<<"$ns"
		lab_wait_for 10 "$proto servers on port $port in $ns" lab_listening "$ns" "$proto" "$port" 2 ||
			lab_die "servers did not start (see $LAB_TMP/*.err)"
	done
}

# lab_server_add_addrs FIRST N: add N consecutive addresses from FIRST (in
# the server's /24, e.g. 203.0.113.10) to the server's interface; each is a
# new conntrack tuple (for bench/).
lab_server_add_addrs() {
	local base=${1%.*} last=${1##*.} i
	for ((i = 0; i < $2; i++)); do
		ip -n "$LAB_SRV" addr add "$base.$((last + i))/32" dev eth0
	done
}

# lab_flood_up: the lab for bench/udpflood (UDPFLOOD) loads, sent with -a 32
# -A 203.0.113.10: 32 server addresses from 203.0.113.10, a server that
# drops the load (UDP to ports 1024-65535) before anything answers it, and
# nfcapd on LAB_COLLECTOR_PORT in the router. Skips without UDPFLOOD.
lab_flood_up() {
	[ -x "${UDPFLOOD:-}" ] || lab_skip "UDPFLOOD (bench/udpflood.c, built by CMake) is not set"
	lab_up
	lab_server_add_addrs 203.0.113.10 32
	ip netns exec "$LAB_SRV" nft add table ip flood
	ip netns exec "$LAB_SRV" nft add chain ip flood pre '{ type filter hook prerouting priority raw; }'
	ip netns exec "$LAB_SRV" nft add rule ip flood pre udp dport 1024-65535 drop
	lab_nfcapd_start "$LAB_COLLECTOR_PORT"
}

# lab_nfflowd_copy: the path of a copy of $NFFLOWD in the lab's directory
# (mode 0755), for commands run as another user: the build tree may sit in a
# directory only root can enter (a clone in mktemp -d).
lab_nfflowd_copy() {
	local bin=$LAB_TMP/nfflowd-copy
	[ -x "$bin" ] || { cp "$NFFLOWD" "$bin" && chmod 755 "$bin"; }
	echo "$bin"
}

# lab_udp_connections N: N new connections through the router, one datagram
# from client port 42000 to each of N server ports from 10000 on. No one
# listens there, so the server answers with ICMP errors; that is fine.
lab_udp_connections() {
	ip netns exec "$LAB_CLI" timeout 60 python3 - "$LAB_SERVER_IP" "$1" <<-'PY'
		import socket, sys
		dst, n = sys.argv[1], int(sys.argv[2])
		s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		s.bind(("0.0.0.0", 42000))
		for i in range(n):
		    s.sendto(b"x", (dst, 10000 + i))
	PY
}

# lab_udp_from SRC SPORT: one UDP request from the client's address SRC
# (one of its addresses), source port SPORT, to the UDP echo, and its reply.
lab_udp_from() {
	local reply
	reply=$(printf 'q%s' "$2" | ip netns exec "$LAB_CLI" timeout 5 \
		socat -T 2 -t 0.3 - "UDP4:$LAB_SERVER_IP:$LAB_UDP_ECHO_PORT,bind=$1:$2,reuseaddr") ||
		lab_die "UDP exchange from $1:$2 failed"
	[ "$reply" = "q$2" ] || lab_die "UDP echo from $1:$2 replied '$reply'"
}

# lab_slow_server NAME PORT CHUNKS: a TCP server on the server's PORT that
# sends its one client CHUNKS times 10 kB, one every 0.1 s, and closes (a
# download of CHUNKS / 10 s), started as lab_bg NAME; returns once it
# listens.
lab_slow_server() {
	lab_bg "$1" "$LAB_SRV" socat -u \
		SYSTEM:"for i in \$(seq $3); do head -c 10000 /dev/urandom; sleep 0.1; done" \
		"TCP4-LISTEN:$2,bind=$LAB_SERVER_IP,reuseaddr"
	lab_wait_for 10 "the slow server on port $2" lab_listening "$LAB_SRV" tcp "$2" ||
		lab_die "the slow server on port $2 did not start"
}

# lab_slow_client NAME PORT: the client's download from lab_slow_server on
# PORT, started as lab_bg NAME (lab_wait_exit NAME waits for its end).
lab_slow_client() {
	lab_bg "$1" "$LAB_CLI" socat -u "TCP4:$LAB_SERVER_IP:$2" OPEN:/dev/null,wronly=1
}

# lab_tcp_upload BYTES: one TCP connection client -> server carrying BYTES.
lab_tcp_upload() {
	head -c "$1" /dev/urandom >"$LAB_TMP/upload.bin"
	ip netns exec "$LAB_CLI" timeout 20 socat -u "OPEN:$LAB_TMP/upload.bin" \
		"TCP4:$LAB_SERVER_IP:$LAB_TCP_SINK_PORT" ||
		lab_die "TCP upload of $1 bytes failed"
}

# lab_http_download FILE: one HTTP GET of FILE (1M.bin or 300k.bin).
lab_http_download() {
	local size
	size=$(ip netns exec "$LAB_CLI" timeout 20 curl -sS --noproxy '*' --max-time 15 \
		-o /dev/null -w '%{size_download}' "http://$LAB_SERVER_IP:$LAB_HTTP_PORT/$1") ||
		lab_die "HTTP download of $1 failed"
	[ "$size" = "$(stat -c %s "$LAB_TMP/www/$1")" ] || lab_die "HTTP download of $1: got $size bytes"
}

# lab_udp_exchange [PAYLOAD [SOURCE-PORT]]: one UDP request and its reply.
lab_udp_exchange() {
	local payload=${1:-query} sport=${2:-} reply opt=""
	[ -n "$sport" ] && opt=",sourceport=$sport,reuseaddr"
	reply=$(printf '%s' "$payload" | ip netns exec "$LAB_CLI" timeout 5 \
		socat -T 2 -t 1 - "UDP4:$LAB_SERVER_IP:$LAB_UDP_ECHO_PORT$opt") ||
		lab_die "UDP exchange failed"
	[ "$reply" = "$payload" ] || lab_die "UDP echo replied '$reply' instead of '$payload'"
}

# lab_ping COUNT: ICMP echo client -> server, every reply required.
lab_ping() {
	ip netns exec "$LAB_CLI" timeout 20 ping -c "$1" -i 0.2 -W 2 -q "$LAB_SERVER_IP" >/dev/null ||
		lab_die "ping $LAB_SERVER_IP failed"
}

# lab_tcp_send NS HOST PORT BYTES: one TCP connection from namespace NS to
# HOST:PORT (IPv4 or IPv6) carrying BYTES (to a sink).
lab_tcp_send() {
	local ns=$1 host=$2 port=$3 bytes=$4 f
	f=$LAB_TMP/send-$bytes.bin
	[ -s "$f" ] || head -c "$bytes" /dev/urandom >"$f"
	ip netns exec "$ns" timeout 20 socat -u "OPEN:$f" \
		"TCP$(lab_family "$host"):$(lab_host_port "$host" "$port")" ||
		lab_die "TCP send of $bytes bytes to $(lab_host_port "$host" "$port") failed"
}

# lab_udp_send NS HOST PORT PAYLOAD [SOURCE-PORT]: one UDP request from NS
# to HOST:PORT and its echoed reply (socat waits 0.5 s for it).
lab_udp_send() {
	local ns=$1 host=$2 port=$3 payload=$4 opt="" reply
	[ -z "${5:-}" ] || opt=",sourceport=$5,reuseaddr"
	reply=$(printf '%s' "$payload" | ip netns exec "$ns" timeout 5 \
		socat -T 2 -t 0.5 - "UDP$(lab_family "$host"):$(lab_host_port "$host" "$port")$opt") ||
		lab_die "UDP exchange with $(lab_host_port "$host" "$port") failed"
	[ "$reply" = "$payload" ] ||
		lab_die "UDP echo $(lab_host_port "$host" "$port") replied '$reply' instead of '$payload'"
}

# lab_ping_from NS HOST COUNT [IDENTIFIER]: ICMP or ICMPv6 echo, every
# reply required.
lab_ping_from() {
	local id=()
	[ -z "${4:-}" ] || id=(-e "$4")
	ip netns exec "$1" timeout 20 ping "-$(lab_family "$2")" -c "$3" -i 0.2 -W 2 -q "${id[@]}" "$2" >/dev/null ||
		lab_die "ping $2 from $1 failed"
}

# Shorthands for the client side over IPv6, as lab_tcp_upload,
# lab_udp_exchange and lab_ping for IPv4.
lab_tcp_upload6() { lab_tcp_send "$LAB_CLI" "$LAB_SERVER_IP6" "$LAB_TCP_SINK_PORT" "$1"; }
lab_udp_exchange6() { lab_udp_send "$LAB_CLI" "$LAB_SERVER_IP6" "$LAB_UDP_ECHO_PORT" "${1:-query6}"; }
lab_ping6() { lab_ping_from "$LAB_CLI" "$LAB_SERVER_IP6" "$1"; }

# ---------------------------------------------------------------------------
# The router's connection table

# lab_ct_delete ARGS...: conntrack -D ARGS in the router: delete (end) the
# connections they select; prints how many were deleted. The kernel then
# sends their DESTROY events with the final counters.
lab_ct_delete() {
	local out n
	out=$(ip netns exec "$LAB_RTR" conntrack -D "$@" 2>&1 >/dev/null) || true
	n=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9][0-9]*\) flow entries have been deleted.*/\1/p')
	echo "${n:-0}"
}

# lab_ct_flush_client [FILTER...]: lab_ct_delete of every client connection
# (that conntrack FILTER options such as "-p icmp" select).
lab_ct_flush_client() { lab_ct_delete -s "$LAB_CLIENT_IP" "$@"; }

# lab_ct_flush_all: lab_ct_delete of every connection, both families.
lab_ct_flush_all() { echo $(($(lab_ct_delete -f ipv4) + $(lab_ct_delete -f ipv6))); }

# lab_ct_end_client N [icmp-first]: end the client's connections with
# conntrack -D, check that N ended and wait for their DESTROY events. With
# icmp-first the ICMP ones end first and the rest more than a flush_interval
# (0.2 s) later, so that nfflowd sends more than one datagram.
lab_ct_end_client() {
	local ended=0
	if [ "${2:-}" = icmp-first ]; then
		ended=$(lab_ct_flush_client -p icmp)
		lab_ct_wait_destroys 1 || true
		sleep 0.6
	fi
	ended=$((ended + $(lab_ct_flush_client)))
	[ "$ended" -eq "$1" ] || lab_fail "conntrack -D ended $ended client connections, expected $1"
	lab_ct_wait_destroys "$1" || true
}

# ---------------------------------------------------------------------------
# The kernel's truth: two conntrack -E listeners in the router ns, XML with
# ktimestamp (the start/stop times in ns) and text (the ICMP type, code and
# echo identifier, marks and zones that the XML leaves out), joined by
# CTA_ID; lab_ct_events reads them.

# lab_ct_start [EVENTS]: the listeners for EVENTS (conntrack -e: default
# DESTROY; NEW,DESTROY for lab_ct_events all), both families, writing
# $LAB_TMP/ct-xml.out and ct-txt.out; returns once they are subscribed.
# shellcheck disable=SC2120 # the tests pass EVENTS
lab_ct_start() {
	lab_bg ct-xml "$LAB_RTR" conntrack -E -e "${1:-DESTROY}" -o xml,ktimestamp
	lab_bg ct-txt "$LAB_RTR" conntrack -E -e "${1:-DESTROY}" -o extended,id
	lab_ct_probe || lab_die "conntrack -E listeners did not report a probe entry"
}

lab_ct_stop() {
	lab_stop ct-xml 5
	lab_stop ct-txt 5
}

lab_ct_seen_probe() { # SPORT
	grep -q "<flow type=\"destroy\">.*<src>$LAB_PROBE_SRC</src>.*<sport>$1</sport>" "$LAB_TMP/ct-xml.out" &&
		grep -q "DESTROY.* src=$LAB_PROBE_SRC .*sport=$1 " "$LAB_TMP/ct-txt.out"
}

# lab_ct_probe: create and delete a dummy entry until both listeners have
# reported its DESTROY, i.e. until they are subscribed.
lab_ct_probe() {
	local attempt sport
	for attempt in 1 2 3 4 5 6 7 8 9 10; do
		LAB_PROBE_SEQ=$((LAB_PROBE_SEQ + 1))
		sport=$((40000 + LAB_PROBE_SEQ))
		ip netns exec "$LAB_RTR" conntrack -I -p udp -s "$LAB_PROBE_SRC" -d "$LAB_PROBE_DST" \
			--sport "$sport" --dport 9 -t 30 >/dev/null 2>&1 || return 1
		ip netns exec "$LAB_RTR" conntrack -D -p udp -s "$LAB_PROBE_SRC" --sport "$sport" \
			>/dev/null 2>&1 || return 1
		if lab_wait_for 1 "probe $attempt" lab_ct_seen_probe "$sport" 2>/dev/null; then
			return 0
		fi
	done
	return 1
}

# lab_ct_events MODE [TXT XML]: the kernel's connections as conntrack
# reported them, probes left out, one line each in the order reported.
# TXT is conntrack's text output (-o extended,id), XML its XML output
# (-o xml,ktimestamp, with id for a table dump) of the same events or
# table; they are joined by event and CTA_ID. Default: the files of the
# lab_ct_start listeners. MODE:
#   v5     the DESTROYs (NetFlow v5's view; lab_check_destroys,
#          lab_expected_triplets):
#            id proto osrc osport odst odport rsrc rsport rdst rdport
#               opkts obytes rpkts rbytes start_ms stop_ms
#          ICMP ports: osport/rsport 0, odport/rdport type*256+code of that
#          direction.
#   list   the entries of a table dump (conntrack -L), as v5 with stop_ms
#          "-" (the connection has not ended) and a 17th column: the seconds
#          its timeout has left.
#   all    the NEW and DESTROY events (v9/IPFIX: lab_nat_expected):
#            event id family proto osrc osport odst odport rsrc rsport rdst
#                  rdport opkts obytes rpkts rbytes start_ms stop_ms tcp_state
#          event: new or destroy; family: 4 or 6. ICMP and ICMPv6: sport is
#          the echo identifier and dport type*256+code of that direction
#          (nfflowd's NetFlow v9/IPFIX convention). NEW events carry no
#          counters (0) and no times (-); tcp_state is the TCP state when
#          the event was sent (- for other protocols).
#   marks  from TXT alone, every NEW, UPDATE and DESTROY event:
#            event id mark zone
#          (event new, update or destroy; mark in decimal; 0 where the
#          kernel sent no mark or no zone).
# Counters and ports the kernel did not send are 0, times it did not send -.
lab_ct_events() {
	awk -v mode="$1" -v probe="$LAB_PROBE_SRC" '
	# tag(s, name): the text of the first <name> in s.
	function tag(s, name,   t, i, j) {
		t = "<" name ">"; i = index(s, t)
		if (!i) return ""
		s = substr(s, i + length(t)); j = index(s, "</" name ">")
		return substr(s, 1, j - 1)
	}
	# section(s, dir): the <meta direction="dir"> part of a flow.
	function section(s, dir,   i, j) {
		i = index(s, "<meta direction=\"" dir "\">")
		if (!i) return ""
		s = substr(s, i); j = index(s, "</meta>")
		return substr(s, 1, j)
	}
	# attr(s, name): the value of the first attribute name="..." in s.
	function attr(s, name,   i) {
		i = index(s, name "=\"")
		s = substr(s, i + length(name) + 2)
		return substr(s, 1, index(s, "\"") - 1)
	}
	function ns2ms(s) { return length(s) > 6 ? substr(s, 1, length(s) - 6) : "-" }
	function z(s) { return s == "" ? 0 : s }
	FILENAME == ARGV[1] {
		if (match($0, /\[(NEW|UPDATE|DESTROY)\]/)) ev = tolower(substr($0, RSTART + 1, RLENGTH - 2))
		else if ($1 ~ /^ipv[46]$/) ev = "" # an entry of a table dump
		else next
		id = ""; n = 0; prev = ""; mark = 0; zone = 0
		split("", ei)
		for (k = 1; k <= NF; k++) {
			if ($k ~ /^type=/) { n++; ty[n] = substr($k, 6) }
			else if ($k ~ /^code=/) cd[n] = substr($k, 6)
			else if ($k ~ /^id=/) {
				if (prev ~ /^code=/) ei[n] = substr($k, 4) # ICMP echo identifier
				else id = substr($k, 4)                   # CTA_ID
			}
			else if ($k ~ /^mark=/) mark = substr($k, 6)
			else if ($k ~ /^zone=/) zone = substr($k, 6)
			prev = $k
		}
		if (mode == "marks") {
			if (ev != "" && !index($0, "src=" probe " ")) print ev, id, mark, zone
			next
		}
		if (n >= 2) icmp[ev, id] = ei[1] " " (ty[1] * 256 + cd[1]) " " ei[2] " " (ty[2] * 256 + cd[2])
		next
	}
	mode == "marks" { exit }
	/<flow[ >]/ {
		ev = index($0, "<flow type=\"") ? attr($0, "<flow type") : ""
		if (mode == "all" ? (ev != "new" && ev != "destroy") : ev != (mode == "list" ? "" : "destroy"))
			next
		o = section($0, "original"); r = section($0, "reply"); ind = section($0, "independent")
		if (tag(o, "src") == probe) next
		id = tag(ind, "id"); fam = (attr(o, "<layer3 protonum") == 10) ? 6 : 4
		p = attr(o, "<layer4 protonum")
		osp = tag(o, "sport"); odp = tag(o, "dport"); rsp = tag(r, "sport"); rdp = tag(r, "dport")
		if (p == 1 || p == 58) {
			split(((ev, id) in icmp) ? icmp[ev, id] : "? ? ? ?", tc, " ")
			osp = (mode == "all") ? tc[1] : 0; odp = tc[2]
			rsp = (mode == "all") ? tc[3] : 0; rdp = tc[4]
		}
		head = id " " p
		if (mode == "all") head = ev " " id " " fam " " p
		line = head " " tag(o, "src") " " z(osp) " " tag(o, "dst") " " z(odp) " " \
			tag(r, "src") " " z(rsp) " " tag(r, "dst") " " z(rdp) " " \
			z(tag(o, "packets")) " " z(tag(o, "bytes")) " " z(tag(r, "packets")) " " z(tag(r, "bytes")) " " \
			ns2ms(tag(ind, "start")) " " ns2ms(tag(ind, "stop"))
		st = tag(ind, "state")
		if (mode == "all") line = line " " (st == "" ? "-" : st)
		if (mode == "list") line = line " " z(tag(ind, "timeout"))
		print line
	}' "${2:-$LAB_TMP/ct-txt.out}" "${3:-$LAB_TMP/ct-xml.out}"
}

# lab_ct_count EVENT [SOURCE]: how many EVENT events (new or destroy) the
# listeners reported, only of connections from SOURCE if given.
lab_ct_count() {
	lab_ct_events all | awk -v e="$1" -v s="${2:-}" '$1 == e && (s == "" || $5 == s) { n++ } END { print n + 0 }'
}

lab_ct_have() { [ "$(lab_ct_count "$1" "${3:-}")" -ge "$2" ]; } # EVENT N [SOURCE]

# lab_ct_wait EVENT N [SOURCE]: until the listeners reported N EVENT events
# (of connections from SOURCE), at most 10 s.
lab_ct_wait() {
	lab_wait_for 10 "$2 $1 events${3:+ from $3}" lab_ct_have "$@"
}

# lab_ct_wait_destroys N: until N DESTROYs of client connections were
# reported.
lab_ct_wait_destroys() { lab_ct_wait destroy "$1" "$LAB_CLIENT_IP"; }

# lab_ct_list: the router's connection table now (lab_ct_events list).
lab_ct_list() {
	local xml=$LAB_TMP/ct-list.xml txt=$LAB_TMP/ct-list.txt
	ip netns exec "$LAB_RTR" conntrack -L -o xml,id,ktimestamp >"$xml" 2>/dev/null
	ip netns exec "$LAB_RTR" conntrack -L -o extended,id >"$txt" 2>/dev/null
	lab_ct_events list "$txt" "$xml"
}

# lab_ct_listeners: print the router namespace's netlink sockets subscribed
# to a conntrack event group (NETLINK_NETFILTER = 12; groups 1-3 are
# NFNLGRP_CONNTRACK_NEW, UPDATE and DESTROY), one /proc/net/netlink line each.
lab_ct_listeners() {
	ip netns exec "$LAB_RTR" cat /proc/net/netlink |
		awk 'NR > 1 && $2 == 12 && (index("0123456789abcdef", tolower(substr($4, length($4)))) - 1) % 8 != 0'
}

# lab_ct_full_categories < events: for each DESTROY (lab_ct_events all
# lines), its path in the full lab and protocol, e.g. snat4/6 (client ->
# server, masquerade), nat66/58, dnat4/17 (server -> router's port forward
# -> client), nonat4/1 (server -> client, routed), other/P for anything else.
lab_ct_full_categories() {
	awk -v c4="$LAB_CLIENT_IP" -v s4="$LAB_SERVER_IP" -v w4="$LAB_ROUTER_WAN_IP" \
		-v c6="$LAB_CLIENT_IP6" -v s6="$LAB_SERVER_IP6" -v w6="$LAB_ROUTER_WAN_IP6" '
	$1 != "destroy" { next }
	{
		c = ($3 == 6) ? c6 : c4; s = ($3 == 6) ? s6 : s4; w = ($3 == 6) ? w6 : w4
		if ($5 == c && $7 == s && $9 == s && $11 == w) cat = ($3 == 6) ? "nat66" : "snat4"
		else if ($5 == s && $7 == w && $9 == c && $11 == s) cat = "dnat" $3
		else if ($5 == s && $7 == c && $9 == c && $11 == s) cat = "nonat" $3
		else cat = "other"
		print cat "/" $4
	}'
}

# ---------------------------------------------------------------------------
# The collector: nfcapd, by default in the router namespace on 127.0.0.1:PORT

lab_nfcapd_dir() { echo "$LAB_TMP/nfcapd-$1"; }

# lab_nfcapd_start_in NS ADDRESS PORT: nfcapd in namespace NS (e.g. the
# server's, so that the export datagrams cross the router's connection
# tracking) bound to ADDRESS:PORT; its files, its process name and
# lab_nfcapd_stop/_check are those of PORT.
lab_nfcapd_start_in() {
	local ns=$1 addr=$2 port=$3 dir
	dir=$(lab_nfcapd_dir "$port")
	mkdir -p "$dir"
	lab_bg "nfcapd-$port" "$ns" nfcapd -b "$addr" -p "$port" -w "$dir" -t 300
	lab_wait_for 10 "nfcapd on $(lab_host_port "$addr" "$port") in $ns" lab_listening "$ns" udp "$port" ||
		lab_die "nfcapd did not start: $(cat "$LAB_TMP/nfcapd-$port.err")"
}

# lab_nfcapd_start [PORT]: nfcapd in the router on 127.0.0.1:PORT.
lab_nfcapd_start() { lab_nfcapd_start_in "$LAB_RTR" 127.0.0.1 "${1:-$LAB_COLLECTOR_PORT}"; }

# lab_nfcapd_start_at ADDRESS PORT: nfcapd in the router on ADDRESS (e.g.
# ::1).
lab_nfcapd_start_at() { lab_nfcapd_start_in "$LAB_RTR" "$1" "$2"; }

# lab_nfcapd_stop [PORT]: SIGTERM makes nfcapd write and close its file.
lab_nfcapd_stop() {
	local port=${1:-$LAB_COLLECTOR_PORT}
	sleep 0.3 # let it read what is queued on its socket
	lab_stop "nfcapd-$port" 10
	[ "$LAB_RC" -eq 0 ] || lab_warn "nfcapd exited with status $LAB_RC"
}

# lab_nfcapd_totals FILE: nfcapd's own summaries (printed when it stops)
# in FILE, its stderr, added up: "files flows sequence-errors bad-packets";
# nothing if it printed none. nfcapd prints one summary per file, and
# starts a new file at each multiple of its -t interval (300 s) of the wall
# clock, so a run that crosses one has its records in more than one summary.
lab_nfcapd_totals() {
	awk '/^Ident: .*Flows: / {
		n++
		for (i = 1; i < NF; i++) {
			v = $(i + 1); gsub(/,/, "", v)
			if ($i == "Flows:") f += v
			else if ($i == "Errors:" && $(i - 1) == "Sequence") s += v
			else if ($i == "Packets:" && $(i - 1) == "Bad") b += v
		}
	} END { if (n) print n, f + 0, s + 0, b + 0 }' "$1"
}

# lab_nfcapd_check PORT RECORDS: nfcapd's summaries (lab_nfcapd_totals)
# must show RECORDS flows, no sequence errors (NetFlow v5 flow_sequence or
# v9/IPFIX sequence gaps between datagrams) and no bad packets.
lab_nfcapd_check() {
	local port=$1 records=$2 n f s b total
	read -r n f s b <<<"$(lab_nfcapd_totals "$LAB_TMP/nfcapd-$port.err")"
	if [ -z "$n" ]; then
		lab_fail "nfcapd printed no summary (see $LAB_TMP/nfcapd-$port.err)"
		return
	fi
	total="$n files, Flows: $f, Sequence Errors: $s, Bad Packets: $b"
	lab_log "nfcapd on port $port: $total"
	[ "$f" -eq "$records" ] || lab_fail "nfcapd on port $port counted other than $records flows: $total"
	[ "$s" -eq 0 ] || lab_fail "nfcapd on port $port saw sequence errors: $total"
	[ "$b" -eq 0 ] || lab_fail "nfcapd on port $port saw bad packets: $total"
}

# lab_nfdump_flows PORT: normalised flows from every file nfcapd wrote, plus
# a tenth column: when nfcapd received the record (ms).
# %ter is not used: nfdump 1.7.1 prints its milliseconds wrongly; the end is
# start + duration.
lab_nfdump_flows() {
	local port=${1:-$LAB_COLLECTOR_PORT}
	nfdump -q -N -R "$(lab_nfcapd_dir "$port")" \
		-o 'fmt:%pr|%sa|%sp|%da|%dp|%pkt|%byt|%tsr|%td|%trr' |
		awk -F'|' '
		function ms(s,   p) {
			p = index(s, ".")
			if (!p) return s * 1000
			return substr(s, 1, p - 1) * 1000 + substr(substr(s, p + 1) "000", 1, 3)
		}
		{
			for (i = 1; i <= NF; i++) gsub(/[ \t]/, "", $i)
			if (NF < 9 || $1 == "") next
			dp = $5
			if (dp ~ /^[0-9]+\.[0-9]+$/) { split(dp, tc, "."); dp = tc[1] * 256 + tc[2] }
			start = ms($8)
			printf "%s %s %s %s %s %s %s %.0f %.0f %.0f\n", $1, $2, $3, $4, dp, $6, $7, start, start + ms($9), ms($10)
		}'
}

# lab_nfdump_table [PORT]: the collector's flows as nfdump prints them.
lab_nfdump_table() {
	local port=${1:-$LAB_COLLECTOR_PORT}
	nfdump -N -R "$(lab_nfcapd_dir "$port")" \
		-o 'fmt:%ts %td %pr %sap -> %dap %pkt %byt %fl'
}

# ---------------------------------------------------------------------------
# tshark: captures nfflowd's export datagrams on the router's loopback and
# decodes them with Wireshark's NetFlow dissector (cflow).

lab_tshark_file() { echo "$LAB_TMP/tshark-$1.pcapng"; }

lab_tshark_seen_probe() { # PORT
	[ -s "$(lab_tshark_file "$1")" ] &&
		[ -n "$(tshark -r "$(lab_tshark_file "$1")" -Y "udp.dstport == $LAB_TSHARK_PROBE_PORT" 2>/dev/null)" ]
}

lab_tshark_capturing() { # PORT
	printf 'capture-probe' | ip netns exec "$LAB_RTR" timeout 5 \
		socat -u - "UDP4-SENDTO:127.0.0.1:$LAB_TSHARK_PROBE_PORT" 2>/dev/null || true
	lab_wait_for 1 "the capture probe" lab_tshark_seen_probe "$1" 2>/dev/null
}

# lab_tshark_start PORT...: for each PORT, capture UDP to PORT (and to the
# probe port) on the router's loopback into $(lab_tshark_file PORT); the
# captures start together (in the time of one) and this returns once each
# has captured a probe datagram, i.e. once they really run.
lab_tshark_start() {
	local port
	for port in "$@"; do
		lab_bg "tshark-$port" "$LAB_RTR" tshark -n -i lo \
			-f "udp dst port $port or udp dst port $LAB_TSHARK_PROBE_PORT" -w "$(lab_tshark_file "$port")"
	done
	for port in "$@"; do
		lab_wait_for 15 "tshark to start capturing" grep -q "Capturing on" "$LAB_TMP/tshark-$port.err" ||
			lab_die "tshark did not start: $(cat "$LAB_TMP/tshark-$port.err")"
	done
	for port in "$@"; do
		lab_wait_for 10 "tshark to capture a probe datagram" lab_tshark_capturing "$port" ||
			lab_die "tshark captures nothing on the router's loopback"
	done
}

# lab_tshark_stop PORT: SIGINT makes tshark finish the capture file.
lab_tshark_stop() {
	local port=$1
	sleep 0.3 # let it write what it has captured
	lab_stop "tshark-$port" 10 INT
	[ "$LAB_RC" -eq 0 ] || lab_fail "tshark exited with status $LAB_RC (see $LAB_TMP/tshark-$port.err)"
}

# lab_tshark_problems PORT [FILE]: every packet of the capture of PORT (or
# FILE) that tshark finds malformed or attaches expert information to
# (nothing for a clean capture).
lab_tshark_problems() {
	local port=$1
	tshark -n -r "${2:-$(lab_tshark_file "$port")}" -d "udp.port==$port,cflow" \
		-Y '_ws.expert || _ws.malformed' 2>&1 | grep -v '^Running as user "root"' || true
}

# lab_tshark_fields PORT FIELD...: one line per export datagram (to PORT),
# fields separated by "|", repeated fields by ",".
lab_tshark_fields() {
	local port=$1 f
	local -a args=()
	shift
	for f in "$@"; do args+=(-e "$f"); done
	tshark -n -r "$(lab_tshark_file "$port")" -d "udp.port==$port,cflow" \
		-Y "udp.dstport == $port" -T fields -E separator='|' -E occurrence=a -E aggregator=, \
		"${args[@]}" 2>/dev/null
}

# lab_tshark_v5_headers PORT: one line per export datagram, in capture order:
#   frame captured_ms udp_payload_bytes version count sequence sysuptime_ms
#   export_ms records
# (export_ms: unix_secs/unix_nsecs of the header; records: how many flow
# records tshark decoded in it).
lab_tshark_v5_headers() {
	lab_tshark_fields "$1" frame.number frame.time_epoch udp.length cflow.version cflow.count \
		cflow.sequence cflow.sysuptime cflow.unix_secs cflow.unix_nsecs cflow.srcaddr |
		awk -F'|' '
		function ms(s,   p) { # seconds with a fraction -> ms
			p = index(s, ".")
			if (!p) return s * 1000
			return substr(s, 1, p - 1) * 1000 + substr(substr(s, p + 1) "000", 1, 3)
		}
		{
			n = ($10 == "") ? 0 : split($10, a, ",")
			printf "%s %.0f %d %s %s %s %.0f %.0f %d\n", $1, ms($2), $3 - 8, $4, $5, $6, ms($7),
				$8 * 1000 + int($9 / 1000000), n
		}'
}

# lab_tshark_v5_flows PORT: normalised flows (as lab_nfdump_flows) from what
# tshark decodes; absolute times are computed from the header as a collector
# does: unix_secs/unix_nsecs - sysUptime + First/Last; the tenth column is
# when the datagram was captured.
lab_tshark_v5_flows() {
	lab_tshark_fields "$1" frame.time_epoch cflow.sysuptime cflow.unix_secs cflow.unix_nsecs \
		cflow.protocol cflow.srcaddr cflow.srcport cflow.dstaddr cflow.dstport cflow.packets \
		cflow.octets cflow.timestart cflow.timeend |
		awk -F'|' '
		function ms(s,   p) {
			p = index(s, ".")
			if (!p) return s * 1000
			return substr(s, 1, p - 1) * 1000 + substr(substr(s, p + 1) "000", 1, 3)
		}
		{
			boot = $3 * 1000 + int($4 / 1000000) - ms($2)
			n = split($6, sa, ",")
			split($5, pr, ","); split($7, sp, ","); split($8, da, ","); split($9, dp, ",")
			split($10, pk, ","); split($11, by, ","); split($12, ts, ","); split($13, te, ",")
			for (i = 1; i <= n; i++)
				printf "%s %s %s %s %s %s %s %.0f %.0f %.0f\n", pr[i], sa[i], sp[i], da[i], dp[i],
					pk[i], by[i], boot + ms(ts[i]), boot + ms(te[i]), ms($1)
		}'
}

# ---------------------------------------------------------------------------
# nfflowd

# lab_nfflowd_conf FILE [PORT [LINE...]]: the original's config format
# exporting from LAB_EXPORT_SOURCE to LAB_EXPORT_COLLECTOR:PORT (both
# 127.0.0.1 unless set), the keys of lab_nfflowd_conf_common, then the
# LINEs (top-level keys, e.g. "resync_interval 1").
lab_nfflowd_conf() {
	local file=$1 port=${2:-$LAB_COLLECTOR_PORT} line
	shift
	[ "$#" -eq 0 ] || shift
	cat >"$file" <<-EOF
		# nfflowd configuration for the namespace lab (tests/e2e/lib.sh)
		<flow_send>
		    args ${LAB_EXPORT_SOURCE:-127.0.0.1}     # source address
		    args ${LAB_EXPORT_COLLECTOR:-127.0.0.1}     # collector address
		    args $port          # collector port
		</flow_send>
		<ct2ft>
		    ttl 604800
		</ct2ft>
	EOF
	lab_nfflowd_conf_common >>"$file"
	for line in "$@"; do
		printf '%s\n' "$line"
	done >>"$file"
}

# lab_nfflowd_conf_common: the keys every lab configuration ends with:
# flush_interval (LAB_FLUSH_INTERVAL, default 0.2 s), this run's own pid
# file and control socket, a user that exists, and the local copy on
# stdout only (no syslog).
lab_nfflowd_conf_common() {
	cat <<-EOF
		flush_interval ${LAB_FLUSH_INTERVAL:-0.2}
		pidfile $LAB_TMP/nfflowd.pid
		control_socket $LAB_TMP/nfflowd.sock
		user nobody
		<ptee>
		    <conf>
		        dispatchers screen
		        <screen>
		            class Log::Dispatch::Screen
		            min_level debug
		            stderr 0
		        </screen>
		    </conf>
		</ptee>
	EOF
}

# lab_collector NAME VERSION PORT [LINE...]: a <collector NAME> block that
# exports VERSION (5, 9 or 10) from 127.0.0.1 to 127.0.0.1:PORT, with the
# LINEs (its other keys, e.g. "nat_events all").
lab_collector() {
	local line
	printf '<collector %s>\n    address 127.0.0.1\n    port %s\n    version %s\n    source 127.0.0.1\n' \
		"$1" "$3" "$2"
	shift 3
	for line in "$@"; do printf '    %s\n' "$line"; done
	echo "</collector>"
}

# lab_ifindex IFACE: the router's ifIndex of IFACE (lan0, wan0), the
# number nfflowd exports as its input or output interface.
lab_ifindex() { ip -n "$LAB_RTR" -o link show "$1" | cut -d: -f1; }

lab_nfflowd_ready() { grep -q ready "$LAB_TMP/nfflowd.err"; }

# lab_nfflowd_start_conf FILE [OPTION...]: start nfflowd (in the
# foreground, as lab_bg nfflowd) in the router namespace with the
# configuration FILE and the OPTIONs (e.g. -w RECORDING), wait for "ready".
lab_nfflowd_start_conf() {
	local conf=$1
	shift
	LAB_NFFLOWD_T0_MS=$(lab_now_ms)
	lab_bg nfflowd "$LAB_RTR" "$NFFLOWD" -f -c "$conf" "$@" start
	if ! lab_wait_for 15 "nfflowd to log \"ready\"" lab_nfflowd_ready; then
		lab_alive nfflowd || lab_log "nfflowd exited; its stderr:"
		sed 's/^/    /' "$LAB_TMP/nfflowd.err" >&2
		lab_die "nfflowd did not become ready"
	fi
	lab_log "nfflowd ready ($(lab_now_ms | awk -v t="$LAB_NFFLOWD_T0_MS" '{ print $1 - t }') ms after start)"
}

# lab_nfflowd_start_with PORT LINE...: lab_nfflowd_start_conf with
# lab_nfflowd_conf $LAB_TMP/nfflowd.conf PORT LINE...
lab_nfflowd_start_with() {
	lab_nfflowd_conf "$LAB_TMP/nfflowd.conf" "$@"
	lab_nfflowd_start_conf "$LAB_TMP/nfflowd.conf"
}

# lab_nfflowd_start [PORT]: lab_nfflowd_start_with PORT, no extra line.
lab_nfflowd_start() { lab_nfflowd_start_with "${1:-$LAB_COLLECTOR_PORT}"; }

# lab_nfflowd_stop [SIGNAL [WHAT]]: SIGTERM (or SIGNAL); nfflowd must send
# what is pending and exit 0 (LAB_RC), or the test fails, naming WHAT
# ("nfflowd").
lab_nfflowd_stop() {
	local sig=${1:-TERM}
	lab_stop nfflowd 10 "$sig"
	[ "$LAB_RC" -eq 0 ] || lab_fail "${2:-nfflowd} exited with status $LAB_RC on SIG$sig, expected 0"
}

# lab_nfflowd_cmd NAME ARG...: run "$NFFLOWD ARG..." in the router namespace
# (at most 60 s), e.g. the commands of a detached daemon (start, stop,
# reload, check); stdout and stderr go to $LAB_TMP/NAME.out and NAME.err,
# the exit status to LAB_RC. Never fails itself.
lab_nfflowd_cmd() {
	local name=$1
	shift
	LAB_RC=0
	ip netns exec "$LAB_RTR" timeout -k 5 60 "$NFFLOWD" "$@" \
		</dev/null >"$LAB_TMP/$name.out" 2>"$LAB_TMP/$name.err" || LAB_RC=$?
}

# lab_nfflowd_check CONF: what "nfflowd -c CONF check" prints (stdout and
# stderr) in the router namespace, the running daemon's counters among it
# (CONF must name a pidfile and a control_socket); at most 20 s, never fails.
lab_nfflowd_check() {
	ip netns exec "$LAB_RTR" timeout -k 5 20 "$NFFLOWD" -c "$1" check 2>&1 || true
}

# lab_nfflowd_collector_stats CONF: nfflowd's counters per collector, from
# the running daemon (lab_nfflowd_check CONF), one line each:
#   ADDRESS:PORT datagrams records send_errors dropped queued version name
lab_nfflowd_collector_stats() {
	lab_nfflowd_check "$1" |
		awk '$1 == "collector" && $3 == "datagrams" {
			sub(/:$/, "", $2); print $2, $4, $6, $8, $10, $12, $14, $16 }'
}

# lab_stat_value PREFIX KEY: from the lines on stdin (e.g. "nfflowd check"
# output), the word after KEY on the first line starting with PREFIX.
lab_stat_value() {
	awk -v p="$1" -v k="$2" 'index($0, p) == 1 {
		for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit }
	}'
}

# lab_nfflowd_ended_unseen: the sum of N over nfflowd's log lines "N
# connections from the start-up dump ended without an event".
lab_nfflowd_ended_unseen() {
	awk '/connections from the start-up dump ended without an event/ {
		for (i = 1; i < NF; i++) if ($i ~ /^[0-9]+$/ && $(i + 1) == "connections") { n += $i; break }
	} END { print n + 0 }' "$LAB_TMP/nfflowd.err"
}

# lab_csv_flows FILE: normalised flows from nfflowd's flow-tools CSV lines.
lab_csv_flows() {
	awk -F, '
	NF == 18 && $1 ~ /^[0-9]+$/ {
		now = $1 * 1000 + int($2 / 1000000)
		printf "%s %s %s %s %s %s %s %.0f %.0f\n", $16, $9, $14, $10, $15, $5, $6,
			now - $3 + $7, now - $3 + $8
	}' "$1"
}

# ---------------------------------------------------------------------------
# NetFlow v5: the kernel's DESTROYs (lab_ct_events v5) against the records

# lab_expected_triplets LABEL-PREFIX [optional]: read lab_ct_events v5 lines
# on stdin, print the NetFlow v5 records nfflowd must export for them:
#   1 orig.src:sport -> orig.dst:dport, original counters
#   2 reply.dst:dport -> reply.src:sport, original counters (NAT only)
#   3 reply.src:sport -> reply.dst:dport, reply counters (if any packets)
lab_expected_triplets() {
	awk -v pfx="$1" -v opt="${2:-}" '
	{
		id = $1; p = $2; osrc = $3; osp = $4; odst = $5; odp = $6
		rsrc = $7; rsp = $8; rdst = $9; rdp = $10
		op = $11; ob = $12; rp = $13; rb = $14; t0 = $15; t1 = $16
		tail = (opt == "" ? "" : " " opt)
		print pfx id ":1", p, osrc, osp, odst, odp, op, ob, t0, t1 tail
		if (p == 1) nat = (rdst != osrc || rsrc != odst)
		else nat = (rdst != osrc || rdp != osp || rsrc != odst || rsp != odp)
		if (nat) {
			if (p == 1) print pfx id ":2", p, rdst, 0, rsrc, odp, op, ob, t0, t1 tail
			else print pfx id ":2", p, rdst, rdp, rsrc, rsp, op, ob, t0, t1 tail
		}
		if (rp > 0) print pfx id ":3", p, rsrc, rsp, rdst, rdp, rp, rb, t0, t1 tail
	}'
}

# lab_check_destroys FILE COUNT PROTOS: the kernel itself must have reported
# COUNT DESTROYs (lab_ct_events v5 lines in FILE) with these protocols (e.g.
# "1 6 6 17", any order), each source-NATed to the router's public address,
# with counters and timestamps. Guards against tests passing on no data.
lab_check_destroys() {
	local file=$1 count=$2 protos=$3 got_protos bad
	local n
	n=$(wc -l <"$file")
	[ "$n" -eq "$count" ] || lab_fail "kernel reported $n DESTROY events, expected $count"
	got_protos=$(awk '{ print $2 }' "$file" | sort -n | tr '\n' ' ' | sed 's/ $//')
	protos=$(tr ' ' '\n' <<<"$protos" | sort -n | tr '\n' ' ' | sed 's/ $//')
	[ "$got_protos" = "$protos" ] || lab_fail "kernel DESTROY protocols: got '$got_protos', expected '$protos'"
	bad=$(awk -v wan="$LAB_ROUTER_WAN_IP" -v cli="$LAB_CLIENT_IP" '
		$3 != cli { print "  not from the client: " $0; next }
		$9 != wan { print "  not NATed to " wan ": " $0; next }
		$11 == 0 { print "  no original-direction packets (nf_conntrack_acct?): " $0; next }
		$15 == "-" || $16 == "-" { print "  no timestamps (nf_conntrack_timestamp?): " $0 }' "$file")
	[ -z "$bad" ] || lab_fail "unexpected kernel DESTROY events:"$'\n'"$bad"
}

# lab_compare EXPECTED GOT WHAT [TOLERANCE_MS [extra-ok]]: every expected
# record must be in GOT exactly once with equal packets and bytes and
# start/end within the tolerance (default 2000 ms); records marked "optional"
# may be absent; any other record in GOT is unexpected (unless extra-ok).
# Prints a report; fails on any mismatch.
lab_compare() {
	local expected=$1 got=$2 what=$3 tol=${4:-2000} extra=${5:-}
	awk -v what="$what" -v tol="$tol" -v extra="$extra" '
	function abs(x) { return x < 0 ? -x : x }
	function flow(p, s, sp, d, dp) { return sprintf("proto %s %s:%s -> %s:%s", p, s, sp, d, dp) }
	FILENAME == ARGV[1] {
		key = $1 " " $2 " " $3 " " $4 " " $5
		n = ++cnt[key]; got[key, n] = $0; used[key, n] = 0; ngot++
		next
	}
	{
		nexp++
		key = $2 " " $3 " " $4 " " $5 " " $6
		opt = ($11 == "optional")
		if (!opt) nreq++
		hit = 0
		for (i = 1; i <= cnt[key]; i++) if (!used[key, i]) { hit = i; break }
		if (!hit) {
			if (!opt) {
				printf "  MISSING    %-10s %s  %s pkts %s bytes\n", $1, flow($2, $3, $4, $5, $6), $7, $8
				bad++
			}
			next
		}
		used[key, hit] = 1
		split(got[key, hit], g, " ")
		matched++
		if (g[6] != $7 || g[7] != $8) {
			printf "  COUNTERS   %-10s %s  expected %s pkts %s bytes, got %s pkts %s bytes\n",
				$1, flow($2, $3, $4, $5, $6), $7, $8, g[6], g[7]
			bad++
		}
		if ($9 == "-" || $10 == "-") {
			printf "  NO-TIME    %-10s kernel reported no start/stop timestamps\n", $1
			bad++
			next
		}
		ds = g[8] - $9; de = g[9] - $10
		if (abs(ds) > maxdev) maxdev = abs(ds)
		if (abs(de) > maxdev) maxdev = abs(de)
		if (abs(ds) > tol || abs(de) > tol) {
			printf "  TIME       %-10s %s  start %+d ms, end %+d ms off (tolerance %d ms)\n",
				$1, flow($2, $3, $4, $5, $6), ds, de, tol
			bad++
		}
	}
	END {
		for (k in cnt) for (i = 1; i <= cnt[k]; i++) if (!used[k, i]) {
			if (extra == "extra-ok") continue
			split(got[k, i], g, " ")
			printf "  UNEXPECTED %-10s %s  %s pkts %s bytes\n", "", flow(g[1], g[2], g[3], g[4], g[5]), g[6], g[7]
			bad++
		}
		printf "%s: %d expected records (%d required), %d received, %d matched, largest time offset %d ms: %s\n",
			what, nexp, nreq, ngot, matched, maxdev, bad ? "FAIL" : "ok"
		exit bad ? 1 : 0
	}' "$got" "$expected"
}

# lab_as_expected LABEL < GOT: turn normalised flows into required
# expected records (to compare two received lists with each other).
lab_as_expected() {
	awk -v l="$1" '{ print l NR, $0 }'
}

# lab_verify_exports PORT [OPTIONAL-IDS]: after nfflowd, nfcapd and the
# listeners stopped, write $LAB_TMP/destroys.txt (the kernel's DESTROYs),
# expected.txt (their triplets), collector.txt (what nfcapd on PORT received)
# and csv.txt (nfflowd's local copy), check nfcapd's own summary, and
# compare them: collector vs kernel, CSV vs kernel, and CSV vs collector
# (times within 2 ms). The records of
# connections whose conntrack ids are listed in the file OPTIONAL-IDS may be
# missing (but must be right if present). Failures go to lab_fail.
lab_verify_exports() {
	local port=$1 optional=${2:-/dev/null} t=$LAB_TMP
	local extra=""
	[ -s "$optional" ] && extra="extra-ok"
	lab_ct_events v5 >"$t/destroys.txt"
	awk 'FILENAME == ARGV[1] { opt[$1] = 1; next } !($1 in opt)' "$optional" "$t/destroys.txt" |
		lab_expected_triplets ct >"$t/expected.txt"
	awk 'FILENAME == ARGV[1] { opt[$1] = 1; next } ($1 in opt)' "$optional" "$t/destroys.txt" |
		lab_expected_triplets ct optional >>"$t/expected.txt"
	# The local copy does not depend on the collector: everything is required.
	lab_expected_triplets ct <"$t/destroys.txt" >"$t/expected-csv.txt"
	lab_nfdump_flows "$port" >"$t/collector.txt"
	lab_csv_flows "$t/nfflowd.out" >"$t/csv.txt"
	lab_nfcapd_check "$port" "$(wc -l <"$t/collector.txt")"
	lab_compare "$t/expected.txt" "$t/collector.txt" "collector (nfcapd) vs kernel" ||
		lab_fail "the collector's records differ from the kernel's connections (above)"
	lab_compare "$t/expected-csv.txt" "$t/csv.txt" "nfflowd CSV copy vs kernel" ||
		lab_fail "nfflowd's CSV lines differ from the kernel's connections (above)"
	lab_as_expected collector <"$t/collector.txt" >"$t/collector-as-expected.txt"
	lab_compare "$t/collector-as-expected.txt" "$t/csv.txt" "collector vs nfflowd CSV copy" 2 "$extra" ||
		lab_fail "nfflowd's CSV lines and the datagrams it sent disagree (above)"
}

# lab_verify_connections PORT CONNECTIONS PROTOS RECORDS: lab_verify_exports
# PORT, and the kernel must have ended CONNECTIONS connections of PROTOS
# (see lab_check_destroys) that call for RECORDS v5 records.
lab_verify_connections() {
	local nexp
	lab_verify_exports "$1"
	lab_check_destroys "$LAB_TMP/destroys.txt" "$2" "$3"
	nexp=$(wc -l <"$LAB_TMP/expected.txt")
	[ "$nexp" -eq "$4" ] || lab_fail "the kernel's DESTROYs call for $nexp records, expected $4"
}

# lab_show_evidence: print the lists behind a failed comparison.
lab_show_evidence() {
	local t=$LAB_TMP
	lab_show "$t/destroys.txt" "kernel DESTROYs (id proto osrc osport odst odport rsrc rsport rdst rdport opkts obytes rpkts rbytes start_ms stop_ms):"
	lab_show "$t/expected.txt" "expected records (label proto src sport dst dport pkts bytes start_ms end_ms [optional]):"
	lab_show "$t/collector.txt" "collector records (proto src sport dst dport pkts bytes start_ms end_ms):"
	lab_show "$t/nfflowd.out" "nfflowd stdout:"
	lab_show "$t/nfflowd.err" "nfflowd stderr:"
}

# lab_show FILE TITLE: print a file indented under a title.
lab_show() {
	printf '%s\n' "$2"
	if [ -s "$1" ]; then sed 's/^/    /' "$1"; else echo "    (empty)"; fi
}

# ---------------------------------------------------------------------------
# NetFlow v9 and IPFIX records with NAT, as nfdump and tshark decode them,
# compared with the kernel's connections. One record per line ("nat record"):
#    1 kind      create (all counters 0) or delete
#    2 proto     3 src  4 sport  5 dst  6 dport            (before NAT)
#    7 xsrc      8 xsport  9 xdst  10 xdport               (after NAT)
#   11 in_pkts  12 in_bytes  13 out_pkts  14 out_bytes    (orig, reply)
#   15 start_ms 16 end_ms   17 natEvent  18 flowId  19 flowEndReason
# "-" where the decoder does not show a field. ICMP: sport is the echo
# identifier, dport type*256+code.

# lab_nfdump_nat_records PORT|DIR: every record nfcapd on PORT (or in DIR)
# stored, from
# nfdump -o raw (the only output of nfdump 1.7.1 that prints natEvent as a
# number: "nat event = 4: UNKNOW"). nfdump shows ICMP as type.code without
# the identifier (sport -), no flowId in IPFIX, no flowEndReason in v9, and
# no IPv6 post-NAT address (281/282) in IPFIX. A NAT event (its own
# template: no flow start, no counters) is a "create" (natEvent 1 or 4) or a
# "delete-event" (2 or 5) with its Event time as start and end and zero
# counters; a flow record is a "delete".
lab_nfdump_nat_records() {
	local dir=$1
	[ -d "$dir" ] || dir=$(lab_nfcapd_dir "$1")
	nfdump -N -R "$dir" -o raw 2>/dev/null | awk '
	function val(s) { sub(/^[^=]*= */, "", s); sub(/ .*/, "", s); sub(/:$/, "", s); return s }
	function emit(   k, kind) {
		if (!have) return
		kind = "delete"
		if (r["first"] == 0 && ("Event time" in r)) {
			kind = (r["nat event"] == 1 || r["nat event"] == 4) ? "create" : "delete-event"
			r["first"] = r["last"] = r["Event time"]
			r["in packets"] = r["in bytes"] = r["out packets"] = r["out bytes"] = 0
		}
		print kind, d("proto"), d("src addr"), d("src port"), d("dst addr"), d("dst port"),
			d("src xlt ip"), d("src xlt port"), d("dst xlt ip"), d("dst xlt port"),
			d("in packets"), d("in bytes"), d("out packets"), d("out bytes"),
			d("first"), d("last"), d("nat event"), d("connect ID"), d("end reason")
		for (k in r) delete r[k]
		have = 0
	}
	function d(k) { return (k in r) ? r[k] : "-" }
	/^Flow Record:/ { emit(); have = 1; next }
	have && /^  [^ ].* = / {
		key = $0; sub(/^  /, "", key); sub(/ *=.*/, "", key)
		if (key == "ICMP") { # "ICMP = 8.0 type.code": no ports
			split(val($0), tc, ".")
			r["dst port"] = tc[1] * 256 + tc[2]
			next
		}
		if (key == "end reason") { r[key] = val($0) + 0; next } # 0x01 -> 1
		if (!(key in r)) r[key] = val($0)
	}
	END { emit() }'
}

# lab_tshark_nat_parse PORT: what tshark decodes in the capture of the
# NetFlow v9 or IPFIX stream to PORT (lab_tshark_start), in capture order:
#   M frame captured_ms payload_bytes version sequence count_or_length
#     domain set_ids templates data_records export_s
#   R frame set_id <nat record, 19 columns> icmp_type_code observation_ms
#     packets octets inputint outputint ingress_vrfid notsent_flows
# set_ids: the message's (Flow)Set IDs in order, comma-separated; templates:
# template records; export_s: the header's time (v9 UNIX Secs, IPFIX Export
# Time); in v9 the counters of the nat record are 231/298 and
# 232/299 and octets/packets are 1/2, in IPFIX they are 1/2 and their RFC
# 5103 reverse forms and octets/packets repeat 1/2. icmp_type_code: IE 32,
# or 139 (IPFIX) or 178/179 (v9) as type*256+code. A record of the NAT event
# templates (258, 259) is a "create" (natEvent 1 or 4) or a "delete-event"
# (2 or 5), with zero counters and its observation time as start and end; a
# flow record (256, 257) is a "delete".
lab_tshark_nat_parse() {
	local port=$1
	tshark -n -r "$(lab_tshark_file "$port")" -d "udp.port==$port,cflow" \
		-Y "udp.dstport == $port" -T pdml 2>/dev/null | awk '
	function attr(name,   s) {
		if (!match($0, " " name "=\"[^\"]*\"")) return ""
		return substr($0, RSTART + length(name) + 3, RLENGTH - length(name) - 4)
	}
	function hex(s,   i, n) {
		n = 0; s = tolower(s)
		for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return sprintf("%.0f", n)
	}
	function ms(s,   p) { # seconds with a fraction -> ms
		p = index(s, ".")
		if (!p) return sprintf("%.0f", s * 1000)
		return sprintf("%.0f", substr(s, 1, p - 1) * 1000 + substr(substr(s, p + 1) "000", 1, 3))
	}
	function g(k) { return (k in f) ? f[k] : "-" }
	function emit_rec(   v9, ip, ib, op, ob, kind, icmp, src, dst, xs, xd) {
		if (!inrec) return
		inrec = 0
		v9 = (version == 9)
		if (v9) { ip = g("initiator_packets"); ib = g("initiator_octets"); op = g("responder_packets"); ob = g("responder_octets") }
		else { ip = g("packets"); ib = g("octets"); op = g("rev.packets"); ob = g("rev.octets") }
		kind = "delete"
		if (set == 258 || set == 259) {
			kind = (g("nat_event") == 1 || g("nat_event") == 4) ? "create" : "delete-event"
			ip = ib = op = ob = 0
			f["abstimestart"] = f["abstimeend"] = g("observation_time_milliseconds")
		}
		icmp = g("icmp_type_code_ipv4")
		if (icmp == "-" && ("icmp_ipv6_type" in f)) icmp = f["icmp_ipv6_type"] * 256 + f["icmp_ipv6_code"]
		src = ("srcaddr" in f) ? f["srcaddr"] : g("srcaddrv6")
		dst = ("dstaddr" in f) ? f["dstaddr"] : g("dstaddrv6")
		xs = ("post_natsource_ipv4_address" in f) ? f["post_natsource_ipv4_address"] : g("post_nat_source_ipv6_address")
		xd = ("post_natdestination_ipv4_address" in f) ? f["post_natdestination_ipv4_address"] : g("post_nat_destination_ipv6_address")
		recs[++nrecs] = sprintf("R %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s", frame, set, kind,
			g("protocol"), src, g("srcport"), dst, g("dstport"), xs, g("post_naptsource_transport_port"),
			xd, g("post_naptdestination_transport_port"), ip, ib, op, ob, g("abstimestart"), g("abstimeend"),
			g("nat_event"), g("flow_id"), g("flow_end_reason"), icmp, g("observation_time_milliseconds"),
			g("packets"), g("octets"), g("inputint"), g("outputint"), g("ingress_vrfid"),
			g("notsent_flows"))
		for (k in f) delete f[k]
	}
	function emit_msg() {
		if (frame == "") return
		emit_rec()
		print "M", frame, cap, payload, version, seq, cnt, dom, (sets == "" ? "-" : sets), ntmpl, ndata, etime
		for (i = 1; i <= nrecs; i++) print recs[i]
		nrecs = 0; frame = ""
	}
	/<packet>/ { emit_msg(); sets = ""; ntmpl = 0; ndata = 0; version = seq = cnt = dom = cap = payload = etime = "-"; inrec = 0; next }
	/<field name="num" / { frame = attr("show"); next }
	/<field name="frame.time_epoch"/ { cap = ms(attr("show")); next }
	/<field name="udp.length"/ { payload = attr("show") - 8; next }
	/<field name="cflow.version"/ { version = attr("show"); next }
	/<field name="cflow.sequence"/ { seq = attr("show"); next }
	/<field name="cflow.(count|len)"/ { cnt = attr("show"); next }
	/<field name="cflow.(source_id|od_id)"/ { dom = attr("show"); next }
	/<field name="cflow.(unix_secs|exporttime)"/ { etime = attr("show"); next }
	/<field name="cflow.flowset_id"/ { emit_rec(); set = attr("show"); sets = sets (sets == "" ? "" : ",") set; next }
	/<field name="" show="Template \(Id = / { ntmpl++; next }
	/<field name="" show="Flow [0-9]+"/ { emit_rec(); inrec = 1; ndata++; next }
	inrec && /<field name="cflow\./ {
		name = attr("name"); sub(/^cflow\./, "", name)
		if (name ~ /^(abstimestart|abstimeend|observation_time_milliseconds|icmp_type_code_ipv4)$/)
			v = hex(attr("value"))
		else
			v = attr("show")
		if (attr("showname") ~ /\(Reverse /) name = "rev." name
		if (!(name in f)) f[name] = v
	}
	END { emit_msg() }'
}

# lab_nat_expected DECODER CODES EVENTS [TOLERANCE_MS]: read
# lab_ct_events all lines on stdin, print the nat records nfflowd must
# send for their DESTROYs, as DECODER (tshark, nfdump-ipfix or nfdump-v9)
# shows them (EVENTS: the collector's nat_events, no, yes or all), each
# line: label <nat record> tolerance_ms.
#   - one delete record per connection: the original tuple; after NAT the
#     inverted reply tuple (the pre-NAT values again without NAT); the
#     kernel's counters of both directions; its start and stop times;
#     natEvent 5 (IPv4) or 2 (IPv6 or CODES legacy) with NAT, 0 without;
#     flowId the conntrack id; flowEndReason 3 (end of flow) for TCP that
#     was closing, else 4 (forced end: every test ends its connections with
#     conntrack -D, which the kernel reports with the requester's port id);
#   - with EVENTS yes or all, one create event per NATed connection (the
#     NAT event template): the same tuples, no counters (0), its time (start
#     = end) the kernel's start, natEvent 4 (IPv4) or 1, no flowEndReason;
#   - with EVENTS all, one delete event per NATed connection too: its time
#     the kernel's stop, natEvent 5 or 2.
# Times must match within TOLERANCE_MS (default 2: the kernel's ns
# timestamps truncated to ms; a create carries the time the kernel created
# the entry, which precedes the start it reports, set when the first packet
# was confirmed, by microseconds).
lab_nat_expected() {
	awk -v dec="$1" -v codes="$2" -v creates="$3" -v tol="${4:-2}" '
	$1 != "destroy" { next }
	{
		id = $2; fam = $3; p = $4; osrc = $5; osp = $6; odst = $7; odp = $8
		rsrc = $9; rsp = $10; rdst = $11; rdp = $12
		icmp = (p == 1 || p == 58)
		nat = (osrc != rdst || odst != rsrc || (icmp ? osp != rsp : (osp != rdp || odp != rsp)))
		if (nat) { xs = rdst; xsp = icmp ? rsp : rdp; xd = rsrc; xdp = icmp ? odp : rsp }
		else { xs = osrc; xsp = osp; xd = odst; xdp = odp }
		legacy = (codes == "legacy" || fam == 6)
		er = (p == 6 && $19 ~ /^(FIN_WAIT|CLOSE_WAIT|LAST_ACK|TIME_WAIT|CLOSE)$/) ? 3 : 4
		fid = id
		sp = osp
		if (dec ~ /^nfdump/ && icmp) sp = "-"                 # nfdump: type.code only
		if (dec == "nfdump-ipfix") fid = "-"                  # 148 not decoded
		if (dec == "nfdump-ipfix" && fam == 6) xs = xd = "-"  # 281/282 not decoded
		if (dec == "nfdump-v9") er = 0 # 136 not decoded: 0 in the block the interfaces (10/14) bring
		print "ct" id ":delete", "delete", p, osrc, sp, odst, odp, xs, xsp, xd, xdp, $13, $14, $15, $16,
			$17, $18, (nat ? (legacy ? 2 : 5) : 0), fid, er, tol
		if (nat && (creates == "yes" || creates == "all"))
			print "ct" id ":create", "create", p, osrc, sp, odst, odp, xs, xsp, xd, xdp, 0, 0, 0, 0,
				$17, $17, (legacy ? 1 : 4), fid, "-", tol
		if (nat && creates == "all")
			print "ct" id ":delete-event", "delete-event", p, osrc, sp, odst, odp, xs, xsp, xd, xdp,
				0, 0, 0, 0, $18, $18, (legacy ? 2 : 5), fid, "-", tol
	}'
}

# lab_nat_compare EXPECTED GOT WHAT: every expected record (lab_nat_expected)
# must be in GOT (nat records) exactly once, found by its kind and original
# tuple, with the same tuple after NAT, counters, natEvent, flowId and
# flowEndReason, and times within the record's tolerance. Any other record
# in GOT is unexpected.
# Prints a report; fails on any difference.
lab_nat_compare() {
	awk -v what="$3" '
	function abs(x) { return x < 0 ? -x : x }
	BEGIN {
		split("kind proto src sport dst dport xsrc xsport xdst xdport in_pkts in_bytes out_pkts out_bytes " \
			"start_ms end_ms natEvent flowId flowEndReason", name, " ")
	}
	FILENAME == ARGV[1] {
		key = $1; for (i = 2; i <= 6; i++) key = key " " $i
		n = ++cnt[key]; got[key, n] = $0; used[key, n] = 0; ngot++
		next
	}
	{
		nexp++
		key = $2; for (i = 3; i <= 7; i++) key = key " " $i
		hit = 0
		for (i = 1; i <= cnt[key]; i++) if (!used[key, i]) { hit = i; break }
		if (!hit) {
			printf "  MISSING    %-20s %s\n", $1, key
			printf "             expected: %s\n", $0
			bad++
			next
		}
		used[key, hit] = 1
		split(got[key, hit], g, " ")
		diff = ""
		for (i = 7; i <= 19; i++) {
			e = $(i + 1)
			if (i == 15 || i == 16) {
				if (e == "-" || g[i] == "-" || abs(g[i] - e) > $21)
					diff = diff sprintf(" %s %s (expected %s, %+d ms)", name[i], g[i], e, g[i] - e)
				else if (abs(g[i] - e) > maxdev) maxdev = abs(g[i] - e)
			} else if (g[i] != e)
				diff = diff sprintf(" %s %s (expected %s)", name[i], g[i], e)
		}
		if (diff != "") { printf "  DIFFERENT  %-20s %s:%s\n", $1, key, diff; bad++ }
		else matched++
	}
	END {
		for (k in cnt) for (i = 1; i <= cnt[k]; i++) if (!used[k, i]) {
			printf "  UNEXPECTED %-20s %s\n", "", got[k, i]
			bad++
		}
		printf "%s: %d expected records, %d received, %d identical, largest time offset %d ms: %s\n",
			what, nexp, ngot, matched, maxdev, bad ? "FAIL" : "ok"
		exit bad ? 1 : 0
	}' "$2" "$1"
}

# ---------------------------------------------------------------------------
# Run directly (CTest runs every tests/e2e/*.sh), this file checks the lab
# and its parser without nfflowd: the kernel must report each connection's
# DESTROY with counters, timestamps and the NAT reply tuple, and an idle
# nfcapd must start, stop and read back as empty.

lab_self_test() {
	local d=$LAB_TMP/destroys.txt bad
	lab_require curl
	lab_up
	lab_servers_start
	lab_nfcapd_start "$LAB_COLLECTOR_PORT"
	lab_ct_start
	lab_tcp_upload 100000
	lab_http_download 300k.bin
	lab_udp_exchange "self-test"
	lab_ping 2
	sleep 1
	[ "$(lab_ct_flush_client)" -eq 4 ] || lab_fail "conntrack -D did not end 4 client connections"
	lab_ct_wait_destroys 4 || true
	lab_ct_stop
	lab_nfcapd_stop "$LAB_COLLECTOR_PORT"

	lab_ct_events v5 >"$d"
	lab_check_destroys "$d" 4 "1 6 6 17"
	# The parser's two views of the events agree (ICMP ports aside).
	[ "$(lab_ct_events all | awk '{ print $2, $4, $5, $7, $13, $14, $15, $16, $17, $18 }' | sort)" = \
		"$(awk '{ print $1, $2, $3, $5, $11, $12, $13, $14, $15, $16 }' "$d" | sort)" ] ||
		lab_fail "lab_ct_events all and lab_ct_events v5 disagree"
	bad=$(awk -v sink="$LAB_TCP_SINK_PORT" -v http="$LAB_HTTP_PORT" '
		$2 == 6 && $6 == sink && $12 < 100000 { print "upload: orig bytes " $12 " < 100000" }
		$2 == 6 && $6 == http && $14 < 307200 { print "download: reply bytes " $14 " < 307200" }
		$2 == 17 && ($11 != 1 || $13 != 1 || $12 != 37) { print "udp: expected 1+1 packets of 37 bytes: " $0 }
		$2 == 1 && ($6 != 2048 || $10 != 0 || $11 != 2 || $12 != 168) { print "icmp: expected 2 echo requests (8/0) of 84 bytes: " $0 }
		$15 > $16 { print "start after stop: " $0 }' "$d")
	[ -z "$bad" ] || lab_fail "kernel DESTROYs not as expected:"$'\n'"$bad"
	[ "$(lab_expected_triplets ct <"$d" | wc -l)" -eq 12 ] || lab_fail "expected 12 triplet records"
	[ -z "$(lab_nfdump_flows "$LAB_COLLECTOR_PORT")" ] || lab_fail "an idle nfcapd stored flows"
	lab_nfcapd_check "$LAB_COLLECTOR_PORT" 0
	[ "$LAB_FAILURES" -eq 0 ] || lab_show "$d" "kernel DESTROYs:"
	lab_finish
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	LAB_NAME=lab_self_test
	lab_self_test
fi

