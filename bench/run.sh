#!/usr/bin/env bash
# bench/run.sh: nfflowd against its peers on the same conntrack event load,
# in the namespace lab of tests/e2e/lib.sh (client 10.77.1.2 -> router with
# masquerade -> server 203.0.113.2 and 203.0.113.10-41). Needs root; about
# four minutes on two cores.
#
# The systems, one after another, each on an empty connection table:
#   nfflowd       this tree's build: default configuration, one IPFIX
#                 collector (nfcapd in the router namespace), no local copy
#   nfflowd@8M    the same with netlink_rcvbuf 8M, the old default, for
#                 comparison (any SYSTEM@SIZE sets the netlink buffer of
#                 nfflowd, ulogd2 or minreader; the default is 128M)
#   ulogd2        NFCT (hash) + IPFIX to nfcapd, 16 MiB netlink buffer
#   nfflowd-orig  the original's configuration: <flow_send> (NetFlow v5 to
#                 nfcapd) and no <ptee>, so its default local copies: the
#                 CSV line of every record on standard output (to a file, in
#                 the foreground) and in syslog (facility local6)
#   nfflowd-syslog  the same with a syslog daemon (rsyslogd) taking the
#                 syslog copy on its own socket and writing it to a file
#   nfflowd-base  the same configuration as nfflowd with another build, BENCH_BASELINE
#                 (a binary): list both, alternating, to compare two builds
#                 side by side in one run; nfflowd-orig-base and
#                 nfflowd-syslog-base do the same for those configurations
#   minreader     bench/minreader.c: receive and count only (the floor);
#                 minreader-mm: the same with recvmmsg, 64 datagrams a call;
#                 minreader-rest: the same, resting 1 ms each time it emptied
#                 the socket, as nfflowd does under load (the floor for it)
#   conntrack     conntrack -E -e NEW,DESTROY, default buffer (the original's input)
#
# The loads:
#   no loss  BENCH_CONNS (200,000) NATed UDP connections from two senders as
#            fast as they go (bench/udpflood.c, one per core), then ended at
#            once by "conntrack -F" in the router (a DESTROY burst)
#   sweep    BENCH_SWEEP_CONNS (50,000) connections per step at each rate of
#            BENCH_SWEEP_RATES (connections/s, 0 = as fast as possible), each
#            deleted again over ctnetlink 100 ms after it was made, so that
#            NEW and DESTROY events both arrive at that rate
#   replay   the no-loss load recorded by "nfflowd -w" (as BENCH_RECORD_AS,
#            nfflowd-w@128M) and run again through "nfflowd replay" on one
#            core (skipped while nfflowd has no replay verb)
#
# Output: the table on standard output and in bench/out/results.txt, the raw
# numbers in bench/out/*.tsv, each system's log in bench/out/logs/, and
# bench/out/loss-vs-rate.png. Namespaces go and the initial namespace's
# sysctls (nf_conntrack_max, nf_conntrack_buckets) are restored at exit,
# also on failure or Ctrl-C.
#
# Environment: BENCH_CONNS, BENCH_SWEEP_CONNS, BENCH_SWEEP_RATES,
# BENCH_SYSTEMS and BENCH_SWEEP_SYSTEMS (lists, in order), BENCH_SWEEP=0 (no
# sweep), BENCH_REPLAY=0 (no recording and replay), BENCH_REPLAY_RUNS (replays
# of the recording, 5; the median is reported), BENCH_BUDGET (seconds after which sweep steps are skipped, 540),
# NFFLOWD (a prebuilt binary instead of building bench/out/build),
# BENCH_OUT (where results go instead of bench/out),
# BENCH_BASELINE (the binary of the nfflowd-base system),
# BENCH_NFFLOWD_CONF (more nfflowd configuration lines, ";"-separated),
# BENCH_INSTALL=0 (never apt-get), BENCH_PERF=1 (perf profiles of nfflowd on
# the no-loss load and of the replay, in bench/out/perf-*.txt).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
OUT=${BENCH_OUT:-$BENCH_DIR/out}
BENCH_T0=$(date +%s%3N)

BENCH_CONNS=${BENCH_CONNS:-200000}
BENCH_SWEEP_CONNS=${BENCH_SWEEP_CONNS:-50000}
BENCH_SWEEP_RATES=${BENCH_SWEEP_RATES:-"10000 20000 40000 60000 0"}
BENCH_SYSTEMS=${BENCH_SYSTEMS:-"nfflowd nfflowd@8M nfflowd-orig nfflowd-syslog ulogd2 minreader minreader-rest conntrack"}
BENCH_SWEEP_SYSTEMS=${BENCH_SWEEP_SYSTEMS:-"nfflowd ulogd2 minreader conntrack"}
BENCH_RECORD_AS=${BENCH_RECORD_AS:-nfflowd-w@128M}
BENCH_SWEEP=${BENCH_SWEEP:-1}
BENCH_REPLAY=${BENCH_REPLAY:-1}
BENCH_REPLAY_RUNS=${BENCH_REPLAY_RUNS:-5}
BENCH_BUDGET=${BENCH_BUDGET:-540}
BENCH_INSTALL=${BENCH_INSTALL:-1}
BENCH_PERF=${BENCH_PERF:-0}
BENCH_NADDRS=32                 # server addresses 203.0.113.10-41
BENCH_FIRST_ADDR=203.0.113.10
BENCH_LAG_MS=100                # sweep: delete each connection this long after it was made
BENCH_CT_MAX=1048576            # nf_conntrack_max during the run (initial namespace)
BENCH_CT_BUCKETS=524288         # nf_conntrack_buckets, if it is smaller
BENCH_NL_BUF=$((128 << 20))     # minreader: nfflowd's default netlink_rcvbuf
BENCH_ULOGD_BUF=$((16 << 20))   # ulogd2: netlink_socket_buffer_size ...
BENCH_ULOGD_BUFMAX=$((256 << 20)) # ... grown on ENOBUFS up to this (nfflowd's cap)
BENCH_NFCAPD_BUF=$((4 << 20))   # nfcapd -B (capped by net.core.rmem_max)
BENCH_REPLAY_NFCAPD_BUF=$((256 << 20)) # nfcapd -B for the replays
ULOGD_PLUGIN_DIR=${ULOGD_PLUGIN_DIR:-/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)/ulogd}

say() { printf '[bench %4ss] %s\n' "$(elapsed_s)" "$*" >&2; }
die() {
	printf '[bench] ERROR: %s\n' "$*" >&2
	exit 1
}
elapsed_s() { echo $((($(date +%s%3N) - BENCH_T0) / 1000)); }

# ---------------------------------------------------------------------------
# Preconditions: root, Debian packages, builds

if [ "$(id -u)" -ne 0 ]; then
	echo "bench/run.sh needs root (network namespaces, nftables, conntrack, sysctls): sudo $0" >&2
	exit 1
