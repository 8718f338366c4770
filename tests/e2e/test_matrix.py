# SPDX-License-Identifier: MIT
"""The interop matrix: our server against independent clients, our client against
independent servers, in each authentication mode, over IPv4 and IPv6, with a short and a
1000-byte message. The table is printed at the end of the run (conftest.py)."""
import pytest

import peers
from conftest import free_port, run_client

ADDRESSES = ["127.0.0.1", "::1"]
MESSAGES = {"short": "hello matrix", "1000B": ("0123456789" * 100)}
RESULTS = {}  # (direction, peer, mode) -> list of (address, size, ok)


def record(direction, peer, mode, address, size, ok):
    RESULTS.setdefault((direction, peer, mode), []).append((address, size, ok))


def cases(peer_names):
    for peer in peer_names:
        for mode in peers.MODES:
            for address in ADDRESSES:
                for size in MESSAGES:
                    yield pytest.param(peer, mode, address, size,
                                       id=f"{peer}-{mode}-{address}-{size}".replace(" ", "_"))


@pytest.mark.parametrize("peer, mode, address, size", cases(peers.CLIENT_PEERS))
def test_peer_client_against_our_server(peer, mode, address, size, start_server):
    reason = peers.UNSUPPORTED.get((peer, mode))
    if reason:
        RESULTS.setdefault(("client", peer, mode), reason)
        pytest.skip(reason)
    port = free_port()
    start_server(port, "-a", address, *peers.our_server_args(mode))
    ok, detail = peers.CLIENT_PEERS[peer](mode, address, port, MESSAGES[size])
    record("client", peer, mode, address, size, ok)
    assert ok, detail


@pytest.mark.parametrize("peer, mode, address, size", cases(peers.SERVER_PEERS))
def test_our_client_against_peer_server(peer, mode, address, size):
    port = free_port()
    message = MESSAGES[size]
    server = peers.SERVER_PEERS[peer](mode, address, port, message)
    try:
        result = run_client(port, "-a", address, "-m", message, "-n", "2",
                            *peers.our_client_args(mode))
        ok = result.returncode == 0 and result.stdout.count(f"bytes: {message}") == 2
        record("server", peer, mode, address, size, ok)
        assert ok, result.stderr
    finally:
        server.kill()
        server.wait()
