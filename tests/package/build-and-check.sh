#!/usr/bin/env bash
# Build the Debian package of nfflowd from a copy of the tree and check it:
#
#   build      dpkg-buildpackage -us -uc -b in a temporary copy (the tree is
#              left untouched), with the unit tests but no end-to-end test
#   contents   the binary, both man pages, the example configuration,
#              /etc/nfflowd.conf (a conffile, without a syslog copy), the
#              systemd unit and the init script, each once, the last two
#              exactly dist/'s templates filled in for /usr/sbin and /etc,
#              and /etc/logrotate.d/nfflowd (a conffile)
#   lintian    if installed: its report is shown, an error fails the test
#   install    dpkg -i (twice: the maintainer scripts are idempotent): the
#              system user nfflowd exists, nothing was started or enabled
#              (no unit link, no S link of the init script), "nfflowd -c
#              /etc/nfflowd.conf check" works, the unit verifies and
#              "systemd-analyze security" rates it 2.5 or better
#   service    /etc/init.d/nfflowd start|status|reload|stop, only ever
#              inside a fresh network namespace with conntrack enabled (an
#              nft table with a ct expression), never in the host's: the
#              daemon runs as nfflowd, its socket is root:nfflowd 0660, it
#              makes no local copy
#   purge      dpkg --purge, also from the EXIT trap; the user is removed
#              (a purge leaves it, as Debian packages do); the service
#              directories, the user and group lists and the host's conntrack
#              sysctls are as before
#
# Needs root. Exits 77 (skipped) without dpkg-buildpackage or debhelper,
# with unmet build dependencies, or when nfflowd (the package, its user or
# group, or its files) is already on this machine. Takes about a minute.
# Exit 0 pass, 1 fail, 77 skipped. Keeps its directory on failure, or always
# with KEEP=1.
set -euo pipefail

