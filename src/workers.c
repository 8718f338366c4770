/* SPDX-License-Identifier: MIT */
/* workers.c - --workers N: a supervising parent and N worker processes.
 *
 * The parent sets everything up once (credentials, the cookie secret, the ticket key, the
 * listening sockets of one SO_REUSEPORT group, the privilege drop) and then forks; each
 * worker is a whole server (server_serve) on its own socket of the group, with its own
 * registry, threads and signal pipes. The parent keeps every listening socket open, so a
 * worker that dies leaves its socket in the group with its datagrams queued, and the one
 * started in its place takes it over: the group never changes, so the kernel keeps sending
 * each peer's new handshakes to the same socket. Every worker derives the same cookie keys
 * and holds the same ticket key, so a client whose datagrams reach another worker still
 * gets through. */
#define _GNU_SOURCE
#include "platform.h"
#include "sockets.h"

#if PLATFORM_LINUX
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "server.h"
#include "signals.h"

#define RESTART_PAUSE_MS 1000 /* a worker that dies this soon after its start: wait first */
#define STOP_GRACE_MS 10000   /* after SIGTERM, a worker still running is killed */

struct worker {
    pid_t pid;
    int pidfd;          /* readable when the worker has exited; -1: not running */
    int64_t started_ms;
};

/* In the child: becomes worker i (numbered from 1 in its log lines) and never returns. */
static void worker_main(struct server *srv, const int *listen_fds, unsigned count,
                        const struct worker *workers, unsigned i, const sigset_t *mask)
{
    char name[24];
    unsigned k;
    int code;

    for (k = 0; k < count; k++) {
        if (k != i)
            close(listen_fds[k]);
        if (workers[k].pidfd >= 0)
            close(workers[k].pidfd);
    }
    snprintf(name, sizeof(name), "worker %u", i + 1);
    log_set_process(name);
    /* Its own pipes: a signal to this worker must not stop its parent or siblings. */
    if (signals_install(1, &srv->stop_fd, &srv->reload_fd) < 0) {
        log_error("signal setup: %s", strerror(errno));
        _exit(EXIT_RUNTIME);
    }
    /* A parent that dies (even by kill -9) stops its workers gracefully. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    pthread_sigmask(SIG_SETMASK, mask, NULL);
    if (getppid() == 1)
        _exit(EXIT_OK); /* the parent died before the line above */
    srv->listen_fd = listen_fds[i];
    code = server_serve(srv);
    fflush(NULL);
    _exit(code);
}

/* Forks worker i. Signals stay blocked across the fork, so none reaches the child before
 * it has its own pipes. Returns 0, or -1 (said). */
static int start_worker(struct server *srv, const int *listen_fds, unsigned count,
                        struct worker *workers, unsigned i)
{
    struct worker *w = &workers[i];
    sigset_t all, old;
    pid_t pid;

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pid = fork();
    if (pid == 0)
        worker_main(srv, listen_fds, count, workers, i, &old);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        log_error("worker %u: fork: %s", i + 1, strerror(errno));
        return -1;
    }
    w->pid = pid;
    w->started_ms = clock_now_ms();
    w->pidfd = pidfd_open(pid, 0);
    if (w->pidfd < 0) {
        log_error("worker %u: pidfd_open: %s", i + 1, strerror(errno));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    log_info("worker %u started (pid %d)", i + 1, (int)pid);
    return 0;
}

/* Collects worker i, which has exited. Returns 1 when it stopped cleanly (exit 0). */
static int reap_worker(struct worker *workers, unsigned i, int stopping)
{
    struct worker *w = &workers[i];
    int status = 0;

    while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
        ;
    close(w->pidfd);
    w->pidfd = -1;
    /* A worker that died while serving is an error an operator must see, -q or not. */
    if (WIFSIGNALED(status))
        log_msg(stopping ? LOG_WARN : LOG_ERROR, "worker %u (pid %d) killed by signal %d (%s)%s",
                i + 1, (int)w->pid, WTERMSIG(status), strsignal(WTERMSIG(status)),
                stopping ? "" : ": starting another");
    else if (!stopping)
        log_error("worker %u (pid %d) exited with status %d: starting another", i + 1,
                  (int)w->pid, WEXITSTATUS(status));
    else if (WEXITSTATUS(status) != EXIT_OK)
        log_warn("worker %u (pid %d) exited with status %d", i + 1, (int)w->pid,
                 WEXITSTATUS(status));
    return WIFEXITED(status) && WEXITSTATUS(status) == EXIT_OK;
}

