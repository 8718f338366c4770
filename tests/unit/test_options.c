/* SPDX-License-Identifier: MIT */
/* test_options.c - options_parse(): what a command line turns into, and what it refuses.
 *
 * Each test builds argv from string literals copied into writable storage (getopt_long
 * permutes argv) that outlives the parse, because the config points into it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <unistd.h>

#include "log.h"
#include "options.h"
#include "sockets.h"

#define MAX_ARGS 32
#define MAX_ARG_SIZE 512

/* One parsed command line: its argv storage, the result and the error text. */
struct command_line {
    char storage[MAX_ARGS][MAX_ARG_SIZE];
    char *argv[MAX_ARGS + 1];
    int argc;
    struct config cfg;
    char err[512];
    int rc;
};

/* Copies "dtls_echo" and the NULL-terminated args into cl and runs options_parse on them. */
static void parse_args(struct command_line *cl, const char *const *args)
{
    memset(cl, 0, sizeof(*cl));
    snprintf(cl->storage[0], MAX_ARG_SIZE, "%s", "dtls_echo");
    cl->argv[0] = cl->storage[0];
    cl->argc = 1;
    for (; *args != NULL; args++) {
        assert_true(cl->argc < MAX_ARGS);
        assert_true(strlen(*args) < MAX_ARG_SIZE);
        snprintf(cl->storage[cl->argc], MAX_ARG_SIZE, "%s", *args);
        cl->argv[cl->argc] = cl->storage[cl->argc];
        cl->argc++;
    }
    cl->argv[cl->argc] = NULL;
    snprintf(cl->err, sizeof(cl->err), "%s", "(err untouched)");
    cl->rc = options_parse(cl->argc, cl->argv, &cl->cfg, cl->err, sizeof(cl->err));
}

/* PARSE(&cl, "-c", "-p", "6000") */
#define PARSE(cl, ...) parse_args((cl), (const char *const[]){__VA_ARGS__, NULL})

static void assert_accepted(const struct command_line *cl)
{
    if (cl->rc != 0)
        fail_msg("options_parse returned %d: %s", cl->rc, cl->err);
}

/* Asserts that options_parse refused args with -1 and an error naming both words. */
static void assert_rejected_with(const char *first_word, const char *second_word,
                                 const char *const *args)
{
    struct command_line cl;

    parse_args(&cl, args);
    if (cl.rc != -1)
        fail_msg("options_parse returned %d, expected -1 (a usage error)", cl.rc);
    if (strstr(cl.err, first_word) == NULL)
        fail_msg("error '%s' does not mention '%s'", cl.err, first_word);
    if (strstr(cl.err, second_word) == NULL)
        fail_msg("error '%s' does not mention '%s'", cl.err, second_word);
}

/* REJECTED("--port", "1 to 65535", "-p", "0") */
#define REJECTED(first_word, second_word, ...)                                                \
    assert_rejected_with((first_word), (second_word), (const char *const[]){__VA_ARGS__, NULL})

/* --- what a command line turns into --- */

static void test_no_arguments_run_a_server_with_defaults(void **state)
{
    struct command_line cl;
    const char *const no_args[] = {NULL};

    (void)state;
    parse_args(&cl, no_args);
    assert_accepted(&cl);
    assert_int_equal(cl.cfg.action, ACTION_RUN);
    assert_false(cl.cfg.client_mode);
    assert_null(cl.cfg.address);
    assert_int_equal(cl.cfg.port, 5556);
    assert_null(cl.cfg.message);
    assert_int_equal(cl.cfg.count, 5);
    assert_int_equal(cl.cfg.mtu, 1500);
    assert_string_equal(cl.cfg.cafile, DEFAULT_CAFILE);
    assert_null(cl.cfg.crlfile);
    assert_string_equal(cl.cfg.certfile, DEFAULT_SERVER_CERT);
    assert_string_equal(cl.cfg.keyfile, DEFAULT_SERVER_KEY);
    assert_false(cl.cfg.require_client_cert);
    assert_int_equal(cl.cfg.max_clients, DEFAULT_MAX_CLIENTS);
    assert_int_equal(cl.cfg.idle_timeout_s, DEFAULT_IDLE_TIMEOUT_S);
    assert_int_equal(cl.cfg.handshake_timeout_s, DEFAULT_HANDSHAKE_TIMEOUT_S);
    assert_null(cl.cfg.priority); /* NULL: the default priority for the mode */
    assert_int_equal(cl.cfg.log_level, LOG_INFO);
}

