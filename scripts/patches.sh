#!/usr/bin/env bash
# patches.sh: mail-ready series in build/patches/ (after make tree):
# git format-patch --cover-letter upstream..HEAD of build/tree. The cover
# letter takes patches/cover-letter.txt if present (first line: subject,
# then a blank line, then the body). The result is checked with git am on a
# fresh checkout of tag upstream.
. "$(dirname "$0")/common.sh"

TREE="$BUILD/tree"
OUT="$BUILD/patches"
g() { git -C "$TREE" "$@"; }
[ -d "$TREE/.git" ] || die "no build/tree (make tree)"

n=$(g rev-list --count upstream..HEAD)
rm -rf "$OUT"
mkdir -p "$OUT"
if [ "$n" -eq 0 ]; then
	stage "patches: the series is empty, nothing to format"
	exit 0
fi
stage "patches: formatting $n patch(es) + cover letter into build/patches/"
g format-patch -q --cover-letter --thread=shallow -o "$OUT" upstream..HEAD
cover="$OUT/0000-cover-letter.patch"
if [ -f "$TOP/patches/cover-letter.txt" ]; then
	subject=$(head -n 1 "$TOP/patches/cover-letter.txt")
	tail -n +3 "$TOP/patches/cover-letter.txt" >"$OUT/.blurb"
	awk -v subj="$subject" -v blurb="$OUT/.blurb" '
		/\*\*\* SUBJECT HERE \*\*\*/ { sub(/\*\*\* SUBJECT HERE \*\*\*/, subj) }
		/^\*\*\* BLURB HERE \*\*\*$/ { while ((getline l < blurb) > 0) print l; next }
		{ print }' "$cover" >"$cover.new"
	mv "$cover.new" "$cover"
	rm -f "$OUT/.blurb"
	info "cover letter from patches/cover-letter.txt"
else
	info "no patches/cover-letter.txt: the cover letter keeps its *** SUBJECT/BLURB HERE *** placeholders"
fi
ls "$OUT" | sed 's/^/    /'

stage "patches: checking that they apply with git am to a fresh upstream tree"
wt="$BUILD/patches-check"
g worktree remove --force "$wt" >/dev/null 2>&1 || rm -rf "$wt"
g worktree prune
g worktree add -q --detach "$wt" upstream
rc=0
git -C "$wt" -c user.name=check -c user.email=check@invalid am -q \
	$(ls "$OUT"/*.patch | grep -v '/0000-cover-letter.patch$') || rc=$?
if [ $rc -eq 0 ] && [ -z "$(git -C "$wt" diff HEAD "$(g rev-parse HEAD)" --stat)" ]; then
	info "git am: all $n patch(es) apply; result identical to build/tree HEAD"
else
	git -C "$wt" am --abort >/dev/null 2>&1 || true
	g worktree remove --force "$wt"
	die "the formatted patches do not reproduce build/tree with git am"
fi
g worktree remove --force "$wt"
