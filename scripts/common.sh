# shellcheck shell=bash
# Common helpers for the MIGRATE_SWIOTLB build/boot/test harness.
# Sourced by the other scripts; never executed directly.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$TOP/build"
TARBALL=${TARBALL:-/usr/src/linux-source-6.12.tar.xz}
UPSTREAM="$BUILD/upstream"            # pristine upstream tree (never built in)
UPSTREAM_STAMP="$BUILD/upstream.stamp"
STAGE="$BUILD/stage"                  # scratch: upstream + series, rebuilt every time
KTREE="$BUILD/linux"                  # patched tree kbuild builds from (mtime-stable)
UNPATCHED="$BUILD/linux-unpatched"    # copy for the static/dynamic variants

# ARCH_ASKED: the architecture the user asked for (empty: none; make test
# then runs both).
ARCH_ASKED=${ARCH:-}

# set_arch ARCH: the guest architecture (x86_64, the default, or arm64) and
# everything derived from it. x86_64 keeps the historical paths directly
# under build/; arm64's kernels, initramfs, tools image, disks and logs live
# under build/arm64/ (ABUILD). The source trees (upstream, stage, linux) are
# shared: one tree, one object dir per architecture and variant.
# CROSS: CROSS_COMPILE for kbuild and the guest helpers (Debian's cross
# compiler); KARCH_ARGS: what every kbuild make of the architecture gets (CC
# with ccache); KIMAGE: the kbuild target, KIMAGE_OBJ: where it lands.
set_arch() {
	case "${1:-x86_64}" in
	x86_64 | x86 | amd64)
		ARCH=x86_64 ABUILD=$BUILD CROSS=
		KIMAGE=bzImage KIMAGE_OBJ=arch/x86/boot/bzImage
		;;
	arm64 | aarch64)
		ARCH=arm64 ABUILD=$BUILD/arm64 CROSS=aarch64-linux-gnu-
		KIMAGE=Image KIMAGE_OBJ=arch/arm64/boot/Image
		;;
	*) die "unknown ARCH '$1' (use x86_64 or arm64)" ;;
	esac
	export ARCH
	LOGDIR="$ABUILD/logs"
	KARCH_ARGS=(ARCH="$ARCH" CROSS_COMPILE="$CROSS" CC="ccache ${CROSS}gcc" HOSTCC=gcc)
}
export CCACHE_DIR=${CCACHE_DIR:-/var/cache/migrate-swiotlb-ccache}
# Absolute paths under build/ are hashed relative to it, so another clone
# (CI, a second checkout) hits the same cache entries.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$BUILD}

# Time origin for "elapsed" read-outs; inherited by child scripts.
export HARNESS_T0=${HARNESS_T0:-$(date +%s)}

fmt_secs() {
	local s=$1
	if [ "$s" -ge 60 ]; then
		printf '%dm%02ds' $((s / 60)) $((s % 60))
	else
		printf '%ds' "$s"
	fi
}

elapsed() { fmt_secs $(($(date +%s) - HARNESS_T0)); }

# stage NAME: print a stage header with elapsed time since the harness started.
stage() { printf '\n==> %s (elapsed %s)\n' "$*" "$(elapsed)"; }
info() { printf '    %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() {
	printf '\nERROR: %s\n' "$*" >&2
	exit 1
}

set_arch "$ARCH_ASKED"

# need_space DIR MIB WHAT: die with a plain message when the filesystem
# holding DIR has less than MIB MiB free. A full disk otherwise shows up
# much later as a half-written tree and a confusing kbuild error.
need_space() {
	local dir=$1 want=$2 what=$3 have fs
	mkdir -p "$dir"
	read -r have fs < <(df -Pm "$dir" | awk 'NR == 2 { print $4, $6 }')
	if [ "${have:-0}" -ge "$want" ]; then
		info "disk: $have MiB free on $fs for $what"
		return 0
	fi
	die "only $have MiB free on $fs (holding ${dir#"$TOP"/}/); $what needs about $want MiB there. Free some space (old clones, build/prefix, build/bench-raw, build/tree) and run it again."
}

# Time a command: timed LABEL cmd...
timed() {
	local label=$1 t0 rc=0
	shift
	t0=$(date +%s)
	"$@" || rc=$?
	info "$label: $(fmt_secs $(($(date +%s) - t0)))$([ $rc -eq 0 ] || echo " (FAILED rc=$rc)")"
	return $rc
}

# resolve_variant: honour DEBUG=1 / KCSAN=1 and default to reclaim.
resolve_variant() {
	local v=${VARIANT:-}
	if [ -z "$v" ]; then
		case "${DEBUG:-}" in 1 | y | yes) v=debug ;; esac
	fi
	if [ -z "$v" ]; then
		case "${KCSAN:-}" in 1 | y | yes) v=kcsan ;; *) v=reclaim ;; esac
	fi
	case "$v" in
	reclaim | debug | kcsan | static | dynamic | reclaim-dynamic) ;;
	reclaim-16k) [ "$ARCH" = arm64 ] || die "VARIANT=reclaim-16k (16K pages) is arm64 only (ARCH=arm64)" ;;
	*) die "unknown VARIANT '$v' (use reclaim, debug, kcsan, static, dynamic, reclaim-dynamic or, on arm64, reclaim-16k)" ;;
	esac
	echo "$v"
}

