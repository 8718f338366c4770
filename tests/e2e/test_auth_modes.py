# SPDX-License-Identifier: MIT
"""Authentication modes beyond plain X.509: PSK, raw public keys and pins, anonymous,
and what each side says when the other holds the wrong secret. Also heartbeat, session
resumption and the -v session line."""
import re
import subprocess

import peers
from conftest import BINARY, ROOT, Process, cert, free_port, run_client


def test_psk_with_identity_and_key(port, start_server):
    server = start_server(port, "--pskfile", cert("psk.txt"), "-v")
    result = run_client(port, "--psk-identity", "client", "--psk-key", peers.psk_key(),
                        "-m", "psk", "-v")
    assert result.returncode == 0, result.stderr
    assert "- Session: (DTLS1.2)" in result.stdout  # the -m transcript is on stdout
    server.wait_for("EOF")


def test_psk_client_takes_its_identity_from_a_pskfile(port, start_server):
    start_server(port, "--pskfile", cert("psk.txt"))
    for args in (["--pskfile", cert("psk.txt")],
                 ["--pskfile", cert("psk.txt"), "--psk-identity", "other"]):
        result = run_client(port, *args, "-m", "x", "-n", "1")
        assert result.returncode == 0, result.stderr


def test_server_with_single_psk_identity(port, start_server):
    start_server(port, "--psk-identity", "solo", "--psk-key", "00112233445566778899aabbccddeeff")
    result = run_client(port, "--psk-identity", "solo",
                        "--psk-key", "00112233445566778899aabbccddeeff", "-m", "x", "-n", "1")
    assert result.returncode == 0, result.stderr


def test_wrong_psk_key_fails_on_both_sides_naming_the_key(port, start_server):
    server = start_server(port, "--pskfile", cert("psk.txt"), "--handshake-timeout", "2")
    result = run_client(port, "--psk-identity", "client", "--psk-key", "00" * 32, "-m", "x",
                        "--timeout", "200", "--retries", "1")
    assert result.returncode == 3
    assert "wrong PSK key?" in result.stderr
    server.wait_for("the client's Finished never decrypted: wrong PSK key?")


def test_unknown_psk_identity_is_refused_and_logged(port, start_server):
    server = start_server(port, "--pskfile", cert("psk.txt"))
    result = run_client(port, "--psk-identity", "nobody", "--psk-key", "00" * 16, "-m", "x",
                        "--timeout", "200", "--retries", "0")
    assert result.returncode == 3
    server.wait_for("unknown PSK identity 'nobody'")


def test_wrong_psk_key_against_openssl_server_names_the_key(port):
    proc = peers.start_openssl_server("psk", "127.0.0.1", port, "x")
    try:
        # One attempt: s_server serves one client at a time, so a second attempt would
        # stall earlier, behind the first.
        result = run_client(port, "-a", "127.0.0.1", "--psk-identity", "client",
                            "--psk-key", "00" * 32, "-m", "x", "--timeout", "200",
                            "--retries", "0")
    finally:
        proc.kill()
        proc.wait()
    assert result.returncode == 3
    assert "wrong PSK key?" in result.stderr


def test_openssl_client_with_wrong_psk_key_is_named_by_our_server(port, start_server):
    server = start_server(port, "-a", "127.0.0.1", "--pskfile", cert("psk.txt"),
                          "--handshake-timeout", "2")
    ok, _ = peers.interactive(["openssl", "s_client", "-dtls1_2", "-connect",
                               f"127.0.0.1:{port}", "-quiet", "-psk", "00" * 32,
                               "-psk_identity", "client"], "x", timeout=3)
    assert not ok
    server.wait_for("wrong PSK key?")


def test_node_client_with_wrong_psk_key_fails_on_both_sides(port, start_server):
    server = start_server(port, "-a", "127.0.0.1", "--pskfile", cert("psk.txt"),
                          "--handshake-timeout", "2")
    node = subprocess.run(["node", f"{peers.NODE_DIR}/psk_echo_client.js", "--host", "127.0.0.1",
                           "--port", str(port), "--identity", "client", "--key", "00" * 32,
                           "--message", "x", "--count", "1", "--timeout", "1500"],
                          capture_output=True, text=True, timeout=30)
    assert node.returncode == 3, node.stderr
    assert "wrong PSK key" in node.stderr
    server.wait_for("the client's Finished never decrypted: wrong PSK key?")


def test_bad_psk_inputs_are_rejected_clearly(tmp_path):
    bad = tmp_path / "bad.psk"
    bad.write_text("client:00112233\nbroken line without colon\n")
    cases = [
        (["-c", "--psk-identity", "x", "--psk-key", "xyz1", "-m", "x"], 2, "hex digits"),
        (["-c", "--psk-identity", "x", "--psk-key", "abc", "-m", "x"], 2, "hex digits"),
        (["-c", "--psk-key", "00", "-m", "x"], 2, "--psk-identity"),
        (["-c", "--pskfile", str(bad), "-m", "x"], 1, "line 2"),
        (["-c", "--pskfile", cert("psk.txt"), "--psk-identity", "nobody", "-m", "x"], 2,
         "no identity 'nobody'"),
        (["--pskfile", "/nonexistent.psk", "-p", str(free_port())], 1, "/nonexistent.psk"),
    ]
    for args, code, words in cases:
        result = subprocess.run([BINARY, *args], cwd=ROOT, capture_output=True, text=True,
                                timeout=20)
        assert result.returncode == code, (args, result.stderr)
        assert words in result.stderr, (args, result.stderr)


