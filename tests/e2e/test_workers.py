# SPDX-License-Identifier: MIT
"""--workers N (issue 11): worker processes, each a whole server on its own socket of one
SO_REUSEPORT group, under a parent that restarts a dead one and stops them all. Checked:
500 clients at once with every echo back on its own session (the design's reuseport trap:
a client's datagrams reach its own connected socket, never a listener of the group), on
the wildcard and on one address; 50 clients x 20 messages isolated with both workers
serving; kill -9 of a worker under load, its clients reconnecting while the other
worker's never notice; the keys shared across the processes (a cookie issued by a
worker accepted by the worker started in its place, a session resumed there); SIGHUP
passed on; SIGTERM stops them all, exit 0."""
import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import (BINARY, ONE_SOCKET, ROOT, capture_client_hello, cookie_exchange,
                      free_port, linux_only, run_client)

pytestmark = linux_only

WORKER_STARTED = re.compile(r"worker (\d+) started \(pid (\d+)\)")
WORKER_STOPPED = re.compile(r"worker (\d+): stopped: (\d+) session\(s\) closed, (\d+) accepted")


def workers_of(server, count, timeout=5.0):
    """{worker number: pid} of the workers running now, from the parent's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = {}
        for number, pid in WORKER_STARTED.findall(server.stderr()):
            pids[int(number)] = int(pid)  # the latest start of each
        if len(pids) == count and all(os.path.exists(f"/proc/{p}") for p in pids.values()):
            return pids
        time.sleep(0.05)
    raise AssertionError(f"{count} workers not started: {server.stderr()!r}")


def accepted_per_worker(stderr):
    """{worker number: clients accepted} from the workers' stop lines, summed over restarts."""
    counts = {}
    for number, _, accepted in WORKER_STOPPED.findall(stderr):
        counts[int(number)] = counts.get(int(number), 0) + int(accepted)
    return counts


def stop_cleanly(server, workers):
    assert server.stop(signal.SIGTERM) == 0, server.stderr()
    assert sorted(accepted_per_worker(server.stderr())) == list(range(1, workers + 1)), \
        server.stderr()
    for pid in workers_of_log(server):
        assert not os.path.exists(f"/proc/{pid}/status") or "zombie" in open(
            f"/proc/{pid}/status").read(), f"worker {pid} outlived its parent"


def workers_of_log(server):
    return [int(pid) for _, pid in WORKER_STARTED.findall(server.stderr())]


