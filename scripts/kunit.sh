#!/usr/bin/env bash
# kunit.sh: boot the reclaim image with kunit.enable=1 (scenario
# tests/harness/kunit), pull the KTAP out of the console log and parse it
# with the tree's kunit.py. Fails on any failed test, on a parse error, and
# when no test ran at all (a suite that is missing must not pass silently).
. "$(dirname "$0")/common.sh"

export SCENARIO=kunit
LOG="$LOGDIR/kunit.log"
KTAP="$LOGDIR/kunit.ktap"
PARSED="$LOGDIR/kunit.parsed"
KUNIT_PY="$KTREE/tools/testing/kunit/kunit.py"
[ -f "$KUNIT_PY" ] || die "$KUNIT_PY missing: run 'make kernel' first"

boot_rc=0
"$TOP/scripts/boot.sh" || boot_rc=$?

stage "kunit: parsing KTAP from ${LOG#"$TOP"/}"
# Console lines: strip CRs; kunit.py finds the KTAP start itself and strips
# the printk timestamp prefix.
tr -d '\r' <"$LOG" >"$KTAP"
set +e
python3 "$KUNIT_PY" parse "$KTAP" >"$PARSED" 2>&1
prc=$?
set -e
sed 's/^/    /' "$PARSED"

summary=$(sed -n 's/.*Testing complete\. Ran \([0-9]\{1,\}\) tests\{0,1\}.*/\1/p' "$PARSED" | tail -n 1)
ntests=${summary:-0}
problems=()
[ "$boot_rc" -eq 0 ] || problems+=("the kunit boot failed ($(cat "$LOGDIR/kunit.result" 2>/dev/null || echo "rc=$boot_rc"))")
[ "$prc" -eq 0 ] || problems+=("kunit.py parse reported failure (rc=$prc)")
[ "$ntests" -gt 0 ] || problems+=("zero KUnit tests ran (no suite built in? check config/*.config and .kunitconfig)")
if grep -qE 'could not find any KTAP|Could not find any KTAP' "$PARSED"; then
	problems+=("no KTAP output found in the console log")
fi
if [ ${#problems[@]} -gt 0 ]; then
	printf 'kunit: FAIL: %s\n' "${problems[@]}"
	exit 1
fi
echo "kunit: PASS: $ntests test(s) ran, none failed"
