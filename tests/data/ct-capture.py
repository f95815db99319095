#!/usr/bin/env python3
"""Record raw ctnetlink messages for the ctmsg tests (stdlib only, Linux).

  ct-capture.py event OUT KIND -- COMMAND [ARG...]
      Subscribe to the conntrack event groups, run COMMAND, then write the
      first event of KIND (new, update or destroy) to OUT.
  ct-capture.py dump OUT FAMILY
      Dump the conntrack table (FAMILY inet or inet6) and write the first
      entry to OUT.
  ct-capture.py show FILE...
      Print the attributes of recorded messages.

Each OUT file holds exactly one netlink message, as the kernel sent it.
Run inside a network namespace that has conntrack enabled (see
record-ct-messages.sh). The kernel used for the committed files had no nlmon
device, so messages are read from a netlink socket of our own rather than
from a capture.
"""

import select
import socket
import struct
import subprocess
import sys
import time

NETLINK_NETFILTER = 12
NLMSG_HDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
NFGENMSG = struct.Struct("=BBH")  # family, version, res_id (big endian)
NLA_HDR = struct.Struct("=HH")  # len, type
NLA_TYPE_MASK = 0x3FFF
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_DUMP = 0x300
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLMSG_DONE = 3
NLMSG_ERROR = 2
NFNL_SUBSYS_CTNETLINK = 1
IPCTNL_MSG_CT_NEW = 0
IPCTNL_MSG_CT_GET = 1
IPCTNL_MSG_CT_DELETE = 2
# Legacy bind() group bits: NF_NETLINK_CONNTRACK_NEW | _UPDATE | _DESTROY.
CT_EVENT_GROUPS = 0x1 | 0x2 | 0x4
FAMILIES = {"inet": socket.AF_INET, "inet6": socket.AF_INET6}
WAIT_SECONDS = 2.0

# Names for "show": (name, kind, nested table) per attribute type.
TSTAMP = {1: ("START", "u64", None), 2: ("STOP", "u64", None), 3: ("PAD", "raw", None)}
COUNTERS = {1: ("PACKETS", "u64", None), 2: ("BYTES", "u64", None),
            3: ("PACKETS32", "u32", None), 4: ("BYTES32", "u32", None),
            5: ("PAD", "raw", None)}
IP = {1: ("V4_SRC", "ip", None), 2: ("V4_DST", "ip", None),
      3: ("V6_SRC", "ip", None), 4: ("V6_DST", "ip", None)}
PROTO = {1: ("NUM", "u8", None), 2: ("SRC_PORT", "u16", None), 3: ("DST_PORT", "u16", None),
         4: ("ICMP_ID", "u16", None), 5: ("ICMP_TYPE", "u8", None), 6: ("ICMP_CODE", "u8", None),
         7: ("ICMPV6_ID", "u16", None), 8: ("ICMPV6_TYPE", "u8", None),
         9: ("ICMPV6_CODE", "u8", None)}
TUPLE = {1: ("IP", "nest", IP), 2: ("PROTO", "nest", PROTO), 3: ("ZONE", "u16", None)}
TOP = {1: ("TUPLE_ORIG", "nest", TUPLE), 2: ("TUPLE_REPLY", "nest", TUPLE),
       3: ("STATUS", "u32", None), 4: ("PROTOINFO", "raw", None), 5: ("HELP", "raw", None),
       6: ("NAT_SRC", "raw", None), 7: ("TIMEOUT", "u32", None), 8: ("MARK", "u32", None),
       9: ("COUNTERS_ORIG", "nest", COUNTERS), 10: ("COUNTERS_REPLY", "nest", COUNTERS),
       11: ("USE", "u32", None), 12: ("ID", "u32", None), 13: ("NAT_DST", "raw", None),
       14: ("TUPLE_MASTER", "nest", TUPLE), 15: ("SEQ_ADJ_ORIG", "raw", None),
       16: ("SEQ_ADJ_REPLY", "raw", None), 18: ("ZONE", "u16", None),
       20: ("TIMESTAMP", "nest", TSTAMP), 22: ("LABELS", "raw", None),
       24: ("SYNPROXY", "raw", None), 27: ("TIMESTAMP_EVENT", "u64", None)}


def split_messages(buf):
    """Yield each netlink message (header included) in a datagram."""
    off = 0
    while off + NLMSG_HDR.size <= len(buf):
        length = NLMSG_HDR.unpack_from(buf, off)[0]
        if length < NLMSG_HDR.size or off + length > len(buf):
            raise ValueError("bad netlink message at offset %d" % off)
        yield buf[off:off + length]
        off += (length + 3) & ~3


