#!/usr/bin/env bash
# run.sh: the boot behind `make run` (after make kernel and initramfs).
#
# SCENARIO=demo (the default when tests/scenarios/demo exists): the terminal
# shows only what the demo narrates ("@@SAY " lines; build/logs/demo.log
# keeps the whole console), then the pool samples it hands over become
# build/run/pool.csv and build/run/pool.png, whose absolute path is the last line.
# Any other SCENARIO boots as make boot does, console and all.
. "$(dirname "$0")/common.sh"

SCENARIO=${SCENARIO:-demo}
[ "$SCENARIO" = demo ] || exec "$TOP/scripts/boot.sh"

OUT="$BUILD/run"
rm -f "$OUT/pool.png" "$OUT/pool.csv"
rc=0
CONSOLE_FILTER='@@SAY ' SCENARIO=demo "$TOP/scripts/boot.sh" || rc=$?
# A failed demo may still have handed over its samples: plot what there is.
if python3 "$TOP/scripts/demo-plot.py" --log "$LOGDIR/demo.log" --out "$OUT"; then
	info "samples: ${OUT#"$TOP"/}/pool.csv; the pool over the whole run (active, used, lent, free lent):"
	echo "$OUT/pool.png"
else
	echo "pool plot: none (no samples in ${LOGDIR#"$TOP"/}/demo.log)"
	[ $rc -ne 0 ] || rc=1
fi
exit $rc
