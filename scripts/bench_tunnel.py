# SPDX-License-Identifier: MIT
"""The tunnel's benchmark (part of `make bench`): TCP throughput (iperf3, one stream and
four), the 64-byte UDP packet rate and the ping round trip through dtls_echo's tunnel,
through wireguard-go (userspace WireGuard), through socat's OpenSSL DTLS-to-TUN and over
the bare veth (the ceiling), each in fresh network namespaces (scripts/netns.py), in the
same run. Needs root; scripts/bench.py calls run() and writes the rows."""
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
KINDS = ("bare veth", "dtls_echo", "wireguard-go", "socat DTLS")


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
        self._start(s, [BINARY, "--tun", "-q", "-p", "5556"])
        time.sleep(0.3)
        self._start(c, [BINARY, "-c", "-a", self.star.server_ip(1), "-p", "5556", "--tun",
                        "--cafile", "certs/ca.pem", "--hostname", "localhost"])
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

    def _socat(self):
        s, c = self.star.server(), self.star.client(1)
        self._start(s, ["socat", "OPENSSL-DTLS-SERVER:4433,cert=certs/server.pem,"
                        "key=certs/server-key.pem,verify=0", "TUN:10.99.0.1/24,up"])
        time.sleep(0.3)
        self._start(c, ["socat", f"OPENSSL-DTLS-CLIENT:{self.star.server_ip(1)}:4433,verify=0",
                        "TUN:10.99.0.2/24,up"])
        self.server_address = "10.99.0.1"

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


def measure(kind, seconds, pings):
    with tempfile.TemporaryDirectory() as tmp, netns.Star(clients=1) as star:
        tunnel = Tunnel(star, kind, tmp)
        try:
            one = iperf(star, tunnel.server_address, seconds, [])
            four = iperf(star, tunnel.server_address, seconds, ["-P", "4"])
            udp = iperf(star, tunnel.server_address, seconds, ["-u", "-b", "0", "-l", "64"])
            return {
                "tcp_1_mbit": one["sum_received"]["bits_per_second"] / 1e6,
                "tcp_4_mbit": four["sum_received"]["bits_per_second"] / 1e6,
                "tcp_1_retransmits": one["sum_sent"].get("retransmits"),
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
    return {"seconds": seconds, "pings": pings,
            "kinds": {kind: measure(kind, seconds, pings) for kind in KINDS}}


COMMANDS = [
    "Namespaces: a server namespace and a client namespace joined by a veth pair "
    "(192.168.201.1/24, .2/24), made afresh for each tunnel by scripts/netns.py.",
    "dtls_echo: `dtls_echo --tun -q -p 5556` in the server's, `dtls_echo -c -a 192.168.201.1 "
    "-p 5556 --tun --cafile certs/ca.pem --hostname localhost` in the client's (the default "
    "--mtu 1500: interface MTU 1435, AES-256-GCM).",
    "wireguard-go: `WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f NAME` on "
    "each side, configured with `wg set` (fresh keys, port 51820) and `ip addr`/`ip link` "
    "(MTU 1420, its default).",
    "socat: `socat OPENSSL-DTLS-SERVER:4433,cert=certs/server.pem,key=certs/server-key.pem,"
    "verify=0 TUN:10.99.0.1/24,up` and `socat OPENSSL-DTLS-CLIENT:192.168.201.1:4433,verify=0 "
    "TUN:10.99.0.2/24,up` (its TUN keeps MTU 1500: a full-size packet and the DTLS overhead do not fit one 1500-byte datagram).",
    "Measures, client to server, through each: `iperf3 -c ADDR -t T -J` (one stream), with "
    "`-P 4` (four), with `-u -b 0 -l 64` (64 B UDP: packets received per second), and "
    "`ping -q -c N -i 0.01 ADDR` (the average round trip).",
]


def write_plot(results, path):
    """tunnel.png: TCP throughput by tunnel, one stream and four (log scale)."""
    if "kinds" not in results:
        return
    data = path + ".dat"
    with open(data, "w") as f:
        f.write("# tunnel, TCP Mbit/s one stream, four streams\n")
        for kind, r in results["kinds"].items():
            f.write(f'"{kind}" {r["tcp_1_mbit"]:.1f} {r["tcp_4_mbit"]:.1f}\n')
    script = f"""
set terminal pngcairo size 900,480 font ",10" noenhanced
set output "{path}"
set title "TCP through each tunnel, iperf3 -t {results['seconds']} (Mbit/s, log scale)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y 10
set yrange [50:*]
set ylabel "Mbit/s"
set grid ytics
set key top right
plot "{data}" using 2:xtic(1) title "one stream", "" using 3 title "four streams"
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def markdown(results):
    """The tunnel's section of RESULTS.md."""
    lines = ["", "## Tunnel (issue 10)", ""]
    if "kinds" not in results:
        return lines + [f"Not measured: {results['skipped']}.", ""]
    k = results["kinds"]
    ours = k["dtls_echo"]
    better = max(("wireguard-go", "socat DTLS"), key=lambda name: k[name]["tcp_1_mbit"])
    wg = k["wireguard-go"]
    ratio = ours["tcp_1_mbit"] / k[better]["tcp_1_mbit"]
    ping_ratio = ours["ping_ms"] / wg["ping_ms"]
    lines += [
        f"Each tunnel in its own fresh namespaces, the same run, iperf3 -t {results['seconds']}, "
        f"{results['pings']} pings; the bare veth is the ceiling.",
        "",
        "| what | dtls_echo | reference | ratio | target | |",
        "|---|---|---|---|---|---|",
        f"| one-stream TCP | {ours['tcp_1_mbit']:.0f} Mbit/s | {k[better]['tcp_1_mbit']:.0f} "
        f"Mbit/s: {better}, the better of wireguard-go and socat | {ratio:.2f} | >= 2.00 | "
        f"{'met' if ratio >= 2 else '**missed**'} |",
        f"| ping round trip | {ours['ping_ms'] * 1000:.0f} µs | {wg['ping_ms'] * 1000:.0f} µs: "
        f"wireguard-go | {ping_ratio:.2f} | <= 1.20 | {'met' if ping_ratio <= 1.2 else '**missed**'} |",
        "",
        "![TCP through each tunnel](tunnel.png)",
        "",
        "| tunnel | TCP, 1 stream | TCP, 4 streams | TCP retransmits (1 stream) | 64 B UDP "
        "received | 64 B UDP lost | ping |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, r in k.items():
        lines.append(f"| {kind} | {r['tcp_1_mbit']:.0f} Mbit/s | {r['tcp_4_mbit']:.0f} Mbit/s | "
                     f"{r['tcp_1_retransmits']} | {r['udp64_pps']:,.0f} /s | "
                     f"{r['udp64_lost_percent']:.0f} % | {r['ping_ms'] * 1000:.0f} µs |")
    lines += ["", "64 B UDP: iperf3 sends as fast as it can; the rate is what arrived, the "
              "rest was lost on the way (a tunnel that cannot keep up drops at its socket or "
              "TUN queue).", "", "How:", ""] + [f"- {c}" for c in COMMANDS]
    return lines


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
