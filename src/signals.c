/* SPDX-License-Identifier: MIT */
/* signals.c - SIGINT, SIGTERM and SIGHUP turned into readable descriptors. The only
 * globals of the program are here: the ones a signal handler needs. */
#define _GNU_SOURCE
#include "signals.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "platform.h"

#if !PLATFORM_WINDOWS /* signals_windows.c: the console's control events */

/* Self-pipes: the first stop signal makes stop_pipe's read end readable for every thread
 * that polls it; SIGHUP on a server makes reload_pipe's readable. */
static int stop_pipe[2] = {-1, -1}, reload_pipe[2] = {-1, -1};
static _Atomic int64_t first_signal_ms; /* 0: no signal yet; lock-free, so signal-safe */

/* A second signal within this is the same stop (`timeout` signals the child and then its
 * group); a later one exits at once. */
#define SAME_STOP_MS 1000

static void on_stop_signal(int signo)
{
    int saved_errno = errno;
    struct timespec now;
    int64_t now_ms, none = 0;

    clock_gettime(CLOCK_MONOTONIC, &now); /* async-signal-safe */
    now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 + 1; /* never 0 */
    if (!atomic_compare_exchange_strong(&first_signal_ms, &none, now_ms)) {
        if (now_ms - none >= SAME_STOP_MS)
            _exit(128 + signo);
        return; /* the same stop, signalled twice */
    }
    if (write(stop_pipe[1], "x", 1) < 0) {
        /* nothing to do in a signal handler; the pipe is empty, so this cannot fail */
    }
    errno = saved_errno;
}

/* SIGHUP ('h': read the key files again) and SIGUSR1 ('s': a status line) on a server. */
static void on_reload_signal(int signo)
{
    int saved_errno = errno;

    if (write(reload_pipe[1], signo == SIGUSR1 ? "s" : "h", 1) < 0) {
        /* full: one of each is pending already */
    }
    errno = saved_errno;
}

void signals_close(void)
{
    platform_pipe_close(stop_pipe);
    platform_pipe_close(reload_pipe);
}

int signals_install(int hup_reloads, int *stop_fd, int *reload_fd)
{
    struct sigaction action, reload;

    signals_close();
    atomic_store(&first_signal_ms, 0);
    if (platform_pipe(stop_pipe, 1) < 0 || platform_pipe(reload_pipe, 1) < 0)
        return -1;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    reload = action;
    reload.sa_handler = on_reload_signal;
    if (sigaction(SIGINT, &action, NULL) < 0 || sigaction(SIGTERM, &action, NULL) < 0 ||
        sigaction(SIGHUP, hup_reloads ? &reload : &action, NULL) < 0)
        return -1;
    /* A server's status line on SIGUSR1; a signal it has no use for does not kill it. */
    if (hup_reloads &&
        (sigaction(SIGUSR1, &reload, NULL) < 0 || signal(SIGUSR2, SIG_IGN) == SIG_ERR))
        return -1;
    *stop_fd = stop_pipe[0];
    *reload_fd = reload_pipe[0];
    return 0;
}

#endif

unsigned signals_read_control(int reload_fd)
{
    unsigned asked = 0;
    char bytes[16];
    ssize_t n, i;

    while ((n = platform_pipe_read(reload_fd, bytes, sizeof(bytes))) > 0)
        for (i = 0; i < n; i++)
            asked |= bytes[i] == 's' ? CONTROL_STATUS : CONTROL_RELOAD;
    return asked;
}
