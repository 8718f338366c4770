# SPDX-License-Identifier: MIT
"""Issue 12: a tool you install and use from any folder, with the habits people bring from
gnutls-cli and openssl s_client: defaults that work outside the checkout, HOST[:PORT],
-4/-6."""
import json
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


# ---- --keylogfile, --print-cert, pins, --sni -------------------------------------------

def test_an_unwritable_key_log_is_refused_with_its_name(tmp_path):
    result = client(tmp_path, "--keylogfile", "/nonexistent/dir/keys", "-m", "x")
    assert result.returncode == 1
    assert result.stderr.startswith("dtls_echo: error: cannot write key log file "
                                    "'/nonexistent/dir/keys': No such file"), result.stderr


def test_the_key_log_holds_the_session_secret_for_its_client_random(tmp_path, port,
                                                                    start_server):
    keylog = tmp_path / "keys.log"
    start_server(port)
    result = client(tmp_path, "--cafile", cert("ca.pem"), "--keylogfile", str(keylog),
                    "-m", "x", "-n", "1", f"localhost:{port}")
    assert result.returncode == 0, result.stderr
    assert os.stat(keylog).st_mode & 0o777 == 0o600
    label, client_random, secret = keylog.read_text().split()
    assert label == "CLIENT_RANDOM" and len(client_random) == 64 and len(secret) == 96
    # tshark decrypting a capture with this file: tests/e2e/test_wire.py.


def first_pem(path):
    text = open(path).read()
    return text[:text.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]


def test_print_cert_shows_the_chain_and_a_pin_the_client_takes_back(tmp_path, port,
                                                                    start_server):
    start_server(port)
    shown = client(tmp_path, "--cafile", cert("ca.pem"), "--print-cert", "-m", "x", "-n", "1",
                   f"localhost:{port}")
    assert shown.returncode == 0, shown.stderr
    summary = next(line for line in shown.stdout.splitlines()
                   if line.startswith("Certificate[0]: "))
    assert "subject `CN=server', issuer `CN=ca'" in summary and "expires" in summary
    assert first_pem(cert("server.pem")) in shown.stdout
    pin = "sha256//" + summary.split('pin-sha256="')[1].split('"')[0]
    pinned = client(tmp_path, "--pin-pubkey", pin, "-m", "x", "-n", "1", f"localhost:{port}")
    assert pinned.returncode == 0, pinned.stderr
    wrong = client(tmp_path, "--pin-pubkey", "sha256//" + "A" * 43 + "=", "-m", "x",
                   f"localhost:{port}")
    assert wrong.returncode == 3 and "does not match --pin-pubkey" in wrong.stderr
    bad = client(tmp_path, "--pin-pubkey", "sha256//short=", "-m", "x", f"localhost:{port}")
    assert bad.returncode == 2 and "the base64 of 32 bytes" in bad.stderr


@pytest.mark.parametrize("args, seen", [([], "server name localhost"),
                                        (["--sni", "other.example"], "server name other.example"),
                                        (["--no-sni"], "server name (none)")])
def test_the_server_name_sent_is_apart_from_the_name_verified(args, seen, tmp_path, port,
                                                              start_server):
    server = start_server(port, "-v")
    result = client(tmp_path, "--cafile", cert("ca.pem"), *args, "-m", "x", "-n", "1",
                    f"localhost:{port}")
    assert result.returncode == 0, result.stderr  # still verified as localhost
    server.wait_for(seen)


# ---- --alpn, --srtp-profiles ------------------------------------------------------------

def test_alpn_agrees_on_a_protocol_both_offer_and_refuses_others(tmp_path, port,
                                                                 start_server):
    server = start_server(port, "-v", "--alpn", "coap,echo")
    agreed = client(tmp_path, "-v", "--cafile", cert("ca.pem"), "--alpn", "echo", "-m", "x",
                    "-n", "1", f"localhost:{port}")
    assert agreed.returncode == 0 and "; ALPN echo" in agreed.stdout, agreed.stdout
    server.wait_for("; ALPN echo")
    refused = client(tmp_path, "--cafile", cert("ca.pem"), "--alpn", "h2", "-m", "x",
                     f"localhost:{port}")
    assert refused.returncode == 3
    assert "No supported application protocol could be negotiated" in refused.stderr


def test_srtp_keying_material_agrees_with_openssl_and_our_client(tmp_path, port,
                                                                 start_server):
    server = start_server(port, "-v", "--srtp-profiles",
                          "SRTP_AES128_CM_HMAC_SHA1_32:SRTP_AES128_CM_HMAC_SHA1_80")
    openssl = subprocess.run(
        ["openssl", "s_client", "-dtls1_2", "-connect", f"127.0.0.1:{port}", "-CAfile",
         cert("ca.pem"), "-use_srtp", "SRTP_AES128_CM_SHA1_80", "-keymatexport",
         "EXTRACTOR-dtls_srtp", "-keymatexportlen", "60"], input="", capture_output=True,
        text=True, timeout=30)
    assert "profile=SRTP_AES128_CM_SHA1_80" in openssl.stdout, openssl.stdout
    theirs = openssl.stdout.split("Keying material: ")[1].split()[0].lower()
    server.wait_for(f"SRTP profile SRTP_AES128_CM_HMAC_SHA1_80, keying material {theirs}")
    ours = client(tmp_path, "--json", "--cafile", cert("ca.pem"), "--srtp-profiles",
                  "SRTP_AES128_CM_HMAC_SHA1_80", "-m", "x", "-n", "1", f"localhost:{port}")
    srtp = json.loads(ours.stdout)["session"]["srtp"]
    assert srtp["profile"] == "SRTP_AES128_CM_HMAC_SHA1_80"
    server.wait_for(f"keying material {srtp['keying_material']}")
    assert len(srtp["keying_material"]) == 120 and srtp["keying_material"] != theirs


