#!/usr/bin/env bash
# tree.sh: turn upstream + patches/series into a git repo in build/tree:
#   upstream commit "Linux <version> (upstream base)", tagged `upstream`,
#   then one commit per series line: the patch mail's author, date and
#   message; its diff applied with patch -p1 (as make kernel does) plus the
#   new files listed on its line, copied to their kernel paths.
# Work there with git (commit, rebase -i, ...), then `make save`.
# Refuses to overwrite uncommitted work or commits not yet saved (FORCE=1
# overrides the latter).
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/series.sh"

TREE="$BUILD/tree"
HEADMARK="$TREE/.git/migrate-swiotlb-saved-head"
UPMARK="$TREE/.git/migrate-swiotlb-upstream"
export GIT_COMMITTER_NAME="MIGRATE_SWIOTLB harness" GIT_COMMITTER_EMAIL="harness@migrate-swiotlb.invalid"
g() { git -C "$TREE" "$@"; }

"$TOP/scripts/prepare-src.sh" upstream
validate_series "$UPSTREAM"
VERSION=$(kernel_version "$UPSTREAM")
UPID=$(cat "$UPSTREAM_STAMP")

reuse=0
if [ -d "$TREE/.git" ]; then
	if [ -n "$(g status --porcelain --untracked-files=normal | head -n 5)" ]; then
		g status --short | head -20
		die "build/tree has uncommitted changes; commit them (then 'make save') or discard them before 'make tree'"
	fi
	head=$(g rev-parse -q --verify HEAD || true)
	if [ -f "$HEADMARK" ] && [ "$head" != "$(cat "$HEADMARK")" ] && [ -z "${FORCE:-}" ]; then
		g log --oneline "$(cat "$HEADMARK")..HEAD" 2>/dev/null | head -20 || true
		die "build/tree has commits that are not saved to patches/ ('make save' first, or FORCE=1 make tree to discard them)"
	fi
	if [ "$(cat "$UPMARK" 2>/dev/null)" = "$UPID" ] && g rev-parse -q --verify refs/tags/upstream >/dev/null; then
		reuse=1
	fi
fi

# Debian's linux-source adds "/*" + "!/debian/" to the top-level .gitignore,
# which hides every new file from git status and git add -A. Drop those two
# lines in the work tree only (commits stay pristine) and tell git to leave
# the file alone.
unhide_new_files() {
	if grep -qx '/\*' "$TREE/.gitignore" 2>/dev/null; then
		sed -i -e '/^\/\*$/d' -e '/^!\/debian\/$/d' "$TREE/.gitignore"
		g update-index --assume-unchanged .gitignore
	fi
}

t0=$(date +%s)
if [ $reuse -eq 1 ]; then
	stage "tree: resetting build/tree to tag upstream (Linux $VERSION)"
	g checkout -q -f -B main upstream
	g clean -q -fdx
else
	stage "tree: creating build/tree from Linux $VERSION (takes a minute)"
	rm -rf "$TREE"
	mkdir -p "$TREE"
	timed "copy" rsync -a "$UPSTREAM/" "$TREE/"
	g init -q -b main
	g config user.name "$GIT_COMMITTER_NAME"
	g config user.email "$GIT_COMMITTER_EMAIL"
	g config gc.auto 0
	timed "git add" g add -A -f .
	GIT_AUTHOR_NAME="$GIT_COMMITTER_NAME" GIT_AUTHOR_EMAIL="$GIT_COMMITTER_EMAIL" \
		g commit -q -m "Linux $VERSION (upstream base)"
	g tag upstream
	echo "$UPID" >"$UPMARK"
fi
unhide_new_files

n=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
while IFS=$'\t' read -r patch files; do
	n=$((n + 1))
	mail="$TOP/patches/$patch"
	git mailinfo "$tmp/msg" "$tmp/diff" <"$mail" >"$tmp/info"
	author=$(sed -n 's/^Author: //p' "$tmp/info")
	email=$(sed -n 's/^Email: //p' "$tmp/info")
	date=$(sed -n 's/^Date: //p' "$tmp/info")
	subject=$(sed -n 's/^Subject: //p' "$tmp/info")
	[ -n "$subject" ] || die "patches/$patch: no Subject: header (a .patch must be a git format-patch mail)"
	if [ -s "$tmp/diff" ]; then
		if ! patch -d "$TREE" -p1 --batch --forward --no-backup-if-mismatch -i "$tmp/diff" >"$tmp/plog" 2>&1; then
			sed 's/^/    patch: /' "$tmp/plog" >&2
			find "$TREE" -name '*.rej' -exec sh -c 'echo "---- $1 ----"; cat "$1"' _ {} \; >&2
			die "patches/$patch does not apply in build/tree (commit $n)"
		fi
	fi
	for f in $files; do
		k=$(repo_to_kernel "$f")
		mkdir -p "$TREE/$(dirname "$k")"
		cp "$TOP/$f" "$TREE/$k"
		g add -f -- "$k"
	done
	g add -A .
	{
		echo "$subject"
		if [ -s "$tmp/msg" ]; then
			echo
			cat "$tmp/msg"
		fi
	} | git stripspace >"$tmp/cmsg"
	# Committer date = author date: the same series always gives the same ids.
	env=(GIT_AUTHOR_NAME="${author:-Unknown}" GIT_AUTHOR_EMAIL="${email:-unknown@invalid}")
	[ -z "$date" ] || env+=(GIT_AUTHOR_DATE="$date" GIT_COMMITTER_DATE="$date")
	env "${env[@]}" git -C "$TREE" commit -q --allow-empty --no-verify -F "$tmp/cmsg"
	info "[$n] $(g log -1 --format='%h %s') ($patch$([ -z "$files" ] || echo " + $(echo "$files" | wc -w) new file(s)"))"
done < <(series_lines)

g rev-parse HEAD >"$HEADMARK"
series_digest >"$TREE/.git/migrate-swiotlb-inputs"
stage "tree: build/tree ready: $n commit(s) on top of tag upstream, $(fmt_secs $(($(date +%s) - t0)))"
info "work there with git, then run 'make save' to write patches/ and the mirrored files back"