/* Waits up to ms for the stop; returns 1 when it came. */
static int stop_within(int stop_fd, int ms)
{
    struct pollfd fd = {.fd = stop_fd, .events = POLLIN};

    return poll(&fd, 1, ms) > 0;
}

/* The stop: SIGTERM to every worker, which closes its sessions; SIGKILL to one still
 * running after STOP_GRACE_MS. Returns 1 when every worker stopped cleanly. */
static int stop_workers(struct worker *workers, unsigned count, struct pollfd *fds)
{
    int64_t deadline = clock_now_ms() + STOP_GRACE_MS;
    unsigned i, running = 0;
    int clean = 1;

    for (i = 0; i < count; i++)
        if (workers[i].pidfd >= 0) {
            kill(workers[i].pid, SIGTERM);
            running++;
        }
    while (running > 0) {
        int left = clock_ms_until(deadline, STOP_GRACE_MS);
        for (i = 0; i < count; i++)
            fds[i] = (struct pollfd){.fd = workers[i].pidfd, .events = POLLIN};
        if (left == 0 || poll(fds, count, left) == 0) {
            for (i = 0; i < count; i++)
                if (workers[i].pidfd >= 0) {
                    log_warn("worker %u (pid %d) still running %d s after SIGTERM: killed",
                             i + 1, (int)workers[i].pid, STOP_GRACE_MS / 1000);
                    kill(workers[i].pid, SIGKILL);
                }
            deadline = INT64_MAX; /* SIGKILL cannot be ignored: wait for it */
            continue;
        }
        for (i = 0; i < count; i++)
            if (workers[i].pidfd >= 0 && fds[i].revents) {
                clean &= reap_worker(workers, i, 1);
                running--;
            }
    }
    return clean;
}

int workers_run(struct server *srv, const int *listen_fds, unsigned count)
{
    struct worker *workers = calloc(count, sizeof(*workers));
    struct pollfd *fds = calloc(count + 2, sizeof(*fds));
    unsigned i;
    int ret = EXIT_OK, stopped = 0;

    if (workers == NULL || fds == NULL) {
        log_error("out of memory for %u workers", count);
        free(workers);
        free(fds);
        return EXIT_RUNTIME;
    }
    for (i = 0; i < count; i++)
        workers[i].pidfd = -1;
    for (i = 0; i < count && ret == EXIT_OK; i++)
        if (start_worker(srv, listen_fds, count, workers, i) < 0)
            ret = EXIT_RUNTIME;
    while (ret == EXIT_OK && !stopped) {
        fds[0] = (struct pollfd){.fd = srv->stop_fd, .events = POLLIN};
        fds[1] = (struct pollfd){.fd = srv->reload_fd, .events = POLLIN};
        for (i = 0; i < count; i++)
            fds[i + 2] = (struct pollfd){.fd = workers[i].pidfd, .events = POLLIN};
        if (poll(fds, count + 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_error("poll: %s", strerror(errno));
            ret = EXIT_RUNTIME;
            break;
        }
        if (fds[0].revents)
            break;
        if (fds[1].revents) {
            unsigned asked = signals_read_control(srv->reload_fd);
            /* The parent's keys too: a worker started later must start with them. */
            if (asked & CONTROL_RELOAD)
                server_reload(srv);
            for (i = 0; i < count; i++) { /* each worker says its own status */
                if (asked & CONTROL_RELOAD)
                    kill(workers[i].pid, SIGHUP);
                if (asked & CONTROL_STATUS)
                    kill(workers[i].pid, SIGUSR1);
            }
        }
        for (i = 0; i < count && !stopped; i++) {
            if (!fds[i + 2].revents)
                continue;
            reap_worker(workers, i, 0);
            /* One that cannot even start must not make the parent spin. */
            if (clock_now_ms() - workers[i].started_ms < RESTART_PAUSE_MS &&
                stop_within(srv->stop_fd, RESTART_PAUSE_MS))
                stopped = 1;
            else if (start_worker(srv, listen_fds, count, workers, i) < 0)
                ret = EXIT_RUNTIME;
        }
    }
    if (!stop_workers(workers, count, fds) && ret == EXIT_OK)
        ret = EXIT_RUNTIME;
    free(workers);
    free(fds);
    return ret;
}

#else /* refused at start by the options; this only links */

#include "log.h"
#include "options.h"
#include "server.h"

int workers_run(struct server *srv, const int *listen_fds, unsigned count)
{
    (void)srv, (void)listen_fds, (void)count;
    log_error("--workers is Linux-only (%s has no balancing SO_REUSEPORT group)",
              platform_name());
    return EXIT_USAGE;
}

#endif
