# SPDX-License-Identifier: MIT
"""The traps DESIGN.md lists, each shown not to catch us: duplicate sessions, a client
restarting on the same address and port, the buffered ClientHello, full addresses, and
the kernel delivering each of 500 simultaneous clients' datagrams to its own socket."""
import re
import subprocess
import time

from conftest import BINARY, LOAD_CLIENT, ROOT, free_port, relay_counts, run_client


def accepted(server):
    return len(re.findall(r"^Accepted connection from ", server.stdout(), re.M))


def test_duplicated_client_hellos_start_one_session(port, start_server, start_relay):
    server = start_server(port)
    relay_port = free_port()
    relay = start_relay(relay_port, port, "--dup-up", "1")  # every datagram twice
    result = run_client(relay_port, "-a", "127.0.0.1", "-m", "once", "-n", "5")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("- Received 4 bytes: once") == 5
    server.wait_for("EOF")
    assert accepted(server) == 1
    assert server.stdout().count("- Handshake was completed") == 1
    # Replayed records are discarded by DTLS: five echoes, not ten.
    assert server.stdout().count(": once") == 5
    relay.stop()
    counts = relay_counts(relay)
    assert counts["up"]["duplicated"] == counts["up"]["in"] > 0  # every datagram twice


def test_client_restarting_on_the_same_address_and_port_gets_a_new_session(
        port, start_server, start_relay, tmp_path):
    server = start_server(port)
    relay_port = free_port()
    start_relay(relay_port, port, "--one-source")  # both clients look like one peer
    first = subprocess.Popen([BINARY, "-c", "-a", "127.0.0.1", "-p", str(relay_port)], cwd=ROOT,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    first.stdin.write("first\n")
    first.stdin.flush()
    assert first.stdout.readline() == "first\n"
    first.kill()  # vanishes without close_notify; its session stays on the server
    first.wait()
    result = run_client(relay_port, "-a", "127.0.0.1", "-m", "second", "-n", "2",
                        "--timeout", "500")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("- Received 6 bytes: second") == 2
    server.wait_for("new handshake from the same address and port")
    assert accepted(server) == 1  # the same peer, the same socket, a fresh session
    assert server.stdout().count("- Handshake was completed") == 2


def test_handshakes_do_not_wait_for_a_retransmission(port, start_server):
    """The buffered ClientHello is reported readable: a stall would cost 1 s per client."""
    start_server(port)
    started = time.monotonic()
    for _ in range(10):
        assert run_client(port, "-m", "quick", "-n", "1").returncode == 0
    assert time.monotonic() - started < 5


def test_reply_comes_from_the_address_the_client_wrote_to(port, start_server):
    """Server on every address; client to 127.0.0.2: the answer must come from 127.0.0.2,
    or the client's connected socket discards it."""
    start_server(port)
    result = run_client(port, "-a", "127.0.0.2", "--hostname", "localhost", "-m", "x", "-n", "2")
    assert result.returncode == 0, result.stderr


def test_five_hundred_clients_at_once_each_get_their_own_datagrams(port, start_server,
                                                                    tmp_path):
    server = start_server(port)
    clients = []
    for i in range(500):
        lines = tmp_path / f"in{i}"
        lines.write_text("".join(f"client {i} line {j}\n" for j in range(3)))
        with open(lines) as stdin, open(tmp_path / f"out{i}", "w") as out, \
                open(tmp_path / f"err{i}", "w") as err:
            clients.append(subprocess.Popen([LOAD_CLIENT, "-c", "-a", "127.0.0.1", "-p", str(port)],
                                            cwd=ROOT, stdin=stdin, stdout=out, stderr=err))
    failures = []
    for i, client in enumerate(clients):
        code = client.wait(timeout=120)
        out = (tmp_path / f"out{i}").read_text()
        if code != 0 or out != (tmp_path / f"in{i}").read_text():
            failures.append((i, code, out, (tmp_path / f"err{i}").read_text()))
    assert not failures, failures[:3]
    time.sleep(0.5)
    assert accepted(server) == 500
