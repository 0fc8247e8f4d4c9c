# shellcheck shell=bash
# patches/series parsing and the mirrored new-file mapping.
# Sourced after common.sh.

SERIES="$TOP/patches/series"
MIRROR_DIRS="mm dma include Documentation"

# repo path -> kernel path
repo_to_kernel() {
	case "$1" in
	dma/*) echo "kernel/dma/${1#dma/}" ;;
	mm/* | include/* | Documentation/*) echo "$1" ;;
	*) return 1 ;;
	esac
}

# kernel path -> repo path (fails for paths outside the mirrored dirs)
kernel_to_repo() {
	case "$1" in
	kernel/dma/*) echo "dma/${1#kernel/dma/}" ;;
	mm/* | include/* | Documentation/*) echo "$1" ;;
	*) return 1 ;;
	esac
}

# series_lines: "patch<TAB>newfile newfile..." per series entry, comments and
# blank lines removed.
series_lines() {
	[ -f "$SERIES" ] || return 0
	sed -e 's/#.*//' "$SERIES" | awk 'NF { p = $1; $1 = ""; sub(/^ +/, ""); print p "\t" $0 }'
}

# mirrored_files: every new file kept in the repo's mirrored dirs (repo paths).
mirrored_files() {
	local d
	for d in $MIRROR_DIRS; do
		[ -d "$TOP/$d" ] || continue
		(cd "$TOP" && find "$d" -type f ! -name .gitkeep ! -name '*~' ! -name '.*.swp' -print)
	done | LC_ALL=C sort
}

# validate_series: every patch exists, every listed file exists, every mirrored
# file is listed exactly once, no new file shadows an upstream file.
validate_series() {
	local upstream=${1:-} errors=0 patch files f listed
	listed=$(mktemp)
	while IFS=$'\t' read -r patch files; do
		if [ ! -f "$TOP/patches/$patch" ]; then
			echo "series error: patches/$patch (listed in patches/series) does not exist" >&2
			errors=$((errors + 1))
		fi
		for f in $files; do
			echo "$f" >>"$listed"
			if ! repo_to_kernel "$f" >/dev/null; then
				echo "series error: '$f' on the line of $patch is not under mm/ dma/ include/ Documentation/" >&2
				errors=$((errors + 1))
			elif [ ! -f "$TOP/$f" ]; then
				echo "series error: '$f' listed on the line of $patch does not exist in the repo" >&2
				errors=$((errors + 1))
			elif [ -n "$upstream" ] && [ -e "$upstream/$(repo_to_kernel "$f")" ]; then
				echo "series error: '$f' -> $(repo_to_kernel "$f") already exists upstream;" \
					"changes to upstream files must be in a .patch, not a mirrored copy" >&2
				errors=$((errors + 1))
			fi
		done
	done < <(series_lines)
	# listed more than once
	for f in $(LC_ALL=C sort "$listed" | uniq -d); do
		echo "series error: '$f' is listed on more than one series line (a new file belongs to exactly one patch)" >&2
		errors=$((errors + 1))
	done
	# present but not listed
	for f in $(LC_ALL=C comm -23 <(mirrored_files) <(LC_ALL=C sort -u "$listed")); do
		echo "series error: new file '$f' is not listed on any patches/series line;" \
			"add it after the patch it belongs to: '<patch>.patch $f'" >&2
		errors=$((errors + 1))
	done
	rm -f "$listed"
	[ $errors -eq 0 ] || die "patches/series is inconsistent ($errors error(s), see above)"
}

# series_digest: one hash over everything make tree reads from the repo
# (series, patch files, mirrored new files); make save refuses to overwrite
# the repo when it changed since make tree.
series_digest() {
	local f
	{
		cat "$SERIES" 2>/dev/null || true
		for f in "$TOP"/patches/*.patch; do
			[ -f "$f" ] || continue
			echo "== ${f#"$TOP"/}"
			cat "$f"
		done
		for f in $(mirrored_files); do
			echo "== $f"
			cat "$TOP/$f"
		done
	} | sha256sum | cut -d' ' -f1
}
