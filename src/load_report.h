/* SPDX-License-Identifier: MIT */
/* load_report.h - what the load generator counts, per worker and merged, the summary it
 * prints (text or JSON), and the exit code the counts come to. */
#ifndef DTLS_ECHO_LOAD_REPORT_H
#define DTLS_ECHO_LOAD_REPORT_H

#include <stdint.h>

#include "histogram.h"
#include "options.h"

/* What went wrong with a session or an echo. */
enum failure {
    FAIL_HANDSHAKE_TIMEOUT,
    FAIL_HANDSHAKE,
    FAIL_REFUSED,
    FAIL_LOST_ECHO,
    FAIL_WRONG_ECHO,
    FAIL_CLOSED,
    FAILURE_KINDS
};

/* One worker's counts, or every worker's merged. */
struct load_counts {
    struct histogram handshake_us, rtt_us;
    unsigned long failures[FAILURE_KINDS];
    unsigned long late;       /* echoes of an echo already counted lost, or duplicates */
    unsigned long unfinished; /* handshakes under way when the run ended */
    unsigned long handshakes;
    unsigned long long echoes, bytes;
    int64_t first_handshake_us, last_handshake_us, first_echo_us, last_echo_us;
};

/* Adds the counts of from into into. */
void load_counts_add(struct load_counts *into, const struct load_counts *from);

/* Prints the summary of a run of cfg against server_text over threads workers: text, or
 * one JSON object with --json, which holds exit_code, the run's exit code (as the client's
 * --json does). Each rate says over what time it ran: from the first completion (handshake
 * or echo) to the last. */
void load_report_print(const struct config *cfg, const char *server_text, unsigned threads,
                       const struct load_counts *t, double elapsed_s, int exit_code);

/* The exit code for what failed: the most telling kind wins. */
int load_report_exit_code(const struct load_counts *t);

#endif
