#!/usr/bin/env bash
# End-to-end, zero loss at a large burst: two senders make 400,000 NATed UDP
# connections through the lab's router (as fast as they go, one per core),
# then "conntrack -F" ends them all at once, a DESTROY burst at the kernel's
# full rate. nfflowd runs with its default configuration and one IPFIX
# collector (nfcapd). Every connection the kernel counted (conntrack -C)
# must reach the collector, and the kernel must have dropped no event for
# nfflowd's socket. This is bench/run.sh's no-loss load, run by its own
# harness (which raises nf_conntrack_max in the initial namespace for the run
# and restores it). Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=flush_400k
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONNS=${FLUSH_CONNS:-400000}

lab_require make cc cmake pkg-config taskset # bench/run.sh's own checks (check_deps)
lab_require_nfflowd
out=$(mktemp -d "${TMPDIR:-/tmp}/nfft-flush.XXXXXX")
trap 'rm -rf "$out"' EXIT

rc=0
BENCH_OUT=$out BENCH_CONNS=$CONNS BENCH_SYSTEMS=nfflowd BENCH_SWEEP=0 BENCH_REPLAY=0 \
	BENCH_INSTALL=0 NFFLOWD=$NFFLOWD timeout -k 10 280 \
	bash "$LAB_ROOT/bench/run.sh" >"$out/bench.txt" 2>&1 || rc=$?
line=$(grep -E '^\[bench.*nfflowd flush n=' "$out/bench.txt" | tail -n 1 || true)
lab_log "${line:-no result line}"
if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
	sed 's/^/    /' "$out/bench.txt" >&2
	lab_die "the load did not run (exit $rc)"
fi
# "created N (...), exported N, lost N (...), ..., drops N, ..."
created=$(sed -n 's/.* created \([0-9]*\) .*/\1/p' <<<"$line")
exported=$(sed -n 's/.* exported \([0-9]*\), .*/\1/p' <<<"$line")
drops=$(sed -n 's/.* drops \([0-9]*\), .*/\1/p' <<<"$line")
[ "$created" = "$CONNS" ] ||
	lab_fail "the kernel counted $created connections, expected $CONNS (the load did not make them all)"
[ "$exported" = "$created" ] ||
	lab_fail "nfcapd holds $exported of the $created connections the kernel made"
[ "$drops" = 0 ] || lab_fail "the kernel dropped $drops events for nfflowd's socket"
grep -q 'lost 0 (0.00 %)' <<<"$line" || lab_fail "connections were lost: $line"
lab_finish