static void test_client_defaults_present_no_certificate(void **state)
{
    struct command_line cl;

    (void)state;
    PARSE(&cl, "-c");
    assert_accepted(&cl);
    assert_true(cl.cfg.client_mode);
    assert_null(cl.cfg.certfile);
    assert_null(cl.cfg.keyfile);
    assert_string_equal(cl.cfg.cafile, DEFAULT_CAFILE);
    assert_false(cl.cfg.insecure);
    assert_null(cl.cfg.hostname);
    assert_int_equal(cl.cfg.port, 5556);
    assert_int_equal(cl.cfg.count, 5);
    assert_int_equal(cl.cfg.timeout_ms, DEFAULT_TIMEOUT_MS);
    assert_int_equal(cl.cfg.retries, DEFAULT_RETRIES);
}

static void test_full_client_command_line_fills_every_field(void **state)
{
    struct command_line cl;

    (void)state;
    PARSE(&cl, "-c", "-a", "::1", "-p", "6000", "-m", "foo", "-n", "3", "--timeout", "500",
          "--retries", "2", "--mtu", "1400", "--hostname", "x", "--cafile", "f");
    assert_accepted(&cl);
    assert_int_equal(cl.cfg.action, ACTION_RUN);
    assert_true(cl.cfg.client_mode);
    assert_string_equal(cl.cfg.address, "::1");
    assert_int_equal(cl.cfg.port, 6000);
    assert_string_equal(cl.cfg.message, "foo");
    assert_int_equal(cl.cfg.count, 3);
    assert_int_equal(cl.cfg.timeout_ms, 500);
    assert_int_equal(cl.cfg.retries, 2);
    assert_int_equal(cl.cfg.mtu, 1400);
    assert_string_equal(cl.cfg.hostname, "x");
    assert_string_equal(cl.cfg.cafile, "f");
    assert_null(cl.cfg.certfile);
    assert_int_equal(cl.cfg.log_level, LOG_INFO);
}

static void test_long_client_options_equal_short_ones(void **state)
{
    struct command_line cl;

    (void)state;
    PARSE(&cl, "--client", "--address=127.0.0.1", "--port=7000", "--message", "hi",
          "--count=9");
    assert_accepted(&cl);
    assert_true(cl.cfg.client_mode);
    assert_string_equal(cl.cfg.address, "127.0.0.1");
    assert_int_equal(cl.cfg.port, 7000);
    assert_string_equal(cl.cfg.message, "hi");
    assert_int_equal(cl.cfg.count, 9);
}

static void test_client_cert_and_key_are_accepted_together(void **state)
{
    struct command_line cl;

    (void)state;
    PARSE(&cl, "-c", "--cert", "client.pem", "--key", "client-key.pem");
    assert_accepted(&cl);
    assert_string_equal(cl.cfg.certfile, "client.pem");
    assert_string_equal(cl.cfg.keyfile, "client-key.pem");
}

static void test_insecure_client_has_no_cafile(void **state)
{
    struct command_line cl;

    (void)state;
    PARSE(&cl, "-c", "--insecure");
    assert_accepted(&cl);
    assert_true(cl.cfg.insecure);
    assert_null(cl.cfg.cafile);
}

static void test_server_options_are_accepted_without_client_mode(void **state)
{
    struct command_line cl;

    (void)state;
    PARSE(&cl, "--max-clients", "10", "--idle-timeout", "30", "--handshake-timeout", "5",
          "--require-client-cert", "-a", "127.0.0.1", "-p", "6001");
    assert_accepted(&cl);
    assert_false(cl.cfg.client_mode);
    assert_int_equal(cl.cfg.max_clients, 10);
    assert_int_equal(cl.cfg.idle_timeout_s, 30);
    assert_int_equal(cl.cfg.handshake_timeout_s, 5);
    assert_true(cl.cfg.require_client_cert);
    assert_string_equal(cl.cfg.address, "127.0.0.1");
    assert_int_equal(cl.cfg.port, 6001);
}

