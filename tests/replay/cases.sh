#!/usr/bin/env bash
# The replay verb on damaged and extreme recordings (made by mkpcap.py from
# the recorded messages in tests/data), exporting to a UDP receiver on
# 127.0.0.1. No root needed. Each case checks the exit status and the
# message, and that nothing crashes (the sanitizer build runs this too).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
DATA=$HERE/../data
NFFLOWD=${NFFLOWD:?set NFFLOWD to the nfflowd binary}
command -v python3 >/dev/null || { echo "python3 is needed: skipped"; exit 77; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0 fail=0

python3 "$HERE/mkpcap.py" "$DATA" "$TMP" || exit 1

ok() { pass=$((pass + 1)); }
bad() {
	echo "FAIL: $*" >&2
	fail=$((fail + 1))
}

# A UDP receiver on a free port (receiver.py).
receiver_start() {
	rm -f "$TMP/port" "$TMP/received"
	python3 "$HERE/receiver.py" "$TMP" &
	RECEIVER=$!
	for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
	PORT=$(cat "$TMP/port")
}

conf() { # PORT: a v5 collector there, no local copies
	cat >"$TMP/replay.conf" <<-EOF2
		<collector v5>
		    address 127.0.0.1
		    port $1
		    version 5
		</collector>
		<ptee>
		    <conf>
		    </conf>
		</ptee>
	EOF2
}

# replay CASE: runs it; sets RC and OUT (stderr)
replay() {
	timeout 60 "$NFFLOWD" -c "$TMP/replay.conf" replay "$TMP/$1.pcap" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(cat "$TMP/err")
}

expect_error() { # CASE PATTERN
	replay "$1"
	if [ "$RC" -ne 1 ]; then
		bad "$1: exit $RC, expected 1: $OUT"
	elif ! grep -qE "$2" <<<"$OUT"; then
		bad "$1: no message matching '$2' in: $OUT"
	else
		ok
	fi
}

receiver_start
conf "$PORT"

# Counters of 2^64-1: capped at 1024 v5 records per record, in well under a
# minute; the cap is counted.
start=$(date +%s)
replay huge-counters
wait "$RECEIVER"
read -r dgrams recs <"$TMP/received"
[ "$RC" -eq 0 ] && ok || bad "huge-counters: exit $RC: $OUT"
[ $(($(date +%s) - start)) -lt 30 ] && ok || bad "huge-counters took $(($(date +%s) - start)) s"
grep -q "split-capped 2" <<<"$OUT" && ok || bad "huge-counters: split-capped is not 2: $OUT"
[ "$recs" -eq 2048 ] && ok || bad "huge-counters: $recs v5 records, expected 2048 (1024 per direction)"

# A misaligned datagram is replayed like any other (UBSan would object).
receiver_start
conf "$PORT"
replay odd-caplen
wait "$RECEIVER"
read -r dgrams recs <"$TMP/received"
[ "$RC" -eq 0 ] && ok || bad "odd-caplen: exit $RC: $OUT"
grep -q "events: new 0 update 0 destroy 2" <<<"$OUT" && ok || bad "odd-caplen: not 2 DESTROYs: $OUT"
[ "$recs" -ge 2 ] && ok || bad "odd-caplen: $recs records reached the collector"

# Damaged files: a clear error naming the file offset, exit 1.
expect_error empty "empty.pcap: empty file"
expect_error cut-header "cut-header.pcap: offset 324: record header cut short \(7 of 16 bytes\)"
expect_error cut-packet "cut-packet.pcap: offset 24: packet cut short \(24 of 284 bytes\)"

# Every datagram lost to a collector that is not there: exit 1.
conf "$PORT" # the receiver has gone: the port refuses
expect_error good "datagrams were not delivered"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
