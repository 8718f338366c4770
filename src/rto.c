/* SPDX-License-Identifier: MIT */
/* rto.c - RFC 6298's retransmission timeout, in milliseconds. */
#include "rto.h"

void rto_init(struct rto *rto, unsigned max_ms)
{
    rto->max_ms = max_ms;
    rto->srtt_us = 0;
    rto->rttvar_us = 0;
    rto->rto_ms = max_ms;
}

void rto_sample(struct rto *rto, int64_t rtt_us)
{
    int64_t delta, rto_us;

    if (rtt_us < 1)
        rtt_us = 1;
    if (rto->srtt_us == 0) {
        rto->srtt_us = rtt_us;
        rto->rttvar_us = rtt_us / 2;
    } else {
        delta = rto->srtt_us > rtt_us ? rto->srtt_us - rtt_us : rtt_us - rto->srtt_us;
        rto->rttvar_us = (3 * rto->rttvar_us + delta) / 4;
        rto->srtt_us = (7 * rto->srtt_us + rtt_us) / 8;
    }
    rto_us = rto->srtt_us + 4 * rto->rttvar_us;
    rto->rto_ms = (unsigned)((rto_us + 999) / 1000);
    if (rto->rto_ms < RTO_MIN_MS)
        rto->rto_ms = RTO_MIN_MS;
    if (rto->rto_ms > rto->max_ms)
        rto->rto_ms = rto->max_ms;
}

unsigned rto_backoff_ms(const struct rto *rto, unsigned attempt)
{
    uint64_t ms = rto->rto_ms;

    while (attempt-- > 0 && ms < rto->max_ms)
        ms *= 2;
    return ms < rto->max_ms ? (unsigned)ms : rto->max_ms;
}