static void test_server_cert_and_key_replace_the_defaults(void **state)
{
    struct command_line cl;

    (void)state;
    PARSE(&cl, "--cert", "s.pem", "--key", "s-key.pem");
    assert_accepted(&cl);
    assert_string_equal(cl.cfg.certfile, "s.pem");
    assert_string_equal(cl.cfg.keyfile, "s-key.pem");
}

static void test_port_limits_1_and_65535_are_accepted(void **state)
{
    struct command_line cl;

    (void)state;
    PARSE(&cl, "-p", "1");
    assert_accepted(&cl);
    assert_int_equal(cl.cfg.port, 1);
    PARSE(&cl, "--port", "65535");
    assert_accepted(&cl);
    assert_int_equal(cl.cfg.port, 65535);
}

static void test_one_v_is_debug(void **state)
{
    struct command_line cl;

    (void)state;
    PARSE(&cl, "-v");
    assert_accepted(&cl);
    assert_int_equal(cl.cfg.log_level, LOG_DEBUG);
}

static void test_vv_and_v_v_are_trace(void **state)
{
    struct command_line cl;

    (void)state;
    PARSE(&cl, "-vv");
    assert_accepted(&cl);
    assert_int_equal(cl.cfg.log_level, LOG_TRACE);
    PARSE(&cl, "-v", "--verbose");
    assert_accepted(&cl);
    assert_int_equal(cl.cfg.log_level, LOG_TRACE);
}

static void test_vvv_goes_past_trace_for_gnutls_log(void **state)
{
    struct command_line cl;

    (void)state;
    PARSE(&cl, "-vvv");
    assert_accepted(&cl);
    assert_int_equal(cl.cfg.log_level, LOG_TRACE + 1);
}

static void test_q_is_errors_only(void **state)
{
    struct command_line cl;

    (void)state;
    PARSE(&cl, "-q");
    assert_accepted(&cl);
    assert_int_equal(cl.cfg.log_level, LOG_ERROR);
    PARSE(&cl, "-c", "--quiet");
    assert_accepted(&cl);
    assert_int_equal(cl.cfg.log_level, LOG_ERROR);
}

static void test_help_sets_the_help_action(void **state)
{
    struct command_line cl;

    (void)state;
    PARSE(&cl, "--help");
    assert_accepted(&cl);
    assert_int_equal(cl.cfg.action, ACTION_HELP);
    PARSE(&cl, "-c", "-h");
    assert_accepted(&cl);
    assert_int_equal(cl.cfg.action, ACTION_HELP);
}

static void test_version_sets_the_version_action(void **state)
{
    struct command_line cl;

    (void)state;
    PARSE(&cl, "--version");
    assert_accepted(&cl);
    assert_int_equal(cl.cfg.action, ACTION_VERSION);
    PARSE(&cl, "-V");
    assert_accepted(&cl);
    assert_int_equal(cl.cfg.action, ACTION_VERSION);
}

static void test_second_parse_starts_from_the_defaults(void **state)
{
    struct command_line cl;
    const char *const no_args[] = {NULL};

    (void)state;
    PARSE(&cl, "-c", "-p", "6000", "-m", "foo", "-vv");
    assert_accepted(&cl);
    parse_args(&cl, no_args);
    assert_accepted(&cl);
    assert_false(cl.cfg.client_mode);
    assert_int_equal(cl.cfg.port, 5556);
    assert_null(cl.cfg.message);
    assert_int_equal(cl.cfg.log_level, LOG_INFO);
}

static void test_parse_after_a_rejection_starts_afresh(void **state)
{
    struct command_line cl;

    (void)state;
    PARSE(&cl, "-x");
    assert_int_equal(cl.rc, -1);
    PARSE(&cl, "-c", "-p", "6000");
    assert_accepted(&cl);
    assert_true(cl.cfg.client_mode);
    assert_int_equal(cl.cfg.port, 6000);
}

