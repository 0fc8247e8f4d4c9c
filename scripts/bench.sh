#!/usr/bin/env bash
# bench.sh: `make bench`. Builds the static, dynamic, reclaim and
# reclaim-dynamic kernels from this tree, boots each through the same guest
# workloads (tests/bench/*), interleaving the kernels run by run, and writes
# the report, CSV raw data and gnuplot plots (scripts/bench-report.py).
#
#   RUNS=N        boots per kernel and workload (default 3; QUICK=1: 1)
#   QUICK=1       smoke of the bench itself: 1 run, shorter workloads,
#                 output in build/bench-quick/ instead of bench/
#   BENCH_OUT=dir where report.md, *.csv and *.png go
#   BENCH_BUILD=0 use the existing kernel images instead of make kernel
#   ICOUNT_SHIFT  -icount shift for the dma_map_benchmark boots (default 6:
#                 64 ns of guest time per instruction, see the report)
#   BENCH_SCALE=0 no scale boots (region sizes, run 1, static and reclaim)
#   BENCH_RAW=dir where the console logs go (default build/bench-raw)
#   BENCH_MEM_EXTRA="bench_...=N ..." appended to the mem boots' command line
. "$(dirname "$0")/common.sh"

cd "$TOP"
QUICK=${QUICK:-}
case "$QUICK" in 1 | y | yes) QUICK=1 ;; *) QUICK= ;; esac
RUNS=${RUNS:-$([ -n "$QUICK" ] && echo 1 || echo 3)}
ICOUNT_SHIFT=${ICOUNT_SHIFT:-6}
if [ -n "$QUICK" ]; then
	OUT=${BENCH_OUT:-$BUILD/bench-quick}
	DMA_ARGS="bench_reps=1 bench_secs=1"
	MEM_ARGS="bench_burst_mib=16 bench_copy_reps=1"
else
	OUT=${BENCH_OUT:-$TOP/bench}
	DMA_ARGS="bench_reps=3 bench_secs=3"
	MEM_ARGS=""
fi
RAW=${BENCH_RAW:-$BUILD/bench-raw${QUICK:+-quick}} # console logs of every boot (not part of the report)
MEM_ARGS="$MEM_ARGS ${BENCH_MEM_EXTRA:-}" # e.g. bench_evac3_target=0: evacuation off before the evacuation burst
read -ra KERNELS <<<"${BENCH_KERNELS:-static dynamic reclaim reclaim-dynamic}" # BENCH_KERNELS: a subset, for testing
# The same 256 MiB of swiotlb in all four: static holds it all, dynamic
# starts with the 16 MiB default pool and adds pools on demand (6.12 has no
# maximum to set), reclaim has a 256 MiB region with 16 MiB active and
# 240 MiB lent to the page allocator; reclaim-dynamic is reclaim built with
# CONFIG_SWIOTLB_DYNAMIC too (transient pools as the last resort).
declare -A SWIOTLB=(
	[static]="swiotlb=131072"
	[dynamic]="swiotlb=8192"
	[reclaim]="swiotlb=8192 swiotlb_overprovision=16"
	[reclaim-dynamic]="swiotlb=8192 swiotlb_overprovision=16"
)
# The burst's disk is throttled in QEMU: TCG's host disk completes a request
# about as fast as the guest copies it into a bounce buffer, so unthrottled
# fewer than 16 MiB of bounce buffers are ever in flight.
THROTTLE="-set drive.d0.throttling.bps-write=$((32 << 20))"
# One THP setting for the mem boots of all kernels. THP stays off
# below 512 MiB of RAM: static's reserved pool keeps this guest under that
# (479 MiB), while dynamic and reclaim count the 256 MiB as RAM, so THP comes
# on and khugepaged raises min_free_kbytes to 5% of memory (36 MiB instead of
# 2.7 MiB). With that min watermark the fill's 48 MiB floor sits at the
# edge of OOM (with THP on, 2 of 3 reclaim boots panicked, "System is
# deadlocked on memory"). Dynamic shares this side effect of counting the
# memory as RAM; the benchmark compares the pools, so it fixes THP.
MEM_THP="transparent_hugepage=never"
force() { echo "$1" | sed 's/swiotlb=\([0-9]*\)/swiotlb=\1,force/'; }

# Everything below the builds boots with only these variables.
unset CMDLINE MEM TIMEOUT ICOUNT QEMU_EXTRA SCENARIO VARIANT DEBUG

# Nobody else's make kernel/initramfs in this clone while the bench runs.
lock_src
stage "bench: RUNS=$RUNS${QUICK:+ QUICK=1}, kernels ${KERNELS[*]}, output ${OUT#"$TOP"/}"
"$TOP/scripts/deps.sh"
for v in "${KERNELS[@]}"; do
	[ -n "${SWIOTLB[$v]:-}" ] || die "BENCH_KERNELS: unknown kernel '$v' (use static, dynamic, reclaim, reclaim-dynamic)"
	stage "bench: kernel $v"
	if [ "${BENCH_BUILD:-1}" = 0 ]; then
		[ -f "$(image_path "$v")" ] || die "BENCH_BUILD=0 but there is no $(image_path "$v")"
		info "$v: BENCH_BUILD=0, using ${BUILD#"$TOP"/}/$(image_path "$v" | sed "s|$BUILD/||") as it is ($(date -r "$(image_path "$v")" '+%F %T'))"
		continue
	fi
	"$TOP/scripts/build-kernel.sh" "$v" >"$BUILD/bench-build-$v.log" 2>&1 ||
		{ tail -n 30 "$BUILD/bench-build-$v.log"; die "kernel $v does not build (build/bench-build-$v.log)"; }
	info "$v: ${BUILD#"$TOP"/}/$(image_path "$v" | sed "s|$BUILD/||") ($(tail -n 1 "$BUILD/bench-build-$v.log" | sed 's/^ *//'))"
