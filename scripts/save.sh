#!/usr/bin/env bash
# save.sh: write build/tree (commits after tag `upstream`) back to the repo.
# For each commit:
#   changes to files that exist upstream -> patches/NNNN-subject.patch
#     (git format-patch of those paths only, the commit's author/date/message)
#   files that do not exist upstream     -> their mirrored repo path
#     (mm/ dma/=kernel/dma/ include/ Documentation/), listed on the patch's
#     patches/series line
# A new file may be touched by one commit only. Files are rewritten only when
# their content changes, and a patch whose author, message and diff
# (git patch-id) are unchanged keeps its old file and name, so
# `make tree && make save` on an unchanged tree leaves git status clean.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/series.sh"

TREE="$BUILD/tree"
HEADMARK="$TREE/.git/migrate-swiotlb-saved-head"
export GIT_COMMITTER_NAME="MIGRATE_SWIOTLB harness" GIT_COMMITTER_EMAIL="harness@migrate-swiotlb.invalid"
g() { git -C "$TREE" "$@"; }

[ -d "$TREE/.git" ] || die "no build/tree: run 'make tree' first"
g rev-parse -q --verify refs/tags/upstream >/dev/null || die "build/tree has no tag 'upstream'"
if [ -n "$(g status --porcelain --untracked-files=normal | head -n 5)" ]; then
	g status --short | head -20
	die "build/tree has uncommitted changes: commit them first (git -C build/tree commit ...)"
fi
if [ -n "$(g rev-list --merges upstream..HEAD)" ]; then
	die "build/tree history after 'upstream' contains merges; make it linear (git rebase upstream)"
fi
g merge-base --is-ancestor upstream HEAD || die "HEAD of build/tree does not descend from tag upstream"

INPUTS="$TREE/.git/migrate-swiotlb-inputs"
if [ -f "$INPUTS" ] && [ "$(series_digest)" != "$(cat "$INPUTS")" ] && [ -z "${FORCE:-}" ]; then
	die "patches/ or the mirrored files (mm/ dma/ include/ Documentation/) changed since 'make tree';
