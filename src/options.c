/* options.c - getopt_long into struct config, range checks, conflicts, --help.
 *
 * Every value is range-checked with strtoul and an end pointer (never atoi), and every
 * conflict is named in the error, as OpenBSD nc does. Nothing here prints except --help. */
#define _GNU_SOURCE
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

enum long_only_option {
    OPT_CAFILE = 256,
    OPT_CRLFILE,
    OPT_CERT,
    OPT_KEY,
    OPT_HOSTNAME,
    OPT_INSECURE,
    OPT_REQUIRE_CLIENT_CERT,
    OPT_MTU,
    OPT_TIMEOUT,
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
};

static const struct option long_options[] = {
    {"client", no_argument, NULL, 'c'},
    {"address", required_argument, NULL, 'a'},
    {"port", required_argument, NULL, 'p'},
    {"message", required_argument, NULL, 'm'},
    {"count", required_argument, NULL, 'n'},
    {"cafile", required_argument, NULL, OPT_CAFILE},
    {"crlfile", required_argument, NULL, OPT_CRLFILE},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"hostname", required_argument, NULL, OPT_HOSTNAME},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"require-client-cert", no_argument, NULL, OPT_REQUIRE_CLIENT_CERT},
    {"mtu", required_argument, NULL, OPT_MTU},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"max-clients", required_argument, NULL, OPT_MAX_CLIENTS},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    {"handshake-timeout", required_argument, NULL, OPT_HANDSHAKE_TIMEOUT},
    {"priority", required_argument, NULL, OPT_PRIORITY},
    {"psk-identity", required_argument, NULL, OPT_PSK_IDENTITY},
    {"psk-key", required_argument, NULL, OPT_PSK_KEY},
    {"pskfile", required_argument, NULL, OPT_PSKFILE},
    {"rawpk-key", required_argument, NULL, OPT_RAWPK_KEY},
    {"rawpk-pub", required_argument, NULL, OPT_RAWPK_PUB},
    {"pin-pubkey", required_argument, NULL, OPT_PIN_PUBKEY},
    {"anon", no_argument, NULL, OPT_ANON},
    {"heartbeat", required_argument, NULL, OPT_HEARTBEAT},
    {"resume", no_argument, NULL, OPT_RESUME},
    {"cookie-rotate", required_argument, NULL, OPT_COOKIE_ROTATE},
    {"clients", required_argument, NULL, OPT_CLIENTS},
    {"size", required_argument, NULL, OPT_SIZE},
    {"window", required_argument, NULL, OPT_WINDOW},
    {"rate", required_argument, NULL, OPT_RATE},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"handshakes-only", no_argument, NULL, OPT_HANDSHAKES_ONLY},
    {"plain", no_argument, NULL, OPT_PLAIN},
    {"json", no_argument, NULL, OPT_JSON},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static const char short_options[] = ":ca:p:m:n:vqhV";

/* Options that only make sense on one side; rejected on the other. */
static const struct side_option {
    int val;
    const char *name;
    int client_only;
} side_options[] = {
    {'m', "--message", 1},
    {'n', "--count", 1},
    {OPT_HOSTNAME, "--hostname", 1},
    {OPT_INSECURE, "--insecure", 1},
    {OPT_TIMEOUT, "--timeout", 1},
    {OPT_RETRIES, "--retries", 1},
    {OPT_PIN_PUBKEY, "--pin-pubkey", 1},
    {OPT_HEARTBEAT, "--heartbeat", 1},
    {OPT_RESUME, "--resume", 1},
    {OPT_CLIENTS, "--clients", 1},
    {OPT_RAWPK_KEY, "--rawpk-key", 0},
    {OPT_RAWPK_PUB, "--rawpk-pub", 0},
    {OPT_COOKIE_ROTATE, "--cookie-rotate", 0},
    {OPT_REQUIRE_CLIENT_CERT, "--require-client-cert", 0},
    {OPT_MAX_CLIENTS, "--max-clients", 0},
    {OPT_IDLE_TIMEOUT, "--idle-timeout", 0},
    {OPT_HANDSHAKE_TIMEOUT, "--handshake-timeout", 0},
};

/* Options of the load generator: they need --clients. */
static const struct load_option {
    int val;
    const char *name;
} load_options[] = {
    {OPT_SIZE, "--size"},         {OPT_WINDOW, "--window"},
    {OPT_RATE, "--rate"},         {OPT_DURATION, "--duration"},
    {OPT_INTERVAL, "--interval"}, {OPT_THREADS, "--threads"},
    {OPT_HANDSHAKES_ONLY, "--handshakes-only"},
    {OPT_PLAIN, "--plain"},       {OPT_JSON, "--json"},
};

