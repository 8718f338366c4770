# SPDX-License-Identifier: MIT
"""Shared helpers for the end-to-end tests: the real binary, real peers, real UDP sockets
on loopback. Each test gets its own free port; every wait is bounded."""
import os
import signal
import socket
import subprocess
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# DTLS_ECHO_BINARY: run the suite against another build (tests/checks: sanitizers).
BINARY = os.environ.get("DTLS_ECHO_BINARY", os.path.join(ROOT, "dtls_echo"))
# The clients of the load tests (hundreds of processes): only load, the server is under
# test; the sanitizer runs keep them uninstrumented so two cores can carry them.
LOAD_CLIENT = os.environ.get("DTLS_ECHO_CLIENT_BINARY", BINARY)
CERTS = os.path.join(ROOT, "certs")
# DTLS_ECHO_SERVER_ARGS: options every server started by start_server gets (the server's
# tests run again with --one-socket: tests/checks/test_one_socket.py).
SERVER_ARGS = os.environ.get("DTLS_ECHO_SERVER_ARGS", "").split()
ONE_SOCKET = "--one-socket" in SERVER_ARGS
# DTLS_ECHO_PORTABLE=1: the binary is the portable build (make posix: what macOS runs),
# which refuses --workers and --tun; the tests of those skip, saying so.
PORTABLE = os.environ.get("DTLS_ECHO_PORTABLE") == "1"
linux_only = pytest.mark.skipif(
    PORTABLE, reason="Linux only: the portable build (macOS's path) refuses --workers and --tun")


def _c_constant(header, name):
    import re
    with open(os.path.join(ROOT, "src", header)) as f:
        return int(re.search(rf"#define {name} (\d+)", f.read()).group(1))


# A client handshake attempt lasts this many --timeout periods (src/session.h): timing
# bounds derive from it, so a change there moves them too.
HANDSHAKE_ROUNDS = _c_constant("session.h", "SESSION_HANDSHAKE_ROUNDS")


def cert(name):
    return os.path.join(CERTS, name)


def free_port():
    """A UDP port free on both the IPv6 and the IPv4 wildcard."""
    for _ in range(50):
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.bind(("::", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s4:
                s4.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free UDP port")


class Process:
    """A background process whose stdout and stderr go to files we can read while it runs."""

    def __init__(self, args, tmp_path, name, stdin=subprocess.DEVNULL):
        self.out_path = tmp_path / f"{name}.out"
        self.err_path = tmp_path / f"{name}.err"
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=self.out, stderr=self.err,
                                     stdin=stdin)

    def stdout(self):
        return self.out_path.read_text(errors="replace")

    def stderr(self):
        return self.err_path.read_text(errors="replace")

    def wait_for(self, text, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.stdout() or text in self.stderr():
                return True
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"'{text}' not seen within {timeout}s; stdout={self.stdout()!r} "
                             f"stderr={self.stderr()!r}")

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Signals the process and returns its exit code (killing it if it overstays)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"process did not exit within {timeout}s after signal {sig}")
        finally:
            self.out.close()
            self.err.close()


