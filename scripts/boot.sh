#!/usr/bin/env bash
# boot.sh: boot a kernel image under QEMU TCG and run one scenario.
#
# Environment: SCENARIO (default smoke), VARIANT/DEBUG, CMDLINE (appended),
# MEM, TIMEOUT (override the scenario's "# mem:" / "# timeout:" headers),
# DISK_SIZE (default 512M), ICOUNT=1 (deterministic guest time:
# -icount shift=0,sleep=off), QEMU_EXTRA (extra QEMU arguments),
# CONSOLE_FILTER (a marker, e.g. "@@SAY "; when set, the terminal shows only
# the console lines holding it, from after the marker, FAIL lines and a
# kernel panic; the log keeps everything).
#
# Exit status: 0 when the guest reported "@@SCENARIO-EXIT <name> 0@@";
# the scenario's rc when it failed; 124 on TIMEOUT; 125 on a kernel panic;
# 126 when the guest died without reporting. The verdict is also written to
# build/logs/<scenario>.result (ARCH=arm64: build/arm64/logs/).
. "$(dirname "$0")/common.sh"

SCENARIO=${SCENARIO:-smoke}
SFILE=$(scenario_file "$SCENARIO") ||
	die "no scenario '$SCENARIO' in tests/scenarios/ or tests/harness/ (have: $(cd "$TOP/tests" && ls scenarios harness | grep -v ':$' | tr '\n' ' '))"

hdr() { scenario_header "$SFILE" "$1"; }
if [ -z "${VARIANT:-}" ] && [ -z "${DEBUG:-}" ] && [ -n "$(hdr variant)" ]; then
	VARIANT=$(hdr variant)
fi
VARIANT=$(resolve_variant)
MEM=${MEM:-$(hdr mem)}
MEM=${MEM:-768M}
TIMEOUT=${TIMEOUT:-$(hdr timeout)}
TIMEOUT=${TIMEOUT:-600}
DISK_SIZE=${DISK_SIZE:-512M}
IMG=$(image_path "$VARIANT")
INITRD="$ABUILD/initramfs.cpio.gz"
TOOLS_IMG="$ABUILD/tools.img" # stress-ng, fio + libraries; /dev/vdb, no iommu_platform
LOG="$LOGDIR/$SCENARIO.log"
RESULT="$LOGDIR/$SCENARIO.result"
DISK="$ABUILD/disk-$SCENARIO.img"

[ -f "$IMG" ] || die "no kernel image ${IMG#"$TOP"/}: run 'make kernel ARCH=$ARCH VARIANT=$VARIANT' first"
[ -f "$INITRD" ] && [ -f "$TOOLS_IMG" ] || die "no ${INITRD#"$TOP"/} or ${TOOLS_IMG#"$TOP"/}: run 'make initramfs ARCH=$ARCH' first"
mkdir -p "$LOGDIR"

# The machine: x86_64 is a q35 PC (8250 UART, ACPI); arm64 the virt board
# (PL011 UART, device tree, PSCI poweroff, GICv2 with the v2m MSI frame) with
# -cpu max. pauth-impdef=on: QEMU's default pointer-authentication
# algorithm (QARMA5) costs TCG far more than the implementation-defined one;
# the guest cannot tell the difference.
# no_timer_check: under TCG on a loaded host the IO-APIC timer check at boot
# can fail ("IO-APIC + timer doesn't work!") and panic a healthy kernel.
if [ "$ARCH" = arm64 ]; then
	MACHINE=(qemu-system-aarch64 -accel tcg -M virt -cpu max,pauth-impdef=on)
	ARCH_APPEND="console=ttyAMA0"
else
	MACHINE=(qemu-system-x86_64 -accel tcg -M q35)
	ARCH_APPEND="console=ttyS0 no_timer_check"
fi
APPEND="$ARCH_APPEND panic=-1 scenario=$SCENARIO $(hdr cmdline) $(variant_cmdline "$VARIANT") ${CMDLINE:-}"
APPEND=$(echo "$APPEND" | tr -s ' ' | sed 's/ $//')

rm -f "$DISK"
truncate -s "$DISK_SIZE" "$DISK"
CACHE=none
if ! dd if=/dev/zero of="$DISK" bs=4096 count=1 oflag=direct conv=notrunc 2>/dev/null; then
	warn "the host filesystem of build/ does not support O_DIRECT; using cache=writeback for the disk"
	CACHE=writeback
fi

QEMU=("${MACHINE[@]}" -smp 2 -m "$MEM" -nographic -no-reboot
	-kernel "$IMG" -initrd "$INITRD" -append "$APPEND"
	-drive "file=$DISK,if=none,id=d0,format=raw,cache=$CACHE"
	-device virtio-blk-pci,drive=d0,iommu_platform=on,disable-legacy=on,serial=scratch
	-drive "file=$TOOLS_IMG,if=none,id=tools,format=raw,readonly=on"
	-device virtio-blk-pci,drive=tools,serial=mswtools
	-nic none -device e1000,romfile=)
