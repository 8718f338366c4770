# SPDX-License-Identifier: MIT
"""What DTLS puts on the wire, seen by tshark through scripts/capture.sh: the flights of a
DTLS 1.2 handshake with a cookie exchange, the echo decrypted with the client's key log,
and a certificate chain too big for one 576-byte datagram fragmented by the server."""
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from conftest import BINARY, ROOT, Process, capture_client_hello, cert, free_port

pytestmark = pytest.mark.skipif(
    shutil.which("tshark") is None,
    reason="tshark is not installed (scripts/deps.sh installs the Debian package 'tshark')")

CAPTURE = os.path.join(ROOT, "scripts", "capture.sh")
MTU = 576
MAX_UDP_PAYLOAD = MTU - 20 - 8  # IPv4 header, UDP header
NAMES = {1: "ClientHello", 2: "ServerHello", 3: "HelloVerifyRequest", 4: "NewSessionTicket",
         11: "Certificate", 12: "ServerKeyExchange", 14: "ServerHelloDone",
         16: "ClientKeyExchange", 20: "Finished"}
CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA = 20, 21, 22, 23
SESSION_TICKET_EXTENSION = "35"


@pytest.fixture
def start_capture(tmp_path):
    """start_capture(port, keylog) -> (Process, pcap path), once tshark captures."""
    started = []

    def start(port, keylog):
        pcap = tmp_path / f"capture{len(started)}.pcap"
        capture = Process([CAPTURE, "-k", str(keylog), "-a", "duration:120", str(port),
                           str(pcap)], tmp_path, f"capture{len(started)}")
        started.append(capture)
        # Not "Capturing on": tshark prints that before dumpcap has opened the interface,
        # and a datagram sent right after it is lost. "Capture started." comes once
        # dumpcap reports its capture file, after the interface is open.
        capture.wait_for("Capture started.", timeout=30)
        return capture, pcap

    yield start
    for capture in started:
        if capture.proc.poll() is None:
            capture.stop()


def stop_after_seen(capture, text, times, timeout=15.0):
    """Waits until the live decode shows text `times` times, then stops the capture.
    dumpcap drops what the kernel still buffers when it stops, so we stop only once
    tshark has shown (and so written) the last packet we need."""
    deadline = time.monotonic() + timeout
    while capture.stdout().count(text) < times and time.monotonic() < deadline:
        time.sleep(0.05)
    seen = capture.stdout()
    assert capture.stop() == 0, capture.stderr()
    assert seen.count(text) >= times, f"{text!r} not seen {times} times live:\n{seen}"


def read_fields(pcap, port, *fields, keylog=None):
    """One list per datagram: [source port, then each field's values as a list]."""
    args = ["tshark", "-n", "-r", str(pcap), "-d", f"udp.port=={port},dtls", "-T", "fields",
            "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,",
            "-e", "udp.srcport"]
    if keylog:
        args += ["-o", f"tls.keylog_file:{keylog}"]
    for field in fields:
        args += ["-e", field]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = []
    for line in result.stdout.splitlines():
        source, *values = line.split("\t")
        rows.append([int(source)] + [value.split(",") if value else [] for value in values])
    return rows


def records(pcap, server_port, keylog=None):
    """Every record, in wire order: (sender, name, handshake message_seq or None).
    GnuTLS puts one handshake message in a record (several records may share a
    datagram), so a datagram's handshake headers
    pair with its handshake records in order; a record tshark cannot decrypt has none."""
    found = []
    for source, content_types, types, seqs in read_fields(
            pcap, server_port, "dtls.record.content_type", "dtls.handshake.type",
            "dtls.handshake.message_seq", keylog=keylog):
        sender = "server" if source == server_port else "client"
        messages = list(zip(map(int, types), map(int, seqs)))
        for content_type in map(int, content_types):
            if content_type == HANDSHAKE:
                kind, seq = messages.pop(0) if messages else (None, None)
                found.append((sender, NAMES.get(kind, "EncryptedHandshake"), seq))
            elif content_type == CHANGE_CIPHER_SPEC:
                found.append((sender, "ChangeCipherSpec", None))
            elif content_type == APPLICATION_DATA:
                found.append((sender, "ApplicationData", None))
            elif content_type == ALERT:
                found.append((sender, "Alert", None))
        assert not messages, f"more handshake messages than records from {sender}: {messages}"
    return found


def flights(found):
    """The handshake as flights [(sender, [messages])], up to the first application data;
    a fragment or retransmission of a message already seen is not a new message."""
    result, seen = [], set()
    for sender, name, seq in found:
        if name == "ApplicationData":
            break
        if (sender, name, seq) in seen:
            continue
        seen.add((sender, name, seq))
        if result and result[-1][0] == sender:
            result[-1][1].append(name)
        else:
            result.append((sender, [name]))
    return result


