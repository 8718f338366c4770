# SPDX-License-Identifier: MIT
"""Replicas behind a real UDP load balancer (issue 11): nginx's stream module with the
configuration in deploy/nginx-stream.conf, started by the test as its own process on free
ports and stopped by its PID. Checked: 60 clients through nginx in front of 3 replicas
that share their keys, every echo right and every replica serving some; a session started
on one replica resumed through nginx on another; kill -9 of a replica under load, its
clients (--reconnect) finishing with every echo right while the others never notice."""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import BINARY, ROOT, Process, free_port, run_client, wait_bound

NGINX = "/usr/sbin/nginx"
STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
DEPLOY = os.path.join(ROOT, "deploy", "nginx-stream.conf")

pytestmark = pytest.mark.skipif(
    not (os.access(NGINX, os.X_OK) and os.path.exists(STREAM_MODULE)),
    reason="nginx with its stream module is not installed (scripts/deps.sh installs "
           "nginx-light and libnginx-mod-stream)")


def nginx_config(tmp_path, port, replicas):
    """deploy/nginx-stream.conf on the test's ports. On loopback every client has the
    address 127.0.0.1, so the hash takes the port too (the alternative the file names);
    everything else is the file as shipped."""
    stream = open(DEPLOY).read()
    assert "hash $remote_addr consistent;" in stream and "listen 5556 udp" in stream
    stream = stream.replace("hash $remote_addr consistent;",
                            "hash $remote_addr$remote_port consistent;")
    stream = stream.replace("listen 5556 udp", f"listen 127.0.0.1:{port} udp")
    stream = re.sub(r"(\s+server 127\.0\.0\.1:\d+;)+",
                    "".join(f"\n        server 127.0.0.1:{p};" for p in replicas), stream,
                    count=1)
    (tmp_path / "stream.conf").write_text(stream)
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""load_module {STREAM_MODULE};
daemon off;
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log stderr notice;
events {{ worker_connections 1024; }}
include {tmp_path}/stream.conf;
""")
    return conf


@pytest.fixture
def balancer(tmp_path, start_server):
    """balancer(n) -> (nginx port, [replica Process], nginx Process): n replicas with
    shared cookie and ticket keys behind nginx."""
    started = []

    def start(n):
        keys = []
        for name in ("cookie.key", "ticket.key"):
            subprocess.run([BINARY, "--genkey", str(tmp_path / name)], cwd=ROOT, check=True,
                           timeout=10)
            keys.append(tmp_path / name)
        ports = [free_port() for _ in range(n)]
        replicas = [start_server(p, "-a", "127.0.0.1", "--cookie-key-file", str(keys[0]),
                                 "--ticket-key-file", str(keys[1])) for p in ports]
        port = free_port()
        conf = nginx_config(tmp_path, port, ports)
        nginx = Process([NGINX, "-p", str(tmp_path), "-c", str(conf), "-e", "stderr"],
                        tmp_path, "nginx")
        started.append(nginx)
        wait_bound(port)
        return port, replicas, nginx

    yield start
    for nginx in started:
        assert nginx.stop(signal.SIGTERM) == 0, nginx.stderr()


def accepted(replica):
    return replica.stdout().count("Accepted connection from")


def test_60_clients_through_nginx_reach_3_replicas_and_every_echo_is_right(balancer):
    port, replicas, _ = balancer(3)
    load = subprocess.run([BINARY, "-c", "-a", "127.0.0.1", "-p", str(port), "--clients",
                           "60", "--count", "10", "--json"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert load.returncode == 0, load.stderr
    summary = json.loads(load.stdout)
    assert summary["handshakes"]["count"] == 60, summary
    assert summary["echoes"]["count"] == 600 and summary["failures"]["total"] == 0, summary
    counts = [accepted(r) for r in replicas]
    assert sum(counts) == 60 and min(counts) > 0, counts


def test_a_session_from_one_replica_resumes_on_another_through_nginx(tmp_path, balancer):
    port, replicas, _ = balancer(3)
    session = tmp_path / "session"
    first = run_client(port, "-a", "127.0.0.1", "-m", "first", "-n", "1", "--session-out",
                       str(session))
    assert first.returncode == 0, first.stderr
    origin = [accepted(r) for r in replicas].index(1)
    # Each run comes from a new port, so nginx's hash sends it anywhere: every run
    # resumes, and one of them on another replica (1 - (1/3)^10 of the time).
    for _ in range(10):
        before = [accepted(r) for r in replicas]
        again = run_client(port, "-a", "127.0.0.1", "-m", "again", "-n", "1", "--session-in",
                           str(session))
        assert again.returncode == 0 and "- Session was resumed" in again.stdout, again
        after = [accepted(r) for r in replicas]
        if any(after[i] > before[i] for i in range(3) if i != origin):
            break
    else:
        pytest.fail("ten runs all reached the replica that made the session")


def test_kill_9_of_a_replica_under_load_its_clients_reconnect_and_finish(balancer):
    port, replicas, nginx = balancer(3)
    clients = [subprocess.Popen([BINARY, "-c", "-a", "127.0.0.1", "-p", str(port),
                                 "--reconnect", "5", "--timeout", "300", "--retries", "1"],
                                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(15)]
    try:
        outputs = []
        for c in clients:
            c.stdin.write("one\n")
            c.stdin.flush()
        for c in clients:
            assert c.stdout.readline() == "one\n"
        counts = [accepted(r) for r in replicas]
        victim = counts.index(max(counts))
        replicas[victim].stop(signal.SIGKILL)
        # Under load: every client keeps sending while the replica is gone.
        for line in ("two", "three", "four"):
            for c in clients:
                c.stdin.write(line + "\n")
                c.stdin.flush()
            time.sleep(0.2)
        for c in clients:
            outputs.append(c.communicate(timeout=60))  # EOF: close_notify
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
    reconnected = 0
    for c, (out, err) in zip(clients, outputs):
        assert c.returncode == 0 and out == "two\nthree\nfour\n", (out, err)
        reconnected += "- Reconnected" in err
    assert reconnected == counts[victim], (reconnected, counts)
