#!/usr/bin/env bash
# build-kernel.sh [VARIANT]: prepare the source, configure and build the kernel image (bzImage, or Image for ARCH=arm64).
. "$(dirname "$0")/common.sh"
lock_src

VARIANT=$(resolve_variant)
[ $# -ge 1 ] && VARIANT=$1
export VARIANT

T0=$(date +%s)
"$TOP/scripts/prepare-src.sh" "$VARIANT"

SRC=$(srcdir_for "$VARIANT")
OBJ=$(objdir "$VARIANT")
IMG=$(image_path "$VARIANT")
JOBS=${JOBS:-$(nproc)}
KMAKE=(make -C "$SRC" O="$OBJ" "${KARCH_ARGS[@]}")
mkdir -p "$OBJ" "$CCACHE_DIR" "$LOGDIR"

# --- configuration --------------------------------------------------------
stage "config ($ARCH): allnoconfig + $(for f in $(fragments_for "$VARIANT"); do printf '%s ' "${f#"$TOP"/}"; done)($VARIANT)"
for f in $(fragments_for "$VARIANT"); do [ -f "$f" ] || die "config fragment $f missing"; done
[ -f "$OBJ/.config" ] && cp -p "$OBJ/.config" "$OBJ/.config.prev"
cfglog="$LOGDIR/config-$VARIANT.log"
{
	"${KMAKE[@]}" allnoconfig &&
		(cd "$SRC" && ./scripts/kconfig/merge_config.sh -m -O "$OBJ" "$OBJ/.config" $(fragments_for "$VARIANT")) &&
		"${KMAKE[@]}" olddefconfig
} >"$cfglog" 2>&1 || {
	tail -40 "$cfglog" >&2
	die "kernel configuration failed (full log: $cfglog)"
}

# Every "=y" the fragments ask for must have stuck; as in merge_config, the
# last fragment that sets a symbol wins (arm64-16k.config turns 4K pages
# off). Symbols unknown to the tree (e.g. the feature's own before its
# patches land) only warn.
missing=() unknown=()
for sym in $(cat $(fragments_for "$VARIANT") | sed -n 's/^\(CONFIG_[A-Za-z0-9_]*\)=\(.*\)$/\1 \2/p; s/^# \(CONFIG_[A-Za-z0-9_]*\) is not set.*/\1 n/p' |
	awk '{ v[$1] = $2 } END { for (s in v) if (v[s] ~ /^y[[:space:]]*$/) print s }' | sort); do
	grep -qx "$sym=y" "$OBJ/.config" && continue
	if grep -rqsE --include='Kconfig*' "^[[:space:]]*(menu)?config[[:space:]]+${sym#CONFIG_}[[:space:]]*$" "$SRC"; then
		missing+=("$sym (is: $(grep -E "^$sym=|^# $sym is not set" "$OBJ/.config" || echo 'absent: unmet dependency?'))")
	else
		unknown+=("$sym")
	fi
done
for s in "${unknown[@]}"; do warn "$s is requested but does not exist in this tree (not patched in yet?)"; done
if [ ${#missing[@]} -gt 0 ]; then
	printf '    %s\n' "${missing[@]}" >&2
	die "${#missing[@]} requested =y option(s) are not =y in $OBJ/.config (typo or unmet dependency; see above)"
fi
info "config OK: all requested =y options set ($(grep -c '=y$' "$OBJ/.config") =y in .config)"

# Keep the old .config (and its mtime) when nothing changed.
if [ -f "$OBJ/.config.prev" ] && cmp -s "$OBJ/.config" "$OBJ/.config.prev"; then
	mv "$OBJ/.config.prev" "$OBJ/.config"
else
	rm -f "$OBJ/.config.prev"
	info "configuration changed"
fi

if [ -n "${CONFIG_ONLY:-}" ]; then
	stage "config only (CONFIG_ONLY=1): ${OBJ#"$TOP"/}/.config"
	exit 0
fi

# --- build ----------------------------------------------------------------
stage "build: $KIMAGE ($ARCH $VARIANT, -j$JOBS, CC='ccache ${CROSS}gcc', O=${OBJ#"$TOP"/})"
buildlog="$LOGDIR/kernel-$VARIANT.log"
tb=$(date +%s)
set +e
"${KMAKE[@]}" -j"$JOBS" "$KIMAGE" 2>&1 | tee "$buildlog"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
	echo >&2
	grep -E 'error:|Error [0-9]' "$buildlog" | head -30 >&2 || true
	die "kernel build ($VARIANT) failed (full log: $buildlog)"
fi
mkdir -p "$(dirname "$IMG")"
cp "$OBJ/$KIMAGE_OBJ" "$IMG.tmp" && mv "$IMG.tmp" "$IMG"
stage "kernel $ARCH $VARIANT ready: ${IMG#"$TOP"/} ($(du -h "$IMG" | cut -f1), Linux $(kernel_version "$SRC"))," \
	"compile $(fmt_secs $(($(date +%s) - tb))), total $(fmt_secs $(($(date +%s) - T0)))"
ccache -s 2>/dev/null | grep -iE 'hits|misses' | head -3 | sed 's/^/    ccache: /' || true
