#!/usr/bin/env bash
# Install the Debian 12 packages needed to build nfflowd, run its tests
# (unit and end-to-end) and run scripts/demo.sh. Run as root.
set -euo pipefail

PACKAGES=(
	# build
	build-essential cmake pkg-config libmnl-dev libnetfilter-conntrack-dev libcap-ng-dev
	libnftables-dev libjansson-dev
	# the kernel side: namespaces, NAT, conntrack
	iproute2 nftables conntrack util-linux
	# collectors and decoders
	nfdump tshark jq
	# the Debian package and the systemd unit check
	debhelper systemd
	# traffic for the lab
	socat curl python3 iputils-ping
)

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh installs Debian packages and needs root: sudo $0" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps.sh needs apt-get (Debian 12 or a derivative); install these yourself:" >&2
	echo "  ${PACKAGES[*]}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${PACKAGES[@]}"
