#!/bin/sh
# Regenerate the recorded ctnetlink messages (tests/data/ct-*.bin) that
# test_ctmsg parses and that seed the ctmsg fuzz corpus.
#
# Run as root. Everything happens in two network namespaces created here
# (removed on exit, also on failure): "rec", where conntrack runs and the
# messages are read, and "peer", the far end of a veth pair for a real SNAT
# flow. Most entries are made with conntrack -I so that their tuples are
# fixed; the ping flows give real counters and timestamps. IDs, echo
# identifiers and timestamps change on every run: after regenerating, update
# the values test_ctmsg.c expects for them.
set -eu

if [ "$(id -u)" != 0 ]; then
	echo "$0: run as root" >&2
	exit 1
fi
for tool in ip nft conntrack ping python3; do
	command -v "$tool" >/dev/null || {
		echo "$0: $tool is needed" >&2
		exit 1
	}
done

here=$(cd "$(dirname "$0")" && pwd)
corpus="$here/../fuzz/corpus/ctmsg"
rec="nfft-rec-$$"
peer="nfft-peer-$$"
out=$(mktemp -d)

cleanup() {
	ip netns del "$rec" 2>/dev/null || true
	ip netns del "$peer" 2>/dev/null || true
	rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

in_rec() {
	ip netns exec "$rec" "$@"
}

# capture FILE KIND COMMAND...: record the first KIND event COMMAND causes.
capture() {
	file=$1
	kind=$2
	shift 2
	in_rec python3 "$here/ct-capture.py" event "$out/$file" "$kind" -- "$@"
}

setup() {
	ip netns add "$rec"
	ip netns add "$peer"
	ip link add veth-rec netns "$rec" type veth peer name veth-peer netns "$peer"
	in_rec ip link set lo up
	in_rec ip link set veth-rec up
	in_rec ip addr add 10.9.0.1/24 dev veth-rec
	in_rec ip addr add 10.9.0.3/24 dev veth-rec
	ip netns exec "$peer" ip link set veth-peer up
	ip netns exec "$peer" ip addr add 10.9.0.2/24 dev veth-peer
	# Conntrack exists in a namespace only once a ruleset uses it.
	in_rec nft -f - <<-EOF
		table inet t {
			chain c {
				type filter hook output priority 0; ct state new counter
			}
		}
		table ip nat {
			chain post {
				type nat hook postrouting priority 100
				oifname "veth-rec" ip saddr 10.9.0.1 snat to 10.9.0.3
			}
		}
	EOF
	in_rec sysctl -qw net.netfilter.nf_conntrack_acct=1 \
		net.netfilter.nf_conntrack_timestamp=1 net.netfilter.nf_conntrack_events=1
}

# A fixed IPv4 TCP entry: NEW, UPDATE (mark), dump entry, DESTROY.
record_tcp4() {
	t="-s 10.1.1.1 -d 10.2.2.2 -p tcp --sport 1234 --dport 80"
	# shellcheck disable=SC2086
	capture ct-new-tcp4.bin new conntrack -I $t --state ESTABLISHED -t 100 -u SEEN_REPLY -m 7
	# shellcheck disable=SC2086
	capture ct-update-tcp4.bin update conntrack -U $t -m 42
	in_rec python3 "$here/ct-capture.py" dump "$out/ct-dump-tcp4.bin" inet
	# shellcheck disable=SC2086
	capture ct-destroy-tcp4.bin destroy conntrack -D $t
}

# A fixed SNAT-looking entry: the reply tuple is not the inverted original.
record_nat_tcp4() {
	capture ct-new-nat-tcp4.bin new conntrack -I -s 192.168.1.10 -d 198.51.100.7 -p tcp \
		--sport 40000 --dport 443 -r 198.51.100.7 -q 203.0.113.1 \
		--reply-port-src 443 --reply-port-dst 61000 --state ESTABLISHED -t 100 -u SEEN_REPLY
	in_rec conntrack -D -s 192.168.1.10 -p tcp >/dev/null 2>&1
}

# A fixed IPv6 UDP entry: NEW and DESTROY.
record_udp6() {
	t="-s 2001:db8::1 -d 2001:db8::2 -p udp --sport 5353 --dport 53"
	# shellcheck disable=SC2086
	capture ct-new-udp6.bin new conntrack -I $t -t 30
	# shellcheck disable=SC2086
	capture ct-destroy-udp6.bin destroy conntrack -D $t
}

# Fixed IPv4 UDP entries in a zone: CTA_ZONE, and CTA_TUPLE_ZONE in the
# original tuple for a zone of one direction only.
record_zones() {
	capture ct-new-zone-udp4.bin new conntrack -I -s 10.3.3.4 -d 10.4.4.4 -p udp \
		--sport 1000 --dport 2000 -t 50 -w 6
	capture ct-new-orig-zone-udp4.bin new conntrack -I -s 10.3.3.3 -d 10.4.4.4 -p udp \
		--sport 1000 --dport 2000 -t 50 --orig-zone 5
}

# Real pings: DESTROYs with counters and timestamps, one through SNAT.
record_pings() {
	capture ct-new-nat-icmp4.bin new ping -q -c 3 -i 0.2 -I 10.9.0.1 10.9.0.2
	capture ct-destroy-nat-icmp4.bin destroy conntrack -D -p icmp
	in_rec ping -q -c 3 -i 0.2 127.0.0.1 >/dev/null
	capture ct-destroy-icmp4.bin destroy conntrack -D -p icmp
	in_rec ping -6 -q -c 3 -i 0.2 ::1 >/dev/null
	capture ct-destroy-icmp6.bin destroy conntrack -D -f ipv6 -p icmpv6
}

setup
record_tcp4
record_nat_tcp4
record_udp6
record_zones
record_pings
cp "$out"/ct-*.bin "$here/"
cp "$out"/ct-*.bin "$corpus/"
python3 "$here/ct-capture.py" show "$here"/ct-*.bin