variant_patched() { case "$1" in reclaim | debug | kcsan | reclaim-dynamic | reclaim-16k) return 0 ;; *) return 1 ;; esac; }

image_path() {
	if [ "$1" = reclaim ]; then echo "$ABUILD/$KIMAGE"; else echo "$ABUILD/$1/$KIMAGE"; fi
}

objdir() { echo "$ABUILD/obj-$1"; }

srcdir_for() { if variant_patched "$1"; then echo "$KTREE"; else echo "$UNPATCHED"; fi; }

# Config fragments per variant, in merge order: the architecture's own
# fragment, then the shared ones.
fragments_for() {
	echo "$TOP/config/$ARCH.config"
	case "$1" in
	reclaim) echo "$TOP/config/base.config $TOP/config/reclaim.config $TOP/config/kunit.config" ;;
	# debug also turns on the dynamic pools, so make test covers reclaim with them
	debug) echo "$TOP/config/base.config $TOP/config/reclaim.config $TOP/config/kunit.config $TOP/config/dynamic.config $TOP/config/debug.config" ;;
	# KCSAN and KASAN exclude each other: reclaim + KCSAN, no debug.config
	kcsan) echo "$TOP/config/base.config $TOP/config/reclaim.config $TOP/config/kunit.config $TOP/config/kcsan.config" ;;
	# reclaim with upstream's dynamic pools, without the debug options: their
	# transient pools bridge bursts that outrun growth (bench/analysis.md)
	reclaim-dynamic) echo "$TOP/config/base.config $TOP/config/reclaim.config $TOP/config/kunit.config $TOP/config/dynamic.config" ;;
	# arm64 with 16K pages: 32 MiB pageblocks, so 32 MiB chunks
	reclaim-16k) echo "$TOP/config/base.config $TOP/config/reclaim.config $TOP/config/kunit.config $TOP/config/arm64-16k.config" ;;
	static) echo "$TOP/config/base.config" ;;
	dynamic) echo "$TOP/config/base.config $TOP/config/dynamic.config" ;;
	esac
}

# Extra kernel command line a variant needs at boot.
variant_cmdline() {
	case "$1" in
	debug) echo "debug_pagealloc=on page_owner=on" ;;
	*) echo "" ;;
	esac
}

kernel_version() { # kernel_version TREE -> 6.12.117
	awk '/^VERSION =/{v=$3} /^PATCHLEVEL =/{p=$3} /^SUBLEVEL =/{s=$3} /^EXTRAVERSION =/{e=$3}
	     END{printf "%s.%s.%s%s\n", v, p, s, e}' "$1/Makefile"
}

# Scenario lookup: regular scenarios first, then harness self-tests, then
# the guest side of make bench.
scenario_file() {
	local d
	for d in "$TOP/tests/scenarios" "$TOP/tests/harness" "$TOP/tests/bench"; do
		if [ -f "$d/$1" ]; then
			echo "$d/$1"
			return 0
		fi
	done
	return 1
}

# scenario_header FILE KEY: value of a leading "# KEY: value" comment. A
# "# KEY-<arch>: value" line (e.g. "# qemu-x86_64:", "# mem-arm64:") wins
# on that architecture, for the few places where the machines differ.
scenario_header() {
	awk -v key="$2" -v akey="$2-$ARCH" '
		NR == 1 && /^#!/ { next }
		/^[[:space:]]*$/ { next }
		!/^#/ { exit }
		{
			line = $0
			sub(/^#[[:space:]]*/, "", line)
			k = line
			sub(/:.*/, "", k)
			if (k != key && k != akey) next
			sub(/^[^:]*:[[:space:]]*/, "", line)
			sub(/[[:space:]]+$/, "", line)
			if (k == akey) { print line; found = 1; exit }
			if (!have) { generic = line; have = 1 }
		}
		END { if (!found && have) print generic }' "$1"
}

# lock_src: one harness run at a time may touch build/stage, build/linux*
# and the kbuild trees of this clone. Held (fd 9) until the script and its
# children exit; nested scripts see HARNESS_SRC_LOCKED and do not re-lock.
lock_src() {
	[ -n "${HARNESS_SRC_LOCKED:-}" ] && return 0
	mkdir -p "$BUILD"
	exec 9>"$BUILD/.src.lock"
	if ! flock -n 9; then
		info "another harness run is using build/ of this clone; waiting for it (build/.src.lock)"
		flock 9
	fi
	export HARNESS_SRC_LOCKED=1
}
