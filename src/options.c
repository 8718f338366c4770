/* SPDX-License-Identifier: MIT */
/* options.c - the command line into a struct config: getopt_long's tables made from the
 * option table (options_table.c), each value stored and checked, the client's HOST[:PORT],
 * the defaults that depend on where it runs, and the options checked as a whole, every
 * conflict named in the error as OpenBSD nc does. Nothing here prints. */
#define _GNU_SOURCE
#include "options_table.h"
#include "sockets.h"

#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "platform.h"

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
    if (port != NULL && options_parse_number("port", port, 1, 65535, &number, err, err_size) < 0)
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

    for (i = 0; i < option_table_count; i++)
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
        if (options_parse_number(spec->name, value, spec->min, spec->max, &number, err,
                                 err_size) < 0)
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
    for (i = 0; i < option_table_count; i++) {
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
    for (i = 0; i < option_table_count; i++) {
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
    memset(&longs[option_table_count], 0, sizeof(longs[option_table_count]));
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
    for (i = 0; i < option_table_count; i++)
        if (strlen(option_table[i].name) == name_len &&
            strncmp(option_table[i].name, arg + 2, name_len) == 0)
            return errorf(err, err_size, "option '--%s' takes no value", option_table[i].name);
    return errorf(err, err_size, "unknown or ambiguous option '%.*s'", (int)name_len + 2, arg);
}

/* A default file: the checkout's (certs/ in the current folder) when it is there, else the
 * system's (NULL: none) when it is there, else NULL. */
const char *options_system_file(const char *name)
{
    static char paths[3][1024]; /* the three names below: set once, while parsing */
    static const char *const names[3] = {"ca.pem", "server.pem", "server-key.pem"};
    int i;

    for (i = 0; i < 3 && strcmp(name, names[i]) != 0; i++)
        ;
    if (i == 3)
        return NULL;
    snprintf(paths[i], sizeof(paths[i]), "%s%c%s", platform_config_dir(),
             PLATFORM_WINDOWS ? '\\' : '/', name);
    return paths[i];
}

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
    /* Options that mean something only with --tun, the first one seen named. */
    static const int tunnel_only[] = {OPT_TUN_NET, OPT_TUN_NET6, OPT_ROUTE, OPT_KEEPALIVE,
                                      OPT_LEASE_TIME, OPT_NO_OFFLOAD};
    size_t i;

    for (i = 0; i < option_table_count; i++) {
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
            return errorf(err, err_size, "cannot use --%s with --clients: it is for one client "
                          "(the load generator runs its own sessions, with numbered echoes "
                          "of --size bytes)", opt->name);
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
    for (i = 0; !cfg->tun && i < sizeof(tunnel_only) / sizeof(tunnel_only[0]); i++)
        if (seen[tunnel_only[i]])
            return errorf(err, err_size, "--%s is a tunnel option: add --tun",
                          spec_of(tunnel_only[i])->name);
    /* What this platform cannot do is refused here, never half-done later. */
    if (cfg->tun && !platform_has_tun())
        return errorf(err, err_size, "--tun is Linux-only: %s has no TUN device of the kind "
                      "this program drives", platform_name());
    if (seen[OPT_WORKERS] && !platform_has_workers())
        return errorf(err, err_size, "--workers is Linux-only: %s has no SO_REUSEPORT group "
                      "that spreads new clients over the workers, nor pidfd", platform_name());
    if (!platform_has_connected_udp())
        cfg->one_socket = 1;
    /* Handshakes under way: by default one address holds at most half the slots, so that
     * a flood of half-open handshakes from it never holds them all (a real client never
     * meets that); in all, --max-clients unless said. */
    if (cfg->max_handshakes == 0)
        cfg->max_handshakes = cfg->max_clients;
    if (cfg->max_handshakes_per_source == 0)
        cfg->max_handshakes_per_source = cfg->max_clients > 1 ? cfg->max_clients / 2 : 1;
    if (cfg->tun && cfg->one_socket && !cfg->client_mode)
        return errorf(err, err_size, "cannot use --tun with --one-socket: a tunnel waits on "
                                     "its own connected socket");
    if (cfg->tun && seen[OPT_RECONNECT])
        return errorf(err, err_size, "cannot use --reconnect with --tun: a tunnel reconnects "
                                     "by itself, for as long as it runs");
    if (cfg->tun && seen[OPT_WORKERS])
        return errorf(err, err_size, "cannot use --workers with --tun: the tunnel's addresses "
                                     "and interfaces belong to one process");
    cfg->workers = options_workers_of("workers", cfg->workers_text, err, err_size);
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
        const char *cafile = present(DEFAULT_CAFILE, options_system_file("ca.pem"));
        if (!seen[OPT_CAFILE])
            cfg->cafile = cafile != NULL ? cafile : DEFAULT_CAFILE;
        if (!seen[OPT_CERT] && !cfg->anon && !cfg->rawpk_key && !cfg->psk_identity &&
            !cfg->pskfile) {
            /* X.509 unless another mode was asked for; with PSK, --cert adds X.509. The
             * server names both places when neither has a certificate. */
            const char *system_cert = options_system_file("server.pem");
            const char *certfile = present(DEFAULT_SERVER_CERT, system_cert);
            cfg->cert_not_found = certfile == NULL;
            cfg->certfile = certfile != NULL ? certfile : DEFAULT_SERVER_CERT;
            cfg->keyfile = certfile == system_cert ? options_system_file("server-key.pem")
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
    struct option longs[OPTION_COUNT_MAX + 1];
    char shorts[2 * OPTION_COUNT_MAX + 2];
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
