# SPDX-License-Identifier: MIT
"""Network namespaces for the tunnel's tests and benchmark: a server namespace joined to
each client namespace by its own veth pair, so that no packet leaves them. Used by
tests/e2e/test_tunnel.py and scripts/bench_tunnel.py; needs root (CAP_SYS_ADMIN and
CAP_NET_ADMIN) and iproute2.

    with Star(clients=2) as star:
        star.server_ip(1)          # the server's address on client 1's link: 192.168.201.1
        star.popen(star.client(1), ["ping", ...])

Everything it made is removed on exit, even when the body failed."""
import os
import subprocess


def can_make_namespaces():
    """None when this process can build namespaces, else the reason it cannot."""
    if os.geteuid() != 0:
        return "needs root (network namespaces and TUN devices): CI runs it as root"
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun on this machine"
    for tool in ("ip",):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            return f"{tool} is missing: run scripts/deps.sh"
    return None


def ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check,
                          timeout=20)


class Star:
    """A server namespace and `clients` client namespaces, client i joined to the server
    by veth pair (server side 192.168.(200+i).1/24, client side .2/24)."""

    def __init__(self, clients=1, tag=None):
        self.tag = tag or f"de{os.getpid() % 100000}"
        self.clients = clients
        self.namespaces = []

    def server(self):
        return f"{self.tag}s"

    def client(self, i):
        return f"{self.tag}c{i}"

    @staticmethod
    def server_ip(i):
        return f"192.168.{200 + i}.1"

    @staticmethod
    def client_ip(i):
        return f"192.168.{200 + i}.2"

    def __enter__(self):
        try:
            self._add(self.server())
            for i in range(1, self.clients + 1):
                self._add(self.client(i))
                near, far = f"{self.tag}v{i}", f"{self.tag}w{i}"
                ip("link", "add", near, "netns", self.server(), "type", "veth", "peer",
                   "name", far, "netns", self.client(i))
                ip("-n", self.server(), "addr", "add", f"{self.server_ip(i)}/24", "dev", near)
                ip("-n", self.client(i), "addr", "add", f"{self.client_ip(i)}/24", "dev", far)
                ip("-n", self.server(), "link", "set", near, "up")
                ip("-n", self.client(i), "link", "set", far, "up")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _add(self, name):
        ip("netns", "del", name, check=False)  # a leftover of a killed run
        ip("netns", "add", name)
        self.namespaces.append(name)
        ip("-n", name, "link", "set", "lo", "up")

    def __exit__(self, *exc):
        for name in reversed(self.namespaces):
            ip("netns", "del", name, check=False)  # its veth ends go with it
        self.namespaces = []

    @staticmethod
    def command(ns, args):
        return ["ip", "netns", "exec", ns, *args]

    def run(self, ns, args, timeout=30, **kw):
        return subprocess.run(self.command(ns, args), capture_output=True, text=True,
                              timeout=timeout, **kw)

    def popen(self, ns, args, **kw):
        return subprocess.Popen(self.command(ns, args), **kw)

    def sysctl(self, ns, key, value):
        self.run(ns, ["sysctl", "-qw", f"{key}={value}"]).check_returncode()

    def links(self, ns):
        """The interface names in ns."""
        out = self.run(ns, ["ip", "-o", "link", "show"]).stdout
        return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]
