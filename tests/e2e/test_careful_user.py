# SPDX-License-Identifier: MIT
"""What a careful, then a hostile, new user found (issue 9): writes to a closed or full
stdout, a peer's bytes on the operator's terminal, a message too large for the MTU, a
CRL file the server ignored, `timeout`'s double SIGTERM and SIGHUP, 30 % loss with the
default options, settings that cannot work, and error messages that name the cause."""
import signal
import subprocess
import time

import pytest

from conftest import BINARY, ROOT, cert, free_port, run_client


def shell(command, timeout=60):
    return subprocess.run(command, shell=True, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, executable="/bin/bash")


# 1. stdout that cannot be written stops the run with a non-zero exit.

def test_stdin_mode_into_a_closed_pipe_stops_quietly_with_exit_1(port, start_server):
    start_server(port, "-q", ready="")
    started = time.monotonic()
    result = shell(f"seq 1 20000 | {BINARY} -c -p {port} | head -c1; "
                   "echo \"status=${PIPESTATUS[1]}\"")
    assert "status=1" in result.stdout, result.stdout + result.stderr
    assert time.monotonic() - started < 20  # it stopped sending, not 20,000 echoes later
    assert "error" not in result.stderr  # quiet, as cat is, for a closed pipe


def test_stdin_mode_into_a_full_disk_says_so_and_exits_1(port, start_server):
    start_server(port, "-q", ready="")
    result = shell(f"seq 1 100 | {BINARY} -c -p {port} > /dev/full")
    assert result.returncode == 1
    assert "cannot write to stdout: No space left on device" in result.stderr


def test_message_mode_transcript_into_a_full_disk_exits_1(port, start_server):
    start_server(port, "-q", ready="")
    result = shell(f"{BINARY} -c -p {port} -m x -n 3 > /dev/full")
    assert result.returncode == 1
    assert "No space left on device" in result.stderr


def test_help_and_json_into_a_full_disk_exit_1(port, start_server):
    assert shell(f"{BINARY} --help > /dev/full").returncode == 1
    start_server(port, "-q", ready="")
    result = shell(f"{BINARY} -c -p {port} --clients 1 -n 1 --json > /dev/full")
    assert result.returncode == 1, result.stderr


# 3. A peer's bytes reach the operator's terminal escaped.

def test_unprintable_bytes_are_escaped_on_both_sides(port, start_server):
    server = start_server(port)
    message = "\x1b[31mred\tbell\x07"
    result = run_client(port, "-m", message, "-n", "1")
    assert result.returncode == 0, result.stderr
    assert "- Received 14 bytes: \\x1b[31mred\\tbell\\x07" in result.stdout
    assert "\x1b" not in result.stdout
    server.wait_for("EOF")
    assert "]: \\x1b[31mred\\tbell\\x07" in server.stdout()
    assert "\x1b" not in server.stdout()


def test_stdin_mode_keeps_stdout_raw_for_the_data(port, start_server):
    start_server(port, "-q", ready="")
    result = subprocess.run([BINARY, "-c", "-p", str(port)], input=b"\x1b[0m\x01raw\n",
                            cwd=ROOT, capture_output=True, timeout=30)
    assert result.returncode == 0
    assert result.stdout == b"\x1b[0m\x01raw\n"


# 4. Too large for the MTU: refused before any handshake, with the size that fits.

def test_message_too_large_is_refused_before_connecting(port):
    # No server at all: a refusal after a handshake would be a timeout (exit 4) instead.
    result = run_client(port, "--mtu", "576", "-m", "x" * 1000, "--timeout", "5000")
    assert result.returncode == 2, result.stderr
    assert "--message is 1000 bytes, but at --mtu 576 a record holds at most" in result.stderr


def test_load_size_too_large_is_refused_before_connecting(port):
    result = subprocess.run([BINARY, "-c", "-p", str(port), "--clients", "1", "-n", "1",
                             "--size", "2000", "--insecure"], cwd=ROOT, capture_output=True,
                            text=True, timeout=10)
    assert result.returncode == 2
    assert "--size 2000 does not fit" in result.stderr


# 5. The server checks a CRL file it is given.

