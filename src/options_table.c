/* SPDX-License-Identifier: MIT */
/* options_table.c - the options, one row each (name, short name, group and side, field,
 * range, default, check, help), and the checks of their values: every number range-checked
 * with strtoul and an end pointer (never atoi), PSK keys, pins, priorities, SRTP and ALPN
 * lists, networks. Nothing here prints. */
#define _GNU_SOURCE
#include "options_table.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lease.h"
#include "log.h"
#include "session.h"
#include "sockets.h"

static int not_empty(const char *name, const char *value, char *err, size_t err_size)
{
    if (value[0] == '\0')
        return errorf(err, err_size, "--%s: the value must not be empty", name);
    return 0;
}

/* Returns 1 when text is a non-empty, even number of hex digits (a PSK key). */
static int is_hex_key(const char *text)
{
    size_t len = strlen(text);

    return len > 0 && len % 2 == 0 && strspn(text, "0123456789abcdefABCDEF") == len;
}


/* --workers: N, or auto (one per online CPU). Returns the count, or 0 with a reason. */
unsigned options_workers_of(const char *name, const char *value, char *err, size_t err_size)
{
    unsigned long n;
    unsigned cpus;

    if (strcmp(value, "auto") == 0) {
        cpus = platform_cpu_count();
        return cpus > MAX_WORKERS ? MAX_WORKERS : cpus;
    }
    if (options_parse_number(name, value, 1, MAX_WORKERS, &n, err, err_size) < 0) {
        errorf(err, err_size, "--%s: '%s' is neither auto nor a number from 1 to %d", name,
               value, MAX_WORKERS);
        return 0;
    }
    return (unsigned)n;
}

static int check_workers(const char *name, const char *value, char *err, size_t err_size)
{
    return options_workers_of(name, value, err, err_size) == 0 ? -1 : 0;
}

static int check_psk_key(const char *name, const char *value, char *err, size_t err_size)
{
    if (!is_hex_key(value))
        return errorf(err, err_size, "--%s: '%s' is not an even number of hex digits", name,
                      value);
    return 0;
}

static int check_hostname(const char *name, const char *value, char *err, size_t err_size)
{
    if (not_empty(name, value, err, err_size) < 0)
        return -1;
    if (strlen(value) > MAX_HOSTNAME)
        return errorf(err, err_size, "--%s: %zu characters; a DNS name has at most %d", name,
                      strlen(value), MAX_HOSTNAME);
    return 0;
}

/* Returns 1 when text is "sha256:" and 64 hex digits, colons allowed between them. */
static int is_pin_digest(const char *text)
{
    size_t digits = 0;
    const char *p;

    if (strncmp(text, "sha256:", 7) != 0)
        return 0;
    for (p = text + 7; *p != '\0'; p++)
        if (isxdigit((unsigned char)*p))
            digits++;
        else if (*p != ':')
            return 0;
    return digits == 64;
}

