/* SPDX-License-Identifier: MIT */
/* histogram.c - see histogram.h. */
#include "histogram.h"

#include <math.h>

#define SUB (1u << HISTOGRAM_SUB_BITS)

static unsigned bucket_of(uint32_t value)
{
    unsigned shift;

    if (value < SUB)
        return value;
    shift = (unsigned)(31 - __builtin_clz(value)) - HISTOGRAM_SUB_BITS;
    return ((shift + 1) << HISTOGRAM_SUB_BITS) + (value >> shift) - SUB;
}

/* The largest value that falls in bucket. */
static uint32_t bucket_top(unsigned bucket)
{
    unsigned shift;

    if (bucket < SUB)
        return bucket;
    shift = (bucket >> HISTOGRAM_SUB_BITS) - 1;
    return (uint32_t)((((uint64_t)(bucket & (SUB - 1)) + SUB + 1) << shift) - 1);
}

void histogram_add(struct histogram *h, uint64_t value)
{
    uint32_t v = value > UINT32_MAX ? UINT32_MAX : (uint32_t)value;

    h->counts[bucket_of(v)]++;
    h->total++;
    if (v > h->max)
        h->max = v;
}

void histogram_merge(struct histogram *into, const struct histogram *from)
{
    unsigned i;

    for (i = 0; i < HISTOGRAM_BUCKETS; i++)
        into->counts[i] += from->counts[i];
    into->total += from->total;
    if (from->max > into->max)
        into->max = from->max;
}

uint32_t histogram_percentile(const struct histogram *h, double percent)
{
    uint64_t rank, seen = 0;
    unsigned i;

    if (h->total == 0)
        return 0;
    rank = (uint64_t)ceil(percent / 100.0 * (double)h->total);
    if (rank < 1)
        rank = 1;
    for (i = 0; i < HISTOGRAM_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank)
            return bucket_top(i) < h->max ? bucket_top(i) : h->max;
    }
    return h->max;
}
