#!/usr/bin/env bash
# check.sh: `make check`, the static checks of the series (part of make test):
#   1. checkpatch.pl --strict on every patch of the series as mailed (build/tree
#      formatted with git format-patch): no ERROR, WARNING or CHECK;
#   2. scripts/kernel-doc -none -Wall on the new files: no warning;
#   3. sparse (C=2) and W=1 on the objects of the new files and swiotlb.c,
#      in the reclaim object directory of ARCH (default x86_64; make check
#      builds it) and of the other architecture if it has been built (make
#      test builds both before it checks): no warning in those files.
# Each failure names the file and the finding.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/series.sh"

cd "$TOP"
OUT="$BUILD/check"
LINUX="$BUILD/linux"
rm -rf "$OUT"
mkdir -p "$OUT"
problems=0

# Debian's python3 has the ply and git modules checkpatch's SPDX check needs
# (a python3 earlier in PATH, e.g. pyenv's, may not).
export PATH="/usr/bin:$PATH"

stage "check: checkpatch --strict on the series"
"$TOP/scripts/tree.sh" >"$OUT/tree.log" 2>&1 || { cat "$OUT/tree.log"; die "make tree failed"; }
git -C "$BUILD/tree" format-patch -q -o "$OUT/patches" upstream..HEAD
for p in "$OUT"/patches/*.patch; do
	(cd "$BUILD/tree" && perl scripts/checkpatch.pl --strict --terse "$p") >"$OUT/cp.out" 2>&1 || true
	bad=$(grep -E '(ERROR|WARNING|CHECK):' "$OUT/cp.out" || true)
	if [ -n "$bad" ]; then
		echo "$bad"
		problems=$((problems + $(echo "$bad" | wc -l)))
	else
		info "clean: $(basename "$p")"
	fi
done
rm -f "$BUILD"/tree/.checkpatch-camelcase.*

# The series' new files, at their kernel paths.
mapfile -t NEW < <(series_lines | awk '{ for (i = 2; i <= NF; i++) print $i }' |
	sed 's|^dma/|kernel/dma/|')
mapfile -t NEWC < <(printf '%s\n' "${NEW[@]}" | grep -E '\.[ch]$')

stage "check: kernel-doc on ${#NEWC[@]} new C files"
(cd "$LINUX" && scripts/kernel-doc -none -Wall "${NEWC[@]}") >"$OUT/kdoc.out" 2>&1 || true
if grep -q . "$OUT/kdoc.out"; then
	cat "$OUT/kdoc.out"
	problems=$((problems + $(grep -c . "$OUT/kdoc.out")))
else
	info "clean: ${NEWC[*]}"
fi

mapfile -t OBJS < <(printf '%s\n' "${NEWC[@]}" kernel/dma/swiotlb.c | grep '\.c$' |
	grep -v '_kunit\.c$' | sed 's/\.c$/.o/')
# The dma KUnit file is compiled as part of swiotlb_reclaim.o.
OBJS+=(mm/page_swiotlb_kunit.o)
pattern=$(printf '%s\n' "${NEWC[@]}" kernel/dma/swiotlb.c | sed 's|.*/||; s|\.|\\.|g' | paste -sd'|')
checked=()
required=$ARCH
for a in x86_64 arm64; do
	set_arch "$a"
	OBJ=$(objdir reclaim)
	if [ ! -f "$OBJ/.config" ]; then
		[ "$a" != "$required" ] || die "no ${OBJ#"$TOP"/}: run 'make kernel ARCH=$a' first"
		info "$a: no ${OBJ#"$TOP"/}, not checked (make kernel ARCH=$a first)"
		continue
	fi
	stage "check: sparse (C=2) and W=1 ($a)"
	make -C "$LINUX" O="$OBJ" "${KARCH_ARGS[@]}" C=2 W=1 "${OBJS[@]}" >"$OUT/sparse-$a.out" 2>&1 ||
		{ tail -n 20 "$OUT/sparse-$a.out"; die "building ${OBJS[*]} with C=2 W=1 ($a) failed"; }
	bad=$(grep -E "($pattern):[0-9]+:[0-9]+: (warning|error)" "$OUT/sparse-$a.out" || true)
	if [ -n "$bad" ]; then
		echo "$bad"
		problems=$((problems + $(echo "$bad" | wc -l)))
	else
		info "clean ($a): ${OBJS[*]}"
	fi
	checked+=("$a")
done

if [ $problems -ne 0 ]; then
	echo "check: $problems finding(s) (logs in ${OUT#"$TOP"/})" | tee "$OUT/summary"
	exit 1
fi
echo "check: PASS (checkpatch --strict, kernel-doc, sparse and W=1 clean on ${checked[*]})" | tee "$OUT/summary"