fi

# command -> Debian package
declare -A DEPS=(
	[ip]=iproute2 [nft]=nftables [conntrack]=conntrack [nfcapd]=nfdump [nfdump]=nfdump
	[taskset]=util-linux [timeout]=coreutils
	[make]=make [cc]=build-essential [cmake]=cmake [pkg-config]=pkg-config
	[socat]=socat [ss]=iproute2 [ping]=iputils-ping [python3]=python3
)
[ "$BENCH_PERF" = 1 ] && DEPS[perf]=linux-perf
[ "$BENCH_SWEEP" = 1 ] && DEPS[gnuplot]=gnuplot-nox # the loss-vs-rate plot
BENCH_ULOGD=0 # ulogd2 and rsyslogd are needed only where they run
case " $BENCH_SYSTEMS " in *" nfflowd-syslog"*) DEPS[rsyslogd]=rsyslog ;; esac
case " $BENCH_SYSTEMS $([ "$BENCH_SWEEP" = 1 ] && echo "$BENCH_SWEEP_SYSTEMS") " in
*" ulogd2"[\ @]*) BENCH_ULOGD=1 DEPS[ulogd]=ulogd2 ;;
esac
check_deps() {
	local cmd missing=() pkgs=()
	for cmd in "${!DEPS[@]}"; do
		command -v "$cmd" >/dev/null 2>&1 || missing+=("${DEPS[$cmd]}")
	done
	for cmd in libmnl libcap-ng libnetfilter_conntrack; do
		pkg-config --exists "$cmd" 2>/dev/null || missing+=("${cmd//_/-}-dev")
	done
	[ "$BENCH_ULOGD" = 0 ] || [ -e "$ULOGD_PLUGIN_DIR/ulogd_output_IPFIX.so" ] || missing+=(ulogd2)
	[ "${#missing[@]}" -eq 0 ] && return 0
	mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
	if [ "$BENCH_INSTALL" = 1 ] && command -v apt-get >/dev/null 2>&1; then
		say "installing ${pkgs[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >/dev/null
		apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null ||
			die "apt-get install ${pkgs[*]} failed"
	else
		die "missing Debian packages: ${pkgs[*]} (apt-get install ${pkgs[*]})"
	fi
}

build() {
	mkdir -p "$OUT"
	if [ -z "${NFFLOWD:-}" ]; then
		say "building nfflowd (RelWithDebInfo) in bench/out/build"
		cmake -S "$ROOT" -B "$OUT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
			>"$OUT/build.log" 2>&1 || die "cmake failed (see $OUT/build.log)"
		cmake --build "$OUT/build" --target nfflowd -j "$(nproc)" >>"$OUT/build.log" 2>&1 ||
			die "building nfflowd failed (see $OUT/build.log)"
		NFFLOWD=$OUT/build/nfflowd
	fi
	[ -x "$NFFLOWD" ] || die "no nfflowd binary at $NFFLOWD"
	make -s -C "$BENCH_DIR" OUT="$OUT" >>"$OUT/build.log" 2>&1 ||
		die "building bench tools failed (see $OUT/build.log)"
	export NFFLOWD
}

check_deps
build

# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
LAB_NAME=bench
LAB_MAX_SECONDS=900

CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)
UDPFLOOD=$OUT/udpflood
MINREADER=$OUT/minreader

# ---------------------------------------------------------------------------
# Sysctls of the initial namespace: raised for the run, restored at exit

