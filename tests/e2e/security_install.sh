#!/usr/bin/env bash
# End-to-end, "nfflowd install" with a configuration path that is unsafe
# for the shell and for systemd: it holds spaces, $VAR, $(...), backticks,
# %, quotes and a backslash. The pid file's path holds a space and % too.
# Each install runs in a private mount namespace (unshare -m): /etc/init.d,
# /etc/systemd/system and /run are empty tmpfs there and systemctl and
# update-rc.d are stand-ins that record their arguments, so the host's
# service directories are never touched.
#
#   init script  install writes /etc/init.d/nfflowd with the path quoted;
#                run from the lab's router namespace, in an empty working
#                directory, its start, status, reload and stop work on that
#                very file (the daemon's argv holds it byte for byte) and
#                nothing in the path is executed (no file is created)
#   unit         with /run/systemd/system present, install writes the unit
#                and calls systemctl daemon-reload and enable; systemd itself
#                (systemd-analyze verify, debug dump) parses ExecStart,
#                ExecReload and ExecStop into exactly nfflowd -c PATH VERB
#                (after systemd's run-time $$ -> $) and PIDFile into the pid
#                file's path, without a complaint about the unit
#   refused      a path with a newline is refused with a message, and
#                nothing is written
#
# Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
LAB_NAME=security_install
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

lab_require unshare systemd-analyze
lab_require_nfflowd
SYSTEMCTL=$(command -v systemctl) || lab_skip "no systemctl to stand in for"
unshare -m true 2>/dev/null || lab_skip "cannot make a mount namespace (unshare -m)"
lab_up
BIN=$(readlink -f "$NFFLOWD")
WEIRD="$LAB_TMP/we ird \$HOME \$(touch PWNED1) \`touch PWNED2\` 100%n 'sq' \"dq\" back\\slash"
CONF=$WEIRD/nfflowd.conf
PIDDIR="$LAB_TMP/run 100%n"
PIDFILE=$PIDDIR/nfflowd.pid
CWD=$LAB_TMP/cwd
mkdir -p "$WEIRD" "$CWD"
mkdir -m 0755 "$PIDDIR"
lab_nfflowd_conf "$CONF" "$LAB_COLLECTOR_PORT"
sed -i "s|^pidfile .*|pidfile $PIDFILE|" "$CONF"
lab_log "configuration: $CONF"

# Stand-ins for systemctl and update-rc.d: they record their arguments.
for tool in systemctl update-rc.d; do
	printf '#!/bin/sh\necho "$*" >>"%s/%s.args"\n' "$LAB_TMP" "$tool" >"$LAB_TMP/fake-$tool"
	chmod 0755 "$LAB_TMP/fake-$tool"
done

# in_private_ns SYSTEMD CONF OUT: "nfflowd -c CONF install" in a private
# mount namespace; SYSTEMD yes makes /run/systemd/system exist there. What
# install wrote is copied to OUT (a directory); its output is in
# OUT/install.out and .err, its exit status in OUT/rc.
in_private_ns() {
	mkdir -p "$3"
	unshare -m --propagation private bash -c '
		systemd=$1 conf=$2 out=$3 bin=$4 tmp=$5 systemctl=$6
		mount -t tmpfs nfft-run /run
		[ "$systemd" = no ] || mkdir -p /run/systemd/system
		mount -t tmpfs nfft-initd /etc/init.d
		mount -t tmpfs nfft-units /etc/systemd/system
		mount --bind "$tmp/fake-systemctl" "$systemctl"
		[ ! -e /usr/sbin/update-rc.d ] || mount --bind "$tmp/fake-update-rc.d" /usr/sbin/update-rc.d
		rc=0
		"$bin" -c "$conf" install >"$out/install.out" 2>"$out/install.err" </dev/null || rc=$?
		echo "$rc" >"$out/rc"
		cp -a /etc/init.d/. /etc/systemd/system/. "$out/"
	' _ "$1" "$2" "$3" "$BIN" "$LAB_TMP" "$SYSTEMCTL"
}

# argv_of LINE: the words of a command line as systemd's dump prints it
# (shell quoting), one per line, with systemd's run-time "$$" -> "$".
argv_of() {
	python3 -c '
import sys
line = sys.argv[1]
words, i, n = [], 0, len(line)
while i < n:
    while i < n and line[i] == " ":
        i += 1
    if i >= n:
        break
    w = ""
    while i < n and line[i] != " ":
        c = line[i]
        if c == "\"":
            i += 1
            while line[i] != "\"":
                if line[i] == "\\" and line[i + 1] in "$`\"\\":
                    w += line[i + 1]
                    i += 2
                else:
                    w += line[i]
                    i += 1
            i += 1
        elif c == "'\''":
            j = line.index("'\''", i + 1)
            w += line[i + 1:j]
            i = j + 1
        elif c == "\\":
            w += line[i + 1]
            i += 2
        else:
            w += c
            i += 1
    words.append(w.replace("$$", "$"))
print("\n".join(words))
' "$1"
}

no_pwned() {
	local found
	found=$(find / -xdev -name 'PWNED[12]' 2>/dev/null | head -n 3 || true)
	[ -z "$found" ] || lab_fail "$1: a command in the path was executed: $found"
}

# ---- the init script ------------------------------------------------------------------------
lab_log "install without systemd: the init script"
OUT=$LAB_TMP/sysv
in_private_ns no "$CONF" "$OUT"
if [ "$(cat "$OUT/rc")" != 0 ] || [ ! -f "$OUT/nfflowd" ]; then
	lab_die "install (init script): exit $(cat "$OUT/rc"): $(cat "$OUT/install.err")"
