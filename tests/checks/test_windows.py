# SPDX-License-Identifier: MIT
"""dtls_echo.exe (issue 21) under wine64: the exe in build/windows/dtls_echo-win64.zip (make
windows), unpacked into a folder of its own and run from there, against real peers on this
machine's loopback. Under wine the Linux kernel delivers the datagrams, so this cannot show
Windows's own demultiplexing; the exe never depends on it: it always runs the one-socket
server (its only mode there), which these tests exercise. Skipped when the zip is not built
(make test builds it) or wine64 is missing (scripts/deps.sh installs it)."""
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import peers  # noqa: E402
from conftest import BINARY, cert, free_port, start_server  # noqa: E402,F401 (a fixture)

ZIP = os.path.join(ROOT, "build", "windows", "dtls_echo-win64.zip")
WINE = shutil.which("wine64") or "/usr/lib/wine/wine64"
CACHE = os.environ.get("DTLS_ECHO_CACHE",
                       os.path.join(os.path.expanduser("~"), ".cache", "dtls_echo"))
# Windows's own DLLs, which every Windows has: nothing else may be needed.
SYSTEM_DLLS = {"advapi32.dll", "bcrypt.dll", "crypt32.dll", "kernel32.dll", "msvcrt.dll",
               "ncrypt.dll", "user32.dll", "ws2_32.dll"}

pytestmark = [
    pytest.mark.skipif(not os.path.exists(ZIP), reason="build/windows/dtls_echo-win64.zip is "
                       "not built (make windows)"),
    pytest.mark.skipif(not os.path.exists(WINE), reason="wine64 is not installed "
                       "(scripts/deps.sh installs it)"),
]

ENV = {**os.environ, "WINEPREFIX": os.path.join(CACHE, "wine"), "WINEDEBUG": "-all"}


@pytest.fixture(scope="module")
def exe(tmp_path_factory):
    """The exe out of the zip, alone in a folder of its own."""
    folder = tmp_path_factory.mktemp("win64")
    with zipfile.ZipFile(ZIP) as z:
        z.extractall(folder)
    path = str(folder / "dtls_echo.exe")
    # The first run makes wine's prefix (about 10 s here); every later start is quick.
    subprocess.run([WINE, path, "--version"], env=ENV, capture_output=True, timeout=180)
    return path


def run_exe(exe, *args, input=None, timeout=60, cwd=None):
    return subprocess.run([WINE, exe, *args], env=ENV, cwd=cwd or os.path.dirname(exe),
                          input=input, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def exe_server(exe, tmp_path):
    """exe_server(port, *args): the exe as a server, from its own folder, with the
    checkout's certificates given by absolute path; stopped by its PID."""
    started = []

    def start(port, *args):
        log = open(tmp_path / f"exe-server{len(started)}.log", "w+")
        proc = subprocess.Popen([WINE, exe, "-p", str(port), *args], env=ENV,
                                cwd=os.path.dirname(exe), stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, text=True)
        started.append((proc, log))
        deadline = time.monotonic() + 60
        while "UDP server ready" not in open(log.name).read():
            assert proc.poll() is None, open(log.name).read()
            assert time.monotonic() < deadline, open(log.name).read()
            time.sleep(0.05)
        return proc, log.name

    yield start
    for proc, log in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


SERVER_CERTS = ["--cert", cert("server.pem"), "--key", cert("server-key.pem")]


def linux_client(port, *args, input=None, host="127.0.0.1"):
    """Our Linux client, from the checkout (its default CA: certs/ca.pem)."""
    return subprocess.run([BINARY, "-c", "-a", host, "-p", str(port), *args], cwd=ROOT,
                          input=input, capture_output=True, text=True, timeout=60)


def test_the_zip_holds_one_exe_that_needs_only_windows_own_dlls():
    with zipfile.ZipFile(ZIP) as z:
        assert z.namelist() == ["dtls_echo.exe"]
    exe_path = os.path.join(ROOT, "build", "windows", "dtls_echo.exe")
    kind = subprocess.run(["file", "-b", exe_path], capture_output=True, text=True).stdout
    assert kind.startswith("PE32+ executable") and "x86-64" in kind, kind
    dump = subprocess.run(["x86_64-w64-mingw32-objdump", "-p", exe_path], capture_output=True,
                          text=True).stdout
    dlls = {line.split()[-1].lower() for line in dump.splitlines() if "DLL Name:" in line}
    assert dlls and dlls <= SYSTEM_DLLS, dlls


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_the_exe_server_echoes_the_linux_client(exe_server, host):
    port = free_port()
    exe_server(port, *SERVER_CERTS, "-v")
    result = linux_client(port, "-m", "hello windows", "-n", "3", host=host)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("- Received 13 bytes: hello windows") == 3


def test_fifty_linux_clients_at_once_each_get_their_own_echoes(exe_server):
    port = free_port()
    exe_server(port, *SERVER_CERTS)

    def one(i):
        lines = "".join(f"client {i} line {k}\n" for k in range(5))
        result = linux_client(port, input=lines)
        return result.returncode, result.stdout == lines, result.stderr[-300:]

    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(one, range(50)))
    assert all(code == 0 and same for code, same, _ in results), \
        [r for r in results if r[0] != 0 or not r[1]][:3]


def test_the_exe_server_in_psk_and_raw_key_modes(exe_server):
    port = free_port()
    exe_server(port, "--pskfile", cert("psk.txt"))
    result = linux_client(port, "--psk-identity", "client", "--psk-key", peers.psk_key(), "-m",
                          "psk", "-n", "1")
    assert result.returncode == 0 and "- Received 3 bytes: psk" in result.stdout, result.stderr
    port = free_port()
    exe_server(port, "--rawpk-key", cert("rawpk-key.pem"), "--rawpk-pub", cert("rawpk-pub.pem"))
    result = linux_client(port, "--pin-pubkey", cert("rawpk-pub.pem"), "-m", "raw", "-n", "1")
    assert result.returncode == 0 and "- Received 3 bytes: raw" in result.stdout, result.stderr


