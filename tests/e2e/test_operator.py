# SPDX-License-Identifier: MIT
"""What an operator needs (issue 22): the items done so far. The HelloVerifyRequest's record
sequence number is in test_wire.py (it needs tshark)."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

import peers
from conftest import (BINARY, ROOT, Process, capture_client_hello, cert, cookie_exchange,
                      free_port, linux_only)


def test_help_and_the_man_page_give_the_workers_range():
    help_text = subprocess.run([BINARY, "--help"], capture_output=True, text=True,
                               timeout=10).stdout
    workers = help_text[help_text.index("--workers"):]
    assert "(1-256; auto: one per CPU)" in " ".join(workers.split()[:40])
    man = os.path.join(ROOT, "dtls_echo.1")
    if os.path.exists(man):
        with open(man) as f:
            assert "(1\\-256; auto: one per CPU)" in f.read()  # roff: \\- is a minus
    for value, code in (("257", 2), ("0", 2)):
        result = subprocess.run([BINARY, "-p", str(free_port()), "--workers", value],
                                capture_output=True, text=True, timeout=10)
        assert result.returncode == code and "1 to 256" in result.stderr, result.stderr


def children_of(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(child) for child in f.read().split()]


def quiet_server_with_two_workers(port, start_server):
    """A -q server with --workers 2, once both workers run (-q hides their start lines)."""
    server = start_server(port, "--workers", "2", "-q", ready="")
    deadline = time.monotonic() + 10
    while len(children_of(server.proc.pid)) < 2:
        assert time.monotonic() < deadline, server.stderr()
        time.sleep(0.05)
    return server


@linux_only
def test_quiet_still_shows_a_worker_that_died_and_was_replaced(port, start_server):
    server = quiet_server_with_two_workers(port, start_server)
    deadline = time.monotonic() + 10
    victim = children_of(server.proc.pid)[0]
    os.kill(victim, signal.SIGKILL)
    line = re.compile(rf"error: worker \d \(pid {victim}\) killed by signal 9 .*: starting another")
    while not line.search(server.stderr()) and time.monotonic() < deadline + 10:
        time.sleep(0.05)
    assert line.search(server.stderr()), server.stderr()
    assert server.stop() == 0, server.stderr()


@pytest.mark.parametrize("args, address", [
    ([], "[::] (IPv6 and IPv4)"),
    (["-6"], "[::] (IPv6 only)"),
    (["-4"], "0.0.0.0 (IPv4 only)"),
    (["-a", "127.0.0.1"], "127.0.0.1"),
    (["-a", "::1"], "[::1]"),
])
def test_the_ready_line_keeps_the_classic_words_and_adds_the_address(port, start_server,
                                                                    args, address):
    server = start_server(port, *args)
    assert server.stdout().splitlines()[0] == \
        f"UDP server ready. Listening to port '{port}'. Address: {address}"


def test_a_link_local_address_without_its_interface_is_said_so():
    result = subprocess.run([BINARY, "-c", "-a", "fe80::1", "-p", "5556", "-m", "x"],
                            capture_output=True, text=True, timeout=10)
    assert result.returncode != 0
    assert "a link-local address needs its interface: add %NAME, as in fe80::1%eth0" in \
        result.stderr, result.stderr
    assert "Invalid argument" not in result.stderr


@pytest.mark.parametrize("option", ["--session-out", "--session-in"])
def test_the_load_generator_refuses_session_files(tmp_path, option):
    result = subprocess.run([BINARY, "-c", "--clients", "2", option, str(tmp_path / "s"), "-p",
                             str(free_port())], capture_output=True, text=True, timeout=10)
    assert result.returncode == 2
    assert f"cannot use {option} with --clients" in result.stderr, result.stderr


def test_the_load_generators_json_has_its_exit_code_and_each_rate_its_time(port,
                                                                         start_server):
    start_server(port)
    run = lambda *args: subprocess.run([BINARY, "-c", "-a", "127.0.0.1", "-p", str(port),
                                        "--insecure", "--clients", "4", "-n", "5", *args],
                                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    result = run("--json")
    summary = json.loads(result.stdout)
    assert result.returncode == 0 and summary["exit_code"] == 0
    for kind in ("handshakes", "echoes"):
        assert 0 < summary[kind]["over_s"] <= summary["elapsed_s"]
        assert summary[kind]["per_s"] == pytest.approx(
            summary[kind]["count"] / summary[kind]["over_s"], rel=0.05)
    text = run().stdout
    assert re.search(r"handshakes: 4, [\d.]+/s over [\d.]+ s;", text), text
    assert re.search(r"echoes: 20 of 64 bytes, [\d.]+/s over [\d.]+ s,", text), text
    # Nothing listening: the run fails, and the JSON says with which code.
    result = subprocess.run([BINARY, "-c", "-a", "127.0.0.1", "-p", str(free_port()),
                             "--insecure", "--clients", "2", "-n", "1", "--json",
                             "--duration", "3"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    assert json.loads(result.stdout)["exit_code"] == result.returncode


@linux_only
def test_workers_auto_counts_the_cpus_the_process_may_run_on(port, tmp_path):
    """taskset -c 0 ... --workers auto: one worker, not one per online CPU."""
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs 2 CPUs to tell affinity from the online count")
    server = Process(["taskset", "-c", "0", BINARY, "-p", str(port), "--workers", "auto",
                      "-v"], tmp_path, "pinned")
    try:
        server.wait_for("UDP server ready")
        time.sleep(0.5)
        assert "worker" not in server.stderr(), server.stderr()  # one: no workers at all
        assert children_of(server.proc.pid) == []
    finally:
        assert server.stop() == 0, server.stderr()
    server = Process(["taskset", "-c", "0,1", BINARY, "-p", str(free_port()), "--workers",
                      "auto", "-v"], tmp_path, "both")
    try:
        server.wait_for("worker 2 started")
    finally:
        assert server.stop() == 0, server.stderr()


def wait_in(read, text, timeout=10):
    deadline = time.monotonic() + timeout
    while text not in read() and time.monotonic() < deadline:
        time.sleep(0.05)
    return read()


def live_client(port, line):
    """Our client in stdin mode, its session held open once line came back."""
    client = subprocess.Popen([BINARY, "-c", "-a", "127.0.0.1", "-p", str(port)], cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    client.stdin.write(line)
    client.stdin.flush()
    assert client.stdout.readline() == line
    return client


def test_sigusr1_writes_one_status_line_even_with_q_and_sigusr2_is_ignored(port,
                                                                          start_server):
    server = start_server(port, "-q", "--max-clients", "1", "--handshake-timeout", "1",
                          ready="")
    holder = live_client(port, "held\n")
    try:
        refused = subprocess.run([BINARY, "-c", "-a", "127.0.0.1", "-p", str(port), "-m", "x",
                                  "--connect-timeout", "2"], capture_output=True, timeout=30)
        assert refused.returncode != 0
        server.proc.send_signal(signal.SIGUSR2)  # no use for it: ignored, not fatal
        server.proc.send_signal(signal.SIGUSR1)
        stderr = wait_in(server.stderr, "status:")
        assert server.proc.poll() is None
        line = next(l for l in stderr.splitlines() if "status:" in l)
        assert line.startswith("dtls_echo: status: 1 session(s) live (0 handshaking), "
                               "1 accepted, "), line
        assert re.search(r", refused [1-9]\d* \(--max-clients\), 0 \(--max-handshakes\), 0 "
                         r"\(--max-handshakes-per-source\); failed: ", line), line
        assert stderr.count("status:") == 1
    finally:
        holder.kill()
        holder.wait()
    assert server.stop() == 0


@linux_only
def test_sigusr1_reaches_every_worker(port, start_server):
    server = quiet_server_with_two_workers(port, start_server)
    deadline = time.monotonic() + 10
    time.sleep(0.5)  # the workers' handlers are installed before they serve
    server.proc.send_signal(signal.SIGUSR1)
    while server.stderr().count("status:") < 2 and time.monotonic() < deadline + 10:
        time.sleep(0.05)
    lines = sorted(l for l in server.stderr().splitlines() if "status:" in l)
    assert [l.split(":")[1].strip() for l in lines] == ["worker 1", "worker 2"], lines
    assert server.stop() == 0


def run_until_status(port, tmp_path, journal_stream):
    """A server's stderr (a file) until its --anon warning and SIGUSR1's status line, with
    JOURNAL_STREAM naming that file (True) or another one (False)."""
    log = tmp_path / f"stderr-{journal_stream}.log"
    with open(log, "w") as err:
        st = os.fstat(err.fileno())
        stream = f"{st.st_dev}:{st.st_ino}" if journal_stream else f"{st.st_dev}:1"
        server = subprocess.Popen([BINARY, "-p", str(port), "--anon"], cwd=ROOT,
                                  env=dict(os.environ, JOURNAL_STREAM=stream),
                                  stdout=subprocess.DEVNULL, stderr=err)
        try:
            wait_in(log.read_text, "--anon")
            server.send_signal(signal.SIGUSR1)
            return wait_in(log.read_text, "status:").splitlines()
        finally:
            server.terminate()
            server.wait(timeout=10)


def test_under_the_journal_each_line_carries_its_priority(tmp_path):
    """JOURNAL_STREAM names stderr's device and inode when systemd connected it to the
    journal: lines then start with <4> (a warning), <5> (the status line), as sd-daemon(3)
    has it, so that journalctl -p warning finds them; elsewhere no prefix."""
    lines = run_until_status(free_port(), tmp_path, True)
    assert any(l.startswith("<4>dtls_echo: warning: --anon") for l in lines), lines
    assert any(l.startswith("<5>dtls_echo: status: ") for l in lines), lines
    lines = run_until_status(free_port(), tmp_path, False)
    assert any(l.startswith("dtls_echo: warning: --anon") for l in lines), lines
    assert any(l.startswith("dtls_echo: status: ") for l in lines), lines


def test_check_mode_reads_what_a_start_reads_and_says_ok_or_why_not(tmp_path):
    ticket = tmp_path / "ticket.key"
    assert subprocess.run([BINARY, "--genkey", str(ticket)], timeout=10).returncode == 0
    check = lambda *args: subprocess.run([BINARY, "--check", "-p", str(free_port()),
                                          "--ticket-key-file", str(ticket), *args], cwd=ROOT,
                                         capture_output=True, text=True, timeout=10)
    good = check()
    assert good.returncode == 0 and "configuration OK" in good.stdout, good.stderr
    ticket.write_text("garbage\n")
    bad = check()
    assert bad.returncode == 2 and "is not a key of 128 hex digits" in bad.stderr, bad.stderr
    assert subprocess.run([BINARY, "--genkey", str(ticket)], timeout=10).returncode == 0
    ticket.chmod(0o644)
    bad = check()
    assert bad.returncode == 2 and "readable by group or others" in bad.stderr, bad.stderr
    ticket.chmod(0o600)
    bad = check("--cert", str(tmp_path / "none.pem"), "--key", str(tmp_path / "none.pem"))
    assert bad.returncode == 2 and "none.pem" in bad.stderr, bad.stderr
    # -t, as nginx -t; and nothing was bound: the same port checks twice while a server
    # holds it.
    port = free_port()
    server = subprocess.Popen([BINARY, "-p", str(port), "-q"], cwd=ROOT)
    try:
        time.sleep(0.3)
        again = subprocess.run([BINARY, "-t", "-p", str(port)], cwd=ROOT,
                               capture_output=True, text=True, timeout=10)
        assert again.returncode == 0, again.stderr
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_half_open_handshakes_from_one_address_cannot_take_every_slot(port, start_server):
    """60 cookie-valid ClientHellos from 127.0.0.2 that never finish, against --max-clients
    50: 25 (half, the default --max-handshakes-per-source) are taken, the rest refused and
    said once; a real client from another address is served at once."""
    server = start_server(port, "--max-clients", "50", "--handshake-timeout", "10")
    hello = capture_client_hello()
    socks = []
    try:
        for _ in range(60):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.2", 0))
            socks.append(sock)
            _, second = cookie_exchange(sock, port, hello)
            sock.sendto(second, ("127.0.0.1", port))  # and never a word more
        wait_in(server.stderr, "--max-handshakes-per-source")
        result = subprocess.run([BINARY, "-c", "-a", "127.0.0.1", "-p", str(port), "-m", "real",
                                 "-n", "1", "--connect-timeout", "5"], cwd=ROOT,
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        server.proc.send_signal(signal.SIGUSR1)
        status = wait_in(server.stderr, "status:")
    finally:
        for sock in socks:
            sock.close()
    assert status.count("IPv4 127.0.0.2 refused: 25 handshakes already under way from this "
                        "address (--max-handshakes-per-source)") == 1, status
    # 25 half-open, and the real client's session while it lasts.
    assert re.search(r"status: 2[56] session\(s\) live \(25 handshaking\), 26 accepted, refused "
                     r"0 \(--max-clients\), 0 \(--max-handshakes\), 35 "
                     r"\(--max-handshakes-per-source\)", status), status


def test_the_session_log_says_who_what_and_why_and_never_a_payload(port, start_server):
    server = start_server(port, "--session-log", "--pskfile", cert("psk.txt"))
    result = subprocess.run([BINARY, "-c", "-a", "127.0.0.1", "-p", str(port),
                             "--psk-identity", "client", "--psk-key", peers.psk_key(), "-m",
                             "secret payload", "-n", "3"], cwd=ROOT, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    stderr = wait_in(server.stderr, "session end:")
    assert re.search(r"dtls_echo: session start: IPv4 127\.0\.0\.1 port \d+: psk:client, "
                     r"\(DTLS1\.2\)-\([^)]+\)-\([^)]+\), new", stderr), stderr
    assert re.search(r"dtls_echo: session end: IPv4 127\.0\.0\.1 port \d+ after [\d.]+ s: in 3 "
                     r"record\(s\), 42 byte\(s\); out 3 record\(s\), 42 byte\(s\); "
                     r"close_notify", stderr), stderr
    # Outside the journal each line carries the time (UTC, to the millisecond).
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z dtls_echo: ", line)
               for line in stderr.splitlines()), stderr
    assert server.stop() == 0
    everything = server.stdout() + server.stderr()
    assert "secret payload" not in everything and "received[" not in everything
    assert "Accepted connection" not in everything and "EOF" not in server.stdout()


def served_subject(port):
    result = subprocess.run([BINARY, "-c", "-a", "127.0.0.1", "-p", str(port), "--insecure",
                             "--print-cert", "-m", "x", "-n", "1"], cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return re.search(r"subject `?([^,'`]+)", result.stdout + result.stderr).group(1)


def test_sighup_reads_the_certificate_and_key_again_for_new_sessions(port, start_server,
                                                                     tmp_path):
    cert_file, key_file = tmp_path / "server.pem", tmp_path / "server-key.pem"
    shutil.copy(cert("server.pem"), cert_file)
    shutil.copy(cert("server-key.pem"), key_file)
    server = start_server(port, "--cert", str(cert_file), "--key", str(key_file))
    assert served_subject(port) == "CN=server"
    live = live_client(port, "before\n")
    try:
        # A renewed certificate: in place, then SIGHUP; no restart.
        shutil.copy(cert("other-server.pem"), cert_file)
        shutil.copy(cert("other-server-key.pem"), key_file)
        server.proc.send_signal(signal.SIGHUP)
        wait_in(server.stderr, "read again for new sessions")
        assert served_subject(port) == "CN=other-server"
        live.stdin.write("after\n")  # the live session kept its credentials
        live.stdin.flush()
        assert live.stdout.readline() == "after\n"
        # One that cannot be read: said, and the one in use stays.
        cert_file.write_text("garbage\n")
        server.proc.send_signal(signal.SIGHUP)
        wait_in(server.stderr, "the certificate and keys in use stay")
        assert served_subject(port) == "CN=other-server"
    finally:
        live.stdin.close()
        live.wait(timeout=15)
    assert server.stop() == 0