/* Options of the single client that the load generator does not take. */
static const struct load_option single_client_options[] = {
    {'m', "--message"},
    {OPT_RESUME, "--resume"},
    {OPT_HEARTBEAT, "--heartbeat"},
};

#define SEEN_SLOTS (OPT_JSON + 1)
#define MAX_HOSTNAME 253 /* RFC 1035: the longest DNS name, as text */

/* Parses text as a decimal in [min, max] into *out. Returns 0, or -1 with a reason. */
static int parse_number(const char *name, const char *text, unsigned long min,
                        unsigned long max, unsigned long *out, char *err, size_t err_size)
{
    char *end;
    unsigned long value;

    /* strtoul accepts "-1" and wraps it; a leading sign is never a valid value here. */
    if (text[0] == '\0' || text[0] == '-' || text[0] == '+' || isspace((unsigned char)text[0]))
        return errorf(err, err_size, "%s: '%s' is not a number from %lu to %lu", name, text,
                      min, max);
    errno = 0;
    value = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < min || value > max)
        return errorf(err, err_size, "%s: '%s' is not a number from %lu to %lu", name, text,
                      min, max);
    *out = value;
    return 0;
}

/* Checks a --priority string: GnuTLS must parse it, and it must enable a DTLS version
 * (a TLS-only string starts a server that can never complete a handshake). */
static int check_priority(const char *text, char *err, size_t err_size)
{
    gnutls_priority_t priority;
    const unsigned *versions;
    const char *where = NULL;
    int rc, i, n, dtls = 0;

    rc = gnutls_priority_init2(&priority, text, &where, 0);
    if (rc < 0)
        return errorf(err, err_size, "--priority '%s': %s (at '%s')", text, gnutls_strerror(rc),
                      where ? where : "");
    n = gnutls_priority_protocol_list(priority, &versions);
    for (i = 0; i < n; i++)
        dtls |= versions[i] == GNUTLS_DTLS1_2 || versions[i] == GNUTLS_DTLS1_0 ||
                versions[i] == GNUTLS_DTLS0_9;
    gnutls_priority_deinit(priority);
    if (!dtls)
        return errorf(err, err_size, "--priority '%s' enables no DTLS version: add "
                                     "+VERS-DTLS1.2", text);
    return 0;
}

/* Returns 1 when text is a non-empty, even number of hex digits (a PSK key). */
static int is_hex_key(const char *text)
{
    size_t len = strlen(text);

    return len > 0 && len % 2 == 0 && strspn(text, "0123456789abcdefABCDEF") == len;
}

/* Words the error for an option getopt_long did not accept: unknown, ambiguous, or a
 * value given to one that takes none ("--insecure=1"). */
static int unknown_option(const char *arg, char *err, size_t err_size)
{
    const struct option *opt;
    size_t name_len;

    if (strncmp(arg, "--", 2) != 0)
        return errorf(err, err_size, "unknown option '-%c'", isprint(optopt) ? optopt : '?');
    name_len = strcspn(arg + 2, "=");
    for (opt = long_options; opt->name != NULL; opt++)
        if (strlen(opt->name) == name_len && strncmp(opt->name, arg + 2, name_len) == 0)
            return errorf(err, err_size, "option '--%s' takes no value", opt->name);
    return errorf(err, err_size, "unknown or ambiguous option '%.*s'", (int)name_len + 2, arg);
}

static void set_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->action = ACTION_RUN;
    cfg->port = DEFAULT_PORT;
    cfg->count = DEFAULT_COUNT;
    cfg->cafile = DEFAULT_CAFILE;
    cfg->mtu = DEFAULT_MTU;
    cfg->timeout_ms = DEFAULT_TIMEOUT_MS;
    cfg->retries = DEFAULT_RETRIES;
    cfg->max_clients = DEFAULT_MAX_CLIENTS;
    cfg->idle_timeout_s = DEFAULT_IDLE_TIMEOUT_S;
    cfg->handshake_timeout_s = DEFAULT_HANDSHAKE_TIMEOUT_S;
    cfg->cookie_rotate_s = DEFAULT_COOKIE_ROTATE_S;
    cfg->size = DEFAULT_LOAD_SIZE;
    cfg->window = 1;
    cfg->log_level = LOG_INFO;
}