def start_big_chain_server(start_server, port):
    return start_server(port, "--mtu", str(MTU), "--cert", cert("big-chain.pem"),
                        "--key", cert("big-chain-key.pem"))


def test_handshake_flights_with_cookie_and_echo_decrypted_with_the_key_log(
        port, start_server, start_capture, tmp_path):
    keylog = tmp_path / "keys.log"
    message = "hello, wire"
    capture, pcap = start_capture(port, keylog)
    server = start_server(port)
    result = subprocess.run([BINARY, "-c", "-a", "127.0.0.1", "-p", str(port), "-m", message,
                             "-n", "1", "--timeout", "3000"], cwd=ROOT, capture_output=True,
                            text=True, timeout=30, env={**os.environ, "SSLKEYLOGFILE": str(keylog)})
    assert result.returncode == 0, result.stderr
    server.wait_for("EOF")
    stop_after_seen(capture, message, 2)  # request and echo, decrypted live

    # RFC 5077: a server that acknowledged the session_ticket extension in its ServerHello
    # sends NewSessionTicket just before its ChangeCipherSpec.
    server_hello_extensions = next(extensions for _, types, extensions in read_fields(
        pcap, port, "dtls.handshake.type", "dtls.handshake.extension.type") if "2" in types)
    ticket = ["NewSessionTicket"] if SESSION_TICKET_EXTENSION in server_hello_extensions else []
    assert flights(records(pcap, port, keylog)) == [
        ("client", ["ClientHello"]),
        ("server", ["HelloVerifyRequest"]),
        ("client", ["ClientHello"]),
        ("server", ["ServerHello", "Certificate", "ServerKeyExchange", "ServerHelloDone"]),
        ("client", ["ClientKeyExchange", "ChangeCipherSpec", "Finished"]),
        ("server", ticket + ["ChangeCipherSpec", "Finished"]),
    ]
    # The cookie: none in the first ClientHello, the server's in the second.
    cookies = {(types[0], seqs[0]): cookie for _, types, seqs, cookie in read_fields(
        pcap, port, "dtls.handshake.type", "dtls.handshake.message_seq", "dtls.handshake.cookie")
        if types in (["1"], ["3"])}
    assert cookies[("1", "0")] == []
    assert cookies[("3", "0")] != []
    assert cookies[("1", "1")] == cookies[("3", "0")]
    # Without the key log, tshark can read neither Finished: they are encrypted.
    opaque = [sender for sender, name, _ in records(pcap, port) if name == "EncryptedHandshake"]
    assert opaque == ["client", "server"]
    # The message is never in clear on the wire, and the key log decrypts it both ways.
    assert message.encode() not in pcap.read_bytes()
    plaintext = [(source == port, bytes.fromhex(data[0]).decode())
                 for source, data in read_fields(pcap, port, "data.data", keylog=keylog) if data]
    assert plaintext == [(False, message), (True, message)]
    assert all(not data for _, data in read_fields(pcap, port, "data.data"))


@pytest.mark.parametrize("resume", [["--resume"], ["--session-in"]])
def test_key_log_decrypts_a_resumed_session(port, start_server, start_capture, tmp_path,
                                            resume):
    """GnuTLS logs a master secret only when it derives one: the resumed session's line is
    ours, and with it tshark reads the resumed session's echoes too."""
    keylog, saved = tmp_path / "keys.log", tmp_path / "session"
    capture, pcap = start_capture(port, keylog)
    start_server(port, "-q", ready="")
    client = [BINARY, "-c", "-a", "127.0.0.1", "-p", str(port), "-n", "1", "--keylogfile",
              str(keylog)]
    if resume == ["--resume"]:
        runs = [client + ["-m", "first", "--resume"]]  # the first session only handshakes
        messages = ["first"] * 2
    else:
        runs = [client + ["-m", "first", "--session-out", str(saved)],
                client + ["-m", "second", "--session-in", str(saved), "-v"]]
        messages = ["first", "first", "second", "second"]
    for args in runs:
        result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        assert "Session was resumed" in result.stdout or args is not runs[-1], result.stdout
    stop_after_seen(capture, messages[-1], messages.count(messages[-1]))
    assert len(keylog.read_text().splitlines()) == 2  # one line per session
    plaintext = [bytes.fromhex(data[0]).decode()
                 for _, data in read_fields(pcap, port, "data.data", keylog=keylog) if data]
    assert plaintext == messages


