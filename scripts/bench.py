#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The benchmark behind `make bench` (run it through scripts/bench.sh).

Runs the same loads, with dtls_echo's load generator (`dtls_echo -c --clients N ...
--json`), against three servers started fresh for every run: dtls_echo, `gnutls-serv --udp
--echo`, and a plain UDP echo server (tests/bench/udp_echo, the kernel's ceiling). Each
load runs --runs times and the median run is reported. Writes RESULTS.md (tables, targets
and ratios), results.json (every run) and scaling.png (gnuplot) into --out.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_tunnel  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.environ.get("DTLS_ECHO_BINARY", os.path.join(ROOT, "dtls_echo"))
# The portable build (make posix): what macOS runs, on this machine beside the Linux build.
POSIX_BINARY = os.path.join(ROOT, "build", "posix", "dtls_echo")
PORTABLE = "dtls_echo, portable build"
# The one-socket server (--one-socket: Windows's only mode), beside the connected sockets.
ONE_SOCKET = "dtls_echo --one-socket"
UDP_ECHO = os.path.join(ROOT, "tests", "bench", "udp_echo")
REFERENCE = os.path.join(ROOT, "tests", "bench", "dtls_reference")
# The burst's baseline: a single-threaded non-blocking DTLS echo server (no thread, no
# socket per client), the shape that does best when 500 clients arrive at once.
ONE_THREAD = "single-threaded reference"
HOST = "127.0.0.1"
# --duration of every run, so a server that stalls cannot stall the bench; gnutls-serv,
# which serves one client at a time, gets less (set in main() for --quick).
CAP_S = {"dtls_echo": 20, PORTABLE: 20, ONE_SOCKET: 20, "gnutls-serv": 10, "plain UDP": 20, ONE_THREAD: 20}

SERVERS = ("dtls_echo", "gnutls-serv", "plain UDP")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_bound(port):
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((HOST, port))
        return False
    except OSError:
        return True


def proc_status(pid, field):
    """A number from /proc/PID/status (VmRSS in KiB, Threads), or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# Pinned runs: the server on one CPU, the load generator on the other (taskset), so that
# the echo rate is per core and does not depend on where the scheduler puts threads.
SERVER_CPU, LOAD_CPU = "0", "1"
PINNED = "8 sessions x 8 in flight, 64 B, pinned (server on CPU 0, load on CPU 1)"


class Server:
    def __init__(self, kind, max_clients, extra=(), pinned=False):
        self.kind = kind
        self.port = free_port()
        cert = lambda name: os.path.join(ROOT, "certs", name)
        if kind in ("dtls_echo", PORTABLE, ONE_SOCKET):
            args = [POSIX_BINARY if kind == PORTABLE else BINARY, "-q", "-a", HOST, "-p",
                    str(self.port),
                    "--max-clients", str(max_clients), "--idle-timeout", "120"]
            if kind == ONE_SOCKET:
                args.append("--one-socket")
        elif kind == "gnutls-serv":
            args = ["gnutls-serv", "--udp", "--echo", "-q", "-p", str(self.port),
                    "--x509certfile", cert("server.pem"), "--x509keyfile", cert("server-key.pem")]
        elif kind == ONE_THREAD:
            args = [REFERENCE, "-a", HOST, "-p", str(self.port)]
        else:
            args = [UDP_ECHO, "-a", HOST, "-p", str(self.port)]
        args += list(extra)
        if pinned:
            args = ["taskset", "-c", SERVER_CPU] + args
        self.command = " ".join("PORT" if a == str(self.port) else a for a in args)
        self.proc = subprocess.Popen(args, cwd=ROOT, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not port_bound(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{kind} did not start (exit {self.proc.poll()})")
            time.sleep(0.02)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run_load(server, args, watch=None, pinned=False):
    """One run of the load generator against server; returns its JSON summary (plus
    the exit code, and what watch() returned while it ran)."""
    cap = CAP_S[server.kind]
    cmd = [BINARY, "-c", "-q", "-a", HOST, "-p", str(server.port), "--json",
           "--duration", str(cap)] + args
    if server.kind == "plain UDP":
        cmd.append("--plain")
    if pinned:
        cmd = ["taskset", "-c", LOAD_CPU] + cmd
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    watched = watch(server, proc) if watch else None
    out, err = proc.communicate(timeout=cap + 60)
    try:
        summary = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError(f"no summary from {' '.join(cmd)}: {err.strip()}")
    summary["exit"] = proc.returncode
    summary["command"] = " ".join("PORT" if a == str(server.port) else a
                                  for a in cmd).replace(BINARY, "dtls_echo")
    summary["server_command"] = server.command.replace(BINARY, "dtls_echo").replace(
        UDP_ECHO, "tests/bench/udp_echo").replace(REFERENCE, "tests/bench/dtls_reference")
    if watched is not None:
        summary["watch"] = watched
    return summary


def metric(summary, key):
    section, _, field = key.partition(".")
    return summary[section][field] if field else summary[section]


def measure(server_kind, args, runs, key, max_clients=1000, watch=None, server_args=(),
            pinned=False):
    """Runs a load `runs` times, each against a fresh server; returns the median run by
    key (ties: the first), with every run's value of key. gnutls-serv's loads with more
    than one client run once: it serves one client at a time, so they run into the cap."""
    if server_kind == "gnutls-serv" and args[args.index("--clients") + 1] != "1":
        runs = 1
    results = []
    for _ in range(runs):
        server = Server(server_kind, max_clients, server_args, pinned)
        try:
            results.append(run_load(server, args, watch, pinned))
        finally:
            server.stop()
    values = [metric(r, key) for r in results]
    median = statistics.median_low(values)
    chosen = dict(results[values.index(median)])
    chosen["runs"] = values
    return chosen


def open_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def idle_watch(sessions):
    """While sessions connect: the server's RSS once every session has its socket (and so
    its thread; threads alone do not say it, some are started ahead)."""
    def watch(server, proc):
        pid = server.proc.pid
        base, base_fds = proc_status(pid, "VmRSS"), open_fds(pid)
        deadline = time.monotonic() + CAP_S[server.kind]
        seen = None
        while time.monotonic() < deadline and proc.poll() is None:
            if open_fds(pid) >= base_fds + sessions:
                time.sleep(1.0)  # every session has echoed at least once more
                seen = {"rss_base_kib": base, "rss_kib": proc_status(pid, "VmRSS"),
                        "threads": proc_status(pid, "Threads")}
                break
            time.sleep(0.1)
        return seen
    return watch


def kx_benchmark():
    """gnutls-cli --benchmark-tls-kx's ECDHE-SECP256R1 with ECDSA-SECP256R1 figure. That
    pair is the fifth it measures: the rest of its 45 s run is cut off."""
    out = subprocess.run(["timeout", "30", "stdbuf", "-oL", "gnutls-cli",
                          "--benchmark-tls-kx"], capture_output=True, text=True).stdout
    m = re.search(r"\(ECDHE-SECP256R1\)-\(ECDSA-SECP256R1-SHA256\)[^\n]*\n\s*-\s*([\d.]+) "
                  r"transactions/sec", out)
    return float(m.group(1)) if m else None


def negotiated_session():
    """What a default handshake with dtls_echo negotiates, as its -v line says."""
    server = Server("dtls_echo", 10)
    try:
        out = subprocess.run([BINARY, "-c", "-v", "-a", HOST, "-p", str(server.port), "-m", "x",
                              "-n", "1", "--insecure"], capture_output=True, text=True,
                             timeout=30).stdout  # the -m transcript
    finally:
        server.stop()
    m = re.search(r"- Session: (\S+)", out)
    return m.group(1) if m else "unknown"


def fmt(value, digits=0):
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small loads, one run each, no 10k sessions and no "
                             "gnutls-cli benchmark: the CI check that the bench works")
    parser.add_argument("--runs", type=int, help="runs per load (default 3, --quick 1)")
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "bench"),
                        help="directory for RESULTS.md, results.json and the plots (default "
                             "build/bench, not committed; the committed bench/ takes only a "
                             "full run, asked for by name: make bench BENCH_OUT=bench)")
    opts = parser.parse_args()
    if opts.quick and os.path.realpath(opts.out) == os.path.realpath(os.path.join(ROOT,
                                                                                  "bench")):
        parser.error("--quick figures are not for bench/, the committed results: give "
                     "another --out (default build/bench)")
    runs = opts.runs or (1 if opts.quick else 3)
    scale = 10 if opts.quick else 1
    if opts.quick:
        CAP_S.update({"dtls_echo": 8, PORTABLE: 8, ONE_SOCKET: 8, "gnutls-serv": 3, "plain UDP": 8})
    os.makedirs(opts.out, exist_ok=True)
    started = time.monotonic()
    results = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, Linux "
                          f"{platform.release()}",
               "gnutls": subprocess.run([BINARY, "--version"], capture_output=True,
                                        text=True).stdout.strip(),
               "runs": runs, "quick": opts.quick, "loads": {}}
    loads = results["loads"]
    # The reference moves by +-20 % from run to run here: measure it before, between and
    # after the loads, and compare with the median.
    kx_runs = []
    if not opts.quick:
        print("bench: gnutls-cli --benchmark-tls-kx", file=sys.stderr, flush=True)
        kx_runs.append(kx_benchmark())

    def load(name, servers, args, key, **kw):
        for kind in servers:
            print(f"bench: {name} against {kind}", file=sys.stderr, flush=True)
            loads.setdefault(name, {})[kind] = measure(kind, args, runs, key, **kw)

    both = SERVERS[:2]
    # gnutls-serv serves one client at a time: its concurrent loads only time out, which
    # the full run shows once; --quick leaves them out.
    crowd = SERVERS[:1] if opts.quick else both
    n = lambda count: str(max(1, count // scale))
    load("handshakes, 1 client in sequence", both,
         ["--clients", "1", "-n", n(400), "--handshakes-only", "--insecure"], "handshakes.per_s")
    load("handshakes, 8 concurrent clients", crowd + (PORTABLE,),
         ["--clients", "8", "-n", n(250), "--handshakes-only", "--insecure"], "handshakes.per_s")
    load("handshakes, 8 concurrent clients, verifying", SERVERS[:1],
         ["--clients", "8", "-n", n(250), "--handshakes-only"], "handshakes.per_s")
    load("500 clients at once", crowd + (ONE_SOCKET, ONE_THREAD),
         ["--clients", "500", "-n", "1", "--insecure"], "handshakes.p99_ms")
    load("500 clients at once, verifying", SERVERS[:1], ["--clients", "500", "-n", "1"],
         "handshakes.p99_ms")
    for size in ("64", "1200"):
        load(f"ping-pong, {size} B", SERVERS, ["--clients", "1", "-n", n(30000), "--size", size,
                                               "--insecure"], "echoes.per_s")
        load(f"8 sessions x 8 in flight, {size} B",
             (SERVERS if not opts.quick else (SERVERS[0], SERVERS[2])) + (PORTABLE, ONE_SOCKET),
             ["--clients", "8", "--window", "8", "-n", n(30000), "--size", size, "--insecure"],
             "echoes.per_s")

    # Workers (--workers 2) against the same loads, and the echo rate per core: every
    # thread of the server pinned on one CPU, the load generator on the other.
    workers = ("--workers", "2")
    load("handshakes, 8 concurrent clients, 2 workers", SERVERS[:1],
         ["--clients", "8", "-n", n(250), "--handshakes-only", "--insecure"], "handshakes.per_s",
         server_args=workers)
    load("500 clients at once, 2 workers", SERVERS[:1],
         ["--clients", "500", "-n", "1", "--insecure"], "handshakes.p99_ms", server_args=workers)
    load("8 sessions x 8 in flight, 64 B, 2 workers", SERVERS[:1],
         ["--clients", "8", "--window", "8", "-n", n(30000), "--size", "64", "--insecure"],
         "echoes.per_s", server_args=workers)
    load(PINNED, (SERVERS[0], SERVERS[2]),
         ["--clients", "8", "--window", "8", "-n", n(30000), "--size", "64", "--insecure"],
         "echoes.per_s", pinned=True)

    if not opts.quick:
        kx_runs.append(kx_benchmark())
    scaling = results["scaling"] = {}
    for clients in (1, 8, 64, 512):
        for kind in SERVERS if clients == 1 or not opts.quick else (SERVERS[0], SERVERS[2]):
            print(f"bench: scaling, {clients} clients, against {kind}", file=sys.stderr,
                  flush=True)
            point = scaling.setdefault(str(clients), {}).setdefault(kind, {})
            if kind != "plain UDP":
                point["handshakes"] = measure(kind, [
                    "--clients", str(clients), "-n", str(max(1, 512 // clients // scale)),
                    "--handshakes-only", "--insecure"], runs, "handshakes.per_s")
            point["echoes"] = measure(kind, [
                "--clients", str(clients), "-n", str(max(1, 40000 // clients // scale)),
                "--insecure"], runs, "echoes.per_s")

    memory = results["memory"] = {}
    for sessions in ((200,) if opts.quick else (1000, 10000)):
        print(f"bench: {sessions} idle sessions", file=sys.stderr, flush=True)
        rate = 2000
        memory[str(sessions)] = measure(
            "dtls_echo", ["--clients", str(sessions), "--rate", str(rate), "--interval", "2000",
                          "--insecure", "--timeout", "5000"], 1, "handshakes.count",
            max_clients=sessions + 100, watch=idle_watch(sessions))

    print("bench: the tunnel, in network namespaces", file=sys.stderr, flush=True)
    results["tunnel"] = bench_tunnel.run(opts.quick)

    if not opts.quick:
        kx_runs.append(kx_benchmark())
    kx_runs = [kx for kx in kx_runs if kx]
    results["kx_benchmark_runs"] = kx_runs
    results["kx_benchmark"] = statistics.median(kx_runs) if kx_runs else None
    results["session"] = negotiated_session()
    results["seconds"] = round(time.monotonic() - started, 1)
    with open(os.path.join(opts.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    write_plot(results, opts.out)
    bench_tunnel.write_plot(results["tunnel"], os.path.join(opts.out, "tunnel.png"))
    write_markdown(results, opts.out)
    print(f"bench: wrote {opts.out}/RESULTS.md, results.json, scaling.png and tunnel.png in "
          f"{results['seconds']} s", file=sys.stderr)
    return 0


def rate(point, kind, what):
    """handshakes/s or echoes/s at one scaling point, or None where it was not run."""
    run = point.get(kind, {}).get(what)
    return run[what]["per_s"] if run else None


def write_plot(results, out):
    data = os.path.join(out, "scaling.dat")
    with open(data, "w") as f:
        f.write("# clients, then handshakes/s and echoes/s for " + ", ".join(SERVERS) + "\n")
        for clients, point in results["scaling"].items():
            row = [clients]
            for what in ("handshakes", "echoes"):
                for kind in SERVERS:
                    value = rate(point, kind, what)
                    row.append(f"{value:.1f}" if value else "NaN")
            f.write(" ".join(row) + "\n")
    script = f"""
set terminal pngcairo size 1200,480 font ",10" noenhanced
set output "{os.path.join(out, 'scaling.png')}"
set multiplot layout 1,2 title "dtls_echo benchmark ({results['machine']}; {results['date']})"
set logscale x 2
set xrange [0.8:700]
set xtics (1, 8, 64, 512)
set logscale y 10
set xlabel "concurrent clients"
set key bottom right
set grid
set title "Handshakes per second ({results['session']})"
set ylabel "handshakes/s"
plot "{data}" using 1:2 with linespoints lw 2 title "dtls_echo", \\
     "{data}" using 1:3 with linespoints lw 2 title "gnutls-serv --udp --echo"
set title "Echoes per second (64 B, one in flight per client)"
set ylabel "echoes/s"
plot "{data}" using 1:5 with linespoints lw 2 title "dtls_echo", \\
     "{data}" using 1:6 with linespoints lw 2 title "gnutls-serv --udp --echo", \\
     "{data}" using 1:7 with linespoints lw 2 dt 2 title "plain UDP echo (no crypto)"
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def unbelievable(ours, theirs):
    """Why a ratio of two runs would mislead, or "" when it would not: a run with failures or
    unfinished handshakes measured its timeouts (a lost echo costs a whole --timeout), not
    its server."""
    for run in (ours, theirs):
        lost = run["failures"]["total"] + run["unfinished_handshakes"]
        if lost:
            return (f"none: {lost} failed or unfinished in one run, whose timeouts the rate "
                    f"measures")
    return ""


def write_markdown(results, out):
    loads = results["loads"]
    kx = results["kx_benchmark"]
    lines = [
        "# dtls_echo benchmark results",
        "",
        f"Made by `make bench`{' with BENCH_FLAGS=--quick' if results['quick'] else ''} "
        f"(scripts/bench.sh) on {results['date']}: {results['machine']}, "
        f"{results['gnutls']}. The load generator, the server and the peers share these "
        f"cores. Each load ran {results['runs']} time(s), each time against a freshly "
        f"started server; the median run is shown (every run's value is in results.json). "
        f"A default handshake negotiates {results['session']}. The whole run took "
        f"{results['seconds']} s.",
        "",
        "## Targets (issue 5)",
        "",
        "| what | dtls_echo | reference | ratio | target | |",
        "|---|---|---|---|---|---|",
    ]

    def target(what, value, reference, ratio, goal, met):
        lines.append(f"| {what} | {value} | {reference} | {ratio} | {goal} | "
                     f"{'met' if met else '**missed**'} |")

    hs8 = loads["handshakes, 8 concurrent clients"]["dtls_echo"]["handshakes"]["per_s"]
    if kx:
        target("handshakes/s, 8 concurrent clients (--insecure)", fmt(hs8),
               f"{fmt(kx)}: gnutls-cli --benchmark-tls-kx, ECDHE-SECP256R1 + ECDSA-SECP256R1 "
               f"(median of {', '.join(fmt(k) for k in results['kx_benchmark_runs'])})",
               f"{hs8 / kx:.2f}", ">= 0.90", hs8 >= 0.9 * kx)
    window = loads["8 sessions x 8 in flight, 64 B"]
    ours, plain = window["dtls_echo"]["echoes"]["per_s"], window["plain UDP"]["echoes"]["per_s"]
    target("echoes/s, 8 sessions x 8 in flight, 64 B", fmt(ours), f"{fmt(plain)}: plain UDP",
           f"{ours / plain:.2f}", ">= 0.85", ours >= 0.85 * plain)
    portable = window[PORTABLE]["echoes"]["per_s"]
    target("the portable build (macOS's path, make posix): echoes/s, 8 sessions x 8 in "
           "flight, 64 B", fmt(portable), f"{fmt(ours)}: the Linux build",
           f"{portable / ours:.2f}", ">= 0.60", portable >= 0.6 * ours)
    one = window[ONE_SOCKET]["echoes"]["per_s"]
    target("the one-socket server (--one-socket, Windows's only mode): echoes/s, 8 sessions "
           "x 8 in flight, 64 B", fmt(one), f"{fmt(ours)}: connected sockets",
           f"{one / ours:.2f}", ">= 0.70", one >= 0.7 * ours)
    burst = loads["500 clients at once"]
    one, ours = burst[ONE_SOCKET]["handshakes"], burst["dtls_echo"]["handshakes"]
    target("the one-socket server: 500 clients at once, handshake p99",
           f"{one['p99_ms']:.0f} ms, {one['count']} of 500 done",
           f"{ours['p99_ms']:.0f} ms: connected sockets, {ours['count']} done",
           f"{one['p99_ms'] / ours['p99_ms']:.2f}", "<= 1.20",
           one["p99_ms"] <= 1.2 * ours["p99_ms"] and one["count"] == 500)
    pong = loads["ping-pong, 64 B"]
    ours, plain = pong["dtls_echo"]["echoes"]["p50_ms"], pong["plain UDP"]["echoes"]["p50_ms"]
    target("ping-pong round trip p50, 64 B", f"{ours * 1000:.0f} µs",
           f"{plain * 1000:.0f} µs: plain UDP", f"{ours / plain:.2f}", "<= 1.20",
           ours <= 1.2 * plain)
    pinned = loads[PINNED]
    ours, plain = pinned["dtls_echo"]["echoes"]["per_s"], pinned["plain UDP"]["echoes"]["per_s"]
    target("echoes/s per core: 8 sessions x 8 in flight, 64 B, pinned", fmt(ours),
           f"{fmt(plain)}: plain UDP, pinned the same way (runs: "
           f"{', '.join(fmt(v) for v in pinned['dtls_echo']['runs'])} against "
           f"{', '.join(fmt(v) for v in pinned['plain UDP']['runs'])})",
           f"{ours / plain:.2f}", ">= 0.85", ours >= 0.85 * plain)
    for name in ("500 clients at once", "500 clients at once, verifying",
                 "500 clients at once, 2 workers"):
        h = loads[name]["dtls_echo"]["handshakes"]
        one = loads["500 clients at once"][ONE_THREAD]["handshakes"]
        target(f"{name}: handshake p99", f"{h['p99_ms']:.0f} ms, {h['count']} of 500 done",
               f"{one['p99_ms']:.0f} ms: the {ONE_THREAD} (tests/bench/dtls_reference.c), "
               f"{one['count']} done", f"{h['p99_ms'] / one['p99_ms']:.2f}",
               "< 250 ms, all 500", h["p99_ms"] < 250 and h["count"] == 500)
    for sessions, m in results["memory"].items():
        w = m.get("watch")
        if w and w.get("rss_kib") is not None:
            per = (w["rss_kib"] - w["rss_base_kib"]) / int(sessions)
            target(f"{sessions} sessions held, each echoing: server RSS per session",
                   f"{per:.1f} KiB", f"{w['rss_base_kib']:,} KiB at start, "
                   f"{w['rss_kib']:,} KiB with {int(sessions):,} sessions "
                   f"({w['threads']:,} threads)", "",
                   "< 64 KiB", per < 64)
        else:
            target(f"{sessions} sessions held", "not all connected", "", "", "< 64 KiB", False)
    if not kx:
        lines += ["", "The gnutls-cli --benchmark-tls-kx reference is not run with --quick."]

    lines += ["", "## Workers", "", "The same loads against one server process and against "
              "`--workers 2` (two processes in one SO_REUSEPORT group), on the same 2 cores as "
              "the load generator.", "",
              "| load | 1 worker | 2 workers | 2 / 1 |", "|---|---|---|---|"]
    for one, key, unit in (("handshakes, 8 concurrent clients", "handshakes.per_s", "/s"),
                           ("8 sessions x 8 in flight, 64 B", "echoes.per_s", "/s"),
                           ("500 clients at once", "handshakes.p99_ms", " ms p99")):
        a = metric(loads[one]["dtls_echo"], key)
        b = metric(loads[f"{one}, 2 workers"]["dtls_echo"], key)
        lines.append(f"| {one} | {fmt(a)}{unit} | {fmt(b)}{unit} | {b / a:.2f} |")

    lines += ["", "## Every load", "",
              "Rates run from the first start (or echo) to the last completion. Handshake "
              "latency: from a session's first ClientHello to its completed handshake; round "
              "trip: from sending an echo to checking it. The last column is dtls_echo's rate "
              "divided by this server's.", "",
              "| load | server | handshakes/s | handshake p50 / p99 / max ms | echoes/s | MB/s "
              "| round trip p50 / p99 / max ms | failures | dtls_echo / this |",
              "|---|---|---|---|---|---|---|---|---|"]
    for name, by_server in loads.items():
        for kind, r in by_server.items():
            h, e = r["handshakes"], r["echoes"]
            key = "echoes" if by_server["dtls_echo"]["echoes"]["count"] else "handshakes"
            ours, theirs = by_server["dtls_echo"][key]["per_s"], r[key]["per_s"]
            failed = ", ".join(f"{k} {v}" for k, v in r["failures"].items() if v and k != "total")
            if r["unfinished_handshakes"]:
                failed = ", ".join(filter(None, [failed, f"{r['unfinished_handshakes']} "
                                                         f"handshakes unfinished at the cap"]))
            versus = unbelievable(by_server["dtls_echo"], r) if kind != "dtls_echo" else ""
            if versus == "" and kind != "dtls_echo" and theirs:
                versus = f"{ours / theirs:.2f}"
            lines.append(
                f"| {name} | {kind} | {fmt(h['per_s']) if h['count'] else '-'} | "
                f"{h['p50_ms']:.2f} / {h['p99_ms']:.2f} / {h['max_ms']:.2f} | "
                f"{fmt(e['per_s']) if e['count'] else '-'} | {e['mb_per_s']:.2f} | "
                f"{e['p50_ms']:.3f} / {e['p99_ms']:.3f} / {e['max_ms']:.3f} | "
                f"{failed or 'none'} | {versus} |")

    lines += ["", "## Scaling", "", "![handshake and echo rates against clients](scaling.png)",
              "", "| clients | " + " | ".join(f"{k} handshakes/s" for k in SERVERS[:2]) + " | "
              + " | ".join(f"{k} echoes/s" for k in SERVERS) + " | failures |",
              "|---|" + "---|" * 6]
    for clients, point in results["scaling"].items():
        cells = [fmt(rate(point, k, "handshakes")) for k in SERVERS[:2]]
        cells += [fmt(rate(point, k, "echoes")) for k in SERVERS]
        fails = sum(run["failures"]["total"] for k in point for run in point[k].values())
        lines.append(f"| {clients} | " + " | ".join(cells) + f" | {fails} |")

    lines += bench_tunnel.markdown(results["tunnel"])
    lines += ["", "## Commands", "",
              "Servers, started afresh for every run: `dtls_echo -q -a 127.0.0.1 -p PORT "
              "--max-clients N --idle-timeout 120`, `gnutls-serv --udp --echo -q -p PORT "
              "--x509certfile certs/server.pem --x509keyfile certs/server-key.pem`, "
              "`tests/bench/udp_echo -a 127.0.0.1 -p PORT`, `tests/bench/dtls_reference -a "
              "127.0.0.1 -p PORT`, with what the load adds (workers, "
              "taskset). The load generator's command for each load (against the plain UDP "
              "server it adds --plain):", ""]
    for name, by_server in loads.items():
        r = by_server["dtls_echo"]
        lines.append(f"- {name}: `{r['command']}` against `{r['server_command']}`")
    for sessions, m in results["memory"].items():
        lines.append(f"- {sessions} sessions held: `{m['command']}`; the server's VmRSS from "
                     f"/proc/PID/status at start and once it has a thread per session")
    lines.append("")
    with open(os.path.join(out, "RESULTS.md"), "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
