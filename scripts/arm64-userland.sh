#!/usr/bin/env bash
# arm64-userland.sh: Debian's arm64 busybox-static, stress-ng and fio, with
# the shared libraries they need, unpacked into build/arm64/sysroot for the
# arm64 initramfs and tools image (scripts/build-initramfs.sh, ARCH=arm64).
#
# The packages come from Debian's own arm64 archive (dpkg
# --add-architecture arm64, done by make deps) with `apt-get download`, and
# are unpacked with dpkg-deb -x: nothing is installed on the host. Which
# library packages are needed is worked out from the binaries themselves:
# every DT_NEEDED soname that is not in the sysroot yet is looked up in the
# host's dpkg database (the amd64 build of the same library, installed with
# x86's stress-ng and fio) and that package's arm64 build is fetched, until
# every binary and library resolves. A soname nobody provides stops the
# build. For each tool, build/arm64/sysroot/.libs-<tool> lists the
# libraries and the dynamic loader it needs (paths inside the sysroot).
. "$(dirname "$0")/common.sh"

ROOT="$BUILD/arm64/sysroot"
DEBS="$BUILD/arm64/debs"
TOOLS=(stress-ng fio)
# libc6 up front: it holds the dynamic loader, which no soname lookup finds.
TOP_PKGS=(busybox-static stress-ng fio libc6)
STAMP="$ROOT/.stamp"
# The stamp names the packages asked for and the arm64 versions apt offers;
# a new Debian point release of any of them refetches everything.
want="${TOP_PKGS[*]} $(apt-cache policy "${TOP_PKGS[@]/%/:arm64}" 2>/dev/null | awk '/Candidate:/ { printf "%s ", $2 }')"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
	exit 0
fi

stage "arm64 userland: Debian's arm64 ${TOP_PKGS[*]}, and their libraries into ${ROOT#"$TOP"/}"
[[ " $(dpkg --print-foreign-architectures | tr "\n" " ") " == *" arm64 "* ]] ||
	die "dpkg has no arm64 architecture (make deps adds it: dpkg --add-architecture arm64 && apt-get update)"
rm -rf "$ROOT"
mkdir -p "$ROOT" "$DEBS"

# fetch PKG...: download the arm64 .debs (kept in build/arm64/debs) and unpack.
fetch() {
	local p deb
	(cd "$DEBS" && apt-get download -q -o APT::Sandbox::User=root "${@/%/:arm64}" >/dev/null) ||
		die "apt-get download of arm64 package(s) failed: $* (is arm64 in the apt sources? apt-get update)"
	for p in "$@"; do
		deb=$(ls -t "$DEBS/${p}_"*_arm64.deb 2>/dev/null | head -n 1)
		[ -n "$deb" ] || die "apt-get download left no ${p}_*_arm64.deb in ${DEBS#"$TOP"/}"
		dpkg-deb -x "$deb" "$ROOT"
		info "unpacked $(basename "$deb")"
	done
}

# in_root PATH: follow symlinks inside the sysroot (absolute links are
# relative to it, not to the host) and print the real path.
in_root() {
	local p=$1 t n=0
	while [ -L "$p" ] && [ $n -lt 20 ]; do
		t=$(readlink "$p")
		case "$t" in /*) p="$ROOT$t" ;; *) p="$(dirname "$p")/$t" ;; esac
		n=$((n + 1))
	done
	[ -e "$p" ] && echo "$p"
}

# Library directories glibc's ld.so searches on Debian arm64 without an
# ld.so.cache, plus those the packages add in /etc/ld.so.conf.d.
SEARCH=(/lib/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu /lib /usr/lib)
search_dirs() {
	local f
	printf '%s\n' "${SEARCH[@]}"
	for f in "$ROOT"/etc/ld.so.conf.d/*.conf; do [ -f "$f" ] && grep -E '^/' "$f"; done
	return 0
}

# resolve GUESTPATH: print "GUESTPATH" of the binary's interpreter and every
# library it needs, transitively; unresolved sonames go to stderr as
# "missing SONAME".
resolve() {
	local -A done_=()
	local queue=("$1") elf host so d found runpath interp
	while [ ${#queue[@]} -gt 0 ]; do
		elf=${queue[0]}
		queue=("${queue[@]:1}")
		[ -n "${done_[$elf]:-}" ] && continue
		done_[$elf]=1
		host=$(in_root "$ROOT$elf") || { echo "missing $elf" >&2 && continue; }
		[ "$elf" = "$1" ] || echo "$elf"
		interp=$(readelf -lW "$host" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
		[ -n "$interp" ] && queue+=("$interp")
		runpath=$(readelf -dW "$host" | sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]/\2/p' | tr ':' ' ')
		runpath=${runpath//\$ORIGIN/$(dirname "$elf")}
		for so in $(readelf -dW "$host" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			found=
			for d in $runpath $(search_dirs); do
				if [ -e "$ROOT$d/$so" ] || [ -L "$ROOT$d/$so" ]; then
					found="$d/$so"
					break
				fi
			done
			if [ -n "$found" ]; then queue+=("$found"); else echo "missing $so" >&2; fi
		done
	done
}

fetch "${TOP_PKGS[@]}"
for round in 1 2 3 4 5 6 7 8; do
	missing=$(for t in "${TOOLS[@]}"; do resolve "/usr/bin/$t" 2>&1 >/dev/null; done | sed -n 's/^missing //p' | sort -u)
	[ -z "$missing" ] && break
	pkgs=()
	for so in $missing; do
		# The same library's amd64 package (x86's stress-ng and fio need it).
		p=$(dpkg -S "x86_64-linux-gnu/$so" 2>/dev/null | head -n 1 | cut -d: -f1) ||
			true
		[ -n "$p" ] || die "no Debian package known for $so (needed by the arm64 stress-ng or fio)"
		[[ " ${pkgs[*]} " == *" $p "* ]] || pkgs+=("$p")
	done
	info "round $round: $(echo "$missing" | wc -w) soname(s) missing -> ${pkgs[*]}"
	fetch "${pkgs[@]}"
done
[ -z "$missing" ] || die "arm64 libraries still missing after 8 rounds: $missing"

for t in "${TOOLS[@]}"; do
	resolve "/usr/bin/$t" >"$ROOT/.libs-$t"
	info "$t: $(wc -l <"$ROOT/.libs-$t") libraries and loader"
done
[ -x "$ROOT/bin/busybox" ] || die "busybox-static:arm64 has no /bin/busybox"
echo "$want" >"$STAMP"
info "arm64 userland ready ($(du -sm "$ROOT" | cut -f1) MiB unpacked, .debs in ${DEBS#"$TOP"/})"