def test_the_exe_client_against_our_linux_server_certificates_psk_raw_keys(exe, start_server):
    port = free_port()
    start_server(port)
    result = run_exe(exe, "-c", "-a", "127.0.0.1", "-p", str(port), "--cafile", cert("ca.pem"),
                     "-m", "from windows", "-n", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("- Received 12 bytes: from windows") == 2
    port = free_port()
    start_server(port, "--pskfile", cert("psk.txt"))
    result = run_exe(exe, "-c", "-a", "127.0.0.1", "-p", str(port), "--psk-identity", "client",
                     "--psk-key", peers.psk_key(), "-m", "psk", "-n", "1")
    assert result.returncode == 0 and "- Received 3 bytes: psk" in result.stdout, result.stderr
    port = free_port()
    start_server(port, "--rawpk-key", cert("rawpk-key.pem"), "--rawpk-pub",
                 cert("rawpk-pub.pem"))
    result = run_exe(exe, "-c", "-a", "127.0.0.1", "-p", str(port), "--pin-pubkey",
                     cert("rawpk-pub.pem"), "-m", "raw", "-n", "1")
    assert result.returncode == 0 and "- Received 3 bytes: raw" in result.stdout, result.stderr


def test_the_exe_client_in_stdin_mode(exe, start_server):
    port = free_port()
    start_server(port)
    lines = "".join(f"line {k} from a pipe\n" for k in range(20))
    result = run_exe(exe, "-c", "-a", "127.0.0.1", "-p", str(port), "--cafile", cert("ca.pem"),
                     input=lines)
    assert result.returncode == 0, result.stderr
    assert result.stdout == lines


@pytest.mark.parametrize("peer", ["gnutls-serv", "openssl s_server"])
def test_the_exe_client_against_gnutls_serv_and_openssl(exe, peer):
    port = free_port()
    message = "interop from windows"
    proc = peers.SERVER_PEERS[peer]("ecdsa", "127.0.0.1", port, message)
    try:
        result = run_exe(exe, "-c", "-a", "127.0.0.1", "-p", str(port), "--cafile",
                         cert("ca.pem"), "-m", message, "-n", "2")
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(f"- Received {len(message)} bytes: {message}") == 2


def test_the_exe_client_exits_3_for_a_wrong_ca_and_4_for_no_server(exe, start_server):
    port = free_port()
    start_server(port)
    result = run_exe(exe, "-c", "-a", "127.0.0.1", "-p", str(port), "--cafile",
                     cert("other-ca.pem"), "-m", "x", "-n", "1")
    assert result.returncode == 3, result.stderr
    assert "certificate" in result.stderr
    quiet = free_port()
    result = run_exe(exe, "-c", "-a", "127.0.0.1", "-p", str(quiet), "--cafile", cert("ca.pem"),
                     "-m", "x", "-n", "1", "--connect-timeout", "3")
    assert result.returncode == 4, result.stderr


@pytest.mark.parametrize("args", [["--workers", "2"], ["--tun"], ["-c", "--tun"]])
def test_the_exe_refuses_workers_and_tun_naming_windows(exe, args):
    result = run_exe(exe, *args)
    assert result.returncode == 2, result.stderr
    assert "Linux-only" in result.stderr and "Windows" in result.stderr


def test_ctrl_c_stops_the_exe_server_closing_its_live_sessions(exe_server):
    """wine turns SIGINT into the console's Ctrl-C event: the control handler stops the
    server as SIGINT does on Linux, every live session closed (close_notify), exit 0."""
    port = free_port()
    proc, log = exe_server(port, *SERVER_CERTS)
    clients = [subprocess.Popen([BINARY, "-c", "-a", "127.0.0.1", "-p", str(port)], cwd=ROOT,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(3)]
    try:
        for i, c in enumerate(clients):
            c.stdin.write(f"live {i}\n")
            c.stdin.flush()
            assert c.stdout.readline() == f"live {i}\n"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0, open(log).read()
        assert "stopped: 3 session(s) closed" in open(log).read()
        for c in clients:  # each hears close_notify while its stdin is still open
            _, err = c.communicate(timeout=15)
            assert c.returncode == 1 and "closed the connection" in err, err
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()


def test_the_exe_client_takes_drive_letter_paths(exe, start_server):
    port = free_port()
    start_server(port)
    ca = "Z:" + cert("ca.pem").replace("/", "\\")  # wine's Z: is the Unix root
    result = run_exe(exe, "-c", "-a", "127.0.0.1", "-p", str(port), "--cafile", ca, "-m",
                     "drive", "-n", "1")
    assert result.returncode == 0 and "- Received 5 bytes: drive" in result.stdout, result.stderr


def test_without_cafile_the_exe_client_trusts_the_windows_store(exe, start_server):
    """From its own folder (no certs\\ca.pem there) and with no --cafile, the client verifies
    against Windows's certificate store, which GnuTLS reads (wine fills it from this
    machine's CA certificates): our test CA is not in it, so exit 3."""
    port = free_port()
    start_server(port)
    result = run_exe(exe, "-c", "-a", "127.0.0.1", "-p", str(port), "-m", "x", "-n", "1",
                     "-vv")
    assert "verifying the server against the system's trust store" in result.stderr, \
        result.stderr
    assert result.returncode == 3, result.stderr
