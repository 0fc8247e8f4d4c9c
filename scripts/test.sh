#!/usr/bin/env bash
# test.sh: the full test run behind `make test` (and .ci/run).
#   deps -> kernel (reclaim) -> initramfs -> kunit -> every tests/scenarios/*
# A scenario's "# variant: X" header builds that variant first (once; only
# variants somebody asks for are built). Ends with "N passed, N failed".
. "$(dirname "$0")/common.sh"

cd "$TOP"
mapfile -t SCENARIOS < <(find tests/scenarios -maxdepth 1 -type f ! -name '*.md' ! -name '.*' -printf '%f\n' | LC_ALL=C sort)

# Which variants the scenarios need, in first-use order.
declare -A svariant=()
extra_variants=()
for s in "${SCENARIOS[@]}"; do
	v=$(scenario_header "tests/scenarios/$s" variant)
	v=${v:-reclaim}
	svariant[$s]=$v
	if [ "$v" != reclaim ] && [[ " ${extra_variants[*]} " != *" $v "* ]]; then extra_variants+=("$v"); fi
done

TOTAL=$((3 + ${#extra_variants[@]} + 2 + ${#SCENARIOS[@]}))
STEP=0
step() {
	STEP=$((STEP + 1))
	printf '\n######## [%d/%d] %s (elapsed %s)\n' "$STEP" "$TOTAL" "$*" "$(elapsed)"
}

passed=0
failed=()
declare -A built=() buildfail=()
record() { # record NAME RC [REASON]
	if [ "$2" -eq 0 ]; then
		passed=$((passed + 1))
		echo "######## $1: PASS"
	else
		failed+=("$1: ${3:-rc=$2}")
		echo "######## $1: FAIL (${3:-rc=$2})"
	fi
}
result_of() { cat "$LOGDIR/$1.result" 2>/dev/null || echo "rc=$2"; }

build_variant() {
	local v=$1 rc=0
	step "kernel $v"
	"$TOP/scripts/build-kernel.sh" "$v" || rc=$?
	if [ $rc -eq 0 ]; then built[$v]=1; else buildfail[$v]=1; fi
}

# The summary CI looks for; exit status non-zero on any failure.
summary() {
	echo
	echo "######## test summary (total $(elapsed))"
	for f in "${failed[@]}"; do echo "FAILED: $f"; done
	echo "${passed} passed, ${#failed[@]} failed"
	[ ${#failed[@]} -eq 0 ]
}

step "deps"
if ! "$TOP/scripts/deps.sh"; then
	# Nothing can be built without packages, source or disk space.
	failed+=("deps (see the ERROR above); nothing else was run")
	summary
	exit 1
fi
build_variant reclaim
step "initramfs"
initramfs_ok=1
make -s -C "$TOP" initramfs-only || initramfs_ok=0

step "kunit"
if [ -n "${buildfail[reclaim]:-}" ] || [ $initramfs_ok -eq 0 ]; then
	record kunit 1 "not run: kernel or initramfs build failed"
else
	rc=0
	VARIANT=reclaim "$TOP/scripts/kunit.sh" || rc=$?
	record kunit $rc "$(tail -n 1 "$LOGDIR/kunit.parsed" 2>/dev/null | sed 's/^\[[^]]*\] //') / see build/logs/kunit.log"
fi

step "check (checkpatch --strict, kernel-doc, sparse, W=1)"
if [ -n "${buildfail[reclaim]:-}" ]; then
	record check 1 "not run: reclaim kernel build failed"
else
	rc=0
	"$TOP/scripts/check.sh" || rc=$?
	record check $rc "$(tail -n 1 "$BUILD/check/summary" 2>/dev/null || echo "see the output above")"
fi

for s in "${SCENARIOS[@]}"; do
	v=${svariant[$s]}
	if [ -z "${built[$v]:-}" ] && [ -z "${buildfail[$v]:-}" ]; then build_variant "$v"; fi
	step "scenario $s ($v)"
	if [ -n "${buildfail[$v]:-}" ] || [ $initramfs_ok -eq 0 ]; then
		record "scenario $s" 1 "not run: $v kernel or initramfs build failed"
		continue
	fi
	rc=0
	SCENARIO=$s VARIANT=$v "$TOP/scripts/boot.sh" || rc=$?
	record "scenario $s" $rc "$(result_of "$s" $rc)"
done

summary
