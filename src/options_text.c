/* SPDX-License-Identifier: MIT */
/* options_text.c - what is written from the option table: --help, the man page's OPTIONS
 * and EXIT STATUS sections, and the fuzzer's dictionary. The exit codes' meanings live
 * here, once. */
#include "options_table.h"

#include <stdio.h>
#include <string.h>

#include "session.h"

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
        for (i = 0; i < option_table_count; i++)
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
        for (i = 0; i < option_table_count; i++) {
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
    for (i = 0; i < option_table_count; i++) {
        const struct option_spec *spec = &option_table[i];
        fprintf(out, "\"--%s\"\n", spec->name);
        if (spec->short_name != 0)
            fprintf(out, "\"-%c\"\n", spec->short_name);
        if (spec->type == FIELD_UINT || spec->type == FIELD_ULONG)
            fprintf(out, "\"%lu\"\n\"%lu\"\n\"%lu\"\n", spec->min, spec->max, spec->max + 1);
    }
    fprintf(out, "\"sha256:\"\n\"NORMAL:-VERS-ALL:+VERS-DTLS1.2\"\n\"=\"\n\"-\"\n");
}
