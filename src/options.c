/* SPDX-License-Identifier: MIT */
/* options.c - the command line: one table of options, from which come getopt_long's
 * table, the side and mode checks, the range checks, the defaults and --help (and the
 * fuzzer's dictionary). Every value is range-checked with strtoul and an end pointer
 * (never atoi), and every conflict is named in the error, as OpenBSD nc does. Nothing here
 * prints except --help and the dictionary. */
#define _GNU_SOURCE
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lease.h"
#include "log.h"
#include "session.h"

enum option_id {
    OPT_CAFILE = 256,
    OPT_CRLFILE,
    OPT_CERT,
    OPT_KEY,
    OPT_HOSTNAME,
    OPT_INSECURE,
    OPT_REQUIRE_CLIENT_CERT,
    OPT_MTU,
    OPT_TIMEOUT,
    OPT_CONNECT_TIMEOUT,
    OPT_RETRIES,
    OPT_MAX_CLIENTS,
    OPT_IDLE_TIMEOUT,
    OPT_HANDSHAKE_TIMEOUT,
    OPT_PRIORITY,
    OPT_PSK_IDENTITY,
    OPT_PSK_KEY,
    OPT_PSKFILE,
    OPT_RAWPK_KEY,
    OPT_RAWPK_PUB,
    OPT_PIN_PUBKEY,
    OPT_ANON,
    OPT_HEARTBEAT,
    OPT_RESUME,
    OPT_COOKIE_ROTATE,
    OPT_CLIENTS,
    OPT_SIZE,
    OPT_WINDOW,
    OPT_RATE,
    OPT_DURATION,
    OPT_INTERVAL,
    OPT_THREADS,
    OPT_HANDSHAKES_ONLY,
    OPT_PLAIN,
    OPT_JSON,
    OPT_TUN,
    OPT_TUN_NET,
    OPT_TUN_NET6,
    OPT_ROUTE,
    OPT_KEEPALIVE,
    OPT_LEASE_TIME,
    OPT_USER,
    OPT_GENKEY,
    OPT_COOKIE_KEY_FILE,
    OPT_TICKET_KEY_FILE,
    OPT_SESSION_OUT,
    OPT_SESSION_IN,
    OPT_RECONNECT,
    OPT_WORKERS,
    OPT_KEYLOGFILE,
    OPT_SNI,
    OPT_NO_SNI,
    OPT_PRINT_CERT,
    OPT_ALPN,
    OPT_SRTP_PROFILES,
    OPT_TRACE,
    OPT_ID_END,
};

#define SEEN_SLOTS OPT_ID_END
#define MAX_HOSTNAME 253 /* RFC 1035: the longest DNS name, as text */
#define NO_FIELD ((size_t)-1)

/* Checks a text value; returns 0, or -1 with a reason naming the option. */
typedef int text_check(const char *name, const char *value, char *err, size_t err_size);

struct option_spec {
    const char *name;          /* long name, without "--" */
    int short_name;            /* 0: none */
    int id;                    /* short_name, or an enum option_id */
    enum option_group group;   /* where --help lists it, and the side it belongs to */
    int single_client;         /* not with --clients */
    enum field_type type;
    size_t offset;             /* of its field in struct config; NO_FIELD: handled apart */
    const char *arg;           /* the value's name in --help; NULL: a flag */
    unsigned long min, max;    /* FIELD_UINT and FIELD_ULONG: the range */
    unsigned long default_number;
    const char *default_text;  /* FIELD_TEXT: the default; NULL: none */
    text_check *check;
    const char *help;          /* --help: what it does; the range and default follow */
};

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

static int parse_number(const char *name, const char *text, unsigned long min,
                        unsigned long max, unsigned long *out, char *err, size_t err_size);

#define MAX_WORKERS 256

/* --workers: N, or auto (one per online CPU). Returns the count, or 0 with a reason. */
static unsigned workers_of(const char *name, const char *value, char *err, size_t err_size)
{
    unsigned long n;
    long cpus;

    if (strcmp(value, "auto") == 0) {
        cpus = sysconf(_SC_NPROCESSORS_ONLN);
        return cpus < 1 ? 1 : cpus > MAX_WORKERS ? MAX_WORKERS : (unsigned)cpus;
    }
    if (parse_number(name, value, 1, MAX_WORKERS, &n, err, err_size) < 0) {
        errorf(err, err_size, "--%s: '%s' is neither auto nor a number from 1 to %d", name,
               value, MAX_WORKERS);
        return 0;
    }
    return (unsigned)n;
}

