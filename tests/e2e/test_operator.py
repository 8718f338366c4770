# SPDX-License-Identifier: MIT
"""What an operator needs (issue 22): the items done so far. The HelloVerifyRequest's record
sequence number is in test_wire.py (it needs tshark)."""
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import BINARY, ROOT, free_port, linux_only


def test_help_and_the_man_page_give_the_workers_range():
    help_text = subprocess.run([BINARY, "--help"], capture_output=True, text=True,
                               timeout=10).stdout
    workers = help_text[help_text.index("--workers"):]
    assert "(1-256; auto: one per CPU)" in " ".join(workers.split()[:40])
    man = os.path.join(ROOT, "dtls_echo.1")
    if os.path.exists(man):
        with open(man) as f:
            assert "(1\\-256; auto: one per CPU)" in f.read()  # roff: \\- is a minus
    for value, code in (("257", 2), ("0", 2)):
        result = subprocess.run([BINARY, "-p", str(free_port()), "--workers", value],
                                capture_output=True, text=True, timeout=10)
        assert result.returncode == code and "1 to 256" in result.stderr, result.stderr


def children_of(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(child) for child in f.read().split()]


@linux_only
def test_quiet_still_shows_a_worker_that_died_and_was_replaced(port, start_server):
    server = start_server(port, "--workers", "2", "-q", ready="")
    deadline = time.monotonic() + 10
    while len(children_of(server.proc.pid)) < 2:
        assert time.monotonic() < deadline, server.stderr()
        time.sleep(0.05)
    victim = children_of(server.proc.pid)[0]
    os.kill(victim, signal.SIGKILL)
    line = re.compile(rf"error: worker \d \(pid {victim}\) killed by signal 9 .*: starting another")
    while not line.search(server.stderr()) and time.monotonic() < deadline + 10:
        time.sleep(0.05)
    assert line.search(server.stderr()), server.stderr()
    assert server.stop() == 0, server.stderr()


@pytest.mark.parametrize("args, address", [
    ([], "[::] (IPv6 and IPv4)"),
    (["-6"], "[::] (IPv6 only)"),
    (["-4"], "0.0.0.0 (IPv4 only)"),
    (["-a", "127.0.0.1"], "127.0.0.1"),
    (["-a", "::1"], "[::1]"),
])
def test_the_ready_line_keeps_the_classic_words_and_adds_the_address(port, start_server,
                                                                    args, address):
    server = start_server(port, *args)
    assert server.stdout().splitlines()[0] == \
        f"UDP server ready. Listening to port '{port}'. Address: {address}"


def test_a_link_local_address_without_its_interface_is_said_so():
    result = subprocess.run([BINARY, "-c", "-a", "fe80::1", "-p", "5556", "-m", "x"],
                            capture_output=True, text=True, timeout=10)
    assert result.returncode != 0
    assert "a link-local address needs its interface: add %NAME, as in fe80::1%eth0" in \
        result.stderr, result.stderr
    assert "Invalid argument" not in result.stderr
