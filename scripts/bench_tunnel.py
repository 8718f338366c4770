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


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
