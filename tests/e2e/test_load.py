# SPDX-License-Identifier: MIT
"""The load generator (dtls_echo -c --clients N) against real servers: ours, gnutls-serv
and the plain UDP echo server, with every echo checked; its failure counting against a
corrupting echo server, a lossy relay and no server at all. Counts are asserted, never
speeds: speed is `make bench`'s business."""
import json
import os
import subprocess
import time

import pytest

from conftest import BINARY, ROOT, Process, cert, free_port, wait_bound

UDP_ECHO = os.path.join(ROOT, "tests", "bench", "udp_echo")


def load(port, *args, timeout=60):
    """Runs the load generator against 127.0.0.1:port; returns (exit code, summary)."""
    result = subprocess.run([BINARY, "-c", "-a", "127.0.0.1", "-p", str(port), "--json", *args],
                            cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    lines = result.stdout.strip().splitlines()
    assert lines, f"no summary; stderr={result.stderr!r}"
    return result.returncode, json.loads(lines[-1]), result.stderr


@pytest.fixture
def udp_echo(tmp_path):
    started = []

    def start(port, *args):
        proc = Process([UDP_ECHO, "-p", str(port), *args], tmp_path, f"udp_echo{len(started)}")
        started.append(proc)
        proc.wait_for("ready")
        return proc

    yield start
    for proc in started:
        proc.stop()


def test_every_echo_of_every_session_is_counted(port, start_server):
    start_server(port, "-q", ready="")
    code, s, err = load(port, "--clients", "20", "-n", "50", "--window", "4", "--insecure")
    assert code == 0, err
    assert s["mode"] == "dtls" and s["clients"] == 20 and s["window"] == 4
    assert s["handshakes"]["count"] == 20
    assert s["echoes"]["count"] == 1000
    assert s["failures"]["total"] == 0 and s["late_echoes"] == 0
    for kind in ("handshakes", "echoes"):
        # Ordered, and no latency is a wrapped clock (that would be over 4,000 s).
        assert 0 < s[kind]["p50_ms"] <= s[kind]["p99_ms"] <= s[kind]["max_ms"] < 60000
        assert s[kind]["per_s"] > 0
    assert s["echoes"]["mb_per_s"] == pytest.approx(s["echoes"]["per_s"] * 64 / 1e6, rel=0.01)


def test_verified_handshakes_only(port, start_server):
    start_server(port, "-q", ready="")
    code, s, err = load(port, "--clients", "4", "-n", "10", "--handshakes-only",
                        "--hostname", "localhost")
    assert code == 0, err
    assert s["handshakes"]["count"] == 40
    assert s["echoes"]["count"] == 0


def test_wrong_ca_fails_every_handshake_with_exit_3(port, start_server):
    start_server(port, "-q", ready="")
    code, s, err = load(port, "--clients", "3", "-n", "1", "--cafile", cert("other-ca.pem"))
    assert code == 3
    assert s["failures"]["handshake_failed"] == 3 and s["handshakes"]["count"] == 0
    assert "NOT trusted" in err or "verif" in err


def test_human_summary(port, start_server):
    start_server(port, "-q", ready="")
    result = subprocess.run([BINARY, "-c", "-a", "127.0.0.1", "-p", str(port), "--clients", "2",
                             "-n", "5", "--insecure"], cwd=ROOT, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "2 DTLS sessions to IPv4 127.0.0.1" in out
    assert "handshakes: 2," in out and "echoes: 10 of 64 bytes" in out
    assert "failures: none" in out


def test_gnutls_serv_echoes_split_records_are_reassembled(tmp_path):
    """gnutls-serv --echo sends a 1200-byte echo back in pieces; each piece is checked."""
    port = free_port()
    serv = Process(["gnutls-serv", "--udp", "--echo", "-q", "-p", str(port),
                    "--x509certfile", cert("server.pem"), "--x509keyfile", cert("server-key.pem")],
                   tmp_path, "gnutls-serv")
    try:
        wait_bound(port)
        code, s, err = load(port, "--clients", "1", "-n", "20", "--size", "1200", "--insecure")
    finally:
        serv.stop()
    assert code == 0, err
    assert s["echoes"]["count"] == 20 and s["failures"]["total"] == 0


def test_plain_udp_baseline(port, udp_echo):
    udp_echo(port)
    code, s, err = load(port, "--plain", "--clients", "4", "-n", "100", "--window", "2",
                        "--size", "1200")
    assert code == 0, err
    assert s["mode"] == "plain" and s["handshakes"]["count"] == 0
    assert s["echoes"]["count"] == 400


def test_a_corrupted_echo_is_a_wrong_echo_and_exit_5(port, udp_echo):
    udp_echo(port, "-x", "10")  # every 10th echo has its last byte flipped
    code, s, _ = load(port, "--plain", "--clients", "1", "-n", "50", "--timeout", "200")
    assert code == 5
    assert s["failures"]["wrong_echo"] == 5
    assert s["echoes"]["count"] == 45
    assert s["failures"]["lost_echo"] == 0  # each bad echo is counted once


def test_lost_echoes_are_counted_and_the_run_ends(port, udp_echo, start_relay):
    udp_echo(port)
    relay_port = free_port()
    start_relay(relay_port, port, "--drop-down", "0.3", "--seed", "7")
    code, s, err = load(relay_port, "--plain", "--clients", "2", "-n", "40", "--window", "2",
                        "--timeout", "200")
    assert code == 4, err
    assert s["failures"]["lost_echo"] > 0
    assert s["echoes"]["count"] + s["failures"]["lost_echo"] == 80


def test_no_server_counts_refusals_and_exits_4():
    port = free_port()
    code, s, _ = load(port, "--clients", "3", "-n", "1", "--insecure", "--timeout", "200")
    assert code == 4
    assert s["failures"]["refused"] == 3


def test_duration_ends_an_unbounded_run(port, start_server):
    start_server(port, "-q", ready="")
    started = time.monotonic()
    code, s, err = load(port, "--clients", "2", "--duration", "1", "--insecure")
    assert code == 0, err
    assert 0.9 < time.monotonic() - started < 5
    assert s["echoes"]["count"] > 10 and s["failures"]["total"] == 0


def test_handshakes_cut_by_the_duration_are_reported_unfinished():
    """A server that never answers (a UDP socket that reads nothing): the run ends at
    --duration with every handshake still under way, and says so."""
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        code, s, _ = load(silent.getsockname()[1], "--clients", "3", "-n", "1", "--insecure",
                          "--duration", "1")
    assert code == 4
    assert s["unfinished_handshakes"] == 3 and s["handshakes"]["count"] == 0


def test_rate_spaces_the_session_starts(port, start_server):
    start_server(port, "-q", ready="")
    code, s, err = load(port, "--clients", "10", "--rate", "20", "-n", "1", "--insecure")
    assert code == 0, err
    assert s["handshakes"]["count"] == 10
    assert s["elapsed_s"] >= 0.45  # the 10th starts 9/20 s after the first


def test_interval_paces_echoes(port, start_server):
    start_server(port, "-q", ready="")
    code, s, err = load(port, "--clients", "2", "-n", "5", "--interval", "100", "--insecure")
    assert code == 0, err
    assert s["echoes"]["count"] == 10
    assert s["elapsed_s"] >= 0.4  # 5 echoes, 100 ms apart


def test_size_beyond_the_mtu_is_a_clear_usage_error(port, start_server):
    start_server(port, "-q", ready="")
    # Refused before the run: no summary, only the reason.
    result = subprocess.run([BINARY, "-c", "-a", "127.0.0.1", "-p", str(port), "--json",
                             "--clients", "1", "-n", "1", "--size", "2000", "--insecure"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--size 2000 does not fit" in result.stderr