declare -A SYSCTL_OLD=()
sysctl_raise() { # KEY VALUE: set KEY to VALUE if it is lower now
	local key=$1 want=$2 old
	old=$(sysctl -n "$key" 2>/dev/null) || return 0
	[ "$old" -lt "$want" ] || return 0
	SYSCTL_OLD[$key]=$old
	sysctl -qw "$key=$want" || lab_warn "cannot set $key=$want"
}
sysctl_restore() { # [KEY...]: those keys only, else all
	local key keys=("$@")
	[ $# -gt 0 ] || keys=("${!SYSCTL_OLD[@]}")
	for key in "${keys[@]}"; do
		[ -n "${SYSCTL_OLD[$key]:-}" ] || continue
		sysctl -qw "$key=${SYSCTL_OLD[$key]}" || lab_warn "cannot restore $key=${SYSCTL_OLD[$key]}"
		unset "SYSCTL_OLD[$key]"
	done
}

PERF_PID=""
bench_on_exit() {
	local rc=$?
	trap - EXIT INT TERM HUP
	set +e
	[ -n "$PERF_PID" ] && kill -INT "$PERF_PID" 2>/dev/null
	local p
	for p in "${GEN_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	sysctl_restore
	lab_down "$rc"
	say "done in $(elapsed_s) s (exit $rc)"
	exit "$rc"
}
bench_install_traps() {
	trap bench_on_exit EXIT
	trap 'lab_on_signal 130' INT
	trap 'lab_on_signal 143' TERM
	trap 'lab_on_signal 129' HUP
}

# ---------------------------------------------------------------------------
# Process measurements

proc_ticks() { # PID: utime + stime in clock ticks
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
proc_kb() { # PID FIELD (VmRSS, VmHWM): kB
	awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$1/status" 2>/dev/null || echo 0
}
nl_sum() { # PID COLUMN (5 Rmem, 9 Drops): summed over PID's netlink sockets of NETLINK_NETFILTER
	lab_netlink_socks "$1" | awk -v c="$2" '$2 == 12 { s += $c } END { print s + 0 }'
}
nl_subscribed() { # PID: a NETLINK_NETFILTER socket of PID is in an event group
	[ -n "$(lab_netlink_socks "$1" | awk '$2 == 12 && $4 != "00000000"')" ]
}
udp_rcvbuf_errors() { # UDP datagrams dropped for a full receive buffer in the router ns
	awk '$1 == "Udp:" { if (!h) { for (i = 2; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1 } else print $c }' \
		"/proc/$1/net/snmp" 2>/dev/null || echo 0
}

# child_pid NAME: the process timeout(1) started for lab_bg NAME
child_pid() {
	local t=${LAB_PID[$1]} i c
	for ((i = 0; i < 50; i++)); do
		c=$(awk '{ print $1 }' "/proc/$t/task/$t/children" 2>/dev/null || true)
		if [ -n "$c" ]; then
			echo "$c"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# wait_drained PID MAXSEC: the receive queue empty and no CPU used for 0.6 s
wait_drained() {
	local pid=$1 max=$2 i ticks last=-1 still=0
	for ((i = 0; i < max * 5; i++)); do
		lab_pid_alive "$pid" || return 1
		ticks=$(proc_ticks "$pid")
		if [ "$(nl_sum "$pid" 5)" -eq 0 ] && [ "$ticks" = "$last" ]; then
			still=$((still + 1))
			[ "$still" -ge 3 ] && return 0
		else
			still=0
		fi
		last=$ticks
		sleep 0.2
	done
	lab_warn "pid $pid still busy after ${max}s"
	return 1
}

# ---------------------------------------------------------------------------
# The lab's extras: server addresses that drop the load, long UDP timeouts

bench_lab_setup() {
	sysctl_raise net.netfilter.nf_conntrack_max "$BENCH_CT_MAX"
	sysctl_raise net.netfilter.nf_conntrack_buckets "$BENCH_CT_BUCKETS"
	lab_server_add_addrs "$BENCH_FIRST_ADDR" "$BENCH_NADDRS"
	# The server drops the load before anything answers it (no ICMP errors);
	# a filter table brings no conntrack to the server namespace.
	ip netns exec "$LAB_SRV" nft -f - <<-EOF
		table ip bench {
			chain pre {
				type filter hook prerouting priority raw; policy accept;
				udp dport 1024-65535 counter drop
			}
		}
	EOF
	# No connection of a run may time out before the run ends it.
	ip netns exec "$LAB_RTR" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=900 \
		net.netfilter.nf_conntrack_udp_timeout_stream=900
}

server_packets() {
	ip netns exec "$LAB_SRV" nft list table ip bench |
		awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

ct_count() { ip netns exec "$LAB_RTR" conntrack -C 2>/dev/null || echo 0; }

# ct_flush: end every connection in the router at once (DESTROY events)
ct_flush() {
	ip netns exec "$LAB_RTR" timeout 120 conntrack -F >/dev/null 2>&1 || true
}

ct_empty() {
	ct_flush
	lab_wait_for 10 "an empty connection table" test "$(ct_count)" -eq 0 ||
		die "the router's connection table does not empty"
}

# ---------------------------------------------------------------------------
# Collectors

NEXT_PORT=9900
nfcapd_start() { # PORT [BUFFER]
	local dir=$LAB_TMP/nfcapd-$1
	mkdir -p "$dir"
	lab_bg "nfcapd-$1" "$LAB_RTR" nfcapd -b 127.0.0.1 -p "$1" -w "$dir" -t 3600 -B "${2:-$BENCH_NFCAPD_BUF}"
	lab_wait_for 10 "nfcapd on port $1" lab_listening "$LAB_RTR" udp "$1" ||
		die "nfcapd did not start: $(cat "$LAB_TMP/nfcapd-$1.err")"
}
# nfcapd_count PORT: stop nfcapd; connections (distinct client tuples with
# packets) in what it stored
nfcapd_count() {
	sleep 0.3
	lab_stop "nfcapd-$1" 10
	nfdump -q -N -R "$LAB_TMP/nfcapd-$1" -o 'fmt:%sa %sp %da %dp %pkt' 2>/dev/null |
		awk -v c="$LAB_CLIENT_IP" '$1 == c && $5 > 0 && !(($2, $3, $4) in s) { s[$2, $3, $4] = 1; n++ } END { print n + 0 }'
}
nfcapd_records() { # PORT: nfcapd's own count of records ("Flows:")
	sed -n 's/.*Flows: \([0-9]*\),.*/\1/p' "$LAB_TMP/nfcapd-$1.err" | tail -n 1
}

# ---------------------------------------------------------------------------
# The systems: sys_start NAME PORT [EXTRA]; sys_stop NAME -> events received

# The original's configuration (and so its default copies); with a socket,
# the same with the syslog copy written there (the original's defaults
# spelled out, plus the socket).
nfflowd_orig_conf() { # FILE PORT [SYSLOG_SOCKET]
	cat >"$1" <<-EOF
		# nfflowd for bench/run.sh: the original's configuration
		<flow_send>
		    args 127.0.0.1
		    args 127.0.0.1
		    args $2
		</flow_send>
		pidfile $LAB_TMP/nfflowd.pid
		control_socket $LAB_TMP/nfflowd.sock
	EOF
	[ -n "${3:-}" ] || return 0
	cat >>"$1" <<-EOF
		<ptee>
		    <conf>
		        dispatchers screen syslog
		        <screen>
		            class Log::Dispatch::Screen
		            min_level debug
		            stderr 0
		        </screen>
		        <syslog>
		            class Log::Dispatch::Syslog
		            ident nfflowd
		            facility local6
		            min_level debug
		            socket $3
		        </syslog>
		    </conf>
		</ptee>
	EOF
}

# rsyslogd on its own socket, writing local6 to a file; no rate limit. The
# socket queue as systemd sets it on every host it boots (50-default.conf:
# net.unix.max_dgram_qlen 512; the kernel's own default is 10).
rsyslog_start() {
	ip netns exec "$LAB_RTR" sysctl -qw net.unix.max_dgram_qlen=512
	mkdir -p "$LAB_TMP/rsyslog"
	cat >"$LAB_TMP/rsyslog.conf" <<-EOF
		global(workDirectory="$LAB_TMP/rsyslog")
		module(load="imuxsock" SysSock.Use="off")
		input(type="imuxsock" Socket="$LAB_TMP/log.sock" RateLimit.Interval="0")
		local6.* action(type="omfile" file="$LAB_TMP/syslog.txt")
	EOF
	: >"$LAB_TMP/syslog.txt"
	lab_bg rsyslogd "$LAB_RTR" rsyslogd -n -f "$LAB_TMP/rsyslog.conf" -i "$LAB_TMP/rsyslog.pid"
	lab_wait_for 10 "rsyslogd to listen" test -S "$LAB_TMP/log.sock" ||
		die "rsyslogd did not start: $(cat "$LAB_TMP/rsyslogd.err")"
}

# The local copies' lines written and dropped (nfflowd's counters at stop),
# the lines in its standard output, and what rsyslogd wrote: one word.
copies_note() {
	local c line note
	for c in screen syslog; do
		line=$(grep "copy $c: lines" "$LAB_TMP/nfflowd.err" | tail -n 1)
		note+="$c=$(lab_stat_value "nfflowd: copy $c:" lines <<<"$line")/drop$(lab_stat_value "nfflowd: copy $c:" dropped <<<"$line"),"
	done
	note+="stdout=$(wc -l <"$LAB_TMP/nfflowd.out")"
	if [ "$SYS_CONF" = syslog ]; then
		lab_stop rsyslogd 10
		note+=",rsyslog=$(grep -c . "$LAB_TMP/syslog.txt")"
	fi
	echo "$note"
}

nfflowd_conf() { # FILE PORT
	cat >"$1" <<-EOF
		# nfflowd for bench/run.sh: the defaults, one IPFIX collector, no local copy
		<collector bench>
		    address 127.0.0.1
		    port $2
		    version 10
		</collector>
		<ptee>
		    <conf>
		    </conf>
		</ptee>
		pidfile $LAB_TMP/nfflowd.pid
		control_socket $LAB_TMP/nfflowd.sock
	EOF
	# BENCH_NFFLOWD_CONF: more lines, separated by ";" (e.g. "netlink_rcvbuf 64M")
	if [ -n "${BENCH_NFFLOWD_CONF:-}" ]; then
		tr ';' '\n' <<<"$BENCH_NFFLOWD_CONF" | sed 's/^ *//' >>"$1"
	fi
}

# size_bytes 32M -> 33554432
size_bytes() {
	awk -v s="$1" 'BEGIN { m = 1; u = toupper(substr(s, length(s)))
		if (u == "K") m = 1024; else if (u == "M") m = 1048576; else if (u == "G") m = 1073741824
		if (m > 1) s = substr(s, 1, length(s) - 1)
		printf "%.0f\n", s * m }'
}

# sys_start NAME PORT EXTRA BUF: BUF (e.g. 32M) replaces the system's
# netlink receive buffer size
sys_start() {
	local sys=$1 port=$2 extra=${3:-} buf=${4:-} ubuf=$BENCH_ULOGD_BUF ubufmax=$BENCH_ULOGD_BUFMAX
	local mbuf=$BENCH_NL_BUF
	if [ -n "$buf" ]; then
		ubuf=$(size_bytes "$buf")
		mbuf=$ubuf
		[ "$ubufmax" -gt "$ubuf" ] || ubufmax=$((2 * ubuf))
	fi
	case $sys in
	nfflowd)
		case $SYS_CONF in
		orig) nfflowd_orig_conf "$LAB_TMP/nfflowd.conf" "$port" ;;
		syslog)
			rsyslog_start
			nfflowd_orig_conf "$LAB_TMP/nfflowd.conf" "$port" "$LAB_TMP/log.sock"
			;;
		*) nfflowd_conf "$LAB_TMP/nfflowd.conf" "$port" ;;
		esac
		[ -z "$buf" ] || echo "netlink_rcvbuf $buf" >>"$LAB_TMP/nfflowd.conf"
		rm -f "$LAB_TMP/nfflowd.pid"
		# shellcheck disable=SC2086 # extra: nfflowd options (-w FILE)
		lab_bg nfflowd "$LAB_RTR" "${SYS_BIN:-$NFFLOWD}" -f -c "$LAB_TMP/nfflowd.conf" $extra start
		lab_wait_for 20 "nfflowd to be ready" grep -q ready "$LAB_TMP/nfflowd.err" ||
			die "nfflowd did not start: $(cat "$LAB_TMP/nfflowd.err")"
		;;
	ulogd2)
		sed -e "s|@LOGFILE@|$LAB_TMP/ulogd.log|" -e "s|@PLUGIN_DIR@|$ULOGD_PLUGIN_DIR|" \
			-e "s|@PORT@|$port|" -e "s|@BUFSIZE@|$ubuf|" \
			-e "s|@BUFMAX@|$ubufmax|" -e "s|@HASH@|1|" \
			"$BENCH_DIR/ulogd.conf.in" >"$LAB_TMP/ulogd.conf"
		: >"$LAB_TMP/ulogd.log"
		lab_bg ulogd2 "$LAB_RTR" ulogd -c "$LAB_TMP/ulogd.conf" -p "$LAB_TMP/ulogd.pid"
		lab_wait_for 20 "ulogd2 to be ready" grep -q "entering main loop" "$LAB_TMP/ulogd.log" ||
			die "ulogd did not start: $(cat "$LAB_TMP/ulogd.log" "$LAB_TMP/ulogd2.err")"
		;;
	minreader)
		# shellcheck disable=SC2086 # extra: minreader options (-m VLEN)
		lab_bg minreader "$LAB_RTR" "$MINREADER" -b "$mbuf" -t 600 $extra
		lab_wait_for 10 "minreader to be ready" grep -q ready "$LAB_TMP/minreader.err" ||
			die "minreader did not start: $(cat "$LAB_TMP/minreader.err")"
		;;
	conntrack)
		lab_bg conntrack "$LAB_RTR" conntrack -E -e NEW,DESTROY
		;;
	esac
	SYS_PID=$(child_pid "$sys") || die "$sys: no process"
	lab_wait_for 10 "$sys to subscribe to conntrack events" nl_subscribed "$SYS_PID" ||
		die "$sys did not subscribe to conntrack events"
}

