# shellcheck shell=sh
# Guest helper library for scenarios (busybox sh). In the guest it lives at
# /tests/lib.sh; a scenario starts with:   . "${TESTLIB:-/tests/lib.sh}"
#
#   phase NAME            start a phase: prints "=== phase: NAME ==="
#   log MSG...            "[  12.34] scenario/phase: MSG"
#   fail MSG...           "FAIL: MSG", exit 1
#   check 'COND' MSG...   eval COND; fail MSG when false, "ok: MSG" when true
#   dmesg_clean           fail if dmesg shows a kernel bug/warning/DMA error
#   verify_io MIB [OFF_MIB] [direct|buffered]
#                         write MIB MiB of random data to $VERIFY_DEV (/dev/vda)
#                         at OFF_MIB, drop caches, read back (O_DIRECT), compare
#   sample_stats [FILE]   append pagetypeinfo/vmstat/debugfs swiotlb to FILE
#                         (default /tmp/stats.log), print a one-line summary
#   swiotlb_get NAME      value of /sys/kernel/debug/swiotlb/NAME ("" if absent)
#   swiotlb_wait_lent [SECS]
#                         wait until boot has lent the whole region (debugfs
#                         io_tlb_withheld_nslabs is 0; boot lends 64 MiB at
#                         core_initcall, a worker the rest); fail after SECS
#                         (default 60). Sourcing this file does it once
#   swiotlb_lent_at_boot_mib
#                         MiB lent at boot: the boot part plus the background
#                         part, from their boot messages
#   swiotlb_region        "START END" of the overprovisioned region in bytes
#                         (decimal, END exclusive), from its boot message; ""
#                         if there is none
#   vmstat_get NAME       value of NAME in /proc/vmstat ("" if absent)
#   meminfo_kb NAME       value of NAME (MemFree, MemAvailable, ...) in
#                         /proc/meminfo, in kB
#   zone_get ZONE FIELD   first value of FIELD (min, nr_free_pages, ...) in
#                         ZONE's block of /proc/zoneinfo
#   REGION_ZONE           the zone the default swiotlb region lands in
#                         (DMA32 on x86_64, DMA on arm64)
#   zone_swiotlb_blocks [ZONE]
#                         Swiotlb pageblocks of ZONE (all zones if none) in
#                         /proc/pagetypeinfo's "Number of blocks type"
#   node_zone_get NODE ZONE FIELD
#                         as zone_get, for ZONE of node NODE ("free" is the
#                         "pages free" line)
#   node_swiotlb_blocks NODE
#                         Swiotlb pageblocks of all zones of node NODE
#   swiotlb_grow_to SLOTS make the worker grow the pool until SLOTS slots are
#                         free: saves the watermarks in WMARK_LOW0/WMARK_HIGH0,
#                         then sets high = SLOTS and low = SLOTS - 1 (high first:
#                         low must stay below it), so every mapping kicks it
#   swiotlb_wmarks_restore
#                         put back the watermarks swiotlb_grow_to saved (low
#                         first, for the same reason)
#   hold_start NAME       start numahold (tests/guest/src/numahold.c) as NAME, with
#                         the region's bounds (swiotlb_region); its pid is in
#                         HOLD_PID_<NAME>
#   hold_cmd NAME SECS COMMAND...
#                         send NAME a command, wait up to SECS for its reply
#                         line ("done N COMMAND key=value..."), keep it in
#                         HOLD_LAST; fail if none comes
#   hold_val KEY          KEY's value in HOLD_LAST
#   dma_bench_bind        bind the spare e1000 to dma_map_benchmark (then run
#                         /usr/bin/dma_map_benchmark -t 1 -s 2 ...)
#   stat_report [KEY=VALUE...]
#                         print "@@STAT <scenario> grows=.. shrinks=.. migrated=..
#                         grow_fails=.. oom_kills=.. bytes_written=.. bytes_verified=..
#                         KEY=VALUE..@@" on a line of its own (make soak adds these
#                         up; a KEY given twice counts with its last value).
#                         bytes_*: what verify_io wrote and read back equal, plus
#                         IO_WRITTEN / IO_VERIFIED the scenario adds itself
#   emit_block TAG NAME FILE
#                         FILE, gzip+base64, between "@@TAG-BEGIN NAME" and
#                         "@@TAG-END NAME" lines: how a scenario hands data to
#                         the host (scripts/consolelog.py reads it back)