def socket_ports(pid):
    """The (local port, remote port) of every UDP socket process pid holds."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    ports = set()
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add((int(fields[1].split(":")[1], 16),
                               int(fields[2].split(":")[1], 16)))
    return ports


@pytest.mark.parametrize("args, message", [
    (["--workers", "0"], "--workers: '0' is neither auto nor a number from 1 to 256"),
    (["--workers", "two"], "--workers: 'two' is neither auto nor a number from 1 to 256"),
    (["--workers", "2", "--tun"], "cannot use --workers with --tun"),
    (["-c", "--workers", "2"], "--workers is a server option"),
])
def test_workers_options_are_checked(args, message):
    result = subprocess.run([BINARY, *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=10)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_workers_auto_is_one_per_cpu_and_a_busy_port_is_refused(start_server):
    port = free_port()
    server = start_server(port, "--workers", "auto")
    assert len(workers_of(server, os.cpu_count())) == os.cpu_count()
    # The port is the group's: neither another server nor other workers join it.
    for extra in ([], ["--workers", "2"]):
        result = subprocess.run([BINARY, "-p", str(port), *extra], cwd=ROOT,
                                capture_output=True, text=True, timeout=10)
        assert result.returncode == 1 and "Address already in use" in result.stderr, result
    stop_cleanly(server, os.cpu_count())


@pytest.mark.parametrize("address", [None, "127.0.0.1", "::1"])
def test_500_clients_at_once_each_reach_their_own_session(start_server, address):
    """A datagram of a served client that reached a listener of the group would be lost
    (a listener ignores what is not a ClientHello): every echo back means none was."""
    port = free_port()
    bind = ["-a", address] if address else []
    server = start_server(port, "--workers", "2", "--max-clients", "1000", *bind)
    load = subprocess.run([BINARY, "-c", "-a", address or "127.0.0.1", "-p", str(port),
                           "--clients", "500", "--count", "5", "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert load.returncode == 0, load.stderr
    summary = json.loads(load.stdout)
    assert summary["handshakes"]["count"] == 500, summary
    assert summary["echoes"]["count"] == 2500 and summary["failures"]["total"] == 0, summary
    assert server.stop(signal.SIGTERM) == 0, server.stderr()


def test_two_workers_serve_50_clients_of_20_messages_isolated(start_server):
    port = free_port()
    server = start_server(port, "--workers", "2")
    workers_of(server, 2)
    load = subprocess.run([BINARY, "-c", "-a", "127.0.0.1", "-p", str(port), "--clients",
                           "50", "--count", "20", "--json"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert load.returncode == 0, load.stderr
    summary = json.loads(load.stdout)
    assert summary["echoes"]["count"] == 1000 and summary["failures"]["total"] == 0, \
        summary
    stop_cleanly(server, 2)
    accepted = accepted_per_worker(server.stderr())
    assert sum(accepted.values()) == 50 and min(accepted.values()) > 0, accepted


@pytest.mark.skipif(ONE_SOCKET, reason="finds a client's worker by its connected socket, "
                    "which --one-socket has not")
def test_a_killed_worker_is_replaced_and_only_its_clients_reconnect(start_server):
    port = free_port()
    server = start_server(port, "--workers", "2")
    pids = workers_of(server, 2)
    clients = [subprocess.Popen([BINARY, "-c", "-a", "127.0.0.1", "-p", str(port),
                                 "--reconnect", "3", "--timeout", "300", "--retries", "1"],
                                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(12)]
    try:
        for c in clients:
            c.stdin.write("one\n")
            c.stdin.flush()
        for c in clients:
            assert c.stdout.readline() == "one\n"
        # Which worker serves which client: the worker's socket connected to its port.
        served_by = {}
        for number, pid in pids.items():
            remote = {r for _, r in socket_ports(pid)}
            for c in clients:
                if any(local in remote for local, _ in socket_ports(c.pid)):
                    served_by[c.pid] = number
        assert len(served_by) == 12 and set(served_by.values()) == {1, 2}, served_by
        os.kill(pids[1], signal.SIGKILL)
        replaced = workers_of(server, 2)
        deadline = time.monotonic() + 5
        while replaced[1] == pids[1] and time.monotonic() < deadline:
            time.sleep(0.05)
            replaced = workers_of(server, 2)
        assert replaced[1] != pids[1] and replaced[2] == pids[2], server.stderr()
        for c in clients:
            c.stdin.write("two\n")
            c.stdin.flush()
        results = [(c, *c.communicate(timeout=60)) for c in clients]  # EOF: close_notify
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
    for c, out, err in results:
        assert c.returncode == 0 and out == "two\n", (out, err)
        reconnected = "- Reconnected" in err
        assert reconnected == (served_by[c.pid] == 1), (served_by[c.pid], err)
    assert f"worker 1 (pid {pids[1]}) killed by signal 9" in server.stderr()
    # The new worker 1 serves: of up to 16 new clients, one lands on it (each, 1 in 2).
    for _ in range(16):
        c = subprocess.Popen([BINARY, "-c", "-a", "127.0.0.1", "-p", str(port)], cwd=ROOT,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            c.stdin.write("three\n")
            c.stdin.flush()
            assert c.stdout.readline() == "three\n"
            new_remote = {r for _, r in socket_ports(replaced[1])}
            on_new = any(local in new_remote for local, _ in socket_ports(c.pid))
            c.communicate(timeout=15)
        finally:
            if c.poll() is None:
                c.kill()
        if on_new:
            break
    else:
        pytest.fail("16 new clients, none on the new worker 1")
    stop_cleanly(server, 2)


def test_the_workers_share_the_cookie_secret_and_the_ticket_key(tmp_path, start_server):
    """Deterministically across processes: the worker started in place of a killed one
    accepts the cookie its predecessor issued and resumes the session it started."""
    port = free_port()
    server = start_server(port, "--workers", "2")
    pids = workers_of(server, 2)
    session = tmp_path / "session"
    first = run_client(port, "-a", "127.0.0.1", "-m", "first", "-n", "1", "--session-out",
                       str(session))
    assert first.returncode == 0, first.stderr
    hello = capture_client_hello()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        _, with_cookie = cookie_exchange(sock, port, hello)
        for pid in pids.values():
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while set(workers_of(server, 2).values()) & set(pids.values()):
            assert time.monotonic() < deadline, server.stderr()
            time.sleep(0.05)
        sock.sendto(with_cookie, ("127.0.0.1", port))
        sock.settimeout(5)
        reply = sock.recv(65536)
        assert reply[0] == 22 and reply[13] == 2, reply[:16]  # a ServerHello, no new cookie
    resumed = run_client(port, "-a", "127.0.0.1", "-m", "again", "-n", "1", "--session-in",
                         str(session))
    assert resumed.returncode == 0 and "- Session was resumed" in resumed.stdout, resumed
    assert server.stop(signal.SIGTERM) == 0


def test_sighup_reaches_every_worker(tmp_path, start_server):
    key = tmp_path / "cookie.key"
    assert subprocess.run([BINARY, "--genkey", str(key)], cwd=ROOT,
                          timeout=10).returncode == 0
    port = free_port()
    server = start_server(port, "--workers", "2", "--cookie-key-file", str(key))
    workers_of(server, 2)
    subprocess.run([BINARY, "--genkey", str(key)], cwd=ROOT, timeout=10, check=True)
    server.proc.send_signal(signal.SIGHUP)
    for worker in (1, 2):
        server.wait_for(f"worker {worker}: SIGHUP: new cookie key")
    assert run_client(port, "-m", "x", "-n", "1").returncode == 0
    stop_cleanly(server, 2)


def test_sigterm_closes_every_workers_sessions(start_server):
    port = free_port()
    server = start_server(port, "--workers", "2")
    workers_of(server, 2)
    clients = [subprocess.Popen([BINARY, "-c", "-a", "127.0.0.1", "-p", str(port)], cwd=ROOT,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(10)]
    try:
        for c in clients:
            c.stdin.write("hi\n")
            c.stdin.flush()
            assert c.stdout.readline() == "hi\n"
        assert server.stop(signal.SIGTERM) == 0, server.stderr()
        closed = sum(int(n) for _, n, _ in WORKER_STOPPED.findall(server.stderr()))
        assert closed == 10, server.stderr()
        for c in clients:  # each was told: close_notify, before its stdin ended (exit 1)
            c.wait(timeout=15)
            out, err = c.communicate(timeout=15)
            assert c.returncode == 1 and "Peer has closed the DTLS connection" in err, err
            assert "before the end of stdin" in err, err
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
