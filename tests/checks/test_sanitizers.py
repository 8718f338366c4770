# SPDX-License-Identifier: MIT
"""The whole end-to-end suite under ASan+UBSan, the concurrency tests under TSan, valgrind
on a client and on a server that served 20 clients and was stopped with SIGTERM, and a
short fuzzing run. Each sanitizer writes its reports to files; any file is a failure."""
import glob
import os
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
E2E = os.path.join(ROOT, "tests", "e2e")
sys.path.insert(0, E2E)
from conftest import free_port, wait_bound  # noqa: E402


def run_suite_with(binary, env_extra, tests, tmp_path, timeout):
    logs = tmp_path / "reports"
    logs.mkdir()
    env = {**os.environ, "DTLS_ECHO_BINARY": os.path.join(ROOT, binary),
           "DTLS_ECHO_CLIENT_BINARY": os.path.join(ROOT, "dtls_echo"),
           "DTLS_ECHO_SANITIZED": "1"}
    for name, options in env_extra.items():
        env[name] = f"{options}:log_path={logs}/report"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                             *tests], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=timeout)
    reports = sorted(glob.glob(str(logs / "report*")))
    details = "".join(open(path).read()[:3000] for path in reports[:3])
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    print(f"{binary}: {summary}; {len(reports)} sanitizer report(s)")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert not reports, details


