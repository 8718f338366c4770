/* SPDX-License-Identifier: MIT */
/* clock.h - the monotonic clock, in the units the rest of the code counts in. */
#ifndef DTLS_ECHO_CLOCK_H
#define DTLS_ECHO_CLOCK_H

#include <stdint.h>

/* Milliseconds, and microseconds, on the monotonic clock (never jumps with the date). */
int64_t clock_now_ms(void);
int64_t clock_now_us(void);

/* Milliseconds from now until deadline_ms (-1: none), clipped to [0, cap_ms]; cap_ms -1
 * means no cap. Returns -1 only when there is neither a deadline nor a cap: wait forever. */
int clock_ms_until(int64_t deadline_ms, int cap_ms);

#endif
