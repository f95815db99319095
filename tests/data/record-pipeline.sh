#!/usr/bin/env bash
# Regenerates the netlink recordings that tests/test_pipeline.c replays
# (CTest unit_pipeline). Run by hand, as root, in the e2e lab of
# tests/e2e/lib.sh; CTest does not run it. Other e2e runs use the same
# kernel, so take the lab lock:
#
#   NFFLOWD=/path/to/nfflowd flock /tmp/e2e.lock bash tests/data/record-pipeline.sh [OUTDIR]
#
# OUTDIR defaults to tests/data. NFFLOWD is the binary that records (-w):
# the committed files were made with a build of commit 7c49d62 on Linux
# 6.18. Each recording is a pcap
# of the netlink datagrams nfflowd received (events and table dumps) with
# their times; nfflowd's own export and configuration do not matter to it.
# After a run, check the counts printed at the end against the constants in
# tests/test_pipeline.c (REC_NAT_*, REC_ACTIVE_*) and update them if the
# traffic below was changed.
#
# rec-nat.pcap (lab_up_full: NAT44 masquerade, NAT66, a port forward, a
# path without NAT), about 10 s, nf_conntrack_timestamp on:
#   - a UDP exchange client 10.77.1.2:40001 -> server before nfflowd starts:
#     in the start-up dump, no NEW event, its DESTROY at the end;
#   - TCP upload of 20000 bytes (client -> server, SNAT to 203.0.113.1,
#     closed: TIME_WAIT), UDP exchange from port 40002, 2 pings, an IPv6
#     UDP exchange and ping (NAT66), a TCP connection from the server to the
#     router's port 8081 (DNAT to the client), a UDP exchange from the
#     server to the client directly (no NAT);
#   - a UDP exchange from port 40003 made while the router's UDP timeouts
#     are 1 s: it times out (DESTROY with nlmsg_pid 0: flowEndReason 1);
#   - every other connection ended with conntrack -D (nlmsg_pid != 0:
#     flowEndReason 4, or 3 for the closed TCP upload).
#   The test expects 9 DESTROY events (5 of them IPv4 SNAT from 10.77.1.2
#   to 203.0.113.1), 8 NEW events, one start-up dump entry, every connection
#   exported once, and v5, v9 and IPFIX agreeing with the DESTROY counters.
#
# rec-active.pcap (lab_up: NAT44 only), active_timeout 2 (a dump every
# second), about 10 s:
#   - a UDP exchange client:40010 -> server made with nf_conntrack_events=2
#     and no event listener anywhere, so the kernel never reports its end;
#     it is in the start-up dump, deleted with conntrack -D, and the next
#     dump no longer shows it: exported from its snapshot;
#   - a TCP download of 400 kB over 4 s (10 kB every 0.1 s), seen open by
#     the dumps, then ended with conntrack -D.
#   The test expects 1 DESTROY event, 1 connection ended without an event,
#   interim records for the download when replayed with active_timeout 2,
#   and all its records adding up to its DESTROY counters.
set -euo pipefail
LAB_NAME=record_pipeline
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

OUTDIR=$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")}" && pwd)
SLOW_PORT=8090

R() { ip netns exec "$LAB_RTR" "$@"; }

# conf FILE LINE...: a v5 collector on the router's loopback (nothing
# listens: the export is not what is recorded) and LINEs at the top level.
conf() { lab_nfflowd_conf "$1" "$LAB_COLLECTOR_PORT" "${@:2}"; }

# record FILE CONF: start nfflowd recording to FILE, wait for "ready".
record() { lab_nfflowd_start_conf "$2" -w "$1"; }

# stop_recording: the last events are in the recording (they are sent as
# the kernel deletes the entries), then nfflowd stops.
stop_recording() {
	sleep 1
	lab_nfflowd_stop TERM
	[ "$LAB_FAILURES" -eq 0 ] || lab_die "nfflowd did not stop cleanly: $(cat "$LAB_TMP/nfflowd.err")"
}

