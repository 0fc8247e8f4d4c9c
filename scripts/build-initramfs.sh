#!/usr/bin/env bash
# build-initramfs.sh: build/initramfs.cpio.gz for the test guest
# (ARCH=arm64: build/arm64/initramfs.cpio.gz and build/arm64/tools.img, with
# Debian's arm64 binaries from scripts/arm64-userland.sh and the helpers
# built with the cross compiler).
#   /init                  tests/guest/init
#   /tests/lib.sh          tests/lib.sh (guest helper library)
#   /scenarios/*           tests/scenarios/*, tests/harness/* and tests/bench/*
#   /bin/busybox + applet symlinks (busybox-static)
#   /usr/bin/stress-ng, /usr/bin/fio + their shared libraries and ld.so
#   /usr/bin/dma_map_benchmark (static, from the kernel tree's selftests)
#
# stress-ng and fio are Debian's dynamically linked binaries; with their
# libraries (fio pulls in ceph, gluster, ICU...) they are ~95 MiB, which in
# the initramfs would sit in tmpfs for the whole run and, on a 512M guest
# with a large swiotlb, no longer even unpack. So by default the binaries,
# libraries and ld.so go on a read-only ext2 image, build/tools.img, that
# boot.sh attaches as a second virtio disk *without* iommu_platform (its
# I/O never touches swiotlb) and /init mounts at /opt/tools; the initramfs
# holds symlinks at the usual paths (/usr/bin/fio, /lib/x86_64-linux-gnu/...,
# /lib64/ld-linux-x86-64.so.2), so the tools run unchanged. Their pages are
# then ordinary, reclaimable page cache. TOOLS_IN_INITRAMFS=1 puts the real
# files in the initramfs instead.
. "$(dirname "$0")/common.sh"
lock_src

OUT="$ABUILD/initramfs.cpio.gz"
TOOLS="$ABUILD/tools"
CC_GUEST="${CROSS}gcc"
mkdir -p "$TOOLS"
stage "initramfs: building ${OUT#"$TOP"/}"

# Kernel-tree helpers (the patched tree; prepared on demand).
if [ ! -f "$KTREE/tools/testing/selftests/dma/dma_map_benchmark.c" ]; then
	"$TOP/scripts/prepare-src.sh" reclaim
fi

# The guest's userland: the host's own Debian binaries on x86_64; Debian's
# arm64 packages, unpacked into a sysroot, on arm64. GUEST_ROOT prefixes
# guest paths to find the file on the host.
if [ "$ARCH" = arm64 ]; then
	"$TOP/scripts/arm64-userland.sh"
	GUEST_ROOT="$ABUILD/sysroot"
else
	GUEST_ROOT=
fi
# tool_libs GUESTPATH: the dynamic loader and shared libraries the tool
# needs, as guest paths.
tool_libs() {
	if [ -n "$GUEST_ROOT" ]; then
		cat "$GUEST_ROOT/.libs-$(basename "$1")"
	else
		ldd "$1" | awk '/=> \// { print $3 } /^[[:space:]]*\/[^ ]*ld-linux/ { print $1 }'
	fi
}

# gen_init_cpio (a host tool) lets us create /dev/console without being root.
if [ ! -x "$TOOLS/gen_init_cpio" ] || [ "$KTREE/usr/gen_init_cpio.c" -nt "$TOOLS/gen_init_cpio" ]; then
	gcc -O2 -o "$TOOLS/gen_init_cpio" "$KTREE/usr/gen_init_cpio.c"
fi

BENCH_SRC="$KTREE/tools/testing/selftests/dma/dma_map_benchmark.c"
if [ ! -x "$TOOLS/dma_map_benchmark" ] || [ "$BENCH_SRC" -nt "$TOOLS/dma_map_benchmark" ] ||
	[ "$KTREE/include/linux/map_benchmark.h" -nt "$TOOLS/dma_map_benchmark" ]; then
	info "building dma_map_benchmark (static) from ${KTREE#"$TOP"/}"
	"$CC_GUEST" -static -O2 -Wall -D__EXPORTED_HEADERS__ -I "$KTREE/include/uapi" -I "$KTREE/include" \
		-o "$TOOLS/dma_map_benchmark" "$BENCH_SRC" ||
		die "dma_map_benchmark does not build with -I include/uapi -I include"
fi

