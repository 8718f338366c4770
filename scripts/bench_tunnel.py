# SPDX-License-Identifier: MIT
"""The tunnel's benchmark (part of `make bench`): TCP throughput (iperf3, one stream and
four, each way), UDP's loss knee (the highest rate iperf3 -u sends with under 1 % lost),
the 64-byte UDP packet rate, the ping round trip and the CPU time the tunnel's processes
spend per GB, through dtls_echo's tunnel with its offloads and without (--no-offload),
through wireguard-go (userspace WireGuard) and over the bare veth (the ceiling), each in
fresh network namespaces (scripts/netns.py), in the same run. BENCH_TUNNEL_BEFORE=PATH
adds another dtls_echo binary (an earlier build) to compare with. Needs root;
scripts/bench.py calls run() and writes the rows."""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BINARY = os.path.join(ROOT, "dtls_echo")
IPERF_PORT = 5201
KINDS = ("bare veth", "dtls_echo", "dtls_echo --no-offload", "wireguard-go")
BEFORE = "dtls_echo before"  # BENCH_TUNNEL_BEFORE's binary
UDP_SIZE = 1300  # fits every tunnel's MTU (wireguard-go's 1420)
KNEE_RATES = (250, 500, 750, 1000, 1500, 2000, 4000)  # Mbit/s, until the loss passes 1 %
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def wait_until(check, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError(f"bench_tunnel: {what} not ready within {timeout} s")


class Tunnel:
    """Processes that make one kind of tunnel in a star; .server_address is where the
    client reaches the server through it."""

    def __init__(self, star, kind, tmp):
        self.star, self.kind, self.tmp, self.procs = star, kind, tmp, []
        if kind.startswith("dtls_echo"):
            self._dtls_echo()
        else:
            getattr(self, "_" + kind.split()[0].replace("-", "_"))()
        wait_until(lambda: star.run(star.client(1), ["ping", "-c", "1", "-W", "1",
                                                      self.server_address]).returncode == 0,
                   15, f"{kind} tunnel")

    def _start(self, ns, args, env=None):
        log = open(os.path.join(self.tmp, f"{self.kind.split()[0]}-{len(self.procs)}.log"), "w")
        proc = self.star.popen(ns, args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                               env=dict(os.environ, **(env or {})))
        self.procs.append((proc, log))
        return proc

    def _bare(self):
        self.server_address = self.star.server_ip(1)

    def _dtls_echo(self):
        s, c = self.star.server(), self.star.client(1)
        binary = os.environ["BENCH_TUNNEL_BEFORE"] if self.kind == BEFORE else BINARY
        extra = ["--no-offload"] if "--no-offload" in self.kind else []
        self._start(s, [binary, "--tun", "-q", "-p", "5556", *extra])
        time.sleep(0.3)
        self._start(c, [binary, "-c", "-a", self.star.server_ip(1), "-p", "5556", "--tun",
                        "--cafile", "certs/ca.pem", "--hostname", "localhost", *extra])
        self.server_address = "10.77.0.1"

    def _wireguard_go(self):
        s, c = self.star.server(), self.star.client(1)
        keys = {}
        for side in ("s", "c"):
            private = subprocess.run(["wg", "genkey"], capture_output=True, text=True,
                                     check=True).stdout.strip()
            public = subprocess.run(["wg", "pubkey"], input=private, capture_output=True,
                                    text=True, check=True).stdout.strip()
            path = os.path.join(self.tmp, f"wg-{side}.key")
            with open(path, "w") as f:
                f.write(private + "\n")
            os.chmod(path, 0o600)
            keys[side] = (path, public)
        env = {"WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD": "1"}
        # Interface names differ: wireguard-go's control socket is /var/run/wireguard/NAME.sock,
        # shared by every namespace.
        tag = self.star.tag
        for ns, name in ((s, f"{tag}gs"), (c, f"{tag}gc")):
            self._start(ns, ["wireguard-go", "-f", name], env)
            wait_until(lambda: name in self.star.links(ns), 10, "wireguard-go's interface")
        self.star.run(s, ["wg", "set", f"{tag}gs", "private-key", keys["s"][0], "listen-port",
                          "51820", "peer", keys["c"][1], "allowed-ips", "10.88.0.2/32"]
                      ).check_returncode()
        self.star.run(c, ["wg", "set", f"{tag}gc", "private-key", keys["c"][0], "peer",
                          keys["s"][1], "allowed-ips", "10.88.0.0/24", "endpoint",
                          f"{self.star.server_ip(1)}:51820"]).check_returncode()
        for ns, name, addr in ((s, f"{tag}gs", "10.88.0.1/24"), (c, f"{tag}gc", "10.88.0.2/24")):
            self.star.run(ns, ["ip", "addr", "add", addr, "dev", name]).check_returncode()
            self.star.run(ns, ["ip", "link", "set", name, "up"]).check_returncode()
        self.server_address = "10.88.0.1"

    def cpu_seconds(self):
        """CPU time the tunnel's processes have used (0 for the bare veth: none)."""
        total = 0
        for proc, _ in self.procs:
            with open(f"/proc/{proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / CLOCK_TICKS

    def stop(self):
        for proc, log in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc, log in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


def iperf(star, address, seconds, extra):
    server = star.popen(star.server(), ["iperf3", "-s", "-1", "-B", address, "-p",
                                        str(IPERF_PORT)], stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
    try:
        result = None
        for _ in range(50):  # the server binds in a moment
            result = star.run(star.client(1), ["iperf3", "-c", address, "-p", str(IPERF_PORT),
                                               "-t", str(seconds), "-J", *extra],
                              timeout=seconds + 30)
            report = json.loads(result.stdout or "{}")
            if result.returncode == 0 and "error" not in report:  # 3.12 exits 0 on errors
                return report["end"]
            time.sleep(0.1)
        raise RuntimeError(f"iperf3 failed: {result.stdout[-500:]} {result.stderr[-500:]}")
    finally:
        server.kill()
        server.wait()


def ping_ms(star, address, count):
    out = star.run(star.client(1), ["ping", "-q", "-c", str(count), "-i", "0.01", address],
                   timeout=count + 20).stdout
    return float(re.search(r"= [\d.]+/([\d.]+)/", out).group(1))


def tcp(star, tunnel, seconds, extra):
    """iperf3 TCP through the tunnel: Mbit/s received, retransmits, and the tunnel's CPU
    seconds per GB carried."""
    before = tunnel.cpu_seconds()
    end = iperf(star, tunnel.server_address, seconds, extra)
    cpu = tunnel.cpu_seconds() - before
    received = end["sum_received"]
    gigabytes = received["bytes"] / 1e9
    return {"mbit": received["bits_per_second"] / 1e6,
            "retransmits": end["sum_sent"].get("retransmits"),
            "cpu_s_per_gb": cpu / gigabytes if tunnel.procs and gigabytes else None}


def udp_knee(star, tunnel, seconds, rates):
    """The highest of rates (Mbit/s, rising) at which iperf3 -u loses under 1 %, with
    what arrived then; None when even the first loses more."""
    knee = None
    for rate in rates:
        end = iperf(star, tunnel.server_address, seconds,
                    ["-u", "-b", f"{rate}M", "-l", str(UDP_SIZE), "-w", "4M"])
        if end["sum"]["lost_percent"] >= 1:
            break
        knee = {"offered_mbit": rate, "received_mbit": end["sum"]["bits_per_second"] / 1e6,
                "lost_percent": end["sum"]["lost_percent"]}
    return knee


def measure(kind, seconds, pings, quick):
    with tempfile.TemporaryDirectory() as tmp, netns.Star(clients=1) as star:
        tunnel = Tunnel(star, kind, tmp)
        try:
            udp = iperf(star, tunnel.server_address, seconds, ["-u", "-b", "0", "-l", "64"])
            return {
                "tcp_1": tcp(star, tunnel, seconds, []),
                "tcp_1_reverse": tcp(star, tunnel, seconds, ["-R"]),
                "tcp_4": tcp(star, tunnel, seconds, ["-P", "4"]),
                "tcp_4_reverse": tcp(star, tunnel, seconds, ["-P", "4", "-R"]),
                "udp_knee": udp_knee(star, tunnel, seconds,
                                     KNEE_RATES[2:3] if quick else KNEE_RATES),
                "udp64_pps": (udp["sum"]["packets"] - udp["sum"]["lost_packets"]) /
                             udp["sum"]["seconds"],
                "udp64_lost_percent": udp["sum"]["lost_percent"],
                "ping_ms": ping_ms(star, tunnel.server_address, pings),
            }
        finally:
            tunnel.stop()


def run(quick=False):
    """Every kind measured once; returns {kind: figures} or {"skipped": reason}."""
    reason = netns.can_make_namespaces()
    if reason:
        return {"skipped": reason}
    seconds, pings = (1, 20) if quick else (5, 200)
    kinds = KINDS + ((BEFORE,) if os.environ.get("BENCH_TUNNEL_BEFORE") else ())
    return {"seconds": seconds, "pings": pings, "before": os.environ.get("BENCH_TUNNEL_BEFORE"),
            "kinds": {kind: measure(kind, seconds, pings, quick) for kind in kinds}}


COMMANDS = [
    "Namespaces: a server namespace and a client namespace joined by a veth pair "
    "(192.168.201.1/24, .2/24), made afresh for each tunnel by scripts/netns.py.",
    "dtls_echo: `dtls_echo --tun -q -p 5556` in the server's, `dtls_echo -c -a 192.168.201.1 "
    "-p 5556 --tun --cafile certs/ca.pem --hostname localhost` in the client's (the default "
    "--mtu 1500: interface MTU 1435, AES-256-GCM); `--no-offload` added on both sides for "
    "the row without offloads.",
    "wireguard-go: `WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f NAME` on "
    "each side, configured with `wg set` (fresh keys, port 51820) and `ip addr`/`ip link` "
    "(MTU 1420, its default).",
    "Measures, through each: `iperf3 -c ADDR -t T -J` (one stream, client to server), with "
    "`-R` (server to client), with `-P 4` and `-P 4 -R` (four streams); `-u -l 1300 -w 4M -b R` "
    "for R = 250, 500, 750, 1000, 1500, 2000, 4000 Mbit/s until 1 % or more is lost (the "
    "knee: the highest rate under 1 %; -w 4M: iperf3's own socket, whose default 208 KiB "
    "overflows first, is not what is measured); `-u -b 0 -l 64` (64 B UDP: packets received per second); "
    "`ping -q -c N -i 0.01 ADDR` (the average round trip). CPU s/GB: the user and system "
    "time of the tunnel's processes, both ends (/proc/PID/stat), over the one-stream "
    "run, per GB received.",
]


def write_plot(results, path):
    """tunnel.png: TCP throughput by tunnel, one stream and four, each way (log scale)."""
    if "kinds" not in results:
        return
    data = path + ".dat"
    with open(data, "w") as f:
        f.write("# tunnel, TCP Mbit/s: 1 stream, 1 reverse, 4 streams, 4 reverse\n")
        for kind, r in results["kinds"].items():
            f.write(f'"{kind}" {r["tcp_1"]["mbit"]:.1f} {r["tcp_1_reverse"]["mbit"]:.1f} '
                    f'{r["tcp_4"]["mbit"]:.1f} {r["tcp_4_reverse"]["mbit"]:.1f}\n')
    script = f"""
set terminal pngcairo size 1000,480 font ",10" noenhanced
set output "{path}"
set title "TCP through each tunnel, iperf3 -t {results['seconds']} (Mbit/s, log scale)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y 10
set yrange [100:*]
set ylabel "Mbit/s"
set grid ytics
set key top right
plot "{data}" using 2:xtic(1) title "one stream, client to server", \\
     "" using 3 title "one stream, server to client", \\
     "" using 4 title "four streams, client to server", \\
     "" using 5 title "four streams, server to client"
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def target_row(what, ours, reference, ratio, target, met):
    return f"| {what} | {ours} | {reference} | {ratio} | {target} | " \
           f"{'met' if met else '**missed**'} |"


def markdown(results):
    """The tunnel's section of RESULTS.md."""
    lines = ["", "## Tunnel (issues 10 and 23)", ""]
    if "kinds" not in results:
        return lines + [f"Not measured: {results['skipped']}.", ""]
    k = results["kinds"]
    ours, off, wg = k["dtls_echo"], k["dtls_echo --no-offload"], k["wireguard-go"]
    today = k.get(BEFORE, off)
    today_name = BEFORE if BEFORE in k else "dtls_echo --no-offload"
    one, four = ours["tcp_1"]["mbit"], ours["tcp_4"]["mbit"]
    wg_ratio = one / wg["tcp_1"]["mbit"]
    ping_ratio = ours["ping_ms"] / today["ping_ms"]
    lines += [
        f"Each tunnel in its own fresh namespaces, the same run, iperf3 -t {results['seconds']}, "
        f"{results['pings']} pings; the bare veth is the ceiling.",
        "",
        "| what | dtls_echo | reference | ratio | target | |",
        "|---|---|---|---|---|---|",
        target_row("one-stream TCP", f"{one:.0f} Mbit/s", "", "", ">= 3000 Mbit/s",
                   one >= 3000),
        target_row("one-stream TCP against wireguard-go", f"{one:.0f} Mbit/s",
                   f"{wg['tcp_1']['mbit']:.0f} Mbit/s", f"{wg_ratio:.2f}", ">= 5.00",
                   wg_ratio >= 5),
        target_row("four-stream TCP", f"{four:.0f} Mbit/s", "", "", ">= 3000 Mbit/s",
                   four >= 3000),
        target_row("ping round trip", f"{ours['ping_ms'] * 1000:.0f} µs",
                   f"{today['ping_ms'] * 1000:.0f} µs: {today_name}", f"{ping_ratio:.2f}",
                   "<= 1.20", ping_ratio <= 1.2),
    ]
    if BEFORE in k:
        off_ratio = off["tcp_1"]["mbit"] / today["tcp_1"]["mbit"]
        lines.append(target_row("one-stream TCP, offloads off, against the build before",
                                f"{off['tcp_1']['mbit']:.0f} Mbit/s",
                                f"{today['tcp_1']['mbit']:.0f} Mbit/s", f"{off_ratio:.2f}",
                                ">= 0.90", off_ratio >= 0.9))
    lines += [
        "",
        "![TCP through each tunnel](tunnel.png)",
        "",
        "| tunnel | TCP 1 stream | reverse | TCP 4 streams | reverse | retransmits (1 stream) "
        "| UDP knee (1300 B) | 64 B UDP received | ping | CPU s/GB (1 stream) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, r in k.items():
        knee = r["udp_knee"]
        knee_text = (f"{knee['received_mbit']:.0f} Mbit/s at {knee['offered_mbit']}"
                     if knee else "under the lowest rate")
        cpu = r["tcp_1"]["cpu_s_per_gb"]
        lines.append(f"| {kind} | {r['tcp_1']['mbit']:.0f} Mbit/s | "
                     f"{r['tcp_1_reverse']['mbit']:.0f} | {r['tcp_4']['mbit']:.0f} | "
                     f"{r['tcp_4_reverse']['mbit']:.0f} | {r['tcp_1']['retransmits']} | "
                     f"{knee_text} | {r['udp64_pps']:,.0f} /s ({r['udp64_lost_percent']:.0f} % "
                     f"lost) | {r['ping_ms'] * 1000:.0f} µs | "
                     f"{'-' if cpu is None else f'{cpu:.2f}'} |")
    lines += ["", "UDP knee: the highest offered rate with under 1 % lost, and what arrived "
              "then. 64 B UDP: iperf3 sends as fast as it can; the rate is what arrived, the "
              "rest was lost on the way (a tunnel that cannot keep up drops at its socket or "
              "TUN queue). CPU s/GB: the tunnel's own processes (none for the bare veth).",
              "", "How:", ""] + [f"- {c}" for c in COMMANDS]
    if BEFORE in k:
        lines.append(f"- {BEFORE}: the same commands with the binary BENCH_TUNNEL_BEFORE "
                     f"named, `{results['before']}`.")
    return lines


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
