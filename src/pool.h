/* SPDX-License-Identifier: MIT */
/* pool.h - the server's session threads. A thread serves one job (a client) after
 * another: when a job ends it waits a while for the next before it exits. Under handshake
 * churn that saves a thread creation, its fresh stack pages and GnuTLS's per-thread
 * set-up for every session (README: Performance). */
#ifndef DTLS_ECHO_POOL_H
#define DTLS_ECHO_POOL_H

#include <pthread.h>
#include <stdatomic.h>

/* Embedded in what is served (the server's struct client); the pool keeps nothing in it. */
struct pool_job {
};

struct pool_thread;

struct pool {
    void (*serve)(struct pool_job *job); /* runs one job to its end */
    int wake_read_fd;        /* the owner's wake pipe: a byte is written to it ... */
    int wake_write_fd;       /* ... when a thread exits, so the owner reaps it */
    unsigned linger_s;       /* how long a thread waits for its next job ... */
    unsigned floor;          /* ... unless no more than this many threads are alive */
    atomic_int stopping;
    pthread_attr_t attr;
    pthread_mutex_t lock;    /* guards what follows */
    struct pool_thread *parked_top; /* threads waiting for a job, the last parked first */
    unsigned threads;        /* threads alive */
    unsigned leaving;        /* of those, lingered out and on their way to exit: not counted
                                against the floor, so that several at once never dip below it */
    struct pool_thread *exited; /* to be joined */
};

/* Sets the pool up: threads of stack_size bytes that run serve, and write a byte to
 * wake_fds[1] (non-blocking) when they exit. Returns 0 or -1. */
int pool_init(struct pool *pool, void (*serve)(struct pool_job *), size_t stack_size,
              unsigned linger_s, const int wake_fds[2]);

/* Starts count threads that park at once and stay parked, whatever linger_s says, for as
 * long as no more than count threads are alive: a burst of clients then finds them ready
 * (created, their stacks and GnuTLS's per-thread state touched) instead of creating one
 * per client on the listener's thread. Returns the threads started. */
unsigned pool_prestart(struct pool *pool, unsigned count);

/* Hands job to a parked thread, or starts a thread for it. Returns 0, or an errno value
 * (the job was not taken). */
int pool_submit(struct pool *pool, struct pool_job *job);

/* Joins the threads that have exited. Only the pool's owner calls it. */
void pool_reap(struct pool *pool);

/* Wakes the parked threads and returns once every thread has exited and been joined
 * (draining wake_fds[0] meanwhile). The owner ends the running jobs first. */
void pool_stop(struct pool *pool);

void pool_destroy(struct pool *pool);

#endif
