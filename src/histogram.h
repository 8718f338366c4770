/* SPDX-License-Identifier: MIT */
/* histogram.h - latency histogram: constant memory, constant-time add, percentiles within
 * 1% (HdrHistogram's log-linear buckets: 128 linear steps in every power of two). */
#ifndef DTLS_ECHO_HISTOGRAM_H
#define DTLS_ECHO_HISTOGRAM_H

#include <stdint.h>

#define HISTOGRAM_SUB_BITS 7
#define HISTOGRAM_BUCKETS ((32 - HISTOGRAM_SUB_BITS + 1) << HISTOGRAM_SUB_BITS)

struct histogram {
    uint64_t counts[HISTOGRAM_BUCKETS];
    uint64_t total;
    uint32_t max;
};

/* Counts one value (values above 2^32 - 1 count as that). */
void histogram_add(struct histogram *h, uint64_t value);

/* Adds every count of from into into. */
void histogram_merge(struct histogram *into, const struct histogram *from);

/* The value at or below which percent (0-100] of the values lie, exact below 128 and
 * within 1% above; 0 for an empty histogram. Never more than the largest value. */
uint32_t histogram_percentile(const struct histogram *h, double percent);

#endif
