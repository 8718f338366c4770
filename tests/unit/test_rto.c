/* SPDX-License-Identifier: MIT */
/* test_rto.c - the client's retransmission timeout (RFC 6298): the ceiling before any
 * measurement, the timeout a fast path earns, the floor, and the doubling per resend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rto.h"

static void test_before_any_measurement_the_timeout_is_the_ceiling(void **state)
{
    struct rto rto;
    (void)state;

    rto_init(&rto, 1000);
    assert_int_equal(rto_backoff_ms(&rto, 0), 1000);
    assert_int_equal(rto_backoff_ms(&rto, 5), 1000);
}

static void test_a_fast_path_gets_the_floor_and_doubles_up_to_the_ceiling(void **state)
{
    struct rto rto;
    (void)state;

    rto_init(&rto, 1000);
    rto_sample(&rto, 60); /* 60 us: loopback */
    assert_int_equal(rto_backoff_ms(&rto, 0), RTO_MIN_MS);
    assert_int_equal(rto_backoff_ms(&rto, 1), 2 * RTO_MIN_MS);
    assert_int_equal(rto_backoff_ms(&rto, 2), 4 * RTO_MIN_MS);
    assert_int_equal(rto_backoff_ms(&rto, 10), 1000);
}

static void test_the_first_sample_gives_three_round_trips(void **state)
{
    struct rto rto;
    (void)state;

    rto_init(&rto, 5000);
    rto_sample(&rto, 100000); /* 100 ms: srtt 100, rttvar 50, rto = 100 + 4 * 50 */
    assert_int_equal(rto_backoff_ms(&rto, 0), 300);
}

static void test_steady_round_trips_shrink_the_variation(void **state)
{
    struct rto rto;
    int i;
    (void)state;

    rto_init(&rto, 5000);
    for (i = 0; i < 50; i++)
        rto_sample(&rto, 100000);
    assert_in_range(rto_backoff_ms(&rto, 0), 100, 110);
}

static void test_a_ceiling_below_the_floor_wins(void **state)
{
    struct rto rto;
    (void)state;

    rto_init(&rto, 10);
    rto_sample(&rto, 60);
    assert_int_equal(rto_backoff_ms(&rto, 0), 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_before_any_measurement_the_timeout_is_the_ceiling),
        cmocka_unit_test(test_a_fast_path_gets_the_floor_and_doubles_up_to_the_ceiling),
        cmocka_unit_test(test_the_first_sample_gives_three_round_trips),
        cmocka_unit_test(test_steady_round_trips_shrink_the_variation),
        cmocka_unit_test(test_a_ceiling_below_the_floor_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
