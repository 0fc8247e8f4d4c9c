#!/usr/bin/env bash
# prepare-src.sh [VARIANT]
#
# Produce the source tree a variant builds from:
#   reclaim/debug: build/linux = upstream + mirrored new files + patches/series
#   static/dynamic: build/linux-unpatched = upstream
# Everything is assembled in build/stage first; only files whose content
# changed are then copied into the build tree, so unchanged files keep their
# mtimes and kbuild rebuilds only what the series really changed.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/series.sh"
lock_src

# "upstream" only makes sure build/upstream is there (used by make tree).
if [ "${1:-}" = upstream ]; then VARIANT=upstream; else VARIANT=$(resolve_variant); fi
[ $# -ge 1 ] && VARIANT=$1

# --- upstream -----------------------------------------------------------
ensure_upstream() {
	local id
	mkdir -p "$BUILD"
	if [ -n "${KERNEL_SRC:-}" ]; then
		[ -f "$KERNEL_SRC/Makefile" ] && [ -d "$KERNEL_SRC/kernel" ] ||
			die "KERNEL_SRC=$KERNEL_SRC does not look like a kernel source tree"
		KERNEL_SRC=$(cd "$KERNEL_SRC" && pwd)
		id="dir:$KERNEL_SRC"
		stage "upstream: copying KERNEL_SRC=$KERNEL_SRC (read-only) to build/upstream"
		if [ "$(cat "$UPSTREAM_STAMP" 2>/dev/null)" != "$id" ]; then rm -f "$UPSTREAM_STAMP"; fi
		mkdir -p "$UPSTREAM"
		timed "copy" rsync -a --delete --exclude=/.git "$KERNEL_SRC/" "$UPSTREAM/"
		if [ -e "$UPSTREAM/.config" ] || [ -d "$UPSTREAM/include/config" ]; then
			info "KERNEL_SRC has build artefacts; cleaning the copy (make mrproper)"
			make -s -C "$UPSTREAM" mrproper
		fi
		echo "$id" >"$UPSTREAM_STAMP"
	else
		[ -f "$TARBALL" ] || die "$TARBALL not found (run 'make deps', or set KERNEL_SRC=/path/to/linux)"
		id="tar:$TARBALL:$(stat -c '%s:%Y' "$TARBALL")"
		if [ "$(cat "$UPSTREAM_STAMP" 2>/dev/null)" = "$id" ] && [ -f "$UPSTREAM/Makefile" ]; then
			return 0
		fi
		stage "upstream: unpacking $TARBALL into build/upstream"
		rm -f "$UPSTREAM_STAMP"
		rm -rf "$UPSTREAM"
		mkdir -p "$UPSTREAM"
		timed "unpack" tar -xf "$TARBALL" -C "$UPSTREAM" --strip-components=1
		echo "$id" >"$UPSTREAM_STAMP"
	fi
	info "upstream is Linux $(kernel_version "$UPSTREAM")"
}

# sync_tree SRC DST: make DST's content equal to SRC, touching only files
# whose content differs (no -t: a rewritten file gets a fresh mtime).
#
# A new DST is made of hard links instead (cp -al): a clone then holds
# the kernel source once, not once more per tree. That is safe as nothing
# writes through a link: kbuild builds with O=, and rsync, patch and the
# series copy all replace a file rather than rewrite it.
sync_tree() {
	local out n
	if [ ! -d "$2" ] || [ -z "$(ls -A "$2")" ]; then
		rmdir "$2" 2>/dev/null || true
		cp -al "$1" "$2"
		info "$(basename "$2"): new tree, hard-linked to ${1#"$TOP"/}"
		return 0
	fi
	out=$(rsync -rlp --checksum --delete --itemize-changes "$1/" "$2/")
	n=$(printf '%s' "$out" | grep -c '^[<>ch*]' || true)
	if [ "$n" -eq 0 ]; then
		info "$(basename "$2"): no file changed"
	elif [ "$n" -le 40 ]; then
		info "$(basename "$2"): $n change(s):"
		printf '%s\n' "$out" | sed 's/^/      /'
	else
		info "$(basename "$2"): $n changes (first 20 shown)"
		printf '%s\n' "$out" | sed -n '1,20s/^/      /p'
	fi
}

apply_series() {
	local patch files f k n=0 log
	validate_series "$UPSTREAM"
	# Start from upstream: hard links, so refreshing the stage is cheap.
	# Everything that writes into the stage (patch, rsync, install) replaces
	# files instead of writing through the link, so upstream stays pristine.
	timed "stage refresh" rsync -a --delete --link-dest="$UPSTREAM" "$UPSTREAM/" "$STAGE/"
	while IFS=$'\t' read -r patch files; do
		n=$((n + 1))
		for f in $files; do
			k=$(repo_to_kernel "$f")
			mkdir -p "$STAGE/$(dirname "$k")"
			rm -f "$STAGE/$k"
			cp "$TOP/$f" "$STAGE/$k"
		done
		log=$(mktemp)
		if ! grep -qE '^(\+\+\+ |diff --git )' "$TOP/patches/$patch"; then
			info "applied $patch (no diff: new files only)$([ -z "$files" ] || echo " + ${files// /, }")"
			rm -f "$log"
			continue
		fi
		if ! patch -d "$STAGE" -p1 --batch --forward --no-backup-if-mismatch \
			-i "$TOP/patches/$patch" >"$log" 2>&1; then
			echo
			echo "ERROR: patch $n of the series does not apply: patches/$patch" >&2
			sed 's/^/    patch: /' "$log" >&2
			while IFS= read -r -d '' f; do
				echo "---- failing hunk(s): ${f#"$STAGE"/} ----" >&2
				cat "$f" >&2
			done < <(find "$STAGE" -name '*.rej' -print0 2>/dev/null) # stage refresh removed old ones
			rm -f "$log"
			die "patches/$patch does not apply to Linux $(kernel_version "$UPSTREAM"); fix or refresh it (make tree; fix; make save)"
		fi
		info "applied $patch$([ -z "$files" ] || echo " + ${files// /, }")"
		rm -f "$log"
	done < <(series_lines)
	[ $n -gt 0 ] || info "patches/series is empty: the patched tree equals upstream"
}

ensure_upstream
if [ "$VARIANT" = upstream ]; then
	exit 0
elif variant_patched "$VARIANT"; then
	stage "source: staging upstream + patches/series"
	apply_series
	stage "source: syncing changed files into build/linux"
	timed "sync" sync_tree "$STAGE" "$KTREE"
else
	stage "source: syncing upstream into build/linux-unpatched ($VARIANT variant)"
	timed "sync" sync_tree "$UPSTREAM" "$UNPATCHED"
fi