def kind_of(msg):
    """Classify a message as new, update, destroy, dump, done or other."""
    _, mtype, flags, _, _ = NLMSG_HDR.unpack_from(msg)
    if mtype == NLMSG_DONE:
        return "done"
    if mtype == NLMSG_ERROR:
        return "error"
    if mtype >> 8 != NFNL_SUBSYS_CTNETLINK or flags & NLM_F_REQUEST:
        return "other"
    if mtype & 0xFF == IPCTNL_MSG_CT_DELETE:
        return "destroy"
    if mtype & 0xFF != IPCTNL_MSG_CT_NEW:
        return "other"
    if flags & NLM_F_MULTI:
        return "dump"
    return "new" if flags & (NLM_F_CREATE | NLM_F_EXCL) else "update"


def open_socket(groups):
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((0, groups))
    return sock


def receive(sock, deadline):
    """Yield messages until the deadline passes."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            return
        yield from split_messages(sock.recv(1 << 16))


def save(path, msg):
    with open(path, "wb") as f:
        f.write(msg)
    print("%s: %s, %d bytes" % (path, kind_of(msg), len(msg)))


def cmd_event(out, kind, command):
    sock = open_socket(CT_EVENT_GROUPS)
    if subprocess.run(command, stdout=subprocess.DEVNULL).returncode != 0:
        print("%s: %s failed" % (out, " ".join(command)), file=sys.stderr)
        return 1
    for msg in receive(sock, time.monotonic() + WAIT_SECONDS):
        if kind_of(msg) == kind:
            save(out, msg)
            return 0
    print("%s: no %s event after %s" % (out, kind, " ".join(command)), file=sys.stderr)
    return 1


def cmd_dump(out, family):
    sock = open_socket(0)
    mtype = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET
    body = NFGENMSG.pack(FAMILIES[family], 0, 0)
    hdr = NLMSG_HDR.pack(NLMSG_HDR.size + len(body), mtype, NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
    sock.send(hdr + body)
    found = None
    for msg in receive(sock, time.monotonic() + WAIT_SECONDS):
        kind = kind_of(msg)
        if kind == "dump" and found is None:
            found = msg
        if kind in ("done", "error"):
            break
    if found is None:
        print("%s: the %s dump was empty" % (out, family), file=sys.stderr)
        return 1
    save(out, found)
    return 0


def format_value(kind, data):
    if kind == "u8" and len(data) == 1:
        return str(data[0])
    if kind in ("u16", "u32", "u64") and len(data) in (2, 4, 8):
        return str(int.from_bytes(data, "big"))
    if kind == "ip" and len(data) in (4, 16):
        fam = socket.AF_INET if len(data) == 4 else socket.AF_INET6
        return socket.inet_ntop(fam, data)
    return data.hex()


def show_attrs(buf, table, indent):
    off = 0
    while off + NLA_HDR.size <= len(buf):
        length, atype = NLA_HDR.unpack_from(buf, off)
        if length < NLA_HDR.size or off + length > len(buf):
            print("%s<truncated attribute>" % indent)
            return
        data = buf[off + NLA_HDR.size:off + length]
        name, kind, nested = table.get(atype & NLA_TYPE_MASK, ("type%d" % atype, "raw", None))
        if kind == "nest":
            print("%s%s (%d bytes)" % (indent, name, length))
            show_attrs(data, nested, indent + "  ")
        else:
            print("%s%s = %s (%d bytes)" % (indent, name, format_value(kind, data), length))
        off += (length + 3) & ~3


def cmd_show(paths):
    for path in paths:
        with open(path, "rb") as f:
            msg = f.read()
        length, mtype, flags, seq, pid = NLMSG_HDR.unpack_from(msg)
        family = NFGENMSG.unpack_from(msg, NLMSG_HDR.size)[0]
        print("%s: %s len=%d type=0x%04x flags=0x%04x seq=%d pid=%d family=%d"
              % (path, kind_of(msg), length, mtype, flags, seq, pid, family))
        show_attrs(msg[NLMSG_HDR.size + NFGENMSG.size:length], TOP, "  ")
    return 0


def main(argv):
    if len(argv) >= 5 and argv[1] == "event" and argv[4] == "--":
        return cmd_event(argv[2], argv[3], argv[5:])
    if len(argv) == 4 and argv[1] == "dump" and argv[3] in FAMILIES:
        return cmd_dump(argv[2], argv[3])
    if len(argv) >= 3 and argv[1] == "show":
        return cmd_show(argv[2:])
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
