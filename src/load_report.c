/* SPDX-License-Identifier: MIT */
/* load_report.c - merging the workers' counts, the summary, the exit code. */
#include "load_report.h"

#include <stdio.h>

static const char *const failure_text[FAILURE_KINDS] = {
    "handshake timeout", "handshake failed", "connection refused",
    "lost echo", "wrong echo", "closed by the server",
};
static const char *const failure_key[FAILURE_KINDS] = {
    "handshake_timeout", "handshake_failed", "refused", "lost_echo", "wrong_echo", "closed",
};


static void earliest(int64_t *into, int64_t t)
{
    if (t != 0 && (*into == 0 || t < *into))
        *into = t;
}

static void latest(int64_t *into, int64_t t)
{
    if (t > *into)
        *into = t;
}

void load_counts_add(struct load_counts *into, const struct load_counts *from)
{
    unsigned f;

    histogram_merge(&into->handshake_us, &from->handshake_us);
    histogram_merge(&into->rtt_us, &from->rtt_us);
    for (f = 0; f < FAILURE_KINDS; f++)
        into->failures[f] += from->failures[f];
    into->late += from->late;
    into->unfinished += from->unfinished;
    into->handshakes += from->handshakes;
    into->echoes += from->echoes;
    into->bytes += from->bytes;
    earliest(&into->first_handshake_us, from->first_handshake_us);
    latest(&into->last_handshake_us, from->last_handshake_us);
    earliest(&into->first_echo_us, from->first_echo_us);
    latest(&into->last_echo_us, from->last_echo_us);
}

/* All the failures, of every kind. */
static unsigned long failed(const struct load_counts *t)
{
    unsigned long total = 0;
    unsigned f;

    for (f = 0; f < FAILURE_KINDS; f++)
        total += t->failures[f];
    return total;
}

static double per_second(unsigned long long count, int64_t from_us, int64_t to_us)
{
    return to_us > from_us ? (double)count * 1e6 / (double)(to_us - from_us) : 0.0;
}

static double ms(uint32_t us)
{
    return us / 1000.0;
}

/* Seconds from first to last (0 when there was at most one). */
static double span_s(uint64_t from_us, uint64_t to_us)
{
    return to_us > from_us ? (double)(to_us - from_us) / 1e6 : 0.0;
}

void load_report_print(const struct config *cfg, const char *server_text, unsigned threads,
                       const struct load_counts *t, double elapsed_s, int exit_code)
{
    double hs_rate = per_second(t->handshakes, t->first_handshake_us, t->last_handshake_us);
    double echo_rate = per_second(t->echoes, t->first_echo_us, t->last_echo_us);
    double hs_span = span_s(t->first_handshake_us, t->last_handshake_us);
    double echo_span = span_s(t->first_echo_us, t->last_echo_us);
    double mb_rate = per_second(t->bytes, t->first_echo_us, t->last_echo_us) / 1e6;
    unsigned f;
    int first;

    if (cfg->json) {
        printf("{\"server\": \"%s\", \"mode\": \"%s\", \"clients\": %u, \"threads\": %u, "
               "\"size\": %u, \"window\": %u, \"elapsed_s\": %.3f, \"exit_code\": %d, "
               "\"handshakes\": {\"count\": %lu, \"per_s\": %.1f, \"over_s\": %.6f, "
               "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f}, "
               "\"echoes\": {\"count\": %llu, \"per_s\": %.1f, \"over_s\": %.6f, "
               "\"mb_per_s\": %.3f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f}, "
               "\"late_echoes\": %lu, \"unfinished_handshakes\": %lu, \"failures\": {",
               server_text, cfg->plain ? "plain" : "dtls", cfg->clients, threads,
               cfg->size, cfg->window, elapsed_s, exit_code, t->handshakes, hs_rate, hs_span,
               ms(histogram_percentile(&t->handshake_us, 50)),
               ms(histogram_percentile(&t->handshake_us, 99)), ms(t->handshake_us.max),
               t->echoes, echo_rate, echo_span, mb_rate,
               ms(histogram_percentile(&t->rtt_us, 50)),
               ms(histogram_percentile(&t->rtt_us, 99)), ms(t->rtt_us.max), t->late,
               t->unfinished);
        for (f = 0; f < FAILURE_KINDS; f++)
            printf("\"%s\": %lu, ", failure_key[f], t->failures[f]);
        printf("\"total\": %lu}}\n", failed(t));
        return;
    }
    printf("%u %s session%s to %s over %u thread%s, %.3f s\n", cfg->clients,
           cfg->plain ? "plain UDP" : "DTLS", cfg->clients == 1 ? "" : "s", server_text,
           threads, threads == 1 ? "" : "s", elapsed_s);
    if (!cfg->plain)
        printf("handshakes: %lu, %.1f/s over %.3f s; latency p50 %.3f ms, p99 %.3f ms, "
               "max %.3f ms\n",
               t->handshakes, hs_rate, hs_span, ms(histogram_percentile(&t->handshake_us, 50)),
               ms(histogram_percentile(&t->handshake_us, 99)), ms(t->handshake_us.max));
    if (!cfg->handshakes_only)
        printf("echoes: %llu of %u bytes, %.1f/s over %.3f s, %.3f MB/s; round trip p50 "
               "%.3f ms, p99 %.3f ms, max %.3f ms\n",
               t->echoes, cfg->size, echo_rate, echo_span, mb_rate,
               ms(histogram_percentile(&t->rtt_us, 50)),
               ms(histogram_percentile(&t->rtt_us, 99)), ms(t->rtt_us.max));
    if (t->late > 0)
        printf("late or duplicate echoes (not counted): %lu\n", t->late);
    if (t->unfinished > 0)
        printf("handshakes still under way when the run ended: %lu\n", t->unfinished);
    if (failed(t) == 0) {
        printf("failures: none\n");
        return;
    }
    printf("failures: %lu (", failed(t));
    for (f = 0, first = 1; f < FAILURE_KINDS; f++)
        if (t->failures[f] > 0) {
            printf("%s%s: %lu", first ? "" : ", ", failure_text[f], t->failures[f]);
            first = 0;
        }
    printf(")\n");
}

/* The exit code for what failed: the most telling kind wins. */
int load_report_exit_code(const struct load_counts *t)
{
    if (t->failures[FAIL_WRONG_ECHO] > 0)
        return EXIT_MISMATCH;
    if (t->failures[FAIL_HANDSHAKE] > 0)
        return EXIT_HANDSHAKE;
    if (failed(t) > 0)
        return t->failures[FAIL_CLOSED] > 0 && failed(t) == t->failures[FAIL_CLOSED]
                   ? EXIT_RUNTIME
                   : EXIT_TIMEOUT;
    if (t->handshakes == 0 && t->unfinished > 0)
        return EXIT_TIMEOUT; /* --duration ended before any handshake did */
    return EXIT_OK;
}

