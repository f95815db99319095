#!/usr/bin/env bash
# End-to-end, "nfflowd install" on a machine without a running systemd, and
# the service files that come from dist/:
#
#   unit       the systemd unit (the build's nfflowd.service, or the template
#              filled in) passes "systemd-analyze verify" without a word about
#              it, its man pages (Documentation=) found in doc/
#   install    writes /etc/init.d/nfflowd: the template with this binary, this
#              configuration file and its pid file; links it into the
#              runlevels with update-rc.d; a second install changes nothing
#   service    /etc/init.d/nfflowd start|status|reload|force-reload|restart|
#              stop, run in the lab's router namespace: status 0 while
#              running and 3 when stopped, a start while running and a stop
#              while stopped succeed (Debian policy 9.3.2), a connection's
#              records reach the collector
#   cleanup    update-rc.d -f nfflowd remove and /etc/init.d/nfflowd removed,
#              also on failure or interruption; the runlevel and systemd
#              directories are as they were before the test
#
# The test changes /etc: it skips (77) rather than overwrite an existing
# /etc/init.d/nfflowd or runlevel links. Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=install_initscript
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

INIT=/etc/init.d/nfflowd
OWN_INIT=0 # 1 once this test may have written $INIT

lab_require systemd-analyze
lab_require_nfflowd
[ ! -d /run/systemd/system ] ||
	lab_skip "systemd runs on this machine: 'nfflowd install' would take the systemd path, this test covers the init script"
if [ -e "$INIT" ] || [ -L "$INIT" ]; then
	lab_skip "$INIT exists already; this test does not overwrite it"
fi
for f in /etc/rc?.d/[SK][0-9][0-9]nfflowd /etc/systemd/system/nfflowd.service \
	/lib/systemd/system/nfflowd.service /usr/lib/systemd/system/nfflowd.service; do
	if [ -e "$f" ] || [ -L "$f" ]; then
		lab_skip "$f exists: nfflowd is installed on this machine"
	fi
done

# machine_state: what install and update-rc.d may touch, one path a line.
machine_state() {
	{ find /etc/init.d /etc/rc?.d /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled \
		-maxdepth 3 \( -type l -printf '%p -> %l\n' -o -printf '%p\n' \) 2>/dev/null || true; } | sort
}

# uninstall: what an operator does to undo "nfflowd install".
uninstall() {
	[ "$OWN_INIT" = 1 ] || return 0
	if command -v update-rc.d >/dev/null 2>&1; then
		update-rc.d -f nfflowd remove >/dev/null 2>&1 || lab_warn "update-rc.d -f nfflowd remove failed"
	fi
	rm -f "$INIT"
	OWN_INIT=0
}

# shellcheck disable=SC2317 # the EXIT trap
on_exit() {
	local rc=$?
	trap - EXIT INT TERM HUP
	set +e
	uninstall
	if [ -f "$STATE_BEFORE" ] && ! machine_state | diff -u "$STATE_BEFORE" - >&2; then
		lab_warn "the machine's service directories differ from before the test (above)"
		[ "$rc" -ne 0 ] || rc=1
	fi
	lab_down "$rc"
	exit "$rc"
}

lab_up
STATE_BEFORE=$LAB_TMP/state-before.txt
machine_state >"$STATE_BEFORE"
trap on_exit EXIT
CONF=$LAB_TMP/nfflowd.conf
lab_nfflowd_conf "$CONF" "$LAB_COLLECTOR_PORT"
BIN=$(readlink -f "$NFFLOWD")

# ---- the systemd unit ---------------------------------------------------------------
lab_log "systemd unit: systemd-analyze verify"
unit_dir=$LAB_TMP/unit
mkdir -p "$unit_dir" "$LAB_TMP/man/man8" "$LAB_TMP/man/man5"
unit_src=$(dirname "$BIN")/nfflowd.service
if [ -f "$unit_src" ]; then
	cp "$unit_src" "$unit_dir/nfflowd.service"
else
	unit_src="$LAB_ROOT/dist/nfflowd.service.in (filled in)"
	sed -e 's|@NFFLOWD@|/usr/sbin/nfflowd|g' -e 's|@CONFIG@|/etc/nfflowd.conf|g' \
		-e 's|@PIDFILE@|/run/nfflowd/nfflowd.pid|g' "$LAB_ROOT/dist/nfflowd.service.in" >"$unit_dir/nfflowd.service"
fi
grep -q '@[A-Z]*@' "$unit_dir/nfflowd.service" && lab_fail "$unit_src: placeholders left: $(grep '@[A-Z]*@' "$unit_dir/nfflowd.service")"
# The installed binary need not exist here: the commands point at this one.
sed -i -E "s|^(Exec[A-Za-z]*=)[^ ]*/nfflowd |\\1$BIN |" "$unit_dir/nfflowd.service"
grep -q "^ExecStart=$BIN " "$unit_dir/nfflowd.service" || lab_fail "$unit_src: no ExecStart= running nfflowd"
cp "$LAB_ROOT/doc/nfflowd.8" "$LAB_TMP/man/man8/"
cp "$LAB_ROOT/doc/nfflowd.conf.5" "$LAB_TMP/man/man5/"
man_opt=--man=yes
command -v man >/dev/null 2>&1 || man_opt=--man=no
LAB_RC=0
MANPATH=$LAB_TMP/man timeout 60 systemd-analyze verify "$man_opt" "$unit_dir/nfflowd.service" \
	>"$LAB_TMP/verify.txt" 2>&1 || LAB_RC=$?
