#!/bin/sh
# SPDX-License-Identifier: MIT
# windows-deps.sh - GnuTLS for Windows (x86_64, static libraries), cross-built on Debian
# with its mingw-w64 compiler (the posix-threads flavour) from Debian 12's own source
# packages: gmp, nettle (with hogweed) and GnuTLS (with the libtasn1 and libunistring it
# includes). Everything goes into a cache folder named by the versions, outside the
# checkout: a second run finds it and takes no time. Prints the prefix (include/, lib/,
# lib/pkgconfig/) on its last line. Groundwork of `make windows` (issue 21).
#
# The source packages come through apt with a private list of deb-src entries made from
# the system's own Debian entries, and private lists and caches under the cache folder:
# the system's apt configuration is left as it is. Needs gcc-mingw-w64-x86-64-posix,
# dpkg-dev (dpkg-source), autoconf, automake, libtool and m4.
set -eu
cache=${DTLS_ECHO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dtls_echo}
host=x86_64-w64-mingw32
cc=$host-gcc-posix
jobs=$(nproc 2>/dev/null || echo 2)
die() { echo "windows-deps.sh: $1" >&2; exit 1; }
for tool in "$cc" dpkg-source autoreconf libtoolize make; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "$tool not found (apt-get install gcc-mingw-w64-x86-64-posix dpkg-dev autoconf automake libtool)"
done

# Debian's source packages, as its own apt fetches them.
apt_dir=$cache/apt
mkdir -p "$apt_dir/sources" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    grep -q '^Types:.*deb' "$f" || continue
    sed 's/^Types:.*/Types: deb-src/' "$f" > "$apt_dir/sources/$(basename "$f")"
done
if [ -f /etc/apt/sources.list ]; then
    sed -n 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list > "$apt_dir/sources/system.list"
fi
apt() {
    apt-get -q -o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt_dir/sources" \
        -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" \
        -o Debug::NoLocking=1 -o "APT::Sandbox::User=$(id -un)" "$@"
}
src=$cache/mingw-src
if [ ! -d "$src" ] || [ -z "$(ls -d "$src"/gnutls28-*/ 2>/dev/null)" ]; then
    echo "windows-deps.sh: fetching Debian's source packages gmp, nettle, gnutls28" >&2
    apt update >/dev/null || die "apt-get update (the deb-src lists) failed"
    rm -rf "$src.partial"
    mkdir -p "$src.partial"
    (cd "$src.partial" && apt source gmp nettle gnutls28 >/dev/null) ||
        die "apt-get source gmp nettle gnutls28 failed"
    rm -rf "$src"
    mv "$src.partial" "$src"
fi
gmp_dir=$(ls -d "$src"/gmp-*/ | head -n 1)
nettle_dir=$(ls -d "$src"/nettle-*/ | head -n 1)
gnutls_dir=$(ls -d "$src"/gnutls28-*/ | head -n 1)
version() { basename "$1" | sed 's/^[a-z0-9]*-//'; }
prefix=$cache/mingw-gnutls-$(version "$gnutls_dir")-nettle-$(version "$nettle_dir")-gmp-$(version "$gmp_dir")
if [ -f "$prefix/lib/libgnutls.a" ]; then
    echo "$prefix"
    exit 0
fi

# The trees are copied with their times (cp -a): files generated in the tarball must stay
# newer than their sources, or make wants the generators (asn1Parser, gperf) back.
build=$cache/mingw-build
rm -rf "$build" "$prefix.partial"
mkdir -p "$build"
log=$build/build.log
step() { # name, then the commands, run in the build folder of that name
    name=$1; shift
    echo "windows-deps.sh: $name: $*" >&2
    (cd "$build/$name" && "$@") >>"$log" 2>&1 || die "$name failed: see $log"
}
common="--host=$host --prefix=$prefix.partial --disable-shared --enable-static"

# gmp: Debian's tarball has no doc/ (its build runs autoreconf after a patch that drops
# it), so configure is made again as Debian does.
cp -a "$gmp_dir" "$build/gmp"
step gmp autoreconf -fi
# shellcheck disable=SC2086
step gmp ./configure $common CC="$cc"
step gmp make -j"$jobs"
step gmp make install

# nettle, with hogweed (on gmp); desdata and eccdata are build-time tools for this host.
cp -a "$nettle_dir" "$build/nettle"
rm -f "$build/nettle/desdata.stamp" # shipped in the tarball, without desdata itself
# shellcheck disable=SC2086
step nettle ./configure $common CC="$cc" CC_FOR_BUILD=cc --disable-documentation \
    --with-include-path="$prefix.partial/include" --with-lib-path="$prefix.partial/lib"
step nettle make -j"$jobs"
step nettle make install

# GnuTLS: what dtls_echo uses; no p11-kit, IDN, compression, TPM, tools or docs.
cp -a "$gnutls_dir" "$build/gnutls"
# shellcheck disable=SC2086
step gnutls env PKG_CONFIG_LIBDIR="$prefix.partial/lib/pkgconfig" \
    GMP_CFLAGS="-I$prefix.partial/include" GMP_LIBS="-L$prefix.partial/lib -lgmp" \
    ./configure $common CC="$cc" --with-included-libtasn1 --with-included-unistring \
    --without-p11-kit --without-idn --without-zstd --without-brotli --without-zlib \
    --without-tpm --without-tpm2 --disable-tests --disable-doc --disable-tools --disable-cxx \
    --disable-guile --disable-nls
step gnutls make -j"$jobs"
step gnutls make install

# The prefix is written into the .pc files: point them at the final folder.
sed -i "s|$prefix.partial|$prefix|g" "$prefix.partial"/lib/pkgconfig/*.pc
mv "$prefix.partial" "$prefix"
rm -rf "$build"
echo "$prefix"
