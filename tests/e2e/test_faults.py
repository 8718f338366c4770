# SPDX-License-Identifier: MIT
"""Loss, duplication, reordering, a small MTU and a stalled handshake, injected by
tests/relay/udp_relay between client and server. Every run is seeded, so a failure
reproduces with the same seed."""
import pytest

from conftest import cert, free_port, relay_counts, run_client


def through_relay(start_server, start_relay, port, relay_args, server_args=()):
    server = start_server(port, "-a", "127.0.0.1", *server_args)
    relay_port = free_port()
    relay = start_relay(relay_port, port, *relay_args)
    return server, relay, relay_port


def echoes(result, message):
    return result.stdout.count(f"- Received {len(message)} bytes: {message}")


@pytest.mark.parametrize("loss, seed", [(0.1, 1), (0.1, 2), (0.1, 3), (0.3, 1), (0.3, 2),
                                        (0.3, 3)])
def test_handshake_and_every_echo_survive_loss_in_both_directions(
        loss, seed, port, start_server, start_relay):
    _, relay, relay_port = through_relay(start_server, start_relay, port,
                                         ["--drop", str(loss), "--seed", str(seed)])
    result = run_client(relay_port, "-a", "127.0.0.1", "-m", "lossy", "-n", "20",
                        "--timeout", "200", "--retries", "10", timeout=90)
    assert result.returncode == 0, result.stderr
    assert echoes(result, "lossy") == 20  # each echo reported once
    relay.stop()
    counts = relay_counts(relay)
    assert counts["up"]["dropped"] > 0 and counts["down"]["dropped"] > 0  # loss happened


def test_duplicated_datagrams_give_each_echo_once(port, start_server, start_relay):
    server, relay, relay_port = through_relay(start_server, start_relay, port,
                                              ["--dup", "0.2", "--seed", "7"])
    result = run_client(relay_port, "-a", "127.0.0.1", "-m", "twice?", "-n", "30",
                        "--timeout", "300")
    assert result.returncode == 0, result.stderr
    assert echoes(result, "twice?") == 30
    server.wait_for("EOF")
    assert server.stdout().count(": twice?") == 30  # replays discarded by the server
    relay.stop()
    counts = relay_counts(relay)
    assert counts["up"]["duplicated"] + counts["down"]["duplicated"] > 0


def test_reordered_datagrams_still_complete(port, start_server, start_relay):
    _, relay, relay_port = through_relay(start_server, start_relay, port,
                                         ["--reorder", "0.3", "--seed", "11"])
    result = run_client(relay_port, "-a", "127.0.0.1", "-m", "shuffled", "-n", "20",
                        "--timeout", "300", "--retries", "5")
    assert result.returncode == 0, result.stderr
    assert echoes(result, "shuffled") == 20
    relay.stop()
    counts = relay_counts(relay)
    assert counts["up"]["reordered"] + counts["down"]["reordered"] > 0


def test_path_mtu_576_with_a_multi_datagram_chain_needs_a_matching_mtu(
        port, start_server, start_relay):
    chain = ["--cert", cert("big-chain.pem"), "--key", cert("big-chain-key.pem")]
    # The relay drops every datagram over 576 - 28 bytes, like a real small-MTU path.
    _, _, relay_port = through_relay(start_server, start_relay, port, ["--mtu", "548"],
                                     ["--mtu", "576", *chain])
    result = run_client(relay_port, "-a", "127.0.0.1", "--hostname", "localhost",
                        "--mtu", "576", "-m", "small path", "-n", "3", "--timeout", "300")
    assert result.returncode == 0, result.stderr
    # The same path with the default MTU of 1500: the client's flights get through,
    # the server's large records do not, and the handshake cannot complete.
    port2 = free_port()
    _, _, relay2 = through_relay(start_server, start_relay, port2, ["--mtu", "548"], chain)
    stuck = run_client(relay2, "-a", "127.0.0.1", "--hostname", "localhost", "-m", "x",
                       "--timeout", "100", "--retries", "1")
    assert stuck.returncode == 4, stuck.stderr  # no handshake: a timeout


def test_stalled_handshake_recovers_with_a_fresh_session(port, start_server, start_relay):
    # Nothing comes back for the whole first attempt (8 x 100 ms): the client's own
    # deadline ends it and a fresh session on a fresh socket completes.
    _, _, relay_port = through_relay(start_server, start_relay, port,
                                     ["--blackout-down", "1000"])
    result = run_client(relay_port, "-a", "127.0.0.1", "-m", "recovered", "-n", "1",
                        "--timeout", "100", "--retries", "3")
    assert result.returncode == 0, result.stderr
    assert "starting a fresh session (1 of 3)" in result.stderr
    assert echoes(result, "recovered") == 1


def test_our_client_against_gnutls_serv_at_10_percent_loss(port, start_relay, tmp_path):
    from conftest import Process
    server = Process(["gnutls-serv", "--udp", "--echo", "-p", str(port),
                      "--x509certfile", cert("server.pem"), "--x509keyfile",
                      cert("server-key.pem")], tmp_path, "gnutls-serv")
    try:
        server.wait_for("listening", timeout=10)
        relay_port = free_port()
        start_relay(relay_port, port, "--drop", "0.1", "--seed", "5")
        result = run_client(relay_port, "-a", "127.0.0.1", "--hostname", "localhost",
                            "-m", "via gnutls-serv", "-n", "10", "--timeout", "300",
                            "--retries", "10", timeout=90)
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    assert echoes(result, "via gnutls-serv") == 10
