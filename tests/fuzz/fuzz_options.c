/* SPDX-License-Identifier: MIT */
/* fuzz_options.c - libFuzzer harness for options_parse(), the parser of the command line.
 *
 * The input is a command line: its bytes split on NUL or newline into at most MAX_ARGS
 * arguments, after a fixed program name. Each argument is a heap block of its own, so
 * AddressSanitizer sees any read past an argument's NUL. The harness asserts the contract
 * of options.h: the parser returns 0 or -1; -1 comes with a non-empty, NUL-terminated,
 * single-line reason; 0 leaves every number within the range --help documents, every
 * string pointing into argv or at a default, and no conflict validate() names. Each
 * command line is parsed twice, on fresh copies and with a small error buffer the second
 * time: the parser must run more than once (getopt's state is reset) and truncate its
 * message rather than overflow. Build and run with scripts/fuzz.sh. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "options.h"

#define MAX_ARGS 32            /* program name included */
#define ERR_SIZE 512           /* what main() gives the parser */
#define SMALL_ERR_SIZE 24      /* the second parse: the message must be truncated, not spill */
#define PROGRAM_NAME "dtls_echo"

/* Stops the run with the broken promise; libFuzzer saves the input as a crash. */
#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "fuzz_options: contract broken: %s: ", #cond);                 \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* One command line in heap blocks sized exactly to each argument. getopt_long permutes
 * argv, so the blocks are remembered apart from it. */
struct command_line {
    int argc;
    char *argv[MAX_ARGS + 1];   /* what the parser gets */
    char *block[MAX_ARGS];      /* the same blocks in their original order */
    size_t block_size[MAX_ARGS]; /* bytes of each block, its NUL included */
};

/* Splits data on NUL and '\n' into cl after the program name. A separator ends an
 * argument, so "a\n" is one argument and "a\n\nb" three (the middle one empty). */
static void command_line_build(struct command_line *cl, const uint8_t *data, size_t size)
{
    size_t start = 0, i;

    memset(cl, 0, sizeof(*cl));
    cl->block_size[0] = sizeof(PROGRAM_NAME);
    cl->block[0] = malloc(sizeof(PROGRAM_NAME));
    memcpy(cl->block[0], PROGRAM_NAME, sizeof(PROGRAM_NAME));
    cl->argc = 1;
    for (i = 0; i <= size && cl->argc < MAX_ARGS; i++) {
        if (i < size && data[i] != '\0' && data[i] != '\n')
            continue;
        if (i == size && start == size)
            break;  /* nothing after the last separator */
        cl->block_size[cl->argc] = i - start + 1;
        cl->block[cl->argc] = malloc(i - start + 1);
        memcpy(cl->block[cl->argc], data + start, i - start);
        cl->block[cl->argc][i - start] = '\0';
        cl->argc++;
        start = i + 1;
    }
    memcpy(cl->argv, cl->block, (size_t)cl->argc * sizeof(cl->block[0]));
    cl->argv[cl->argc] = NULL;
}

static void command_line_free(struct command_line *cl)
{
    int i;

    for (i = 0; i < cl->argc; i++)
        free(cl->block[i]);
}

/* Returns 1 when text is NULL, points into one of cl's argument blocks or to the host
 * the parser copied out of a HOST:PORT argument, or is one of the defaults it fills in. */
static int string_is_ours(const struct command_line *cl, const struct config *cfg,
                          const char *text)
{
    int i;

    if (text == NULL || text == cfg->host_text)
        return 1;
    for (i = 0; i < cl->argc; i++)
        if (text >= cl->block[i] && text < cl->block[i] + cl->block_size[i])
            return 1;
    return strcmp(text, DEFAULT_CAFILE) == 0 || strcmp(text, DEFAULT_SERVER_CERT) == 0 ||
           strcmp(text, DEFAULT_SERVER_KEY) == 0 || strcmp(text, SYSTEM_CAFILE) == 0 ||
           strcmp(text, SYSTEM_SERVER_CERT) == 0 || strcmp(text, SYSTEM_SERVER_KEY) == 0;
}

/* Returns 1 when text is a non-empty, even number of hex digits. */
static int is_hex_key(const char *text)
{
    size_t len = strlen(text);

    return len > 0 && len % 2 == 0 && strspn(text, "0123456789abcdefABCDEF") == len;
}

static int is_flag(int value)
{
    return value == 0 || value == 1;
}

