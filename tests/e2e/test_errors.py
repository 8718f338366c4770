# SPDX-License-Identifier: MIT
"""Bad input: one clear line naming the problem, the documented exit code, no hang."""
import socket
import subprocess

import pytest

from conftest import BINARY, ROOT, cert, free_port


def run(*args, timeout=20):
    return subprocess.run([BINARY, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def error_lines(result):
    return [line for line in result.stderr.splitlines() if "error" in line]


@pytest.mark.parametrize("args, words", [
    (["--port", "0"], ["--port", "'0'"]),
    (["--port", "70000"], ["--port", "70000"]),
    (["-c", "--count", "-1"], ["--count", "-1"]),
    (["--mtu", "10"], ["--mtu"]),
    (["--bogus"], ["unknown", "--bogus"]),
    (["-m", "foo"], ["--message", "-c"]),
    (["-c", "--max-clients", "3"], ["--max-clients", "server option"]),
    (["extra"], ["unexpected argument", "extra"]),
])
def test_usage_errors_exit_2_with_one_clear_line(args, words):
    result = run(*args)
    assert result.returncode == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith("dtls_echo: error: ")
    for word in words:
        assert word in first, first
    assert "--help" in result.stderr


def test_bad_priority_string_is_a_usage_error_naming_where_it_is_wrong():
    for mode in ([], ["-c", "-m", "x"]):
        result = run(*mode, "--priority", "NORMAL:+BOGUS")
        assert result.returncode == 2
        assert "--priority" in result.stderr and "+BOGUS" in result.stderr


def test_help_tells_every_option_and_exits_0():
    result = run("--help")
    assert result.returncode == 0
    for option in ["--client", "--address", "--port", "--message", "--count", "--cafile",
                   "--crlfile", "--cert", "--key", "--hostname", "--insecure", "--mtu",
                   "--timeout", "--retries", "--max-clients", "--idle-timeout",
                   "--handshake-timeout", "--priority", "--verbose", "--quiet",
                   "--require-client-cert", "--version", "--psk-identity", "--psk-key",
                   "--pskfile", "--rawpk-key", "--rawpk-pub", "--pin-pubkey", "--anon",
                   "--heartbeat", "--resume", "Exit codes"]:
        assert option in result.stdout, option


def test_version_names_our_version_and_gnutls():
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("dtls_echo ") and "GnuTLS 3." in result.stdout


@pytest.mark.parametrize("args, words", [
    (["--cert", "/nonexistent/server.pem", "--key", cert("server-key.pem")],
     ["/nonexistent/server.pem", "No such file"]),
    (["--cert", cert("server.pem"), "--key", "/nonexistent/key.pem"],
     ["/nonexistent/key.pem", "No such file"]),
    (["--cert", cert("client.pem"), "--key", cert("server-key.pem")], ["do not match"]),
    (["--cert", cert("server.pem"), "--key", cert("server-key.pem"), "--require-client-cert",
      "--cafile", "README.md"], ["README.md", "no certificate"]),
    (["--require-client-cert", "--crlfile", "/nonexistent/crl.pem"], ["/nonexistent/crl.pem"]),
    (["--cert", "README.md", "--key", cert("server-key.pem")], ["README.md"]),
])
def test_server_file_errors_exit_1_naming_the_file(args, words):
    result = run("-p", str(free_port()), *args)
    assert result.returncode == 1
    assert len(error_lines(result)) == 1
    for word in words:
        assert word in result.stderr, result.stderr


def test_client_with_missing_ca_file_exits_1_naming_it():
    result = run("-c", "-m", "x", "--cafile", "/nonexistent/ca.pem")
    assert result.returncode == 1
    assert "/nonexistent/ca.pem" in result.stderr


def test_busy_port_exits_1_and_says_so():
    port = free_port()
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as holder:
        holder.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        holder.bind(("::", port))
        result = run("-p", str(port))
    assert result.returncode == 1
    assert "Address already in use" in result.stderr
    assert len(error_lines(result)) == 1


def test_second_server_on_the_same_port_is_refused(port, start_server):
    start_server(port)
    result = run("-p", str(port))
    assert result.returncode == 1
    assert "Address already in use" in result.stderr


def test_unresolvable_host_exits_1_and_names_it():
    result = run("-c", "-a", "no-such-host.invalid", "-m", "x")
    assert result.returncode == 1
    assert "cannot resolve 'no-such-host.invalid'" in result.stderr


def test_address_not_on_this_machine_cannot_be_bound():
    result = run("-a", "192.0.2.1", "-p", str(free_port()))  # TEST-NET-1, never local
    assert result.returncode == 1
    assert "Cannot assign requested address" in result.stderr


def test_expired_server_certificate_is_refused_by_the_client_and_flagged_by_the_server(
        port, start_server):
    server = start_server(port, "--cert", cert("expired.pem"), "--key", cert("expired-key.pem"))
    assert "has expired" in server.stderr()
    result = run("-c", "-p", str(port), "-m", "x")
    assert result.returncode == 3
    assert "expired" in result.stderr


@pytest.mark.parametrize("args, words", [
    (["-c", "-a", "::1", "-m", "x"], "connect: Cannot assign requested address (no IPv6"),
    (["-a", "::1"], "bind to ::1 port 5599: Cannot assign requested address (no IPv6"),
])
def test_ipv6_literal_where_ipv6_is_unavailable(args, words):
    """In a network namespace of our own with IPv6 disabled."""
    script = ("ip link set lo up && sysctl -qw net.ipv6.conf.all.disable_ipv6=1 && "
              "sysctl -qw net.ipv6.conf.lo.disable_ipv6=1 && exec \"$@\"")
    result = subprocess.run(["unshare", "-n", "sh", "-c", script, "sh", BINARY, "-p", "5599",
                             *args], cwd=ROOT, capture_output=True, text=True, timeout=20)
    if "unshare failed" in result.stderr or "Operation not permitted" in result.stderr:
        pytest.skip("cannot create a network namespace here: " + result.stderr.strip())
    assert result.returncode == 1, result.stderr
    assert words in result.stderr
    assert len(error_lines(result)) == 1
