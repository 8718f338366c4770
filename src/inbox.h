/* SPDX-License-Identifier: MIT */
/* inbox.h - the one-socket server's queue of one session's datagrams: the listener reads
 * every datagram on the shared socket and puts an established peer's here; the session's
 * thread takes them out as its transport's reads. Bounded in bytes and allocated once per
 * session: a full inbox drops the datagram and counts it (UDP would have dropped it in a
 * full socket buffer), and nothing is allocated per datagram. One producer (the listener)
 * and one consumer (the session), under one mutex; the consumer sleeps on a condition
 * variable only when the inbox is empty, and the producer signals only then. */
#ifndef DTLS_ECHO_INBOX_H
#define DTLS_ECHO_INBOX_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Room for one datagram of the largest size UDP carries, or ~45 of a 1400-byte path MTU. */
#define INBOX_BYTES (64 * 1024 + 256)

struct inbox {
    pthread_mutex_t lock;
    pthread_cond_t readable;
    size_t head, used;       /* ring offsets: the oldest byte, and the bytes in use */
    unsigned count;          /* datagrams queued */
    int waiting;             /* the consumer sleeps on readable */
    int closed;              /* inbox_close: every wait returns at once */
    unsigned long dropped;   /* datagrams that found it full */
    unsigned char *ring;     /* INBOX_BYTES: each datagram a 4-byte length, then its bytes */
};

/* Returns 0, or -1 (out of memory or resources). */
int inbox_init(struct inbox *in);
void inbox_destroy(struct inbox *in);

/* Queues a datagram. Returns 0; 1 when the consumer sleeps on the empty inbox: call
 * inbox_wake (once, after the rest of a batch is queued: the session then wakes once and
 * finds all of it); or -1 when it does not fit (dropped and counted). */
int inbox_put(struct inbox *in, const void *data, size_t len);

/* Wakes the consumer inbox_put said sleeps. */
void inbox_wake(struct inbox *in);

/* Takes the oldest datagram into buf (truncated to size, as a socket read would), waiting
 * for one until deadline_ms on clock_now_ms()'s clock (0: no wait). Returns its length;
 * 0 once inbox_close was called (as a shut-down socket's read); -1 with errno EAGAIN when
 * none came in time. */
ssize_t inbox_take(struct inbox *in, void *buf, size_t size, int64_t deadline_ms);

/* Waits until a datagram is queued or the inbox is closed, for at most ms (as poll's
 * timeout: -1 forever). Returns 1 when one is queued (or it is closed), 0 on timeout. */
int inbox_wait(struct inbox *in, int ms);

/* Datagrams queued now. */
unsigned inbox_count(struct inbox *in);

/* Wakes the consumer for good: every wait and take returns at once (the server's stop). */
void inbox_close(struct inbox *in);

#endif
