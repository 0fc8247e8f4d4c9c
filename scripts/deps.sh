#!/usr/bin/env bash
# deps.sh: install the Debian packages the harness needs, only if missing.
. "$(dirname "$0")/common.sh"

# Debian 12 package names. Build: kernel + tools; run: QEMU + guest userland.
PKGS=(
	make gcc libc6-dev bc flex bison libelf-dev libssl-dev cpio ccache rsync kmod
	dwarves python3 perl patch git xz-utils gzip coreutils e2fsprogs util-linux
	linux-source-6.12
	qemu-system-x86 seabios ipxe-qemu
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm
	busybox-static stress-ng fio gnuplot-nox sparse
	python3-ply python3-git
)
# Commands that must work afterwards (catches diverted/removed binaries).
CMDS=(make gcc bc flex bison cpio ccache rsync python3 perl patch git xz gzip timeout mke2fs flock
	qemu-system-x86_64 stress-ng fio gnuplot sparse aarch64-linux-gnu-gcc qemu-system-aarch64 dpkg-deb readelf)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#PKGS[@]} packages present"
else
	stage "deps: installing ${#missing[@]} missing package(s): ${missing[*]}"
	[ "$(id -u)" -eq 0 ] || die "need root to install: ${missing[*]} (or run: sudo apt-get install ${missing[*]})"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends "${missing[@]}"
	info "installed: ${missing[*]}"
fi

# The arm64 guest's busybox, stress-ng and fio are Debian's arm64 packages
# (scripts/arm64-userland.sh downloads and unpacks them; nothing arm64 is
# installed): dpkg must know the architecture and apt must have its lists.
if ! [[ " $(dpkg --print-foreign-architectures | tr "\n" " ") " == *" arm64 "* ]]; then
	[ "$(id -u)" -eq 0 ] || die "need root to add the arm64 architecture (or run: sudo dpkg --add-architecture arm64 && sudo apt-get update)"
	stage "deps: dpkg --add-architecture arm64 (for the arm64 guest's Debian packages)"
	dpkg --add-architecture arm64
	apt-get update
elif ! [[ "$(apt-cache policy busybox-static:arm64 2>/dev/null)" == *"Candidate: "[0-9]* ]]; then
	[ "$(id -u)" -eq 0 ] || die "apt has no arm64 package lists (run: sudo apt-get update)"
	stage "deps: apt-get update (no arm64 package lists yet)"
	apt-get update
fi

bad=()
for c in "${CMDS[@]}"; do command -v "$c" >/dev/null 2>&1 || bad+=("$c"); done
[ -x /bin/busybox ] || bad+=(/bin/busybox)
[ -f "$TARBALL" ] || bad+=("$TARBALL")
[ ${#bad[@]} -eq 0 ] || die "still missing after install: ${bad[*]}"

# Disk: the kernel source (1.7 GiB unpacked), the git tree checkpatch runs
# in (2.2 GiB), two object trees, the scenario disks and the compiler cache.
# A clean clone needs the most (4.6 GiB measured, plus 0.5 GiB for arm64:
# its object dir, the unpacked Debian packages and their .debs, the tools
# image); a rebuild in an existing tree needs room for objects and disks
# only.
if [ -f "$UPSTREAM_STAMP" ]; then need=1536; else need=5632; fi
need_space "$BUILD" "$need" "the build (kernels, initramfs, scenario disks)"
need_space "$CCACHE_DIR" 1024 "the compiler cache ($CCACHE_DIR)"
