#!/usr/bin/env bash
# nfflowd help lists every verb and option that README.md's "Use" section
# lists. Fails naming what is missing.
set -euo pipefail
: "${NFFLOWD:?}" "${NFFLOWD_SRC:?}"
help=$("$NFFLOWD" help) || { echo "nfflowd help failed"; exit 1; }
use=$(sed -n '/^## Use/,/^## /p' "$NFFLOWD_SRC/README.md" | grep '^    nfflowd ' || true)
[ -n "$use" ] || { echo "README.md has no usage lines"; exit 1; }
words=$(printf '%s\n' "$use" | tr -s ' {}[]|' '\n' | grep -E '^(-[a-z]|[a-z]+)$' | grep -vx -e nfflowd -e file | sort -u)
missing=0
for w in $words; do
	if ! printf '%s\n' "$help" | grep -Eq "^  $w( |$)"; then
		echo "nfflowd help does not describe '$w'"
		missing=1
	fi
	if ! printf '%s\n' "$help" | head -2 | grep -q -- "$w"; then
		echo "nfflowd help's usage line does not show '$w'"
		missing=1
	fi
done
[ "$missing" = 1 ] || echo "help lists: ${words//$'\n'/ }"
exit "$missing"