def test_whole_suite_under_asan_and_ubsan_with_zero_reports(tmp_path):
    run_suite_with("build/asan/dtls_echo",
                   {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0",
                    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"},
                   # Not the files that never run this binary (the unit programs, the
                   # package and install tests, which build their own, the license's), nor
                   # the wire captures (tshark's time; --trace's decoding is fuzzed under
                   # ASan in fuzz_datagram): the suite stays within its 12 minutes.
                   [E2E, "--deselect", "tests/e2e/test_unit.py", "--deselect",
                    "tests/e2e/test_package.py", "--deselect", "tests/e2e/test_install.py",
                    "--deselect", "tests/e2e/test_license.py", "--deselect",
                    "tests/e2e/test_wire.py"], tmp_path, timeout=900)


def test_concurrency_tests_under_tsan_with_zero_reports(tmp_path):
    # Not the 500-client test: 500 TSan-instrumented clients on two cores time out; it
    # checks kernel delivery, and the 50-client test covers the server's threads here.
    tests = [f"{E2E}/test_concurrency.py", f"{E2E}/test_traps.py", "--deselect",
             "tests/e2e/test_traps.py::test_five_hundred_clients_at_once_each_get_their_own_datagrams",
             f"{E2E}/test_core.py::test_sigterm_during_ten_sessions_exits_0_and_every_client_sees_close_notify",
             f"{E2E}/test_limits.py::test_cookie_key_rotates_and_the_previous_key_stays_valid_one_period",
             f"{E2E}/test_load.py",  # the load generator's worker threads
             # the tunnel's leases, shared by session threads, and a session kicked by
             # another of the same identity
             f"{E2E}/test_tunnel.py::test_two_clients_reach_the_server_and_each_other[2]",
             f"{E2E}/test_tunnel.py::test_a_client_back_before_the_server_noticed_takes_over_its_old_session",
             # a tunnel's two threads on one session: packets both ways, heartbeats
             # answered by the sending thread, the end of one thread stopping the other
             f"{E2E}/test_tunnel.py::test_small_packets_interleaved_with_a_bulk_transfer_all_get_through",
             f"{E2E}/test_tunnel.py::test_a_transfer_survives_a_reconnection_in_its_middle[offload]"]
    run_suite_with("build/tsan/dtls_echo", {"TSAN_OPTIONS": "halt_on_error=0"}, tests,
                   tmp_path, timeout=900)


VALGRIND = ["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
            "--error-exitcode=99", "--quiet"]


def test_valgrind_client_run_has_no_leak(tmp_path):
    port = free_port()
    server = subprocess.Popen([os.path.join(ROOT, "dtls_echo"), "-p", str(port), "-q"],
                              cwd=ROOT)
    try:
        wait_bound(port)
        result = subprocess.run(VALGRIND + [os.path.join(ROOT, "dtls_echo"), "-c", "-p", str(port),
                                            "-m", "under valgrind", "-n", "3"],
                                cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "definitely lost" not in result.stderr


def test_valgrind_server_that_served_20_clients_and_got_sigterm_has_no_leak(tmp_path):
    port = free_port()
    err = open(tmp_path / "valgrind.err", "w")
    server = subprocess.Popen(VALGRIND + [os.path.join(ROOT, "dtls_echo"), "-p", str(port)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        assert "UDP server ready" in server.stdout.readline()
        clients = [subprocess.Popen([os.path.join(ROOT, "dtls_echo"), "-c", "-p", str(port),
                                     "-m", f"client {i}", "-n", "2", "-q"], cwd=ROOT)
                   for i in range(20)]
        assert [c.wait(timeout=120) for c in clients] == [0] * 20
        holder = subprocess.Popen([os.path.join(ROOT, "dtls_echo"), "-c", "-p", str(port)],
                                  cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
        holder.stdin.write("open session at shutdown\n")
        holder.stdin.flush()
        assert holder.stdout.readline() == "open session at shutdown\n"
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
        # close_notify came while its stdin was still open: exit 1, the rest unsent.
        assert holder.wait(timeout=30) == 1
    finally:
        if server.poll() is None:
            server.kill()
        err.close()
    report = (tmp_path / "valgrind.err").read_text()
    assert code == 0, report[-3000:]
    assert "definitely lost" not in report and "indirectly lost" not in report


def test_valgrind_tunnel_server_and_client_have_no_leak(tmp_path):
    """Both ends of a tunnel under valgrind: interfaces, leases, netlink and the batched
    transport all freed after a ping and SIGTERM."""
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import netns
    reason = netns.can_make_namespaces()
    if reason:
        pytest.skip(f"tunnel under valgrind: {reason}")
    binary = os.path.join(ROOT, "dtls_echo")
    with netns.Star(clients=1) as star:
        logs = [open(tmp_path / name, "w") for name in ("server.err", "client.err")]
        server = star.popen(star.server(), VALGRIND + [binary, "--tun", "-p", "5556"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=logs[0])
        client = None
        try:
            time.sleep(3)  # valgrind starts slowly
            client = star.popen(star.client(1), VALGRIND + [
                binary, "-c", "-a", star.server_ip(1), "-p", "5556", "--tun", "--cafile",
                "certs/ca.pem", "--hostname", "localhost"], cwd=ROOT,
                stdout=subprocess.DEVNULL, stderr=logs[1])
            deadline = time.monotonic() + 60
            while "tunnel up:" not in (tmp_path / "client.err").read_text():
                assert time.monotonic() < deadline and client.poll() is None
                time.sleep(0.2)
            ping = star.run(star.client(1), ["ping", "-c", "3", "-i", "0.2", "10.77.0.1"])
            assert ping.returncode == 0, ping.stdout
            client.send_signal(signal.SIGTERM)
            assert client.wait(timeout=60) == 0
            server.send_signal(signal.SIGTERM)
            assert server.wait(timeout=60) == 0
        finally:
            for proc in (client, server):
                if proc is not None and proc.poll() is None:
                    proc.kill()
                    proc.wait()
            for log in logs:
                log.close()
    for name in ("server.err", "client.err"):
        report = (tmp_path / name).read_text()
        assert "definitely lost" not in report and "indirectly lost" not in report, report


def test_short_fuzzing_run_finds_nothing():
    script = os.path.join(ROOT, "scripts", "fuzz.sh")
    if not os.path.exists(script):
        pytest.fail("scripts/fuzz.sh is missing")
    result = subprocess.run([script, os.environ.get("FUZZ_SECONDS", "10")], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    print(result.stdout)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
