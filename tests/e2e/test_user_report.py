# SPDX-License-Identifier: MIT
"""What a careful user found after the install work (issue 19): a server certificate let in
as a client, SRTP sessions that crashed on resumption, input lost when the server ended the
session, records too large for the server's MTU, key logs without resumed sessions, slow
failures, --print-cert silent on the chains it should show, addresses, key files and
messages. Certificates whose point is their purpose are made here, by certtool."""
import os
import re
import signal
import socket
import stat
import subprocess
import time

import pytest

from conftest import BINARY, ROOT, Process, cert, free_port, run_client


def certtool(*args):
    subprocess.run(["certtool", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA of its own and leaves that differ only in their extended key usage: serverAuth
    only, clientAuth only, and none at all. Each leaf names localhost, so a client's check
    of the name passes and only the purpose decides."""
    d = tmp_path_factory.mktemp("pki")

    def template(name, *lines):
        path = d / f"{name}.tmpl"
        path.write_text("\n".join([f'cn = "{name}"', "expiration_days = 30", *lines]) + "\n")
        return str(path)

    certtool("--generate-privkey", "--key-type", "ecdsa", "--outfile", str(d / "ca-key.pem"))
    certtool("--generate-self-signed", "--load-privkey", str(d / "ca-key.pem"), "--template",
             template("ca", "ca", "cert_signing_key"), "--outfile", str(d / "ca.pem"))
    names = ['dns_name = "localhost"', 'ip_address = "127.0.0.1"']
    purposes = {"server-only": ["tls_www_server"], "client-only": ["tls_www_client"],
                "no-eku": []}
    for name, purpose in purposes.items():
        key = str(d / f"{name}-key.pem")
        certtool("--generate-privkey", "--key-type", "ecdsa", "--outfile", key)
        certtool("--generate-certificate", "--load-privkey", key, "--load-ca-certificate",
                 str(d / "ca.pem"), "--load-ca-privkey", str(d / "ca-key.pem"), "--template",
                 template(name, *purpose, *names, "signing_key"),
                 "--outfile", str(d / f"{name}.pem"))
    return d


def own(pki, name):
    return ["--cert", str(pki / f"{name}.pem"), "--key", str(pki / f"{name}-key.pem")]


# 1. The purpose of a certificate is checked on both sides.

def test_server_refuses_a_client_certificate_made_for_servers(port, start_server, pki):
    server = start_server(port, "--require-client-cert", "--cafile", str(pki / "ca.pem"))
    result = run_client(port, "-m", "x", "-n", "1", *own(pki, "server-only"))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "the server refused our certificate" in result.stderr
    server.wait_for("certificate is not for client use")
    assert "received[" not in server.stdout()


@pytest.mark.parametrize("name", ["client-only", "no-eku"])
def test_server_accepts_client_use_or_no_purpose(port, start_server, pki, name):
    start_server(port, "--require-client-cert", "--cafile", str(pki / "ca.pem"))
    result = run_client(port, "-m", "x", "-n", "1", *own(pki, name))
    assert result.returncode == 0, result.stderr


def test_client_refuses_a_server_certificate_made_for_clients(port, start_server, pki):
    start_server(port, *own(pki, "client-only"))
    result = run_client(port, "-m", "x", "-n", "1", "--cafile", str(pki / "ca.pem"))
    assert result.returncode == 3, result.stderr
    assert "certificate is not for server use" in result.stderr


@pytest.mark.parametrize("name", ["server-only", "no-eku"])
def test_client_accepts_server_use_or_no_purpose(port, start_server, pki, name):
    start_server(port, *own(pki, name))
    result = run_client(port, "-m", "x", "-n", "1", "--cafile", str(pki / "ca.pem"))
    assert result.returncode == 0, result.stderr


def test_pinned_client_with_a_ca_checks_the_purpose_too(port, start_server, pki):
    start_server(port, *own(pki, "client-only"))
    result = run_client(port, "-m", "x", "-n", "1", "--cafile", str(pki / "ca.pem"),
                        "--pin-pubkey", str(pki / "client-only.pem"))
    assert result.returncode == 3, result.stderr


# 2. DTLS-SRTP sessions are never handed back to GnuTLS 3.7.9, which misreads them.

SRTP = "SRTP_AES128_CM_HMAC_SHA1_80"


@pytest.mark.parametrize("option", [["--resume"], ["--session-in", "/dev/null"],
                                    ["--session-out", "/tmp/never-written"]])
def test_client_refuses_srtp_with_saved_sessions(option):
    result = subprocess.run([BINARY, "-c", "-m", "x", "--srtp-profiles", SRTP, *option],
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 2, result.stderr
    assert f"cannot use --srtp-profiles with {option[0]}" in result.stderr


def test_srtp_client_reconnects_with_a_full_handshake(port, start_server):
    server = start_server(port, "--srtp-profiles", SRTP, "--idle-timeout", "1")
    client = Process([BINARY, "-c", "-p", str(port), "--srtp-profiles", SRTP, "--reconnect",
                      "3", "-v"], server.out_path.parent, "srtp-client", stdin=subprocess.PIPE)
    try:
        client.proc.stdin.write(b"one\n")
        client.proc.stdin.flush()
        client.wait_for("one")
        time.sleep(2.5)  # the server ends the idle session; the client reconnects
        client.proc.stdin.write(b"two\n")
        client.proc.stdin.close()
        assert client.proc.wait(timeout=30) == 0, client.stderr()
    finally:
        client.stop(signal.SIGKILL)
    assert "two" in client.stdout()
    assert "Reconnected" in client.stdout() + client.stderr()
    assert "resumed" not in client.stdout() + client.stderr()


def test_srtp_server_survives_clients_that_resume(port, start_server, tmp_path):
    server = start_server(port, "--srtp-profiles", SRTP)
    for _ in range(3):
        subprocess.run(["gnutls-cli", "--udp", "-p", str(port), "--x509cafile", cert("ca.pem"),
                        "--resume", "--srtp-profiles", SRTP, "localhost"], input=b"",
                       capture_output=True, timeout=30)
        session = tmp_path / "sess.pem"
        for io in ("-sess_out", "-sess_in"):
            done = subprocess.run(["openssl", "s_client", "-dtls1_2", "-connect",
                                   f"127.0.0.1:{port}", "-CAfile", cert("ca.pem"), "-use_srtp",
                                   "SRTP_AES128_CM_SHA1_80", io, str(session)],
                                  input=b"", capture_output=True, timeout=30)
            assert b"SRTP Extension negotiated" in done.stdout, done.stdout
            assert b"Reused," not in done.stdout  # no ticket, no cache: a full handshake
    assert server.proc.poll() is None, server.stderr()
    result = run_client(port, "-m", "still here", "-n", "1", "--srtp-profiles", SRTP)
    assert result.returncode == 0, result.stderr
    assert server.stop() == 0


# 3. stdin mode: a session the server ended before stdin did is a failure.

def test_stdin_mode_fails_when_the_server_closes_before_stdin_ends(port, start_server):
    start_server(port, "--idle-timeout", "1", "-q", ready="")
    result = subprocess.run(f"(echo a; sleep 2.5; echo b) | {BINARY} -c -p {port}",
                            shell=True, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1, result.stderr
    assert result.stdout == "a\n"
    assert "closed the connection after 1 echo, before the end of stdin" in result.stderr


def test_stdin_mode_that_sent_everything_still_exits_0(port, start_server):
    start_server(port, "--idle-timeout", "1", "-q", ready="")
    result = subprocess.run(f"(echo a; echo b) | {BINARY} -c -p {port}", shell=True, cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "a\nb\n"


# 4. A record larger than the server's data MTU is echoed in as many records as it takes.

def test_record_larger_than_the_server_mtu_comes_back_whole(port, start_server):
    server = start_server(port, "-q", ready="")
    message = "".join(chr(ord("a") + i % 26) for i in range(16000))
    result = run_client(port, "-a", "127.0.0.1", "--mtu", "65535", "-m", message, "-n", "2",
                        "--retries", "0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("- Received 16000 bytes") == 2
    assert "not echoed" not in server.stderr()
