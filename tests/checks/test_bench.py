# SPDX-License-Identifier: MIT
"""`make bench`'s short run (scripts/bench.sh --quick), so the benchmark cannot rot: on a
fresh machine it must run end to end, serve every load without a failure against dtls_echo
and the plain UDP server, and write the table, the data and the plot. No speed is asserted
here: speeds are the benchmark's findings (bench/RESULTS.md), not a pass or a fail."""
import json
import os
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_quick_figures_never_land_in_the_committed_results():
    result = subprocess.run([os.path.join(ROOT, "scripts", "bench.sh"), "--quick", "--out",
                             os.path.join(ROOT, "bench")], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "not for bench/" in result.stderr, result.stderr
    makefile = open(os.path.join(ROOT, "Makefile")).read()
    assert "BENCH_OUT ?= build/bench" in makefile and "--out $(BENCH_OUT)" in makefile


def test_quick_bench_writes_the_table_and_the_plot(tmp_path):
    result = subprocess.run([os.path.join(ROOT, "scripts", "bench.sh"), "--quick", "--out",
                             str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]

    table = (tmp_path / "RESULTS.md").read_text()
    for heading in ("## Targets (issue 5)", "## Workers", "## Every load", "## Scaling",
                    "## Tunnel (issues 10 and 23)", "## Commands"):
        assert heading in table
    png = (tmp_path / "scaling.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10000

    results = json.loads((tmp_path / "results.json").read_text())
    assert "ECDHE" in results["session"]
    for name, by_server in results["loads"].items():
        for kind in ("dtls_echo", "plain UDP", "dtls_echo, portable build"):
            if kind in by_server:
                run = by_server[kind]
                assert run["exit"] == 0 and run["failures"]["total"] == 0, (name, kind, run)
    for clients, point in results["scaling"].items():
        for what, run in point["dtls_echo"].items():
            assert run["failures"]["total"] == 0, (clients, what, run["failures"])
    burst = results["loads"]["500 clients at once"]
    ours, reference = burst["dtls_echo"], burst["single-threaded reference"]
    assert ours["handshakes"]["count"] == 500 and ours["echoes"]["count"] == 500
    # The baseline is a minimal server (tests/bench/dtls_reference.c): it ran and served.
    # Now and then one of its 500 clients stalls (the load generator then exits 4); the
    # table says how many it served.
    assert reference["handshakes"]["count"] > 0
    for name in ("handshakes, 8 concurrent clients, 2 workers", "500 clients at once, 2 workers",
                 "8 sessions x 8 in flight, 64 B, 2 workers"):
        assert results["loads"][name]["dtls_echo"]["failures"]["total"] == 0, name
    tunnel = results["tunnel"]
    if os.geteuid() == 0:  # namespaces and TUN devices: root, as in CI
        for kind in ("bare veth", "dtls_echo", "dtls_echo --no-offload", "wireguard-go"):
            figures = tunnel["kinds"][kind]
            assert figures["ping_ms"] > 0, (kind, figures)
            for run in ("tcp_1", "tcp_1_reverse", "tcp_4", "tcp_4_reverse"):
                assert figures[run]["mbit"] > 0, (kind, run, figures)
            # The tunnels' own processes were measured; the bare veth has none.
            assert (figures["tcp_1"]["cpu_s_per_gb"] is None) == (kind == "bare veth"), kind
        assert (tmp_path / "tunnel.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert "needs root" in tunnel["skipped"]
    held = results["memory"]["200"]["watch"]
    assert held is not None and held["threads"] == 201  # a thread per session, and the listener


def test_a_ratio_against_a_run_with_failures_is_not_given():
    """A run with lost echoes or unfinished handshakes measured its timeouts: the table
    says so instead of a ratio (a gnutls-serv row once read 125 with one unfinished)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench", os.path.join(ROOT, "scripts",
                                                                        "bench.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    clean = {"failures": {"total": 0}, "unfinished_handshakes": 0}
    assert bench.unbelievable(clean, clean) == ""
    lossy = {"failures": {"total": 138}, "unfinished_handshakes": 0}
    unfinished = {"failures": {"total": 0}, "unfinished_handshakes": 1}
    assert "138 failed or unfinished" in bench.unbelievable(clean, lossy)
    assert "1 failed or unfinished" in bench.unbelievable(clean, unfinished)
    assert bench.unbelievable(lossy, clean) != ""
