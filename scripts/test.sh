#!/usr/bin/env bash
# test.sh: the full test run behind `make test` (and .ci/run).
#   deps -> per architecture: kernel (reclaim) -> initramfs -> kunit ->
#   scenarios; then check (static checks, both architectures' objects)
# Without ARCH, x86_64 runs every tests/scenarios/* and arm64 then runs
# KUnit and ARM64_SCENARIOS (default: smoke pagecache bad-input
# lent-dma-direct overprovision burst-ms; the rest would add a debug kernel,
# the 16K kernel and minutes of TCG). overprovision's burst used to outrun
# growth on a loaded host; since the map path claims free lent chunks it
# passed 3 of 3 loaded runs, with burst-ms 3 of 3.
# ARCH=x86_64 runs x86_64 alone; ARCH=arm64 runs every scenario that applies
# to arm64 ("# arch:" header, absent = all). A scenario's "# variant: X"
# header builds that variant first (once per architecture; only variants
# somebody asks for are built). Ends with "N passed, N failed", counting
# every architecture.
. "$(dirname "$0")/common.sh"

cd "$TOP"
mapfile -t ALL_SCENARIOS < <(find tests/scenarios -maxdepth 1 -type f ! -name '*.md' ! -name '.*' -printf '%f\n' | LC_ALL=C sort)
ARM64_SCENARIOS=${ARM64_SCENARIOS:-smoke pagecache bad-input lent-dma-direct overprovision burst-ms}

# RUN_ARCHS: the architectures, in order; SCEN_<arch>: their scenarios.
case "$ARCH_ASKED" in
"") RUN_ARCHS=(x86_64 arm64) ;;
*) RUN_ARCHS=("$ARCH") ;;
esac
declare -A scen_of=()
for a in "${RUN_ARCHS[@]}"; do
	list=()
	for s in "${ALL_SCENARIOS[@]}"; do
		archs=$(ARCH=$a scenario_header "tests/scenarios/$s" arch)
		[ -z "$archs" ] || [[ " $archs " == *" $a "* ]] || continue
		# The default run's arm64 leg: the chosen subset only.
		if [ -z "$ARCH_ASKED" ] && [ "$a" = arm64 ] && [[ " $ARM64_SCENARIOS " != *" $s "* ]]; then continue; fi
		list+=("$s")
	done
	scen_of[$a]="${list[*]}"
done
for s in $ARM64_SCENARIOS; do
	[ -f "tests/scenarios/$s" ] || die "ARM64_SCENARIOS names '$s', which is not in tests/scenarios/"
done

# Which variants each architecture's scenarios need (besides reclaim).
declare -A svariant=() extra_of=()
TOTAL=1
for a in "${RUN_ARCHS[@]}"; do
	extra=()
	for s in ${scen_of[$a]}; do
		v=$(ARCH=$a scenario_header "tests/scenarios/$s" variant)
		v=${v:-reclaim}
		svariant[$a/$s]=$v
		if [ "$v" != reclaim ] && [[ " ${extra[*]} " != *" $v "* ]]; then extra+=("$v"); fi
	done
	extra_of[$a]="${extra[*]}"
	# kernel, initramfs, kunit, extra variants, scenarios
	TOTAL=$((TOTAL + 3 + ${#extra[@]} + $(wc -w <<<"${scen_of[$a]}")))
done
TOTAL=$((TOTAL + 1)) # check
STEP=0
step() {
	STEP=$((STEP + 1))
	printf '\n######## [%d/%d] %s (elapsed %s)\n' "$STEP" "$TOTAL" "$*" "$(elapsed)"
}

passed=0
failed=()
declare -A built=() buildfail=()
# Records and steps of x86_64 keep their historical names; other
# architectures' carry the architecture's name in front.
label() { if [ "$ARCH" = x86_64 ]; then echo "$*"; else echo "$ARCH $*"; fi; }
record() { # record NAME RC [REASON]
	local name
	name=$(label "$1")
	if [ "$2" -eq 0 ]; then
		passed=$((passed + 1))
		echo "######## $name: PASS"
	else
		failed+=("$name: ${3:-rc=$2}")
		echo "######## $name: FAIL (${3:-rc=$2})"
	fi
}
result_of() { cat "$LOGDIR/$1.result" 2>/dev/null || echo "rc=$2"; }

build_variant() {
	local v=$1 rc=0
	step "$(label "kernel $v")"
	"$TOP/scripts/build-kernel.sh" "$v" || rc=$?
	if [ $rc -eq 0 ]; then built[$ARCH/$v]=1; else buildfail[$ARCH/$v]=1; fi
}

# The summary CI looks for; exit status non-zero on any failure.
summary() {
	echo
	echo "######## test summary (total $(elapsed), ${RUN_ARCHS[*]})"
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
# run_arch ARCH: kernel, initramfs, kunit and the scenarios of one
# architecture.
run_arch() {
	local s v rc initramfs_ok=1
	set_arch "$1"
	build_variant reclaim
	step "$(label initramfs)"
	make -s -C "$TOP" ARCH="$ARCH" initramfs-only || initramfs_ok=0

	step "$(label kunit)"
	if [ -n "${buildfail[$ARCH/reclaim]:-}" ] || [ $initramfs_ok -eq 0 ]; then
		record kunit 1 "not run: kernel or initramfs build failed"
	else
		rc=0
		VARIANT=reclaim "$TOP/scripts/kunit.sh" || rc=$?
		record kunit $rc "$(tail -n 1 "$LOGDIR/kunit.parsed" 2>/dev/null | sed 's/^\[[^]]*\] //') / see ${LOGDIR#"$TOP"/}/kunit.log"
	fi

	for s in ${scen_of[$ARCH]}; do
		v=${svariant[$ARCH/$s]}
		if [ -z "${built[$ARCH/$v]:-}" ] && [ -z "${buildfail[$ARCH/$v]:-}" ]; then build_variant "$v"; fi
		step "$(label "scenario $s ($v)")"
		if [ -n "${buildfail[$ARCH/$v]:-}" ] || [ $initramfs_ok -eq 0 ]; then
			record "scenario $s" 1 "not run: $v kernel or initramfs build failed"
			continue
		fi
		rc=0
		SCENARIO=$s VARIANT=$v "$TOP/scripts/boot.sh" || rc=$?
		record "scenario $s" $rc "$(result_of "$s" $rc)"
	done
}

for a in "${RUN_ARCHS[@]}"; do run_arch "$a"; done

# The static checks, once, after every architecture's kernel is built (W=1
# and sparse run in each object dir).
step "check (checkpatch --strict, kernel-doc, sparse, W=1 on ${RUN_ARCHS[*]})"
set_arch "${RUN_ARCHS[0]}"
if [ -n "${buildfail[$ARCH/reclaim]:-}" ]; then
	record check 1 "not run: reclaim kernel build failed"
else
	rc=0
	"$TOP/scripts/check.sh" || rc=$?
	record check $rc "$(tail -n 1 "$BUILD/check/summary" 2>/dev/null || echo "see the output above")"
fi

summary