saving now would overwrite those changes with build/tree's version. Either run 'make tree'
first (takes the repo's version; build/tree must have no unsaved work) or FORCE=1 make save
(build/tree wins)."
fi
stage "save: build/tree upstream..HEAD -> patches/ and mirrored files"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/out" "$tmp/files"
g ls-tree -r --name-only upstream | LC_ALL=C sort >"$tmp/upstream.list"

# Trees of X with every non-upstream file dropped (memoised per commit).
strip_tree() {
	local c=$1 idx="$tmp/index"
	rm -f "$idx"
	GIT_INDEX_FILE="$idx" g read-tree "$c"
	g diff --name-only --no-renames --diff-filter=A -z upstream "$c" |
		GIT_INDEX_FILE="$idx" g update-index --force-remove -z --stdin
	GIT_INDEX_FILE="$idx" g write-tree
}

# Old series, by position, for "unchanged patch keeps its file" matching.
mapfile -t OLD < <(series_lines)

declare -A owner=()
new_series=()
n=0
prev_stripped=$(strip_tree upstream)
prev_commit=$(echo "upstream base (stripped)" | g commit-tree "$prev_stripped")
for c in $(g rev-list --reverse upstream..HEAD); do
	n=$((n + 1))
	short=$(g log -1 --format='%h %s' "$c")
	upfiles=()
	newfiles=()
	while IFS= read -r -d '' f; do
		if grep -qxF -- "$f" "$tmp/upstream.list"; then
			upfiles+=("$f")
		else
			if [ -n "${owner[$f]:-}" ]; then
				die "new file $f is changed by two commits: '${owner[$f]}' and '$short'.
A file that does not exist upstream belongs to exactly one patch (its series line
lists it, its content is the final content). Squash the changes to $f into
'${owner[$f]}' (git -C build/tree rebase -i upstream) and run 'make save' again."
			fi
			owner[$f]=$short
			r=$(kernel_to_repo "$f") ||
				die "new file $f (commit '$short') is outside the mirrored dirs mm/ kernel/dma/ include/ Documentation/"
			if g cat-file -e "$c:$f" 2>/dev/null; then
				newfiles+=("$r")
				mkdir -p "$tmp/files/$(dirname "$r")"
				g show "$c:$f" >"$tmp/files/$r"
			fi
		fi
	done < <(g diff --name-only --no-renames -z "$c^" "$c")

	# Synthetic commit: same author/date/message, diff limited to upstream files.
	stripped=$(strip_tree "$c")
	g log -1 --format=%B "$c" | git stripspace >"$tmp/msg"
	{ read -r an; read -r ae; read -r ad; } < <(g log -1 --date=raw --format='%an%n%ae%n%ad' "$c")
	syn=$(GIT_AUTHOR_NAME="$an" GIT_AUTHOR_EMAIL="$ae" GIT_AUTHOR_DATE="$ad" GIT_COMMITTER_DATE="$ad" \
		g commit-tree "$stripped" -p "$prev_commit" -F "$tmp/msg")
	rm -rf "$tmp/fp" && mkdir "$tmp/fp"
	g -c core.abbrev=12 format-patch -q -1 --always --no-signature --zero-commit --no-numbered \
		--start-number "$n" -o "$tmp/fp" "$syn" >/dev/null
	pfile=$(ls "$tmp/fp")
	prev_commit=$syn

	# Same patch as the old series' entry at this position? Keep its file.
	oldname=
	if [ $n -le ${#OLD[@]} ]; then
		oldname=${OLD[$((n - 1))]%%$'\t'*}
		if [ -f "$TOP/patches/$oldname" ]; then
			git mailinfo "$tmp/m1" "$tmp/p1" <"$TOP/patches/$oldname" >"$tmp/i1"
			git mailinfo "$tmp/m2" "$tmp/p2" <"$tmp/fp/$pfile" >"$tmp/i2"
			id1=$(git patch-id --stable <"$tmp/p1" | cut -d' ' -f1)
			id2=$(git patch-id --stable <"$tmp/p2" | cut -d' ' -f1)
			if cmp -s "$tmp/i1" "$tmp/i2" && cmp -s "$tmp/m1" "$tmp/m2" && [ "$id1" = "$id2" ]; then
				pfile=$oldname
				cp "$TOP/patches/$oldname" "$tmp/out/$pfile"
			fi
		fi
	fi
	[ -f "$tmp/out/$pfile" ] || cp "$tmp/fp/$(ls "$tmp/fp")" "$tmp/out/$pfile"
	new_series+=("$pfile"$'\t'"${newfiles[*]}")
	info "[$n] $short -> patches/$pfile (${#upfiles[@]} upstream file(s)$([ ${#newfiles[@]} -eq 0 ] || echo ", new: ${newfiles[*]}"))"
done
[ $n -gt 0 ] || info "no commits after 'upstream': the series is empty"

# Patch file names must be unique.
dups=$(for e in "${new_series[@]}"; do echo "${e%%$'\t'*}"; done | sort | uniq -d)
[ -z "$dups" ] || die "two patches would be written as the same file: $dups (make the subjects differ)"

# --- write back ----------------------------------------------------------------
changed=0
mkdir -p "$TOP/patches"
for e in "${new_series[@]}"; do
	p=${e%%$'\t'*}
	if ! cmp -s "$tmp/out/$p" "$TOP/patches/$p"; then
		cp "$tmp/out/$p" "$TOP/patches/$p"
		info "wrote patches/$p"
		changed=$((changed + 1))
	fi
done
for e in "${OLD[@]}"; do
	p=${e%%$'\t'*}
	keep=0
	for e2 in "${new_series[@]}"; do [ "${e2%%$'\t'*}" = "$p" ] && keep=1; done
	if [ $keep -eq 0 ] && [ -f "$TOP/patches/$p" ]; then
		rm -f "$TOP/patches/$p"
		info "removed patches/$p (no longer in the series)"
		changed=$((changed + 1))
	fi
done
# mirrored new files
while IFS= read -r r; do
	if ! cmp -s "$tmp/files/$r" "$TOP/$r"; then
		mkdir -p "$TOP/$(dirname "$r")"
		cp "$tmp/files/$r" "$TOP/$r"
		info "wrote $r"
		changed=$((changed + 1))
	fi
done < <(cd "$tmp/files" && find . -type f | sed 's#^\./##' | LC_ALL=C sort)
while IFS= read -r r; do
	if [ ! -f "$tmp/files/$r" ]; then
		rm -f "$TOP/$r"
		info "removed $r (no commit adds it any more)"
		changed=$((changed + 1))
	fi
done < <(mirrored_files)

# patches/series: rewritten only when its meaning changed; the leading
# comment block is kept.
canon() { awk -F'\t' '{ n = split($2, a, " "); s = ""; for (i = 1; i <= n; i++) s = s " " a[i]; print $1 "|" s }' | sort_words; }
sort_words() { while IFS='|' read -r p f; do echo "$p|$(printf '%s\n' $f | LC_ALL=C sort | tr '\n' ' ')"; done; }
if [ "$(printf '%s\n' "${OLD[@]}" | sed '/^$/d' | canon)" != "$(printf '%s\n' "${new_series[@]}" | sed '/^$/d' | canon)" ]; then
	{
		if [ -f "$SERIES" ]; then
			awk '/^#/ || /^[[:space:]]*$/ { print; next } { exit }' "$SERIES"
		else
			echo "# Patch series: <file>.patch [new files (repo paths) that belong to it]"
			echo "# Maintained by 'make save'; see README.md."
		fi
		for e in "${new_series[@]}"; do
			p=${e%%$'\t'*}
			f=${e#*$'\t'}
			echo "$p${f:+ $f}"
		done
	} >"$tmp/series"
	cp "$tmp/series" "$SERIES"
	info "rewrote patches/series"
	changed=$((changed + 1))
fi

g rev-parse HEAD >"$HEADMARK"
series_digest >"$INPUTS"
# Sanity: what we wrote must be a consistent series.
validate_series "$UPSTREAM"
stage "save: done, $n patch(es), $changed file(s) changed in the repo"
git -C "$TOP" status --short -- patches mm dma include Documentation | sed 's/^/    /'
