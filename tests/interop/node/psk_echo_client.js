#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// DTLS 1.2 PSK echo client on node-dtls-client, a DTLS stack written in TypeScript that
// shares no code with GnuTLS: the independent peer for dtls_echo's PSK interop tests.
//
//   node psk_echo_client.js --host HOST --port PORT --identity ID --key HEX \
//       --message TEXT --count N [--timeout MS] [--ciphers LIST]
//
// Sends TEXT N times, one record each, waits for each echo and prints
// "- Received <bytes> bytes: <text>". Exit codes follow dtls_echo's: 0 every echo equal,
// 1 runtime error, 2 usage error, 3 handshake failed, 4 timeout (no answer),
// 5 an echo differs from what was sent. Every wait is bounded by --timeout.

import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { parseArgs } from "node:util";

import { dtls } from "node-dtls-client";

const EXIT_OK = 0;
const EXIT_RUNTIME = 1;
const EXIT_USAGE = 2;
const EXIT_HANDSHAKE = 3;
const EXIT_TIMEOUT = 4;
const EXIT_MISMATCH = 5;

const PROGRAM = "psk_echo_client";
const DEFAULT_TIMEOUT_MS = 5000;
// node-dtls-client raises any timeout below 100 ms to 100 ms.
const MIN_TIMEOUT_MS = 100;
const MAX_TIMEOUT_MS = 3600000;
const MAX_COUNT = 1000000000;
// A TLS record carries at most 2^14 bytes of plaintext, and node-dtls-client sends each
// message as a single record.
const MAX_MESSAGE_BYTES = 16384;
// How long close_notify may take once the echoes are done or the run has failed.
const CLOSE_GRACE_MS = 500;

// The PSK suites node-dtls-client 2.0.3 implements and offers by default, in its order.
// It knows the names of DHE_PSK and RSA_PSK suites too, but fails ("dhe_psk key
// exchange not implemented") if a server picks one, so they are not offered here.
const PSK_SUITES = new Map([
    ["TLS_PSK_WITH_3DES_EDE_CBC_SHA", 0x008b],
    ["TLS_PSK_WITH_AES_128_CBC_SHA", 0x008c],
    ["TLS_PSK_WITH_AES_256_CBC_SHA", 0x008d],
    ["TLS_PSK_WITH_AES_128_CBC_SHA256", 0x00ae],
    ["TLS_PSK_WITH_AES_256_CBC_SHA384", 0x00af],
    ["TLS_PSK_WITH_AES_128_GCM_SHA256", 0x00a8],
    ["TLS_PSK_WITH_AES_256_GCM_SHA384", 0x00a9],
    ["TLS_PSK_WITH_AES_128_CCM", 0xc0a4],
    ["TLS_PSK_WITH_AES_256_CCM", 0xc0a5],
    ["TLS_PSK_WITH_AES_128_CCM_8", 0xc0a8],
    ["TLS_PSK_WITH_AES_256_CCM_8", 0xc0a9],
]);

const USAGE = `Usage: node ${PROGRAM}.js --host HOST --port PORT --identity ID --key HEX
           --message TEXT --count N [--timeout MS] [--ciphers LIST]

DTLS 1.2 PSK echo client on node-dtls-client. Sends TEXT N times, one record each,
waits for each echo and checks that it equals what was sent.

  --host HOST      server address: IPv4, IPv6 (::1) or a name
  --port PORT      UDP port, 1-65535
  --identity ID    PSK identity, printable ASCII
  --key HEX        PSK key in hex (psktool's format)
  --message TEXT   message to send, 1-${MAX_MESSAGE_BYTES} bytes of UTF-8
  --count N        times to send it, 1-${MAX_COUNT}
  --timeout MS     bound on the handshake and on each echo, ${MIN_TIMEOUT_MS}-${MAX_TIMEOUT_MS} ms
                   (default ${DEFAULT_TIMEOUT_MS})
  --ciphers LIST   comma-separated suites to offer (default: all of them, in this order):
                   ${[...PSK_SUITES.keys()].join("\n                   ")}
  -h, --help       print this help and exit

Exit codes: 0 every echo equal; 1 runtime error; 2 usage error; 3 handshake failed;
4 timeout, no answer; 5 an echo did not match what was sent.
`;