/* The reason of a refusal: non-empty, NUL-terminated inside the buffer, one line. */
static void check_error_text(const char *err, size_t err_size)
{
    const char *nul = memchr(err, '\0', err_size);

    CHECK(nul != NULL, "the reason is not NUL-terminated inside its %zu bytes", err_size);
    CHECK(nul != err, "options_parse returned -1 with an empty reason");
    CHECK(strchr(err, '\n') == NULL, "the reason spans lines: \"%s\"", err);
}

/* The ranges --help documents, which hold whatever the parse stopped at (--help and
 * --version return before validation, the numbers seen so far already checked). */
static void check_ranges(const struct config *cfg)
{
    unsigned long value, min, max, fallback;
    const char *name;
    size_t i;

    CHECK(cfg->action == ACTION_RUN || cfg->action == ACTION_HELP ||
              cfg->action == ACTION_VERSION ||
              (cfg->action == ACTION_GENKEY && cfg->genkey != NULL && cfg->genkey[0] != '\0'),
          "action %d", (int)cfg->action);
    /* Every number within the range the option table states (the one place it is). */
    for (i = 0; i < options_count(); i++)
        if (options_number(i, cfg, &name, &value, &min, &max, &fallback))
            CHECK(value == fallback || (value >= min && value <= max),
                  "--%s %lu outside %lu-%lu", name, value, min, max);
    CHECK(cfg->log_level >= LOG_ERROR, "log_level %d", cfg->log_level);
    CHECK(is_flag(cfg->client_mode) && is_flag(cfg->insecure) &&
              is_flag(cfg->require_client_cert) && is_flag(cfg->anon) && is_flag(cfg->resume),
          "a flag is neither 0 nor 1");
    CHECK(cfg->address == NULL || cfg->address[0] != '\0', "empty address accepted");
    CHECK(cfg->psk_identity == NULL || cfg->psk_identity[0] != '\0',
          "empty PSK identity accepted");
    CHECK(cfg->psk_key == NULL || is_hex_key(cfg->psk_key), "PSK key '%s' is not hex",
          cfg->psk_key);
}

/* What validate() promises about a configuration that is to be run. */
static void check_run_config(const struct config *cfg)
{
    CHECK(cfg->message == NULL || cfg->message[0] != '\0', "empty message accepted");
    CHECK(cfg->hostname == NULL || cfg->hostname[0] != '\0', "empty hostname accepted");
    CHECK((cfg->certfile == NULL) == (cfg->keyfile == NULL), "--cert without --key");
    CHECK((cfg->rawpk_key == NULL) == (cfg->rawpk_pub == NULL),
          "--rawpk-key without --rawpk-pub");
    CHECK(cfg->psk_key == NULL || cfg->psk_identity != NULL, "--psk-key without identity");
    CHECK(cfg->psk_key == NULL || cfg->pskfile == NULL, "--psk-key with --pskfile");
    CHECK(!cfg->anon || (cfg->psk_key == NULL && cfg->pskfile == NULL &&
                         cfg->rawpk_key == NULL && cfg->pin_pubkey == NULL &&
                         cfg->certfile == NULL && !cfg->require_client_cert),
          "--anon combined with a credential");
    CHECK(cfg->rawpk_key == NULL || cfg->certfile == NULL, "--rawpk-key with --cert");
    CHECK(!(cfg->pin_pubkey != NULL && cfg->insecure), "--pin-pubkey with --insecure");
    CHECK(!cfg->resume || cfg->message != NULL, "--resume without --message");
    if (cfg->client_mode) {
        CHECK(cfg->rawpk_key == NULL && !cfg->require_client_cert &&
                  cfg->max_clients == DEFAULT_MAX_CLIENTS &&
                  cfg->idle_timeout_s == DEFAULT_IDLE_TIMEOUT_S &&
                  cfg->handshake_timeout_s == DEFAULT_HANDSHAKE_TIMEOUT_S &&
                  cfg->cookie_rotate_s == DEFAULT_COOKIE_ROTATE_S,
              "a server option reached a client configuration");
        CHECK(!cfg->insecure || (cfg->cafile == NULL && cfg->crlfile == NULL),
              "--insecure client still verifies against a CA");
    } else {
        CHECK(cfg->message == NULL && cfg->count == DEFAULT_COUNT && cfg->hostname == NULL &&
                  !cfg->insecure && cfg->timeout_ms == DEFAULT_TIMEOUT_MS &&
                  cfg->retries == DEFAULT_RETRIES && cfg->pin_pubkey == NULL &&
                  cfg->heartbeat_s == 0 && !cfg->resume,
              "a client option reached a server configuration");
        CHECK(cfg->certfile != NULL || cfg->anon || cfg->rawpk_key != NULL ||
                  cfg->psk_identity != NULL || cfg->pskfile != NULL,
              "a server with no way to authenticate itself");
    }
}