/* --- what a command line is refused for --- */

static void test_port_0_is_rejected(void **state)
{
    (void)state;
    REJECTED("--port", "1 to 65535", "--port", "0");
}

static void test_port_70000_is_rejected(void **state)
{
    (void)state;
    REJECTED("--port", "1 to 65535", "--port", "70000");
}

static void test_port_abc_is_rejected(void **state)
{
    (void)state;
    REJECTED("--port", "'abc' is not a number", "--port", "abc");
}

static void test_port_minus_1_is_rejected(void **state)
{
    (void)state;
    REJECTED("--port", "'-1' is not a number", "--port", "-1");
}

static void test_port_with_trailing_text_is_rejected(void **state)
{
    (void)state;
    REJECTED("--port", "not a number", "-p", "80x");
}

static void test_count_minus_1_is_rejected(void **state)
{
    (void)state;
    REJECTED("--count", "'-1' is not a number", "-c", "--count", "-1");
}

static void test_count_0_is_rejected(void **state)
{
    (void)state;
    REJECTED("--count", "'0' is not a number", "-c", "--count", "0");
}

static void test_mtu_10_is_rejected(void **state)
{
    (void)state;
    REJECTED("--mtu", "256 to 65535", "--mtu", "10");
}

static void test_timeout_0_is_rejected(void **state)
{
    (void)state;
    REJECTED("--timeout", "'0' is not a number", "-c", "--timeout", "0");
}

static void test_unknown_long_option_is_rejected(void **state)
{
    (void)state;
    REJECTED("unknown", "'--bogus'", "--bogus");
}

static void test_unknown_short_option_is_rejected(void **state)
{
    (void)state;
    REJECTED("unknown option", "-x", "-x");
}

static void test_missing_value_at_the_end_is_rejected(void **state)
{
    (void)state;
    REJECTED("needs a value", "-p", "-c", "-p");
}

static void test_missing_value_of_long_option_is_rejected(void **state)
{
    (void)state;
    REJECTED("needs a value", "--port", "--port");
}

static void test_message_without_client_mode_is_rejected(void **state)
{
    (void)state;
    REJECTED("--message", "client option", "-m", "foo");
}

static void test_count_without_client_mode_is_rejected(void **state)
{
    (void)state;
    REJECTED("--count", "client option", "--count", "3");
}

static void test_insecure_without_client_mode_is_rejected(void **state)
{
    (void)state;
    REJECTED("--insecure", "client option", "--insecure");
}

static void test_max_clients_with_client_mode_is_rejected(void **state)
{
    (void)state;
    REJECTED("--max-clients", "server option", "-c", "--max-clients", "10");
}

static void test_require_client_cert_with_client_mode_is_rejected(void **state)
{
    (void)state;
    REJECTED("--require-client-cert", "server option", "--require-client-cert", "-c");
}

static void test_verbose_with_quiet_is_rejected(void **state)
{
    (void)state;
    REJECTED("-v", "-q", "-v", "-q");
}

static void test_empty_message_is_rejected(void **state)
{
    (void)state;
    REJECTED("--message", "empty", "-c", "-m", "");
}

static void test_client_cert_without_key_is_rejected(void **state)
{
    (void)state;
    REJECTED("--cert", "--key", "-c", "--cert", "client.pem");
}

static void test_insecure_with_cafile_is_rejected(void **state)
{
    (void)state;
    REJECTED("--insecure", "--cafile", "-c", "--insecure", "--cafile", "f");
}

static void test_unexpected_positional_argument_is_rejected(void **state)
{
    (void)state;
    REJECTED("unexpected argument", "extra", "extra", "-p", "6000");
    REJECTED("unexpected argument", "one HOST", "-c", "host", "extra");
}

/* --- defaults that depend on where it runs --- */