SCENARIO=${SCENARIO:-$(basename "$0")}
PHASE=${PHASE:-start}
VERIFY_DEV=${VERIFY_DEV:-/dev/vda}
SWIOTLB_DBG=/sys/kernel/debug/swiotlb
IO_WRITTEN=0
IO_VERIFIED=0

# The default swiotlb pool is allocated below the architecture's low-memory
# limit: on x86_64 that is 4 GiB, ZONE_DMA32 (ZONE_DMA is the first 16 MiB);
# on arm64 it is the top of ZONE_DMA, which covers what the platform's
# devices can address (on QEMU's virt board, every byte of a guest under
# 4 GiB; ZONE_DMA32 is then empty).
case "$(uname -m)" in
aarch64) REGION_ZONE=DMA ;;
*) REGION_ZONE=DMA32 ;;
esac

uptime_s() { cut -d' ' -f1 /proc/uptime; }

log() { printf '[%8s] %s/%s: %s\n' "$(uptime_s)" "$SCENARIO" "$PHASE" "$*"; }

phase() {
	PHASE=$1
	echo "=== phase: $1 ==="
}

fail() {
	echo "FAIL: $*"
	exit 1
}

check() {
	_cond=$1
	shift
	if eval "$_cond"; then
		log "ok: $*"
	else
		fail "$* (check failed: $_cond)"
	fi
}

# Patterns that mean the kernel is unhappy. DMESG_IGNORE (an extended
# regex) can whitelist known-benign lines for one scenario.
DMESG_BAD='BUG:|WARNING:|KASAN|possible circular locking|DMA-API:|swiotlb buffer is full|Oops|general protection'
# DMA-API debug prints these at boot; they are not errors.
DMESG_BENIGN='DMA-API: (preallocated [0-9]+ debug entries|debugging enabled by kernel config)|KASAN: (KernelAddressSanitizer initialized|HW tags)'
# On a KCSAN kernel (VARIANT=kcsan) the host collects and judges the data-race
# reports of the whole run (scripts/kcsan.sh); scenarios check the rest.
[ -e /sys/kernel/debug/kcsan ] && DMESG_BENIGN="$DMESG_BENIGN|BUG: KCSAN: "

dmesg_clean() {
	_bad=$(dmesg | grep -E "$DMESG_BAD" | grep -vE "$DMESG_BENIGN" |
		{ if [ -n "${DMESG_IGNORE:-}" ]; then grep -vE "$DMESG_IGNORE"; else cat; fi; } || true)
	if [ -n "$_bad" ]; then
		echo "---- offending dmesg lines ----"
		echo "$_bad" | head -40
		echo "---- end ----"
		fail "dmesg is not clean ($(echo "$_bad" | wc -l) bad line(s))"
	fi
	log "ok: dmesg clean"
}

drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

verify_io() {
	_mib=$1
	_off=${2:-0}
	_mode=${3:-direct}
	_pat=/tmp/.verify_io.$$
	case "$_mode" in
	direct) _oflag=oflag=direct ;;
	buffered) _oflag= ;;
	*) fail "verify_io: mode must be direct or buffered, not '$_mode'" ;;
	esac
	[ -b "$VERIFY_DEV" ] || fail "verify_io: $VERIFY_DEV is not a block device"
	head -c $((_mib * 1048576)) /dev/urandom >"$_pat" || fail "verify_io: cannot create pattern"
	IO_WRITTEN=$((IO_WRITTEN + _mib * 1048576))
	_want=$(md5sum <"$_pat" | cut -d' ' -f1)
	# shellcheck disable=SC2086
	dd if="$_pat" of="$VERIFY_DEV" bs=1M seek="$_off" count="$_mib" $_oflag conv=notrunc,fsync 2>/tmp/.dd.err ||
		{ cat /tmp/.dd.err; rm -f "$_pat"; fail "verify_io: write of $_mib MiB ($_mode) at $_off MiB failed"; }
	drop_caches
	_got=$(dd if="$VERIFY_DEV" bs=1M skip="$_off" count="$_mib" iflag=direct 2>/tmp/.dd.err | md5sum | cut -d' ' -f1)
	rm -f "$_pat"
	[ "$_got" = "$_want" ] ||
		{ cat /tmp/.dd.err; fail "verify_io: data mismatch after $_mode write of $_mib MiB at $_off MiB ($_got != $_want)"; }
	IO_VERIFIED=$((IO_VERIFIED + _mib * 1048576))
	log "verify_io: $_mode: verified $((_mib * 1048576)) bytes at offset ${_off} MiB of $VERIFY_DEV (md5 $_want)"
}