static int check_pin(const char *name, const char *value, char *err, size_t err_size)
{
    if (strncmp(value, "sha256//", 8) == 0) {
        const char *b64 = value + 8;
        if (strlen(b64) != 44 || b64[43] != '=' ||
            strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") != 43)
            return errorf(err, err_size, "--%s: '%s' is not sha256// and the base64 of 32 "
                          "bytes (44 characters)", name, value);
        return 0;
    }
    if (strncmp(value, "sha256:", 7) == 0 && !is_pin_digest(value))
        return errorf(err, err_size, "--%s: '%s' is not sha256: and 64 hex digits", name,
                      value);
    return not_empty(name, value, err, err_size);
}

/* A list of 1 to max_items items separated by sep, each of 1 to max_len characters. */
static int check_list(const char *name, const char *value, char sep, size_t max_len,
                      size_t max_items, char *err, size_t err_size)
{
    const char *p = value;
    size_t len, items = 0;

    for (;;) {
        len = strcspn(p, (char[]){sep, '\0'});
        if (len == 0 || len > max_len || ++items > max_items)
            return errorf(err, err_size, "--%s: '%s' is not a list of at most %zu items of 1 "
                          "to %zu characters separated by '%c'", name, value, max_items,
                          max_len, sep);
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
}

/* ALPN: names of at most 32 bytes (libgnutls's limit), as many as a session offers, the
 * tunnel's protocol aside. */
static int check_alpn(const char *name, const char *value, char *err, size_t err_size)
{
    return check_list(name, value, ',', 32, SESSION_ALPN_MAX - 1, err, err_size);
}

/* Each profile must be one GnuTLS knows. */
static int check_srtp(const char *name, const char *value, char *err, size_t err_size)
{
    gnutls_srtp_profile_t id;
    char profile[64];
    const char *p;
    size_t len;

    if (check_list(name, value, ':', sizeof(profile) - 1, 8, err, err_size) < 0)
        return -1;
    for (p = value;; p += len + 1) {
        len = strcspn(p, ":");
        snprintf(profile, sizeof(profile), "%.*s", (int)len, p);
        if (gnutls_srtp_get_profile_id(profile, &id) < 0)
            return errorf(err, err_size, "--%s: '%.*s' is not an SRTP profile GnuTLS knows",
                          name, (int)len, p);
        if (p[len] == '\0')
            return 0;
    }
}

/* Checks a --priority string: GnuTLS must parse it, and it must enable a DTLS version
 * (a TLS-only string starts a server that can never complete a handshake). */
static int check_priority(const char *name, const char *value, char *err, size_t err_size)
{
    gnutls_priority_t priority;
    const unsigned *versions;
    const char *where = NULL;
    int rc, i, n, dtls = 0;

    rc = gnutls_priority_init2(&priority, value, &where, 0);
    if (rc < 0)
        return errorf(err, err_size, "--%s '%s': %s (at '%s')", name, value,
                      gnutls_strerror(rc), where ? where : "");
    n = gnutls_priority_protocol_list(priority, &versions);
    for (i = 0; i < n; i++)
        dtls |= versions[i] == GNUTLS_DTLS1_2 || versions[i] == GNUTLS_DTLS1_0 ||
                versions[i] == GNUTLS_DTLS0_9;
    gnutls_priority_deinit(priority);
    if (!dtls)
        return errorf(err, err_size, "--%s '%s' enables no DTLS version: add +VERS-DTLS1.2",
                      name, value);
    return 0;
}

/* A network of family (AF_INET, AF_INET6; 0: either), named in errors by --name. */
static int check_network_of(int family, const char *name, const char *value, char *err,
                            size_t err_size)
{
    struct ip_prefix prefix;
    char what[40];

    snprintf(what, sizeof(what), "--%s", name);
    if (ip_prefix_parse(what, value, &prefix, err, err_size) < 0)
        return -1;
    if (family == AF_INET && prefix.family != AF_INET)
        return errorf(err, err_size, "--%s: '%s' is not an IPv4 network (IPv6 goes in "
                      "--tun-net6)", name, value);
    if (family == AF_INET6 && prefix.family != AF_INET6)
        return errorf(err, err_size, "--%s: '%s' is not an IPv6 network", name, value);
    return 0;
}

static int check_network(const char *name, const char *value, char *err, size_t err_size)
{
    return check_network_of(0, name, value, err, err_size);
}

static int check_ipv4_network(const char *name, const char *value, char *err,
                              size_t err_size)
{
    return check_network_of(AF_INET, name, value, err, err_size);
}

/* An IPv6 network, or "none". */
static int check_ipv6_network(const char *name, const char *value, char *err,
                              size_t err_size)
{
    if (strcmp(value, "none") == 0)
        return 0;
    return check_network_of(AF_INET6, name, value, err, err_size);
}

#define FIELD(f) offsetof(struct config, f)
#define FLAG(n, s, i, g, f, h) {n, s, i, g, 0, FIELD_FLAG, FIELD(f), NULL, 0, 0, 0, NULL, NULL, h}
#undef TEXT /* Windows's headers have one (for wide strings) */
#define TEXT(n, s, i, g, f, a, d, c, h) {n, s, i, g, 0, FIELD_TEXT, FIELD(f), a, 0, 0, 0, d, c, h}
#define NUMBER(n, s, i, g, f, a, lo, hi, d, h) \
    {n, s, i, g, 0, FIELD_UINT, FIELD(f), a, lo, hi, d, NULL, NULL, h}

const struct option_spec option_table[] = {
    FLAG("client", 'c', 'c', GROUP_COMMON, client_mode, "client mode (default: server)"),
    TEXT("address", 'a', 'a', GROUP_COMMON, address, "HOST", NULL, not_empty,
         "client: server to reach (default localhost; or give HOST[:PORT] or [IPV6]:PORT "
         "after the options); server: address to bind (default every IPv6 and IPv4 "
         "address)"),
    NUMBER("port", 'p', 'p', GROUP_COMMON, port, "PORT", 1, 65535, DEFAULT_PORT, "UDP port"),
    FLAG("ipv4", '4', '4', GROUP_COMMON, ipv4, "IPv4 only: the client resolves the host to "
         "IPv4 addresses, the server binds 0.0.0.0"),
    FLAG("ipv6", '6', '6', GROUP_COMMON, ipv6, "IPv6 only: the client resolves the host to "
         "IPv6 addresses, the server binds :: without IPv4"),
    TEXT("cafile", 0, OPT_CAFILE, GROUP_COMMON, cafile, "FILE", NULL, NULL,
         "trusted CA certificates, PEM (client default: " DEFAULT_CAFILE " when the current "
         "directory has it, else the system's trust store; server default, with "
         "--require-client-cert: " DEFAULT_CAFILE ", else " SYSTEM_CAFILE ")"),
    TEXT("crlfile", 0, OPT_CRLFILE, GROUP_COMMON, crlfile, "FILE", NULL, NULL,
         "certificate revocation list, PEM (default none)"),
    TEXT("cert", 0, OPT_CERT, GROUP_COMMON, certfile, "FILE", NULL, NULL,
         "own certificate chain, PEM (server default " DEFAULT_SERVER_CERT " when the "
         "current directory has it, else " SYSTEM_SERVER_CERT "; client default none)"),
    TEXT("key", 0, OPT_KEY, GROUP_COMMON, keyfile, "FILE", NULL, NULL,
         "private key of --cert, PEM (server default " DEFAULT_SERVER_KEY ", or "
         SYSTEM_SERVER_KEY " beside " SYSTEM_SERVER_CERT ")"),
    NUMBER("mtu", 0, OPT_MTU, GROUP_COMMON, mtu, "BYTES", 256, 65535, DEFAULT_MTU,
           "path MTU, IP and UDP headers included; an echo never exceeds what fits in it"),
    TEXT("priority", 0, OPT_PRIORITY, GROUP_COMMON, priority, "STRING", NULL, check_priority,
         "GnuTLS priority string; it must enable DTLS (default " TLS_DEFAULT_PRIORITY ", "
         "plus the key exchanges of the mode below)"),
    TEXT("psk-identity", 0, OPT_PSK_IDENTITY, GROUP_COMMON, psk_identity, "ID", NULL,
         not_empty, "PSK identity (client: the one to send; server: the only one accepted), "
         "with --psk-key"),
    TEXT("psk-key", 0, OPT_PSK_KEY, GROUP_COMMON, psk_key, "HEX", NULL, check_psk_key,
         "PSK key in hex"),
    TEXT("pskfile", 0, OPT_PSKFILE, GROUP_COMMON, pskfile, "FILE", NULL, NULL,
         "PSK identities in psktool's format (identity:hexkey per line); the server looks "
         "the client's identity up, the client uses --psk-identity's line, or the first"),
    FLAG("anon", 0, OPT_ANON, GROUP_COMMON, anon,
         "anonymous key exchange: NOTHING is authenticated (warns)"),
    {"tun", 0, OPT_TUN, GROUP_COMMON, 1, FIELD_FLAG, FIELD(tun), NULL, 0, 0, 0, NULL, NULL,
     "VPN tunnel (Linux only; needs CAP_NET_ADMIN): the server gives each client that asks its own "
     "TUN interface and addresses from --tun-net and --tun-net6 (others still get echoes); "
     "the client asks, configures the interface it gets and carries IP packets until "
     "stopped, reconnecting when the server goes silent"},
    NUMBER("keepalive", 0, OPT_KEEPALIVE, GROUP_COMMON, keepalive_s, "S", 0, 3600,
           DEFAULT_KEEPALIVE_S, "with --tun: a DTLS heartbeat after S seconds without a "
           "word from the peer; 3 unanswered mean it is gone (0: off)"),
    FLAG("no-offload", 0, OPT_NO_OFFLOAD, GROUP_COMMON, no_offload,
         "with --tun: no segmentation offloads (by default the TUN device hands over and "
         "takes 64 KiB TCP super-segments, and records leave and arrive many to a system "
         "call with UDP_SEGMENT and UDP_GRO, wherever the kernel has them)"),
    TEXT("user", 0, OPT_USER, GROUP_COMMON, user, "NAME", NULL, not_empty,
         "after set-up, run as this user (with --tun keeping CAP_NET_ADMIN and no other "
         "capability)"),
    TEXT("genkey", 0, OPT_GENKEY, GROUP_COMMON, genkey, "FILE", NULL, not_empty,
         "write a fresh random key (128 hex digits) to FILE, mode 0600 (a file there is "
         "replaced at once, a symbolic link refused), or to stdout for -, for "
         "--cookie-key-file or --ticket-key-file, and exit"),
    TEXT("keylogfile", 0, OPT_KEYLOGFILE, GROUP_COMMON, keylogfile, "FILE", NULL, not_empty,
         "append every session's secrets, resumed ones too, to FILE (made mode 0600; one "
         "that group or others may read is refused), in the NSS key log format Wireshark "
         "decrypts with, as the SSLKEYLOGFILE variable does"),
    TEXT("alpn", 0, OPT_ALPN, GROUP_COMMON, alpn, "PROTO[,PROTO]", NULL, check_alpn,
         "ALPN (RFC 7301): the client offers these protocols in order; the server accepts "
         "these, and refuses a client that offers only others (no_application_protocol); "
         "-v prints the one agreed"),
    TEXT("srtp-profiles", 0, OPT_SRTP_PROFILES, GROUP_COMMON, srtp_profiles,
         "PROFILE[:PROFILE]", NULL, check_srtp,
         "DTLS-SRTP (RFC 5764), as WebRTC media uses it: offer or accept these profiles "
         "in order of preference (SRTP_AES128_CM_HMAC_SHA1_80, SRTP_AES128_CM_HMAC_SHA1_32, "
         "SRTP_NULL_HMAC_SHA1_80, SRTP_NULL_SHA1_32: those libgnutls 3.7 knows); -v prints the "
         "profile agreed and its keying material (EXTRACTOR-dtls_srtp) in hex"),
    {"trace", 0, OPT_TRACE, GROUP_COMMON, 1, FIELD_FLAG, FIELD(trace), NULL, 0, 0, 0, NULL, NULL,
         "print the handshake as it happens on stderr: a line per datagram and per "
         "handshake message in it, with the time, direction, type, length, fragment, epoch "
         "and sequence numbers; cookie exchanges and retransmissions marked"},
    {"verbose", 'v', 'v', GROUP_COMMON, 0, FIELD_FLAG, NO_FIELD, NULL, 0, 0, 0, NULL, NULL,
     "more logging (-v: the negotiated session); -vv more; -vvv adds GnuTLS's own log"},
    {"quiet", 'q', 'q', GROUP_COMMON, 0, FIELD_FLAG, NO_FIELD, NULL, 0, 0, 0, NULL, NULL,
     "print errors only"},
    {"help", 'h', 'h', GROUP_COMMON, 0, FIELD_FLAG, NO_FIELD, NULL, 0, 0, 0, NULL, NULL,
     "print this help and exit"},
    {"version", 'V', 'V', GROUP_COMMON, 0, FIELD_FLAG, NO_FIELD, NULL, 0, 0, 0, NULL, NULL,
     "print the version and the GnuTLS version and exit"},

    {"message", 'm', 'm', GROUP_CLIENT, 1, FIELD_TEXT, FIELD(message), "TEXT", 0, 0, 0, NULL,
     not_empty, "message to send (default: send each line of stdin and print each echo, "
                "like netcat)"},
    {"count", 'n', 'n', GROUP_CLIENT, 0, FIELD_ULONG, FIELD(count), "N", 1, 1000000000,
     DEFAULT_COUNT, NULL, NULL, "times to send --message"},
    TEXT("hostname", 0, OPT_HOSTNAME, GROUP_CLIENT, hostname, "NAME", NULL, check_hostname,
         "name to verify in the server certificate and send as SNI (default: the -a "
         "address)"),
    TEXT("sni", 0, OPT_SNI, GROUP_CLIENT, sni, "NAME", NULL, check_hostname,
         "server name to send (SNI), apart from the name verified (default: the --hostname "
         "or host, when it is a DNS name)"),
    FLAG("no-sni", 0, OPT_NO_SNI, GROUP_CLIENT, no_sni, "send no server name (SNI)"),
    {"print-cert", 0, OPT_PRINT_CERT, GROUP_CLIENT, 1, FIELD_FLAG, FIELD(print_cert), NULL, 0,
     0, 0, NULL, NULL, "print the server's certificate chain on stdout after the handshake, each "
         "certificate as a one-line summary (subject, issuer, key, validity, "
         "pin-sha256) and PEM, as openssl s_client -showcerts does"},
    FLAG("insecure", 0, OPT_INSECURE, GROUP_CLIENT, insecure,
         "do not verify the server certificate (warns every run)"),
    NUMBER("timeout", 0, OPT_TIMEOUT, GROUP_CLIENT, timeout_ms, "MS", 10, 3600000,
           DEFAULT_TIMEOUT_MS, "the longest wait for one echo or pong, in ms (resends come "
           "sooner, after a timeout measured from the round trip and doubled on each "
           "resend); in a handshake, the first retransmission timeout, and 8 of them the "
           "length of one attempt before a fresh one"),
    NUMBER("retries", 0, OPT_RETRIES, GROUP_CLIENT, retries, "N", 0, 100, DEFAULT_RETRIES,
           "resends of an unanswered message or heartbeat; fresh handshakes after a stalled "
           "one (at most 3 when the server never answered), within --connect-timeout"),
    {"connect-timeout", 0, OPT_CONNECT_TIMEOUT, GROUP_CLIENT, 1, FIELD_UINT,
     FIELD(connect_timeout_s), "S", 1, 3600, DEFAULT_CONNECT_TIMEOUT_S, NULL, NULL,
     "the longest the whole handshake phase may take, in seconds: every fresh handshake "
     "and every address of the host included (each reconnection gets its own)"},
    TEXT("pin-pubkey", 0, OPT_PIN_PUBKEY, GROUP_CLIENT, pin_pubkey, "PIN", NULL, check_pin,
         "trust exactly this server key instead of a CA: a PEM public key or certificate "
         "file, sha256:HEX of the key, or sha256//BASE64 as curl and --print-cert write "
         "it (works with X.509 and raw public keys)"),
    {"heartbeat", 0, OPT_HEARTBEAT, GROUP_CLIENT, 1, FIELD_UINT, FIELD(heartbeat_s), "S", 1,
     3600, 0, NULL, NULL, "send a DTLS heartbeat ping (RFC 6520) after the handshake and "
                          "every S seconds of idle stdin; off by default"},
    {"resume", 0, OPT_RESUME, GROUP_CLIENT, 1, FIELD_FLAG, FIELD(resume), NULL, 0, 0, 0, NULL,
     NULL, "full handshake, close, then resume the session; needs -m"},

    {"session-out", 0, OPT_SESSION_OUT, GROUP_CLIENT, 1, FIELD_TEXT, FIELD(session_out),
     "FILE", 0, 0, 0, NULL, not_empty, "after the handshake, save the session to FILE (mode "
     "0600) for --session-in, as openssl s_client -sess_out"},
    {"session-in", 0, OPT_SESSION_IN, GROUP_CLIENT, 1, FIELD_TEXT, FIELD(session_in), "FILE",
     0, 0, 0, NULL, not_empty, "resume the session saved in FILE, with any server that holds "
     "its ticket key (a full handshake when it cannot); says which it was"},
    {"reconnect", 0, OPT_RECONNECT, GROUP_CLIENT, 1, FIELD_UINT, FIELD(reconnect), "N", 0,
     1000, 0, NULL, NULL, "when the session dies (the server gone, closed or silent), start "
                          "a new one, resuming where the server can, up to N times, after "
                          "0.5 s doubling to 8 s; the message or line whose echo had not "
                          "come back is sent again on it, and every echo is checked once"},
    {"route", 0, OPT_ROUTE, GROUP_CLIENT, 1, FIELD_LIST, FIELD(routes), "CIDR", 0, 0, 0, NULL,
     check_network, "with --tun: route this network through the tunnel (repeatable; the "
                    "tunnel's own network is always routed)"},

    NUMBER("clients", 0, OPT_CLIENTS, GROUP_CLIENT, clients, "N", 1, 100000, 0,
           "run the load generator: N concurrent sessions, each sending -n numbered echoes "
           "and checking every one; report handshakes/s, handshake latency, echo round trips, "
           "echoes/s, MB/s and failures by kind; -n then has no limit with --duration"),
    NUMBER("size", 0, OPT_SIZE, GROUP_LOAD, size, "BYTES", LOAD_MIN_SIZE, LOAD_MAX_SIZE,
           DEFAULT_LOAD_SIZE, "bytes per echo"),
    NUMBER("window", 0, OPT_WINDOW, GROUP_LOAD, window, "W", 1, 256, 1,
           "echoes in flight per session"),
    NUMBER("rate", 0, OPT_RATE, GROUP_LOAD, rate, "R", 1, 1000000, 0,
           "start R new sessions per second; all at once by default"),
    NUMBER("duration", 0, OPT_DURATION, GROUP_LOAD, duration_s, "S", 1, 86400, 0,
           "stop after S seconds at the latest (echoes then in flight are not counted)"),
    NUMBER("interval", 0, OPT_INTERVAL, GROUP_LOAD, interval_ms, "MS", 1, 3600000, 0,
           "send each session's echoes at least MS apart (many mostly idle sessions)"),
    FLAG("handshakes-only", 0, OPT_HANDSHAKES_ONLY, GROUP_LOAD, handshakes_only,
         "each session does -n handshakes one after another and sends no echoes"),
    NUMBER("threads", 0, OPT_THREADS, GROUP_LOAD, threads, "T", 1, 256, 0,
           "worker threads; one per CPU by default"),
    FLAG("plain", 0, OPT_PLAIN, GROUP_LOAD, plain,
         "plain UDP, no DTLS: the baseline, against a UDP echo server"),
    FLAG("json", 0, OPT_JSON, GROUP_CLIENT, json,
         "print one JSON object on stdout and nothing else there: with --clients the load "
         "summary; else, with -m, the session (version, suite, group, verification, "
         "resumption, ALPN, SRTP), the echoes and their round trips, the timings and the "
         "exit code"),

    FLAG("require-client-cert", 0, OPT_REQUIRE_CLIENT_CERT, GROUP_SERVER, require_client_cert,
         "ask every client for a certificate, verified against --cafile and --crlfile"),
    NUMBER("max-clients", 0, OPT_MAX_CLIENTS, GROUP_SERVER, max_clients, "N", 1, 100000,
           DEFAULT_MAX_CLIENTS, "sessions served at once"),
    NUMBER("max-handshakes", 0, OPT_MAX_HANDSHAKES, GROUP_SERVER, max_handshakes, "N", 0,
           100000, 0, "sessions still handshaking at once, in all: a flood of cookie-valid "
           "ClientHellos that never finish holds no more slots (0: --max-clients)"),
    NUMBER("max-handshakes-per-source", 0, OPT_MAX_HANDSHAKES_PER_SOURCE, GROUP_SERVER,
           max_handshakes_per_source, "N", 0, 100000, 0, "sessions still handshaking at once "
           "from one address, any port (0: half of --max-clients; behind a proxy such as "
           "nginx every client has its address: give --max-clients)"),
    NUMBER("idle-timeout", 0, OPT_IDLE_TIMEOUT, GROUP_SERVER, idle_timeout_s, "S", 1, 86400,
           DEFAULT_IDLE_TIMEOUT_S, "end a session idle this long, in seconds"),
    NUMBER("handshake-timeout", 0, OPT_HANDSHAKE_TIMEOUT, GROUP_SERVER, handshake_timeout_s,
           "S", 1, 3600, DEFAULT_HANDSHAKE_TIMEOUT_S,
           "end a handshake not done by then, in seconds"),
    NUMBER("cookie-rotate", 0, OPT_COOKIE_ROTATE, GROUP_SERVER, cookie_rotate_s, "S", 1, 86400,
           DEFAULT_COOKIE_ROTATE_S, "new cookie key every S seconds; the previous key stays "
           "valid for one more period (with --cookie-key-file: how long the previous key "
           "stays valid after SIGHUP)"),
    TEXT("rawpk-key", 0, OPT_RAWPK_KEY, GROUP_SERVER, rawpk_key, "FILE", NULL, NULL,
         "present a raw public key (RFC 7250) instead of a certificate: its private key, "
         "PEM, with --rawpk-pub"),
    TEXT("rawpk-pub", 0, OPT_RAWPK_PUB, GROUP_SERVER, rawpk_pub, "FILE", NULL, NULL,
         "that raw public key, PEM"),
    TEXT("cookie-key-file", 0, OPT_COOKIE_KEY_FILE, GROUP_SERVER, cookie_key_file, "FILE",
         NULL, NULL, "the cookie key, from a file of mode 0600 (--genkey): replicas given "
                     "the same file accept each other's cookies; not rotated, but read again "
                     "on SIGHUP (the previous key then stays valid for --cookie-rotate)"),
    TEXT("ticket-key-file", 0, OPT_TICKET_KEY_FILE, GROUP_SERVER, ticket_key_file, "FILE",
         NULL, NULL, "the session ticket key, from a file of mode 0600 (--genkey): a "
                     "session started on one replica resumes on another with the same file; "
                     "read again on SIGHUP"),
    TEXT("workers", 0, OPT_WORKERS, GROUP_SERVER, workers_text, "N|auto", "1", check_workers,
         "worker processes (Linux only), each a whole server on its own socket of one "
         "SO_REUSEPORT group (1-" MAX_WORKERS_TEXT "; auto: one per CPU); a parent starts "
         "them, restarts one that dies and stops them all; --max-clients counts per worker"),
    FLAG("session-log", 0, OPT_SESSION_LOG, GROUP_SERVER, session_log,
         "for services: in place of the transcript (every record printed), two lines per "
         "session on stderr, never a payload: when it starts (peer, identity, version and "
         "suite, new or resumed) and when it ends (duration, records and bytes each way, "
         "why); every log line starts with the time (UTC), unless stderr is the journal"),
    FLAG("check", 't', 't', GROUP_SERVER, check,
         "check the configuration and exit, as nginx -t does: the options, the certificate "
         "and key, CA, CRL, PSK file, raw keys and the key files are read as a start would "
         "read them; 0 and 'configuration OK', or 2 and the reason (for ExecReload before "
         "the signal)"),
    FLAG("one-socket", 0, OPT_ONE_SOCKET, GROUP_SERVER, one_socket,
         "one socket for every client: the listener reads every datagram and hands a "
         "served peer's to its session, which answers with sendto on the same socket "
         "(default: each session has a socket of its own, connected to its peer; Windows "
         "always runs one socket)"),
    TEXT("tun-net", 0, OPT_TUN_NET, GROUP_SERVER, tun_net, "CIDR", DEFAULT_TUN_NET,
         check_ipv4_network, "with --tun: the tunnel's IPv4 network; the server takes its first "
         "address, each client the next free one"),
    TEXT("tun-net6", 0, OPT_TUN_NET6, GROUP_SERVER, tun_net6, "CIDR", DEFAULT_TUN_NET6,
         check_ipv6_network, "with --tun: the tunnel's IPv6 network, or none"),
    NUMBER("lease-time", 0, OPT_LEASE_TIME, GROUP_SERVER, lease_time_s, "S", 1, 604800,
           DEFAULT_LEASE_TIME_S, "with --tun: a client's addresses stay its own for S seconds "
           "after its session ends (its identity: PSK identity, certificate subject, raw key; "
           "an anonymous client's token)"),
};

const size_t option_table_count = sizeof(option_table) / sizeof(option_table[0]);
_Static_assert(sizeof(option_table) / sizeof(option_table[0]) <= OPTION_COUNT_MAX,
               "the parser's getopt tables hold OPTION_COUNT_MAX options");

size_t options_count(void)
{
    return option_table_count;
}

int options_number(size_t index, const struct config *cfg, const char **name,
                   unsigned long *value, unsigned long *min, unsigned long *max,
                   unsigned long *fallback)
{
    const struct option_spec *spec = &option_table[index];
    const char *field;

    if (spec->offset == NO_FIELD || (spec->type != FIELD_UINT && spec->type != FIELD_ULONG))
        return 0;
    field = (const char *)cfg + spec->offset;
    *name = spec->name;
    *value = spec->type == FIELD_UINT ? *(const unsigned *)field : *(const unsigned long *)field;
    *min = spec->min;
    *max = spec->max;
    *fallback = spec->default_number;
    return 1;
}

/* Parses text as a decimal in [min, max] into *out. Returns 0, or -1 with a reason. */
int options_parse_number(const char *name, const char *text, unsigned long min,
                        unsigned long max, unsigned long *out, char *err, size_t err_size)
{
    char *end;
    unsigned long value;

    /* strtoul accepts "-1" and wraps it; a leading sign is never a valid value here. */
    if (text[0] == '\0' || text[0] == '-' || text[0] == '+' || isspace((unsigned char)text[0]))
        return errorf(err, err_size, "--%s: '%s' is not a number from %lu to %lu", name, text,
                      min, max);
    errno = 0;
    value = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < min || value > max)
        return errorf(err, err_size, "--%s: '%s' is not a number from %lu to %lu", name, text,
                      min, max);
    *out = value;
    return 0;
}
