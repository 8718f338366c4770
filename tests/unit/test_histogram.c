/* SPDX-License-Identifier: MIT */
/* test_histogram.c - the load generator's latency histogram: exact below 128, within 1%
 * above, percentiles never above the largest value, merging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "histogram.h"

static struct histogram *new_histogram(void)
{
    struct histogram *h = calloc(1, sizeof(*h));

    assert_non_null(h);
    return h;
}

static void assert_within_1_percent(uint32_t got, uint32_t want)
{
    double error = (double)got > want ? (double)got - want : (double)want - got;

    if (error > want / 100.0)
        fail_msg("%u is not within 1%% of %u", got, want);
}

static void test_empty_histogram_reports_0(void **state)
{
    struct histogram *h = new_histogram();

    (void)state;
    assert_int_equal(histogram_percentile(h, 50), 0);
    assert_int_equal(histogram_percentile(h, 99), 0);
    assert_int_equal(h->max, 0);
    free(h);
}

static void test_small_values_are_exact(void **state)
{
    struct histogram *h = new_histogram();
    uint32_t v;

    (void)state;
    for (v = 1; v <= 100; v++)
        histogram_add(h, v);
    assert_int_equal(h->total, 100);
    assert_int_equal(histogram_percentile(h, 50), 50);
    assert_int_equal(histogram_percentile(h, 99), 99);
    assert_int_equal(histogram_percentile(h, 100), 100);
    assert_int_equal(h->max, 100);
    free(h);
}

static void test_large_values_are_within_1_percent(void **state)
{
    struct histogram *h = new_histogram();
    uint32_t v;

    (void)state;
    for (v = 1; v <= 100000; v++)
        histogram_add(h, (uint64_t)v * 37); /* 37 us .. 3.7 s */
    assert_within_1_percent(histogram_percentile(h, 50), 50000 * 37);
    assert_within_1_percent(histogram_percentile(h, 99), 99000 * 37);
    assert_int_equal(histogram_percentile(h, 100), 100000 * 37);
    free(h);
}

static void test_percentile_never_exceeds_the_largest_value(void **state)
{
    struct histogram *h = new_histogram();

    (void)state;
    histogram_add(h, 1000001); /* the top of its bucket is larger */
    assert_int_equal(histogram_percentile(h, 99), 1000001);
    assert_int_equal(h->max, 1000001);
    free(h);
}

static void test_one_slow_value_in_100_is_p99_not_p50(void **state)
{
    struct histogram *h = new_histogram();
    int i;

    (void)state;
    for (i = 0; i < 99; i++)
        histogram_add(h, 200);
    histogram_add(h, 1000000);
    assert_within_1_percent(histogram_percentile(h, 50), 200);
    assert_within_1_percent(histogram_percentile(h, 99), 200);
    assert_int_equal(histogram_percentile(h, 99.5), 1000000);
    free(h);
}

static void test_huge_values_clamp_instead_of_wrapping(void **state)
{
    struct histogram *h = new_histogram();

    (void)state;
    histogram_add(h, (uint64_t)1 << 40);
    assert_int_equal(h->max, UINT32_MAX);
    assert_int_equal(histogram_percentile(h, 50), UINT32_MAX);
    free(h);
}

static void test_merge_adds_counts_and_keeps_the_max(void **state)
{
    struct histogram *a = new_histogram(), *b = new_histogram();
    int i;

    (void)state;
    for (i = 0; i < 50; i++) {
        histogram_add(a, 10);
        histogram_add(b, 20);
    }
    histogram_add(b, 5000);
    histogram_merge(a, b);
    assert_int_equal(a->total, 101);
    assert_int_equal(a->max, 5000);
    assert_int_equal(histogram_percentile(a, 40), 10);
    assert_int_equal(histogram_percentile(a, 60), 20);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_histogram_reports_0),
        cmocka_unit_test(test_small_values_are_exact),
        cmocka_unit_test(test_large_values_are_within_1_percent),
        cmocka_unit_test(test_percentile_never_exceeds_the_largest_value),
        cmocka_unit_test(test_one_slow_value_in_100_is_p99_not_p50),
        cmocka_unit_test(test_huge_values_clamp_instead_of_wrapping),
        cmocka_unit_test(test_merge_adds_counts_and_keeps_the_max),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
