#!/usr/bin/env bash
# selftest-harness.sh: prove that the harness tells passes from failures.
#   smoke, tests/harness/dmabench, tests/harness/tools  must pass
#   tests/harness/selftest-fail    must be reported FAILED
#   tests/harness/selftest-hang    must be reported TIMEOUT
#   tests/harness/selftest-panic   must be reported KERNEL PANIC
#   a bogus patch in the series    must stop `make prepare-src`, naming it
#   an unlisted new file in mm/    must stop `make prepare-src`, naming it
#   make test on a 64 MiB build/   must stop at deps, naming the free space
# The patch checks run on a temporary copy of the repo (build/ excluded),
# sharing the unpacked upstream tree, so they take seconds.
# SKIP_BOOTS=1 runs only the patch checks.
. "$(dirname "$0")/common.sh"

VARIANT=$(resolve_variant)
export VARIANT
passed=0
failed=()
ok() {
	passed=$((passed + 1))
	echo "selftest-harness: ok: $*"
}
bad() {
	failed+=("$*")
	echo "selftest-harness: NOT OK: $*"
}

expect_boot() { # expect_boot SCENARIO RC VERDICT-PREFIX
	local s=$1 want=$2 verdict=$3 rc=0
	SCENARIO=$s "$TOP/scripts/boot.sh" || rc=$?
	local got
	got=$(cat "$LOGDIR/$s.result" 2>/dev/null || echo "no result file")
	if [ $rc -eq "$want" ] && [[ "$got" == "$verdict"* ]]; then
		ok "$s reported '$got' (exit $rc)"
	else
		bad "$s: expected exit $want and '$verdict...', got exit $rc and '$got'"
	fi
}

[ -f "$(image_path "$VARIANT")" ] || "$TOP/scripts/build-kernel.sh" "$VARIANT"

[ -n "${SKIP_BOOTS:-}" ] || expect_boot smoke 0 PASSED
[ -n "${SKIP_BOOTS:-}" ] || expect_boot dmabench 0 PASSED
[ -n "${SKIP_BOOTS:-}" ] || expect_boot tools 0 PASSED
[ -n "${SKIP_BOOTS:-}" ] || expect_boot selftest-fail 1 "FAILED: scenario exited with rc=1"
[ -n "${SKIP_BOOTS:-}" ] || expect_boot selftest-hang 124 TIMEOUT
[ -n "${SKIP_BOOTS:-}" ] || expect_boot selftest-panic 125 "KERNEL PANIC"

# --- patch application failures, on a scratch copy of the repo ---------------
"$TOP/scripts/prepare-src.sh" upstream
copy="$BUILD/selftest-copy"
mkcopy() {
	rm -rf "$copy"
	mkdir -p "$copy/build"
	(cd "$TOP" && git ls-files -co --exclude-standard) | rsync -a --files-from=- "$TOP/" "$copy/"
	ln -s "$UPSTREAM" "$copy/build/upstream"
	cp "$UPSTREAM_STAMP" "$copy/build/upstream.stamp"
}

stage "selftest-harness: a patch that does not apply must stop the build"
mkcopy
cat >"$copy/patches/9999-selftest-bogus.patch" <<'EOF'
From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: Harness Selftest <selftest@migrate-swiotlb.invalid>
Date: Thu, 1 Jan 2026 00:00:00 +0000
Subject: [PATCH] selftest: a hunk that cannot apply

---
 mm/page_alloc.c | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

diff --git a/mm/page_alloc.c b/mm/page_alloc.c
--- a/mm/page_alloc.c
+++ b/mm/page_alloc.c
@@ -1,3 +1,3 @@
 this line is not in page_alloc.c
-neither is this one
+selftest replacement
 nor this one
EOF
echo "9999-selftest-bogus.patch" >>"$copy/patches/series"
out=$(make -s -C "$copy" prepare-src 2>&1) && rc=0 || rc=$?
echo "$out" | tail -n 25 | sed 's/^/    | /'
if [ $rc -ne 0 ] && grep -q '9999-selftest-bogus.patch' <<<"$out" && grep -q 'neither is this one' <<<"$out"; then
	ok "bogus patch: make prepare-src failed (rc=$rc), named the patch and showed the rejected hunk"
else
	bad "bogus patch: expected failure naming 9999-selftest-bogus.patch with its hunk (rc=$rc)"
fi

stage "selftest-harness: a new file missing from patches/series must stop the build"
mkcopy
mkdir -p "$copy/mm"
echo "/* selftest */" >"$copy/mm/selftest_unlisted.c"
out=$(make -s -C "$copy" prepare-src 2>&1) && rc=0 || rc=$?
echo "$out" | tail -n 5 | sed 's/^/    | /'
if [ $rc -ne 0 ] && grep -q "mm/selftest_unlisted.c" <<<"$out"; then
	ok "unlisted new file: make prepare-src failed (rc=$rc) naming mm/selftest_unlisted.c"
else
	bad "unlisted new file: expected a failure naming mm/selftest_unlisted.c (rc=$rc)"
fi
rm -rf "$copy"

stage "selftest-harness: make test on a nearly full disk must stop at deps, saying so"
mkcopy
rm -rf "$copy/build"
mkdir -p "$copy/build"
if mount -t tmpfs -o size=64m selftest-full "$copy/build" 2>/dev/null; then
	out=$(make -s -C "$copy" test 2>&1) && rc=0 || rc=$?
	umount "$copy/build"
	echo "$out" | tail -n 6 | sed 's/^/    | /'
	if [ $rc -ne 0 ] && grep -q 'MiB free on .*needs about' <<<"$out" &&
		grep -qx "0 passed, 1 failed" <<<"$out"; then
		ok "full disk: make test failed (rc=$rc) at deps with the free space and its summary line"
	else
		bad "full disk: expected the free-space error and '0 passed, 1 failed' (rc=$rc)"
	fi
else
	bad "full disk: cannot mount a 64 MiB tmpfs to play the full disk (not root?)"
fi
rm -rf "$copy"

echo
for f in "${failed[@]}"; do echo "FAILED: $f"; done
echo "selftest-harness: ${passed} passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
