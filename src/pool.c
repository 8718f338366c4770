/* SPDX-License-Identifier: MIT */
/* pool.c - session threads that linger for the next job. */
#define _GNU_SOURCE
#include "pool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "platform.h"
#include "sockets.h"

struct pool_thread {
    pthread_t id;
    struct pool *pool;
    struct pool_job *job;      /* handed to it while parked (or its first) */
    pthread_cond_t cond;       /* it waits here while parked */
    struct pool_thread *above, *below; /* in the parked stack */
    struct pool_thread *next;  /* in the exited list */
    int leaving;               /* it lingered out (counted in pool->leaving) */
};

int pool_init(struct pool *pool, void (*serve)(struct pool_job *), size_t stack_size,
              unsigned linger_s, const int wake_fds[2])
{
    pool->serve = serve;
    pool->wake_read_fd = wake_fds[0];
    pool->wake_write_fd = wake_fds[1];
    pool->linger_s = linger_s;
    atomic_store(&pool->stopping, 0);
    pool->parked_top = NULL;
    pool->threads = pool->floor = pool->leaving = 0;
    pool->exited = NULL;
    if (pthread_mutex_init(&pool->lock, NULL) != 0)
        return -1;
    pthread_attr_init(&pool->attr);
    pthread_attr_setstacksize(&pool->attr, stack_size);
    return 0;
}

static void wake_owner(struct pool *pool)
{
    /* The pipe is non-blocking: when it is full the owner is awake anyway. */
    if (platform_pipe_write(pool->wake_write_fd, "x", 1) < 0 && errno != EAGAIN)
        log_debug("wake: %s", strerror(errno));
}

/* Takes thread off the parked stack. Caller holds the lock. */
static void unpark_locked(struct pool *pool, struct pool_thread *thread)
{
    if (thread->above != NULL)
        thread->above->below = thread->below;
    else
        pool->parked_top = thread->below;
    if (thread->below != NULL)
        thread->below->above = thread->above;
    thread->above = thread->below = NULL;
}

/* Parks the calling thread on top of the stack until it is handed a job (returned), or
 * linger_s pass or the pool stops (NULL). The stack is last in, first out: the thread
 * parked last, whose stack and caches are warm, serves the next client, and under light
 * load the same few threads serve everyone while the others linger out. */
static struct pool_job *next_job(struct pool_thread *self)
{
    struct pool *pool = self->pool;
    struct pool_job *job;
    int64_t until = clock_now_ms() + (int64_t)pool->linger_s * 1000;

    pthread_mutex_lock(&pool->lock);
    self->above = NULL;
    self->below = pool->parked_top;
    if (pool->parked_top != NULL)
        pool->parked_top->above = self;
    pool->parked_top = self;
    while (self->job == NULL && !atomic_load(&pool->stopping)) {
        if (platform_cond_wait_until(&self->cond, &pool->lock, until) == 0)
            continue;
        if (pool->threads - pool->leaving > pool->floor) {
            pool->leaving++; /* lingered long enough */
            self->leaving = 1;
            break;
        }
        until += (int64_t)pool->linger_s * 1000; /* one of the pool's floor: stay */
    }
    job = self->job; /* pool_submit took it off the stack */
    self->job = NULL;
    if (job == NULL)
        unpark_locked(pool, self);
    pthread_mutex_unlock(&pool->lock);
    return job;
}

static void *thread_main(void *arg)
{
    struct pool_thread *self = arg;
    struct pool *pool = self->pool;
    struct pool_job *job;

    job = self->job; /* its first, or NULL: started ahead (nobody hands it one yet) */
    self->job = NULL;
    for (job = job != NULL ? job : next_job(self); job != NULL; job = next_job(self))
        pool->serve(job);
    pthread_mutex_lock(&pool->lock);
    self->next = pool->exited;
    pool->exited = self;
    pool->threads--;
    pool->leaving -= self->leaving ? 1 : 0;
    pthread_mutex_unlock(&pool->lock);
    wake_owner(pool);
    return NULL;
}

/* Starts a thread whose first job is job (NULL: it parks first). Returns 0 or an errno
 * value. */
static int start_thread(struct pool *pool, struct pool_job *job)
{
    struct pool_thread *thread;
    int rc;

    pthread_mutex_lock(&pool->lock);
    pool->threads++;
    pthread_mutex_unlock(&pool->lock);
    thread = calloc(1, sizeof(*thread));
    rc = thread == NULL ? ENOMEM : 0;
    if (thread != NULL) {
        thread->pool = pool;
        thread->job = job;
        rc = platform_cond_init(&thread->cond);
        if (rc == 0 && (rc = pthread_create(&thread->id, &pool->attr, thread_main, thread)) != 0)
            pthread_cond_destroy(&thread->cond);
    }
    if (rc != 0) {
        free(thread);
        pthread_mutex_lock(&pool->lock);
        pool->threads--;
        pthread_mutex_unlock(&pool->lock);
    }
    return rc;
}

unsigned pool_prestart(struct pool *pool, unsigned count)
{
    unsigned started;

    pthread_mutex_lock(&pool->lock);
    pool->floor = count;
    pthread_mutex_unlock(&pool->lock);
    for (started = 0; started < count && start_thread(pool, NULL) == 0; started++)
        ;
    return started;
}

int pool_submit(struct pool *pool, struct pool_job *job)
{

    struct pool_thread *parked;

    pthread_mutex_lock(&pool->lock);
    parked = pool->parked_top;
    if (parked != NULL) { /* the thread parked last takes it */
        unpark_locked(pool, parked);
        parked->job = job;
        pthread_cond_signal(&parked->cond);
        pthread_mutex_unlock(&pool->lock);
        return 0;
    }
    pthread_mutex_unlock(&pool->lock);
    return start_thread(pool, job);
}

void pool_reap(struct pool *pool)
{
    struct pool_thread *list, *next;

    pthread_mutex_lock(&pool->lock);
    list = pool->exited;
    pool->exited = NULL;
    pthread_mutex_unlock(&pool->lock);
    for (; list != NULL; list = next) {
        next = list->next;
        pthread_join(list->id, NULL);
        pthread_cond_destroy(&list->cond);
        free(list);
    }
}

void pool_stop(struct pool *pool)
{
    char bytes[256];
    unsigned threads;

    struct pool_thread *parked;

    atomic_store(&pool->stopping, 1);
    pthread_mutex_lock(&pool->lock);
    for (parked = pool->parked_top; parked != NULL; parked = parked->below)
        pthread_cond_signal(&parked->cond);
    pthread_mutex_unlock(&pool->lock);
    for (;;) {
        pool_reap(pool);
        pthread_mutex_lock(&pool->lock);
        threads = pool->threads;
        pthread_mutex_unlock(&pool->lock);
        if (threads == 0)
            break;
        struct pollfd pfd = {.fd = pool->wake_read_fd, .events = POLLIN};
        if (poll(&pfd, 1, 100) > 0) /* a timeout only means: look again */
            while (platform_pipe_read(pool->wake_read_fd, bytes, sizeof(bytes)) > 0)
                ;
    }
    pool_reap(pool); /* the threads that exited after the last look */
}

void pool_destroy(struct pool *pool)
{
    pthread_attr_destroy(&pool->attr);
    pthread_mutex_destroy(&pool->lock);
}
