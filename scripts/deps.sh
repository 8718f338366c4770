#!/bin/sh
# deps.sh - installs the Debian packages dtls_echo needs to build and test, if missing:
# the compiler and GnuTLS, and the test peers (gnutls-bin, openssl, tshark, Node.js for
# node-dtls-client, whose npm packages `make test` installs from the lock file; iproute2
# and procps (sysctl) for the tests that build network namespaces; libnl-route and
# libcap for the tunnel; ping for its tests; iperf3, wireguard-go, wireguard-tools and
# socat for its benchmark).
# As root it runs apt-get; otherwise it prints the exact apt-get line and fails.
set -eu
packages="build-essential pkg-config libgnutls28-dev gnutls-bin libcmocka-dev python3
python3-pytest openssl tshark valgrind clang libclang-rt-14-dev gnuplot-nox iproute2
procps libnl-3-dev libnl-route-3-dev libcap-dev iputils-ping iperf3 wireguard-go
wireguard-tools socat"
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
# the defaults (no, no) are right here; nothing is left running.
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
