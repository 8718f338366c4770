/* pool.c - session threads that linger for the next job. */
#define _GNU_SOURCE
#include "pool.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct pool_thread {
    pthread_t id;
    struct pool *pool;
    struct pool_job *first;
    struct pool_thread *next; /* in the exited list */
};

int pool_init(struct pool *pool, void (*serve)(struct pool_job *), size_t stack_size,
              unsigned linger_s, const int wake_fds[2])
{
    pthread_condattr_t condattr;

    pool->serve = serve;
    pool->wake_read_fd = wake_fds[0];
    pool->wake_write_fd = wake_fds[1];
    pool->linger_s = linger_s;
    atomic_store(&pool->stopping, 0);
    pool->handoff = NULL;
    pool->parked = pool->threads = 0;
    pool->exited = NULL;
    if (pthread_mutex_init(&pool->lock, NULL) != 0)
        return -1;
    pthread_condattr_init(&condattr);
    pthread_condattr_setclock(&condattr, CLOCK_MONOTONIC);
    pthread_cond_init(&pool->cond, &condattr);
    pthread_condattr_destroy(&condattr);
    pthread_attr_init(&pool->attr);
    pthread_attr_setstacksize(&pool->attr, stack_size);
    return 0;
}

static void wake_owner(struct pool *pool)
{
    /* The pipe is non-blocking: when it is full the owner is awake anyway. */
    if (write(pool->wake_write_fd, "x", 1) < 0 && errno != EAGAIN)
        log_debug("wake: %s", strerror(errno));
}

/* Parks the calling thread until it is handed a job (returned), or linger_s pass or the
 * pool stops (NULL). */
static struct pool_job *next_job(struct pool *pool)
{
    struct pool_job *job = NULL;
    struct timespec until;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += pool->linger_s;
    pthread_mutex_lock(&pool->lock);
    pool->parked++;
    while (pool->handoff == NULL && !atomic_load(&pool->stopping) &&
           pthread_cond_timedwait(&pool->cond, &pool->lock, &until) == 0)
        ;
    if (pool->handoff != NULL) {
        job = pool->handoff; /* pool_submit counted it off parked */
        pool->handoff = job->next;
    } else {
        pool->parked--;
    }
    pthread_mutex_unlock(&pool->lock);
    return job;
}

static void *thread_main(void *arg)
{
    struct pool_thread *self = arg;
    struct pool *pool = self->pool;
    struct pool_job *job;

    for (job = self->first; job != NULL; job = next_job(pool))
        pool->serve(job);
    pthread_mutex_lock(&pool->lock);
    self->next = pool->exited;
    pool->exited = self;
    pool->threads--;
    pthread_mutex_unlock(&pool->lock);
    wake_owner(pool);
    return NULL;
}

int pool_submit(struct pool *pool, struct pool_job *job)
{
    struct pool_thread *thread;
    int rc;

    pthread_mutex_lock(&pool->lock);
    if (pool->parked > 0) { /* a thread whose job ended takes it */
        pool->parked--;
        job->next = pool->handoff;
        pool->handoff = job;
        pthread_cond_signal(&pool->cond);
        pthread_mutex_unlock(&pool->lock);
        return 0;
    }
    pool->threads++;
    pthread_mutex_unlock(&pool->lock);

    thread = calloc(1, sizeof(*thread));
    rc = thread == NULL ? ENOMEM : 0;
    if (thread != NULL) {
        thread->pool = pool;
        thread->first = job;
        rc = pthread_create(&thread->id, &pool->attr, thread_main, thread);
    }
    if (rc != 0) {
        free(thread);
        pthread_mutex_lock(&pool->lock);
        pool->threads--;
        pthread_mutex_unlock(&pool->lock);
    }
    return rc;
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
        free(list);
    }
}

void pool_stop(struct pool *pool)
{
    char bytes[256];
    unsigned threads;

    atomic_store(&pool->stopping, 1);
    pthread_mutex_lock(&pool->lock);
    pthread_cond_broadcast(&pool->cond);
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
            while (read(pool->wake_read_fd, bytes, sizeof(bytes)) > 0)
                ;
    }
    pool_reap(pool); /* the threads that exited after the last look */
}

void pool_destroy(struct pool *pool)
{
    pthread_attr_destroy(&pool->attr);
    pthread_cond_destroy(&pool->cond);
    pthread_mutex_destroy(&pool->lock);
}