static int check_workers(const char *name, const char *value, char *err, size_t err_size)
{
    return workers_of(name, value, err, err_size) == 0 ? -1 : 0;
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
#define TEXT(n, s, i, g, f, a, d, c, h) {n, s, i, g, 0, FIELD_TEXT, FIELD(f), a, 0, 0, 0, d, c, h}
#define NUMBER(n, s, i, g, f, a, lo, hi, d, h) \
    {n, s, i, g, 0, FIELD_UINT, FIELD(f), a, lo, hi, d, NULL, NULL, h}

static const struct option_spec option_table[] = {
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
     "VPN tunnel (needs CAP_NET_ADMIN): the server gives each client that asks its own "
     "TUN interface and addresses from --tun-net and --tun-net6 (others still get echoes); "
     "the client asks, configures the interface it gets and carries IP packets until "
     "stopped, reconnecting when the server goes silent"},
    NUMBER("keepalive", 0, OPT_KEEPALIVE, GROUP_COMMON, keepalive_s, "S", 0, 3600,
           DEFAULT_KEEPALIVE_S, "with --tun: a DTLS heartbeat after S seconds without a "
           "word from the peer; 3 unanswered mean it is gone (0: off)"),
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

    TEXT("session-out", 0, OPT_SESSION_OUT, GROUP_CLIENT, session_out, "FILE", NULL,
         not_empty, "after the handshake, save the session to FILE (mode 0600) for "
                    "--session-in, as openssl s_client -sess_out"),
    TEXT("session-in", 0, OPT_SESSION_IN, GROUP_CLIENT, session_in, "FILE", NULL, not_empty,
         "resume the session saved in FILE, with any server that holds its ticket key "
         "(a full handshake when it cannot); says which it was"),
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
         "worker processes, each a whole server on its own socket of one SO_REUSEPORT group "
         "(auto: one per CPU); a parent starts them, restarts one that dies and stops them "
         "all; --max-clients counts per worker"),
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

#define OPTION_COUNT (sizeof(option_table) / sizeof(option_table[0]))