NAME=package
SRC=${NFFLOWD_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
KEEP=${KEEP:-0}
NS="nfpkg-$$"
TMP=""
FAILURES=0
INSTALLED=0     # 1 once dpkg -i may have run
NS_CREATED=0
T0=$(date +%s%3N)

log() { printf '[%s] %s\n' "$NAME" "$*" >&2; }
fail() {
	printf '[%s] FAIL: %s\n' "$NAME" "$*" >&2
	FAILURES=$((FAILURES + 1))
}
die() {
	printf '[%s] ERROR: %s\n' "$NAME" "$*" >&2
	exit 1
}
skip() {
	printf '[%s] SKIP: %s\n' "$NAME" "$*" >&2
	exit 77
}
elapsed() { echo "$((($(date +%s%3N) - T0) / 1000)) s"; }

# running_pid: the pid in /run/nfflowd/nfflowd.pid if an nfflowd runs with it.
running_pid() {
	local pid
	pid=$(cat /run/nfflowd/nfflowd.pid 2>/dev/null) || return 0
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" != nfflowd ] || echo "$pid"
}

pid_alive() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# ---------------------------------------------------------------------------
# Preconditions

[ "$(id -u)" -eq 0 ] || skip "needs root (dpkg -i, network namespaces)"
for tool in dpkg-buildpackage dpkg-checkbuilddeps dh dh_installsystemd; do
	command -v "$tool" >/dev/null 2>&1 ||
		skip "missing $tool (apt-get install dpkg-dev debhelper)"
done
for tool in ip nft timeout; do
	command -v "$tool" >/dev/null 2>&1 || skip "missing $tool (see scripts/install-deps.sh)"
done
[ -f "$SRC/debian/control" ] || die "no debian/control under $SRC"
status=$(dpkg-query -W -f='${db:Status-Status}' nfflowd 2>/dev/null || true)
[ -z "$status" ] || [ "$status" = not-installed ] ||
	skip "the package nfflowd is on this machine ($status); this test installs and purges it"
getent passwd nfflowd >/dev/null && skip "a user nfflowd exists; this test creates and removes it"
getent group nfflowd >/dev/null && skip "a group nfflowd exists; this test creates and removes it"
for f in /usr/sbin/nfflowd /etc/nfflowd.conf /etc/init.d/nfflowd /lib/systemd/system/nfflowd.service \
	/etc/systemd/system/nfflowd.service; do
	if [ -e "$f" ] || [ -L "$f" ]; then
		skip "$f exists: nfflowd is installed on this machine"
	fi
done
# The package's service uses /run/nfflowd/nfflowd.pid: so does any nfflowd started
# with the default configuration (the namespace lab's foreground runs too).
# The service shares /run/nfflowd/nfflowd.pid and the user nfflowd with every nfflowd
# started with the defaults, e.g. by the end-to-end tests: none may run.
others=$(pgrep -x nfflowd | tr '\n' ' ' | sed 's/ $//' || true)
[ -z "$others" ] || skip "nfflowd processes run on this machine (pids $others); run this test when they have stopped"
[ ! -e /run/nfflowd/nfflowd.pid ] ||
	log "note: /run/nfflowd/nfflowd.pid is stale (pid $(cat /run/nfflowd/nfflowd.pid) is not an nfflowd); the service will replace it"
RUNDIR_BEFORE=0 # 1 if /run/nfflowd existed before the test (then it is left)
[ ! -d /run/nfflowd ] || RUNDIR_BEFORE=1
ip netns add "$NS" 2>/dev/null || skip "cannot create network namespaces"
NS_CREATED=1

# ---------------------------------------------------------------------------
# Machine state and cleanup

# machine_state: what installing and purging the package may touch.
machine_state() {
	{ find /etc/init.d /etc/rc?.d /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled \
		/var/lib/systemd/deb-systemd-helper-masked -maxdepth 3 \
		\( -type l -printf '%p -> %l\n' -o -printf '%p\n' \) 2>/dev/null || true; } | sort
	getent passwd | cut -d: -f1 | sort | sed 's/^/user /'
	getent group | cut -d: -f1 | sort | sed 's/^/group /'
	# The host namespace's conntrack settings: nfflowd must never touch them.
	for s in /proc/sys/net/netfilter/nf_conntrack_acct /proc/sys/net/netfilter/nf_conntrack_timestamp \
		/proc/sys/net/netfilter/nf_conntrack_events; do
		[ -r "$s" ] && printf '%s = %s\n' "$s" "$(cat "$s")"
	done
	return 0
}

# stop_in_ns: stop an nfflowd of the package left running in our namespace.
stop_in_ns() {
	local pid
	pid=$(running_pid)
	[ -n "$pid" ] && [ "$(ip netns identify "$pid" 2>/dev/null)" = "$NS" ] || return 0
	if [ -x /etc/init.d/nfflowd ]; then
		ip netns exec "$NS" timeout 40 /etc/init.d/nfflowd stop >/dev/null 2>&1 || true
	fi
	if pid_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
}

purge() {
	[ "$INSTALLED" = 1 ] || return 0
	stop_in_ns
	if dpkg-query -W nfflowd >/dev/null 2>&1; then
		# In the namespace too, so that whatever the maintainer scripts run
		# never reaches the host's network.
		ip netns exec "$NS" timeout 120 dpkg --purge nfflowd >"$TMP/purge.log" 2>&1 ||
			fail "dpkg --purge nfflowd: $(tail -n 5 "$TMP/purge.log")"
	fi
	# Debian leaves a package's system user on purge: remove ours (userdel
	# refuses while a process runs as the user: wait for it, bounded).
	local i
	for ((i = 0; i < 300; i++)); do
		getent passwd nfflowd >/dev/null || break
		userdel nfflowd 2>"$TMP/userdel.err" && break
		sleep 0.2
	done
	if getent passwd nfflowd >/dev/null; then
		fail "cannot remove the user nfflowd: $(cat "$TMP/userdel.err")"
	fi
	if getent group nfflowd >/dev/null; then
		groupdel nfflowd 2>/dev/null || fail "cannot remove the group nfflowd"
	fi
	INSTALLED=0
}

# shellcheck disable=SC2317 # the EXIT trap
on_exit() {
	local rc=$?
	trap - EXIT INT TERM HUP
	set +e
	purge
	# The init script's daemon made /run/nfflowd (the unit's
	# RuntimeDirectory= would have removed it): ours to remove.
	[ "$RUNDIR_BEFORE" = 1 ] || rmdir /run/nfflowd 2>/dev/null || true
	[ "$FAILURES" -eq 0 ] || [ "$rc" -ne 0 ] || rc=1
	if [ -n "$TMP" ] && [ -f "$TMP/state-before.txt" ] && [ "$rc" -ne 77 ]; then
		if ! machine_state | diff -u "$TMP/state-before.txt" - >&2; then
			printf '[%s] FAIL: the machine differs from before the test (diff above)\n' "$NAME" >&2
			[ "$rc" -ne 0 ] || rc=1
		fi
	fi
	if [ "$NS_CREATED" = 1 ]; then
		pids=$(ip netns pids "$NS" 2>/dev/null)
		# shellcheck disable=SC2086 # a list of pids
		[ -z "$pids" ] || kill -KILL $pids 2>/dev/null
		ip netns del "$NS" 2>/dev/null
	fi
	if [ -n "$TMP" ] && [ -d "$TMP" ]; then
		if [ "$KEEP" = 1 ] || { [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; }; then
			log "kept $TMP for inspection"
		else
			rm -rf "$TMP"
		fi
	fi
	exit "$rc"
}
trap on_exit EXIT
trap 'log "interrupted; cleaning up"; exit 130' INT
trap 'log "interrupted; cleaning up"; exit 143' TERM
trap 'log "interrupted; cleaning up"; exit 129' HUP

TMP=$(mktemp -d "${TMPDIR:-/tmp}/nfpkg.XXXXXX")
machine_state >"$TMP/state-before.txt"

# ---------------------------------------------------------------------------
# Build, from a copy of the tree

VERSION=$(cd "$SRC" && dpkg-parsechangelog -S Version)
UPSTREAM=${VERSION%-*}
BUILD=$TMP/src/nfflowd-$UPSTREAM
mkdir -p "$BUILD"
if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# Tracked and new files, without what .gitignore leaves out (build trees).
	(cd "$SRC" && git ls-files -z -c -o --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -xf - -C "$BUILD"
else
	tar -C "$SRC" --exclude='./build*' --exclude=./.git --exclude=./demo-out -cf - . | tar -xf - -C "$BUILD"
fi

if ! (cd "$BUILD" && dpkg-checkbuilddeps) >"$TMP/builddeps.txt" 2>&1; then
	skip "$(sed 's/^dpkg-checkbuilddeps: error: //' "$TMP/builddeps.txt") (apt-get install them)"
fi

log "dpkg-buildpackage -us -uc -b in $BUILD"
t=$(date +%s)
if ! (cd "$BUILD" && DEB_BUILD_OPTIONS="parallel=$(nproc 2>/dev/null || echo 2)" \
	timeout 900 dpkg-buildpackage -us -uc -b) >"$TMP/build.log" 2>&1; then
	tail -n 40 "$TMP/build.log" >&2
	die "dpkg-buildpackage failed (log: $TMP/build.log)"
fi
log "built in $(($(date +%s) - t)) s (at $(elapsed))"
grep -q '100% tests passed' "$TMP/build.log" || fail "the unit tests did not run (or did not pass) during the build"
if grep -E '^ *Start +[0-9]+: e2e_' "$TMP/build.log" >&2; then
	fail "the package build ran end-to-end tests (above)"
fi

DEB=$TMP/src/nfflowd_${VERSION}_$(dpkg --print-architecture).deb
[ -f "$DEB" ] || die "no $DEB after the build: $(ls "$TMP/src")"

# ---------------------------------------------------------------------------
# Contents

log "contents of ${DEB##*/}"
dpkg -c "$DEB" | awk '{ p = $6; sub(/^\./, "", p); print substr($1, 1, 1), substr($1, 2), p }' \
	>"$TMP/contents.txt"
files=$(awk '$1 != "d" { print $3 }' "$TMP/contents.txt")
need() { # PATH-REGEX WHAT: exactly one file matches
	local n
	n=$(grep -cE "^($1)\$" <<<"$files" || true)
	[ "$n" -eq 1 ] || fail "the package holds $n files matching $1 ($2), expected 1"
}
need /usr/sbin/nfflowd "the binary"
need '/usr/share/man/man8/nfflowd\.8(\.gz)?' "nfflowd(8)"
need '/usr/share/man/man5/nfflowd\.conf\.5(\.gz)?' "nfflowd.conf(5)"
need '/usr/share/doc/nfflowd/examples/nfflowd\.conf\.example(\.gz)?' "the example configuration"
need /etc/nfflowd.conf "the configuration"
need /lib/systemd/system/nfflowd.service "the systemd unit"
need /etc/init.d/nfflowd "the init script"
need /usr/share/doc/nfflowd/copyright "the copyright file"
need /etc/logrotate.d/nfflowd "the rotation of the file copies"
others=$(grep -E 'nfflowd\.service|init\.d|/tests?/|\.sh$' <<<"$files" |
	grep -vxE '/lib/systemd/system/nfflowd\.service|/etc/init\.d/nfflowd' || true)
[ -z "$others" ] || fail "unexpected files in the package: $others"
modes=$(awk '($3 == "/usr/sbin/nfflowd" || $3 == "/etc/init.d/nfflowd") && $2 !~ /^rwxr-xr-x/ {
	print " " $3 " mode " $2 }' "$TMP/contents.txt")
[ -z "$modes" ] || fail "not rwxr-xr-x:$modes"

dpkg-deb -e "$DEB" "$TMP/control"
dpkg-deb -x "$DEB" "$TMP/root"
for f in /etc/nfflowd.conf /etc/init.d/nfflowd /etc/logrotate.d/nfflowd; do
	grep -qx "$f" "$TMP/control/conffiles" || fail "$f is not a conffile: $(tr '\n' ' ' <"$TMP/control/conffiles")"
done
depends=$(dpkg-deb -f "$DEB" Depends)
grep -qw adduser <<<"$depends" || fail "Depends lacks adduser: $depends"
fill() { # TEMPLATE: dist/'s template for the package's paths
	sed -e 's|@NFFLOWD@|/usr/sbin/nfflowd|g' -e 's|@CONFIG@|/etc/nfflowd.conf|g' \
		-e 's|@PIDFILE@|/run/nfflowd/nfflowd.pid|g' "$SRC/dist/$1"
}
fill nfflowd.service.in | diff -u - "$TMP/root/lib/systemd/system/nfflowd.service" >&2 ||
	fail "the unit is not dist/nfflowd.service.in filled in (diff above)"
fill nfflowd.init.in | diff -u - "$TMP/root/etc/init.d/nfflowd" >&2 ||
	fail "the init script is not dist/nfflowd.init.in filled in (diff above)"
diff -u "$SRC/dist/nfflowd.conf" "$TMP/root/etc/nfflowd.conf" >&2 ||
	fail "/etc/nfflowd.conf is not dist/nfflowd.conf (diff above)"
grep -Eq '^[[:space:]]*<ptee>' "$TMP/root/etc/nfflowd.conf" ||
	fail "/etc/nfflowd.conf has no <ptee>: it would copy every record to syslog"
if grep -Eq '^[[:space:]]*dispatchers.*syslog' "$TMP/root/etc/nfflowd.conf"; then
	fail "/etc/nfflowd.conf copies every record to syslog"
fi
diff -u "$SRC/debian/nfflowd.logrotate" "$TMP/root/etc/logrotate.d/nfflowd" >&2 ||
	fail "/etc/logrotate.d/nfflowd is not debian/nfflowd.logrotate (diff above)"
for script in postinst postrm; do
	[ -f "$TMP/control/$script" ] || fail "no $script in the package"
done
# Installed, not enabled: the collector must be configured first.
grep -q 'update-rc.d nfflowd defaults-disabled' "$TMP/control/postinst" ||
	fail "postinst does not link the init script disabled (dh_installinit --no-enable)"

# ---------------------------------------------------------------------------
# lintian

if command -v lintian >/dev/null 2>&1; then
	log "lintian (at $(elapsed))"
	LINTIAN_RC=0
	timeout 300 lintian --pedantic -I "$TMP/src/nfflowd_${VERSION}_$(dpkg --print-architecture).changes" \
		>"$TMP/lintian.txt" 2>&1 || LINTIAN_RC=$?
	grep -v '^running with root privileges' "$TMP/lintian.txt" | sed 's/^/    /' >&2 || true
	if grep -q '^E: ' "$TMP/lintian.txt"; then
		fail "lintian reports errors (above)"
	elif [ "$LINTIAN_RC" -ne 0 ]; then
		fail "lintian exited with status $LINTIAN_RC (above)"
	else
		log "lintian: $(grep -c '^[WIP]: ' "$TMP/lintian.txt" || true) warnings, notes and pedantic tags, no error"
	fi
else
	log "lintian is not installed: not run"
fi

# ---------------------------------------------------------------------------
# Install, in a fresh network namespace with conntrack enabled

ip -n "$NS" link set lo up
ip netns exec "$NS" nft -f - <<-'EOF'
	table inet nfpkg {
		chain in {
			type filter hook input priority filter; policy accept;
			ct state new counter accept
		}
	}
EOF

log "dpkg -i ${DEB##*/} (twice) (at $(elapsed))"
INSTALLED=1
ip netns exec "$NS" timeout 300 dpkg -i "$DEB" >"$TMP/install.log" 2>&1 ||
	die "dpkg -i failed: $(tail -n 20 "$TMP/install.log")"
entry=$(getent passwd nfflowd) || die "the package did not create the user nfflowd"
IFS=: read -r _ _ uid gid _ home shell <<<"$entry"
if [ "$uid" -le 0 ] || [ "$uid" -ge 1000 ]; then fail "user nfflowd: uid $uid is not a system uid"; fi
[ "$(getent group nfflowd | cut -d: -f3)" = "$gid" ] || fail "user nfflowd: its primary group is not the group nfflowd"
[ "$home" = /nonexistent ] || fail "user nfflowd: home $home, expected /nonexistent"
[ ! -e /nonexistent ] || fail "the package created /nonexistent"
case "$shell" in */nologin | */false) ;; *) fail "user nfflowd: login shell $shell" ;; esac
started=$(running_pid)
[ -z "$started" ] || fail "the package started the service on installation (pid $started)"
enabled=$(find /etc/systemd/system -name nfflowd.service -path '*.wants/*' 2>/dev/null; compgen -G '/etc/rc[2-5].d/S[0-9][0-9]nfflowd' || true)
[ -z "$enabled" ] || fail "the package enabled the service at boot: $enabled"
ip netns exec "$NS" timeout 300 dpkg -i "$DEB" >"$TMP/reinstall.log" 2>&1 ||
	fail "a second dpkg -i failed: $(tail -n 20 "$TMP/reinstall.log")"
[ "$(getent passwd nfflowd)" = "$entry" ] || fail "a second dpkg -i changed the user: $(getent passwd nfflowd)"

CHECK_RC=0
ip netns exec "$NS" timeout 30 nfflowd -c /etc/nfflowd.conf check >"$TMP/check.out" 2>&1 || CHECK_RC=$?
[ "$CHECK_RC" -eq 0 ] || fail "nfflowd -c /etc/nfflowd.conf check: exit status $CHECK_RC: $(cat "$TMP/check.out")"
grep -q '^/etc/nfflowd.conf: configuration OK' "$TMP/check.out" ||
	fail "check did not say the configuration is OK: $(cat "$TMP/check.out")"
grep -q '^nfflowd is not running' "$TMP/check.out" || fail "check: $(cat "$TMP/check.out")"

if command -v systemd-analyze >/dev/null 2>&1; then
	timeout 60 systemd-analyze verify /lib/systemd/system/nfflowd.service >"$TMP/verify.txt" 2>&1 ||
		fail "systemd-analyze verify of the installed unit: $(cat "$TMP/verify.txt")"
	if grep -i nfflowd "$TMP/verify.txt" >&2; then
		fail "systemd-analyze verify complains about the installed unit (above)"
	fi
	score=$(timeout 60 systemd-analyze security --offline=yes /lib/systemd/system/nfflowd.service 2>/dev/null |
		awk '/Overall exposure level/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+$/) print $i }')
	log "systemd-analyze security --offline=yes: exposure ${score:-unknown}"
	awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.5) }' ||
		fail "systemd-analyze security rates the unit ${score:-unknown}, expected 2.5 or better"
