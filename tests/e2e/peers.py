# SPDX-License-Identifier: MIT
"""The interop peers: how to run each independent DTLS implementation as a client of our
server or as a server for our client, in each authentication mode. Each runner returns
(ok, detail); every process it starts is bounded in time and cleaned up."""
import os
import subprocess
import threading
import time

from conftest import BINARY, ROOT, cert, wait_bound

MODES = ["ecdsa", "rsa", "psk", "mutual"]
NODE_DIR = os.path.join(ROOT, "tests", "interop", "node")


def psk_key(identity="client"):
    with open(cert("psk.txt")) as f:
        for line in f:
            name, _, key = line.strip().partition(":")
            if name == identity:
                return key
    raise KeyError(identity)


def our_server_args(mode):
    return {
        "ecdsa": [],
        "rsa": ["--cert", cert("server-rsa.pem"), "--key", cert("server-rsa-key.pem")],
        "psk": ["--pskfile", cert("psk.txt")],
        "mutual": ["--require-client-cert", "--crlfile", cert("crl.pem")],
    }[mode]


def our_client_args(mode):
    return {
        "ecdsa": [],
        "rsa": [],
        "psk": ["--psk-identity", "client", "--psk-key", psk_key()],
        "mutual": ["--cert", cert("client.pem"), "--key", cert("client-key.pem")],
    }[mode]