size_t options_count(void)
{
    return OPTION_COUNT;
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
static int parse_number(const char *name, const char *text, unsigned long min,
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

/* Whether an IPv6 address without brackets ends in what reads as a port: "::1:5556" is
 * the address ::0.1.85.86, and also ::1 with port 5556. Taken as a port when the part
 * before the last colon is an address too and the last group is 2 to 5 decimal digits
 * (fe80::1:2 stays an address; nobody means port 2). */
static int ipv6_port_ambiguous(const char *text)
{
    const char *last = strrchr(text, ':') + 1;
    char prefix[INET6_ADDRSTRLEN];
    struct in6_addr addr;
    size_t digits = strlen(last);

    if (digits < 2 || digits > 5 || strspn(last, "0123456789") != digits ||
        (size_t)(last - 1 - text) >= sizeof(prefix) || inet_pton(AF_INET6, text, &addr) != 1)
        return 0;
    memcpy(prefix, text, (size_t)(last - 1 - text));
    prefix[last - 1 - text] = '\0';
    return inet_pton(AF_INET6, prefix, &addr) == 1;
}

/* The client's positional target: HOST, HOST:PORT, [IPV6] or [IPV6]:PORT, or an IPv6
 * address alone (more than one colon, no brackets). The host is copied into cfg. */
static int parse_target(const char *arg, int port_seen, struct config *cfg, char *err,
                        size_t err_size)
{
    const char *host = arg, *port = NULL, *close, *colon = strchr(arg, ':');
    size_t host_len = strlen(arg);
    unsigned long number;

    if (arg[0] == '[') {
        close = strchr(arg, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':'))
            return errorf(err, err_size, "'%s' is not HOST[:PORT] or [IPV6]:PORT", arg);
        host = arg + 1;
        host_len = (size_t)(close - host);
        port = close[1] == ':' ? close + 2 : NULL;
    } else if (colon != NULL && colon == strrchr(arg, ':')) { /* one colon: HOST:PORT */
        host_len = (size_t)(colon - arg);
        port = colon + 1;
    } else if (colon != NULL && ipv6_port_ambiguous(arg)) {
        colon = strrchr(arg, ':');
        return errorf(err, err_size, "'%s' is an IPv6 address: did you mean [%.*s]:%s? (an "
                      "IPv6 address with a port goes in brackets; [%s] is the address alone)",
                      arg, (int)(colon - arg), arg, colon + 1, arg);
    }
    if (host_len == 0 || host_len >= sizeof(cfg->host_text))
        return errorf(err, err_size, "'%s': the host %s", arg,
                      host_len == 0 ? "is empty" : "is too long");
    if (port != NULL && port_seen)
        return errorf(err, err_size, "cannot use -p with a port in '%s'", arg);
    if (port != NULL && parse_number("port", port, 1, 65535, &number, err, err_size) < 0)
        return errorf(err, err_size, "'%s': the port '%s' is not a number from 1 to 65535",
                      arg, port);
    if (port != NULL)
        cfg->port = (unsigned)number;
    memcpy(cfg->host_text, host, host_len);
    cfg->host_text[host_len] = '\0';
    cfg->address = cfg->host_text;
    return 0;
}

static const struct option_spec *spec_of(int id)
{
    size_t i;

    for (i = 0; i < OPTION_COUNT; i++)
        if (option_table[i].id == id)
            return &option_table[i];
    return NULL;
}

/* Stores value (a number's text, a text, or NULL for a flag) in spec's field. */
static int store(const struct option_spec *spec, const char *value, struct config *cfg,
                 char *err, size_t err_size)
{
    char *field = (char *)cfg + spec->offset;
    unsigned long number = 0;

    switch (spec->type) {
    case FIELD_FLAG:
        *(int *)field = 1;
        return 0;
    case FIELD_TEXT:
        if (spec->check != NULL && spec->check(spec->name, value, err, err_size) < 0)
            return -1;
        *(const char **)field = value;
        return 0;
    case FIELD_LIST: {
        struct text_list *list = (struct text_list *)field;
        if (list->count == TEXT_LIST_MAX)
            return errorf(err, err_size, "--%s: at most %d of them", spec->name, TEXT_LIST_MAX);
        if (spec->check != NULL && spec->check(spec->name, value, err, err_size) < 0)
            return -1;
        list->item[list->count++] = value;
        return 0;
    }
    case FIELD_UINT:
    case FIELD_ULONG:
        if (parse_number(spec->name, value, spec->min, spec->max, &number, err, err_size) < 0)
            return -1;
        if (spec->type == FIELD_UINT)
            *(unsigned *)field = (unsigned)number;
        else
            *(unsigned long *)field = number;
        return 0;
    }
    return -1;
}

static void set_defaults(struct config *cfg)
{
    size_t i;

    memset(cfg, 0, sizeof(*cfg));
    cfg->action = ACTION_RUN;
    cfg->log_level = LOG_INFO;
    for (i = 0; i < OPTION_COUNT; i++) {
        const struct option_spec *spec = &option_table[i];
        char *field;
        if (spec->offset == NO_FIELD)
            continue;
        field = (char *)cfg + spec->offset;
        if (spec->type == FIELD_TEXT)
            *(const char **)field = spec->default_text;
        else if (spec->type == FIELD_UINT)
            *(unsigned *)field = (unsigned)spec->default_number;
        else if (spec->type == FIELD_ULONG)
            *(unsigned long *)field = spec->default_number;
    }
}

/* getopt_long's tables, from option_table. */
static void getopt_tables(struct option *longs, char *shorts)
{
    size_t i, n = 0;

    shorts[n++] = ':'; /* a missing value is ':', not '?' */
    for (i = 0; i < OPTION_COUNT; i++) {
        const struct option_spec *spec = &option_table[i];
        longs[i].name = spec->name;
        longs[i].has_arg = spec->arg != NULL ? required_argument : no_argument;
        longs[i].flag = NULL;
        longs[i].val = spec->id;
        if (spec->short_name != 0) {
            shorts[n++] = (char)spec->short_name;
            if (spec->arg != NULL)
                shorts[n++] = ':';
        }
    }
    memset(&longs[OPTION_COUNT], 0, sizeof(longs[OPTION_COUNT]));
    shorts[n] = '\0';
}

/* Words the error for an option getopt_long did not accept: unknown, ambiguous, or a
 * value given to one that takes none ("--insecure=1"). */
static int unknown_option(const char *arg, char *err, size_t err_size)
{
    size_t name_len, i;

    if (strncmp(arg, "--", 2) != 0)
        return errorf(err, err_size, "unknown option '-%c'", isprint(optopt) ? optopt : '?');
    name_len = strcspn(arg + 2, "=");
    for (i = 0; i < OPTION_COUNT; i++)
        if (strlen(option_table[i].name) == name_len &&
            strncmp(option_table[i].name, arg + 2, name_len) == 0)
            return errorf(err, err_size, "option '--%s' takes no value", option_table[i].name);
    return errorf(err, err_size, "unknown or ambiguous option '%.*s'", (int)name_len + 2, arg);
}

/* A default file: the checkout's (certs/ in the current folder) when it is there, else the
 * system's (NULL: none) when it is there, else NULL. */
static const char *present(const char *checkout, const char *system)
{
    if (access(checkout, F_OK) == 0)
        return checkout;
    return system != NULL && access(system, F_OK) == 0 ? system : NULL;
}

/* Checks the options as a whole: sides, pairs and conflicts. */
static int validate(struct config *cfg, const unsigned char *seen, int verbose, int quiet,
                    char *err, size_t err_size)
{
    size_t i;

    for (i = 0; i < OPTION_COUNT; i++) {
        const struct option_spec *opt = &option_table[i];
        if (!seen[opt->id])
            continue;
        if ((opt->group == GROUP_CLIENT || opt->group == GROUP_LOAD) && !cfg->client_mode)
            return errorf(err, err_size, "--%s is a client option: add -c", opt->name);
        if (opt->group == GROUP_SERVER && cfg->client_mode)
            return errorf(err, err_size, "--%s is a server option: cannot use it with -c",
                          opt->name);
        if (opt->group == GROUP_LOAD && !cfg->clients)
            return errorf(err, err_size, "--%s is a load generator option: add --clients N",
                          opt->name);
        if (opt->single_client && cfg->clients)
            return errorf(err, err_size, "cannot use --%s with --clients: the load generator "
                          "sends its own numbered echoes of --size bytes", opt->name);
    }
    if (cfg->handshakes_only && (seen[OPT_SIZE] || seen[OPT_WINDOW] || seen[OPT_INTERVAL] ||
                                 cfg->plain))
        return errorf(err, err_size, "--handshakes-only sends no echoes: cannot use it with "
                                     "--size, --window, --interval or --plain");
    cfg->count_set = seen['n'];
    if (cfg->ipv4 && cfg->ipv6)
        return errorf(err, err_size, "cannot use -4 and -6 together");
    cfg->family = cfg->ipv4 ? AF_INET : cfg->ipv6 ? AF_INET6 : AF_UNSPEC;
    if (verbose && quiet)
        return errorf(err, err_size, "cannot use -v and -q together");
    if (cfg->trace && quiet)
        return errorf(err, err_size, "cannot use --trace and -q together");
    if (cfg->insecure && (seen[OPT_CAFILE] || seen[OPT_CRLFILE]))
        return errorf(err, err_size, "cannot use --insecure with --cafile or --crlfile");

    if (seen[OPT_CERT] != seen[OPT_KEY])
        return errorf(err, err_size, "--cert and --key go together: give both or neither");
    if (seen[OPT_RAWPK_KEY] != seen[OPT_RAWPK_PUB])
        return errorf(err, err_size, "--rawpk-key and --rawpk-pub go together");
    if (seen[OPT_PSK_KEY] && !seen[OPT_PSK_IDENTITY])
        return errorf(err, err_size, "--psk-key needs --psk-identity");
    if (seen[OPT_PSK_IDENTITY] && !seen[OPT_PSK_KEY] && !seen[OPT_PSKFILE])
        return errorf(err, err_size, "--psk-identity needs --psk-key or --pskfile");
    if (seen[OPT_PSK_KEY] && seen[OPT_PSKFILE])
        return errorf(err, err_size, "cannot use --psk-key with --pskfile");
    if (!cfg->client_mode && seen[OPT_PSK_IDENTITY] && seen[OPT_PSKFILE])
        return errorf(err, err_size, "the server takes --pskfile or --psk-identity, not both");
    if (cfg->anon && (seen[OPT_PSK_KEY] || seen[OPT_PSKFILE] || seen[OPT_RAWPK_KEY] ||
                      seen[OPT_PIN_PUBKEY] || seen[OPT_CERT] || cfg->require_client_cert))
        return errorf(err, err_size, "--anon authenticates nothing: it cannot be combined with "
                                     "certificates, keys, PSK or pins");
    if (seen[OPT_RAWPK_KEY] && seen[OPT_CERT])
        return errorf(err, err_size, "cannot use --rawpk-key with --cert: one server key");
    if (cfg->sni != NULL && cfg->no_sni)
        return errorf(err, err_size, "cannot use --sni with --no-sni");
    if (cfg->json && !cfg->clients && cfg->message == NULL)
        return errorf(err, err_size, "--json needs --message (or --clients): without it the "
                                     "echoes of stdin are what stdout carries");
    if (cfg->json && (cfg->print_cert || cfg->tun))
        return errorf(err, err_size, "cannot use --json with --%s: stdout holds the one JSON "
                      "object", cfg->tun ? "tun" : "print-cert");
    if (cfg->pin_pubkey && cfg->insecure)
        return errorf(err, err_size, "cannot use --pin-pubkey with --insecure");
    if (cfg->resume && cfg->message == NULL)
        return errorf(err, err_size, "--resume needs --message");
    if (!cfg->tun && (seen[OPT_TUN_NET] || seen[OPT_TUN_NET6] || seen[OPT_ROUTE] ||
                      seen[OPT_KEEPALIVE] || seen[OPT_LEASE_TIME]))
        return errorf(err, err_size, "--%s is a tunnel option: add --tun",
                      seen[OPT_TUN_NET] ? "tun-net" : seen[OPT_TUN_NET6] ? "tun-net6"
                      : seen[OPT_ROUTE] ? "route" : seen[OPT_KEEPALIVE] ? "keepalive"
                      : "lease-time");
    if (cfg->tun && seen[OPT_RECONNECT])
        return errorf(err, err_size, "cannot use --reconnect with --tun: a tunnel reconnects "
                                     "by itself, for as long as it runs");
    if (cfg->tun && seen[OPT_WORKERS])
        return errorf(err, err_size, "cannot use --workers with --tun: the tunnel's addresses "
                                     "and interfaces belong to one process");
    cfg->workers = workers_of("workers", cfg->workers_text, err, err_size);
    if (cfg->srtp_profiles != NULL && (cfg->resume || cfg->session_in || cfg->session_out))
        return errorf(err, err_size, "cannot use --srtp-profiles with --%s: this GnuTLS "
                      "cannot restore a DTLS-SRTP session (it misreads its own saved SRTP "
                      "data), so such sessions are never resumed",
                      cfg->resume ? "resume" : cfg->session_in ? "session-in" : "session-out");
    if (cfg->session_in != NULL && cfg->resume)
        return errorf(err, err_size, "cannot use --session-in with --resume");
    if (cfg->user != NULL && cfg->client_mode && !cfg->tun)
        return errorf(err, err_size, "--user goes with --tun on the client: without it, "
                                     "there is no privilege to drop");
    if (cfg->tun && cfg->client_mode && (cfg->message != NULL || cfg->resume ||
                                         cfg->heartbeat_s))
        return errorf(err, err_size, "--tun carries IP packets, not echoes: cannot use it with "
                                     "--message, --resume or --heartbeat");
    if (cfg->client_mode) {
        /* A pin, a PSK or --anon replaces the CA as the client's trust decision; else the
         * checkout's test CA, or, run from anywhere else, the system's trust store. */
        if (!seen[OPT_CAFILE] && !cfg->insecure && !cfg->pin_pubkey && !cfg->psk_identity &&
            !cfg->pskfile && !cfg->anon) {
            cfg->cafile = present(DEFAULT_CAFILE, NULL);
            cfg->system_trust = cfg->cafile == NULL;
        }
    } else {
        const char *cafile = present(DEFAULT_CAFILE, SYSTEM_CAFILE);
        if (!seen[OPT_CAFILE])
            cfg->cafile = cafile != NULL ? cafile : DEFAULT_CAFILE;
        if (!seen[OPT_CERT] && !cfg->anon && !cfg->rawpk_key && !cfg->psk_identity &&
            !cfg->pskfile) {
            /* X.509 unless another mode was asked for; with PSK, --cert adds X.509. The
             * server names both places when neither has a certificate. */
            const char *certfile = present(DEFAULT_SERVER_CERT, SYSTEM_SERVER_CERT);
            cfg->cert_not_found = certfile == NULL;
            cfg->certfile = certfile != NULL ? certfile : DEFAULT_SERVER_CERT;
            cfg->keyfile = strcmp(cfg->certfile, SYSTEM_SERVER_CERT) == 0 ? SYSTEM_SERVER_KEY
                                                                           : DEFAULT_SERVER_KEY;
        }
    }
    if (verbose)
        cfg->log_level = LOG_INFO + verbose;
    if (quiet)
        cfg->log_level = LOG_ERROR;
    return 0;
}

int options_parse(int argc, char **argv, struct config *cfg, char *err, size_t err_size)
{
    struct option longs[OPTION_COUNT + 1];
    char shorts[2 * OPTION_COUNT + 2];
    unsigned char seen[SEEN_SLOTS] = {0};
    const struct option_spec *spec;
    int verbose = 0, quiet = 0, opt;

    set_defaults(cfg);
    getopt_tables(longs, shorts);
    opterr = 0;  /* we word the errors ourselves */
    optind = 0;  /* full re-initialisation in glibc, so the parser can run more than once */
    while ((opt = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        if (opt > 0 && opt < SEEN_SLOTS)
            seen[opt] = 1;
        switch (opt) {
        case 'v':
            verbose++;
            continue;
        case 'q':
            quiet = 1;
            continue;
        case 'h':
            cfg->action = ACTION_HELP;
            return 0;
        case 'V':
            cfg->action = ACTION_VERSION;
            return 0;
        case ':':
            return errorf(err, err_size, "option '%s' needs a value", argv[optind - 1]);
        default:
            spec = spec_of(opt);
            if (spec == NULL)
                return unknown_option(argv[optind - 1], err, err_size);
            if (store(spec, optarg, cfg, err, err_size) < 0)
                return -1;
        }
    }
    if (optind < argc && (!cfg->client_mode || optind + 1 < argc))
        return errorf(err, err_size, "unexpected argument '%s'%s", argv[argc - 1],
                      cfg->client_mode ? ": the client takes one HOST[:PORT]"
                                       : " (a HOST[:PORT] goes with -c)");
    if (optind < argc) {
        if (seen['a'])
            return errorf(err, err_size, "cannot use -a with a HOST[:PORT] argument");
        if (parse_target(argv[optind], seen['p'], cfg, err, err_size) < 0)
            return -1;
        seen['a'] = 1;
    } else if (seen['a'] && parse_target(cfg->address, seen['p'], cfg, err, err_size) < 0) {
        return -1; /* -a takes HOST[:PORT] too, on either side */
    }
    if (cfg->genkey != NULL) {
        for (opt = 0; opt < SEEN_SLOTS; opt++)
            if (seen[opt] && opt != OPT_GENKEY && opt != 'q' && opt != 'v')
                return errorf(err, err_size, "--genkey writes a key and exits: it takes no "
                                             "other option");
        cfg->action = ACTION_GENKEY;
    }
    return validate(cfg, seen, verbose, quiet, err, err_size);
}

/* The client's name for the server in its certificate: --hostname, else the host. */
static const char *verify_name(const struct config *cfg)
{
    return cfg->hostname ? cfg->hostname : cfg->address ? cfg->address : "localhost";
}

void options_tls_settings(const struct config *cfg, struct tls_settings *tls)
{
    memset(tls, 0, sizeof(*tls));
    tls->server = !cfg->client_mode;
    tls->cafile = cfg->cafile;
    tls->system_trust = cfg->system_trust;
    tls->crlfile = cfg->crlfile;
    tls->certfile = cfg->certfile;
    tls->keyfile = cfg->keyfile;
    tls->rawpk_pub = cfg->rawpk_pub;
    tls->rawpk_key = cfg->rawpk_key;
    tls->pin = cfg->pin_pubkey;
    tls->pin_name = "--pin-pubkey";
    tls->psk_identity = cfg->psk_identity;
    tls->psk_key = cfg->psk_key;
    tls->pskfile = cfg->pskfile;
    tls->anon = cfg->anon;
    tls->require_client_cert = cfg->require_client_cert;
    tls->heartbeat = cfg->heartbeat_s > 0 || (cfg->tun && cfg->keepalive_s > 0);
    tls->priority = cfg->priority;
    tls->keylogfile = cfg->keylogfile;
    if (cfg->client_mode)
        tls->verify_name = verify_name(cfg);
}

const char *options_server_name(const struct config *cfg)
{
    return cfg->no_sni ? NULL : cfg->sni != NULL ? cfg->sni : verify_name(cfg);
}

/* Writes text from column `column` on, wrapped at HELP_WIDTH, each new line indented to
 * HELP_COLUMN. Returns the column it ends at. */
#define HELP_COLUMN 27
#define HELP_WIDTH 90
static size_t help_words(FILE *out, const char *text, size_t column)
{
    while (*text != '\0') {
        size_t word = strcspn(text, " ");
        if (column > HELP_COLUMN && column + 1 + word > HELP_WIDTH) {
            fprintf(out, "\n%*s", HELP_COLUMN, "");
            column = HELP_COLUMN;
        } else if (column > HELP_COLUMN) {
            fputc(' ', out);
            column++;
        }
        fwrite(text, 1, word, out);
        column += word;
        text += word;
        while (*text == ' ')
            text++;
    }
    return column;
}

/* The range, and the default where there is one: stated from the table alone ("" when
 * there is neither). */
static void option_extra(const struct option_spec *spec, char *extra, size_t size)
{
    extra[0] = '\0';
    if ((spec->type == FIELD_UINT || spec->type == FIELD_ULONG) && spec->default_number != 0)
        snprintf(extra, size, "(%lu-%lu, default %lu)", spec->min, spec->max,
                 spec->default_number);
    else if (spec->type == FIELD_UINT || spec->type == FIELD_ULONG)
        snprintf(extra, size, "(%lu-%lu)", spec->min, spec->max);
    else if (spec->type == FIELD_TEXT && spec->default_text != NULL)
        snprintf(extra, size, "(default %s)", spec->default_text);
}

static void help_option(FILE *out, const struct option_spec *spec)
{
    char left[64], extra[96] = "";
    size_t column;

    if (spec->short_name != 0)
        snprintf(left, sizeof(left), "  -%c, --%s%s%s", spec->short_name, spec->name,
                 spec->arg ? " " : "", spec->arg ? spec->arg : "");
    else
        snprintf(left, sizeof(left), "      --%s%s%s", spec->name, spec->arg ? " " : "",
                 spec->arg ? spec->arg : "");
    fputs(left, out);
    column = strlen(left);
    if (column + 2 > HELP_COLUMN) {
        fprintf(out, "\n%*s", HELP_COLUMN, "");
    } else {
        fprintf(out, "%*s", (int)(HELP_COLUMN - column), "");
    }
    column = HELP_COLUMN;
    option_extra(spec, extra, sizeof(extra));
    column = help_words(out, spec->help, column);
    if (extra[0] != '\0')
        help_words(out, extra, column);
    fputc('\n', out);
}

/* The exit codes, for --help and the man page (and the README's table, which a test
 * holds to --help's). */
static const struct {
    int code;
    const char *meaning;
} exit_codes[] = {
    {EXIT_OK, "success"},
    {EXIT_RUNTIME, "runtime error: a socket, a file, a resource, standard output; the "
                   "server closed the session; with --clients, every failure was a session "
                   "the server closed"},
    {EXIT_USAGE, "usage error: a bad option or value, a message too large for --mtu"},
    {EXIT_HANDSHAKE, "a handshake or the certificate verification failed (with --clients: "
                     "any handshake)"},
    {EXIT_TIMEOUT, "no answer: a timeout, or connection refused (nothing listens at that "
                   "port); with --clients, any echo lost or handshake timed out or refused"},
    {EXIT_MISMATCH, "an echo differed from what was sent (with --clients: any echo)"},
};
#define EXIT_CODE_COUNT (sizeof(exit_codes) / sizeof(exit_codes[0]))

/* Where --help and the man page list each group. */
static const char *const group_headings[] = {
    [GROUP_COMMON] = "Common options",
    [GROUP_CLIENT] = "Client options",
    [GROUP_LOAD] = "Load generator (client options, with --clients)",
    [GROUP_SERVER] = "Server options",
};

void options_print_help(FILE *out)
{
    size_t group, i;

    fprintf(out,
        "Usage: dtls_echo [OPTIONS]                   run the DTLS echo server\n"
        "       dtls_echo -c [OPTIONS] [HOST[:PORT]]  run the client\n"
        "       dtls_echo [-c] --tun [OPTIONS]        either end of a VPN tunnel (IP over DTLS)\n"
        "\n"
        "A DTLS 1.2 echo server (one thread per client, stateless cookie exchange) and\n"
        "client on GnuTLS. The client sends a message, or each line of stdin, and checks\n"
        "that every echo equals what it sent. With --tun the client gets a TUN interface\n"
        "and addresses from the server, which gives each such client its own interface,\n"
        "and IP packets travel as DTLS records until SIGINT or SIGTERM (\"tunnel up: IFNAME\n"
        "ADDR4 peer PEER4 mtu N\" on stderr when it is up).\n");
    for (group = GROUP_COMMON; group <= GROUP_SERVER; group++) {
        fprintf(out, "\n%s:\n", group_headings[group]);
        for (i = 0; i < OPTION_COUNT; i++)
            if (option_table[i].group == group)
                help_option(out, &option_table[i]);
        if (group == GROUP_LOAD)
            fprintf(out, "  With --clients, an echo not back within --timeout counts as lost, "
                         "and a\n  handshake not done within %d times --timeout as a handshake "
                         "timeout.\n", SESSION_HANDSHAKE_ROUNDS);
    }
    fprintf(out, "\nExit codes:\n");
    for (i = 0; i < EXIT_CODE_COUNT; i++) {
        char code[HELP_COLUMN + 1];
        snprintf(code, sizeof(code), "  %d", exit_codes[i].code);
        fprintf(out, "%s%*s", code, (int)(HELP_COLUMN - strlen(code)), "");
        help_words(out, exit_codes[i].meaning, HELP_COLUMN);
        fputc('\n', out);
    }
}

/* text for roff: backslashes and hyphens escaped, a leading dot or quote kept literal. */
static void man_text(FILE *out, const char *text)
{
    if (*text == '.' || *text == '\'')
        fputs("\\&", out);
    for (; *text != '\0'; text++) {
        if (*text == '\\')
            fputs("\\e", out);
        else if (*text == '-')
            fputs("\\-", out);
        else
            fputc(*text, out);
    }
}

void options_write_man(FILE *out)
{
    char extra[96];
    size_t group, i;

    for (group = GROUP_COMMON; group <= GROUP_SERVER; group++) {
        fputs(".SS ", out);
        man_text(out, group_headings[group]);
        fputc('\n', out);
        for (i = 0; i < OPTION_COUNT; i++) {
            const struct option_spec *spec = &option_table[i];
            if (spec->group != group)
                continue;
            fputs(".TP\n", out);
            if (spec->short_name != 0)
                fprintf(out, "\\fB\\-%c\\fR, ", spec->short_name);
            fputs("\\fB\\-\\-", out);
            man_text(out, spec->name);
            fputs("\\fR", out);
            if (spec->arg != NULL) {
                fputs(" \\fI", out);
                man_text(out, spec->arg);
                fputs("\\fR", out);
            }
            fputc('\n', out);
            man_text(out, spec->help);
            option_extra(spec, extra, sizeof(extra));
            if (extra[0] != '\0') {
                fputc(' ', out);
                man_text(out, extra);
            }
            fputc('\n', out);
        }
    }
    fputs(".SH EXIT STATUS\n", out);
    for (i = 0; i < EXIT_CODE_COUNT; i++) {
        fprintf(out, ".TP\n.B %d\n", exit_codes[i].code);
        man_text(out, exit_codes[i].meaning);
        fputc('\n', out);
    }
}

void options_write_dictionary(FILE *out)
{
    size_t i;

    fprintf(out, "# libFuzzer dictionary for fuzz_options, made from src/options.c's table by\n"
                 "# scripts/fuzz.sh: every option, and the edges of every range.\n");
    for (i = 0; i < OPTION_COUNT; i++) {
        const struct option_spec *spec = &option_table[i];
        fprintf(out, "\"--%s\"\n", spec->name);
        if (spec->short_name != 0)
            fprintf(out, "\"-%c\"\n", spec->short_name);
        if (spec->type == FIELD_UINT || spec->type == FIELD_ULONG)
            fprintf(out, "\"%lu\"\n\"%lu\"\n\"%lu\"\n", spec->min, spec->max, spec->max + 1);
    }
    fprintf(out, "\"sha256:\"\n\"NORMAL:-VERS-ALL:+VERS-DTLS1.2\"\n\"=\"\n\"-\"\n");
}
