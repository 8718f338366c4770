/* SPDX-License-Identifier: MIT */
/* test_platform.c - the platform seam (platform.h), built twice: against Linux's path
 * (test_platform) and the portable one (test_platform_posix, -DDTLS_ECHO_PORTABLE, what
 * macOS runs). The batch reader takes what queued, in order, with each sender, and no
 * more than asked; waiting for one returns once one came; the batch writer sends in
 * order; the timed wait ends at its deadline on the monotonic clock, or when signalled;
 * the poller reports the readable descriptors' pointers, and no removed one. Real
 * sockets on loopback. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "platform.h"
#include "sockets.h"

#define SLOTS 8

/* A UDP socket bound to 127.0.0.1, any port, with its address in *addr. */
static int loopback_socket(struct sockaddr_in *addr)
{
    socklen_t len = sizeof(*addr);
    int fd = platform_udp_socket(AF_INET, 0);

    assert_true(fd >= 0);
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)addr, sizeof(*addr)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)addr, &len), 0);
    return fd;
}

struct batch {
    struct dgram_msg msgs[SLOTS];
    struct iovec iov[SLOTS];
    struct sockaddr_in from[SLOTS];
    char data[SLOTS][64];
};

static void batch_prepare(struct batch *b)
{
    unsigned i;

    memset(b, 0, sizeof(*b));
    for (i = 0; i < SLOTS; i++) {
        b->iov[i].iov_base = b->data[i];
        b->iov[i].iov_len = sizeof(b->data[i]);
        b->msgs[i].hdr.msg_iov = &b->iov[i];
        b->msgs[i].hdr.msg_iovlen = 1;
        b->msgs[i].hdr.msg_name = &b->from[i];
        b->msgs[i].hdr.msg_namelen = sizeof(b->from[i]);
    }
}

static void test_the_batch_reader_takes_what_queued_in_order_with_each_sender(void **state)
{
    struct sockaddr_in server, client;
    int rx = loopback_socket(&server), tx = loopback_socket(&client), n, i;
    struct batch b;
    char text[16];
    (void)state;

    for (i = 0; i < 5; i++) {
        snprintf(text, sizeof(text), "datagram %d", i);
        assert_int_equal(sendto(tx, text, strlen(text), 0, (struct sockaddr *)&server,
                                sizeof(server)), (ssize_t)strlen(text));
    }
    batch_prepare(&b);
    n = dgram_recv_many(rx, b.msgs, 3, DGRAM_DONTWAIT); /* no more than asked */
    assert_int_equal(n, 3);
    batch_prepare(&b);
    n = dgram_recv_many(rx, b.msgs, SLOTS, DGRAM_DONTWAIT);
    assert_int_equal(n, 2);
    for (i = 0; i < n; i++) {
        snprintf(text, sizeof(text), "datagram %d", i + 3);
        assert_int_equal(b.msgs[i].len, strlen(text));
        assert_memory_equal(b.data[i], text, strlen(text));
        assert_int_equal(b.from[i].sin_port, client.sin_port);
    }
    batch_prepare(&b);
    errno = 0;
    assert_int_equal(dgram_recv_many(rx, b.msgs, SLOTS, DGRAM_DONTWAIT), -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    close(rx);
    close(tx);
}

static void test_waiting_for_one_returns_once_one_came_and_times_out_without(void **state)
{
    struct sockaddr_in server, client;
    int rx = loopback_socket(&server), tx = loopback_socket(&client);
    struct timeval wait = {.tv_sec = 0, .tv_usec = 200000};
    struct batch b;
    int64_t started;
    (void)state;

    assert_int_equal(setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait)), 0);
    batch_prepare(&b);
    started = clock_now_ms();
    assert_int_equal(dgram_recv_many(rx, b.msgs, SLOTS, DGRAM_WAITFORONE), -1);
    assert_true(clock_now_ms() - started >= 150); /* it waited, within SO_RCVTIMEO */
    assert_int_equal(sendto(tx, "one", 3, 0, (struct sockaddr *)&server, sizeof(server)), 3);
    batch_prepare(&b);
    assert_int_equal(dgram_recv_many(rx, b.msgs, SLOTS, DGRAM_WAITFORONE), 1);
    assert_memory_equal(b.data[0], "one", 3);
    close(rx);
    close(tx);
}