fi

# ---------------------------------------------------------------------------
# The service, through its init script, in the namespace

svc() { # ACTION: the init script's exit status in SVC_RC, its output in TMP/svc-ACTION.txt
	SVC_RC=0
	ip netns exec "$NS" timeout -k 5 60 /etc/init.d/nfflowd "$1" </dev/null >"$TMP/svc-$1.txt" 2>&1 || SVC_RC=$?
}
log "/etc/init.d/nfflowd start|status|stop|status in $NS"
other=$(running_pid)
[ -z "$other" ] || die "another nfflowd (pid $other) has taken /run/nfflowd/nfflowd.pid: not starting the service"
svc start
[ "$SVC_RC" -eq 0 ] || fail "/etc/init.d/nfflowd start: exit status $SVC_RC: $(cat "$TMP/svc-start.txt")"
pid=$(running_pid)
# Only ever stop our own: "stop" stops whatever answers on /run/nfflowd/nfflowd.sock.
if [ -n "$pid" ] && [ "$(ip netns identify "$pid" 2>/dev/null)" != "$NS" ]; then
	die "the nfflowd in /run/nfflowd/nfflowd.pid (pid $pid) is not in $NS: not ours, left alone"
fi
if [ -n "$pid" ]; then
	[ "$(awk '$1 == "Uid:" { print $2 }' "/proc/$pid/status")" = "$uid" ] ||
		fail "the service does not run as the user nfflowd (uid $uid)"
	[ "$(awk '$1 == "CapEff:" { print $2 }' "/proc/$pid/status")" = 0000000000001000 ] ||
		fail "the service's CapEff is not CAP_NET_ADMIN alone"
	[ "$(stat -c '%U %G %a' /run/nfflowd/nfflowd.sock 2>/dev/null)" = "root nfflowd 660" ] ||
		fail "control socket /run/nfflowd/nfflowd.sock: $(stat -c '%U %G %a' /run/nfflowd/nfflowd.sock 2>&1), expected root nfflowd 660"
	[ "$(awk '$1 == "NoNewPrivs:" { print $2 }' "/proc/$pid/status")" = 1 ] || fail "the service's NoNewPrivs is not 1"
	svc status
	[ "$SVC_RC" -eq 0 ] || fail "/etc/init.d/nfflowd status while running: exit status $SVC_RC, expected 0"
	ip netns exec "$NS" timeout 30 nfflowd check >"$TMP/check-running.out" 2>&1 || true
	grep -q "^nfflowd is running (pid $pid)" "$TMP/check-running.out" ||
		fail "nfflowd check does not report the service: $(cat "$TMP/check-running.out")"
	grep -q '^kernel: nf_conntrack_acct=1 nf_conntrack_timestamp=1 nf_conntrack_events=1' "$TMP/check-running.out" ||
		fail "the namespace's conntrack settings after start: $(grep '^kernel:' "$TMP/check-running.out")"
	if grep '^copy ' "$TMP/check-running.out" >&2; then
		fail "the packaged configuration makes local copies (above): no syslog flood by default"
	fi
	svc reload
	[ "$SVC_RC" -eq 0 ] && grep -q reloaded "$TMP/svc-reload.txt" ||
		fail "/etc/init.d/nfflowd reload: exit status $SVC_RC: $(cat "$TMP/svc-reload.txt")"
	svc stop
	[ "$SVC_RC" -eq 0 ] || fail "/etc/init.d/nfflowd stop: exit status $SVC_RC: $(cat "$TMP/svc-stop.txt")"
	if pid_alive "$pid"; then fail "stop returned while the service (pid $pid) runs"; fi
	[ ! -e /run/nfflowd/nfflowd.pid ] || fail "stop left /run/nfflowd/nfflowd.pid"
	[ ! -e /run/nfflowd/nfflowd.sock ] || fail "stop left /run/nfflowd/nfflowd.sock"
	svc status
	[ "$SVC_RC" -eq 3 ] || fail "/etc/init.d/nfflowd status when stopped: exit status $SVC_RC, expected 3"
else
	fail "no service running after start (pid file: '$pid')"
fi

# ---------------------------------------------------------------------------
# Purge

log "dpkg --purge nfflowd (at $(elapsed))"
purge
for f in /usr/sbin/nfflowd /etc/nfflowd.conf /etc/init.d/nfflowd /lib/systemd/system/nfflowd.service \
	/usr/share/doc/nfflowd; do
	if [ -e "$f" ] || [ -L "$f" ]; then fail "$f is left after the purge"; fi
done
status=$(dpkg-query -W -f='${db:Status-Status}' nfflowd 2>/dev/null || true)
[ -z "$status" ] || [ "$status" = not-installed ] || fail "dpkg still knows nfflowd after the purge: $status"
if ! machine_state | diff -u "$TMP/state-before.txt" - >&2; then
	fail "the machine differs from before the test (diff above)"
fi

log "done in $(elapsed)"
if [ "$FAILURES" -ne 0 ]; then
	log "$FAILURES check(s) FAILED"
	exit 1
fi
log "PASS"