# summary FILE: what the recording holds, as tshark decodes it: datagrams,
# and conntrack messages by kind (0x0102 DESTROY; 0x0100 a NEW event, or
# with NLM_F_MULTI a dump entry; 0x0003 NLMSG_DONE ends a dump).
summary() {
	tshark -r "$1" -T fields -e netlink.hdr_type -e netlink.hdr_flags.multi -E occurrence=a 2>/dev/null |
		awk -v f="$(basename "$1")" -v size="$(stat -c %s "$1")" '
		{
			n++; k = split($1, t, ","); split($2, m, ",")
			for (i = 1; i <= k; i++) {
				if (t[i] == "0x0102") destroy++
				else if (t[i] == "0x0100" && m[i] == 1) entries++
				else if (t[i] == "0x0100") new++
				else if (t[i] == "0x0003") dumps++
			}
		}
		END {
			printf "%s: %d bytes, %d datagrams: %d DESTROY, %d NEW, %d dumps with %d entries\n",
				f, size, n, destroy, new, dumps, entries
		}' >&2
}

# gone NS-ARGS...: no connection that conntrack -L ARGS selects is left
# (the listing itself evicts expired entries).
gone() { [ -z "$(R conntrack -L "$@" 2>/dev/null)" ]; }

rec_nat() {
	local out=$LAB_TMP/rec-nat.pcap n
	lab_up_full
	lab_servers_full_start
	lab_udp_exchange "before" 40001
	conf "$LAB_TMP/nat.conf" "active_timeout 0"
	record "$out" "$LAB_TMP/nat.conf"

	lab_tcp_upload 20000
	lab_udp_exchange "snat" 40002
	lab_ping 2
	lab_udp_exchange6 "nat66"
	lab_ping6 1
	lab_tcp_send "$LAB_SRV" "$LAB_ROUTER_WAN_IP" "$LAB_FWD_PORT" 5000
	lab_udp_send "$LAB_SRV" "$LAB_CLIENT_IP" "$LAB_CLIENT_PORT" "nonat"

	# An idle end: UDP timeouts of 1 s for one exchange; a listing of the
	# table evicts it once expired, with nlmsg_pid 0.
	R sysctl -qw net.netfilter.nf_conntrack_udp_timeout=1 net.netfilter.nf_conntrack_udp_timeout_stream=1
	lab_udp_exchange "idle" 40003
	R sysctl -qw net.netfilter.nf_conntrack_udp_timeout=30 net.netfilter.nf_conntrack_udp_timeout_stream=120
	sleep 1.5
	lab_wait_for 10 "the idle UDP connection to end" gone -p udp --sport 40003 ||
		lab_die "the idle UDP connection did not end"

	n=$(lab_ct_flush_all)
	[ "$n" -eq 8 ] || lab_die "conntrack -D ended $n connections, expected 8: $(R conntrack -L 2>&1)"
	stop_recording
	cp "$out" "$OUTDIR/rec-nat.pcap"
	summary "$OUTDIR/rec-nat.pcap"
}

rec_active() {
	local out=$LAB_TMP/rec-active.pcap n l
	lab_up
	lab_servers_start
	# No event cache for what is created now (events=2, no listener).
	R sysctl -qw net.netfilter.nf_conntrack_events=2
	l=$(lab_ct_listeners)
	[ -z "$l" ] || lab_die "a conntrack event listener exists in the router namespace: $l"
	lab_udp_exchange "unseen" 40010
	conf "$LAB_TMP/active.conf" "active_timeout 2" "resync_interval 1"
	record "$out" "$LAB_TMP/active.conf"

	n=$(lab_ct_flush_client)
	[ "$n" -eq 1 ] || lab_die "conntrack -D ended $n connections, expected 1"
	lab_wait_for 5 "nfflowd to find it gone" grep -q "ended without an event" "$LAB_TMP/nfflowd.err" ||
		lab_die "nfflowd did not find the connection gone: was there an event listener elsewhere (since Linux 6.3 one anywhere gives new connections an event cache)?"

	lab_slow_server slow-server "$SLOW_PORT" 40
	lab_slow_client slow-client "$SLOW_PORT"
	lab_wait_exit slow-client 30 || lab_die "the download did not finish"
	sleep 1.2
	n=$(lab_ct_flush_client)
	[ "$n" -eq 1 ] || lab_die "conntrack -D ended $n connections, expected 1"
	stop_recording
	cp "$out" "$OUTDIR/rec-active.pcap"
	summary "$OUTDIR/rec-active.pcap"
}

lab_require tshark
lab_require_nfflowd
lab_log "recording with $NFFLOWD into $OUTDIR"
# Each recording in a lab of its own (lab_down when its subshell exits).
(rec_nat)
(rec_active)
lab_log "done"
