# SPDX-License-Identifier: MIT
"""Interop with independent peers: GnuTLS's own command-line client and server."""
import subprocess

from conftest import Process, cert, run_client


def test_gnutls_cli_talks_to_our_server(port, start_server):
    server = start_server(port)
    result = subprocess.run(
        ["gnutls-cli", "--udp", "-p", str(port), "--x509cafile", cert("ca.pem"), "localhost"],
        input="hello from gnutls-cli\n", capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "- Handshake was completed" in result.stdout
    assert "hello from gnutls-cli" in result.stdout.split("Simple Client Mode:")[1]
    server.wait_for("EOF")
    assert "received[0001000000000001]: hello from gnutls-cli" in server.stdout()


def test_our_client_talks_to_gnutls_serv(port, tmp_path):
    peer = Process(["gnutls-serv", "--udp", "--echo", "-p", str(port),
                    "--x509certfile", cert("server.pem"), "--x509keyfile", cert("server-key.pem")],
                   tmp_path, "gnutls-serv")
    try:
        peer.wait_for("listening", timeout=10)
        result = run_client(port, "-a", "localhost", "-m", "hello gnutls-serv", "-n", "3")
        assert result.returncode == 0, result.stderr
        assert result.stdout.count("- Received 17 bytes: hello gnutls-serv") == 3
    finally:
        peer.stop()
