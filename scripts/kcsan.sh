#!/usr/bin/env bash
# kcsan.sh: `make kcsan`. Build the kcsan variant (reclaim + KCSAN), boot
# scenarios on it (SCENARIO: one name or a space-separated list, default
# overprovision; TIMEOUT default 2400 s per boot) and sort the data-race
# reports of each console log: those with a frame in swiotlb or
# MIGRATE_SWIOTLB code (ours) fail the run, the others are listed for
# review. Reports go to build/logs/kcsan-<scenario>.reports. More watchpoints
# (slower, more coverage): CMDLINE=kcsan.skip_watch=400. Not part of make
# test. Note that upstream does not instrument mm/page_alloc.c
# (KCSAN_SANITIZE_page_alloc.o := n): races there show up only through an
# instrumented access on the other side.
. "$(dirname "$0")/common.sh"

export VARIANT=kcsan
SCENARIOS=${SCENARIO:-overprovision}
export TIMEOUT=${TIMEOUT:-2400}
# Frames of our code: kernel/dma/swiotlb*.c (our hooks in swiotlb.c
# included), mm/page_swiotlb.c, and the MIGRATE_SWIOTLB helpers.
OURS='swiotlb|migrate_swiotlb|free_swiotlb'

"$TOP/scripts/build-kernel.sh" kcsan
make -s -C "$TOP" initramfs-only

failed=0
for SCENARIO in $SCENARIOS; do
	export SCENARIO
	LOG="$LOGDIR/$SCENARIO.log"
	REPORTS="$LOGDIR/kcsan-$SCENARIO.reports"
	rm -f "$REPORTS"
	boot_rc=0
	"$TOP/scripts/boot.sh" || boot_rc=$?

	stage "kcsan: reports in ${LOG#"$TOP"/}"
	# One report: from "BUG: KCSAN:" to the closing "=====" line.
	tr -d '\r' <"$LOG" | sed 's/^\[ *[0-9.]*\] //' | awk -v ours="$OURS" -v out="$REPORTS" '
		/BUG: KCSAN:/ { inrep = 1; buf = ""; title = $0; sub(/.*BUG: KCSAN: /, "", title) }
		inrep { buf = buf $0 "\n" }
		inrep && /^=+$/ {
			inrep = 0; n++
			mine = (buf ~ ours)
			if (mine) nours++
			printf "### report %d (%s): %s\n%s\n", n, mine ? "OURS" : "other", title, buf > out
			printf "    %-5s %s\n", mine ? "OURS" : "other", title
		}
		END { printf "%d %d\n", n + 0, nours + 0 > "/dev/stderr" }' 2>"$REPORTS.count" || true
	[ -f "$REPORTS" ] || : >"$REPORTS"
	read -r total ours <"$REPORTS.count"
	rm -f "$REPORTS.count"
	selftest=$(tr -d '\r' <"$LOG" | grep -o 'kcsan: selftest: [0-9]*/[0-9]* tests passed' | head -n 1 || true)

	problems=()
	[ "$boot_rc" -eq 0 ] || problems+=("scenario $SCENARIO: $(cat "$LOGDIR/$SCENARIO.result" 2>/dev/null || echo "rc=$boot_rc")")
	if [ -z "$selftest" ] || [ "$(echo "$selftest" | sed 's/.*: \([0-9]*\)\/\([0-9]*\) .*/\1/')" != "$(echo "$selftest" | sed 's/.*\/\([0-9]*\) .*/\1/')" ]; then
		problems+=("the KCSAN self-test did not pass (${selftest:-no result line}): is KCSAN working?")
	fi
	[ "$ours" -eq 0 ] || problems+=("$ours of $total KCSAN report(s) involve swiotlb / MIGRATE_SWIOTLB code (see ${REPORTS#"$TOP"/})")
	info "${selftest:-no self-test line}; $total report(s), $ours with a frame in our code; details: ${REPORTS#"$TOP"/}"
	if [ ${#problems[@]} -gt 0 ]; then
		printf 'kcsan: FAIL: %s\n' "${problems[@]}"
		failed=$((failed + 1))
	else
		echo "kcsan: PASS: scenario $SCENARIO passed, no data race reported in our code ($total elsewhere)"
	fi
done
[ "$failed" -eq 0 ]