static void test_elsewhere_the_client_trusts_the_system_store(void **state)
{
    struct command_line cl;
    char here[4096];

    (void)state;
    assert_non_null(getcwd(here, sizeof(here)));
    assert_int_equal(chdir("/proc"), 0); /* never a certs/ folder there */
    PARSE(&cl, "-c");
    assert_int_equal(chdir(here), 0);
    assert_accepted(&cl);
    assert_null(cl.cfg.cafile);
    assert_true(cl.cfg.system_trust);
    PARSE(&cl, "-c", "--insecure"); /* nothing verified: no store either */
    assert_false(cl.cfg.system_trust);
}

/* --- the client's HOST[:PORT] --- */

static void assert_target(const char *arg, const char *host, unsigned port)
{
    struct command_line cl;

    PARSE(&cl, "-c", arg);
    assert_accepted(&cl);
    assert_string_equal(cl.cfg.address, host);
    assert_int_equal(cl.cfg.port, port);
}

static void test_positional_host_and_port_fill_address_and_port(void **state)
{
    (void)state;
    assert_target("example.org", "example.org", DEFAULT_PORT);
    assert_target("example.org:4433", "example.org", 4433);
    assert_target("127.0.0.1:1", "127.0.0.1", 1);
    assert_target("[::1]:65535", "::1", 65535);
    assert_target("[fe80::1%lo]", "fe80::1%lo", DEFAULT_PORT);
    assert_target("::1", "::1", DEFAULT_PORT); /* an IPv6 address alone: no port in it */
}

static void test_positional_host_takes_p_when_it_has_no_port(void **state)
{
    struct command_line cl;

    (void)state;
    PARSE(&cl, "-c", "-p", "7000", "host");
    assert_accepted(&cl);
    assert_string_equal(cl.cfg.address, "host");
    assert_int_equal(cl.cfg.port, 7000);
}

static void test_bad_positional_targets_are_rejected(void **state)
{
    (void)state;
    REJECTED("host:0", "1 to 65535", "-c", "host:0");
    REJECTED("host:70000", "1 to 65535", "-c", "host:70000");
    REJECTED("host:", "1 to 65535", "-c", "host:");
    REJECTED(":5556", "host is empty", "-c", ":5556");
    REJECTED("[::1", "[IPV6]:PORT", "-c", "[::1");
    REJECTED("[::1]x", "[IPV6]:PORT", "-c", "[::1]x");
    REJECTED("-a", "HOST[:PORT]", "-c", "-a", "one", "two");
    REJECTED("-p", "host:6000", "-c", "-p", "5000", "host:6000");
}

static void test_alpn_srtp_and_pin_values_are_checked(void **state)
{
    (void)state;
    REJECTED("--alpn", "separated by ','", "-c", "--alpn", "coap,,h2");
    REJECTED("--alpn", "at most 7 items", "--alpn", "a,b,c,d,e,f,g,h");
    REJECTED("--alpn", "1 to 32 characters", "--alpn", "abcdefghijklmnopqrstuvwxyz0123456");
    REJECTED("--srtp-profiles", "'SRTP_BOGUS' is not an SRTP profile",
             "--srtp-profiles", "SRTP_AES128_CM_HMAC_SHA1_80:SRTP_BOGUS");
    REJECTED("--pin-pubkey", "sha256// and the base64", "-c", "--pin-pubkey", "sha256//abc=");
    REJECTED("--sni", "--no-sni", "-c", "--sni", "a.example", "--no-sni");
    REJECTED("--json", "--message", "-c", "--json");
    REJECTED("--json", "--print-cert", "-c", "-m", "x", "--json", "--print-cert");
    REJECTED("--trace", "--clients", "-c", "--clients", "2", "--trace");
}

static void test_4_and_6_choose_the_family_and_exclude_each_other(void **state)
{
    struct command_line cl;

    (void)state;
    PARSE(&cl, "-c", "-4", "host");
    assert_accepted(&cl);
    assert_int_equal(cl.cfg.family, AF_INET);
    PARSE(&cl, "--ipv6");
    assert_accepted(&cl);
    assert_int_equal(cl.cfg.family, AF_INET6);
    PARSE(&cl, "-c");
    assert_int_equal(cl.cfg.family, AF_UNSPEC);
    REJECTED("-4", "-6", "-c", "-4", "-6");
}