/** Throws UsageError; parseOptions turns it into exit 2. */
class UsageError extends Error {}

/** Returns the integer in text if it lies in [min, max]; throws UsageError otherwise. */
function parseInteger(name, text, min, max) {
    if (text === undefined)
        throw new UsageError(`${name} is required`);
    if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max)
        throw new UsageError(`${name} must be an integer from ${min} to ${max}, not '${text}'`);
    return Number(text);
}

/** Returns the run's configuration from argv; throws UsageError on any bad or missing value. */
function parseOptions(argv) {
    let parsed;
    try {
        parsed = parseArgs({
            args: argv,
            strict: true,
            allowPositionals: false,
            options: {
                host: { type: "string" },
                port: { type: "string" },
                identity: { type: "string" },
                key: { type: "string" },
                message: { type: "string" },
                count: { type: "string" },
                timeout: { type: "string" },
                ciphers: { type: "string" },
                help: { type: "boolean", short: "h" },
            },
        });
    } catch (err) {
        throw new UsageError(err.message);
    }
    const values = parsed.values;
    if (values.help)
        return { help: true };

    for (const name of ["host", "identity", "key", "message"]) {
        if (values[name] === undefined || values[name] === "")
            throw new UsageError(`--${name} is required`);
    }
    // Accept "[::1]" as well as "::1".
    const host = values.host.replace(/^\[(.*)\]$/, "$1");
    if (!/^[\x20-\x7e]+$/.test(values.identity))
        throw new UsageError("--identity must be printable ASCII");
    if (!/^([0-9a-fA-F]{2})+$/.test(values.key))
        throw new UsageError("--key must be hex digits, an even number of them");
    const message = Buffer.from(values.message, "utf8");
    if (message.length > MAX_MESSAGE_BYTES)
        throw new UsageError(`--message is ${message.length} bytes; at most ${MAX_MESSAGE_BYTES} fit in one record`);

    let ciphers = [...PSK_SUITES.keys()];
    if (values.ciphers !== undefined) {
        ciphers = values.ciphers.split(",").map((name) => name.trim()).filter((name) => name !== "");
        const unknown = ciphers.filter((name) => !PSK_SUITES.has(name));
        if (ciphers.length === 0 || unknown.length > 0)
            throw new UsageError(`--ciphers: unknown suite '${unknown[0] ?? values.ciphers}'; `
                + `known: ${[...PSK_SUITES.keys()].join(",")}`);
    }

    return {
        help: false,
        host,
        port: parseInteger("--port", values.port, 1, 65535),
        identity: values.identity,
        key: Buffer.from(values.key, "hex"),
        message,
        count: parseInteger("--count", values.count, 1, MAX_COUNT),
        timeoutMs: values.timeout === undefined ? DEFAULT_TIMEOUT_MS
            : parseInteger("--timeout", values.timeout, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS),
        ciphers,
    };
}

/** Returns the name of a cipher suite id, or its hex value if node-dtls-client lacks it. */
function suiteName(id) {
    for (const [name, suiteId] of PSK_SUITES) {
        if (suiteId === id)
            return name;
    }
    return `0x${id.toString(16).padStart(4, "0")}`;
}

/**
 * Watches the plaintext (epoch 0) handshake records the server sends, so that a handshake
 * that stops can be told apart: no answer at all (a timeout), or an answer that went no
 * further (a handshake failure). node-dtls-client reports both as one "handshake timed
 * out", and GnuTLS answers a Finished it cannot decrypt (wrong key, unknown identity) and
 * a ClientHello it has no suite for with silence rather than an alert.
 */
