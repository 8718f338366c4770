# SPDX-License-Identifier: MIT
"""Replicas that share secrets (issue 11, the first part): key files made by --genkey
(mode 0600, refused when others may read them), a cookie issued by one replica accepted
by another with the same --cookie-key-file and refused without it, a session saved with
--session-out on one replica resumed with --session-in on another that has the same
--ticket-key-file (a full handshake on one that has not), and both files read again on
SIGHUP without a restart, the previous cookie key accepted for one more period; and the
client's --reconnect across a server killed and replaced."""
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import BINARY, ROOT, capture_client_hello, cookie_exchange, free_port, run_client


def genkey(path):
    result = subprocess.run([BINARY, "--genkey", str(path)], cwd=ROOT, capture_output=True,
                            text=True, timeout=10)
    assert result.returncode == 0, result.stderr
    return path


def test_genkey_writes_a_private_random_key(tmp_path):
    first, second = genkey(tmp_path / "a.key"), genkey(tmp_path / "b.key")
    for path in (first, second):
        assert os.stat(path).st_mode & 0o777 == 0o600
        text = path.read_text()
        assert len(text) == 129 and text.endswith("\n") and int(text, 16) >= 0
    assert first.read_text() != second.read_text()
    # An existing file is replaced and made private.
    path = tmp_path / "open.key"
    path.write_text("old")
    path.chmod(0o644)
    genkey(path)
    assert os.stat(path).st_mode & 0o777 == 0o600 and len(path.read_text()) == 129


