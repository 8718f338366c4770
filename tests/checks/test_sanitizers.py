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
                   [E2E, "--deselect", "tests/e2e/test_unit.py"], tmp_path, timeout=900)


def test_concurrency_tests_under_tsan_with_zero_reports(tmp_path):
    # Not the 500-client test: 500 TSan-instrumented clients on two cores time out; it
    # checks kernel delivery, and the 50-client test covers the server's threads here.
    tests = [f"{E2E}/test_concurrency.py", f"{E2E}/test_traps.py", "--deselect",
             "tests/e2e/test_traps.py::test_five_hundred_clients_at_once_each_get_their_own_datagrams",
             f"{E2E}/test_core.py::test_sigterm_during_ten_sessions_exits_0_and_every_client_sees_close_notify",
             f"{E2E}/test_limits.py::test_cookie_key_rotates_and_the_previous_key_stays_valid_one_period",
             f"{E2E}/test_load.py"]  # the load generator's worker threads
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
        assert holder.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
        err.close()
    report = (tmp_path / "valgrind.err").read_text()
    assert code == 0, report[-3000:]
    assert "definitely lost" not in report and "indirectly lost" not in report


def test_short_fuzzing_run_finds_nothing():
    script = os.path.join(ROOT, "scripts", "fuzz.sh")
    if not os.path.exists(script):
        pytest.fail("scripts/fuzz.sh is missing")
    result = subprocess.run([script, os.environ.get("FUZZ_SECONDS", "15")], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    print(result.stdout)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