def wait_bound(port, timeout=5.0, host="127.0.0.1"):
    """Waits until something holds UDP port on host (a bind of our own fails)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.bind((host, port))
        except OSError:
            return
        time.sleep(0.02)
    raise AssertionError(f"nothing bound UDP port {port} within {timeout}s")


@pytest.fixture
def port():
    return free_port()


@pytest.fixture
def start_server(tmp_path):
    """start_server(port, *extra_args) -> Process, once it printed its ready line."""
    started = []

    def start(port, *args, ready="UDP server ready"):
        """ready="" for a quiet server: then wait until its port is bound."""
        server = Process([BINARY, "-p", str(port), *args, *SERVER_ARGS], tmp_path,
                         f"server{len(started)}")
        started.append(server)
        if ready:
            server.wait_for(ready)
        else:
            wait_bound(port)
        return server

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.stop(signal.SIGKILL)


def run_client(port, *args, input=None, timeout=30):
    """Runs our client to completion; returns the CompletedProcess (text)."""
    return subprocess.run([BINARY, "-c", "-p", str(port), *args], cwd=ROOT, input=input,
                          capture_output=True, text=True, timeout=timeout)


RELAY = os.path.join(ROOT, "tests", "relay", "udp_relay")


@pytest.fixture
def start_relay(tmp_path):
    """start_relay(listen_port, target_port, *fault_args) -> Process (udp_relay)."""
    started = []

    def start(listen_port, target_port, *args, host="127.0.0.1", duration=60):
        target = f"[{host}]:{target_port}" if ":" in host else f"{host}:{target_port}"
        relay = Process([RELAY, "-l", str(listen_port), "-t", target, "--duration",
                         str(duration), *args], tmp_path, f"relay{len(started)}")
        started.append(relay)
        relay.wait_for("udp_relay: ready")
        return relay

    yield start
    for relay in started:
        if relay.proc.poll() is None:
            relay.stop()


def relay_counts(relay):
    """The counters udp_relay prints when it stops: {"up": {"in": N, "out": N, "dropped": N,
    "duplicated": N, "reordered": N}, "down": {...}}. Fails when the line is missing."""
    import re
    match = re.search(r"udp_relay: up (.*); down (.*)$", relay.stderr(), re.MULTILINE)
    assert match, f"no counters from the relay: {relay.stderr()!r}"
    return {direction: {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", text)}
            for direction, text in (("up", match.group(1)), ("down", match.group(2)))}


def drain(sock):
    """Reads every datagram already queued on sock; returns how many there were."""
    sock.setblocking(False)
    count = 0
    try:
        while True:
            sock.recv(65536)
            count += 1
    except BlockingIOError:
        return count


def capture_client_hello():
    """A real ClientHello (no cookie yet): our client's first datagram to a silent socket."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as trap:
        trap.bind(("127.0.0.1", 0))
        trap.settimeout(5)
        client = subprocess.Popen([BINARY, "-c", "-a", "127.0.0.1", "-p",
                                   str(trap.getsockname()[1]), "-m", "x", "--timeout", "100",
                                   "--retries", "0"], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            hello, _ = trap.recvfrom(65536)
        finally:
            client.wait(timeout=10)
    return hello


def with_cookie(hello, cookie):
    """The same ClientHello, second flight: message_seq and record sequence 1, the cookie in."""
    body = hello[25:]
    sid_len = body[34]
    cookie_at = 35 + sid_len
    old_cookie_len = body[cookie_at]
    new_body = (body[:cookie_at] + bytes([len(cookie)]) + cookie
                + body[cookie_at + 1 + old_cookie_len:])
    length = len(new_body).to_bytes(3, "big")
    handshake = bytes([1]) + length + (1).to_bytes(2, "big") + (0).to_bytes(3, "big") + length
    record = hello[:3] + (0).to_bytes(2, "big") + (1).to_bytes(6, "big")
    return record + len(handshake + new_body).to_bytes(2, "big") + handshake + new_body


def cookie_exchange(sock, port, hello):
    """Sends hello, reads the HelloVerifyRequest, returns the ClientHello with the cookie.
    Resends like a DTLS client would (up to 10 times, 0.5 s apart)."""
    sock.settimeout(0.5)
    for _ in range(10):
        sock.sendto(hello, ("127.0.0.1", port))
        try:
            reply = sock.recv(65536)
            break
        except socket.timeout:
            continue
    else:
        raise AssertionError("no HelloVerifyRequest after 10 ClientHellos")
    assert reply[0] == 22 and reply[13] == 3, "expected a HelloVerifyRequest"
    cookie_len = reply[27]
    return reply, with_cookie(hello, reply[28:28 + cookie_len])


def pytest_terminal_summary(terminalreporter):
    """Prints the interop matrix when the matrix tests ran."""
    import sys
    matrix = sys.modules.get("test_matrix")
    if matrix is None or not matrix.RESULTS:
        return
    import peers
    table = format_matrix(matrix.RESULTS, peers.MODES, peers.versions())
    terminalreporter.write_line("")
    for line in table.splitlines():
        terminalreporter.write_line(line)
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    with open(os.path.join(ROOT, "build", "interop-matrix.md"), "w") as f:
        f.write(table + "\n")


def format_matrix(results, modes, versions):
    """A Markdown table: one row per peer and direction, one column per mode; a cell says
    how many of the address x size runs passed, or points to why the pair cannot run."""
    rows = sorted({(direction, peer) for direction, peer, _ in results})
    notes = []
    lines = ["| pair | " + " | ".join(modes) + " |", "|---" * (len(modes) + 1) + "|"]
    for direction, peer in rows:
        label = (f"{peer} -> dtls_echo server" if direction == "client"
                 else f"dtls_echo client -> {peer}")
        cells = []
        for mode in modes:
            runs = results.get((direction, peer, mode))
            if runs is None:
                cells.append("not run")
            elif isinstance(runs, str):
                if runs not in notes:
                    notes.append(runs)
                cells.append(f"unsupported [{notes.index(runs) + 1}]")
            else:
                passed = sum(1 for _, _, ok in runs if ok)
                cells.append(f"{'pass' if passed == len(runs) else 'FAIL'} {passed}/{len(runs)}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"[{i + 1}] {note}" for i, note in enumerate(notes)]
    lines.append("Each cell counts IPv4 and IPv6 runs, each with a short and a 1000-byte message.")
    lines.append("Peers: " + "; ".join(versions.values()))
    return "\n".join(lines)
