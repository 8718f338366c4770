/* SPDX-License-Identifier: MIT */
/* options_table.h - inside the option layer only (options.c, options_table.c,
 * options_text.c): the table every option is a row of, and the number parsing its checks
 * and the parser share. Everything else reads struct config (options.h). */
#ifndef DTLS_ECHO_OPTIONS_TABLE_H
#define DTLS_ECHO_OPTIONS_TABLE_H

#include <stddef.h>

#include "options.h"

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
    OPT_NO_OFFLOAD,
    OPT_USER,
    OPT_GENKEY,
    OPT_COOKIE_KEY_FILE,
    OPT_TICKET_KEY_FILE,
    OPT_SESSION_OUT,
    OPT_SESSION_IN,
    OPT_RECONNECT,
    OPT_WORKERS,
    OPT_ONE_SOCKET,
    OPT_CHECK,
    OPT_SESSION_LOG,
    OPT_MAX_HANDSHAKES,
    OPT_MAX_HANDSHAKES_PER_SOURCE,
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
#define MAX_WORKERS 256
#define MAX_WORKERS_TEXT "256" /* the same, in --help */

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

/* The table, in --help's order, and its length (at most OPTION_COUNT_MAX rows, the size
 * of the parser's getopt tables). */
#define OPTION_COUNT_MAX 128
extern const struct option_spec option_table[];
extern const size_t option_table_count;

/* Parses text as a decimal in [min, max] into *out. Returns 0, or -1 with a reason
 * naming --name. */
int options_parse_number(const char *name, const char *text, unsigned long min,
                         unsigned long max, unsigned long *out, char *err, size_t err_size);

/* --workers: N (1 to MAX_WORKERS), or auto (the CPUs online). Returns the count, or 0
 * with a reason. */
unsigned options_workers_of(const char *name, const char *value, char *err, size_t err_size);

#endif
