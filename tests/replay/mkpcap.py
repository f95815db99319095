#!/usr/bin/env python3
"""Write the recordings tests/replay/cases.sh replays (pcap, LINKTYPE_NETLINK,
ns timestamps, as nfflowd -w writes them) from the recorded ctnetlink
messages in tests/data.

    mkpcap.py DATA_DIR OUT_DIR

Each case is a file OUT_DIR/NAME.pcap; see CASES below."""
import struct
import sys

CTA_COUNTERS_ORIG, CTA_COUNTERS_REPLY = 9, 10
CTA_COUNTERS_PACKETS, CTA_COUNTERS_BYTES = 1, 2
CTA_TIMESTAMP, CTA_TIMESTAMP_START, CTA_TIMESTAMP_STOP = 20, 1, 2
DAY = 86400 * 10**9
NLA_F_NESTED = 0x8000
T0 = 1764590400 * 10**9  # 2025-12-01 12:00 UTC


def file_header():
    # magic for ns timestamps, v2.4, snaplen 262144, LINKTYPE_NETLINK 253
    return struct.pack('<IHHiIII', 0xa1b23c4d, 2, 4, 0, 0, 262144, 253)


def record(ts_ns, dgram, pad=0):
    cooked = struct.pack('>HHHQH', 4, 824, 0, 0, 12)  # ARPHRD_NETLINK, NETLINK_NETFILTER
    body = cooked + dgram + b'\0' * pad
    return struct.pack('<IIII', ts_ns // 10**9, ts_ns % 10**9, len(body), len(body)) + body


def patch_nested(msg, outer_types, values):
    """msg with 64-bit nested attributes replaced (patched in place): in each
    attribute of a type in outer_types, values maps an inner type to its new
    value."""
    b = bytearray(msg)
    off = 20  # nlmsghdr + nfgenmsg
    while off + 4 <= len(b):
        alen, atype = struct.unpack_from('<HH', b, off)
        if atype & ~NLA_F_NESTED in outer_types:
            inner = off + 4
            while inner < off + alen:
                ilen, itype = struct.unpack_from('<HH', b, inner)
                if itype in values:
                    struct.pack_into('>Q', b, inner + 4, values[itype])
                inner += (ilen + 3) & ~3
        off += (alen + 3) & ~3
    return bytes(b)


def set_counters(msg, packets, nbytes):
    """msg with both directions' counters replaced."""
    return patch_nested(msg, (CTA_COUNTERS_ORIG, CTA_COUNTERS_REPLY),
                        {CTA_COUNTERS_PACKETS: packets, CTA_COUNTERS_BYTES: nbytes})


def set_times(msg, start_ns, stop_ns):
    """msg with the kernel's start and stop timestamps replaced."""
    return patch_nested(msg, (CTA_TIMESTAMP,),
                        {CTA_TIMESTAMP_START: start_ns, CTA_TIMESTAMP_STOP: stop_ns})


def main():
    data, out = sys.argv[1], sys.argv[2]
    destroy = open(f'{data}/ct-destroy-tcp4.bin', 'rb').read()
    nat = open(f'{data}/ct-destroy-nat-icmp4.bin', 'rb').read()
    huge = set_counters(destroy, 2**64 - 1, 2**64 - 1)
    small = set_counters(destroy, 10, 1000)
    cases = {
        # counters of 2^64-1: the split into v5 records is capped
        'huge-counters': file_header() + record(T0, huge),
        # a record of odd length: the next datagram is misaligned in the file
        'odd-caplen': file_header() + record(T0, small, pad=1) + record(T0 + 10**6, nat),
        # nothing at all
        'empty': b'',
        # a whole record, then 7 bytes of the next record header
        'cut-header': file_header() + record(T0, small) + record(T0, small)[:7],
        # a record header whose packet is cut short
        'cut-packet': file_header() + record(T0, small)[:40],
        # two good records
        'good': file_header() + record(T0, small) + record(T0 + 10**6, nat),
        # a connection that started 8 days before the first packet: the
        # replay's uptime origin is a week before it, so v5 First is
        # negative, sent modulo 2^32 (7 packets: the record to check)
        'wrap-start': file_header() + record(
            T0, set_times(set_counters(destroy, 7, 700), T0 - 8 * DAY, T0 - 10**9)),
        # the recording's clock steps back 30 days between two DESTROYs (11
        # and 13 packets), each ending just before it is read
        'step-back': file_header()
        + record(T0, set_times(set_counters(destroy, 11, 1100), T0 - 10 * 10**9, T0 - 10**9))
        + record(T0 - 30 * DAY, set_times(set_counters(destroy, 13, 1300),
                                          T0 - 30 * DAY - 10 * 10**9, T0 - 30 * DAY - 10**9)),
    }
    for name, content in cases.items():
        with open(f'{out}/{name}.pcap', 'wb') as f:
            f.write(content)


if __name__ == '__main__':
    main()
