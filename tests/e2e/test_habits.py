"""Issue 12: a tool you install and use from any folder, with the habits people bring from
gnutls-cli and openssl s_client: defaults that work outside the checkout, HOST[:PORT],
-4/-6."""
import os
import shutil
import subprocess

import pytest

from conftest import BINARY, cert, wait_bound


def client(cwd, *args, timeout=30):
    return subprocess.run([BINARY, "-c", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


# ---- defaults from any folder -------------------------------------------------------

def test_a_client_run_elsewhere_verifies_against_the_system_trust_store(
        tmp_path, port, start_server):
    start_server(port)
    # Our test CA is in no system store: verification fails, and -v says against what.
    result = client(tmp_path, "-v", "-m", "x", "-n", "1", f"localhost:{port}")
    assert result.returncode == 3, result.stderr
    assert "the system's trust store (no --cafile, and no certs/ca.pem here)" in result.stderr
    assert "The certificate issuer is unknown" in result.stderr, result.stderr
    # The same from the checkout picks its test CA; from anywhere, --cafile does.
    named = client(tmp_path, "-v", "--cafile", cert("ca.pem"), "-m", "x", "-n", "1",
                   f"localhost:{port}")
    assert named.returncode == 0, named.stderr
    assert f"verifying the server against {cert('ca.pem')}" in named.stderr


def test_a_server_run_elsewhere_names_every_place_it_looked(tmp_path, port):
    if os.path.exists("/etc/dtls_echo/server.pem"):
        pytest.skip("/etc/dtls_echo/server.pem exists on this machine")
    result = subprocess.run([BINARY, "-p", str(port)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=10)
    assert result.returncode == 1
    assert result.stderr.startswith("dtls_echo: error: no server certificate: looked for "
                                    "certs/server.pem and /etc/dtls_echo/server.pem"), \
        result.stderr


@pytest.fixture
def system_certificate_dir():
    """/etc/dtls_echo with the test certificate, made for the test and removed after."""
    if os.geteuid() != 0:
        pytest.skip("needs root to write /etc/dtls_echo")
    if os.path.exists("/etc/dtls_echo"):
        pytest.skip("/etc/dtls_echo exists on this machine: not ours to change")
    os.makedirs("/etc/dtls_echo")
    try:
        for name in ("server.pem", "server-key.pem"):
            shutil.copy(cert(name), "/etc/dtls_echo/" + name)
        yield "/etc/dtls_echo"
    finally:
        shutil.rmtree("/etc/dtls_echo")


def test_a_server_run_elsewhere_uses_the_system_certificate(
        system_certificate_dir, tmp_path, port):
    server = subprocess.Popen([BINARY, "-p", str(port)], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_bound(port)
        result = client(tmp_path, "--cafile", cert("ca.pem"), "-m", "x", "-n", "1",
                        f"localhost:{port}")
        assert result.returncode == 0, result.stderr
    finally:
        server.terminate()
        assert server.wait(timeout=10) == 0


# ---- HOST[:PORT], -4, -6 ---------------------------------------------------------------

@pytest.mark.parametrize("target", ["127.0.0.1:{port}", "[::1]:{port}", "localhost:{port}"])
def test_the_server_is_named_as_host_and_port_after_the_options(
        target, port, start_server, tmp_path):
    start_server(port)
    result = client(tmp_path, "--cafile", cert("ca.pem"), "-m", "hi", "-n", "1",
                    target.format(port=port))
    assert result.returncode == 0, result.stderr
    assert "- Received 2 bytes: hi" in result.stdout


def test_ipv4_only_and_ipv6_only_servers_answer_only_their_family(port, start_server,
                                                                  tmp_path):
    quick = ("--cafile", cert("ca.pem"), "-m", "x", "-n", "1", "--timeout", "100",
             "--retries", "0")
    server = start_server(port, "-4")
    assert client(tmp_path, *quick, f"127.0.0.1:{port}").returncode == 0
    refused = client(tmp_path, *quick, f"[::1]:{port}")
    assert refused.returncode == 4 and "connection refused" in refused.stderr, refused.stderr
    server.stop()
    start_server(port, "-6")
    assert client(tmp_path, *quick, f"[::1]:{port}").returncode == 0
    assert client(tmp_path, *quick, f"127.0.0.1:{port}").returncode == 4


def test_client_families_resolve_only_their_addresses(tmp_path):
    result = client(tmp_path, "-4", "-m", "x", "[::1]:5556")
    assert result.returncode == 1
    assert "cannot resolve '::1' (-4: IPv4 only)" in result.stderr, result.stderr