class HandshakeObserver {
    datagrams = 0;
    sawHelloVerifyRequest = false;
    sawServerHelloDone = false;
    suiteId = null;

    /** Records what one datagram from the server shows; ignores what it cannot parse. */
    observe(datagram) {
        this.datagrams++;
        const RECORD_HEADER = 13;
        const HANDSHAKE_HEADER = 12;
        for (let offset = 0; offset + RECORD_HEADER <= datagram.length;) {
            const type = datagram[offset];
            const epoch = datagram.readUInt16BE(offset + 3);
            const length = datagram.readUInt16BE(offset + 11);
            const body = datagram.subarray(offset + RECORD_HEADER, offset + RECORD_HEADER + length);
            offset += RECORD_HEADER + length;
            if (type !== 22 || epoch !== 0)
                continue;
            for (let at = 0; at + HANDSHAKE_HEADER <= body.length;) {
                const msgType = body[at];
                const fragmentOffset = body.readUIntBE(at + 6, 3);
                const fragmentLength = body.readUIntBE(at + 9, 3);
                const fragment = body.subarray(at + HANDSHAKE_HEADER, at + HANDSHAKE_HEADER + fragmentLength);
                at += HANDSHAKE_HEADER + fragmentLength;
                if (msgType === 3) {
                    this.sawHelloVerifyRequest = true;
                } else if (msgType === 14) {
                    this.sawServerHelloDone = true;
                } else if (msgType === 2 && fragmentOffset === 0 && fragment.length >= 35) {
                    // server_version(2) random(32) session_id<0..32> cipher_suite(2)
                    const sessionIdLength = fragment[34];
                    if (fragment.length >= 35 + sessionIdLength + 2)
                        this.suiteId = fragment.readUInt16BE(35 + sessionIdLength);
                }
            }
        }
    }
}

/** The run: one DTLS session, its echoes, and the single way out of the process. */
class EchoClient {
    constructor(config) {
        this.config = config;
        this.peer = `${config.host} port ${config.port}`;
        this.observer = new HandshakeObserver();
        this.socket = null;
        this.connected = false;
        this.closed = false;
        this.finished = false;
        this.pending = null;
        this.timer = null;
    }

    /** Exits with code after one stderr line (if any), sending close_notify if connected. */
    finish(code, errorLine) {
        if (this.finished)
            return;
        this.finished = true;
        clearTimeout(this.timer);
        if (errorLine)
            process.stderr.write(`${PROGRAM}: ${errorLine}\n`);
        if (this.socket === null || !this.connected || this.closed)
            process.exit(code);
        setTimeout(() => process.exit(code), CLOSE_GRACE_MS);
        try {
            this.socket.close(() => process.exit(code));
        } catch {
            process.exit(code);
        }
    }

    /** Resolves the host and starts the handshake; everything after runs on events. */
    async start() {
        const { config } = this;
        let address = config.host;
        if (isIP(address) === 0) {
            const timeout = new Promise((resolve) => {
                this.timer = setTimeout(resolve, config.timeoutMs, null);
            });
            let resolved;
            try {
                resolved = await Promise.race([lookup(address, { verbatim: true }), timeout]);
            } catch (err) {
                this.finish(EXIT_RUNTIME, `cannot resolve ${config.host}: ${err.code ?? err.message}`);
                return;
            }
            clearTimeout(this.timer);
            if (resolved === null) {
                this.finish(EXIT_TIMEOUT, `timeout: resolving ${config.host} took over ${config.timeoutMs} ms`);
                return;
            }
            address = resolved.address;
        }

        try {
            this.socket = dtls.createSocket({
                type: isIP(address) === 6 ? "udp6" : "udp4",
                address,
                port: config.port,
                psk: { [config.identity]: config.key },
                // node-dtls-client bounds the whole handshake by this, and has no retransmission.
                timeout: config.timeoutMs,
                ciphers: config.ciphers,
            });
        } catch (err) {
            this.finish(EXIT_RUNTIME, `cannot create the DTLS socket: ${err.message}`);
            return;
        }
        // "udp" is node-dtls-client's own dgram socket, a private field: read-only use, to
        // learn how far a failed handshake got (see HandshakeObserver).
        this.socket.udp?.on("message", (datagram) => {
            if (!this.connected)
                this.observer.observe(datagram);
        });
        this.socket
            .on("connected", () => this.onConnected())
            .on("message", (record) => this.onRecord(record))
            .on("error", (err) => this.onError(err))
            .on("close", () => this.onClose());
    }

