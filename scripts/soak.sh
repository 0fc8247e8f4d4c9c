#!/usr/bin/env bash
# soak.sh: behind `make soak MINUTES=N`. Boots the quick scenarios that load
# the reclaimable pool (SOAK_SCENARIOS, default "pressure pagecache
# overprovision") in turn on the debug kernel (SOAK_VARIANT, default debug),
# boot after boot, each with a fresh disk, until N minutes have passed. A run
# is only started when its previous duration still fits; the first round
# always runs. Adds up the @@STAT lines the scenarios print (stat_report in
# tests/lib.sh), counts kernel splats in the console logs, and ends with a
# table. Exit status non-zero if a run failed, the kernel complained, or a
# byte read back differently than it was written.
# Console logs: build/soak/<date>/NN-<scenario>.log, table in summary.txt.
# SOAK_NOBUILD=1 boots the images there are without building first; CMDLINE
# and the other boot.sh variables apply to every run.
. "$(dirname "$0")/common.sh"
cd "$TOP"

MINUTES=${MINUTES:-20}
[[ "$MINUTES" =~ ^[0-9]+$ ]] && [ "$MINUTES" -gt 0 ] || die "MINUTES must be a positive number of minutes, not '$MINUTES'"
read -r -a SCEN <<<"${SOAK_SCENARIOS:-pressure pagecache overprovision}"
V=${SOAK_VARIANT:-debug}
for s in "${SCEN[@]}"; do scenario_file "$s" >/dev/null || die "no scenario '$s'"; done

# Kernel complaints, as tests/lib.sh's dmesg_clean sees them (DMESG_BAD
# minus DMESG_BENIGN), plus panics; RCU stalls and hung tasks are only
# reported (TCG on a shared host can starve a vCPU).
SPLAT='BUG:|WARNING:|KASAN|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|DMA-API:|swiotlb buffer is full|Oops|general protection|Kernel panic|list_del corruption|page dumped because'
BENIGN='DMA-API: (preallocated [0-9]+ debug entries|debugging enabled by kernel config)|KASAN: (KernelAddressSanitizer initialized|HW tags)'
STALL='rcu_(preempt|sched) (detected|self-detected) stall|blocked for more than [0-9]+ seconds'
KEYS=(grows shrinks migrated bytes_written bytes_verified mismatched_bytes oom_kills)

stage "soak: ${SCEN[*]} on the $V kernel for $MINUTES min"
if [ -z "${SOAK_NOBUILD:-}" ]; then
	"$TOP/scripts/build-kernel.sh" "$V"
	make -s -C "$TOP" initramfs-only
fi

OUT="$BUILD/soak/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
t_start=$(date +%s)
deadline=$((t_start + MINUTES * 60))

declare -A runs=() pass=() fail=() splats=() stalls=() nostat=() sum=() lastdur=()
problems=()
n=0

# Kernel console lines only: leave out the scenario's own log lines and the
# copy of dmesg that dmesg_clean prints when it fails.
kernel_lines() {
	tr -d '\r' <"$1" | awk '/^---- offending dmesg lines ----/ { skip = 1 } !skip { print } /^---- end ----/ { skip = 0 }' |
		grep -vE '^\[ *[0-9.]+\] [A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+: ' || true
}

