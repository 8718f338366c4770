/* SPDX-License-Identifier: MIT */
/* rto.h - the client's retransmission timeout, the way TCP computes it (RFC 6298): a
 * smoothed round trip and its variation from the echoes that came back at the first try,
 * and a timeout that doubles on every resend of one message, up to a ceiling. So a lost
 * echo on a fast path costs milliseconds, not a fixed second, and many resends fit in the
 * time one used to take. Pure arithmetic: tests/unit/test_rto.c. */
#ifndef DTLS_ECHO_RTO_H
#define DTLS_ECHO_RTO_H

#include <stdint.h>

#define RTO_MIN_MS 50 /* below this a loaded machine's scheduling looks like loss */

struct rto {
    unsigned max_ms;     /* the ceiling, and the timeout before the first measurement */
    int64_t srtt_us;     /* smoothed round trip; 0: nothing measured yet */
    int64_t rttvar_us;
    unsigned rto_ms;
};

/* Starts with no measurement: the timeout is max_ms until the first sample. */
void rto_init(struct rto *rto, unsigned max_ms);

/* Adds the round trip of a message answered at its first try. */
void rto_sample(struct rto *rto, int64_t rtt_us);

/* How long to wait after the attempt-th send of one message (0: the first): the timeout
 * doubled attempt times, at most max_ms. */
unsigned rto_backoff_ms(const struct rto *rto, unsigned attempt);

#endif
