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
	rm -f "$TMP/port" "$TMP/received" "$TMP/datagrams"
	python3 "$HERE/receiver.py" "$TMP" &
	RECEIVER=$!
	for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
	PORT=$(cat "$TMP/port")
}

# receiver_wait: the receiver has gone quiet; recs is the number of v5
# records it counted, -1 if it wrote nothing.
receiver_wait() {
	wait "$RECEIVER"
	{ read -r _ recs <"$TMP/received"; } 2>/dev/null || recs=-1
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
receiver_wait
[ "$RC" -eq 0 ] && ok || bad "huge-counters: exit $RC: $OUT"
[ $(($(date +%s) - start)) -lt 30 ] && ok || bad "huge-counters took $(($(date +%s) - start)) s"
grep -q "split-capped 2" <<<"$OUT" && ok || bad "huge-counters: split-capped is not 2: $OUT"
[ "$recs" -eq 2048 ] && ok || bad "huge-counters: $recs v5 records, expected 2048 (1024 per direction)"

# A misaligned datagram is replayed like any other (UBSan would object).
receiver_start
conf "$PORT"
replay odd-caplen
receiver_wait
[ "$RC" -eq 0 ] && ok || bad "odd-caplen: exit $RC: $OUT"
grep -q "events: new 0 update 0 destroy 2" <<<"$OUT" && ok || bad "odd-caplen: not 2 DESTROYs: $OUT"
[ "$recs" -ge 2 ] && ok || bad "odd-caplen: $recs records reached the collector"

# v5 times are sysUptime ms modulo 2^32 (the replay's uptime origin is a
# week before the first packet): a start before the origin, and a clock
# that steps back behind it, wrap; the header's sysUptime is its export
# time's, modulo 2^32, in every datagram.
T0_MS=1764590400000
BOOT_MS=$((T0_MS - 604800000))
DAY_MS=86400000
# v5_times: "packets first last" of each v5 record received, and a line
# "bad-header N" for each datagram whose sysUptime is not its export time's.
v5_times() {
	python3 - "$TMP/datagrams" "$BOOT_MS" <<-'PY'
		import struct, sys
		boot = int(sys.argv[2])
		for line in open(sys.argv[1]):
		    d = bytes.fromhex(line.strip())
		    count, uptime, secs, nsecs = struct.unpack_from('>HIII', d, 2)
		    if uptime != (secs * 1000 + nsecs // 10**6 - boot) % 2**32:
		        print('bad-header', uptime)
		    for i in range(count):
		        r = d[24 + 48 * i: 72 + 48 * i]
		        pk, _, first, last = struct.unpack_from('>IIII', r, 16)
		        print(pk, first, last)
	PY
}
# want PACKETS START_MS STOP_MS: the line v5_times prints for that record.
want() { echo "$1 $((($2 - BOOT_MS) & 0xffffffff)) $((($3 - BOOT_MS) & 0xffffffff))"; }
for c in wrap-start step-back; do
	receiver_start
	conf "$PORT"
	replay "$c"
	receiver_wait
	[ "$RC" -eq 0 ] && ok || bad "$c: exit $RC: $OUT"
	v5_times >"$TMP/$c.times" && [ -s "$TMP/$c.times" ] && ! grep -q bad-header "$TMP/$c.times" && ok ||
		bad "$c: no v5 datagram, or a header sysUptime is not the export time's: $(cat "$TMP/$c.times")"
done
w=$(want 7 $((T0_MS - 8 * DAY_MS)) $((T0_MS - 1000)))
grep -qx "$w" "$TMP/wrap-start.times" && ok || bad "wrap-start: no v5 record '$w' in: $(cat "$TMP/wrap-start.times")"
[ "$(cut -d' ' -f2 <<<"$w")" -gt $((1 << 31)) ] && ok || bad "wrap-start: First $w did not wrap"
w=$(want 11 $((T0_MS - 10000)) $((T0_MS - 1000)))
grep -qx "$w" "$TMP/step-back.times" && ok || bad "step-back: no v5 record '$w' in: $(cat "$TMP/step-back.times")"
w=$(want 13 $((T0_MS - 30 * DAY_MS - 10000)) $((T0_MS - 30 * DAY_MS - 1000)))
grep -qx "$w" "$TMP/step-back.times" && ok || bad "step-back: no v5 record '$w' in: $(cat "$TMP/step-back.times")"

# Damaged files: a clear error naming the file offset, exit 1.
expect_error empty "empty.pcap: empty file"
expect_error cut-header "cut-header.pcap: offset 324: record header cut short \(7 of 16 bytes\)"
expect_error cut-packet "cut-packet.pcap: offset 24: packet cut short \(24 of 284 bytes\)"

# A pipeline that cannot open (a file copy in a missing directory): exit 1,
# the reason, no crash (the configuration was freed once, by the pipeline).
cat >"$TMP/replay.conf" <<-EOF2
	<collector v5>
	    address 127.0.0.1
	    port $PORT
	    version 5
	</collector>
	<ptee>
	    <conf>
	        dispatchers file
	        <file>
	            class     Log::Dispatch::File
	            filename  $TMP/missing/flows.csv
	            min_level debug
	        </file>
	    </conf>
	</ptee>
EOF2
expect_error good "copy file: cannot open $TMP/missing/flows.csv"

# Every datagram lost to a collector that is not there: exit 1.
conf "$PORT" # the receiver has gone: the port refuses
expect_error good "datagrams were not delivered"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
