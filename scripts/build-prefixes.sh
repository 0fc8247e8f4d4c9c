#!/usr/bin/env bash
# build-prefixes.sh: bisectability. Builds every prefix of the series (patch
# 1, 1-2, ..., 1-N) twice: with the feature on (the reclaim variant's
# fragments) and off (the base config: CONFIG_SWIOTLB_RECLAIM=n and the
# KUnit suites with it). A compiler warning in a file the patch touches
# counts as a failure (make check runs W=1 and sparse on the whole series). Ends with a table and "N built, N failed"; exits non-zero if any
# build failed.
#
# The series is patches/series, put into build/tree by make tree (which
# refuses to discard commits there that make save has not saved). Each
# prefix is checked out into a git worktree, build/prefix/linux, so kbuild
# rebuilds only what a patch changes. The object dirs, build/prefix/obj-on
# and obj-off, sit next to it as build/obj-reclaim sits next to
# build/linux: under CCACHE_BASEDIR the compiler sees the same relative
# paths, so whatever a prefix shares with the full series is a cache hit.
# Without ARCH both architectures are built (arm64's object dirs are
# build/prefix/arm64/obj-*, two levels down like build/arm64/obj-reclaim);
# ARCH=x86_64 or ARCH=arm64 builds that one only.
. "$(dirname "$0")/common.sh"

TREE="$BUILD/tree"
WT="$BUILD/prefix/linux"
OUTDIR="$BUILD/prefixes"
JOBS=${JOBS:-$(nproc)}
g() { git -C "$TREE" "$@"; }

"$TOP/scripts/tree.sh"
g rev-parse -q --verify refs/tags/upstream >/dev/null || die "build/tree has no tag 'upstream' (make tree)"
mapfile -t COMMITS < <(g rev-list --reverse upstream..HEAD)
N=${#COMMITS[@]}
[ "$N" -gt 0 ] || die "build/tree holds no patches on top of upstream"

mkdir -p "$OUTDIR" "$CCACHE_DIR"
# A worktree left from an earlier build/tree (make distclean, new upstream)
# is recreated.
if ! git -C "$WT" rev-parse -q --verify HEAD >/dev/null 2>&1 ||
	[ "$(git -C "$WT" rev-parse --git-common-dir 2>/dev/null)" != "$(g rev-parse --absolute-git-dir)" ]; then
	rm -rf "$WT"
	stage "prefixes: worktree build/prefix/linux"
	mkdir -p "$BUILD/prefix"
	g worktree prune
	g worktree add -q --detach "$WT" upstream
fi

configure() { # configure MODE OBJ
	local mode=$1 obj=$2 frags
	if [ "$mode" = on ]; then frags=$(fragments_for reclaim); else frags=$(fragments_for static); fi
	make -C "$WT" O="$obj" "${KARCH_ARGS[@]}" allnoconfig >/dev/null &&
		(cd "$WT" && ./scripts/kconfig/merge_config.sh -m -O "$obj" "$obj/.config" $frags >/dev/null) &&
		make -C "$WT" O="$obj" "${KARCH_ARGS[@]}" olddefconfig >/dev/null
}
if [ -n "$ARCH_ASKED" ]; then ARCHS=("$ARCH"); else ARCHS=(x86_64 arm64); fi

declare -a rows=()
built=0
failed=0
for ((k = 1; k <= N; k++)); do
	c=${COMMITS[$((k - 1))]}
	subj=$(g log -1 --format=%s "$c")
	git -C "$WT" checkout -q --detach "$c"
	# Files this patch touches: warnings in them are the patch's own.
	mapfile -t touched < <(g diff --name-only "$c~1" "$c" -- '*.c' '*.h')
	for combo in "${ARCHS[@]/%/:on}" "${ARCHS[@]/%/:off}"; do
		mode=${combo#*:}
		set_arch "${combo%:*}"
		if [ "$ARCH" = x86_64 ]; then obj="$BUILD/prefix/obj-$mode"; else obj="$BUILD/prefix/$ARCH/obj-$mode"; fi
		log="$OUTDIR/$k-$ARCH-$mode.log"
		stage "prefix $k/$N ($ARCH, $mode): $subj"
		t0=$(date +%s)
		rc=0
		mkdir -p "$obj"
		configure "$mode" "$obj" >"$log" 2>&1 || rc=$?
		if [ $rc -eq 0 ]; then
			make -C "$WT" O="$obj" "${KARCH_ARGS[@]}" -j"$JOBS" "$KIMAGE" \
				>>"$log" 2>&1 || rc=$?
		fi
		secs=$(($(date +%s) - t0))
		reclaim=$(grep -E '^CONFIG_SWIOTLB_RECLAIM=' "$obj/.config" 2>/dev/null || echo "CONFIG_SWIOTLB_RECLAIM unset")
		warns=0
		for f in "${touched[@]}"; do
			n=$(grep -c "^$(printf '%s' "$f" | sed 's/[.[\*^$/]/\\&/g'):[0-9]*:[0-9]*: warning:" "$log" || true)
			warns=$((warns + n))
		done
		if [ $rc -ne 0 ]; then
			verdict="FAILED"
			grep -E 'error:|Error [0-9]' "$log" | head -10 >&2 || true
		elif [ "$warns" -ne 0 ]; then
			verdict="FAILED: $warns warning(s) in files the patch touches"
		else
			verdict="ok"
		fi
		if [ "$verdict" = ok ]; then built=$((built + 1)); else failed=$((failed + 1)); fi
		info "$verdict in $(fmt_secs $secs) ($reclaim; log ${log#"$TOP"/})"
		rows+=("$(printf '%d/%d  %-6s  %-3s  %-48.48s  %s' "$k" "$N" "$ARCH" "$mode" "$subj" "$verdict")")
	done
done

echo
echo "######## series prefixes (total $(elapsed))"
printf '%s\n' "${rows[@]}" | tee "$OUTDIR/summary"
echo "$built built, $failed failed" | tee -a "$OUTDIR/summary"
[ "$failed" -eq 0 ]