ours=$(grep -i 'nfflowd' "$LAB_TMP/verify.txt" || true)
others=$(grep -vi 'nfflowd' "$LAB_TMP/verify.txt" || true)
[ -z "$others" ] || lab_log "systemd-analyze verify, about other units (ignored):"$'\n'"$others"
if [ "$LAB_RC" -ne 0 ] || [ -n "$ours" ]; then
	lab_fail "systemd-analyze verify $unit_src: exit $LAB_RC:"$'\n'"$ours"
else
	lab_log "systemd-analyze verify $man_opt: no complaint about $unit_src"
fi

# ---- install ----------------------------------------------------------------------------
lab_log "nfflowd -c $CONF install (twice)"
expected_init=$LAB_TMP/init-expected
sed -e "s|@NFFLOWD@|$BIN|g" -e "s|@CONFIG@|$CONF|g" -e "s|@PIDFILE@|$LAB_TMP/nfflowd.pid|g" \
	"$LAB_ROOT/dist/nfflowd.init.in" >"$expected_init"
OWN_INIT=1
lab_nfflowd_cmd install -c "$CONF" install
if [ "$LAB_RC" -ne 0 ]; then
	lab_show "$LAB_TMP/install.out" "stdout:"
	lab_show "$LAB_TMP/install.err" "stderr:"
	lab_die "nfflowd install: exit status $LAB_RC, expected 0"
fi
grep -qx "wrote $INIT" "$LAB_TMP/install.out" || lab_fail "install did not say 'wrote $INIT': $(cat "$LAB_TMP/install.out")"
[ -f "$INIT" ] || lab_die "install did not write $INIT"
[ "$(stat -c '%a %U %G' "$INIT")" = "755 root root" ] ||
	lab_fail "$INIT: mode and owner $(stat -c '%a %U %G' "$INIT"), expected 755 root root"
grep -qx "NFFLOWD='$BIN'" "$INIT" || lab_fail "$INIT does not run $BIN: $(grep '^NFFLOWD=' "$INIT")"
grep -qx "CONFIG='$CONF'" "$INIT" || lab_fail "$INIT does not read $CONF: $(grep '^CONFIG=' "$INIT")"
diff -u "$expected_init" "$INIT" >&2 || lab_fail "$INIT is not dist/nfflowd.init.in filled in (diff above)"
cp "$INIT" "$LAB_TMP/init-first"
if command -v update-rc.d >/dev/null 2>&1; then
	grep -qx "linked $INIT into the default runlevels" "$LAB_TMP/install.out" ||
		lab_fail "install did not report linking $INIT into the runlevels: $(cat "$LAB_TMP/install.out")"
	for link in /etc/rc2.d/S[0-9][0-9]nfflowd /etc/rc0.d/K[0-9][0-9]nfflowd; do
		compgen -G "$link" >/dev/null || lab_fail "update-rc.d made no link $link"
	done
fi
machine_state >"$LAB_TMP/state-installed.txt"

lab_nfflowd_cmd install-again -c "$CONF" install
[ "$LAB_RC" -eq 0 ] || lab_fail "a second install: exit status $LAB_RC, expected 0: $(cat "$LAB_TMP/install-again.err")"
cmp -s "$LAB_TMP/init-first" "$INIT" || lab_fail "a second install changed $INIT"
machine_state | diff -u "$LAB_TMP/state-installed.txt" - >&2 ||
	lab_fail "a second install changed the service directories (diff above)"

# ---- the service, through the init script, in the router namespace --------------------
# svc NAME ACTION: $INIT ACTION in the router namespace; LAB_RC, NAME.out/.err.
svc() {
	LAB_RC=0
	ip netns exec "$LAB_RTR" timeout -k 5 60 "$INIT" "$2" \
		</dev/null >"$LAB_TMP/$1.out" 2>"$LAB_TMP/$1.err" || LAB_RC=$?
}
# expect_svc NAME ACTION RC: svc, and its exit status must be RC.
expect_svc() {
	svc "$1" "$2"
	[ "$LAB_RC" -eq "$3" ] && return 0
	lab_fail "$INIT $2: exit status $LAB_RC, expected $3; stdout: $(tr '\n' '|' <"$LAB_TMP/$1.out") stderr: $(tr '\n' '|' <"$LAB_TMP/$1.err")"
	return 1
}
daemon_pid() { cat "$LAB_TMP/nfflowd.pid" 2>/dev/null || true; }
sent() {
	lab_nfflowd_check "$CONF" | lab_stat_value "collector 127.0.0.1:$LAB_COLLECTOR_PORT:" records
}
# shellcheck disable=SC2317 # called through lab_wait_for
sent_at_least() { [ "$(sent)" -ge "$1" ] 2>/dev/null; }