done
stage "bench: initramfs"
make -s -C "$TOP" initramfs-only

rm -rf "$RAW"
mkdir -p "$RAW/logs" "$OUT"
# One line per boot: what ran, how long, the host's load while it ran.
echo "run,kernel,workload,cmdline,qemu_extra,verdict,seconds,host_load1" >"$RAW/boots.csv"

# Workloads per run: dma-force (bounce), dma-direct (no bounce), mem.
WORKLOADS=(dma-force dma-direct mem)
# Scale (run 1 only, static and reclaim): one boot per region size. The
# reclaim kernel gets a region of that size; static a plain pool of the
# reclaim kernel's active size, in the same guest. The largest region below
# 4 GiB: q35 keeps all of a guest's RAM below 4 GiB only under 2816 MiB, and
# the region may take 40% of it, so 2800M with swiotlb_overprovision=64:
# the kernel falls back to the largest ratio that fits (17: 1088 MiB).
SCALES=(256 1024 max)
declare -A SCALE_MEM=([256]=768M [1024]=2600M [max]=2800M)
declare -A SCALE_ACTIVE=([256]=8192 [1024]=32768 [max]=32768)
declare -A SCALE_RATIO=([256]=16 [1024]=16 [max]=64)
SCALE_KERNELS=()
for k in static reclaim; do
	[[ " ${KERNELS[*]} " == *" $k "* ]] && SCALE_KERNELS+=("$k")
done
[ "${BENCH_SCALE:-1}" = 1 ] || SCALE_KERNELS=()
total=$((RUNS * ${#KERNELS[@]} * ${#WORKLOADS[@]} + ${#SCALES[@]} * ${#SCALE_KERNELS[@]}))
n=0
failed=0
t_bench0=$(date +%s)
# bench_boot RUN KERNEL WORKLOAD SCENARIO CMDLINE QEMU_EXTRA [MEM]: one boot,
# its console kept as RAW/logs/run<RUN>-<KERNEL>-<WORKLOAD>.log
bench_boot() {
	local run=$1 k=$2 w=$3 scen=$4 cmd=$5 qextra=$6 mem=${7:-} name rc try t0 secs verdict load
	n=$((n + 1))
	name="run$run-$k-$w"
	load=$(cut -d' ' -f1 /proc/loadavg)
	printf '==> [%d/%d] run %d/%d %-15s %-10s ' "$n" "$total" "$run" "$RUNS" "$k" "$w"
	t0=$(date +%s)
	for try in 1 2 3; do
		rc=0
		SCENARIO=$scen VARIANT=$k CMDLINE="$cmd" QEMU_EXTRA="$qextra" MEM=$mem \
			"$TOP/scripts/boot.sh" >"$RAW/logs/$name.out" 2>&1 || rc=$?
		# A TCG guest on a loaded host sometimes fails the early
		# timer check; that is the host, not the kernel: boot again.
		grep -q "IO-APIC + timer doesn't work" "$LOGDIR/$scen.log" || break
		printf '(timer check failed on the loaded host, boot %d) ' $((try + 1))
	done
	secs=$(($(date +%s) - t0))
	cp "$LOGDIR/$scen.log" "$RAW/logs/$name.log"
	verdict=$(cut -d' ' -f1 "$LOGDIR/$scen.result" 2>/dev/null || echo "?")
	echo "$run,$k,$w,\"$cmd\",\"$qextra${mem:+ -m $mem}\",$verdict,$secs,$load" >>"$RAW/boots.csv"
	[ $rc -eq 0 ] || failed=$((failed + 1))
	echo "$(cat "$LOGDIR/$scen.result" 2>/dev/null) (elapsed $(elapsed))"
}
for ((run = 1; run <= RUNS; run++)); do
	for w in "${WORKLOADS[@]}"; do
		for k in "${KERNELS[@]}"; do
			case "$w" in
			dma-force) bench_boot "$run" "$k" "$w" bench-dma "$(force "${SWIOTLB[$k]}") $DMA_ARGS" "-icount shift=$ICOUNT_SHIFT,sleep=off" ;;
			dma-direct) bench_boot "$run" "$k" "$w" bench-dma "${SWIOTLB[$k]} $DMA_ARGS" "-icount shift=$ICOUNT_SHIFT,sleep=off" ;;
			mem) bench_boot "$run" "$k" "$w" bench-mem "$(force "${SWIOTLB[$k]}") $MEM_THP $MEM_ARGS" "$THROTTLE" ;;
			esac
		done
	done
done
# THP off here too: the busy-pick fill goes down to a 48 MiB floor.
for sz in "${SCALES[@]}"; do
	for k in "${SCALE_KERNELS[@]}"; do
		cmd="swiotlb=${SCALE_ACTIVE[$sz]},force"
		[ "$k" = static ] || cmd="$cmd swiotlb_overprovision=${SCALE_RATIO[$sz]}"
		bench_boot 1 "$k" "scale$sz" bench-scale "$cmd $MEM_THP" "" "${SCALE_MEM[$sz]}"
	done
done
info "boots: $(fmt_secs $(($(date +%s) - t_bench0))), $failed of $total failed"

stage "bench: report"
python3 "$TOP/scripts/bench-report.py" --raw "$RAW" --out "$OUT" --runs "$RUNS" \
	--icount-shift "$ICOUNT_SHIFT" ${QUICK:+--quick} --elapsed "$(($(date +%s) - HARNESS_T0))"
info "report: ${OUT#"$TOP"/}/report.md (total $(elapsed))"
[ $failed -eq 0 ] || die "$failed of $total bench boots failed (logs in ${RAW#"$TOP"/}/logs)"
