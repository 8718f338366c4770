# SPDX-License-Identifier: MIT
"""The core behaviour: our client and our server over loopback, the exact output lines of
the classic GnuTLS example, IPv6, stdin mode, MTU, exit codes, and bad input."""
import random
import re
import socket
import subprocess
import time

from conftest import (BINARY, HANDSHAKE_ROUNDS, ROOT, capture_client_hello, cert,
                      cookie_exchange, drain, run_client)


def test_five_messages_with_the_classic_output_lines(port, start_server):
    server = start_server(port)
    result = run_client(port, "-a", "127.0.0.1", "-m", "foo")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "The certificate is trusted.",
        "- Handshake was completed",
    ] + ["- Received 3 bytes: foo"] * 5
    server.wait_for("EOF")
    lines = server.stdout().splitlines()
    assert lines[0] == (f"UDP server ready. Listening to port '{port}'. "
                        "Address: [::] (IPv6 and IPv4)")
    assert re.fullmatch(r"Accepted connection from IPv4 127\.0\.0\.1 port \d+", lines[1])
    assert lines[2:] == ["- Handshake was completed"] + [
        f"received[000100000000000{i}]: foo" for i in range(1, 6)] + ["EOF"]
    assert server.stop() == 0


def test_count_option_sets_the_number_of_echoes(port, start_server):
    start_server(port)
    result = run_client(port, "-m", "bar", "-n", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("- Received 3 bytes: bar") == 2


def test_ipv6_client_and_server(port, start_server):
    server = start_server(port)
    result = run_client(port, "-a", "::1", "-m", "over six")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("- Received 8 bytes: over six") == 5
    server.wait_for("EOF")
    assert re.search(r"Accepted connection from IPv6 ::1 port \d+", server.stdout())


def test_server_bound_to_ipv6_only_address(port, start_server):
    start_server(port, "-a", "::1")
    assert run_client(port, "-a", "::1", "-m", "x", "-n", "1").returncode == 0


def test_stdin_mode_prints_each_echo_raw_like_netcat(port, start_server):
    start_server(port)
    result = run_client(port, input="a\nb\nlast line without newline")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "a\nb\nlast line without newline"
    assert "- Handshake was completed" in result.stderr


def test_stdin_mode_composes_in_a_pipeline(port, start_server):
    start_server(port)
    pipeline = subprocess.run(
        f"printf 'a\\nb\\n' | {BINARY} -c -p {port} -q | tr a-z A-Z",
        shell=True, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert pipeline.stdout == "A\nB\n"


def test_1k_and_1400_byte_messages_with_mtu_1500(port, start_server):
    start_server(port, "--mtu", "1500")
    for size in (1024, 1400):
        message = ("0123456789abcdef" * 100)[:size]
        result = run_client(port, "-a", "127.0.0.1", "--mtu", "1500", "-m", message, "-n", "2")
        assert result.returncode == 0, result.stderr
        assert result.stdout.count(f"- Received {size} bytes: {message}") == 2


def test_message_larger_than_the_mtu_allows_is_a_usage_error(port, start_server):
    start_server(port)
    result = run_client(port, "--mtu", "576", "-m", "x" * 1000)
    assert result.returncode == 2
    assert "--mtu 576" in result.stderr and "1000 bytes" in result.stderr


def test_wrong_ca_fails_with_exit_3_naming_the_verification_failure(port, start_server):
    start_server(port)
    result = run_client(port, "-m", "foo", "--cafile", cert("other-ca.pem"))
    assert result.returncode == 3
    assert "verification" in result.stderr
    assert "NOT trusted" in result.stderr


def test_hostname_mismatch_fails_with_exit_3(port, start_server):
    start_server(port)
    result = run_client(port, "-m", "foo", "--hostname", "wrong.example")
    assert result.returncode == 3
    assert "does not match" in result.stderr


def test_ip_address_is_checked_against_the_certificate(port, start_server):
    start_server(port)
    assert run_client(port, "-a", "127.0.0.1", "-m", "x", "-n", "1").returncode == 0
    result = run_client(port, "-a", "127.0.0.2", "-m", "x", "-n", "1")
    assert result.returncode == 3, result.stderr


def test_insecure_skips_verification_and_warns(port, start_server):
    start_server(port)
    result = run_client(port, "-m", "foo", "-n", "1", "--insecure", "--hostname", "wrong.example")
    assert result.returncode == 0
    assert "not verified" in result.stderr


def test_mutual_auth_accepts_the_good_client_certificate(port, start_server):
    start_server(port, "--require-client-cert", "--crlfile", cert("crl.pem"))
    result = run_client(port, "-m", "foo", "-n", "1",
                        "--cert", cert("client.pem"), "--key", cert("client-key.pem"))
    assert result.returncode == 0, result.stderr


def test_mutual_auth_rejects_the_revoked_client_certificate(port, start_server):
    server = start_server(port, "--require-client-cert", "--crlfile", cert("crl.pem"))
    result = run_client(port, "-m", "foo", "-n", "1",
                        "--cert", cert("revoked.pem"), "--key", cert("revoked-key.pem"))
    assert result.returncode == 3
    server.wait_for("revoked")


def test_mutual_auth_rejects_a_client_without_certificate(port, start_server):
    server = start_server(port, "--require-client-cert")
    result = run_client(port, "-m", "foo", "-n", "1")
    assert result.returncode == 3
    server.wait_for("handshake failed")


def test_no_server_exits_4_within_its_timeout(port):
    started = time.monotonic()
    result = run_client(port, "-m", "foo", "--timeout", "200", "--retries", "1")
    elapsed = time.monotonic() - started
    assert result.returncode == 4
    assert "no DTLS server answered" in result.stderr
    # At most two addresses (::1, 127.0.0.1) x two attempts x the rounds of 0.2 s.
    assert elapsed < 2 * 2 * HANDSHAKE_ROUNDS * 0.2 + 1


def test_silent_peer_exits_4_after_timeout_and_retries(port):
    """A socket that reads and never answers: no ICMP, so only our timers end the wait."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", port))
        started = time.monotonic()
        result = run_client(port, "-a", "127.0.0.1", "-m", "foo", "--timeout", "100",
                            "--retries", "2")
        elapsed = time.monotonic() - started
        hellos = drain(silent)
    assert result.returncode == 4
    assert "fresh session" in result.stderr
    attempt_s = HANDSHAKE_ROUNDS * 0.1
    assert 3 * attempt_s <= elapsed < 3 * attempt_s + 2
    assert hellos >= 3  # one session per attempt, each with its own retransmissions


def test_garbage_datagrams_get_no_reply_and_the_server_keeps_serving(port, start_server):
    server = start_server(port)
    rng = random.Random(20261123)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for i in range(10000):
            size = rng.randint(1, 1400)
            payload = bytearray(rng.getrandbits(8) for _ in range(size))
            if i % 4 == 0 and size > 14:
                payload[0:3] = b"\x16\xfe\xfd"  # looks like a DTLS handshake record
            sock.sendto(bytes(payload), ("127.0.0.1", port))
        time.sleep(0.3)
        replies = drain(sock)
    assert replies == 0
    result = run_client(port, "-m", "still here", "-n", "1")
    assert result.returncode == 0, result.stderr
    assert server.proc.poll() is None


def test_client_hello_without_cookie_gets_a_smaller_hello_verify_request(port, start_server):
    """Anti-amplification: the stateless reply is never larger than what caused it."""
    start_server(port)
    hello = capture_client_hello()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        reply, _ = cookie_exchange(sock, port, hello)
    assert len(reply) <= len(hello)


def test_peer_vanishing_after_the_cookie_exchange_is_dropped_after_handshake_timeout(
        port, start_server):
    server = start_server(port, "--handshake-timeout", "1")
    hello = capture_client_hello()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        _, second = cookie_exchange(sock, port, hello)
        sock.sendto(second, ("127.0.0.1", port))
        flight = sock.recv(65536)  # the server's flight from the client's own socket
        assert flight[0] == 22
        # ... and the peer vanishes.
    server.wait_for("handshake not done after 1 s", timeout=5)
    assert run_client(port, "-m", "next", "-n", "1").returncode == 0


def test_retransmitted_client_hello_with_cookie_starts_one_session(port, start_server):
    server = start_server(port)
    hello = capture_client_hello()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        _, second = cookie_exchange(sock, port, hello)
        for _ in range(5):
            sock.sendto(second, ("127.0.0.1", port))
        time.sleep(0.5)
    assert server.stdout().count("Accepted connection from") == 1


def test_sigterm_during_ten_sessions_exits_0_and_every_client_sees_close_notify(
        port, start_server, tmp_path):
    server = start_server(port)
    clients = []
    for i in range(10):
        client = subprocess.Popen([BINARY, "-c", "-p", str(port)], cwd=ROOT,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        client.stdin.write(f"client {i}\n")
        client.stdin.flush()
        assert client.stdout.readline() == f"client {i}\n"
        clients.append(client)
    assert server.stop(timeout=10) == 0
    for client in clients:
        # close_notify seen while stdin was still open (it is closed only once the client
        # has exited): exit 1 naming it (issue 19).
        client.wait(timeout=10)
        out, err = client.communicate(timeout=10)
        assert client.returncode == 1, err
        assert "Peer has closed the DTLS connection" in err
        assert "closed the connection after 1 echo, before the end of stdin" in err
    assert "stopped: 10 session(s) closed" in server.stderr()