# "# nvme: SIZE" adds a fresh NVMe disk (/dev/nvme0n1): NVMe sets a DMA
# min_align_mask, so its unmaps carry sub-slot offsets into swiotlb.
NVME_SIZE=$(hdr nvme)
if [ -n "$NVME_SIZE" ]; then
	NVME_DISK="$ABUILD/disk-$SCENARIO-nvme.img"
	rm -f "$NVME_DISK"
	truncate -s "$NVME_SIZE" "$NVME_DISK"
	QEMU+=(-drive "file=$NVME_DISK,if=none,id=nvm,format=raw,cache=$CACHE"
		-device nvme,serial=mswnvme,drive=nvm)
fi
# "# qemu: ARGS": extra QEMU arguments the scenario needs (machine layout).
# shellcheck disable=SC2206
QEMU+=($(hdr qemu))
case "${ICOUNT:-}" in 1 | y | yes) QEMU+=(-icount shift=0,sleep=off) ;; esac
# shellcheck disable=SC2206
[ -n "${QEMU_EXTRA:-}" ] && QEMU+=(${QEMU_EXTRA})

stage "boot: scenario $SCENARIO, $ARCH variant $VARIANT (${IMG#"$TOP"/}), mem $MEM, timeout ${TIMEOUT}s"
info "cmdline: $APPEND"
info "log: ${LOG#"$TOP"/}"
echo "\$ ${QEMU[*]}" >"$LOG"

# The console as it comes, or only what the scenario narrates: kernel
# messages between the narrated lines would bury them.
show() {
	local line
	if [ -z "${CONSOLE_FILTER:-}" ]; then
		cat
		return
	fi
	while IFS= read -r line; do
		line=${line%$'\r'}
		case "$line" in
		*"$CONSOLE_FILTER"*) printf '%s\n' "${line#*"$CONSOLE_FILTER"}" ;;
		FAIL:* | *"Kernel panic"*) printf '%s\n' "$line" ;;
		esac
	done
}

t0=$(date +%s)
set +e
# stdin from /dev/null: QEMU must never wait for (or grab) the terminal.
timeout --foreground -k 10 "$TIMEOUT" "${QEMU[@]}" </dev/null 2>&1 | tee -a "$LOG" | show
qrc=${PIPESTATUS[0]}
set -e
secs=$(($(date +%s) - t0))

marker=$(tr -d '\r' <"$LOG" | sed -n "s/.*@@SCENARIO-EXIT $SCENARIO \(-\{0,1\}[0-9]\{1,\}\)@@.*/\1/p" | tail -n 1)
panic=$(tr -d '\r' <"$LOG" | grep -m1 'Kernel panic - not syncing' || true)

if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
	verdict="TIMEOUT after ${TIMEOUT}s (QEMU killed)"
	rc=124
elif [ -n "$panic" ]; then
	verdict="KERNEL PANIC: ${panic#*] }"
	rc=125
elif [ -z "$marker" ]; then
	verdict="NO EXIT MARKER: guest died or QEMU failed (qemu rc=$qrc)"
	rc=126
elif [ "$marker" -ne 0 ]; then
	# The first FAIL line names the check: CI shows only the summary
	why=$(tr -d '\r' <"$LOG" | grep -m1 '^FAIL: ' | cut -c7-206 || true)
	verdict="FAILED: scenario exited with rc=$marker${why:+: $why}"
	rc=$((marker & 255))
	[ $rc -ne 0 ] || rc=1
else
	verdict="PASSED"
	rc=0
fi
echo "$verdict (${secs}s)" >"$RESULT"
# A passed scenario's disk holds nothing worth keeping, and eleven of them
# add up to over a gigabyte; a failed one's stays for a look (KEEP_DISK=1
# keeps every one).
if [ $rc -eq 0 ] && [ -z "${KEEP_DISK:-}" ]; then rm -f "$DISK" "${NVME_DISK:-}"; fi
# Informational: kernel complaints the scenario may not have checked for.
ncomplaints=$(tr -d '\r' <"$LOG" | grep -cE '(BUG:|WARNING:|Oops|general protection|KASAN)' || true)
[ "$ncomplaints" -eq 0 ] || echo "note: the console log has $ncomplaints BUG/WARNING/Oops/KASAN line(s); see ${LOG#"$TOP"/}"
echo
echo "==> boot: scenario $SCENARIO ($ARCH $VARIANT): $verdict in $(fmt_secs $secs) (log: ${LOG#"$TOP"/})"
exit $rc
