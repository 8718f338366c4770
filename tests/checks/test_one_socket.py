# SPDX-License-Identifier: MIT
"""The one-socket server (issue 21): --one-socket, the only mode on Windows, where the
listener reads every datagram and hands a served peer's to its session's inbox, and the
session answers with sendto on the same socket. It passes the server's e2e suite (echo,
every authentication mode, 50 clients isolated, the 500-burst, loss, duplication and
reordering through the relay, a client restarting on the same port, --max-clients, the idle
timeout, SIGTERM with live sessions, the flood and resource limits, bad input) as the
connected-socket server does; and it holds no socket per client."""
import os
import subprocess
import sys
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
E2E = os.path.join(ROOT, "tests", "e2e")
sys.path.insert(0, E2E)
from conftest import BINARY, Process, free_port  # noqa: E402

# The server's files (the others test the client, the packaging or Linux-only features;
# a careful user's and the wire's files, 47 s more, pass with --one-socket too when run by
# hand with DTLS_ECHO_SERVER_ARGS=--one-socket).
SUITE = ["test_core.py", "test_auth_modes.py", "test_concurrency.py", "test_faults.py",
         "test_traps.py", "test_limits.py", "test_errors.py"]
# Tests in those files where no server of ours runs.
NOT_OURS = ["test_faults.py::test_our_client_against_gnutls_serv_at_10_percent_loss"]


def test_the_server_suite_passes_with_one_socket():
    env = {**os.environ, "DTLS_ECHO_SERVER_ARGS": "--one-socket"}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             *[os.path.join(E2E, name) for name in SUITE],
                             *[f"--deselect={os.path.join(E2E, name)}" for name in NOT_OURS]],
                            cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=900)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    print(f"--one-socket: {summary}")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in summary and " failed" not in summary


def sockets_of(pid):
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except FileNotFoundError:
            pass
    return count


@pytest.mark.parametrize("mode, extra", [([], 10), (["--one-socket"], 0)])
def test_one_socket_holds_no_socket_per_client(tmp_path, mode, extra):
    """Ten live clients: ten more sockets in the connected-socket server, none with one."""
    port = free_port()
    server = Process([BINARY, "-p", str(port), *mode], tmp_path, "server")
    clients = []
    try:
        server.wait_for("UDP server ready")
        before = sockets_of(server.proc.pid)
        for i in range(10):
            c = subprocess.Popen([BINARY, "-c", "-a", "127.0.0.1", "-p", str(port)], cwd=ROOT,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            clients.append(c)
            c.stdin.write(f"client {i}\n")
            c.stdin.flush()
            assert c.stdout.readline() == f"client {i}\n"
        during = sockets_of(server.proc.pid)
        for c in clients:
            c.stdin.close()
            assert c.wait(timeout=15) == 0
        deadline = time.monotonic() + 10
        while sockets_of(server.proc.pid) != before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert during - before == extra, (before, during)
        assert sockets_of(server.proc.pid) == before
        assert server.stop() == 0
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
        if server.proc.poll() is None:
            server.proc.kill()


def test_one_socket_refuses_tun_in_words():
    result = subprocess.run([BINARY, "--tun", "--one-socket"], capture_output=True, text=True,
                            timeout=10)
    assert result.returncode == 2
    assert "cannot use --tun with --one-socket" in result.stderr