fi
grep -q "^nfflowd defaults" "$LAB_TMP/update-rc.d.args" || lab_fail "install did not run update-rc.d nfflowd defaults"
INIT=$LAB_TMP/init-nfflowd
cp "$OUT/nfflowd" "$INIT"
sh -n "$INIT" || lab_fail "the init script does not parse"
# svc ACTION RC: the init script in the router namespace, in an empty
# working directory.
svc() {
	LAB_RC=0
	(cd "$CWD" && ip netns exec "$LAB_RTR" timeout -k 5 60 "$INIT" "$1" </dev/null \
		>"$LAB_TMP/svc-$1.out" 2>"$LAB_TMP/svc-$1.err") || LAB_RC=$?
	[ "$LAB_RC" -eq "$2" ] ||
		lab_fail "init script $1: exit $LAB_RC, expected $2: $(tr '\n' '|' <"$LAB_TMP/svc-$1.err")"
}
svc start 0
PID=$(cat "$PIDFILE" 2>/dev/null || true)
if [ -z "$PID" ] || ! lab_pid_alive "$PID"; then
	lab_fail "the init script's start left no daemon (pid file '$PID')"
else
	mapfile -d '' argv <"/proc/$PID/cmdline"
	[ "${argv[1]:-}" = -c ] && [ "${argv[2]:-}" = "$CONF" ] && [ "${argv[3]:-}" = start ] ||
		lab_fail "the daemon runs with argv '${argv[*]}', expected -c '$CONF' start"
fi
svc status 0
svc reload 0
grep -q reloaded "$LAB_TMP/svc-reload.out" || lab_fail "the init script's reload did not reload"
svc stop 0
[ -z "$PID" ] || ! lab_pid_alive "$PID" || lab_fail "the init script's stop left the daemon running"
svc status 3
[ -z "$(ls -A "$CWD")" ] || lab_fail "files appeared in the working directory: $(ls -A "$CWD")"
no_pwned "init script"

# ---- the systemd unit ---------------------------------------------------------------------------
lab_log "install with systemd: the unit, parsed by systemd"
OUT=$LAB_TMP/systemd
in_private_ns yes "$CONF" "$OUT"
if [ "$(cat "$OUT/rc")" != 0 ] || [ ! -f "$OUT/nfflowd.service" ]; then
	lab_die "install (systemd): exit $(cat "$OUT/rc"): $(cat "$OUT/install.err")"
fi
grep -qx "daemon-reload" "$LAB_TMP/systemctl.args" && grep -qx "enable nfflowd.service" "$LAB_TMP/systemctl.args" ||
	lab_fail "install did not run systemctl daemon-reload and enable: $(tr '\n' '|' <"$LAB_TMP/systemctl.args")"
UNIT=$OUT/nfflowd.service
LAB_RC=0
(cd "$LAB_TMP" && SYSTEMD_LOG_LEVEL=debug timeout 60 systemd-analyze verify --man=no "$UNIT") \
	>"$LAB_TMP/dump.txt" 2>&1 || LAB_RC=$?
(cd "$LAB_TMP" && timeout 60 systemd-analyze verify --man=no "$UNIT") >"$LAB_TMP/verify.txt" 2>&1 || LAB_RC=$?
ours=$(grep -i 'nfflowd' "$LAB_TMP/verify.txt" || true)
[ "$LAB_RC" -eq 0 ] && [ -z "$ours" ] || lab_fail "systemd-analyze verify: exit $LAB_RC: $ours"
for verb in start reload stop; do
	key=Exec${verb^}
	line=$(awk -v k="-> $key:" 'index($0, k) { getline; sub(/^[ \t]*Command Line: /, ""); print; exit }' "$LAB_TMP/dump.txt")
	got=$(argv_of "$line")
	want=$(printf '%s\n' "$BIN" -c "$CONF" "$verb")
	[ "$got" = "$want" ] || lab_fail "systemd parses $key into:"$'\n'"$got"$'\n'"expected:"$'\n'"$want"
done
pidfile=$(awk '/^[ \t]*PIDFile: / { sub(/^[ \t]*PIDFile: /, ""); print; exit }' "$LAB_TMP/dump.txt")
[ "$pidfile" = "$PIDFILE" ] || lab_fail "systemd parses PIDFile into '$pidfile', expected '$PIDFILE'"
grep -q "warning: .*outside /run/nfflowd and /var/log/nfflowd" "$OUT/install.err" ||
	lab_fail "install did not warn that the pid file is outside the unit's writable paths"
no_pwned "unit"

# ---- a path no quoting makes safe ------------------------------------------------------------------
lab_log "a configuration path with a newline: refused"
NL="$LAB_TMP/new"$'\n'"line"
mkdir -p "$NL"
cp "$CONF" "$NL/nfflowd.conf"
for systemd in no yes; do
	OUT=$LAB_TMP/newline-$systemd
	in_private_ns "$systemd" "$NL/nfflowd.conf" "$OUT"
	[ "$(cat "$OUT/rc")" = 1 ] || lab_fail "install (systemd $systemd) with a newline in the path: exit $(cat "$OUT/rc")"
	grep -q "cannot install: the configuration file .* cannot be written safely into .*control character" "$OUT/install.err" ||
		lab_fail "install with a newline in the path: $(tr '\n' '|' <"$OUT/install.err")"
	wrote=$(find "$OUT" -mindepth 1 ! -name rc ! -name install.out ! -name install.err -printf '%f ')
	[ -z "$wrote" ] || lab_fail "install with a newline in the path wrote: $wrote"
done
lab_finish
