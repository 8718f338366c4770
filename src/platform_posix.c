/* SPDX-License-Identifier: MIT */
/* platform_posix.c - the platform seam's portable path (platform.h), for macOS and the
 * BSDs, and for Linux in the portable build (`make posix`), so that every CI run exercises
 * what macOS runs: one recvmsg/sendmsg at a time behind the batch interface, poll for the
 * load generator, pipe + fcntl, IP_DONTFRAG, plain SO_RCVBUF/SO_SNDBUF, and timed waits
 * on CLOCK_REALTIME deadlines derived from the monotonic clock. Windows runs its batching,
 * its waits and its poller too (over sockets.h's sendmsg, recvmsg and WSAPoll); the rest
 * is platform_windows.c's there. Compiles to nothing on Linux's own build. */
#define _GNU_SOURCE
#define __APPLE_USE_RFC_3542 /* macOS: the RFC 3542 names (IPV6_DONTFRAG) */
#include "platform.h"
#include "sockets.h"

#if !PLATFORM_LINUX

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

#if !PLATFORM_WINDOWS /* platform_windows.c says these of Windows */

const char *platform_name(void)
{
#if defined(__APPLE__)
    return "macOS";
#elif defined(__FreeBSD__)
    return "FreeBSD";
#elif defined(__OpenBSD__)
    return "OpenBSD";
#elif defined(__NetBSD__)
    return "NetBSD";
#else
    return "the portable build";
#endif
}

int platform_has_workers(void)
{
    return 0;
}

unsigned platform_cpu_count(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    return cpus > 0 ? (unsigned)cpus : 1;
}

int platform_has_connected_udp(void)
{
    return 1;
}

int platform_has_tun(void)
{
    return 0;
}

#endif

/* ---- shared with Windows: datagrams one at a time, socket buffers, waits, the poller - */

int dgram_recv_many(int fd, struct dgram_msg *msgs, unsigned count, enum dgram_wait wait)
{
    unsigned i;
    ssize_t n;

    for (i = 0; i < count; i++) {
        /* The first read may wait (the socket's SO_RCVTIMEO bounds it); the rest take
         * only what has queued, as MSG_WAITFORONE does. */
        n = recvmsg(fd, &msgs[i].hdr, i == 0 && wait == DGRAM_WAITFORONE ? 0 : MSG_DONTWAIT);
        if (n < 0)
            return i > 0 ? (int)i : -1;
        msgs[i].len = (unsigned)n;
    }
    return (int)count;
}

