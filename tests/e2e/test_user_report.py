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

from conftest import BINARY, ROOT, Process, cert, free_port, linux_only, run_client


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


# 6. One bound on the whole handshake phase; a wrong PSK key named after one attempt.

def test_wrong_psk_key_is_named_after_one_attempt(port, start_server):
    start_server(port, "--pskfile", cert("psk.txt"), "-q", ready="")
    started = time.monotonic()
    result = run_client(port, "-m", "x", "--timeout", "500", "--psk-identity", "client",
                        "--psk-key", "00" * 16)
    elapsed = time.monotonic() - started
    assert result.returncode == 3, result.stderr
    assert "wrong PSK key?" in result.stderr
    assert elapsed < 8 * 0.5 + 3, elapsed  # one attempt of 8 timeouts, not 13


def silent_port():
    """A bound UDP socket that reads nothing and answers nothing."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def test_connect_timeout_bounds_every_attempt_together():
    with silent_port() as sock:
        started = time.monotonic()
        result = run_client(sock.getsockname()[1], "-a", "127.0.0.1", "-m", "x",
                            "--connect-timeout", "3")
        elapsed = time.monotonic() - started
    assert result.returncode == 4, result.stderr
    assert "no DTLS server answered at 127.0.0.1 port" in result.stderr
    assert "within 3 s (--connect-timeout)" in result.stderr
    assert 2.5 < elapsed < 5, elapsed


def test_help_says_what_each_of_the_client_timeouts_limits():
    text = subprocess.run([BINARY, "--help"], capture_output=True, text=True,
                          timeout=10).stdout
    flat = " ".join(text.split())
    assert "--connect-timeout S" in text
    assert "the longest the whole handshake phase may take" in flat
    assert re.search(r"--connect-timeout S .*?\(1-3600, default 30\)", flat), flat
    assert "within --connect-timeout" in flat  # --retries
    assert "the length of one attempt before a fresh one" in flat  # --timeout


# 7. --print-cert shows the chain that did not verify, then the error and what to do.

def test_print_cert_shows_the_chain_that_failed_to_verify(port, start_server):
    start_server(port, "-q", ready="")
    result = run_client(port, "-m", "x", "--cafile", cert("other-ca.pem"), "--print-cert")
    assert result.returncode == 3, result.stderr
    assert result.stdout.startswith("Certificate[0]: subject `CN=server'"), result.stdout
    assert "-----BEGIN CERTIFICATE-----" in result.stdout
    assert "The certificate issuer is unknown: to trust this server" in result.stderr
    for option in ("--cafile", "--pin-pubkey", "--insecure"):
        assert option in result.stderr


# 8. Addresses: -a takes HOST:PORT, and an IPv6 address with a bare port is questioned.

@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
def test_address_option_takes_host_and_port(port, start_server, host):
    start_server(port, "-q", ready="")
    result = subprocess.run([BINARY, "-c", "-a", f"{host}:{port}", "-m", "x", "-n", "1"],
                            cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("how", [[], ["-a"]])
def test_bare_ipv6_address_with_a_port_asks_for_brackets(how):
    started = time.monotonic()
    result = subprocess.run([BINARY, "-c", *how, "::1:5556", "-m", "x"], cwd=ROOT,
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 2, result.stderr
    assert "did you mean [::1]:5556?" in result.stderr
    assert time.monotonic() - started < 2  # refused, not tried


# 9. Key files: stdout, atomic replacement, symbolic links and readable key logs.

def test_genkey_dash_writes_the_key_to_stdout(tmp_path):
    result = subprocess.run([BINARY, "--genkey", "-"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=10)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"[0-9a-f]{128}\n", result.stdout), result.stdout
    assert result.stderr == "" and os.listdir(tmp_path) == []


def test_genkey_replaces_a_key_file_with_a_new_private_one(tmp_path):
    key = tmp_path / "cookie.key"
    key.write_text("old\n")
    key.chmod(0o644)
    old_inode = key.stat().st_ino
    result = subprocess.run([BINARY, "--genkey", str(key)], capture_output=True, text=True,
                            timeout=10)
    assert result.returncode == 0, result.stderr
    assert key.stat().st_ino != old_inode  # a new file renamed over the old one
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert re.fullmatch(r"[0-9a-f]{128}\n", key.read_text())
    assert sorted(os.listdir(tmp_path)) == ["cookie.key"]  # no temporary left


def test_genkey_refuses_a_symbolic_link_in_words(tmp_path):
    (tmp_path / "target").write_text("")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    result = subprocess.run([BINARY, "--genkey", str(tmp_path / "link")], capture_output=True,
                            text=True, timeout=10)
    assert result.returncode == 1
    assert "is a symbolic link" in result.stderr
    assert "Too many levels" not in result.stderr
    assert (tmp_path / "target").read_text() == ""


def test_key_log_readable_by_others_is_refused_and_a_new_one_is_private(tmp_path):
    readable = tmp_path / "keys.log"
    readable.write_text("")
    readable.chmod(0o644)
    result = subprocess.run([BINARY, "-c", "-m", "x", "--keylogfile", str(readable)],
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 1
    assert f"'{readable}' is readable by group or others (mode 644): it holds a secret" \
        in result.stderr
    fresh = tmp_path / "new.log"
    with silent_port() as sock:
        subprocess.run([BINARY, "-c", "-a", "127.0.0.1", "-p", str(sock.getsockname()[1]),
                        "-m", "x", "--keylogfile", str(fresh), "--connect-timeout", "1"],
                       capture_output=True, timeout=10)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


# 10. Messages.

def test_session_in_names_a_file_of_another_tool(port, start_server, tmp_path):
    start_server(port, "-q", ready="")
    foreign = tmp_path / "openssl.sess"
    subprocess.run(["openssl", "s_client", "-dtls1_2", "-connect", f"127.0.0.1:{port}",
                    "-sess_out", str(foreign)], input=b"", capture_output=True, timeout=30)
    foreign.chmod(0o600)
    assert foreign.read_text().startswith("-----BEGIN SSL SESSION PARAMETERS-----")
    result = run_client(port, "-m", "x", "--session-in", str(foreign))
    assert result.returncode == 1, result.stderr
    assert "is not a dtls_echo session file" in result.stderr
    assert "Database" not in result.stderr


def test_alpn_refusal_is_named_as_such(port, start_server):
    start_server(port, "--alpn", "foo", "-q", ready="")
    result = run_client(port, "-m", "x", "--alpn", "h2")
    assert result.returncode == 3, result.stderr
    assert "the server accepts none of the ALPN protocols we offered" in result.stderr
    assert "PSK" not in result.stderr


def test_server_says_a_session_was_resumed_at_v(port, start_server):
    server = start_server(port, "-v")
    result = run_client(port, "-m", "x", "-n", "1", "--resume")
    assert result.returncode == 0, result.stderr
    server.wait_for("- Session was resumed")
    assert server.stderr().count("- Session was resumed") == 1  # the second session only


@linux_only
def test_worker_transcript_lines_name_their_worker(port, start_server):
    server = start_server(port, "--workers", "2")
    result = run_client(port, "-m", "named", "-n", "1")
    assert result.returncode == 0, result.stderr
    server.wait_for("EOF")
    assert re.search(r"^worker [12]: Accepted connection from", server.stdout(), re.M)
    assert re.search(r"^worker [12]: received\[[0-9a-f]{16}\]: named$", server.stdout(), re.M)


def test_a_reconnection_that_recovers_warns_and_does_not_err(port, start_server, tmp_path):
    server = start_server(port, "-a", "127.0.0.1", "-q", ready="")
    client = Process([BINARY, "-c", "-a", "127.0.0.1", "-p", str(port), "--reconnect", "5",
                      "--connect-timeout", "1"], tmp_path, "reconnecting",
                     stdin=subprocess.PIPE)
    try:
        client.proc.stdin.write(b"one\n")
        client.proc.stdin.flush()
        client.wait_for("one")
        server.stop(signal.SIGKILL)  # gone without a close_notify
        client.proc.stdin.write(b"two\n")
        client.proc.stdin.flush()
        client.wait_for("warning: no DTLS server answered", timeout=15)
        start_server(port, "-a", "127.0.0.1", "-q", ready="")
        client.wait_for("two", timeout=30)
        client.proc.stdin.close()
        assert client.proc.wait(timeout=30) == 0, client.stderr()
    finally:
        client.stop(signal.SIGKILL)
    assert "error" not in client.stderr(), client.stderr()


def test_reconnections_that_give_up_end_with_the_error(port, start_server, tmp_path):
    server = start_server(port, "-a", "127.0.0.1", "-q", ready="")
    client = Process([BINARY, "-c", "-a", "127.0.0.1", "-p", str(port), "--reconnect", "2",
                      "--connect-timeout", "1"], tmp_path, "giving-up", stdin=subprocess.PIPE)
    try:
        client.proc.stdin.write(b"one\n")
        client.proc.stdin.flush()
        client.wait_for("one")
        server.stop(signal.SIGKILL)
        client.proc.stdin.write(b"two\n")
        client.proc.stdin.close()
        assert client.proc.wait(timeout=30) == 4, client.stderr()
    finally:
        client.stop(signal.SIGKILL)
    lines = client.stderr().splitlines()
    assert sum("warning: no DTLS server answered" in line for line in lines) == 1, lines
    assert "error: no DTLS server answered" in lines[-1], lines


def test_port_in_use_names_the_address_tried(port, start_server):
    start_server(port, "-q", ready="")
    messages = {}
    for family in ([], ["-4"], ["-6"]):
        result = subprocess.run([BINARY, "-p", str(port), *family], capture_output=True,
                                text=True, timeout=10)
        assert result.returncode == 1
        messages[tuple(family)] = result.stderr.splitlines()[0]
    assert f"bind to [::] port {port} (IPv6 and IPv4): Address already in use" in messages[()]
    assert f"bind to 0.0.0.0 port {port} (-4: IPv4 only)" in messages[("-4",)]
    assert f"bind to [::] port {port} (-6: IPv6 only)" in messages[("-6",)]