def test_raw_public_key_server_with_pinned_client(port, start_server):
    server = start_server(port, "--rawpk-key", cert("rawpk-key.pem"),
                          "--rawpk-pub", cert("rawpk-pub.pem"), "-v")
    result = run_client(port, "--pin-pubkey", cert("rawpk-pub.pem"), "-m", "raw", "-n", "1",
                        "-v")
    assert result.returncode == 0, result.stderr
    assert "The server's public key matches --pin-pubkey." in result.stdout
    server.wait_for("Raw Public Key")


def test_wrong_pinned_raw_key_fails_on_both_sides(port, start_server):
    server = start_server(port, "--rawpk-key", cert("rawpk-key.pem"),
                          "--rawpk-pub", cert("rawpk-pub.pem"))
    result = run_client(port, "--pin-pubkey", cert("other-rawpk-pub.pem"), "-m", "x")
    assert result.returncode == 3
    assert re.search(r"public key sha256:[0-9a-f]{64} does not match --pin-pubkey", result.stderr)
    server.wait_for("handshake failed")


def test_x509_pin_by_file_and_by_fingerprint(port, start_server):
    start_server(port)
    assert run_client(port, "--pin-pubkey", cert("server.pem"), "-m", "x", "-n", "1"
                      ).returncode == 0
    wrong = run_client(port, "--pin-pubkey", cert("other-server.pem"), "-m", "x", "-n", "1")
    assert wrong.returncode == 3
    actual = re.search(r"public key (sha256:[0-9a-f]{64})", wrong.stderr).group(1)
    by_fingerprint = run_client(port, "--pin-pubkey", actual, "-m", "x", "-n", "1")
    assert by_fingerprint.returncode == 0, by_fingerprint.stderr
    malformed = run_client(port, "--pin-pubkey", "sha256:1234", "-m", "x")
    assert malformed.returncode == 2 and "64 hex digits" in malformed.stderr


def test_wrong_ca_fails_on_both_sides(port, start_server):
    server = start_server(port)
    result = run_client(port, "--cafile", cert("other-ca.pem"), "-m", "x")
    assert result.returncode == 3 and "NOT trusted" in result.stderr
    server.wait_for("handshake failed")
    server.wait_for("(Certificate is bad)")  # the client's alert: it rejected our chain


def test_anonymous_mode_warns_on_both_sides(port, start_server):
    server = start_server(port, "--anon")
    assert "nothing is authenticated" in server.stderr()
    result = run_client(port, "--anon", "-m", "anon", "-n", "1")
    assert result.returncode == 0, result.stderr
    assert "nothing is authenticated" in result.stderr
    plain = run_client(port, "-m", "x", "-n", "1", "--timeout", "200", "--retries", "0")
    assert plain.returncode == 3  # a verifying client refuses an anonymous server


def test_priority_string_is_used_and_verbose_prints_the_session(port, start_server):
    start_server(port)
    result = run_client(port, "-m", "x", "-n", "1", "-v",
                        "--priority", "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-CIPHER-ALL:+AES-128-GCM")
    assert result.returncode == 0, result.stderr
    assert re.search(r"- Session: \(DTLS1\.2\)-\(ECDHE-SECP256R1\)-\(ECDSA-SHA256\)-\(AES-128-GCM\)",
                     result.stdout), result.stdout


def test_heartbeat_ping_is_answered(port, start_server):
    server = start_server(port, "-v")
    result = run_client(port, "--heartbeat", "1", "-m", "x", "-n", "1", "-v")
    assert result.returncode == 0, result.stderr
    assert "Heartbeat pong received" in result.stdout
    server.wait_for("heartbeat ping, answering")


def test_heartbeat_keeps_an_idle_stdin_session_alive(port, start_server):
    start_server(port, "--idle-timeout", "2")
    client = subprocess.run(f"(sleep 3.5; echo late) | {BINARY} -c -p {port} --heartbeat 1 -v",
                            shell=True, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert client.returncode == 0, client.stderr
    assert client.stdout == "late\n"
    assert client.stderr.count("Heartbeat pong received") >= 2


def gnutls_serv(port, tmp_path, *extra):
    server = Process(["gnutls-serv", "--udp", "--echo", "-p", str(port),
                      "--x509certfile", cert("server.pem"), "--x509keyfile",
                      cert("server-key.pem"), *extra], tmp_path, "gnutls-serv")
    server.wait_for("listening", timeout=10)
    return server


def test_heartbeat_interop_with_gnutls_serv(port, tmp_path):
    server = gnutls_serv(port, tmp_path, "--heartbeat")
    try:
        result = run_client(port, "--heartbeat", "1", "-m", "x", "-n", "1", "-v")
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    assert "Heartbeat pong received" in result.stdout


def test_heartbeat_against_a_server_that_does_not_answer_fails_clearly(port, tmp_path):
    server = gnutls_serv(port, tmp_path)  # without --heartbeat
    try:
        result = run_client(port, "--heartbeat", "1", "-m", "x", "--timeout", "200")
    finally:
        server.stop()
    assert result.returncode == 4
    assert "does not answer heartbeats" in result.stderr


def test_resume_prints_session_was_resumed(port, start_server):
    server = start_server(port)
    result = run_client(port, "--resume", "-m", "again", "-n", "1")
    assert result.returncode == 0, result.stderr
    assert "- Session was resumed" in result.stdout
    server.wait_for("EOF")
    assert server.stdout().count("- Handshake was completed") == 2


def test_resume_against_gnutls_serv(port, tmp_path):
    server = gnutls_serv(port, tmp_path)
    try:
        result = run_client(port, "--resume", "-m", "again", "-n", "1")
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    assert "- Session was resumed" in result.stdout
