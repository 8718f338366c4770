# SPDX-License-Identifier: MIT
"""The portable path (issue 20): build/posix/dtls_echo, what macOS and the BSDs run, built
on Linux by `make posix`, imports none of Linux's fast paths, refuses --workers and --tun in
words, and passes the echo suite (both modes, every authentication mode, resumption, IPv6,
loss through the relay, 50 clients at once, stdin mode, SIGTERM, bad input, the load
generator on poll). And every source compiles and links for macOS, arm64 and x86_64
(`make macos`: zig's clang, GnuTLS's headers, a stub of libgnutls's exports)."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
E2E = os.path.join(ROOT, "tests", "e2e")
POSIX = os.path.join(ROOT, "build", "posix", "dtls_echo")
LINUX_ONLY = ("epoll_create1", "epoll_ctl", "epoll_wait", "recvmmsg", "sendmmsg", "pipe2",
              "pidfd_open", "prctl", "signalfd", "eventfd", "cap_get_proc")
# The e2e files of the echo server, the client and the load generator: both modes, every
# authentication mode, resumption, IPv6, loss through the relay, 50 and 500 clients at
# once, stdin mode, SIGTERM, bad input, the load generator. Not the Linux-only features'
# (workers, the tunnel, packaging), nor those that test no platform code twice over (the
# interop matrix, a careful user's and the limits' files: about 50 s more, all passing
# against this build too when run by hand with DTLS_ECHO_PORTABLE=1).
SUITE = ["test_core.py", "test_auth_modes.py", "test_concurrency.py", "test_faults.py",
         "test_errors.py", "test_traps.py", "test_load.py"]

pytestmark = pytest.mark.skipif(not os.path.exists(POSIX),
                                reason="build/posix/dtls_echo is not built (make posix)")


def test_the_portable_build_imports_none_of_linux_fast_paths():
    imported = subprocess.run(["nm", "-D", "--undefined-only", POSIX], capture_output=True,
                              text=True, check=True).stdout
    names = {line.split()[-1].split("@")[0] for line in imported.splitlines() if line.strip()}
    assert names & set(LINUX_ONLY) == set()
    assert {"recvmsg", "sendmsg", "poll", "pipe"} <= names
    libraries = subprocess.run(["ldd", POSIX], capture_output=True, text=True).stdout
    assert "libnl" not in libraries and "libcap" not in libraries
    native = subprocess.run(["nm", "-D", "--undefined-only", os.path.join(ROOT, "dtls_echo")],
                            capture_output=True, text=True, check=True).stdout
    assert "recvmmsg" in native and "epoll_wait" in native  # Linux keeps its fast paths


@pytest.mark.parametrize("args, words", [
    (["--workers", "2"], "--workers is Linux-only"),
    (["--tun"], "--tun is Linux-only"),
    (["-c", "--tun"], "--tun is Linux-only"),
])
def test_the_portable_build_refuses_workers_and_tun_in_words(args, words):
    result = subprocess.run([POSIX, *args], capture_output=True, text=True, timeout=10)
    assert result.returncode == 2, result.stderr
    assert words in result.stderr and "the portable build" in result.stderr


def test_the_echo_suite_passes_against_the_portable_build():
    env = {**os.environ, "DTLS_ECHO_BINARY": POSIX, "DTLS_ECHO_CLIENT_BINARY": POSIX,
           "DTLS_ECHO_PORTABLE": "1"}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             *[os.path.join(E2E, name) for name in SUITE]], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=900)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    print(f"build/posix/dtls_echo: {summary}")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in summary


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is needed to fetch zig")
def test_every_source_compiles_and_links_for_macos():
    result = subprocess.run(["make", "--no-print-directory", "macos"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for arch, magic in (("arm64", "arm64"), ("x86_64", "x86_64")):
        path = os.path.join(ROOT, "build", "macos", f"dtls_echo-{arch}")
        kind = subprocess.run(["file", "-b", path], capture_output=True, text=True).stdout
        assert kind.startswith("Mach-O 64-bit") and magic in kind, kind
