/* SPDX-License-Identifier: MIT */
/* test_inbox.c - the one-socket server's per-session queue: datagrams come out whole and
 * in order across the ring's wrap, a full inbox drops and counts, a take truncates as a
 * socket read does, a timed take or wait ends at its deadline, and closing wakes a
 * consumer that sleeps (the server's stop). Real threads, no mock. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "inbox.h"

static void fill(unsigned char *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(seed * 31 + i);
}

static void test_datagrams_come_out_whole_and_in_order_across_the_wrap(void **state)
{
    static unsigned char in_buf[1500], out_buf[2000];
    struct inbox in;
    unsigned i;
    (void)state;

    assert_int_equal(inbox_init(&in), 0);
    /* 400 rounds of three datagrams of uneven sizes: the ring wraps many times, at every
     * offset, through a length prefix as well as through data. */
    for (i = 0; i < 400; i++) {
        size_t sizes[3] = {1 + i % 1400, 13, 1000 + i % 97};
        for (unsigned k = 0; k < 3; k++) {
            fill(in_buf, sizes[k], i * 3 + k);
            assert_int_equal(inbox_put(&in, in_buf, sizes[k]), 0);
        }
        assert_int_equal(inbox_count(&in), 3);
        for (unsigned k = 0; k < 3; k++) {
            fill(in_buf, sizes[k], i * 3 + k);
            assert_int_equal(inbox_take(&in, out_buf, sizeof(out_buf), 0), (ssize_t)sizes[k]);
            assert_memory_equal(out_buf, in_buf, sizes[k]);
        }
    }
    assert_int_equal(inbox_take(&in, out_buf, sizeof(out_buf), 0), -1);
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(in.dropped, 0);
    inbox_destroy(&in);
}

static void test_a_full_inbox_drops_and_counts_and_takes_more_once_read(void **state)
{
    static unsigned char buf[1400];
    struct inbox in;
    unsigned kept = 0, i;
    (void)state;

    assert_int_equal(inbox_init(&in), 0);
    for (i = 0; i < 100; i++)
        if (inbox_put(&in, buf, sizeof(buf)) == 0)
            kept++;
    /* Bounded in bytes: what fits, each datagram with its 4-byte length. */
    assert_int_equal(kept, INBOX_BYTES / (sizeof(buf) + 4));
    assert_int_equal(in.dropped, 100 - kept);
    assert_int_equal(inbox_take(&in, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
    assert_int_equal(inbox_put(&in, buf, sizeof(buf)), 0);
    assert_int_equal(inbox_put(&in, buf, sizeof(buf)), -1);
    /* The largest UDP payload fits an empty inbox. */
    while (inbox_take(&in, buf, sizeof(buf), 0) > 0)
        ;
    static unsigned char big[65507];
    assert_int_equal(inbox_put(&in, big, sizeof(big)), 0);
    inbox_destroy(&in);
}

static void test_a_take_truncates_as_a_socket_read_does(void **state)
{
    unsigned char buf[8];
    struct inbox in;
    (void)state;

    assert_int_equal(inbox_init(&in), 0);
    assert_int_equal(inbox_put(&in, "0123456789abcdef", 16), 0);
    assert_int_equal(inbox_put(&in, "next", 4), 0);
    assert_int_equal(inbox_take(&in, buf, sizeof(buf), 0), 8);
    assert_memory_equal(buf, "01234567", 8);
    assert_int_equal(inbox_take(&in, buf, sizeof(buf), 0), 4); /* the rest is gone */
    assert_memory_equal(buf, "next", 4);
    inbox_destroy(&in);
}

static void test_timed_takes_and_waits_end_at_their_deadline(void **state)
{
    unsigned char buf[8];
    struct inbox in;
    int64_t start;
    (void)state;

    assert_int_equal(inbox_init(&in), 0);
    start = clock_now_ms();
    assert_int_equal(inbox_take(&in, buf, sizeof(buf), start + 50), -1);
    assert_int_equal(errno, EAGAIN);
    assert_true(clock_now_ms() - start >= 50);
    start = clock_now_ms();
    assert_int_equal(inbox_wait(&in, 30), 0);
    assert_true(clock_now_ms() - start >= 30);
    assert_int_equal(inbox_put(&in, "x", 1), 0);
    assert_int_equal(inbox_wait(&in, 1000), 1);
    inbox_destroy(&in);
}

struct producer {
    struct inbox *in;
    int delay_ms;
    int close; /* close instead of putting */
};

static void *produce(void *arg)
{
    struct producer *p = arg;

    usleep((useconds_t)p->delay_ms * 1000);
    if (p->close)
        inbox_close(p->in);
    else if (inbox_put(p->in, "late", 4) == 1) /* the consumer sleeps: it must be told */
        inbox_wake(p->in);
    return NULL;
}

static void test_a_sleeping_consumer_wakes_for_a_datagram_and_for_the_close(void **state)
{
    unsigned char buf[8];
    struct inbox in;
    struct producer p = {.in = &in, .delay_ms = 50};
    pthread_t thread;
    int64_t start;
    (void)state;

    assert_int_equal(inbox_init(&in), 0);
    assert_int_equal(pthread_create(&thread, NULL, produce, &p), 0);
    start = clock_now_ms();
    assert_int_equal(inbox_take(&in, buf, sizeof(buf), start + 5000), 4);
    assert_true(clock_now_ms() - start < 4000);
    pthread_join(thread, NULL);

    p.close = 1;
    assert_int_equal(pthread_create(&thread, NULL, produce, &p), 0);
    start = clock_now_ms();
    assert_int_equal(inbox_take(&in, buf, sizeof(buf), start + 5000), 0); /* closed */
    assert_true(clock_now_ms() - start < 4000);
    pthread_join(thread, NULL);
    assert_int_equal(inbox_wait(&in, -1), 1); /* closed: never waits again */
    inbox_destroy(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_datagrams_come_out_whole_and_in_order_across_the_wrap),
        cmocka_unit_test(test_a_full_inbox_drops_and_counts_and_takes_more_once_read),
        cmocka_unit_test(test_a_take_truncates_as_a_socket_read_does),
        cmocka_unit_test(test_timed_takes_and_waits_end_at_their_deadline),
        cmocka_unit_test(test_a_sleeping_consumer_wakes_for_a_datagram_and_for_the_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
