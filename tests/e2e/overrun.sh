#!/usr/bin/env bash
# End-to-end, netlink overrun: with the smallest receive buffer (64K) and
# nfflowd stopped (SIGSTOP) while 20,000 connections are created, the kernel
# must drop events. nfflowd must detect it (ENOBUFS), count it, log it with
# its figures, grow its buffer, dump the table again when resync_interval
# allows (waking for it, with no event to wake it), and keep working: the
# connections that were open across the overrun are exported with the
# kernel's exact counters when they end, and so are connections made after.
# Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=overrun
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FLOOD=20000

lab_require
lab_require_nfflowd
lab_up
lab_servers_start
lab_nfcapd_start "$LAB_COLLECTOR_PORT"
lab_ct_start

# The dump after the overrun waits for resync_interval (counted from the
# start-up dump): 20 s, well past the 10 s after the last overrun in which
# nfflowd reads the kernel's drop counter each second, so that nothing but
# that dump's own timer wakes it then.
RESYNC=20
started=$(lab_now_ms)
# Without the kernel's reliable delivery (the default), which would keep the
# DESTROY events and report no overrun at all.
lab_nfflowd_start_with "$LAB_COLLECTOR_PORT" "netlink_rcvbuf 64K" "resync_interval $RESYNC" \
	"netlink_reliable no"
pid=$(cat "$LAB_TMP/nfflowd.pid")

# Two connections open across the overrun, with traffic before and after.
lab_udp_exchange "before" 41001
lab_udp_exchange "before" 41002

lab_log "stopping nfflowd (pid $pid) and creating $FLOOD connections"
kill -STOP "$pid"
lab_udp_connections "$FLOOD"
kill -CONT "$pid"

# shellcheck disable=SC2317 # called through lab_wait_for
overrun_logged() { grep -q "netlink overrun" "$LAB_TMP/nfflowd.err"; }
lab_wait_for 10 "nfflowd to report the overrun" overrun_logged ||
	lab_fail "nfflowd did not log a netlink overrun"
value() { lab_nfflowd_check "$LAB_TMP/nfflowd.conf" | lab_stat_value "netlink:" "$1"; }
# nfflowd is left alone until the dump is due: any request would wake it,
# and a turn starts a dump that is due. Its count of voluntary context
# switches (/proc/PID/status, read without waking it) shows that it woke.
until_ms() { # sleep until MS after the start
	local ms=$((started + $1 - $(lab_now_ms)))
	[ "$ms" -le 0 ] || sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
}
runs() { awk '$1 == "voluntary_ctxt_switches:" { print $2 }' "/proc/$pid/status"; }
until_ms $(((RESYNC - 3) * 1000))
runs_before=$(runs)
until_ms $(((RESYNC + 3) * 1000))
runs_after=$(runs)
lab_log "nfflowd ran $((runs_after - runs_before)) time(s) around the due dump"
[ "$runs_after" -gt "$runs_before" ] ||
	lab_fail "nfflowd did not wake for the dump after the overrun (resync_interval $RESYNC)"
[ "$(value dumps)" -ge 2 ] || lab_fail "no table dump within resync_interval after the overrun"
lab_alive nfflowd || lab_die "nfflowd died: $(cat "$LAB_TMP/nfflowd.err")"
overruns=$(value overruns)
buffer=$(value buffer)
lab_log "nfflowd counted $overruns overrun(s); receive buffer now $buffer bytes"
[ "${overruns:-0}" -ge 1 ] || lab_fail "nfflowd's counters show no overrun"
[ "${buffer:-0}" -gt 65536 ] || lab_fail "the receive buffer did not grow (${buffer:-?} bytes)"

# End the flood (its DESTROYs may overrun again: only counted), then the
# connections that lived across the overrun, after more traffic.
ip netns exec "$LAB_RTR" conntrack -D -p udp -s "$LAB_CLIENT_IP" --sport 42000 >/dev/null 2>&1 ||
	true
lab_udp_exchange "after" 41001
lab_udp_exchange "after" 41002
lab_ping 2
sleep 2 # let the flood's DESTROY burst drain first
lab_ct_stop
: >"$LAB_TMP/ct-xml.out"
: >"$LAB_TMP/ct-txt.out"
lab_ct_start
ended=$(lab_ct_flush_client)
lab_log "ended $ended client connections"
lab_ct_wait_destroys 3 || true
lab_alive nfflowd || lab_fail "nfflowd died"
lab_nfflowd_stop TERM
lab_nfcapd_stop "$LAB_COLLECTOR_PORT"
lab_ct_stop

# The three connections ended last (two across the overrun, one after) must
# be exported with the kernel's own counters. The collector also holds
# whatever survived of the flood; only these are required.
lab_ct_events v5 | awk -v c="$LAB_CLIENT_IP" '$3 == c' >"$LAB_TMP/destroys.txt"
lab_check_destroys "$LAB_TMP/destroys.txt" 3 "1 17 17"
lab_expected_triplets ct <"$LAB_TMP/destroys.txt" >"$LAB_TMP/expected.txt"
lab_nfdump_flows "$LAB_COLLECTOR_PORT" >"$LAB_TMP/collector.txt"
lab_compare "$LAB_TMP/expected.txt" "$LAB_TMP/collector.txt" "collector vs kernel (after the overrun)" \
	2000 extra-ok || lab_fail "connections open across the overrun were not exported right"
grep -E "^skipped|^netlink|overrun" "$LAB_TMP/nfflowd.err" | sed 's/^/    /' >&2 || true

[ "$LAB_FAILURES" -eq 0 ] || lab_show_evidence
lab_finish