swiotlb_region() {
	_r=$(dmesg | sed -n 's/.*swiotlb_overprovision: .* to lend \[mem \(0x[0-9a-f]*\)-\(0x[0-9a-f]*\)\].*/\1 \2/p' | tail -n 1)
	[ -z "$_r" ] || echo "$((${_r% *})) $((${_r#* } + 1))"
}

swiotlb_get() { cat "$SWIOTLB_DBG/$1" 2>/dev/null || true; }

swiotlb_wait_lent() {
	_w=0
	# Absent (no lending pool, another kernel): nothing to wait for
	while [ "$(swiotlb_get io_tlb_withheld_nslabs)" -gt 0 ] 2>/dev/null; do
		[ $_w -lt $((${1:-60} * 10)) ] ||
			fail "boot lending not done after ${1:-60} s ($(swiotlb_get io_tlb_withheld_nslabs) slots withheld)"
		sleep 0.1
		_w=$((_w + 1))
	done
	[ $_w -eq 0 ] || log "waited $((_w / 10)).$((_w % 10)) s for boot lending to finish"
}

swiotlb_lent_at_boot_mib() {
	dmesg | sed -n -e 's/.*swiotlb_overprovision: lent \([0-9]*\) MiB to the page allocator in .*/\1/p' \
		-e 's/.*swiotlb_overprovision: lent \([0-9]*\) MiB more to the page allocator in .*/\1/p' |
		awk '{ n += $1 } END { print n + 0 }'
}

vmstat_get() { awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat; }

meminfo_kb() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

zone_get() {
	awk -v z="$1" -v f="$2" '/^Node/ { zone = $4 } zone == z && $1 == f { print $2; exit }' /proc/zoneinfo
}

zone_swiotlb_blocks() {
	awk -v z="${1:-}" '/^Number of blocks type/ { for (i = 1; i <= NF; i++) if ($i == "Swiotlb") col = i }
	     /^Node .* zone/ && !/, type / && col && (z == "" || $4 == z) { n += $col } END { print n + 0 }' /proc/pagetypeinfo
}

node_zone_get() {
	awk -v n="$1," -v z="$2" -v f="$3" '/^Node/ { node = $2; zone = $4; next }
	     node == n && zone == z && ($1 == f || ($1 == "pages" && $2 == f)) { print $NF; exit }' /proc/zoneinfo
}

node_swiotlb_blocks() {
	awk -v n="$1," '/^Number of blocks type/ { for (i = 1; i <= NF; i++) if ($i == "Swiotlb") col = i }
	     /^Node .* zone/ && !/, type / && col && $2 == n { c += $col } END { print c + 0 }' /proc/pagetypeinfo
}

swiotlb_grow_to() {
	WMARK_LOW0=$(swiotlb_get io_tlb_low_wmark)
	WMARK_HIGH0=$(swiotlb_get io_tlb_high_wmark)
	echo "$1" >"$SWIOTLB_DBG/io_tlb_high_wmark" || fail "cannot raise io_tlb_high_wmark to $1"
	echo $(($1 - 1)) >"$SWIOTLB_DBG/io_tlb_low_wmark" || fail "cannot raise io_tlb_low_wmark to $(($1 - 1))"
}

swiotlb_wmarks_restore() {
	echo "$WMARK_LOW0" >"$SWIOTLB_DBG/io_tlb_low_wmark" || fail "cannot restore io_tlb_low_wmark to $WMARK_LOW0"
	echo "$WMARK_HIGH0" >"$SWIOTLB_DBG/io_tlb_high_wmark" || fail "cannot restore io_tlb_high_wmark to $WMARK_HIGH0"
}

