#!/bin/sh
# SPDX-License-Identifier: MIT
# windows.sh SOURCES... - cross-builds dtls_echo.exe for Windows (x86_64) on Linux and
# packs build/windows/dtls_echo-win64.zip: `make windows` runs it.
#   - the compiler: Debian's mingw-w64, the posix-threads flavour (winpthreads);
#   - GnuTLS, nettle, gmp: static libraries cross-built from Debian 12's own source
#     packages by scripts/windows-deps.sh, cached outside the checkout by version (a
#     second build takes seconds);
#   - one static exe (GnuTLS and the C runtime's threads inside; Windows's own DLLs
#     only: ws2_32, crypt32, ncrypt, bcrypt, advapi32), runnable from any folder.
# Plain flags (-std=gnu11 -Wall -Wextra -Werror): a platform's macros come from the sources.
set -eu
[ $# -gt 0 ] || { echo "usage: windows.sh SOURCE.c..." >&2; exit 2; }
host=x86_64-w64-mingw32
cc=$host-gcc-posix
out=build/windows
command -v "$cc" >/dev/null 2>&1 ||
    { echo "windows.sh: $cc not found (apt-get install gcc-mingw-w64-x86-64-posix; scripts/deps.sh does)" >&2; exit 1; }
prefix=$(scripts/windows-deps.sh | tail -n 1)
[ -f "$prefix/lib/libgnutls.a" ] || { echo "windows.sh: no GnuTLS for Windows in '$prefix'" >&2; exit 1; }

mkdir -p "$out/obj"
# mingw-w64's C99 printf (%zu), and GnuTLS linked static (platform_windows.c then gives its
# allocator variables' import pointers).
flags="-std=gnu11 -Wall -Wextra -Werror -O2 -D__USE_MINGW_ANSI_STDIO=1 -DDTLS_ECHO_GNUTLS_STATIC -I$prefix/include"
objects=""
for source in "$@"; do
    object=$out/obj/$(basename "$source" .c).o
    if [ ! -f "$object" ] || [ "$source" -nt "$object" ] || [ "$0" -nt "$object" ] ||
        [ -n "$(find src -name '*.h' -newer "$object")" ]; then
        # shellcheck disable=SC2086
        "$cc" $flags -c -o "$object" "$source"
    fi
    objects="$objects $object"
done
libs=$(PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig" pkg-config --static --libs gnutls)
# shellcheck disable=SC2086
"$cc" -static -O2 -o "$out/dtls_echo.exe" $objects $libs -lws2_32 -lcrypt32 -lncrypt \
    -lbcrypt -ladvapi32 -pthread
"$host-strip" "$out/dtls_echo.exe"
rm -f "$out/dtls_echo-win64.zip"
(cd "$out" && zip -q -9 dtls_echo-win64.zip dtls_echo.exe)
echo "windows.sh: $out/dtls_echo-win64.zip"