lab_servers_start
lab_nfcapd_start "$LAB_COLLECTOR_PORT"
lab_ct_start

lab_log "$INIT status|start|status|start|reload|force-reload|restart|stop|status|stop in $LAB_RTR"
if expect_svc status-before status 3; then
	grep -q "not running" "$LAB_TMP/status-before.out" || lab_fail "status before start does not say 'not running'"
fi
expect_svc start start 0 || lab_die "the service did not start"
PID=$(daemon_pid)
if [ -z "$PID" ] || ! lab_pid_alive "$PID"; then
	lab_die "start exited 0 but no daemon runs (pid file: '$PID')"
fi
[ "$(ip netns identify "$PID")" = "$LAB_RTR" ] || lab_fail "the daemon (pid $PID) does not run in $LAB_RTR"
[ "$(lab_proc_status "$PID" CapEff)" = 0000000000001000 ] ||
	lab_fail "the daemon's CapEff is $(lab_proc_status "$PID" CapEff), expected 0000000000001000"
if expect_svc status-running status 0; then
	grep -q "is running" "$LAB_TMP/status-running.out" || lab_fail "status while running does not say 'is running'"
fi
expect_svc start-again start 0 || true
if [ "$(daemon_pid)" != "$PID" ] || ! lab_pid_alive "$PID"; then
	lab_fail "start while running disturbed the daemon (pid $PID)"
fi
[ "$(lab_ns_pids_named "$LAB_RTR" nfflowd)" = "$PID" ] ||
	lab_fail "nfflowd processes after a second start: $(lab_ns_pids_named "$LAB_RTR" nfflowd), expected $PID"

lab_udp_exchange "init-script" 41100
[ "$(lab_ct_flush_client)" -eq 1 ] || lab_fail "conntrack -D did not end 1 connection"
lab_wait_for 10 "3 records sent to the collector" sent_at_least 3 ||
	lab_fail "nfflowd reports $(sent) records sent, expected 3"

if expect_svc reload reload 0; then
	grep -q "reloaded" "$LAB_TMP/reload.out" || lab_fail "reload did not say 'reloaded': $(cat "$LAB_TMP/reload.out")"
fi
expect_svc force-reload force-reload 0 || true
if [ "$(daemon_pid)" != "$PID" ] || ! lab_pid_alive "$PID"; then
	lab_fail "reload/force-reload replaced the daemon (pid $PID)"
fi
expect_svc restart restart 0 || true
PID2=$(daemon_pid)
if [ -z "$PID2" ] || [ "$PID2" = "$PID" ] || ! lab_pid_alive "$PID2" || lab_pid_alive "$PID"; then
	lab_fail "restart: pid file '$PID2' (was $PID); old alive: $(lab_pid_alive "$PID" && echo yes || echo no)"
fi
expect_svc stop stop 0 || true
[ -z "$PID2" ] || ! lab_pid_alive "$PID2" || lab_fail "stop returned while the daemon (pid $PID2) runs"
[ ! -e "$LAB_TMP/nfflowd.pid" ] || lab_fail "stop left the pid file"
expect_svc status-stopped status 3 || true
expect_svc stop-again stop 0 || true
svc bogus frobnicate
if [ "$LAB_RC" -ne 2 ] || ! grep -q "Usage" "$LAB_TMP/bogus.err"; then
	lab_fail "$INIT frobnicate: exit status $LAB_RC and no usage message, expected 2 and 'Usage'"
fi

lab_ct_stop
lab_nfcapd_stop "$LAB_COLLECTOR_PORT"
lab_ct_events v5 >"$LAB_TMP/destroys.txt"
lab_check_destroys "$LAB_TMP/destroys.txt" 1 17
lab_expected_triplets ct <"$LAB_TMP/destroys.txt" >"$LAB_TMP/expected.txt"
lab_nfdump_flows "$LAB_COLLECTOR_PORT" >"$LAB_TMP/collector.txt"
lab_nfcapd_check "$LAB_COLLECTOR_PORT" 3
lab_compare "$LAB_TMP/expected.txt" "$LAB_TMP/collector.txt" "collector vs kernel" ||
	lab_fail "the collector's records differ from the kernel's connection (above)"

# ---- cleanup, as an operator would -------------------------------------------------------
lab_log "update-rc.d -f nfflowd remove; rm $INIT"
uninstall
[ ! -e "$INIT" ] || lab_fail "$INIT still exists"
if compgen -G "/etc/rc?.d/[SK][0-9][0-9]nfflowd" >/dev/null; then
	lab_fail "runlevel links left: $(compgen -G "/etc/rc?.d/[SK][0-9][0-9]nfflowd" | tr '\n' ' ')"
fi
machine_state | diff -u "$STATE_BEFORE" - >&2 ||
	lab_fail "the service directories differ from before the test (diff above)"
lab_finish
