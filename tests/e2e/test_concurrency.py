# SPDX-License-Identifier: MIT
"""Many clients at once: one thread and one socket per client, each client sees only its
own data, in order."""
import re
import subprocess
import time

from conftest import BINARY, ROOT


def test_fifty_clients_at_once_each_receive_exactly_their_own_messages_in_order(
        port, start_server):
    server = start_server(port)
    clients, expected = [], []
    started = time.monotonic()
    for i in range(50):
        lines = "".join(f"client {i:02d} message {j:02d} {'x' * (i + j)}\n" for j in range(20))
        expected.append(lines)
        clients.append(subprocess.Popen(
            [BINARY, "-c", "-a", "127.0.0.1" if i % 2 else "::1", "-p", str(port)], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    # Feed every client its 20 lines only once all 50 are running, so they overlap.
    outputs = []
    for client, lines in zip(clients, expected):
        client.stdin.write(lines)
        client.stdin.close()
    for client in clients:
        outputs.append((client.stdout.read(), client.stderr.read(), client.wait(timeout=60)))
    elapsed = time.monotonic() - started
    for i, (out, err, code) in enumerate(outputs):
        assert code == 0, f"client {i}: {err}"
        assert out == expected[i], f"client {i} got another client's data or lost some"
    server.wait_for("EOF")
    time.sleep(0.2)
    assert len(re.findall(r"^Accepted connection from ", server.stdout(), re.M)) == 50
    assert server.stdout().count("- Handshake was completed") == 50
    assert server.stop() == 0
    print(f"50 clients x 20 messages: {elapsed:.2f} s")


def test_max_clients_refuses_the_extra_client_until_a_slot_frees(port, start_server):
    server = start_server(port, "--max-clients", "1", "--idle-timeout", "2")
    holder = subprocess.Popen([BINARY, "-c", "-p", str(port)], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    holder.stdin.write("hold\n")
    holder.stdin.flush()
    assert holder.stdout.readline() == "hold\n"
    # One attempt, one source port; within it the client retransmits its ClientHello.
    refused = subprocess.run([BINARY, "-c", "-a", "127.0.0.1", "-p", str(port), "-m", "x",
                              "-n", "1", "--timeout", "100", "--retries", "0"], cwd=ROOT,
                             capture_output=True, text=True, timeout=20)
    assert refused.returncode == 4
    assert "no DTLS server answered" in refused.stderr
    assert server.stderr().count("refused") == 1  # once per peer, not once per datagram
    holder.stdin.close()
    holder.wait(timeout=10)
    served = subprocess.run([BINARY, "-c", "-p", str(port), "-m", "x", "-n", "1"], cwd=ROOT,
                            capture_output=True, text=True, timeout=20)
    assert served.returncode == 0, served.stderr


def test_idle_session_is_closed_after_idle_timeout(port, start_server):
    server = start_server(port, "--idle-timeout", "1")
    client = subprocess.Popen([BINARY, "-c", "-p", str(port)], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    client.stdin.write("ping\n")
    client.stdin.flush()
    assert client.stdout.readline() == "ping\n"
    # Its stdin is still open: the server closed first, and what stdin holds next is
    # never sent (exit 1, issue 19), after the close_notify was seen.
    assert client.wait(timeout=10) == 1
    err = client.stderr.read()
    client.stdin.close()
    assert "Peer has closed the DTLS connection" in err
    assert "closed the connection after 1 echo, before the end of stdin" in err
    assert "idle for 1 s" in server.stderr()