static void test_value_given_to_an_option_that_takes_none_is_rejected(void **state)
{
    (void)state;
    REJECTED("--insecure", "takes no value", "-c", "--insecure=1");
    REJECTED("--help", "takes no value", "--help=1");
}

static void test_ambiguous_abbreviation_is_rejected(void **state)
{
    (void)state;
    REJECTED("'--p'", "ambiguous", "--p", "7");
}

static void test_port_led_by_whitespace_is_rejected(void **state)
{
    (void)state;
    REJECTED("--port", "not a number", "-p", "\t5");
    REJECTED("--port", "not a number", "-p", "\n5");
}

static void test_server_cert_without_key_is_rejected(void **state)
{
    (void)state;
    REJECTED("--cert", "--key", "--cert", "certs/server.pem");
}

static void test_psk_key_that_is_not_hex_is_rejected(void **state)
{
    (void)state;
    REJECTED("--psk-key", "hex digits", "-c", "--psk-identity", "a", "--psk-key", "0g", "-m", "x");
    REJECTED("--psk-key", "hex digits", "-c", "--psk-identity", "a", "--psk-key", "abc", "-m", "x");
}

static void test_psk_key_without_identity_is_rejected(void **state)
{
    (void)state;
    REJECTED("--psk-key", "--psk-identity", "-c", "--psk-key", "00", "-m", "x");
}

static void test_anon_with_a_certificate_is_rejected(void **state)
{
    (void)state;
    REJECTED("--anon", "certificates", "--anon", "--cert", "a", "--key", "b");
}

static void test_resume_without_message_is_rejected(void **state)
{
    (void)state;
    REJECTED("--resume", "--message", "-c", "--resume");
}

static void test_pin_with_insecure_is_rejected(void **state)
{
    (void)state;
    REJECTED("--pin-pubkey", "--insecure", "-c", "--pin-pubkey", "f", "--insecure", "-m", "x");
}

static void test_rawpk_key_without_pub_is_rejected(void **state)
{
    (void)state;
    REJECTED("--rawpk-key", "--rawpk-pub", "--rawpk-key", "k.pem");
}

static void test_psk_server_presents_no_default_certificate(void **state)
{
    struct command_line cl;

    (void)state;
    PARSE(&cl, "--pskfile", "p.txt");
    assert_accepted(&cl);
    assert_null(cl.cfg.certfile);
    assert_string_equal(cl.cfg.pskfile, "p.txt");
}

static void test_pinned_client_needs_no_ca_file(void **state)
{
    struct command_line cl;

    (void)state;
    PARSE(&cl, "-c", "--pin-pubkey",
          "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", "-m", "x",
          "--heartbeat", "5");
    assert_accepted(&cl);
    assert_null(cl.cfg.cafile);
    assert_int_equal(cl.cfg.heartbeat_s, 5);
}

static void test_short_sha256_pin_is_rejected_by_the_parser(void **state)
{
    (void)state;
    REJECTED("--pin-pubkey", "64 hex digits", "-c", "--pin-pubkey", "sha256:00", "-m", "x");
}

static void test_priority_without_dtls_is_rejected_by_the_parser(void **state)
{
    (void)state;
    REJECTED("--priority", "no DTLS version", "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.2");
}

static void test_hostname_longer_than_a_dns_name_is_rejected(void **state)
{
    char name[300];

    (void)state;
    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    REJECTED("--hostname", "at most 253", "-c", "--hostname", name);
}

static void test_error_quoting_a_value_with_a_newline_stays_one_line(void **state)
{
    struct command_line cl;

    (void)state;
    PARSE(&cl, "--port", "1\nerror: forged line");
    assert_int_equal(cl.rc, -1);
    assert_null(strchr(cl.err, '\n'));
    assert_non_null(strstr(cl.err, "--port"));
}

/* --- the load generator's options --- */

