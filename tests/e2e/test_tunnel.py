# SPDX-License-Identifier: MIT
"""The VPN tunnel (--tun): real TUN devices in network namespaces this test builds and
removes (scripts/netns.py: a server namespace joined to each client's by a veth pair), the
real binary on both ends, real ping and TCP through it. Root only (CI is root); elsewhere
these skip with the reason, but for the privilege checks, which run anywhere."""
import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import BINARY, RELAY, ROOT, Process, cert, linux_only, relay_counts

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import netns  # noqa: E402

pytestmark = linux_only
NO_NETNS = netns.can_make_namespaces()
needs_netns = pytest.mark.skipif(NO_NETNS is not None, reason=f"tunnel tests: {NO_NETNS}")
PORT = 5556
TUNNEL_UP = re.compile(r"^tunnel up: (\S+) (\S+) peer (\S+) mtu (\d+)(.*)$", re.MULTILINE)

X509_CLIENT = ["--cafile", cert("ca.pem"), "--hostname", "localhost"]
AUTH_MODES = {
    "x509": ([], X509_CLIENT),
    "x509-mutual": (["--require-client-cert"],
                    X509_CLIENT + ["--cert", cert("client.pem"), "--key", cert("client-key.pem")]),
    "psk": (["--pskfile", cert("psk.txt")], ["--pskfile", cert("psk.txt"),
                                              "--psk-identity", "client"]),
    "rawpk": (["--rawpk-key", cert("rawpk-key.pem"), "--rawpk-pub", cert("rawpk-pub.pem")],
              ["--pin-pubkey", cert("rawpk-pub.pem")]),
    "anon": (["--anon"], ["--anon"]),
}
# The tests of the data path run with the offloads (the default) and without.
OFFLOAD = {"offload": [], "no-offload": ["--no-offload"]}


class Net:
    """A star of namespaces with a dtls_echo --tun server in the middle."""

    def __init__(self, star, tmp_path):
        self.star, self.tmp_path, self.procs = star, tmp_path, []

    def start(self, ns, args, name):
        proc = Process(["ip", "netns", "exec", ns, BINARY, *args], self.tmp_path, name)
        self.procs.append(proc)
        return proc

    def server(self, *args, ready="UDP server ready"):
        server = self.start(self.star.server(), ["--tun", "-p", str(PORT), *args], "server")
        server.wait_for(ready)
        return server

    def client(self, i, *args, to=None, name=None, up=True):
        client = self.start(self.star.client(i),
                            ["-c", "-a", to or self.star.server_ip(i), "-p", str(PORT), "--tun",
                             *(args or X509_CLIENT)], name or f"client{i}")
        if up:
            client.wait_for("tunnel up:", timeout=15)
        return client

    def ping(self, ns, address, *args, count=2):
        return self.star.run(ns, ["ping", "-c", str(count), "-W", "2", "-i", "0.2", *args,
                                  address], timeout=30)

    def stop_all(self):
        for proc in reversed(self.procs):
            if proc.proc.poll() is None:
                proc.stop(signal.SIGKILL)


def tunnel_up(client):
    """(ifname, addr4, peer4, mtu, rest) of the client's last 'tunnel up' line."""
    found = TUNNEL_UP.findall(client.stderr())
    assert found, client.stderr()
    name, addr, peer, mtu, rest = found[-1]
    return name, addr, peer, int(mtu), rest


@pytest.fixture
def net(tmp_path, request):
    clients = getattr(request, "param", 1)
    with netns.Star(clients=clients) as star:
        n = Net(star, tmp_path)
        try:
            yield n
        finally:
            n.stop_all()


# ---- privileges: run anywhere ---------------------------------------------------------

def without_net_admin(args):
    """args run without CAP_NET_ADMIN: as root with it dropped from the bounding set (so
    exec cannot give it), else as we are (a user has none)."""
    if os.geteuid() == 0:
        return ["setpriv", "--bounding-set", "-net_admin", "--inh-caps", "-net_admin", *args]
    return args