sample_stats() {
	_f=${1:-/tmp/stats.log}
	_t=$(uptime_s)
	{
		echo "### sample t=$_t scenario=$SCENARIO phase=$PHASE"
		echo "## /proc/pagetypeinfo"
		cat /proc/pagetypeinfo 2>/dev/null
		echo "## /proc/vmstat"
		cat /proc/vmstat
		for _x in "$SWIOTLB_DBG"/*; do
			[ -f "$_x" ] || continue
			echo "## $_x"
			cat "$_x" 2>/dev/null
		done
	} >>"$_f"
	_line="stats t=$_t free_kb=$(awk '/^MemFree:/ { print $2 }' /proc/meminfo)"
	for _k in nr_free_pages nr_free_swiotlb pgmigrate_success pgmigrate_fail compact_stall; do
		_v=$(vmstat_get "$_k")
		[ -n "$_v" ] && _line="$_line $_k=$_v"
	done
	for _x in "$SWIOTLB_DBG"/*; do
		[ -f "$_x" ] || continue
		_v=$(head -c 64 "$_x" 2>/dev/null | head -n 1)
		_line="$_line $(basename "$_x")=$_v"
	done
	log "$_line"
}

# numahold: a command FIFO and a reply file per instance in /tmp
hold_start() {
	_r=$(swiotlb_region)
	[ -n "$_r" ] || fail "hold_start: no swiotlb region in dmesg"
	rm -f "/tmp/$1.in" "/tmp/$1.out"
	mkfifo "/tmp/$1.in"
	numahold -r "$((${_r% *} >> 12)):$((${_r#* } >> 12))" -i "/tmp/$1.in" -o "/tmp/$1.out" &
	eval "HOLD_PID_$1=$!"
	eval "HOLD_SEQ_$1=0"
	_i=0
	while [ $_i -lt 50 ] && ! grep -q "^ready" "/tmp/$1.out" 2>/dev/null; do
		sleep 0.2
		_i=$((_i + 1))
	done
	grep -q "^ready" "/tmp/$1.out" 2>/dev/null || fail "numahold $1 did not start"
}

hold_cmd() {
	_n=$1
	_t=$2
	shift 2
	eval "_seq=\$((HOLD_SEQ_$_n + 1)); HOLD_SEQ_$_n=\$_seq"
	echo "$*" >"/tmp/$_n.in"
	_i=0
	while [ $_i -lt $((_t * 5)) ]; do
		grep -q "^done $_seq " "/tmp/$_n.out" && break
		grep -q "^error" "/tmp/$_n.out" && break
		sleep 0.2
		_i=$((_i + 1))
	done
	HOLD_LAST=$(grep "^done $_seq " "/tmp/$_n.out")
	[ -n "$HOLD_LAST" ] || { cat "/tmp/$_n.out"; fail "numahold $_n: '$*' did not finish in ${_t}s"; }
	log "numahold $_n: $HOLD_LAST"
}

hold_val() { echo "$HOLD_LAST" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# dma_bench_bind: bind the spare driverless PCI device QEMU provides
# (-device e1000, 8086:100e) to the dma_map_benchmark driver through
# driver_override, so /sys/kernel/debug/dma_map_benchmark exists.
dma_bench_bind() {
	[ -e /sys/kernel/debug/dma_map_benchmark ] && return 0
	[ -d /sys/bus/pci/drivers/dma_map_benchmark ] || fail "dma_bench_bind: no dma_map_benchmark driver (CONFIG_DMA_MAP_BENCHMARK)"
	for _d in /sys/bus/pci/devices/*; do
		[ -e "$_d/driver" ] && continue
		[ "$(cat "$_d/vendor")" = 0x8086 ] && [ "$(cat "$_d/device")" = 0x100e ] || continue
		echo dma_map_benchmark >"$_d/driver_override"
		echo "${_d##*/}" >/sys/bus/pci/drivers/dma_map_benchmark/bind 2>/dev/null || true
		if [ -e /sys/kernel/debug/dma_map_benchmark ]; then
			log "dma_bench_bind: ${_d##*/} bound to dma_map_benchmark"
			return 0
		fi
	done
	fail "dma_bench_bind: no driverless e1000 (8086:100e) could be bound"
}

stat_report() {
	_n() { _v=$(swiotlb_get "$1"); echo "${_v:-0}"; }
	_o=$(vmstat_get oom_kill)
	echo
	echo "@@STAT $SCENARIO grows=$(_n io_tlb_grow_count) shrinks=$(_n io_tlb_shrink_count)" \
		"migrated=$(_n io_tlb_grow_pages_migrated) grow_fails=$(_n io_tlb_grow_fail_count)" \
		"oom_kills=${_o:-0} bytes_written=$IO_WRITTEN bytes_verified=$IO_VERIFIED $*@@"
}

emit_block() {
	[ -f "$3" ] || fail "emit_block: no file $3"
	echo "@@$1-BEGIN $2"
	gzip -c "$3" | base64
	echo "@@$1-END $2"
}

# Every scenario looks at the lent area (pagetypeinfo, nr_free_swiotlb,
# io_tlb_lent_nslabs, SwiotlbLent) from its first lines: the part boot left
# to the worker must be lent by then.
swiotlb_wait_lent