def check_fragmented_and_small(pcap, server_port):
    """The Certificate went in several fragments that make up the whole message, and no
    datagram in either direction carried more than fits in the MTU."""
    rows = read_fields(pcap, server_port, "ipv6.version", "udp.length", "dtls.handshake.type",
                       "dtls.handshake.length", "dtls.handshake.fragment_offset",
                       "dtls.handshake.fragment_length")
    for _, ipv6, udp_length, *_ in rows:  # "localhost" may be ::1: 20 more header bytes
        limit = MAX_UDP_PAYLOAD - (20 if ipv6 else 0)
        assert int(udp_length[0]) - 8 <= limit, [int(row[2][0]) - 8 for row in rows]
    fragments = {}
    for source, _, _, types, lengths, offsets, fragment_lengths in rows:
        for kind, length, offset, fragment_length in zip(types, lengths, offsets,
                                                         fragment_lengths):
            if kind == "11" and source == server_port:
                fragments[int(offset)] = (int(length), int(fragment_length))
    assert len(fragments) >= 2, fragments
    (total,) = {length for length, _ in fragments.values()}
    assert all(fragment_length < total for _, fragment_length in fragments.values())
    covered = 0
    for offset in sorted(fragments):
        assert offset == covered, f"gap or overlap at {offset}: {sorted(fragments.items())}"
        covered += fragments[offset][1]
    assert covered == total


def test_big_chain_is_fragmented_to_the_mtu_for_our_client(
        port, start_server, start_capture, tmp_path):
    keylog = tmp_path / "keys.log"
    message = "over a small MTU"
    capture, pcap = start_capture(port, keylog)
    start_big_chain_server(start_server, port)
    result = subprocess.run([BINARY, "-c", "-a", "127.0.0.1", "-p", str(port), "--mtu",
                             str(MTU), "-m", message, "-n", "1", "--timeout", "3000"],
                            cwd=ROOT, capture_output=True, text=True, timeout=30,
                            env={**os.environ, "SSLKEYLOGFILE": str(keylog)})
    assert result.returncode == 0, result.stderr
    assert f"- Received {len(message)} bytes: {message}" in result.stdout
    stop_after_seen(capture, message, 2)
    check_fragmented_and_small(pcap, port)


def test_big_chain_is_fragmented_to_the_mtu_for_gnutls_cli(
        port, start_server, start_capture, tmp_path):
    keylog = tmp_path / "keys.log"
    message = "hello from gnutls-cli"
    capture, pcap = start_capture(port, keylog)
    server = start_big_chain_server(start_server, port)
    result = subprocess.run(
        ["gnutls-cli", "--udp", "--mtu", str(MTU), "--x509cafile", cert("ca.pem"),
         "-p", str(port), "localhost"], input=message + "\n", capture_output=True, text=True,
        timeout=30, env={**os.environ, "SSLKEYLOGFILE": str(keylog)})
    assert result.returncode == 0, result.stderr
    assert "- Handshake was completed" in result.stdout
    assert message in result.stdout.split("Simple Client Mode:")[1]
    server.wait_for("EOF")
    stop_after_seen(capture, message, 2)
    check_fragmented_and_small(pcap, port)


# ---- --trace against the wire --------------------------------------------------------------

def traced(stderr):
    """The client's --trace: [(direction, size, [record])] per datagram; a record is
    (name, msg_seq, fragment offset, fragment length, epoch, record seq, retransmitted)."""
    datagrams = []
    for line in stderr.splitlines():
        found = re.match(r"\s*[\d.]+ ms  (->|<-)  datagram (\d+) B", line)
        if found:
            datagrams.append((found[1], int(found[2]), []))
            continue
        found = re.match(r"\s*[\d.]+ ms  (->|<-)    (\w+)", line)
        if not found:
            continue
        handshake = re.search(r"msg_seq (\d+)\s+\d+ B  frag (\d+)\+(\d+)", line)
        epoch, seq = map(int, re.search(r"epoch (\d+) seq (\d+)", line).groups())
        datagrams[-1][2].append((found[2], *(map(int, handshake.groups()) if handshake
                                              else (None, None, None)), epoch, seq,
                                 line.endswith("RETRANSMITTED")))
    return datagrams