@pytest.mark.parametrize("option", ["--cookie-key-file", "--ticket-key-file"])
def test_a_key_file_others_may_read_missing_or_malformed_is_refused(tmp_path, option):
    readable = genkey(tmp_path / "readable.key")
    readable.chmod(0o640)
    garbage = tmp_path / "garbage.key"
    garbage.write_text("not a key\n")
    garbage.chmod(0o600)
    for path, message in ((readable, "is readable by group or others (mode 640)"),
                          (tmp_path / "missing.key", "cannot read"),
                          (garbage, "is not a key of 128 hex digits")):
        result = subprocess.run([BINARY, "-p", str(free_port()), option, str(path)], cwd=ROOT,
                                capture_output=True, text=True, timeout=10)
        assert result.returncode == 1 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (["--genkey", "k", "-p", "5"], "--genkey writes a key and exits"),
    (["-c", "--session-in", "s", "--resume", "-m", "x"], "cannot use --session-in with"),
    (["--session-out", "s"], "--session-out is a client option"),
    (["-c", "--tun", "--reconnect", "3"], "cannot use --reconnect with --tun"),
    (["-c", "--reconnect", "1001"], "--reconnect: '1001' is not a number from 0 to 1000"),
])
def test_replica_options_are_checked(args, message):
    result = subprocess.run([BINARY, *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=10)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_a_cookie_from_one_replica_is_accepted_by_another_with_the_shared_key(
        tmp_path, start_server):
    shared = genkey(tmp_path / "cookie.key")
    other = genkey(tmp_path / "other.key")
    ports = [free_port() for _ in range(3)]
    start_server(ports[0], "--cookie-key-file", str(shared))
    start_server(ports[1], "--cookie-key-file", str(shared))
    start_server(ports[2], "--cookie-key-file", str(other))
    hello = capture_client_hello()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        _, with_cookie = cookie_exchange(sock, ports[0], hello)  # the cookie of replica A
        for port, expected in ((ports[1], 2), (ports[2], 3)):
            sock.sendto(with_cookie, ("127.0.0.1", port))
            reply = sock.recv(65536)
            # B (same key) goes on with a ServerHello (2); C (another key) asks again (3).
            assert reply[0] == 22 and reply[13] == expected, (port, reply[:16])


def test_a_session_saved_on_one_replica_resumes_on_another_with_the_shared_ticket_key(
        tmp_path, start_server):
    shared = genkey(tmp_path / "ticket.key")
    ports = [free_port() for _ in range(3)]
    start_server(ports[0], "--ticket-key-file", str(shared))
    start_server(ports[1], "--ticket-key-file", str(shared))
    start_server(ports[2])  # a random ticket key of its own
    session = tmp_path / "session"
    first = run_client(ports[0], "-m", "first", "-n", "1", "--session-out", str(session))
    assert first.returncode == 0, first.stderr
    assert os.stat(session).st_mode & 0o777 == 0o600 and session.stat().st_size > 100
    resumed = run_client(ports[1], "-m", "again", "-n", "1", "--session-in", str(session))
    assert resumed.returncode == 0 and "- Session was resumed" in resumed.stdout, resumed
    assert "- Received 5 bytes: again" in resumed.stdout
    full = run_client(ports[2], "-m", "again", "-n", "1", "--session-in", str(session))
    assert full.returncode == 0, full.stderr
    assert "- Session was not resumed: a full handshake" in full.stdout


def test_a_saved_session_file_that_is_not_one_is_a_clear_error(tmp_path, start_server):
    port = free_port()
    start_server(port)
    garbage = tmp_path / "session"
    garbage.write_bytes(b"\x00garbage" * 10)
    garbage.chmod(0o600)
    result = run_client(port, "-m", "x", "--session-in", str(garbage))
    assert result.returncode == 1 and "is not a dtls_echo session file" in result.stderr, result
    garbage.write_bytes(b"dtls_echo session 1\n" + b"\x00garbage" * 10)  # ours, damaged
    result = run_client(port, "-m", "x", "--session-in", str(garbage))
    assert result.returncode == 1 and "holds no session to resume" in result.stderr, result
    garbage.chmod(0o644)
    result = run_client(port, "-m", "x", "--session-in", str(garbage))
    assert result.returncode == 1 and "readable by group or others" in result.stderr


def test_sighup_reads_both_key_files_again_and_the_previous_cookie_key_lasts_a_period(
        tmp_path, start_server):
    cookie_key, ticket_key = genkey(tmp_path / "cookie.key"), genkey(tmp_path / "ticket.key")
    port, new_port = free_port(), free_port()
    server = start_server(port, "--cookie-key-file", str(cookie_key), "--ticket-key-file",
                          str(ticket_key), "--cookie-rotate", "2")
    session = tmp_path / "session"
    assert run_client(port, "-m", "x", "-n", "1", "--session-out", str(session)).returncode == 0
    hello = capture_client_hello()
    # A cookie is bound to its sender's address: a socket for each.
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
    try:
        _, old_cookie = cookie_exchange(socks[0], port, hello)  # under the first key
        _, late_cookie = cookie_exchange(socks[1], port, hello)  # the same, used late
        genkey(cookie_key)
        genkey(ticket_key)
        server.proc.send_signal(signal.SIGHUP)
        server.wait_for("SIGHUP: ticket key read from")
        assert "SIGHUP: new cookie key from" in server.stderr()
        assert server.proc.poll() is None  # SIGHUP does not stop a server
        # A replica started with the new files: its cookies count here.
        start_server(new_port, "--cookie-key-file", str(cookie_key), "--ticket-key-file",
                     str(ticket_key))
        _, new_cookie = cookie_exchange(socks[2], new_port, hello)
        for sock, cookie in ((socks[0], old_cookie), (socks[2], new_cookie)):
            sock.sendto(cookie, ("127.0.0.1", port))  # the previous key, for one period
            assert sock.recv(65536)[13] == 2  # a ServerHello
        time.sleep(2.5)  # the period is over: a cookie of the old key is asked again
        socks[1].sendto(late_cookie, ("127.0.0.1", port))
        assert socks[1].recv(65536)[13] == 3  # a HelloVerifyRequest
    finally:
        for sock in socks:
            sock.close()
    # The old ticket key is gone: a full handshake; a session under the new one resumes
    # on the new replica.
    full = run_client(port, "-m", "x", "-n", "1", "--session-in", str(session),
                      "--session-out", str(session))
    assert "- Session was not resumed: a full handshake" in full.stdout, full
    resumed = run_client(new_port, "-m", "x", "-n", "1", "--session-in", str(session))
    assert "- Session was resumed" in resumed.stdout, resumed
    assert server.stop() == 0


def test_reconnect_carries_on_after_kill_9_and_writes_each_echo_once_in_order(
        tmp_path, start_server):
    """stdin mode with --reconnect: the server is killed, a replica with the same ticket
    key takes its port a moment later; the line whose echo had not come back is sent
    again on the resumed session, and stdout holds each line once, in order."""
    ticket = genkey(tmp_path / "ticket.key")
    port = free_port()
    first = start_server(port, "--ticket-key-file", str(ticket))
    client = subprocess.Popen([BINARY, "-c", "-p", str(port), "--reconnect", "6", "--timeout",
                               "200"], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        client.stdin.write("one\n")
        client.stdin.flush()
        assert client.stdout.readline() == "one\n"
        first.stop(signal.SIGKILL)
        client.stdin.write("two\n")  # sent into the void: refused, then no server at all
        client.stdin.flush()
        time.sleep(1.0)
        start_server(port, "--ticket-key-file", str(ticket))
        assert client.stdout.readline() == "two\n"
        client.stdin.write("three\n")
        out, err = client.communicate(timeout=30)  # closes stdin: EOF
    finally:
        if client.poll() is None:
            client.kill()
    assert client.returncode == 0, err
    assert out == "three\n"
    assert "- Reconnected, the session resumed" in err, err


def test_reconnect_gives_up_after_n_attempts_with_the_original_outcome(start_server):
    port = free_port()
    server = start_server(port)
    client = subprocess.Popen([BINARY, "-c", "-p", str(port), "--reconnect", "2", "--timeout",
                               "100", "--retries", "1"], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    client.stdin.write("one\n")
    client.stdin.flush()
    assert client.stdout.readline() == "one\n"
    server.stop(signal.SIGKILL)
    client.stdin.write("two\n")
    out, err = client.communicate(timeout=60)  # closes stdin: EOF
    assert client.returncode == 4 and out == "", (out, err)  # no answer: a timeout
    assert "(2 of 2)" in err and "(3 of 2)" not in err
