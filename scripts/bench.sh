#!/bin/sh
# SPDX-License-Identifier: MIT
# bench.sh - the benchmark (`make bench`): dtls_echo, gnutls-serv --udp --echo and a plain
# UDP echo server under the same loads from dtls_echo's load generator, on loopback.
# Writes RESULTS.md, results.json and the plots into build/bench/ (--out DIR; the
# committed bench/ takes only a full run: see scripts/bench.py).
#
# Usage: scripts/bench.sh [--quick] [--runs N] [--out DIR]
#   --quick   small loads, one run each: the short run CI makes so the bench cannot rot
set -eu
cd "$(dirname "$0")/.."
for tool in gnutls-serv gnutls-cli gnuplot python3 stdbuf; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "bench.sh: $tool is missing: run 'make deps' (or scripts/deps.sh)" >&2
        exit 1
    }
done
for built in dtls_echo build/posix/dtls_echo tests/bench/udp_echo tests/bench/dtls_reference certs/server.pem; do
    [ -e "$built" ] || { echo "bench.sh: $built is missing: run 'make bench'" >&2; exit 1; }
done
exec python3 scripts/bench.py "$@"
