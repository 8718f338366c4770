/* SPDX-License-Identifier: MIT */
/* inbox.c - one session's datagrams, queued by the one-socket server's listener: a ring
 * of bytes, each datagram a 4-byte length then its bytes, wrapping as it must. */
#include "inbox.h"

#include <errno.h>
#include <string.h>

#include "clock.h"
#include "platform.h"

#define LEN_BYTES 4

int inbox_init(struct inbox *in)
{
    memset(in, 0, sizeof(*in));
    in->ring = platform_alloc_pages(INBOX_BYTES);
    if (in->ring == NULL)
        return -1;
    if (pthread_mutex_init(&in->lock, NULL) != 0) {
        platform_free_pages(in->ring, INBOX_BYTES);
        return -1;
    }
    if (platform_cond_init(&in->readable) != 0) {
        pthread_mutex_destroy(&in->lock);
        platform_free_pages(in->ring, INBOX_BYTES);
        return -1;
    }
    return 0;
}

void inbox_destroy(struct inbox *in)
{
    pthread_cond_destroy(&in->readable);
    pthread_mutex_destroy(&in->lock);
    platform_free_pages(in->ring, INBOX_BYTES);
    in->ring = NULL;
}

/* Copies len bytes into the ring at offset at, wrapping. */
static void ring_write(struct inbox *in, size_t at, const void *data, size_t len)
{
    size_t first = len < INBOX_BYTES - at ? len : INBOX_BYTES - at;

    memcpy(in->ring + at, data, first);
    memcpy(in->ring, (const unsigned char *)data + first, len - first);
}

/* Copies len bytes out of the ring from offset at, wrapping; copies only the first
 * keep of them into out. */
static void ring_read(const struct inbox *in, size_t at, void *out, size_t len, size_t keep)
{
    size_t first = len < INBOX_BYTES - at ? len : INBOX_BYTES - at;

    if (keep > len)
        keep = len;
    memcpy(out, in->ring + at, first < keep ? first : keep);
    if (keep > first)
        memcpy((unsigned char *)out + first, in->ring, keep - first);
}

int inbox_put(struct inbox *in, const void *data, size_t len)
{
    uint32_t n = (uint32_t)len;
    int wake;

    pthread_mutex_lock(&in->lock);
    if (in->used + LEN_BYTES + len > INBOX_BYTES) {
        in->dropped++;
        pthread_mutex_unlock(&in->lock);
        return -1;
    }
    size_t tail = (in->head + in->used) % INBOX_BYTES;
    ring_write(in, tail, &n, LEN_BYTES);
    ring_write(in, (tail + LEN_BYTES) % INBOX_BYTES, data, len);
    in->used += LEN_BYTES + len;
    in->count++;
    wake = in->waiting;
    in->waiting = 0; /* one wake-up, however many datagrams come before it */
    pthread_mutex_unlock(&in->lock);
    return wake;
}

void inbox_wake(struct inbox *in)
{
    pthread_cond_signal(&in->readable);
}

/* Waits (lock held) while the inbox is empty and open, until deadline_ms (< 0: forever).
 * Returns 0, or ETIMEDOUT. */
static int wait_locked(struct inbox *in, int64_t deadline_ms)
{
    int rc = 0;

    while (in->count == 0 && !in->closed && rc == 0) {
        in->waiting = 1;
        if (deadline_ms < 0)
            rc = pthread_cond_wait(&in->readable, &in->lock);
        else
            rc = platform_cond_wait_until(&in->readable, &in->lock, deadline_ms);
    }
    in->waiting = 0;
    return rc;
}

ssize_t inbox_take(struct inbox *in, void *buf, size_t size, int64_t deadline_ms)
{
    uint32_t n;

    pthread_mutex_lock(&in->lock);
    if (deadline_ms > 0)
        wait_locked(in, deadline_ms);
    if (in->closed) {
        pthread_mutex_unlock(&in->lock);
        return 0;
    }
    if (in->count == 0) {
        pthread_mutex_unlock(&in->lock);
        errno = EAGAIN;
        return -1;
    }
    ring_read(in, in->head, &n, LEN_BYTES, LEN_BYTES);
    ring_read(in, (in->head + LEN_BYTES) % INBOX_BYTES, buf, n, size);
    in->head = (in->head + LEN_BYTES + n) % INBOX_BYTES;
    in->used -= LEN_BYTES + n;
    in->count--;
    pthread_mutex_unlock(&in->lock);
    return (ssize_t)(n < size ? n : size);
}

int inbox_wait(struct inbox *in, int ms)
{
    int ready;

    pthread_mutex_lock(&in->lock);
    if (ms != 0)
        wait_locked(in, ms < 0 ? -1 : clock_now_ms() + ms);
    ready = in->count > 0 || in->closed;
    pthread_mutex_unlock(&in->lock);
    return ready;
}

unsigned inbox_count(struct inbox *in)
{
    unsigned count;

    pthread_mutex_lock(&in->lock);
    count = in->count;
    pthread_mutex_unlock(&in->lock);
    return count;
}

void inbox_close(struct inbox *in)
{
    pthread_mutex_lock(&in->lock);
    in->closed = 1;
    pthread_mutex_unlock(&in->lock);
    pthread_cond_broadcast(&in->readable);
}