# Our own guest helpers: tests/guest/src/NAME.c -> /usr/bin/NAME (static);
# a change to a shared header there rebuilds them all.
for src in "$TOP"/tests/guest/src/*.c; do
	[ -f "$src" ] || continue
	bin="$TOOLS/$(basename "$src" .c)"
	newer_hdr=
	[ -x "$bin" ] && newer_hdr=$(find "$TOP/tests/guest/src" -name '*.h' -newer "$bin")
	if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ] || [ -n "$newer_hdr" ]; then
		info "building $(basename "$bin") (static) from ${src#"$TOP"/}"
		"$CC_GUEST" -static -O2 -Wall -Werror -o "$bin" "$src" || die "guest helper ${src#"$TOP"/} does not build"
	fi
done

LIST=$(mktemp)
trap 'rm -f "$LIST"' EXIT
declare -A seen=()
add_dir() { # add_dir /a/b/c: every missing parent, once
	local d=$1 parts="" p
	IFS=/ read -ra comps <<<"${d#/}"
	for p in "${comps[@]}"; do
		parts="$parts/$p"
		[ -n "${seen[$parts]:-}" ] && continue
		seen[$parts]=1
		echo "dir $parts 0755 0 0" >>"$LIST"
	done
}
add_file() { # add_file GUESTPATH HOSTPATH MODE
	[ -n "${seen[$1]:-}" ] && return 0
	seen[$1]=1
	add_dir "$(dirname "$1")"
	echo "file $1 $(readlink -f "$2") $3 0 0" >>"$LIST"
}
add_link() { # add_link GUESTPATH TARGET
	[ -n "${seen[$1]:-}" ] && return 0
	seen[$1]=1
	add_dir "$(dirname "$1")"
	echo "slink $1 $2 0777 0 0" >>"$LIST"
}

for d in /proc /sys /dev /tmp /root /etc /mnt /run /var /scenarios /tests /usr/sbin /sbin; do add_dir "$d"; done
echo "nod /dev/console 0600 0 0 c 5 1" >>"$LIST"
echo "nod /dev/null 0666 0 0 c 1 3" >>"$LIST"

# busybox + applets
BB=$GUEST_ROOT/bin/busybox # busybox-static's; the busybox package would be dynamic
[ -x "$BB" ] || die "busybox-static is not installed (make deps)"
add_file /bin/busybox "$BB" 0755
n=0
# The applet list comes from the host's busybox-static (the arm64 binary
# cannot run here); both are the same Debian source and configuration.
for a in $(/bin/busybox --list-full); do
	[ "$a" = bin/busybox ] && continue
	add_link "/$a" /bin/busybox
	n=$((n + 1))
done
info "busybox: $n applets"

# dynamically linked Debian tools + their libraries + the dynamic loader
TOOLS_ROOT="$ABUILD/tools-root"
TOOLS_IMG="$ABUILD/tools.img"
rm -rf "$TOOLS_ROOT"
mkdir -p "$TOOLS_ROOT/bin" "$TOOLS_ROOT/lib"
add_dir /opt/tools
for tool in stress-ng fio; do
	if [ -n "$GUEST_ROOT" ]; then
		p="$GUEST_ROOT/usr/bin/$tool"
	else
		p=$(command -v "$tool") || die "$tool is not installed (make deps)"
	fi
	if [ -n "${TOOLS_IN_INITRAMFS:-}" ]; then
		add_file "/usr/bin/$tool" "$p" 0755
	else
		cp -L "$p" "$TOOLS_ROOT/bin/$tool"
		add_link "/usr/bin/$tool" "/opt/tools/bin/$tool"
	fi
	while read -r lib; do
		if [ -n "${TOOLS_IN_INITRAMFS:-}" ]; then
			add_file "$lib" "$GUEST_ROOT$lib" 0755
		else
			cp -L "$GUEST_ROOT$lib" "$TOOLS_ROOT/lib/$(basename "$lib")"
			add_link "$lib" "/opt/tools/lib/$(basename "$lib")"
		fi
	done < <(tool_libs "$p")
done
# The image is always built (boot.sh always attaches it); with
# TOOLS_IN_INITRAMFS=1 it is just not used.
kib=$(du -sk "$TOOLS_ROOT" | cut -f1)
rm -f "$TOOLS_IMG.tmp"
mke2fs -q -F -t ext2 -m 0 -L mswtools -d "$TOOLS_ROOT" "$TOOLS_IMG.tmp" "$((kib + kib / 5 + 8192))k" >/dev/null ||
	die "mke2fs -d failed (e2fsprogs >= 1.43 needed)"
mv "$TOOLS_IMG.tmp" "$TOOLS_IMG"
info "tools: stress-ng, fio + $(ls "$TOOLS_ROOT/lib" | wc -l) libraries ($((kib / 1024)) MiB) in" \
	"$([ -n "${TOOLS_IN_INITRAMFS:-}" ] && echo "the initramfs" || echo "${TOOLS_IMG#"$TOP"/} (mounted at /opt/tools)")"
add_file /usr/bin/dma_map_benchmark "$TOOLS/dma_map_benchmark" 0755
for src in "$TOP"/tests/guest/src/*.c; do
	[ -f "$src" ] && add_file "/usr/bin/$(basename "$src" .c)" "$TOOLS/$(basename "$src" .c)" 0755
done

# harness files
add_file /init "$TOP/tests/guest/init" 0755
add_file /tests/lib.sh "$TOP/tests/lib.sh" 0644
for s in "$TOP"/tests/scenarios/* "$TOP"/tests/harness/* "$TOP"/tests/bench/*; do
	[ -f "$s" ] || continue
	add_file "/scenarios/$(basename "$s")" "$s" 0755
done
echo "root:x:0:0:root:/root:/bin/sh" >"$TOOLS/passwd"
add_file /etc/passwd "$TOOLS/passwd" 0644

"$TOOLS/gen_init_cpio" -t 0 "$LIST" | gzip -6 -n >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
info "initramfs: $(grep -c '^file' "$LIST") files, $(du -h "$OUT" | cut -f1) compressed," \
	"scenarios: $(cd "$TOP/tests" && ls scenarios harness bench 2>/dev/null | grep -v ':$' | grep -c . )"