/* Checks the options as a whole: sides, pairs and conflicts. */
static int validate(struct config *cfg, const unsigned char *seen, int verbose, int quiet,
                    char *err, size_t err_size)
{
    size_t i;

    for (i = 0; i < sizeof(side_options) / sizeof(side_options[0]); i++) {
        const struct side_option *opt = &side_options[i];
        if (seen[opt->val] && opt->client_only && !cfg->client_mode)
            return errorf(err, err_size, "%s is a client option: add -c", opt->name);
        if (seen[opt->val] && !opt->client_only && cfg->client_mode)
            return errorf(err, err_size, "%s is a server option: cannot use it with -c",
                          opt->name);
    }
    for (i = 0; i < sizeof(load_options) / sizeof(load_options[0]); i++)
        if (seen[load_options[i].val] && !cfg->clients)
            return errorf(err, err_size, "%s is a load generator option: add --clients N",
                          load_options[i].name);
    for (i = 0; cfg->clients && i < sizeof(single_client_options) /
                                     sizeof(single_client_options[0]); i++)
        if (seen[single_client_options[i].val])
            return errorf(err, err_size, "cannot use %s with --clients: the load generator "
                          "sends its own numbered echoes of --size bytes",
                          single_client_options[i].name);
    if (cfg->handshakes_only && (seen[OPT_SIZE] || seen[OPT_WINDOW] || seen[OPT_INTERVAL] ||
                                 cfg->plain))
        return errorf(err, err_size, "--handshakes-only sends no echoes: cannot use it with "
                                     "--size, --window, --interval or --plain");
    cfg->count_set = seen['n'];
    if (verbose && quiet)
        return errorf(err, err_size, "cannot use -v and -q together");
    if (cfg->message && cfg->message[0] == '\0')
        return errorf(err, err_size, "--message: the message must not be empty");
    if (cfg->insecure && (seen[OPT_CAFILE] || seen[OPT_CRLFILE]))
        return errorf(err, err_size, "cannot use --insecure with --cafile or --crlfile");
    if (cfg->hostname && cfg->hostname[0] == '\0')
        return errorf(err, err_size, "--hostname: the name must not be empty");
    if (cfg->hostname && strlen(cfg->hostname) > MAX_HOSTNAME)
        return errorf(err, err_size, "--hostname: %zu characters; a DNS name has at most %d",
                      strlen(cfg->hostname), MAX_HOSTNAME);

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
    if (cfg->pin_pubkey && cfg->insecure)
        return errorf(err, err_size, "cannot use --pin-pubkey with --insecure");
    if (cfg->resume && cfg->message == NULL)
        return errorf(err, err_size, "--resume needs --message");
    if (cfg->client_mode) {
        if (cfg->insecure)
            cfg->cafile = NULL;
        /* A pin, a PSK or --anon replaces the CA as the client's trust decision. */
        if (cfg->pin_pubkey || cfg->psk_identity || cfg->pskfile || cfg->anon)
            cfg->cafile = seen[OPT_CAFILE] ? cfg->cafile : NULL;
    } else if (!seen[OPT_CERT] && !cfg->anon && !cfg->rawpk_key && !cfg->psk_identity &&
               !cfg->pskfile) {
        /* X.509 unless another mode was asked for; with PSK, --cert adds X.509. */
        cfg->certfile = DEFAULT_SERVER_CERT;
        cfg->keyfile = DEFAULT_SERVER_KEY;
    }
    if (verbose)
        cfg->log_level = LOG_INFO + verbose;
    if (quiet)
        cfg->log_level = LOG_ERROR;
    return 0;
}