    /** Prints the handshake's outcome and sends the first message. */
    onConnected() {
        this.connected = true;
        const suite = this.observer.suiteId === null ? "" : `: ${suiteName(this.observer.suiteId)}`;
        process.stdout.write(`- Handshake was completed${suite}\n`);
        this.sendMessage(1);
    }

    /** Sends message number index (1-based) and arms the echo timer. */
    sendMessage(index) {
        this.pending = { index, received: [], receivedBytes: 0 };
        this.timer = setTimeout(() => this.onEchoTimeout(), this.config.timeoutMs);
        try {
            this.socket.send(this.config.message, (err) => {
                if (err)
                    this.finish(EXIT_RUNTIME, `sending message ${index}: ${err.message}`);
            });
        } catch (err) {
            this.finish(EXIT_RUNTIME, `sending message ${index}: ${err.message}`);
        }
    }

    /** Adds one application-data record to the echo awaited; a server may split an echo. */
    onRecord(record) {
        if (this.finished)
            return;
        const expected = this.config.message;
        const pending = this.pending;
        if (pending === null) {
            this.finish(EXIT_MISMATCH, `unexpected record of ${record.length} bytes from ${this.peer} `
                + "while no echo was awaited");
            return;
        }
        pending.received.push(record);
        pending.receivedBytes += record.length;
        const echo = Buffer.concat(pending.received);
        const isPrefix = echo.length <= expected.length
            && echo.equals(expected.subarray(0, echo.length));
        if (isPrefix && echo.length < expected.length)
            return;
        clearTimeout(this.timer);
        this.pending = null;
        process.stdout.write(`- Received ${echo.length} bytes: ${echo.toString("utf8")}\n`);
        if (!isPrefix) {
            this.finish(EXIT_MISMATCH, `echo ${pending.index} of ${this.config.count} differs from what `
                + `was sent (${expected.length} bytes sent, ${echo.length} received in `
                + `${pending.received.length} record(s))`);
            return;
        }
        if (pending.received.length > 1) {
            const sizes = pending.received.length <= 8
                ? ` (${pending.received.map((r) => r.length).join("+")} bytes)` : "";
            process.stderr.write(`${PROGRAM}: note: echo ${pending.index} arrived split into `
                + `${pending.received.length} records${sizes}\n`);
        }
        if (pending.index < this.config.count)
            this.sendMessage(pending.index + 1);
        else
            this.finish(EXIT_OK);
    }

    /** No complete echo in time: a timeout if nothing came back, a mismatch if part did. */
    onEchoTimeout() {
        const { index, received, receivedBytes } = this.pending;
        const which = `echo ${index} of ${this.config.count}`;
        if (received.length === 0) {
            this.finish(EXIT_TIMEOUT, `timeout: no ${which} from ${this.peer} within ${this.config.timeoutMs} ms`);
        } else {
            this.finish(EXIT_MISMATCH, `${which} incomplete: ${receivedBytes} of ${this.config.message.length} `
                + `bytes within ${this.config.timeoutMs} ms`);
        }
    }

