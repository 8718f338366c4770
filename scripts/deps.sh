#!/bin/sh
# SPDX-License-Identifier: MIT
# deps.sh - installs the Debian packages dtls_echo needs to build and test, if missing:
# the compiler and GnuTLS, and the test peers (gnutls-bin, openssl, tshark, Node.js for
# node-dtls-client, whose npm packages `make test` installs from the lock file; iproute2
# and procps (sysctl) for the tests that build network namespaces; libnl-route and
# libcap for the tunnel; ping for its tests; iperf3, wireguard-go and wireguard-tools
# for its benchmark; nginx with its stream module, the UDP load balancer in front
# of replicas, which the tests start as their own process); ca-certificates (the system
# trust store an installed client falls back to), man-db (the man page's render test),
# debhelper, fakeroot and lintian to build and check the .deb, and file (the macOS
# build's check that it made Mach-O executables); for Windows (make windows): Debian's
# mingw-w64 (posix threads), dpkg-dev, autoconf, automake and libtool to build GnuTLS,
# nettle and gmp from Debian's source packages, zip, and wine64 to run the exe's tests.
# As root it runs apt-get; otherwise it prints the exact apt-get line and fails.
set -eu
case "$(uname -s)" in
    Linux) ;;
    Darwin)
        # macOS builds the echo server, the client and the load generator (the portable
        # path); the test suite and its peers are Linux's.
        pkg-config --exists gnutls 2>/dev/null && exit 0
        echo "deps.sh: on macOS, run: brew install gnutls pkg-config" >&2
        exit 1 ;;
    *)
        pkg-config --exists gnutls 2>/dev/null && exit 0
        echo "deps.sh: install GnuTLS and pkg-config (FreeBSD: pkg install gnutls pkgconf gmake)" >&2
        exit 1 ;;
esac
packages="build-essential pkg-config libgnutls28-dev gnutls-bin libcmocka-dev python3
python3-pytest openssl tshark valgrind clang libclang-rt-14-dev gnuplot-nox iproute2
procps libnl-3-dev libnl-route-3-dev libcap-dev iputils-ping iperf3 wireguard-go
wireguard-tools nginx-light libnginx-mod-stream ca-certificates man-db debhelper
fakeroot lintian file gcc-mingw-w64-x86-64-posix dpkg-dev autoconf automake libtool m4
zip wine64"
# Node.js may come from elsewhere (the machine image has its own); only install Debian's
# when there is none.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || packages="$packages nodejs npm"
missing=""
for p in $packages; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: missing packages:$missing" >&2
    echo "deps.sh: run: sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture, iperf3 whether to run as a daemon:
# the defaults (no, no) are right here. nginx's package would start it as a service and
# enable it at boot: a policy-rc.d that refuses (101) keeps it from starting while we
# install, and it is disabled afterwards. Nothing is left running.
apt-get update -qq
policy=/usr/sbin/policy-rc.d
saved=""
if [ -e "$policy" ]; then
    saved=$(mktemp)
    cp -p "$policy" "$saved"
fi
restore_policy() {
    if [ -n "$saved" ]; then mv "$saved" "$policy"; else rm -f "$policy"; fi
}
trap restore_policy EXIT
printf '#!/bin/sh\nexit 101\n' > "$policy"
chmod 755 "$policy"
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
case " $missing " in
    *" nginx-light "*)
        if [ -d /run/systemd/system ]; then
            systemctl disable --now nginx >/dev/null 2>&1 || true
        else
            update-rc.d nginx disable >/dev/null 2>&1 || true
        fi ;;
esac