@pytest.mark.parametrize("side", [[], ["-c", "-a", "127.0.0.1"]], ids=["server", "client"])
def test_tunnel_without_cap_net_admin_is_a_clear_error(side):
    result = subprocess.run(without_net_admin([BINARY, *side, "--tun", "-p", "1"]), cwd=ROOT,
                            capture_output=True, text=True, timeout=20)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs CAP_NET_ADMIN" in lines[0], result.stderr


@pytest.mark.parametrize("args, message", [
    (["--route", "10.0.0.0/8"], "--route is a client option"),
    (["-c", "--route", "10.0.0.0/8"], "--route is a tunnel option: add --tun"),
    (["--tun-net", "10.77.0.0/24"], "--tun-net is a tunnel option: add --tun"),
    (["--tun", "--tun-net", "10.77.0.1/24"], "has host bits set"),
    (["--tun", "--tun-net", "fd00::/64"], "is not an IPv4 network"),
    (["--tun", "--tun-net", "10.77.0.0/31"], "leaves no address for a client"),
    (["--tun", "--tun-net6", "10.0.0.0/8"], "is not an IPv6 network"),
    (["-c", "--tun", "--route", "banana"], "is not a network such as"),
    (["-c", "--tun", "-m", "hi"], "--tun carries IP packets, not echoes"),
    (["-c", "--user", "nobody", "-m", "hi"], "--user goes with --tun on the client"),
    (["--tun", "--keepalive", "3601"], "--keepalive: '3601' is not a number from 0 to 3600"),
    (["-c", "--no-offload"], "--no-offload is a tunnel option: add --tun"),
])
def test_tunnel_options_are_checked(args, message):
    result = subprocess.run([BINARY, *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=10)
    assert result.returncode == 2 and message in result.stderr, result.stderr


# ---- the tunnel -----------------------------------------------------------------------

@needs_netns
def test_ping_through_the_tunnel_both_ways_ipv4_and_ipv6(net):
    server = net.server()
    client = net.client(1)
    name, addr, peer, mtu, rest = tunnel_up(client)
    assert (addr, peer) == ("10.77.0.2", "10.77.0.1") and name.startswith("dtls")
    assert "addr6 fd77::2 peer6 fd77::1" in rest
    star = net.star
    for ns, target in ((star.client(1), "10.77.0.1"), (star.client(1), "fd77::1"),
                       (star.server(), "10.77.0.2"), (star.server(), "fd77::2")):
        result = net.ping(ns, target)
        assert result.returncode == 0, (ns, target, result.stdout, result.stderr)
    # The interface has exactly what the line said.
    shown = star.run(star.client(1), ["ip", "addr", "show", "dev", name]).stdout
    assert f"mtu {mtu} " in shown and "inet 10.77.0.2 peer 10.77.0.1/24" in shown
    assert "fd77::2/64" in shown and "fe80::" not in shown
    assert client.stop() == 0 and server.stop() == 0


TRANSFER = 50 * 1024 * 1024
RECEIVER = """
import hashlib, socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.create_server((sys.argv[1], int(sys.argv[2])), family=family)
print("listening", flush=True)
c, _ = s.accept()
h, n = hashlib.sha256(), 0
while True:
    b = c.recv(1 << 20)
    if not b:
        break
    h.update(b); n += len(b)
print(n, h.hexdigest(), flush=True)
"""
SENDER = """
import hashlib, socket, sys, random
rng = random.Random(int(sys.argv[3]))
h, left = hashlib.sha256(), int(sys.argv[4])
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
while left:
    b = rng.randbytes(min(left, 1 << 20))
    h.update(b); c.sendall(b); left -= len(b)
c.shutdown(socket.SHUT_WR); c.recv(1); c.close()
print(int(sys.argv[4]), h.hexdigest(), flush=True)
"""


def transfer(net, client_ns, to, size=TRANSFER, seed=7, timeout=120, reverse=False):
    """Sends size pseudo-random bytes over TCP from client_ns to `to` in the server's
    namespace (reverse: from the server's namespace to `to` in client_ns); returns (sent,
    received) as (length, sha256) each."""
    star = net.star
    sending, receiving = (star.server(), client_ns) if reverse else (client_ns, star.server())
    receiver = star.popen(receiving, [sys.executable, "-c", RECEIVER, to, "5001"],
                          stdout=subprocess.PIPE, text=True)
    try:
        assert receiver.stdout.readline().strip() == "listening"
        sender = star.run(sending, [sys.executable, "-c", SENDER, to, "5001", str(seed),
                                    str(size)], timeout=timeout)
        assert sender.returncode == 0, sender.stderr
        received = receiver.communicate(timeout=30)[0].split()
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait()
    return sender.stdout.split(), received


@needs_netns
def test_50_megabytes_of_tcp_arrive_byte_exact(net):
    server = net.server()
    client = net.client(1)
    sent, received = transfer(net, net.star.client(1), "10.77.0.1")
    assert sent == received == [str(TRANSFER), sent[1]]
    assert client.stop() == 0
    assert server.stop() == 0
    assert "0 dropped with a forged source address" in server.stderr()


@needs_netns
@pytest.mark.parametrize("mode", OFFLOAD)
def test_mtu_boundary_fits_one_record_and_larger_packets_fragment_inside(net, mode):
    server = net.server("--mtu", "1400", *OFFLOAD[mode])
    client = net.client(1, *X509_CLIENT, "--mtu", "1400", *OFFLOAD[mode])
    name, _, _, mtu, _ = tunnel_up(client)
    # One DTLS record in one 1400-byte datagram: the IP and UDP headers (28), the DTLS
    # header (13), and AES-GCM's explicit nonce (8) and tag (16) come off.
    assert mtu == 1400 - 28 - 13 - 8 - 16
    star = net.star
    shown = star.run(star.server(), ["ip", "link"]).stdout
    assert f"mtu {mtu} " in shown  # the server's interface for this client: the same
    fits = net.ping(star.client(1), "10.77.0.1", "-M", "do", "-s", str(mtu - 28))
    assert fits.returncode == 0, fits.stdout + fits.stderr
    too_big = net.ping(star.client(1), "10.77.0.1", "-M", "do", "-s", str(mtu - 27), count=1)
    assert too_big.returncode != 0 and "message too long" in too_big.stdout + too_big.stderr
    fragmented = net.ping(star.client(1), "10.77.0.1", "-s", "4000")
    assert fragmented.returncode == 0, fragmented.stdout
    # The server's namespace reassembled exactly the two inner 4028-byte requests: no
    # outer datagram came in fragments (records fit the path, sent with DF set).
    stats = star.run(star.server(), ["nstat", "-az", "IpReasmOKs"]).stdout
    assert re.search(r"IpReasmOKs\s+2\b", stats), stats
    assert client.stop() == 0 and server.stop() == 0


# ---- the offloads (TSO and GRO on the TUN device, UDP_SEGMENT and UDP_GRO): each test
# with them (the default) and without (--no-offload) -----------------------------------

DOWN_COUNTS = re.compile(r"(\d+) packets in \((\d+) TUN writes\), (\d+) out "
                         r"\((\d+) TUN reads\)")
BIG = 200 * 1024 * 1024


def down_counts(server):
    """(packets in, TUN writes, packets out, TUN reads) of the server's last tunnel."""
    found = DOWN_COUNTS.findall(server.stderr())
    assert found, server.stderr()
    return tuple(int(n) for n in found[-1])


@needs_netns
@pytest.mark.parametrize("mode", OFFLOAD)
def test_200_megabytes_each_way_over_ipv4_and_ipv6_arrive_byte_exact(net, mode):
    server = net.server(*OFFLOAD[mode])
    client = net.client(1, *X509_CLIENT, *OFFLOAD[mode])
    for seed, (to, reverse) in enumerate((("10.77.0.1", False), ("10.77.0.2", True),
                                          ("fd77::1", False), ("fd77::2", True))):
        sent, received = transfer(net, net.star.client(1), to, size=BIG, seed=seed,
                                  timeout=180, reverse=reverse)
        assert sent == received == [str(BIG), sent[1]], (to, reverse)
    assert client.stop() == 0 and server.stop() == 0
    packets_in, writes, packets_out, reads = down_counts(server)
    assert packets_in > 2 * BIG // 1500 and packets_out > 2 * BIG // 1500  # 400 MB each way
    if mode == "offload":
        # Super-segments both ways: far fewer TUN reads and writes than packets.
        assert reads * 4 < packets_out and writes * 4 < packets_in, down_counts(server)
    else:
        assert reads >= packets_out and writes >= packets_in, down_counts(server)


@needs_netns
@pytest.mark.parametrize("mode", OFFLOAD)
def test_small_packets_interleaved_with_a_bulk_transfer_all_get_through(net, mode):
    """Pings of every size between a transfer's segments (and its ACKs the other way): a
    held super-segment is written before the small packet that follows it, and none is
    lost or joined with what is not its own."""
    server = net.server(*OFFLOAD[mode])
    client = net.client(1, *X509_CLIENT, *OFFLOAD[mode])
    mtu = tunnel_up(client)[3]
    star = net.star
    # Pings every 2 ms for exactly as long as the transfer runs, then SIGINT: ping then
    # prints what it sent and what came back.
    pings = [star.popen(star.client(1), ["ping", "-q", "-i", "0.002", "-s", str(size), address],
                        stdout=subprocess.PIPE, text=True)
             for size, address in ((0, "10.77.0.1"), (100, "fd77::1"), (mtu - 28, "10.77.0.1"))]
    try:
        sent, received = transfer(net, star.client(1), "10.77.0.1", size=BIG, timeout=180)
        for ping in pings:
            ping.send_signal(signal.SIGINT)
        outputs = [ping.communicate(timeout=30)[0] for ping in pings]
    finally:
        for ping in pings:
            if ping.poll() is None:
                ping.kill()
                ping.wait()
    assert sent == received
    for out in outputs:
        counts = re.search(r"(\d+) packets transmitted, (\d+) received", out)
        transmitted, answered = int(counts.group(1)), int(counts.group(2))
        assert transmitted >= 50, out  # they ran alongside the transfer
        # A queue full of the transfer may drop a few; the last may be on its way.
        assert answered >= transmitted * 0.95 - 1, out
    assert client.stop() == 0 and server.stop() == 0


@needs_netns
@pytest.mark.parametrize("mode", OFFLOAD)
def test_a_transfer_survives_a_reconnection_in_its_middle(net, mode):
    server = net.server("--keepalive", "1", *OFFLOAD[mode])
    relay = start_relay(net)
    client = net.start(net.star.client(1), ["-c", "-a", net.star.server_ip(1), "-p", "6000",
                                            "--tun", "--keepalive", "1", "--timeout", "300",
                                            *X509_CLIENT, *OFFLOAD[mode]], "client")
    client.wait_for("tunnel up:", timeout=15)
    result = {}
    moving = threading.Thread(target=lambda: result.update(
        done=transfer(net, net.star.client(1), "10.77.0.1", size=BIG, timeout=150)))
    moving.start()
    try:
        time.sleep(0.3)
        relay.proc.send_signal(signal.SIGUSR1)  # the path dies under the transfer
        assert moving.is_alive()
        client.wait_for("tunnel down: no answer to 3 keepalives", timeout=15)
        relay.proc.send_signal(signal.SIGUSR1)  # and comes back
        deadline = time.monotonic() + 40
        while len(TUNNEL_UP.findall(client.stderr())) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(TUNNEL_UP.findall(client.stderr())) == 2, client.stderr()
    finally:
        moving.join(170)
    sent, received = result["done"]
    assert sent == received == [str(BIG), sent[1]]
    assert client.stop() == 0 and server.stop() == 0


@needs_netns
@pytest.mark.parametrize("net", [2], indirect=True)
def test_two_clients_reach_the_server_and_each_other(net):
    star = net.star
    star.sysctl(star.server(), "net.ipv4.ip_forward", 1)
    star.sysctl(star.server(), "net.ipv6.conf.all.forwarding", 1)
    server = net.server()
    first, second = net.client(1), net.client(2)
    addresses = {tunnel_up(first)[1], tunnel_up(second)[1]}
    assert addresses == {"10.77.0.2", "10.77.0.3"}
    other = tunnel_up(second)[1]
    for ns, target in ((star.client(1), "10.77.0.1"), (star.client(2), "10.77.0.1"),
                       (star.client(1), other), (star.client(2), tunnel_up(first)[1]),
                       (star.client(1), "fd77::3" if other == "10.77.0.3" else "fd77::2")):
        result = net.ping(ns, target)
        assert result.returncode == 0, (ns, target, result.stdout)
    assert first.stop() == 0 and second.stop() == 0 and server.stop() == 0


@needs_netns
def test_a_forged_source_address_is_dropped_and_counted(net):
    server = net.server()
    client = net.client(1)
    name = tunnel_up(client)[0]
    star = net.star
    star.run(star.client(1), ["ip", "addr", "add", "10.77.0.99/32", "dev", name]
             ).check_returncode()
    forged = net.ping(star.client(1), "10.77.0.1", "-I", "10.77.0.99", count=3)
    assert forged.returncode != 0
    honest = net.ping(star.client(1), "10.77.0.1")
    assert honest.returncode == 0
    assert client.stop() == 0 and server.stop() == 0
    counted = re.search(r"(\d+) dropped with a forged source address", server.stderr())
    assert counted and int(counted.group(1)) >= 3, server.stderr()
    assert "a packet from an address not the client's own" in server.stderr()


def start_relay(net, *faults):
    """The fault relay in the server's namespace: it listens on the veth address (what
    the client dials) and forwards to the server on loopback."""
    star = net.star
    relay = Process(["ip", "netns", "exec", star.server(), RELAY, "-l", "6000",
                     "--listen-address", star.server_ip(1), "-t", f"127.0.0.1:{PORT}",
                     "--duration", "300", *faults], net.tmp_path, "relay")
    net.procs.append(relay)
    relay.wait_for("udp_relay: ready")
    return relay


@needs_netns
def test_the_transfer_survives_loss_duplication_and_reordering(net):
    server = net.server()
    relay = start_relay(net, "--drop", "0.05", "--dup", "0.05", "--reorder", "0.05",
                        "--seed", "3")
    client = net.start(net.star.client(1), ["-c", "-a", net.star.server_ip(1), "-p", "6000",
                                            "--tun", *X509_CLIENT], "client")
    client.wait_for("tunnel up:", timeout=30)
    sent, received = transfer(net, net.star.client(1), "10.77.0.1", timeout=240)
    assert sent == received
    assert client.stop() == 0 and server.stop() == 0
    counts = relay_counts_after_stop(relay)
    assert counts["up"]["dropped"] > 1000 and counts["up"]["duplicated"] > 1000
    assert counts["up"]["reordered"] > 1000


def relay_counts_after_stop(relay):
    relay.stop()
    return relay_counts(relay)


@needs_netns
def test_a_dead_path_is_detected_and_the_client_comes_back_with_its_addresses(net):
    server = net.server("--keepalive", "1")
    relay = start_relay(net)
    client = net.start(net.star.client(1), ["-c", "-a", net.star.server_ip(1), "-p", "6000",
                                            "--tun", "--keepalive", "1", "--timeout", "300",
                                            *X509_CLIENT], "client")
    client.wait_for("tunnel up:", timeout=15)
    before = tunnel_up(client)
    relay.proc.send_signal(signal.SIGUSR1)  # the path dies
    client.wait_for("tunnel down: no answer to 3 keepalives", timeout=15)
    server.wait_for("no answer to 3 keepalives", timeout=15)
    # The server removed that client's interface; the client kept its own.
    star = net.star
    assert not [link for link in star.links(star.server()) if link.startswith("dtlss")]
    assert before[0] in star.links(star.client(1))
    relay.proc.send_signal(signal.SIGUSR1)  # the path is back
    deadline = time.monotonic() + 40
    while len(TUNNEL_UP.findall(client.stderr())) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    ups = TUNNEL_UP.findall(client.stderr())
    assert len(ups) == 2, client.stderr()
    assert ups[1][:4] == ups[0][:4]  # same interface, addresses, peer and MTU
    assert "resumed" in ups[1][4]    # the session ticket saved the full handshake
    assert net.ping(star.client(1), "10.77.0.1").returncode == 0
    assert client.stop() == 0 and server.stop() == 0


@needs_netns
def test_a_client_back_before_the_server_noticed_takes_over_its_old_session(net):
    """No keepalive on the server: it cannot see the path die. The client reconnects
    with the same identity (its token: no client certificate here); the old session ends
    and its interface goes, and the new one gets the same addresses."""
    server = net.server("--keepalive", "0")
    relay = start_relay(net)
    client = net.start(net.star.client(1), ["-c", "-a", net.star.server_ip(1), "-p", "6000",
                                            "--tun", "--keepalive", "1", "--timeout", "300",
                                            *X509_CLIENT], "client")
    client.wait_for("tunnel up:", timeout=15)
    relay.proc.send_signal(signal.SIGUSR1)
    client.wait_for("tunnel down: no answer to 3 keepalives", timeout=15)
    # Its close_notify is sent after that line, before the backoff's: into the black hole,
    # or it would end the old session (seen once under TSan) and there would be nothing
    # to take over.
    client.wait_for("reconnecting in", timeout=15)
    relay.proc.send_signal(signal.SIGUSR1)
    server.wait_for("the same identity connected again", timeout=40)
    deadline = time.monotonic() + 20
    while len(TUNNEL_UP.findall(client.stderr())) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    ups = TUNNEL_UP.findall(client.stderr())
    assert len(ups) == 2 and ups[1][:4] == ups[0][:4], client.stderr()
    star = net.star
    assert len([link for link in star.links(star.server()) if link.startswith("dtlss")]) == 1
    assert net.ping(star.client(1), "10.77.0.1").returncode == 0
    assert client.stop() == 0 and server.stop() == 0


@needs_netns
def test_sigterm_removes_every_interface_and_kill_9_leaves_nothing_in_the_way(net):
    star = net.star
    server = net.server()
    client = net.client(1)
    assert [link for link in star.links(star.server()) if link.startswith("dtlss")]
    assert client.stop(signal.SIGTERM) == 0
    server.wait_for("the peer closed the session")  # close_notify reached it
    assert server.stop(signal.SIGTERM) == 0
    for ns in (star.server(), star.client(1)):
        assert not [link for link in star.links(ns) if link.startswith("dtls")], ns
    # kill -9 of both: the kernel removes the interfaces with the last descriptor, and
    # both start again at once on the same names and addresses.
    server = net.server()
    client = net.client(1, name="client-again")
    server.stop(signal.SIGKILL)
    client.stop(signal.SIGKILL)
    for ns in (star.server(), star.client(1)):
        assert not [link for link in star.links(ns) if link.startswith("dtls")], ns
    server = net.server()
    client = net.client(1, name="client-third")
    assert tunnel_up(client)[:3] == ("dtls0", "10.77.0.2", "10.77.0.1")
    assert client.stop() == 0 and server.stop() == 0


@needs_netns
@pytest.mark.parametrize("mode", sorted(AUTH_MODES))
def test_every_authentication_mode_carries_a_tunnel(net, mode):
    server_args, client_args = AUTH_MODES[mode]
    server = net.server(*server_args)
    client = net.client(1, *client_args)
    assert net.ping(net.star.client(1), "10.77.0.1").returncode == 0
    assert client.stop() == 0 and server.stop() == 0
    # The lease's key: what the client proved, else its token.
    identity = {"x509-mutual": "(x509:", "psk": "(psk:client)"}.get(mode, "(token:")
    assert identity in server.stderr(), server.stderr()


@needs_netns
@pytest.mark.parametrize("net", [2], indirect=True)
def test_the_same_identity_gets_its_addresses_back_and_another_does_not(net):
    psk = ["--pskfile", cert("psk.txt")]
    server = net.server(*psk)
    alice = net.client(1, *psk, "--psk-identity", "client", name="alice")
    bob = net.client(2, *psk, "--psk-identity", "other", name="bob")
    first = tunnel_up(alice)[1]
    assert tunnel_up(bob)[1] != first
    assert alice.stop() == 0
    server.wait_for("the peer closed the session")
    again = net.client(1, *psk, "--psk-identity", "client", name="alice-again")
    assert tunnel_up(again)[1] == first
    assert "psk:client" in server.stderr()
    for proc in (again, bob, server):
        assert proc.stop() == 0


@needs_netns
def test_echo_clients_still_get_echoes_from_a_tunnel_server(net):
    net.server()
    star = net.star
    result = star.run(star.client(1), [BINARY, "-c", "-a", star.server_ip(1), "-p", str(PORT),
                                       "-m", "hello", "-n", "2", *X509_CLIENT])
    assert result.returncode == 0 and result.stdout.count("- Received 5 bytes: hello") == 2


@needs_netns
def test_a_server_without_tun_says_so_to_a_tunnel_client(net):
    star = net.star
    server = net.start(star.server(), ["-p", str(PORT)], "plain-server")
    server.wait_for("UDP server ready")
    result = star.run(star.client(1), [BINARY, "-c", "-a", star.server_ip(1), "-p", str(PORT),
                                       "--tun", *X509_CLIENT])
    assert result.returncode == 3 and "offers no tunnel" in result.stderr, result.stderr
    assert not [link for link in star.links(star.client(1)) if link.startswith("dtls")]


def kept_capabilities(pid):
    status = open(f"/proc/{pid}/status").read()
    caps = {key: int(value, 16) for key, value in
            re.findall(r"^(Cap(?:Eff|Prm|Inh|Bnd|Amb)):\s+([0-9a-f]+)$", status, re.M)}
    uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))
    return caps, uid