@pytest.mark.parametrize("crl", ["/nonexistent/crl.pem", "README.md"])
def test_server_refuses_a_missing_or_garbage_crl_without_client_certs(crl):
    result = subprocess.run([BINARY, "-p", str(free_port()), "--crlfile", crl], cwd=ROOT,
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 1
    assert crl in result.stderr


# 6. Signals: timeout's double SIGTERM stops gracefully. (SIGHUP stopped the server too
# until issue 11 made it re-read the key files: tests/e2e/test_replicas.py.)

@pytest.mark.parametrize("signals", [[signal.SIGTERM, signal.SIGTERM]])
def test_a_second_signal_within_a_second_stops_gracefully(port, start_server, signals):
    server = start_server(port)
    holder = subprocess.Popen([BINARY, "-c", "-p", str(port)], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    holder.stdin.write("hold\n")
    holder.stdin.flush()
    assert holder.stdout.readline() == "hold\n"
    for sig in signals:
        server.proc.send_signal(sig)
    assert server.stop() == 0
    assert "stopped: 1 session(s) closed" in server.stderr()
    # It saw close_notify (not a timeout) before its stdin ended: exit 1, issue 19.
    assert holder.wait(timeout=10) == 1
    assert "closed the connection after 1 echo" in holder.stderr.read()


# 9. 30 % loss each way with the default --timeout and --retries.

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_defaults_survive_30_percent_loss_each_way(seed, port, start_server, start_relay):
    start_server(port, "-a", "127.0.0.1", "-q", ready="")
    relay_port = free_port()
    start_relay(relay_port, port, "--drop", "0.3", "--seed", str(seed))
    result = run_client(relay_port, "-a", "127.0.0.1", "-m", "lossy", "-n", "20", timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("- Received 5 bytes: lossy") == 20


# 10. Settings that cannot work are named at start.

def test_priority_without_a_dtls_version_is_a_usage_error():
    result = subprocess.run([BINARY, "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.2"], cwd=ROOT,
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 2
    assert "enables no DTLS version" in result.stderr


def test_server_warns_about_a_certificate_not_for_servers(port, start_server):
    server = start_server(port, "--cert", cert("client.pem"), "--key", cert("client-key.pem"))
    assert "is not for TLS servers" in server.stderr()


def test_help_states_every_numeric_range():
    result = subprocess.run([BINARY, "--help"], cwd=ROOT, capture_output=True, text=True)
    for text in ["--rate R", "--duration S", "--interval MS", "--heartbeat S"]:
        line = next(line for line in result.stdout.splitlines() if text in line)
        block = result.stdout[result.stdout.index(line):][:300]
        assert "1-" in block, block


def test_one_session_is_singular_in_the_load_summary(port, start_server):
    start_server(port, "-q", ready="")
    result = subprocess.run([BINARY, "-c", "-p", str(port), "--clients", "1", "-n", "1",
                             "--threads", "1"], cwd=ROOT, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    assert "1 DTLS session to" in result.stdout and "over 1 thread," in result.stdout


# 8. Error messages name the likely cause.

def test_no_client_certificate_against_a_server_that_requires_one(port, start_server):
    start_server(port, "--require-client-cert")
    result = run_client(port, "-m", "x", "-n", "1")
    assert result.returncode == 3
    assert "requires a client certificate" in result.stderr


def test_unknown_psk_identity_is_named(port, start_server):
    start_server(port, "--pskfile", cert("psk.txt"))
    result = run_client(port, "-m", "x", "--psk-identity", "nobody", "--psk-key", "0011")
    assert result.returncode == 3
    assert "does not know our PSK identity" in result.stderr


def test_certificate_client_against_a_psk_server_is_named(port, start_server):
    start_server(port, "--pskfile", cert("psk.txt"))
    result = run_client(port, "-m", "x")
    assert result.returncode == 3
    assert "no authentication mode in common" in result.stderr


def test_long_hostname_is_a_usage_error():
    result = run_client(free_port(), "-m", "x", "--hostname", "a" * 300)
    assert result.returncode == 2
    assert "a DNS name has at most 253" in result.stderr


def test_garbage_key_file_says_what_the_files_must_hold():
    result = subprocess.run([BINARY, "-p", str(free_port()), "--cert", cert("server.pem"),
                             "--key", "README.md"], cwd=ROOT, capture_output=True, text=True,
                            timeout=10)
    assert result.returncode == 1
    assert "unencrypted PEM private key" in result.stderr


# 7. make run and make certs.

def test_make_run_moves_off_a_busy_port_and_checks_its_server(tmp_path):
    import socket
    busy = free_port()
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as holder:
        holder.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        holder.bind(("::", busy))
        result = subprocess.run(["make", "--no-print-directory", "run", f"PORT={busy}"],
                                cwd=ROOT, capture_output=True, text=True, timeout=60,
                                env={**__import__("os").environ, "PORT": str(busy)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"port {busy} is busy" in result.stdout
    assert result.stdout.count("- Received 11 bytes: hello, DTLS") == 3


def test_make_certs_regenerates_any_missing_file(tmp_path):
    import os
    import shutil
    shutil.copy(os.path.join(ROOT, "Makefile"), tmp_path)
    shutil.copytree(os.path.join(ROOT, "scripts"), tmp_path / "scripts")
    assert subprocess.run(["make", "-s", "certs"], cwd=tmp_path, capture_output=True,
                          timeout=120).returncode == 0
    (tmp_path / "certs" / "client-key.pem").unlink()
    result = subprocess.run(["make", "-s", "certs"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "certs" / "client-key.pem").exists()