    /** node-dtls-client's errors: before "connected" the handshake failed, after it the session. */
    onError(err) {
        if (this.connected) {
            this.finish(EXIT_RUNTIME, `session with ${this.peer} failed: ${err.message}`);
            return;
        }
        const { observer, config } = this;
        const suite = observer.suiteId === null ? "" : ` (suite ${suiteName(observer.suiteId)})`;
        if (err.code !== undefined) {
            // A dgram error: EADDRNOTAVAIL, ENETUNREACH and the like.
            this.finish(EXIT_RUNTIME, `socket error talking to ${this.peer}: ${err.message}`);
        } else if (err.message === "The connection timed out") {
            this.finish(EXIT_RUNTIME, `could not bind a local UDP socket within ${config.timeoutMs} ms`);
        } else if (err.message !== "The DTLS handshake timed out") {
            this.finish(EXIT_HANDSHAKE, `handshake with ${this.peer} failed${suite}: ${err.message}`);
        } else if (observer.datagrams === 0) {
            this.finish(EXIT_TIMEOUT, `timeout: no answer from ${this.peer} within ${config.timeoutMs} ms`);
        } else if (observer.sawServerHelloDone && !observer.sawHelloVerifyRequest) {
            this.finish(EXIT_HANDSHAKE, `handshake with ${this.peer} failed${suite}: the server skipped the `
                + "HelloVerifyRequest cookie exchange, and node-dtls-client 2.0.3 then leaves its "
                + "ClientHello out of the Finished hash, so the server rejects our Finished");
        } else if (observer.sawServerHelloDone) {
            this.finish(EXIT_HANDSHAKE, `handshake with ${this.peer} failed${suite}: the server did not `
                + `answer our Finished within ${config.timeoutMs} ms; wrong PSK key, or identity `
                + `'${config.identity}' unknown to the server (GnuTLS drops a Finished it cannot `
                + "decrypt without an alert)");
        } else if (observer.sawHelloVerifyRequest && observer.suiteId === null) {
            this.finish(EXIT_HANDSHAKE, `handshake with ${this.peer} failed: the server sent a `
                + `HelloVerifyRequest but no ServerHello within ${config.timeoutMs} ms; most likely no `
                + `cipher suite in common (offered: ${config.ciphers.join(",")})`);
        } else {
            this.finish(EXIT_HANDSHAKE, `handshake with ${this.peer} failed${suite}: the server answered `
                + `(${observer.datagrams} datagram(s)) but did not complete the handshake within `
                + `${config.timeoutMs} ms`);
        }
    }

    /** The session closed under us: the server sent close_notify before all echoes came. */
    onClose() {
        this.closed = true;
        if (this.finished)
            return;
        const awaited = this.pending === null ? "" : ` before echo ${this.pending.index} of ${this.config.count}`;
        this.finish(EXIT_TIMEOUT, `${this.peer} closed the session${awaited}`);
    }
}

function main() {
    let config;
    try {
        config = parseOptions(process.argv.slice(2));
    } catch (err) {
        if (!(err instanceof UsageError))
            throw err;
        process.stderr.write(`${PROGRAM}: ${err.message} (--help lists the options)\n`);
        process.exit(EXIT_USAGE);
    }
    if (config.help) {
        process.stdout.write(USAGE);
        process.exit(EXIT_OK);
    }

    const client = new EchoClient(config);
    // node-dtls-client parses records inside its socket's event handlers, so a message it
    // cannot handle (a Certificate, say) surfaces here rather than as an "error" event.
    process.on("uncaughtException", (err) => {
        const code = client.connected ? EXIT_RUNTIME : EXIT_HANDSHAKE;
        const stage = client.connected ? "session" : "handshake";
        client.finish(code, `${stage} with ${client.peer} failed: node-dtls-client threw: ${err.message}`);
    });
    // Last resort: each wait below has its own timer, so this only fires if one leaked.
    const budgetMs = Math.min(config.timeoutMs * (config.count + 3) + 2 * CLOSE_GRACE_MS, 2 ** 31 - 1);
    setTimeout(() => client.finish(EXIT_TIMEOUT, `timeout: the run exceeded ${budgetMs} ms`), budgetMs).unref();
    client.start();
}

main();