def test_an_unknown_srtp_profile_is_a_usage_error(tmp_path):
    result = client(tmp_path, "--srtp-profiles", "SRTP_AES128_CM_HMAC_SHA1_80:SRTP_BOGUS")
    assert result.returncode == 2
    assert "'SRTP_BOGUS' is not an SRTP profile GnuTLS knows" in result.stderr


# ---- --json ------------------------------------------------------------------------------

def test_json_is_the_only_thing_on_stdout_and_tells_the_session(tmp_path, port, start_server):
    start_server(port)
    result = client(tmp_path, "--json", "--cafile", cert("ca.pem"), "-m", "ping", "-n", "3",
                    f"localhost:{port}")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # the whole of stdout is one object
    assert report["exit_code"] == 0 and report["echoes"] == 3
    session = report["session"]
    assert session["version"] == "DTLS1.2" and session["group"]
    assert "GCM" in session["cipher_suite"] or "CHACHA" in session["cipher_suite"]
    assert session["verification"] == "certificate trusted, name matches"
    assert session["resumed"] is False and session["alpn"] is None
    rtt = report["round_trip_ms"]
    assert 0 < rtt["min"] <= rtt["mean"] <= rtt["max"] < report["total_ms"]
    assert 0 < session["handshake_ms"] < report["total_ms"]
    assert "- Received 4 bytes: ping" in result.stderr  # the transcript moved to stderr


def test_json_reports_a_failure_with_its_exit_code(tmp_path, port):
    result = client(tmp_path, "--json", "-m", "x", "--timeout", "100", "--retries", "0",
                    f"127.0.0.1:{port}")
    assert result.returncode == 4
    report = json.loads(result.stdout)
    assert report["exit_code"] == 4 and report["session"] is None and report["echoes"] == 0


def test_json_needs_a_message(tmp_path):
    result = client(tmp_path, "--json")
    assert result.returncode == 2 and "--json needs --message" in result.stderr


# ---- the server's --trace --------------------------------------------------------------

def test_the_server_traces_the_cookie_exchange_and_each_handshake_named_by_its_peer(
        tmp_path, port, start_server):
    server = start_server(port, "--trace")
    result = client(tmp_path, "--cafile", cert("ca.pem"), "-m", "x", "-n", "1",
                    f"127.0.0.1:{port}")
    assert result.returncode == 0, result.stderr
    server.wait_for("EOF")
    server.wait_for("Alert (encrypted)")  # the close_notify, ours after the client's
    lines = [line for line in server.stderr().splitlines() if " ms  " in line]
    peer = lines[0].split(": ")[0]
    assert peer.startswith("IPv4 127.0.0.1 port ") and all(l.startswith(peer) for l in lines)
    kinds = [line.split(" ms  ")[1].split()[1] for line in lines if "datagram" not in line]
    assert kinds[:4] == ["ClientHello", "HelloVerifyRequest", "ClientHello", "ServerHello"]
    assert "Finished" in kinds and "RETRANSMITTED" not in server.stderr()
    # Echo datagrams are not the handshake: none of the 1 echo's records is traced.
    assert "ApplicationData" not in server.stderr()


def test_trace_and_quiet_exclude_each_other(tmp_path):
    result = client(tmp_path, "--trace", "-q", "-m", "x")
    assert result.returncode == 2 and "--trace and -q" in result.stderr


def test_json_reports_the_resumed_session_of_resume(tmp_path, port, start_server):
    start_server(port)
    result = client(tmp_path, "--json", "--resume", "--cafile", cert("ca.pem"), "-m", "x",
                    "-n", "1", f"localhost:{port}")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["session"]["resumed"] is True and report["handshake_attempts"] == 2


def test_trace_leaves_out_heartbeats_and_echoes(tmp_path, port, start_server):
    start_server(port)
    result = client(tmp_path, "--trace", "--heartbeat", "1", "--cafile", cert("ca.pem"),
                    "-m", "x", "-n", "2", f"localhost:{port}")
    assert result.returncode == 0, result.stderr
    assert "- Heartbeat pong received" in result.stdout  # a heartbeat went both ways
    traced = [line for line in result.stderr.splitlines() if " ms  " in line]
    assert traced and not [line for line in traced
                           if any(word in line for word in
                                  ("Heartbeat", "ApplicationData", "Record?"))], traced