run_one() { # run_one SCENARIO
	local s=$1 log rc=0 t0 dur verdict stat k v nspl nstall pid seen=0 lines
	n=$((n + 1))
	log="$OUT/$(printf '%02d' $n)-$s.log"
	printf '\n==> run %d: %s (elapsed %s of %d min)\n' "$n" "$s" "$(fmt_secs $(($(date +%s) - t_start)))" "$MINUTES"
	t0=$(date +%s)
	SCENARIO=$s VARIANT=$V "$TOP/scripts/boot.sh" >"$log.boot" 2>&1 &
	pid=$!
	# Progress: the scenario's phases as they start.
	while kill -0 $pid 2>/dev/null; do
		sleep 5
		lines=$(tr -d '\r' <"$log.boot" | grep -E '^=== phase: |^FAIL: ' || true)
		if [ -n "$lines" ]; then
			echo "$lines" | tail -n +$((seen + 1)) | sed "s/^/    [$(fmt_secs $(($(date +%s) - t0)))] /"
			seen=$(echo "$lines" | wc -l)
		fi
	done
	wait $pid || rc=$?
	dur=$(($(date +%s) - t0))
	lastdur[$s]=$dur
	cp "$LOGDIR/$s.log" "$log" 2>/dev/null || cp "$log.boot" "$log"
	rm -f "$log.boot"
	verdict=$(cat "$LOGDIR/$s.result" 2>/dev/null || echo "rc=$rc")
	runs[$s]=$((${runs[$s]:-0} + 1))
	if [ $rc -eq 0 ]; then pass[$s]=$((${pass[$s]:-0} + 1)); else
		fail[$s]=$((${fail[$s]:-0} + 1))
		problems+=("run $n $s: $verdict ($(tr -d '\r' <"$log" | grep -m1 '^FAIL: ' || echo 'no FAIL line'); ${log#"$TOP"/})")
	fi
	nspl=$(kernel_lines "$log" | grep -E "$SPLAT" | grep -vcE "$BENIGN" || true)
	nstall=$(kernel_lines "$log" | grep -cE "$STALL" || true)
	splats[$s]=$((${splats[$s]:-0} + nspl))
	stalls[$s]=$((${stalls[$s]:-0} + nstall))
	if [ "$nspl" -gt 0 ]; then
		problems+=("run $n $s: $nspl kernel splat line(s), first: $(kernel_lines "$log" | grep -E "$SPLAT" | grep -vE "$BENIGN" | head -n 1 | sed 's/^\[ *[0-9.]*\] //')")
	fi
	[ "$nstall" -eq 0 ] || problems+=("run $n $s: note: $nstall RCU stall / hung task line(s) (not counted as failure)")
	stat=$(tr -d '\r' <"$log" | grep -o "@@STAT $s [^@]*@@" | tail -n 1 | sed "s/^@@STAT $s //; s/@@\$//")
	declare -A one=()
	for kv in $stat; do one[${kv%%=*}]=${kv#*=}; done
	if [ -z "$stat" ]; then
		nostat[$s]=$((${nostat[$s]:-0} + 1))
		[ $rc -ne 0 ] || problems+=("run $n $s: passed but printed no @@STAT line (${log#"$TOP"/})")
	else
		for k in "${KEYS[@]}"; do
			v=${one[$k]:-0}
			[[ "$v" =~ ^[0-9]+$ ]] || v=0
			sum[$s.$k]=$((${sum[$s.$k]:-0} + v))
		done
		if [ "${one[mismatched_bytes]:-0}" != 0 ] || [ "${one[bytes_written]:-0}" != "${one[bytes_verified]:-0}" ]; then
			problems+=("run $n $s: ${one[mismatched_bytes]:-0} mismatched bytes, ${one[bytes_verified]:-0} of ${one[bytes_written]:-0} bytes verified")
		fi
	fi
	printf '    run %d %s: %s; grows %s, shrinks %s, migrated %s, verified %d MiB, OOM kills %s, splats %d\n' \
		"$n" "$s" "$verdict" "${one[grows]:--}" "${one[shrinks]:--}" "${one[migrated]:--}" \
		$((${one[bytes_verified]:-0} >> 20)) "${one[oom_kills]:--}" "$nspl"
}

round=0
while :; do
	round=$((round + 1))
	started=0
	for s in "${SCEN[@]}"; do
		now=$(date +%s)
		[ "$now" -lt "$deadline" ] || break
		if [ $round -gt 1 ] && [ $((now + ${lastdur[$s]:-0})) -gt "$deadline" ]; then
			continue
		fi
		run_one "$s"
		started=1
	done
	[ $started -eq 1 ] && [ "$(date +%s)" -lt "$deadline" ] || break
done

# --- table ------------------------------------------------------------------
mib() { echo $(($1 >> 20)); }
{
	echo "soak: ${SCEN[*]} on the $V kernel, $(fmt_secs $(($(date +%s) - t_start))) (asked: $MINUTES min), logs ${OUT#"$TOP"/}"
	printf '%-14s %5s %5s %5s %9s %6s %7s %13s %13s %10s %5s %6s %6s\n' scenario runs pass fail migrated grows shrinks \
		"written MiB" "verified MiB" mismatched OOMs splats stalls
	tot=()
	for s in "${SCEN[@]}" TOTAL; do
		if [ "$s" = TOTAL ]; then
			r=${tot[0]:-0} p=${tot[1]:-0} f=${tot[2]:-0} m=${tot[3]:-0} g=${tot[4]:-0} sh=${tot[5]:-0}
			w=${tot[6]:-0} vb=${tot[7]:-0} mm=${tot[8]:-0} o=${tot[9]:-0} sp=${tot[10]:-0} st=${tot[11]:-0}
		else
			r=${runs[$s]:-0} p=${pass[$s]:-0} f=${fail[$s]:-0} m=${sum[$s.migrated]:-0} g=${sum[$s.grows]:-0}
			sh=${sum[$s.shrinks]:-0} w=${sum[$s.bytes_written]:-0} vb=${sum[$s.bytes_verified]:-0}
			mm=${sum[$s.mismatched_bytes]:-0} o=${sum[$s.oom_kills]:-0} sp=${splats[$s]:-0} st=${stalls[$s]:-0}
			vals=("$r" "$p" "$f" "$m" "$g" "$sh" "$w" "$vb" "$mm" "$o" "$sp" "$st")
			for i in "${!vals[@]}"; do tot[i]=$((${tot[i]:-0} + vals[i])); done
		fi
		printf '%-14s %5d %5d %5d %9d %6d %7d %13d %13d %10d %5d %6d %6d\n' "$s" "$r" "$p" "$f" "$m" "$g" "$sh" \
			"$(mib "$w")" "$(mib "$vb")" "$mm" "$o" "$sp" "$st"
	done
	echo
	if [ ${#problems[@]} -eq 0 ]; then
		echo "nothing went wrong"
	else
		echo "what went wrong:"
		printf '  %s\n' "${problems[@]}"
	fi
} >"$OUT/summary.txt"
echo
cat "$OUT/summary.txt"

bad=$((${tot[2]:-0} + ${tot[10]:-0} + ${tot[8]:-0}))
[ "${tot[6]:-0}" -eq "${tot[7]:-0}" ] || bad=$((bad + 1))
[ "${tot[0]:-0}" -gt 0 ] || bad=$((bad + 1))
stage "soak: $n run(s), $([ $bad -eq 0 ] && echo OK || echo FAILED)"
[ $bad -eq 0 ]