def host_port(host, port):
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def interactive(args, message, timeout=15):
    """Runs a stdin-driven peer client: writes one line, waits until the line comes back
    on its stdout, then closes it. Returns (ok, output)."""
    proc = subprocess.Popen(args, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    output = bytearray()
    done = threading.Event()

    def echoed(out):
        # gnutls-cli prints a banner first; the echo comes after "Simple Client Mode:".
        if args[0] == "gnutls-cli":
            marker = b"Simple Client Mode:"
            return marker in out and message.encode() in out.split(marker, 1)[1]
        return message.encode() in out

    def read():
        while True:
            chunk = proc.stdout.read1(65536)
            if not chunk:
                break
            output.extend(chunk)
            if echoed(output):
                break
        done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        proc.stdin.write(message.encode() + b"\n")
        proc.stdin.flush()
    except BrokenPipeError:
        pass
    done.wait(timeout)
    ok = echoed(output)
    proc.kill()
    proc.wait()
    reader.join(2)
    return ok, output.decode(errors="replace")[-400:]


# ---- peers as clients of our server ----------------------------------------------------

def client_ours(mode, host, port, message):
    result = subprocess.run([BINARY, "-c", "-a", host, "-p", str(port), "-m", message, "-n", "2",
                             *our_client_args(mode)], cwd=ROOT, capture_output=True, text=True,
                            timeout=30)
    ok = result.returncode == 0 and result.stdout.count(f"bytes: {message}") == 2
    return ok, result.stderr[-400:]


def client_gnutls_cli(mode, host, port, message):
    args = ["gnutls-cli", "--udp", "-p", str(port)]
    if mode == "psk":
        args += ["--pskusername", "client", "--pskkey", psk_key(),
                 "--priority", "NORMAL:-VERS-ALL:+VERS-DTLS1.2:+ECDHE-PSK:+DHE-PSK:+PSK"]
    else:
        args += ["--x509cafile", cert("ca.pem")]
    if mode == "mutual":
        args += ["--x509certfile", cert("client.pem"), "--x509keyfile", cert("client-key.pem")]
    return interactive(args + [host], message)


def client_openssl(mode, host, port, message):
    args = ["openssl", "s_client", "-dtls1_2", "-connect", host_port(host, port), "-quiet"]
    if mode == "psk":
        args += ["-psk", psk_key(), "-psk_identity", "client"]
    else:
        args += ["-CAfile", cert("ca.pem"), "-verify_return_error"]
    if mode == "mutual":
        args += ["-cert", cert("client.pem"), "-key", cert("client-key.pem")]
    return interactive(args, message)


def client_node(mode, host, port, message):
    script = os.path.join(NODE_DIR, "psk_echo_client.js")
    result = subprocess.run(["node", script, "--host", host, "--port", str(port),
                             "--identity", "client", "--key", psk_key(), "--message", message,
                             "--count", "2"], cwd=ROOT, capture_output=True, text=True,
                            timeout=30)
    return result.returncode == 0, (result.stdout + result.stderr)[-400:]


# ---- peers as servers for our client ---------------------------------------------------

class EchoDriver:
    """Makes `openssl s_server` echo: what it prints (received data) is written back to its
    stdin, one whole message at a time, so each echo is one record."""

    def __init__(self, proc, message):
        self.proc, self.message = proc, message.encode()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        pending = bytearray()
        while True:
            chunk = self.proc.stdout.read1(65536)
            if not chunk:
                return
            pending.extend(chunk)
            while self.message in pending:
                at = pending.index(self.message)
                del pending[:at + len(self.message)]
                try:
                    self.proc.stdin.write(self.message)
                    self.proc.stdin.flush()
                except BrokenPipeError:
                    return


def start_gnutls_serv(mode, host, port, message):
    args = ["gnutls-serv", "--udp", "--echo", "-p", str(port)]
    if mode == "psk":
        args += ["--pskpasswd", cert("psk.txt"),
                 "--priority", "NORMAL:-VERS-ALL:+VERS-DTLS1.2:+ECDHE-PSK:+DHE-PSK:+PSK"]
    elif mode == "rsa":
        args += ["--x509certfile", cert("server-rsa.pem"), "--x509keyfile",
                 cert("server-rsa-key.pem")]
    else:
        args += ["--x509certfile", cert("server.pem"), "--x509keyfile", cert("server-key.pem")]
    if mode == "mutual":
        args += ["--require-client-cert", "--x509cafile", cert("ca.pem")]
    proc = subprocess.Popen(args, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    wait_line(proc, b"listening")
    return proc


def start_openssl_server(mode, host, port, message):
    args = ["openssl", "s_server", "-dtls1_2", "-accept", host_port(host, port), "-quiet"]
    if mode == "psk":
        args += ["-psk", psk_key(), "-psk_identity", "client", "-nocert"]
    elif mode == "rsa":
        args += ["-cert", cert("server-rsa.pem"), "-key", cert("server-rsa-key.pem")]
    else:
        args += ["-cert", cert("server.pem"), "-key", cert("server-key.pem")]
    if mode == "mutual":
        args += ["-Verify", "1", "-CAfile", cert("ca.pem")]
    proc = subprocess.Popen(args, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    wait_bound(port, host=host)  # s_server prints nothing when ready with -quiet
    EchoDriver(proc, message)
    return proc


def wait_line(proc, text, timeout=10):
    deadline = time.monotonic() + timeout
    seen = b""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen += line
        if text in line:
            # Keep draining so the peer never blocks on a full pipe.
            threading.Thread(target=lambda: [None for _ in iter(proc.stdout.readline, b"")],
                             daemon=True).start()
            return
    proc.kill()
    raise RuntimeError(f"{proc.args[0]} did not become ready: {seen[-300:]!r}")


CLIENT_PEERS = {
    "dtls_echo": client_ours,
    "gnutls-cli": client_gnutls_cli,
    "openssl s_client": client_openssl,
    "node-dtls-client": client_node,
}

# Our client against our server is the first row of CLIENT_PEERS already.
SERVER_PEERS = {
    "gnutls-serv": start_gnutls_serv,
    "openssl s_server": start_openssl_server,
}

# Pairs that cannot run, with the reason shown in the matrix.
UNSUPPORTED = {
    ("gnutls-cli", "psk"): "gnutls-cli 3.7.9 segfaults after any DTLS PSK handshake (it calls "
                           "gnutls_psk_server_get_username on its client session), with "
                           "gnutls-serv too",
    ("node-dtls-client", "ecdsa"): "node-dtls-client does PSK only",
    ("node-dtls-client", "rsa"): "node-dtls-client does PSK only",
    ("node-dtls-client", "mutual"): "node-dtls-client does PSK only",
}


def versions():
    def first_line(args):
        try:
            out = subprocess.run(args, capture_output=True, text=True, timeout=10)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "not installed"
    node_version = "not installed"
    lock = os.path.join(NODE_DIR, "node_modules", "node-dtls-client", "package.json")
    if os.path.exists(lock):
        import json
        with open(lock) as f:
            node_version = "node-dtls-client " + json.load(f)["version"]
    return {
        "gnutls": first_line(["gnutls-cli", "--version"]),
        "openssl": first_line(["openssl", "version"]),
        "node": node_version,
        "dtls_echo": first_line([BINARY, "--version"]),
    }