static void test_load_generator_options_fill_the_config(void **state)
{
    struct command_line cl;

    (void)state;
    PARSE(&cl, "-c", "--clients", "500", "--size", "1200", "--window", "8", "--rate", "100",
          "--duration", "30", "--interval", "250", "--threads", "4", "--json", "-n", "7");
    assert_accepted(&cl);
    assert_int_equal(cl.cfg.clients, 500);
    assert_int_equal(cl.cfg.size, 1200);
    assert_int_equal(cl.cfg.window, 8);
    assert_int_equal(cl.cfg.rate, 100);
    assert_int_equal(cl.cfg.duration_s, 30);
    assert_int_equal(cl.cfg.interval_ms, 250);
    assert_int_equal(cl.cfg.threads, 4);
    assert_true(cl.cfg.json);
    assert_true(cl.cfg.count_set);
    assert_int_equal(cl.cfg.count, 7);
}

static void test_load_generator_defaults(void **state)
{
    struct command_line cl;

    (void)state;
    PARSE(&cl, "-c", "--clients", "1");
    assert_accepted(&cl);
    assert_int_equal(cl.cfg.size, DEFAULT_LOAD_SIZE);
    assert_int_equal(cl.cfg.window, 1);
    assert_int_equal(cl.cfg.rate, 0);      /* all at once */
    assert_int_equal(cl.cfg.duration_s, 0);
    assert_int_equal(cl.cfg.threads, 0);   /* one per CPU */
    assert_false(cl.cfg.count_set);
    assert_int_equal(cl.cfg.count, DEFAULT_COUNT);
    assert_false(cl.cfg.plain);
    assert_false(cl.cfg.handshakes_only);
}

static void test_load_option_without_clients_is_rejected(void **state)
{
    (void)state;
    REJECTED("--window", "--clients", "-c", "--window", "4");
    REJECTED("--json", "--clients", "-c", "--json");
    REJECTED("--handshakes-only", "--clients", "-c", "--handshakes-only");
}

static void test_clients_on_the_server_is_rejected(void **state)
{
    (void)state;
    REJECTED("--clients", "add -c", "--clients", "4");
}

static void test_clients_with_a_message_is_rejected(void **state)
{
    (void)state;
    REJECTED("--message", "--clients", "-c", "--clients", "4", "-m", "hi");
    REJECTED("--resume", "--clients", "-c", "--clients", "4", "--resume");
}

static void test_size_below_the_header_is_rejected(void **state)
{
    (void)state;
    REJECTED("--size", "8 to 16384", "-c", "--clients", "4", "--size", "7");
    REJECTED("--size", "8 to 16384", "-c", "--clients", "4", "--size", "16385");
}

static void test_handshakes_only_with_echo_options_is_rejected(void **state)
{
    (void)state;
    REJECTED("--handshakes-only", "--size", "-c", "--clients", "4", "--handshakes-only",
             "--size", "64");
    REJECTED("--handshakes-only", "--plain", "-c", "--clients", "4", "--handshakes-only",
             "--plain");
}