int options_parse(int argc, char **argv, struct config *cfg, char *err, size_t err_size)
{
    unsigned char seen[SEEN_SLOTS] = {0};
    unsigned long number;
    int verbose = 0, quiet = 0, opt;

    set_defaults(cfg);
    opterr = 0;  /* we word the errors ourselves */
    optind = 0;  /* full re-initialisation in glibc, so the parser can run more than once */
    while ((opt = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
        if (opt > 0 && opt < SEEN_SLOTS)
            seen[opt] = 1;
        switch (opt) {
        case 'c':
            cfg->client_mode = 1;
            break;
        case 'a':
            if (optarg[0] == '\0')
                return errorf(err, err_size, "--address: the address must not be empty");
            cfg->address = optarg;
            break;
        case 'p':
            if (parse_number("--port", optarg, 1, 65535, &number, err, err_size) < 0)
                return -1;
            cfg->port = (unsigned)number;
            break;
        case 'm':
            cfg->message = optarg;
            break;
        case 'n':
            if (parse_number("--count", optarg, 1, 1000000000, &number, err, err_size) < 0)
                return -1;
            cfg->count = number;
            break;
        case OPT_CAFILE:
            cfg->cafile = optarg;
            break;
        case OPT_CRLFILE:
            cfg->crlfile = optarg;
            break;
        case OPT_CERT:
            cfg->certfile = optarg;
            break;
        case OPT_KEY:
            cfg->keyfile = optarg;
            break;
        case OPT_HOSTNAME:
            cfg->hostname = optarg;
            break;
        case OPT_INSECURE:
            cfg->insecure = 1;
            break;
        case OPT_REQUIRE_CLIENT_CERT:
            cfg->require_client_cert = 1;
            break;
        case OPT_MTU:
            if (parse_number("--mtu", optarg, 256, 65535, &number, err, err_size) < 0)
                return -1;
            cfg->mtu = (unsigned)number;
            break;
        case OPT_TIMEOUT:
            if (parse_number("--timeout", optarg, 10, 3600000, &number, err, err_size) < 0)
                return -1;
            cfg->timeout_ms = (unsigned)number;
            break;
        case OPT_RETRIES:
            if (parse_number("--retries", optarg, 0, 100, &number, err, err_size) < 0)
                return -1;
            cfg->retries = (unsigned)number;
            break;
        case OPT_MAX_CLIENTS:
            if (parse_number("--max-clients", optarg, 1, 100000, &number, err, err_size) < 0)
                return -1;
            cfg->max_clients = (unsigned)number;
            break;
        case OPT_IDLE_TIMEOUT:
            if (parse_number("--idle-timeout", optarg, 1, 86400, &number, err, err_size) < 0)
                return -1;
            cfg->idle_timeout_s = (unsigned)number;
            break;
        case OPT_HANDSHAKE_TIMEOUT:
            if (parse_number("--handshake-timeout", optarg, 1, 3600, &number, err,
                             err_size) < 0)
                return -1;
            cfg->handshake_timeout_s = (unsigned)number;
            break;
        case OPT_PRIORITY:
            if (check_priority(optarg, err, err_size) < 0)
                return -1;
            cfg->priority = optarg;
            break;
        case OPT_PSK_IDENTITY:
            if (optarg[0] == '\0')
                return errorf(err, err_size, "--psk-identity must not be empty");
            cfg->psk_identity = optarg;
            break;
        case OPT_PSK_KEY:
            if (!is_hex_key(optarg))
                return errorf(err, err_size, "--psk-key: '%s' is not an even number of hex digits",
                              optarg);
            cfg->psk_key = optarg;
            break;
        case OPT_PSKFILE:
            cfg->pskfile = optarg;
            break;
        case OPT_RAWPK_KEY:
            cfg->rawpk_key = optarg;
            break;
        case OPT_RAWPK_PUB:
            cfg->rawpk_pub = optarg;
            break;
        case OPT_PIN_PUBKEY:
            cfg->pin_pubkey = optarg;
            break;
        case OPT_ANON:
            cfg->anon = 1;
            break;
        case OPT_HEARTBEAT:
            if (parse_number("--heartbeat", optarg, 1, 3600, &number, err, err_size) < 0)
                return -1;
            cfg->heartbeat_s = (unsigned)number;
            break;
        case OPT_RESUME:
            cfg->resume = 1;
            break;
        case OPT_COOKIE_ROTATE:
            if (parse_number("--cookie-rotate", optarg, 1, 86400, &number, err, err_size) < 0)
                return -1;
            cfg->cookie_rotate_s = (unsigned)number;
            break;
        case OPT_CLIENTS:
            if (parse_number("--clients", optarg, 1, 100000, &number, err, err_size) < 0)
                return -1;
            cfg->clients = (unsigned)number;
            break;
        case OPT_SIZE:
            if (parse_number("--size", optarg, LOAD_MIN_SIZE, LOAD_MAX_SIZE, &number, err,
                             err_size) < 0)
                return -1;
            cfg->size = (unsigned)number;
            break;
        case OPT_WINDOW:
            if (parse_number("--window", optarg, 1, 256, &number, err, err_size) < 0)
                return -1;
            cfg->window = (unsigned)number;
            break;
        case OPT_RATE:
            if (parse_number("--rate", optarg, 1, 1000000, &number, err, err_size) < 0)
                return -1;
            cfg->rate = (unsigned)number;
            break;
        case OPT_DURATION:
            if (parse_number("--duration", optarg, 1, 86400, &number, err, err_size) < 0)
                return -1;
            cfg->duration_s = (unsigned)number;
            break;
        case OPT_INTERVAL:
            if (parse_number("--interval", optarg, 1, 3600000, &number, err, err_size) < 0)
                return -1;
            cfg->interval_ms = (unsigned)number;
            break;
        case OPT_THREADS:
            if (parse_number("--threads", optarg, 1, 256, &number, err, err_size) < 0)
                return -1;
            cfg->threads = (unsigned)number;
            break;
        case OPT_HANDSHAKES_ONLY:
            cfg->handshakes_only = 1;
            break;
        case OPT_PLAIN:
            cfg->plain = 1;
            break;
        case OPT_JSON:
            cfg->json = 1;
            break;
        case 'v':
            verbose++;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            cfg->action = ACTION_HELP;
            return 0;
        case 'V':
            cfg->action = ACTION_VERSION;
            return 0;
        case ':':
            return errorf(err, err_size, "option '%s' needs a value", argv[optind - 1]);
        default:
            return unknown_option(argv[optind - 1], err, err_size);
        }
    }
    if (optind < argc)
        return errorf(err, err_size, "unexpected argument '%s'", argv[optind]);
    return validate(cfg, seen, verbose, quiet, err, err_size);
}

void options_print_help(FILE *out)
{
    fprintf(out,
        "Usage: dtls_echo [OPTIONS]             run the DTLS echo server\n"
        "       dtls_echo -c [OPTIONS]          run the client\n"
        "\n"
        "A DTLS 1.2 echo server (one thread per client, stateless cookie exchange) and\n"
        "client on GnuTLS. The client sends a message, or each line of stdin, and checks\n"
        "that every echo equals what it sent.\n"
        "\n"
        "Common options:\n"
        "  -c, --client             client mode (default: server)\n"
        "  -a, --address HOST       client: server to reach (default localhost);\n"
        "                           server: address to bind (default every IPv6 and IPv4 address)\n"
        "  -p, --port PORT          UDP port, 1-65535 (default %d)\n"
        "      --cafile FILE        trusted CA certificates, PEM (default %s)\n"
        "      --crlfile FILE       certificate revocation list, PEM (default none)\n"
        "      --cert FILE          own certificate chain, PEM (server default %s;\n"
        "                           client default none)\n"
        "      --key FILE           private key of --cert, PEM (server default %s)\n"
        "      --mtu BYTES          path MTU, IP and UDP headers included, 256-65535\n"
        "                           (default %d); an echo never exceeds what fits in it\n"
        "      --priority STRING    GnuTLS priority string (default %s,\n"
        "                           plus the key exchanges of the mode below)\n"
        "      --psk-identity ID    PSK identity (client: the one to send; server: the\n"
        "                           only one accepted), with --psk-key\n"
        "      --psk-key HEX        PSK key in hex\n"
        "      --pskfile FILE       PSK identities in psktool's format (identity:hexkey per\n"
        "                           line); the server looks the client's identity up, the\n"
        "                           client uses --psk-identity's line, or the first\n"
        "      --anon               anonymous key exchange: NOTHING is authenticated (warns)\n"
        "  -v, --verbose            more logging (-v: the negotiated session); -vv more;\n"
        "                           -vvv adds GnuTLS's own log\n"
        "  -q, --quiet              print errors only\n"
        "  -h, --help               print this help and exit\n"
        "  -V, --version            print the version and the GnuTLS version and exit\n"
        "\n"
        "Client options:\n"
        "  -m, --message TEXT       message to send (default: send each line of stdin and\n"
        "                           print each echo, like netcat)\n"
        "  -n, --count N            times to send --message (default %d)\n"
        "      --hostname NAME      name to verify in the server certificate and send as\n"
        "                           SNI (default: the -a address)\n"
        "      --insecure           do not verify the server certificate (warns every run)\n"
        "      --timeout MS         the longest wait for one reply, 10-3600000 ms (default\n"
        "                           %d); resends come sooner, after a timeout measured\n"
        "                           from the round trip and doubled on each resend; also\n"
        "                           the first handshake retransmission timeout\n"
        "      --retries N          resends of an unanswered message or heartbeat, 0-100\n"
        "                           (default %d); fresh handshakes after a stalled one\n"
        "                           (at most 3 when the server never answered)\n"
        "      --pin-pubkey PIN     trust exactly this server key instead of a CA: a PEM\n"
        "                           public key or certificate file, or sha256:HEX of the\n"
        "                           key (works with X.509 and raw public keys)\n"
        "      --heartbeat S        send a DTLS heartbeat ping (RFC 6520) after the\n"
        "                           handshake and every S seconds of idle stdin, 1-3600\n"
        "      --resume             full handshake, close, then resume the session\n"
        "                           (prints \"- Session was resumed\"); needs -m\n"
        "\n"
        "Load generator (client options, with --clients):\n"
        "      --clients N          run N concurrent sessions, 1-100000, each sending -n\n"
        "                           numbered echoes and checking every one; report\n"
        "                           handshakes/s, handshake latency, echo round trips,\n"
        "                           echoes/s, MB/s and failures by kind; -n defaults to %d,\n"
        "                           or no limit with --duration\n"
        "      --size BYTES         bytes per echo, %d-%d (default %d)\n"
        "      --window W           echoes in flight per session, 1-256 (default 1)\n"
        "      --rate R             start R new sessions per second, 1-1000000 (default:\n"
        "                           all at once)\n"
        "      --duration S         stop after S seconds at the latest, 1-86400 (echoes\n"
        "                           then in flight are not counted)\n"
        "      --interval MS        send each session's echoes at least MS apart,\n"
        "                           1-3600000 (many mostly idle sessions)\n"
        "      --handshakes-only    each session does -n handshakes one after another and\n"
        "                           sends no echoes\n"
        "      --threads T          worker threads, 1-256 (default: one per CPU)\n"
        "      --plain              plain UDP, no DTLS: the baseline, against a UDP echo\n"
        "                           server\n"
        "      --json               print the summary as one JSON object\n"
        "  With --clients, an echo not back within --timeout counts as lost, and a\n"
        "  handshake not done within 8 times --timeout as a handshake timeout.\n"
        "\n"
        "Server options:\n"
        "      --require-client-cert  ask every client for a certificate, verified\n"
        "                           against --cafile and --crlfile\n"
        "      --max-clients N      sessions served at once, 1-100000 (default %d)\n"
        "      --idle-timeout S     end a session idle this long, 1-86400 s (default %d)\n"
        "      --handshake-timeout S  end a handshake not done by then, 1-3600 s (default %d)\n"
        "      --cookie-rotate S    new cookie key every S seconds; the previous key stays\n"
        "                           valid for one more period, 1-86400 (default %d)\n"
        "      --rawpk-key FILE     present a raw public key (RFC 7250) instead of a\n"
        "      --rawpk-pub FILE     certificate: its private key and public key, PEM\n"
        "\n"
        "Exit codes: 0 success; 1 runtime error (socket, file, resource); 2 usage error;\n"
        "3 handshake or certificate verification failed; 4 timeout, no answer from the\n"
        "peer; 5 an echo did not match what was sent.\n",
        DEFAULT_PORT, DEFAULT_CAFILE, DEFAULT_SERVER_CERT, DEFAULT_SERVER_KEY, DEFAULT_MTU,
        TLS_DEFAULT_PRIORITY, DEFAULT_COUNT, DEFAULT_TIMEOUT_MS, DEFAULT_RETRIES, DEFAULT_COUNT,
        LOAD_MIN_SIZE, LOAD_MAX_SIZE, DEFAULT_LOAD_SIZE,
        DEFAULT_MAX_CLIENTS, DEFAULT_IDLE_TIMEOUT_S, DEFAULT_HANDSHAKE_TIMEOUT_S,
        DEFAULT_COOKIE_ROTATE_S);
}

void options_tls_settings(const struct config *cfg, struct tls_settings *tls)
{
    memset(tls, 0, sizeof(*tls));
    tls->server = !cfg->client_mode;
    tls->cafile = cfg->cafile;
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
    tls->heartbeat = cfg->heartbeat_s > 0;
    tls->priority = cfg->priority;
    if (cfg->client_mode)
        tls->verify_name = cfg->hostname ? cfg->hostname
                                         : cfg->address ? cfg->address : "localhost";
}