# sys_stop NAME: stop it; sets SYS_EVENTS (events it says it received, or
# "" if it does not say), SYS_OVERRUNS (ENOBUFS it saw) and SYS_NOTE
sys_stop() {
	local sys=$1
	SYS_EVENTS=""
	SYS_OVERRUNS=""
	SYS_NOTE=""
	lab_stop "$sys" 20
	case $sys in
	nfflowd)
		SYS_EVENTS=$(awk '/events: new/ { for (i = 1; i < NF; i++) if ($i == "new" || $i == "destroy") n += $(i + 1); e = n; n = 0 } END { print e + 0 }' "$LAB_TMP/nfflowd.err")
		SYS_OVERRUNS=$(grep 'netlink: datagrams' "$LAB_TMP/nfflowd.err" | tail -n 1 | lab_stat_value "nfflowd: netlink:" overruns)
		SYS_NOTE=$(grep 'netlink: datagrams' "$LAB_TMP/nfflowd.err" | tail -n 1 | lab_stat_value "nfflowd: netlink:" buffer)
		[ -n "$SYS_NOTE" ] && SYS_NOTE="buffer-end=$SYS_NOTE"
		[ -z "$SYS_CONF" ] || SYS_NOTE="$SYS_NOTE,$(copies_note)"
		;;
	ulogd2)
		SYS_OVERRUNS=$(grep -c "losing events" "$LAB_TMP/ulogd.log" || true)
		SYS_NOTE="buffer-end=$(sed -n 's/.*increasing buffer size to \([0-9]*\).*/\1/p' "$LAB_TMP/ulogd.log" | tail -n 1)"
		;;
	minreader)
		SYS_EVENTS=$(awk '/^minreader: datagrams/ { print $5 + $9 }' "$LAB_TMP/minreader.err" | tail -n 1)
		SYS_OVERRUNS=$(awk '/^minreader: datagrams/ { print $13 }' "$LAB_TMP/minreader.err" | tail -n 1)
		;;
	conntrack)
		SYS_EVENTS=$(grep -c -E '^ *\[(NEW|DESTROY)\]' "$LAB_TMP/conntrack.out" || true)
		SYS_OVERRUNS=$(grep -c "ENOBUFS" "$LAB_TMP/conntrack.err" || true)
		;;
	esac
}

# sys_exported NAME PORT: connections that reached the collector (or, for
# the two that export nothing, whose DESTROY they received)
sys_exported() {
	case $1 in
	nfflowd | ulogd2) nfcapd_count "$2" ;;
	minreader) awk '/^minreader: datagrams/ { print $9 }' "$LAB_TMP/minreader.err" | tail -n 1 ;;
	conntrack) grep -c -E "^ *\[DESTROY\] .*src=$LAB_CLIENT_IP " "$LAB_TMP/conntrack.out" || true ;;
	esac
}