@needs_netns
def test_after_set_up_only_cap_net_admin_is_kept_and_user_is_honoured(net):
    server = net.server()
    client = net.client(1, *X509_CLIENT, "--user", "nobody")
    for proc, uid in ((server, 0), (client, 65534)):
        caps, actual_uid = kept_capabilities(proc.proc.pid)
        assert caps["CapEff"] == caps["CapPrm"] == 1 << 12, caps  # CAP_NET_ADMIN alone
        assert caps["CapInh"] == caps["CapAmb"] == 0 and caps["CapBnd"] == 1 << 12, caps
        assert actual_uid == uid
    # Interfaces are still made per client after the drop, and removed.
    assert net.ping(net.star.client(1), "10.77.0.1").returncode == 0
    assert client.stop() == 0 and server.stop() == 0


@needs_netns
def test_a_server_user_that_cannot_open_dev_net_tun_is_told_at_start(net):
    """The server opens /dev/net/tun for each client, after dropping to --user: a device
    only root may open (mode 0600 on this machine; udev makes it 0666 on most) must be
    said at start, not as every client's failure."""
    server = net.start(net.star.server(), ["--tun", "-p", str(PORT), "--user", "nobody"],
                       "server")
    if os.stat("/dev/net/tun").st_mode & 0o006 == 0o006:
        server.wait_for("UDP server ready")
        client = net.client(1)
        assert kept_capabilities(server.proc.pid)[1] == 65534
        assert client.stop() == 0 and server.stop() == 0
        return
    assert server.proc.wait(timeout=10) == 1
    assert "--user nobody cannot open /dev/net/tun (Permission denied)" in server.stderr()


@needs_netns
def test_the_readmes_tunnel_walkthrough_runs_as_written(tmp_path):
    readme = open(os.path.join(ROOT, "README.md")).read()
    block = re.search(r"```sh\n# \(tests/e2e/test_tunnel.py runs this block as it is\)\n(.*?)```",
                      readme, re.S).group(1)
    try:
        result = subprocess.run(["bash", "-e", "-c", block], cwd=ROOT, capture_output=True,
                                text=True, timeout=60)
    finally:
        for ns in ("vpn-client", "vpn-server"):  # whatever a failure left behind
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True,
                                  text=True).stdout.split()
            for pid in pids:
                os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("3 packets transmitted, 3 received") == 3, result.stdout
    assert "tunnel up: dtls0 10.77.0.2 peer 10.77.0.1 mtu 1435" in result.stderr
    assert "tunnel down: stopped" in result.stderr
