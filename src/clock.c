/* SPDX-License-Identifier: MIT */
/* clock.c - the monotonic clock. */
#include "clock.h"

#include <time.h>

int64_t clock_now_us(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

int64_t clock_now_ms(void)
{
    return clock_now_us() / 1000;
}

int clock_ms_until(int64_t deadline_ms, int cap_ms)
{
    int64_t left;

    if (deadline_ms < 0)
        return cap_ms;
    left = deadline_ms - clock_now_ms();
    if (left < 0)
        left = 0;
    if (cap_ms >= 0 && left > cap_ms)
        left = cap_ms;
    return (int)left;
}