static void test_the_batch_writer_sends_every_datagram_in_order(void **state)
{
    struct sockaddr_in server, client;
    int rx = loopback_socket(&server), tx = loopback_socket(&client), i;
    struct batch out, in;
    (void)state;

    assert_int_equal(connect(tx, (struct sockaddr *)&server, sizeof(server)), 0);
    batch_prepare(&out);
    for (i = 0; i < 4; i++) {
        out.data[i][0] = (char)('a' + i);
        out.iov[i].iov_len = 1;
        out.msgs[i].hdr.msg_name = NULL;
        out.msgs[i].hdr.msg_namelen = 0;
    }
    assert_int_equal(dgram_send_many(tx, out.msgs, 4), 4);
    batch_prepare(&in);
    assert_int_equal(dgram_recv_many(rx, in.msgs, SLOTS, DGRAM_DONTWAIT), 4);
    for (i = 0; i < 4; i++)
        assert_int_equal(in.data[i][0], 'a' + i);
    close(rx);
    close(tx);
}

struct signaller {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int flag;
};

static void *signal_later(void *arg)
{
    struct signaller *sig = arg;

    usleep(50000);
    pthread_mutex_lock(&sig->lock);
    sig->flag = 1;
    pthread_cond_signal(&sig->cond);
    pthread_mutex_unlock(&sig->lock);
    return NULL;
}

static void test_the_timed_wait_ends_at_its_deadline_or_when_signalled(void **state)
{
    struct signaller sig = {.lock = PTHREAD_MUTEX_INITIALIZER, .flag = 0};
    pthread_t thread;
    int64_t started, took;
    (void)state;

    assert_int_equal(platform_cond_init(&sig.cond), 0);
    pthread_mutex_lock(&sig.lock);
    started = clock_now_ms();
    assert_int_equal(platform_cond_wait_until(&sig.cond, &sig.lock, started + 120), ETIMEDOUT);
    took = clock_now_ms() - started;
    assert_true(took >= 110 && took < 1000);
    /* A deadline already past returns at once. */
    assert_int_equal(platform_cond_wait_until(&sig.cond, &sig.lock, clock_now_ms() - 5),
                     ETIMEDOUT);
    assert_int_equal(pthread_create(&thread, NULL, signal_later, &sig), 0);
    started = clock_now_ms();
    while (!sig.flag)
        if (platform_cond_wait_until(&sig.cond, &sig.lock, started + 5000) == ETIMEDOUT)
            break;
    assert_true(sig.flag);
    assert_true(clock_now_ms() - started < 4000);
    pthread_mutex_unlock(&sig.lock);
    pthread_join(thread, NULL);
    pthread_cond_destroy(&sig.cond);
}

static void test_the_poller_reports_readable_descriptors_and_forgets_removed_ones(void **state)
{
    struct sockaddr_in a_addr, b_addr, client;
    int a = loopback_socket(&a_addr), b = loopback_socket(&b_addr),
        tx = loopback_socket(&client), marks[2];
    struct poller *p = poller_new(4);
    void *ready[4];
    (void)state;

    assert_non_null(p);
    assert_int_equal(poller_add(p, a, &marks[0]), 0);
    assert_int_equal(poller_add(p, b, &marks[1]), 0);
    assert_int_equal(poller_wait(p, ready, 4, 0), 0);
    assert_int_equal(sendto(tx, "x", 1, 0, (struct sockaddr *)&b_addr, sizeof(b_addr)), 1);
    assert_int_equal(poller_wait(p, ready, 4, 1000), 1);
    assert_ptr_equal(ready[0], &marks[1]);
    assert_int_equal(poller_remove(p, b), 0);
    assert_int_equal(poller_wait(p, ready, 4, 50), 0); /* b still readable, but gone */
    assert_int_equal(sendto(tx, "y", 1, 0, (struct sockaddr *)&a_addr, sizeof(a_addr)), 1);
    assert_int_equal(poller_wait(p, ready, 4, 1000), 1);
    assert_ptr_equal(ready[0], &marks[0]);
    poller_free(p);
    close(a);
    close(b);
    close(tx);
}

static void test_the_pipe_is_close_on_exec_and_non_blocking_when_asked(void **state)
{
    int fds[2];
    char byte;
    (void)state;

    assert_int_equal(platform_pipe(fds, 1), 0);
    errno = 0;
    assert_int_equal(read(fds[0], &byte, 1), -1);
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(write(fds[1], "z", 1), 1);
    assert_int_equal(read(fds[0], &byte, 1), 1);
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_batch_reader_takes_what_queued_in_order_with_each_sender),
        cmocka_unit_test(test_waiting_for_one_returns_once_one_came_and_times_out_without),
        cmocka_unit_test(test_the_batch_writer_sends_every_datagram_in_order),
        cmocka_unit_test(test_the_timed_wait_ends_at_its_deadline_or_when_signalled),
        cmocka_unit_test(test_the_poller_reports_readable_descriptors_and_forgets_removed_ones),
        cmocka_unit_test(test_the_pipe_is_close_on_exec_and_non_blocking_when_asked),
    };

    fprintf(stderr, "platform: %s\n", platform_name());
    return cmocka_run_group_tests(tests, NULL, NULL);
}