# ---------------------------------------------------------------------------
# The load

GEN_PIDS=()
# gen_run N RATE MODE: two senders (one per core), N/2 connections each at
# RATE/2 (0: no limit); MODE paced deletes each one again after the lag.
# Sets GEN_SENT, GEN_SECS (the slower sender's sending time), GEN_DELETED,
# GEN_NOTFOUND, GEN_TOTAL (the slower sender's time until its last delete).
GEN_SEQ=0
gen_run() {
	local n=$1 rate=$2 mode=$3 i half r opts cpu
	GEN_PIDS=()
	GEN_SEQ=$((GEN_SEQ + 1))
	for i in 0 1; do
		half=$((n / 2))
		[ "$i" -eq 1 ] && half=$((n - n / 2))
		r=0
		[ "$rate" -gt 0 ] && r=$((rate / 2))
		opts=(-n "$half" -r "$r" -a "$BENCH_NADDRS" -A "$BENCH_FIRST_ADDR" -t 120
			-s $((20000 + GEN_SEQ * 2 + i)))
		[ "$mode" = paced ] && opts+=(-D "/run/netns/$LAB_RTR" -L "$BENCH_LAG_MS")
		cpu=()
		[ "$NCPU" -ge 2 ] && cpu=(taskset -c "$i")
		ip netns exec "$LAB_CLI" "${cpu[@]}" timeout -k 5 150 "$UDPFLOOD" "${opts[@]}" \
			>"$LAB_TMP/gen-$i.out" 2>"$LAB_TMP/gen-$i.err" &
		GEN_PIDS+=($!)
	done
	for i in "${GEN_PIDS[@]}"; do wait "$i" || lab_warn "a sender stopped early (see $LAB_TMP/gen-*.err)"; done
	GEN_PIDS=()
	read -r GEN_SENT GEN_SECS GEN_DELETED GEN_NOTFOUND GEN_TOTAL < <(
		awk '$1 == "result" { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			s += v["sent"]; d += v["deleted"]; nf += v["notfound"]; if (v["seconds"] > t) t = v["seconds"]
			if (v["total_seconds"] > tt) tt = v["total_seconds"] }
			END { printf "%d %.6f %d %d %.6f\n", s, t, d, nf, tt }' "$LAB_TMP/gen-0.out" "$LAB_TMP/gen-1.out")
}

# ---------------------------------------------------------------------------
# One case: a system on one load; appends a line to the TSV file

TSV_HEAD="system mode conns rate_req created gen_sent server_pkts exported lost loss_pct cpu_s events us_per_event rss0_kb rss_open_kb rss_after_kb hwm_kb b_per_conn drops overruns gen_rate flush_rate coll_drops note drops_create ev_rate"

run_case() { # SYSTEM[@BUF] MODE(flush|paced) CONNS RATE TSV [EXTRA-ARGS]
	local label=$1 mode=$2 n=$3 rate=$4 tsv=$5 extra=${6:-}
	local sys=${1%@*} buf=""
	[ "$label" = "$sys" ] || buf=${label#*@}
	SYS_BIN=""
	case $sys in nfflowd*-base) # another build: BENCH_BASELINE
		[ -x "${BENCH_BASELINE:-}" ] || die "$sys needs BENCH_BASELINE, a binary"
		SYS_BIN=$BENCH_BASELINE sys=${sys%-base} ;;
	esac
	case $sys in
	minreader-mm) sys=minreader extra="-m 64" ;; # recvmmsg, 64 datagrams a call
	minreader-rest) sys=minreader extra="-r 1000" ;; # a 1 ms rest after each emptying
	nfflowd-w) sys=nfflowd ;;                    # the recording run: extra is -w FILE
	nfflowd-orig | nfflowd-syslog) sys=nfflowd ;; # another configuration: SYS_CONF below
	esac
	SYS_CONF=""
	case $label in nfflowd-orig*) SYS_CONF=orig ;; nfflowd-syslog*) SYS_CONF=syslog ;; esac
	local port=$NEXT_PORT pid t0 t1 c0 c1 rss0 rss_open rss_after hwm drops0 drops1 drops_mid cd0 cd1 sp0 sp1
	local created exported lost events flush_rate="-" gen_rate ev_rate cpu_s us loss bpc flushed
	NEXT_PORT=$((NEXT_PORT + 1))
	CASE_ID="$mode-$rate-$label"
	ct_empty
	case $sys in nfflowd | ulogd2) nfcapd_start "$port" ;; esac
	sys_start "$sys" "$port" "$extra" "$buf"
	pid=$SYS_PID
	sleep 0.5
	wait_drained "$pid" 10 || true
	c0=$(proc_ticks "$pid")
	rss0=$(proc_kb "$pid" VmRSS)
	drops0=$(nl_sum "$pid" 9)
	cd0=$(udp_rcvbuf_errors "$pid")
	sp0=$(server_packets)
	if [ "$sys" = nfflowd ] && [ "$BENCH_PERF" = 1 ] && [ "$mode" = flush ] && [ -z "$extra" ]; then
		perf record -q -g -F 2000 -e cpu-clock -p "$pid" -o "$OUT/perf-$label.data" \
			>/dev/null 2>"$OUT/perf-$label.err" &
		PERF_PID=$!
		sleep 0.5
	fi

	gen_run "$n" "$rate" "$mode"
	gen_rate=$(awk -v n="$GEN_SENT" -v s="$GEN_SECS" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
	# sweep: NEW + DESTROY events over the whole step, first datagram to last delete
	ev_rate=$(awk -v n="$GEN_SENT" -v s="$GEN_TOTAL" 'BEGIN { printf "%.0f", (s > 0 ? 2 * n / s : 0) }')
	if [ "$mode" = flush ]; then
		wait_drained "$pid" 60 || true
		created=$(ct_count)
		rss_open=$(proc_kb "$pid" VmRSS)
		drops_mid=$(nl_sum "$pid" 9)
		t0=$(date +%s%N)
		ct_flush
		t1=$(date +%s%N)
		flush_rate=$(awk -v n="$created" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / ((b - a) / 1e9) }')
	else
		rss_open=$(proc_kb "$pid" VmRSS)
		drops_mid=$(nl_sum "$pid" 9)
		flushed=$(ct_count) # left over: deletes that came before their connection
		ct_flush
		created=$((GEN_DELETED + flushed))
	fi
	wait_drained "$pid" 120 || true
	# nfflowd sends what is ready within flush_interval (1 s); ulogd2 has no
	# such timer (a partly filled IPFIX message waits for more flows).
	[ "$sys" = nfflowd ] && sleep 1.1
	c1=$(proc_ticks "$pid")
	rss_after=$(proc_kb "$pid" VmRSS)
	hwm=$(proc_kb "$pid" VmHWM)
	drops1=$(nl_sum "$pid" 9)
	cd1=$(udp_rcvbuf_errors "$pid")
	sp1=$(server_packets)
	if [ -n "$PERF_PID" ]; then
		kill -INT "$PERF_PID" 2>/dev/null || true
		wait "$PERF_PID" 2>/dev/null || true
		PERF_PID=""
		perf report -i "$OUT/perf-$label.data" --no-children --sort dso,sym --stdio -g none \
			2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 60 >"$OUT/perf-$label.txt" || true
	fi
	sys_stop "$sys"
	exported=$(sys_exported "$sys" "$port")
	exported=${exported:-0}
	events=${SYS_EVENTS:-$((2 * created - (drops1 - drops0)))}
	lost=$((created - exported))
	cpu_s=$(awk -v a="$c0" -v b="$c1" -v t="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / t }')
	us=$(awk -v c="$cpu_s" -v e="$events" 'BEGIN { printf "%.2f", (e > 0 ? c * 1e6 / e : 0) }')
	loss=$(awk -v l="$lost" -v c="$created" 'BEGIN { printf "%.2f", (c > 0 ? 100 * l / c : 0) }')
	bpc=$(awk -v a="$rss0" -v b="$rss_open" -v c="$created" 'BEGIN { printf "%.0f", (c > 0 ? (b - a) * 1024 / c : 0) }')
	printf '%s\n' "$label $mode $n $rate $created $GEN_SENT $((sp1 - sp0)) $exported $lost $loss $cpu_s $events $us $rss0 $rss_open $rss_after $hwm $bpc $((drops1 - drops0)) ${SYS_OVERRUNS:-0} $gen_rate $flush_rate $((cd1 - cd0)) ${SYS_NOTE:--} $((drops_mid - drops0)) $ev_rate" >>"$tsv"
	mkdir -p "$OUT/logs"
	case $sys in
	nfflowd) cp "$LAB_TMP/nfflowd.err" "$OUT/logs/$CASE_ID-nfflowd.err" ;;
	ulogd2) cp "$LAB_TMP/ulogd.log" "$OUT/logs/$CASE_ID-ulogd.log" ;;
	minreader) cp "$LAB_TMP/minreader.err" "$OUT/logs/$CASE_ID-minreader.err" ;;
	conntrack) cp "$LAB_TMP/conntrack.err" "$OUT/logs/$CASE_ID-conntrack.err" ;;
	esac
	cat "$LAB_TMP"/gen-*.out >"$OUT/logs/$CASE_ID-senders.out"
	say "$label $mode n=$n rate=$rate: created $created (sent $GEN_SENT at ${gen_rate}/s$([ "$mode" = paced ] && echo ", $ev_rate events/s over the step")), exported $exported, lost $lost ($loss %)$([ "$mode" = paced ] && echo ", deletes before creation $GEN_NOTFOUND"), CPU ${cpu_s}s, ${us} us/event, drops $((drops1 - drops0)), collector drops $((cd1 - cd0))"
}