int dgram_send_many(int fd, struct dgram_msg *msgs, unsigned count)
{
    unsigned i;

    for (i = 0; i < count; i++)
        if (sendmsg(fd, &msgs[i].hdr, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
            return i > 0 ? (int)i : -1;
    return (int)count;
}

int dgram_can_segment(int fd)
{
    (void)fd;
    return 0;
}

int dgram_send_segments(int fd, struct iovec *iov, unsigned iovcnt, size_t segment)
{
    (void)fd, (void)iov, (void)iovcnt, (void)segment;
    errno = EINVAL;
    return -1;
}

int dgram_enable_gro(int fd)
{
    (void)fd;
    return -1;
}

size_t dgram_segment_size(const struct msghdr *msg)
{
    (void)msg;
    return 0;
}

#if !PLATFORM_WINDOWS

/* FD_CLOEXEC, and O_NONBLOCK when asked. Returns 0, or -1 with errno. */
static int set_flags(int fd, int nonblock)
{
    int flags;

    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -1;
    if (!nonblock)
        return 0;
    flags = fcntl(fd, F_GETFL);
    return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int platform_pipe(int fds[2], int nonblock)
{
    int saved;

    if (pipe(fds) < 0)
        return -1;
    if (set_flags(fds[0], nonblock) == 0 && set_flags(fds[1], nonblock) == 0)
        return 0;
    saved = errno;
    close(fds[0]);
    close(fds[1]);
    errno = saved;
    return -1;
}

int platform_udp_socket(int family, int nonblock)
{
    int fd = socket(family, SOCK_DGRAM, IPPROTO_UDP), saved;
#ifdef SO_NOSIGPIPE
    int one = 1;
#endif

    if (fd < 0)
        return -1;
    if (set_flags(fd, nonblock) < 0)
        goto failed;
#ifdef SO_NOSIGPIPE
    if (setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one)) < 0)
        goto failed;
#endif
    return fd;
failed:
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int platform_dont_fragment(int fd, int family, char *err, size_t err_size)
{
    /* IP_DONTFRAG on macOS and the BSDs; Linux (the portable build) says it with
     * IP_MTU_DISCOVER, which is no fast path, only another name. */
#if defined(IP_DONTFRAG)
    if (platform_set_option(fd, IPPROTO_IP, IP_DONTFRAG, 1, "IP_DONTFRAG", err, err_size) < 0 &&
        family == AF_INET) /* a dual-stack IPv6 socket may refuse the IPv4 option */
        return -1;
#elif defined(IP_MTU_DISCOVER)
    if (platform_set_option(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO, "IP_MTU_DISCOVER", err,
                err_size) < 0)
        return -1;
#endif
    if (family == AF_INET6)
        return platform_set_option(fd, IPPROTO_IPV6, IPV6_DONTFRAG, 1, "IPV6_DONTFRAG", err,
                                   err_size);
    return 0;
}

int platform_share_port(int fd, char *err, size_t err_size)
{
    if (platform_set_option(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR", err, err_size) < 0)
        return -1;
#if !defined(__linux__)
    /* A BSD kernel lets a second UDP socket bind a port in use only when both have
     * SO_REUSEPORT (SO_REUSEADDR alone: multicast), and then prefers, for each datagram,
     * the socket whose foreign address matches: the session's. The kernel decides, not the
     * build: the portable build on Linux keeps Linux's rule (a reuseport group there would
     * balance datagrams over the sockets). */
    if (platform_set_option(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT", err, err_size) < 0)
        return -1;
#endif
    return 0;
}

#endif

int platform_socket_buffer(int fd, int receive, int bytes, char *err, size_t err_size)
{
    return platform_set_option(fd, SOL_SOCKET, receive ? SO_RCVBUF : SO_SNDBUF, bytes,
                               receive ? "SO_RCVBUF" : "SO_SNDBUF", err, err_size);
}

int platform_cond_init(pthread_cond_t *cond)
{
    return pthread_cond_init(cond, NULL);
}

int platform_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *mutex, int64_t deadline_ms)
{
    /* No pthread_condattr_setclock here: the deadline becomes one on the clock the
     * condition variable uses, the time of day, from the monotonic time left. */
    int64_t left_ms = deadline_ms - clock_now_ms();
    struct timespec until;

    if (left_ms <= 0)
        return ETIMEDOUT;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(left_ms / 1000);
    until.tv_nsec += (long)(left_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    return pthread_cond_timedwait(cond, mutex, &until) == ETIMEDOUT ? ETIMEDOUT : 0;
}

struct poller {
    unsigned count, max;
    struct pollfd *fds;
    void **ptrs;
    unsigned next; /* where the last wait stopped reporting: fairness past max */
};

struct poller *poller_new(unsigned max)
{
    struct poller *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->max = max;
    p->fds = calloc(max, sizeof(*p->fds));
    p->ptrs = calloc(max, sizeof(*p->ptrs));
    if (p->fds == NULL || p->ptrs == NULL) {
        poller_free(p);
        errno = ENOMEM;
        return NULL;
    }
    return p;
}

void poller_free(struct poller *p)
{
    if (p == NULL)
        return;
    free(p->fds);
    free(p->ptrs);
    free(p);
}

int poller_add(struct poller *p, int fd, void *ptr)
{
    if (p->count == p->max) {
        errno = ENOSPC;
        return -1;
    }
    p->fds[p->count] = (struct pollfd){.fd = fd, .events = POLLIN};
    p->ptrs[p->count++] = ptr;
    return 0;
}

int poller_remove(struct poller *p, int fd)
{
    unsigned i;

    for (i = 0; i < p->count; i++)
        if ((int)p->fds[i].fd == fd) {
            p->fds[i] = p->fds[--p->count]; /* the last one takes its place */
            p->ptrs[i] = p->ptrs[p->count];
            return 0;
        }
    errno = ENOENT;
    return -1;
}

int poller_wait(struct poller *p, void **ready, unsigned max, int timeout_ms)
{
    unsigned i, k, n = 0;
    int rc = poll(p->fds, p->count, timeout_ms);

    if (rc <= 0)
        return rc;
    /* Start where the last report stopped, so that no descriptor waits behind others. */
    for (k = 0; k < p->count && n < max; k++) {
        i = (p->next + k) % p->count;
        if (p->fds[i].revents & (POLLIN | POLLERR | POLLHUP))
            ready[n++] = p->ptrs[i];
    }
    p->next = p->count > 0 ? (p->next + k) % p->count : 0;
    return (int)n;
}

#endif