def on_the_wire(pcap, client_port_of_server, keylog):
    """The same from tshark's decode of the capture, retransmissions judged as a reader of
    the capture would: a fragment (or ChangeCipherSpec, or encrypted Finished) that its
    sender had sent before."""
    datagrams, sent = [], set()
    for source, length, types, epochs, seqs, hs_types, msg_seqs, offsets, frags in read_fields(
            pcap, client_port_of_server, "udp.length", "dtls.record.content_type",
            "dtls.record.epoch", "dtls.record.sequence_number", "dtls.handshake.type",
            "dtls.handshake.message_seq", "dtls.handshake.fragment_offset",
            "dtls.handshake.fragment_length", keylog=keylog):
        direction = "<-" if source == client_port_of_server else "->"
        handshakes = list(zip(hs_types, msg_seqs, offsets, frags))
        records = []
        for content, epoch, seq in zip(map(int, types), map(int, epochs), map(int, seqs)):
            fields = (None, None, None)
            if content == HANDSHAKE:
                kind, msg_seq, offset, frag = handshakes.pop(0) if handshakes else (20, 0, 0, 0)
                name = "Finished" if epoch > 0 else NAMES[int(kind)]
                if epoch == 0:
                    fields = (int(msg_seq), int(offset), int(frag))
            else:
                name = {CHANGE_CIPHER_SPEC: "ChangeCipherSpec", ALERT: "Alert",
                        APPLICATION_DATA: "ApplicationData"}[content]
            key = (direction, name, epoch, fields[0], fields[1])
            again = name != "Alert" and name != "ApplicationData" and key in sent
            sent.add(key)
            records.append((name, *fields, epoch, seq, again))
        if any(record[0] not in ("ApplicationData",) for record in records):
            datagrams.append((direction, int(length[0]) - 8, records))
    return datagrams


def handshake_only(datagrams):
    return [d for d in datagrams if any(r[0] not in ("Alert", "ApplicationData") for r in d[2])]


@pytest.mark.parametrize("loss", [[], ["--blackout-down", "1500"]], ids=["no loss", "loss"])
def test_trace_agrees_with_tshark_on_every_handshake_datagram(
        loss, port, start_server, start_relay, start_capture, tmp_path):
    relay_port = free_port()
    keylog = tmp_path / "keys.log"
    message = "traced"
    capture, pcap = start_capture(relay_port, keylog)
    start_server(port)
    start_relay(relay_port, port, *loss)
    result = subprocess.run([BINARY, "-c", "--trace", "--keylogfile", str(keylog), "-m",
                             message, "-n", "1", f"127.0.0.1:{relay_port}"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    stop_after_seen(capture, message, 2)
    ours, theirs = traced(result.stderr), on_the_wire(pcap, relay_port, str(keylog))
    assert handshake_only(ours) == handshake_only(theirs)
    names = [r[0] for d in handshake_only(ours) for r in d[2] if not r[-1]]
    assert names[:3] == ["ClientHello", "HelloVerifyRequest", "ClientHello"], names
    assert "(no cookie)" in result.stderr and "(cookie 16 B)" in result.stderr
    retransmitted = [r[0] for d in ours for r in d[2] if r[-1]]
    if loss:  # every answer dropped for 1.5 s: the first ClientHello went again
        assert retransmitted and set(retransmitted) == {"ClientHello"}, retransmitted
    else:
        assert retransmitted == []


def test_hello_verify_request_carries_the_client_hellos_record_sequence_number(
        port, start_server, start_capture, tmp_path):
    """RFC 6347 4.2.1: the server answers a ClientHello with a HelloVerifyRequest of the same
    record sequence number (GnuTLS's gnutls_dtls_cookie_send writes 0, or only the low byte
    of its prestate's). ClientHellos of sequence 0, 1, 2 and one past 2^32, as a client's
    retransmissions count them; seen in the datagrams, by tshark and in --trace."""
    hello = capture_client_hello()
    seqs = [0, 1, 2, 0x0102030405]
    capture, pcap = start_capture(port, tmp_path / "keys.log")
    server = start_server(port, "--trace")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        for seq in seqs:
            sock.sendto(hello[:5] + seq.to_bytes(6, "big") + hello[11:], ("127.0.0.1", port))
            reply = sock.recv(65536)
            assert reply[13] == 3, reply[:16]  # a HelloVerifyRequest
            assert int.from_bytes(reply[5:11], "big") == seq
    stop_after_seen(capture, "Hello Verify Request", len(seqs))
    sent = [int(values[0][0]) for source, values in
            ((row[0], row[1:]) for row in read_fields(pcap, port, "dtls.record.sequence_number"))
            if source == port]
    assert sent == seqs
    deadline = time.monotonic() + 5
    while server.stderr().count("HelloVerifyRequest") < len(seqs) and time.monotonic() < deadline:
        time.sleep(0.05)
    traced_seqs = [int(m) for m in re.findall(r"HelloVerifyRequest.*? seq (\d+)", server.stderr())]
    assert traced_seqs == seqs, server.stderr()
