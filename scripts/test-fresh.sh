#!/bin/sh
# SPDX-License-Identifier: MIT
# test-fresh.sh - does the set-up work on a fresh Debian 12? Builds a minimal Debian 12
# root in a temporary folder with mmdebstrap (from Debian's archive), adds only make and
# git, clones this repository's committed HEAD into it, and runs the README's two
# commands there, `make run` and `make test`, as root in a chroot. Prints each step and a
# last line "test-fresh: PASSED" or "test-fresh: FAILED (...)"; exits 0 or 1.
# Needs root (chroot, mounts) and the network to Debian's archive. KEEP=1 keeps the root.
set -eu
cd "$(dirname "$0")/.."
die() { echo "test-fresh: FAILED ($1)"; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root: it builds a chroot"
if ! command -v mmdebstrap >/dev/null 2>&1; then
    echo "test-fresh: installing mmdebstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        mmdebstrap >/dev/null || die "cannot install mmdebstrap"
fi
root=$(mktemp -d /tmp/dtls_echo-fresh.XXXXXX)
mounted=""
self_mounted=""
cleanup() {
    for m in $mounted; do umount -l "$root$m" 2>/dev/null || true; done
    [ -n "$self_mounted" ] && umount -l "$root" 2>/dev/null || true
    [ -n "${KEEP:-}" ] && { echo "test-fresh: root kept in $root"; return; }
    rm -rf "$root"
}
trap cleanup EXIT INT TERM
mirror=http://deb.debian.org/debian
echo "test-fresh: building a Debian 12 root in $root (minbase, make, git)"
mmdebstrap --quiet --variant=minbase --include=make,git,ca-certificates bookworm "$root" \
    "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main" ||
    die "mmdebstrap could not build the root"
git clone --quiet . "$root/root/dtls_echo" || die "git clone"
# The root is a mount point on a real machine, and `ip netns exec` (the tunnel's tests)
# needs it to be one: it makes / a slave mount, which fails on a plain directory.
mount --bind "$root" "$root" && self_mounted=1
for m in /proc /sys /dev /dev/pts /run; do
    mkdir -p "$root$m"
    mount --bind "$m" "$root$m" && mounted="$m $mounted"
done
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
# What the Debian installer writes on every machine; mmdebstrap's minbase root lacks it.
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
# The machine's own trust anchors (a network that inspects TLS adds its CA there): the
# root is fresh in what Debian and we install, not in how this machine reaches the net.
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null 2>&1 || die "update-ca-certificates"
fi
run() { # what, command
    echo "test-fresh: $1"
    chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        TERM=dumb CI=true ${NODE_EXTRA_CA_CERTS:+NODE_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS} \
        sh -c "cd /root/dtls_echo && $2"
}
run "make run" "make run" ||
    die "make run"
run "make test" "make test" | tee "$root/test.log" || true
tail -n 1 "$root/test.log" | grep -Eq " passed" && ! tail -n 1 "$root/test.log" | grep -q failed ||
    die "make test: $(tail -n 1 "$root/test.log")"
echo "test-fresh: PASSED ($(tail -n 1 "$root/test.log"))"
