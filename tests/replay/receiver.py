#!/usr/bin/env python3
"""A UDP receiver for tests/replay/cases.sh: binds 127.0.0.1 on a free port,
writes the port to DIR/port, then counts datagrams and NetFlow v5 records
(the header's count) until it has been quiet for 1.5 s, and writes
"DATAGRAMS RECORDS" to DIR/received, and every datagram, in hex, one a
line, to DIR/datagrams."""
import socket
import sys

out = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
s.bind(('127.0.0.1', 0))
with open(out + '/port.tmp', 'w') as f:
    f.write(str(s.getsockname()[1]))
__import__('os').rename(out + '/port.tmp', out + '/port')
s.settimeout(1.5)
dgrams = recs = 0
raw = []
try:
    while True:
        d = s.recv(65536)
        dgrams += 1
        recs += d[2] << 8 | d[3]
        raw.append(d.hex())
except socket.timeout:
    pass
with open(out + '/datagrams', 'w') as f:
    f.write(''.join(x + '\n' for x in raw))
with open(out + '/received', 'w') as f:
    f.write(f'{dgrams} {recs}\n')