# ---------------------------------------------------------------------------
# Replay: nfflowd -w records the no-loss load, "nfflowd replay" runs it again

REPLAY_LINE="not available (nfflowd has no replay verb yet)"
replay_supported() {
	local out
	"$NFFLOWD" help 2>&1 | grep -qw replay && return 0
	out=$("$NFFLOWD" -c /dev/null replay 2>&1 || true)
	grep -q "replay needs a file" <<<"$out"
}
run_replay() {
	local port pcap=$LAB_TMP/rec/noloss.pcap tsv=$1 line rc=0
	if ! replay_supported; then
		say "replay: $REPLAY_LINE"
		return 0
	fi
	mkdir -p "$LAB_TMP/rec"
	chmod 777 "$LAB_TMP/rec"
	run_case "$BENCH_RECORD_AS" flush "$BENCH_CONNS" 0 "$tsv" "-w $pcap"
	cp "$LAB_TMP/nfflowd.err" "$OUT/logs/recording-nfflowd.err"
	if [ ! -s "$pcap" ]; then
		REPLAY_LINE="not available (nfflowd -w wrote no $pcap)"
		return 0
	fi
	# Kept, so that "nfflowd replay" can be run on it again by hand.
	cp "$pcap" "$OUT/noloss.pcap"
	port=$NEXT_PORT
	NEXT_PORT=$((NEXT_PORT + 1))
	# The replay outruns nfcapd: a buffer that holds all it sends (rmem_max
	# is raised only while nfcapd sets it up).
	sysctl_raise net.core.rmem_max "$BENCH_REPLAY_NFCAPD_BUF"
	nfcapd_start "$port" "$BENCH_REPLAY_NFCAPD_BUF"
	sysctl_restore net.core.rmem_max
	nfflowd_conf "$LAB_TMP/replay.conf" "$port"
	sed -i '/^pidfile\|^control_socket/d' "$LAB_TMP/replay.conf"
	local perf=() i rates=() lines=() sent=0
	[ "$BENCH_PERF" = 1 ] && perf=(perf record -q --call-graph "dwarf,16384" -F 2000 -e cpu-clock
		-o "$OUT/perf-replay.data" --)
	# One process, so at most one core; not pinned, so that other work on
	# the machine does not decide which core it gets. Run BENCH_REPLAY_RUNS
	# times into the same collector: the median rate is reported.
	local TIMEFORMAT='%U %S'
	for ((i = 1; i <= BENCH_REPLAY_RUNS; i++)); do
		{ time ip netns exec "$LAB_RTR" timeout -k 5 300 "${perf[@]}" "$NFFLOWD" -c "$LAB_TMP/replay.conf" \
			replay "$pcap" >"$LAB_TMP/replay.out" 2>"$LAB_TMP/replay.err" || rc=$?; } 2>"$LAB_TMP/replay.time"
		perf=()
		line=$(grep -h -E 'replayed [0-9]+ events' "$LAB_TMP/replay.err" "$LAB_TMP/replay.out" | tail -n 1)
		if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
			break
		fi
		sent=$((sent + $(sed -n 's/.*collector .*: datagrams [0-9]* records \([0-9]*\) .*/\1/p' "$LAB_TMP/replay.err" | tail -n 1)))
		rates+=("$(sed -n 's/.*: \([0-9.]*\) events\/s.*/\1/p' <<<"$line")")
		lines+=("${line#*replayed }; $(awk -v l="$line" '{ sub(/.*replayed /, "", l); n = l + 0
			c = $1 + $2; if (c > 0) printf "%.0f events per CPU second (%.2f s user+sys)", n / c, c }' \
			"$LAB_TMP/replay.time")")
	done
	if [ "$BENCH_PERF" = 1 ]; then
		perf report -i "$OUT/perf-replay.data" --children --sort sym --stdio -g none 2>/dev/null |
			grep -v '^#' | grep -v '^$' | head -n 80 >"$OUT/perf-replay.txt" || true
	fi
	REPLAY_EXPORTED=$(nfcapd_count "$port")
	if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
		REPLAY_LINE="failed (exit $rc): $(tail -n 3 "$LAB_TMP/replay.err" | tr '\n' ' ')"
	else
		local mid=$(((${#rates[@]} - 1) / 2))
		REPLAY_RATE=$(printf '%s\n' "${rates[@]}" | sort -n | sed -n "$((mid + 1))p")
		for i in "${!rates[@]}"; do
			[ "${rates[$i]}" = "$REPLAY_RATE" ] && line=${lines[$i]}
		done
		REPLAY_LINE="median of ${#rates[@]} runs ($(printf '%s\n' "${rates[@]}" | sort -n | tr '\n' ' ' | sed 's/ $//') events/s): $line; $REPLAY_EXPORTED distinct connections and $(nfcapd_records "$port") of the $sent records sent reached the collector"
	fi
	say "replay: $REPLAY_LINE"
}

# ---------------------------------------------------------------------------
# Report

fmt_table() { # TSV (no header): the aligned no-loss table
	awk '
	function mib(kb) { return sprintf("%.1f", kb / 1024) }
	BEGIN {
		f = "%-14s %8s %8s %7s %6s %7s %7s %6s %8s %7s %6s %7s %7s %15s %7s\n"
		printf f, "system", "created", "exported", "lost", "lost%", "made/s", "ended/s", "CPU s", "us/event",
			"peakRSS", "B/open", "RSS", "RSS", "netlink drops", "ENOBUFS"
		printf f, "", "(kernel)", "", "", "", "", "(flush)", "", "", "MiB", "conn", "open", "after", "create+flush", "seen"
	}
	{
		printf f, $1, $5, $8, $9, sprintf("%.2f", $10), sprintf("%.0fk", $21 / 1000), sprintf("%.0fk", $22 / 1000),
			sprintf("%.2f", $11), sprintf("%.2f", $13), mib($17), $18, mib($15), mib($16),
			sprintf("%d+%d", $25, $19 - $25), $20
	}' "$1"
}

report() {
	local noloss=$OUT/noloss.tsv sweep=$OUT/sweep.tsv res=$OUT/results.txt
	{
		echo "nfflowd benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $NCPU CPUs"
		if [ "${IDLE_CHECK:-0}" -ge 10 ]; then
			echo "WARNING: before the run the CPUs were already ${IDLE_CHECK}% busy with other work: noisy numbers"
		else
			echo "the CPUs were ${IDLE_CHECK:-?}% busy before the run (idle machine)"
		fi
		echo "nfflowd: $NFFLOWD ($("$NFFLOWD" version 2>&1 | head -n 1); tree $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown))"
		echo "lab: tests/e2e/lib.sh namespaces, masquerade in the router; every system ran after"
		echo "  the previous one on the same lab with the connection table emptied first"
		echo "  (conntrack -F, count 0), so each saw the same kind and number of events."
		echo "nfflowd: default configuration plus one IPFIX collector (version 10, nfcapd on"
		echo "  127.0.0.1) and no local CSV copy (<ptee> without dispatchers)${BENCH_NFFLOWD_CONF:+; plus: $BENCH_NFFLOWD_CONF}."
		echo "ulogd2: NFCT with hash, IPFIX over UDP; netlink buffer $((BENCH_ULOGD_BUF >> 20)) MiB, grown on ENOBUFS up to $((BENCH_ULOGD_BUFMAX >> 20)) MiB."
		echo "minreader: libmnl, NEW|DESTROY, SO_RCVBUFFORCE $((BENCH_NL_BUF >> 20)) MiB, counts only.  conntrack: conntrack -E -e NEW,DESTROY."
		echo
		awk 'NR == 1 { printf "No-loss load: %d connections created by two senders at %d/s (achieved), ended by conntrack -F at %d DESTROY/s.\n", $5, $21, $22 }' "$noloss"
		echo "created = conntrack -C after the senders; exported = connections in nfcapd's files (distinct"
		echo "client tuples with packets), or DESTROY events received for minreader and conntrack -E."
		echo "CPU = utime+stime of the process during the load; us/event = CPU / (NEW+DESTROY received)."
		echo "B/open conn = (RSS with all connections open - RSS before) / created; RSS in MiB."
		echo "made/s: the senders' achieved rate with this system listening (its CPU competes with them);"
		echo "ended/s: conntrack -F's DESTROY rate. ENOBUFS seen: overruns the system itself noticed."
		echo
		fmt_table <(grep -v '^nfflowd-w' "$noloss")
		awk '$23 > 0 { printf "WARNING: %s: %d export datagrams dropped by the collector socket (UDP RcvbufErrors)\n", $1, $23 }
			$7 != $6 { printf "note: %s: senders sent %d, the server received %d\n", $1, $6, $7 }
			$5 != $6 { printf "note: %s: senders sent %d, the kernel counted %d connections\n", $1, $6, $5 }' "$noloss"
		echo
		awk '
			$1 == "ulogd2" && $9 > 0 && $9 < 14 && $19 == 0 {
				printf "note: ulogd2 lost %d connections without a netlink drop: its last, partly filled IPFIX\n", $9
				print "  message (14 records at MTU 512) waits for more flows and is not sent when ulogd2 stops."
			}' "$noloss"
		echo
		awk '
			function v(label, col) { return ((label, col) in x) ? x[label, col] : "" }
			function row(name, a, b, target) {
				printf "%-42s %10s %10s   %s\n", name, a, b, target
			}
			# label / ref in column col, in each round (the k-th run of each): min-max
			function range(label, ref, col, k, r, lo, hi) {
				for (k = 1; k <= runs[label] && k <= runs[ref]; k++) {
					if (y[ref, k, col] <= 0) continue
					r = y[label, k, col] / y[ref, k, col]
					if (lo == "" || r < lo) lo = r
					if (hi == "" || r > hi) hi = r
				}
				if (lo == "") return "-"
				return sprintf("%.2f", lo) (sprintf("%.2f", hi) == sprintf("%.2f", lo) ? "" : sprintf("-%.2f", hi))
			}
			{ k = ++runs[$1]; for (i = 1; i <= NF; i++) { x[$1, i] = $i; y[$1, k, i] = $i } }
			$1 ~ /^nfflowd@/ && big == "" { big = $1 }
			END {
				if (!(("nfflowd", 1) in x)) exit
				b = big
				printf "%-42s %10s %10s   %s\n", "nfflowd on the no-loss load, per round", "default", (b == "" ? "-" : substr(b, 9) " buf"), "target"
				row("CPU / ulogd2 CPU", range("nfflowd", "ulogd2", 11), (b == "" ? "-" : range(b, "ulogd2", 11)), "<= 0.6")
				if (runs["nfflowd-orig"])
					row("  the original'"'"'s configuration", range("nfflowd-orig", "ulogd2", 11), "-", "<= 0.6")
				if (runs["nfflowd-syslog"])
					row("  the same with a syslog daemon", range("nfflowd-syslog", "ulogd2", 11), "-", "<= 0.6")
				row("us/event / minreader us/event", range("nfflowd", "minreader", 13),
					(b == "" ? "-" : range(b, "minreader", 13)), "<= 1.5 (aim)")
				if (runs["minreader-rest"])
					row("us/event / minreader-rest us/event", range("nfflowd", "minreader-rest", 13),
						(b == "" ? "-" : range(b, "minreader-rest", 13)), "(the floor for a reader that rests)")
				row("bytes per open connection", v("nfflowd", 18), (b == "" ? "-" : v(b, 18)), "<= 128")
				row("connections lost", v("nfflowd", 9), (b == "" ? "-" : v(b, 9)), "0")
				row("netlink drops (create+flush)", v("nfflowd", 25) "+" v("nfflowd", 19) - v("nfflowd", 25),
					(b == "" ? "-" : v(b, 25) "+" v(b, 19) - v(b, 25)), "0")
			}' "$noloss"
		local rate_note="(target >= 1,000,000)"
		if [ -n "${REPLAY_RATE:-}" ]; then
			awk -v r="$REPLAY_RATE" -v n="$rate_note" 'BEGIN { printf "%-42s %10.0f %10s   %s %s\n", "replay, events/s on one core", r, "", n, (r >= 1000000 ? "ok" : "MISSED") }'
			echo "  $REPLAY_LINE"
			awk '$1 ~ /^nfflowd-w/ { printf "  recorded by %s on the no-loss load: CPU %.2f s, %.2f us/event, lost %d, netlink drops %d\n", $1, $11, $13, $9, $19 }' "$noloss"
		else
			echo "replay, events/s on one core: $REPLAY_LINE $rate_note"
		fi
		if [ -s "$sweep" ]; then
			echo
			echo "Rate sweep: $BENCH_SWEEP_CONNS connections per step, each deleted over ctnetlink ${BENCH_LAG_MS} ms after it"
			echo "was made (NEW and DESTROY at the same rate). Each cell: connections lost @ events/s"
			echo "(NEW+DESTROY over the step, as achieved: a system that uses more CPU slows the senders):"
			awk '
				{ if (!($1 in sys)) so[++ns] = $1; sys[$1] = 1
				  if (!($4 in seen)) { seen[$4] = 1; order[++n] = $4 }
				  cell[$1, $4] = sprintf("%.1f%% @%.0fk", $10, $26 / 1000) }
				END {
					printf "%-10s", "requested"
					for (i = 1; i <= n; i++) printf " %15s", (order[i] == 0 ? "max" : order[i] / 1000 "k conn/s")
					printf "\n"
					for (j = 1; j <= ns; j++) {
						printf "%-10s", so[j]
						for (i = 1; i <= n; i++) printf " %15s", ((so[j], order[i]) in cell) ? cell[so[j], order[i]] : "-"
						printf "\n"
					}
				}' "$sweep"
			awk '$23 > 0 { printf "WARNING: %s at %s: %d export datagrams dropped by the collector socket\n", $1, $4, $23 }' "$sweep"
		fi
		echo
		echo "raw numbers: bench/out/noloss.tsv, bench/out/sweep.tsv (columns: $TSV_HEAD)"
	} >"$res"
	cat "$res"
}

plot() {
	local dat=$OUT/sweep-plot.dat systems s
	[ -s "$OUT/sweep.tsv" ] || return 0
	# One block per system, in sweep order, points sorted by achieved rate.
	systems=$(awk '!($1 in s) { s[$1] = 1; printf "%s%s", (n++ ? " " : ""), $1 }' "$OUT/sweep.tsv")
	for s in $systems; do
		echo "# $s"
		awk -v s="$s" '$1 == s { printf "%.1f %.3f\n", $26 / 1000, $10 }' "$OUT/sweep.tsv" | sort -n
		printf '\n\n'
	done >"$dat"
	gnuplot -e "datafile='$dat'; outfile='$OUT/loss-vs-rate.png'; systems='$systems'; nfbuf='$((BENCH_NL_BUF >> 20)) MiB'" \
		"$BENCH_DIR/plot.gp" \
		2>"$OUT/plot.err" || lab_warn "gnuplot failed: $(cat "$OUT/plot.err")"
	if [ -s "$OUT/loss-vs-rate.png" ]; then say "plot: bench/out/loss-vs-rate.png"; fi
}

# ---------------------------------------------------------------------------
# Main

# cpu_busy_pct: how busy the machine's CPUs are over one second (%)
cpu_busy_pct() {
	local a b
	a=$(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat)
	sleep 1
	b=$(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); busy = y[1] - x[1]; idle = y[2] - x[2]
		printf "%.0f\n", (busy + idle > 0 ? 100 * busy / (busy + idle) : 0) }'
}

main() {
	local sys rate
	IDLE_CHECK=$(cpu_busy_pct)
	[ "$IDLE_CHECK" -lt 10 ] || lab_warn "the machine is already ${IDLE_CHECK}% busy: other work will make the numbers noisy"
	lab_require
	lab_up
	bench_install_traps
	bench_lab_setup
	rm -f "$OUT/noloss.tsv" "$OUT/sweep.tsv" "$OUT/results.txt" "$OUT/loss-vs-rate.png"
	rm -rf "$OUT/logs"
	say "lab ready; no-loss load: $BENCH_CONNS connections, then conntrack -F"
	for sys in $BENCH_SYSTEMS; do
		run_case "$sys" flush "$BENCH_CONNS" 0 "$OUT/noloss.tsv"
	done
	if [ "$BENCH_REPLAY" = 1 ]; then run_replay "$OUT/noloss.tsv"; else REPLAY_LINE="not run (BENCH_REPLAY=0)"; fi
	if [ "$BENCH_SWEEP" = 1 ]; then
		say "rate sweep: $BENCH_SWEEP_CONNS connections per step at $BENCH_SWEEP_RATES conn/s (0 = max)"
		for rate in $BENCH_SWEEP_RATES; do
			for sys in $BENCH_SWEEP_SYSTEMS; do
				if [ "$(elapsed_s)" -gt "$BENCH_BUDGET" ]; then
					say "time budget (${BENCH_BUDGET}s) spent: skipping $sys at $rate"
					continue
				fi
				run_case "$sys" paced "$BENCH_SWEEP_CONNS" "$rate" "$OUT/sweep.tsv"
			done
		done
	fi
	report
	plot
	say "total run time $(elapsed_s) s"
}

main "$@"
