#!/bin/sh
# SPDX-License-Identifier: MIT
# fuzz.sh [SECONDS]
# Builds (with `make fuzzers`) the libFuzzer harnesses of tests/fuzz/ (fuzz_options: the
# command line parser; fuzz_datagram: the listener's datagram path; fuzz_tunnel: the
# tunnel's control messages and its TUN offloads) into build/fuzz/ with
# clang, AddressSanitizer and UndefinedBehaviorSanitizer, and runs each for SECONDS (default 60)
# on a fresh copy of its seed corpus in build/fuzz/work/, so the committed corpus never
# grows. Prints one line per harness, "fuzz_X: N runs, no crash", or the crash, leak,
# timeout or broken assertion with the saved input and how to replay it; exits 1 then.
# Needs clang and its libFuzzer runtime (Debian: clang and libclang-rt-14-dev) and
# GnuTLS's development files. CLANG=clang-15 picks another compiler.
# Flag lists ($sanitize, $cflags, $libs, $dict) are split into words on purpose.
# shellcheck disable=SC2086
set -eu
die() { echo "fuzz.sh: $1" >&2; exit "${2:-2}"; }

seconds=${1:-60}
case $seconds in
    ''|*[!0-9]*|0*) die "SECONDS must be a whole number of seconds from 1, not '$seconds'" ;;
esac
[ $# -le 1 ] || die "usage: fuzz.sh [SECONDS]"
cd "$(dirname "$0")/.."

clang=${CLANG:-clang}
out=build/fuzz
command -v "$clang" >/dev/null 2>&1 ||
    die "$clang not found: install the Debian packages clang and libclang-rt-14-dev (apt-get install clang libclang-rt-14-dev)" 1
if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists gnutls; then
    die "GnuTLS development files not found: install the Debian packages pkg-config and libgnutls28-dev" 1
fi

sanitize="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
mkdir -p "$out/obj" "$out/artifacts"

# A fuzz target that does nothing: links only when the libFuzzer and sanitizer runtimes
# are installed, which clang itself does not guarantee.
probe_src=$out/obj/probe.c
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' >"$probe_src"
if ! "$clang" $sanitize -o "$out/obj/probe" "$probe_src" >"$out/obj/probe.log" 2>&1; then
    major=$("$clang" -dumpversion 2>/dev/null | cut -d. -f1)
    runtime_dir=$("$clang" --print-runtime-dir 2>/dev/null || true)
    die "$clang cannot link a libFuzzer target (no libclang_rt.fuzzer${runtime_dir:+ in $runtime_dir}): install the Debian package libclang-rt-${major:-14}-dev (apt-get install libclang-rt-${major:-14}-dev); details in $out/obj/probe.log" 1
fi

# The Makefile builds the harnesses (same warnings as the rest) and the dictionary.
make --no-print-directory -s CLANG="$clang" fuzzers >"$out/obj/build.log" 2>&1 ||
    die "cannot build the harnesses: see $out/obj/build.log" 1

# Runs harness $1 on a copy of corpus $2 with at most $3-byte inputs; prints its line.
failed=0
run() {
    name=$1 corpus=tests/fuzz/corpus/$2 max_len=$3
    work=$out/work/$2 log=$out/$name.log dict=""
    rm -rf "$work"
    mkdir -p "$work"
    cp -R "$corpus/." "$work/"
    [ -f "$out/$2.dict" ] && dict="-dict=$out/$2.dict"
    if UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
        "$out/$name" -max_total_time="$seconds" -timeout=10 -max_len="$max_len" \
        -print_final_stats=1 -artifact_prefix="$out/artifacts/$name-" $dict "$work" \
        >"$log" 2>&1; then
        runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log")
        echo "$name: ${runs:-?} runs, no crash"
        return 0
    fi
    failed=1
    input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    what=$(grep -m 1 -E 'contract broken|^SUMMARY: |ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|runtime error' "$log" || true)
    if [ -n "$input" ]; then
        echo "$name: FAILED: ${what:-see $log}; input $input (replay: $out/$name $input; log $log)"
    else
        echo "$name: FAILED without an input: ${what:-$(tail -n 1 "$log")} (log $log)"
    fi
}
run fuzz_options options 1024
run fuzz_datagram datagram 2048
run fuzz_tunnel tunnel 2048
exit $failed