static void check_strings(const struct command_line *cl, const struct config *cfg)
{
    const char *const fields[] = {
        cfg->address,    cfg->message,  cfg->cafile,       cfg->crlfile,    cfg->certfile,
        cfg->keyfile,    cfg->hostname, cfg->priority,     cfg->psk_identity, cfg->psk_key,
        cfg->pskfile,    cfg->rawpk_key, cfg->rawpk_pub,   cfg->pin_pubkey,
        cfg->keylogfile, cfg->sni,      cfg->alpn,         cfg->srtp_profiles,
    };
    size_t i;

    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        CHECK(string_is_ours(cl, cfg, fields[i]), "string field %zu points outside argv", i);
}

static int same_string(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Two parses of the same command line must agree on everything. */
static int same_config(const struct config *a, const struct config *b)
{
    return a->action == b->action && a->client_mode == b->client_mode &&
           a->port == b->port && a->count == b->count && a->insecure == b->insecure &&
           a->require_client_cert == b->require_client_cert && a->mtu == b->mtu &&
           a->timeout_ms == b->timeout_ms && a->retries == b->retries &&
           a->max_clients == b->max_clients && a->idle_timeout_s == b->idle_timeout_s &&
           a->handshake_timeout_s == b->handshake_timeout_s &&
           a->cookie_rotate_s == b->cookie_rotate_s && a->log_level == b->log_level &&
           a->anon == b->anon && a->heartbeat_s == b->heartbeat_s && a->resume == b->resume &&
           same_string(a->address, b->address) && same_string(a->message, b->message) &&
           same_string(a->cafile, b->cafile) && same_string(a->crlfile, b->crlfile) &&
           same_string(a->certfile, b->certfile) && same_string(a->keyfile, b->keyfile) &&
           same_string(a->hostname, b->hostname) && same_string(a->priority, b->priority) &&
           same_string(a->psk_identity, b->psk_identity) &&
           same_string(a->psk_key, b->psk_key) && same_string(a->pskfile, b->pskfile) &&
           same_string(a->rawpk_key, b->rawpk_key) && same_string(a->rawpk_pub, b->rawpk_pub) &&
           same_string(a->pin_pubkey, b->pin_pubkey) && a->family == b->family &&
           a->system_trust == b->system_trust && a->no_sni == b->no_sni &&
           a->print_cert == b->print_cert && a->trace == b->trace && a->json == b->json &&
           same_string(a->keylogfile, b->keylogfile) && same_string(a->sni, b->sni) &&
           same_string(a->alpn, b->alpn) && same_string(a->srtp_profiles, b->srtp_profiles);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct command_line first, second;
    struct config cfg, again;
    char *err = malloc(ERR_SIZE), *small_err = malloc(SMALL_ERR_SIZE);
    int rc, rc_again;

    /* No NUL in either buffer: the parser must write its own terminator. */
    memset(err, 'E', ERR_SIZE);
    memset(small_err, 'E', SMALL_ERR_SIZE);
    command_line_build(&first, data, size);
    command_line_build(&second, data, size);

    rc = options_parse(first.argc, first.argv, &cfg, err, ERR_SIZE);
    CHECK(rc == 0 || rc == -1, "options_parse returned %d", rc);
    if (rc == -1) {
        check_error_text(err, ERR_SIZE);
    } else {
        check_ranges(&cfg);
        check_strings(&first, &cfg);
        if (cfg.action == ACTION_RUN)
            check_run_config(&cfg);
    }

    rc_again = options_parse(second.argc, second.argv, &again, small_err, SMALL_ERR_SIZE);
    CHECK(rc_again == rc, "the second parse returned %d, the first %d", rc_again, rc);
    if (rc == -1) {
        check_error_text(small_err, SMALL_ERR_SIZE);
        CHECK(strncmp(err, small_err, SMALL_ERR_SIZE - 1) == 0 &&
                  strlen(small_err) == (strlen(err) < SMALL_ERR_SIZE - 1 ? strlen(err)
                                                                         : SMALL_ERR_SIZE - 1),
              "the second reason \"%s\" is not the first \"%s\" truncated", small_err, err);
    } else {
        CHECK(same_config(&cfg, &again), "the second parse filled another configuration");
    }

    command_line_free(&first);
    command_line_free(&second);
    free(err);
    free(small_err);
    return 0;
}
