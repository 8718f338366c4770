/* SPDX-License-Identifier: MIT */
/* platform_linux.c - the platform seam on Linux (platform.h): recvmmsg/sendmmsg, epoll,
 * pipe2, SOCK_CLOEXEC, SO_RCVBUFFORCE, IP_MTU_DISCOVER and condition variables on the
 * monotonic clock. Compiles to nothing elsewhere, and in the portable build. */
#define _GNU_SOURCE
#include "platform.h"
#include "sockets.h"

#if PLATFORM_LINUX

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/udp.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

_Static_assert(sizeof(struct dgram_msg) == sizeof(struct mmsghdr) &&
                   offsetof(struct dgram_msg, len) == offsetof(struct mmsghdr, msg_len),
               "struct dgram_msg is Linux's struct mmsghdr");

const char *platform_name(void)
{
    return "Linux";
}

int platform_has_workers(void)
{
    return 1;
}

unsigned platform_cpu_count(void)
{
    cpu_set_t set;

    /* The CPUs this process may run on (taskset, CPUAffinity=), not all online ones. */
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    return 1;
}

int platform_has_connected_udp(void)
{
    return 1;
}

int platform_has_tun(void)
{
    return 1;
}

int dgram_recv_many(int fd, struct dgram_msg *msgs, unsigned count, enum dgram_wait wait)
{
    return recvmmsg(fd, (struct mmsghdr *)msgs, count,
                    wait == DGRAM_WAITFORONE ? MSG_WAITFORONE : MSG_DONTWAIT, NULL);
}

int dgram_send_many(int fd, struct dgram_msg *msgs, unsigned count)
{
    return sendmmsg(fd, (struct mmsghdr *)msgs, count, MSG_DONTWAIT | MSG_NOSIGNAL);
}

int dgram_can_segment(int fd)
{
    int size;
    socklen_t len = sizeof(size);

    return getsockopt(fd, SOL_UDP, UDP_SEGMENT, &size, &len) == 0;
}

int dgram_send_segments(int fd, struct iovec *iov, unsigned iovcnt, size_t segment)
{
    union {
        char buf[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = iovcnt, .msg_control = control.buf,
                         .msg_controllen = sizeof(control.buf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    uint16_t size = (uint16_t)segment;

    memset(&control, 0, sizeof(control));
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(size));
    memcpy(CMSG_DATA(c), &size, sizeof(size));
    return sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? -1 : 0;
}

int dgram_enable_gro(int fd)
{
    int on = 1;

    return setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on));
}

size_t dgram_segment_size(const struct msghdr *msg)
{
    struct cmsghdr *c;
    int size;

    for (c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR((struct msghdr *)msg, c))
        if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
            memcpy(&size, CMSG_DATA(c), sizeof(size));
            return size > 0 ? (size_t)size : 0;
        }
    return 0;
}

int platform_pipe(int fds[2], int nonblock)
{
    return pipe2(fds, O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));
}

int platform_udp_socket(int family, int nonblock)
{
    return socket(family, SOCK_DGRAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0),
                  IPPROTO_UDP);
}

int platform_dont_fragment(int fd, int family, char *err, size_t err_size)
{
    if (platform_set_option(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO, "IP_MTU_DISCOVER", err,
                err_size) < 0)
        return -1;
    if (family == AF_INET6)
        return platform_set_option(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO,
                       "IPV6_MTU_DISCOVER", err, err_size);
    return 0;
}

int platform_socket_buffer(int fd, int receive, int bytes, char *err, size_t err_size)
{
    /* SO_*BUFFORCE passes net.core.rmem_max (wmem_max) when we may (root); else ask within
     * it (the kernel then caps the size without failing). */
    if (setsockopt(fd, SOL_SOCKET, receive ? SO_RCVBUFFORCE : SO_SNDBUFFORCE, &bytes,
                   sizeof(bytes)) == 0)
        return 0;
    return platform_set_option(fd, SOL_SOCKET, receive ? SO_RCVBUF : SO_SNDBUF, bytes,
                   receive ? "SO_RCVBUF" : "SO_SNDBUF", err, err_size);
}

int platform_share_port(int fd, char *err, size_t err_size)
{
    /* Only SO_REUSEADDR: without a reuseport group the kernel scores every socket on the
     * port, and a connected one (both addresses match) outscores the listener. */
    return platform_set_option(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR", err, err_size);
}

int platform_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    int rc;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    rc = pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
    return rc;
}

int platform_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *mutex, int64_t deadline_ms)
{
    struct timespec until = {.tv_sec = deadline_ms / 1000,
                             .tv_nsec = (long)(deadline_ms % 1000) * 1000000L};

    return pthread_cond_timedwait(cond, mutex, &until) == ETIMEDOUT ? ETIMEDOUT : 0;
}

struct poller {
    int epfd;
};

struct poller *poller_new(unsigned max)
{
    struct poller *p = malloc(sizeof(*p));

    (void)max; /* epoll grows as it needs */
    if (p == NULL)
        return NULL;
    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (p->epfd < 0) {
        free(p);
        return NULL;
    }
    return p;
}

void poller_free(struct poller *p)
{
    if (p == NULL)
        return;
    close(p->epfd);
    free(p);
}

int poller_add(struct poller *p, int fd, void *ptr)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = ptr};

    return epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int poller_remove(struct poller *p, int fd)
{
    return epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL);
}

#define POLLER_EVENTS 256 /* per wait: as many as the load generator asks for */

int poller_wait(struct poller *p, void **ready, unsigned max, int timeout_ms)
{
    struct epoll_event events[POLLER_EVENTS];
    int n, i;

    n = epoll_wait(p->epfd, events, (int)(max < POLLER_EVENTS ? max : POLLER_EVENTS),
                   timeout_ms);
    for (i = 0; i < n; i++)
        ready[i] = events[i].data.ptr;
    return n;
}

#endif