static void test_clients_0_is_rejected(void **state)
{
    (void)state;
    REJECTED("--clients", "1 to 100000", "-c", "--clients", "0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_arguments_run_a_server_with_defaults),
        cmocka_unit_test(test_client_defaults_present_no_certificate),
        cmocka_unit_test(test_full_client_command_line_fills_every_field),
        cmocka_unit_test(test_long_client_options_equal_short_ones),
        cmocka_unit_test(test_client_cert_and_key_are_accepted_together),
        cmocka_unit_test(test_insecure_client_has_no_cafile),
        cmocka_unit_test(test_server_options_are_accepted_without_client_mode),
        cmocka_unit_test(test_server_cert_and_key_replace_the_defaults),
        cmocka_unit_test(test_port_limits_1_and_65535_are_accepted),
        cmocka_unit_test(test_one_v_is_debug),
        cmocka_unit_test(test_vv_and_v_v_are_trace),
        cmocka_unit_test(test_vvv_goes_past_trace_for_gnutls_log),
        cmocka_unit_test(test_q_is_errors_only),
        cmocka_unit_test(test_help_sets_the_help_action),
        cmocka_unit_test(test_version_sets_the_version_action),
        cmocka_unit_test(test_second_parse_starts_from_the_defaults),
        cmocka_unit_test(test_parse_after_a_rejection_starts_afresh),
        cmocka_unit_test(test_port_0_is_rejected),
        cmocka_unit_test(test_port_70000_is_rejected),
        cmocka_unit_test(test_port_abc_is_rejected),
        cmocka_unit_test(test_port_minus_1_is_rejected),
        cmocka_unit_test(test_port_with_trailing_text_is_rejected),
        cmocka_unit_test(test_count_minus_1_is_rejected),
        cmocka_unit_test(test_count_0_is_rejected),
        cmocka_unit_test(test_mtu_10_is_rejected),
        cmocka_unit_test(test_timeout_0_is_rejected),
        cmocka_unit_test(test_unknown_long_option_is_rejected),
        cmocka_unit_test(test_unknown_short_option_is_rejected),
        cmocka_unit_test(test_missing_value_at_the_end_is_rejected),
        cmocka_unit_test(test_missing_value_of_long_option_is_rejected),
        cmocka_unit_test(test_message_without_client_mode_is_rejected),
        cmocka_unit_test(test_count_without_client_mode_is_rejected),
        cmocka_unit_test(test_insecure_without_client_mode_is_rejected),
        cmocka_unit_test(test_max_clients_with_client_mode_is_rejected),
        cmocka_unit_test(test_require_client_cert_with_client_mode_is_rejected),
        cmocka_unit_test(test_verbose_with_quiet_is_rejected),
        cmocka_unit_test(test_empty_message_is_rejected),
        cmocka_unit_test(test_client_cert_without_key_is_rejected),
        cmocka_unit_test(test_insecure_with_cafile_is_rejected),
        cmocka_unit_test(test_unexpected_positional_argument_is_rejected),
        cmocka_unit_test(test_elsewhere_the_client_trusts_the_system_store),
        cmocka_unit_test(test_positional_host_and_port_fill_address_and_port),
        cmocka_unit_test(test_positional_host_takes_p_when_it_has_no_port),
        cmocka_unit_test(test_bad_positional_targets_are_rejected),
        cmocka_unit_test(test_alpn_srtp_and_pin_values_are_checked),
        cmocka_unit_test(test_4_and_6_choose_the_family_and_exclude_each_other),
        cmocka_unit_test(test_value_given_to_an_option_that_takes_none_is_rejected),
        cmocka_unit_test(test_ambiguous_abbreviation_is_rejected),
        cmocka_unit_test(test_port_led_by_whitespace_is_rejected),
        cmocka_unit_test(test_server_cert_without_key_is_rejected),
        cmocka_unit_test(test_psk_key_that_is_not_hex_is_rejected),
        cmocka_unit_test(test_psk_key_without_identity_is_rejected),
        cmocka_unit_test(test_anon_with_a_certificate_is_rejected),
        cmocka_unit_test(test_resume_without_message_is_rejected),
        cmocka_unit_test(test_pin_with_insecure_is_rejected),
        cmocka_unit_test(test_rawpk_key_without_pub_is_rejected),
        cmocka_unit_test(test_psk_server_presents_no_default_certificate),
        cmocka_unit_test(test_pinned_client_needs_no_ca_file),
        cmocka_unit_test(test_short_sha256_pin_is_rejected_by_the_parser),
        cmocka_unit_test(test_priority_without_dtls_is_rejected_by_the_parser),
        cmocka_unit_test(test_hostname_longer_than_a_dns_name_is_rejected),
        cmocka_unit_test(test_error_quoting_a_value_with_a_newline_stays_one_line),
        cmocka_unit_test(test_load_generator_options_fill_the_config),
        cmocka_unit_test(test_load_generator_defaults),
        cmocka_unit_test(test_load_option_without_clients_is_rejected),
        cmocka_unit_test(test_clients_on_the_server_is_rejected),
        cmocka_unit_test(test_clients_with_a_message_is_rejected),
        cmocka_unit_test(test_size_below_the_header_is_rejected),
        cmocka_unit_test(test_handshakes_only_with_echo_options_is_rejected),
        cmocka_unit_test(test_clients_0_is_rejected),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
