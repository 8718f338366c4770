/* SPDX-License-Identifier: MIT */
/* udp.c - UDP socket helpers. No GnuTLS here; errors go to the caller's buffer. */
#define _GNU_SOURCE
#define __APPLE_USE_RFC_3542 /* macOS: IPV6_RECVPKTINFO and struct in6_pktinfo */
#include "udp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "platform.h"
#include "sockets.h"

int udp_resolve(const char *host, unsigned port, int family, int passive,
                struct addrinfo **result, char *err, size_t err_size)
{
    struct addrinfo hints;
    char service[8];
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_protocol = IPPROTO_UDP;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    snprintf(service, sizeof(service), "%u", port);
    rc = getaddrinfo(host, service, &hints, result);
    if (rc != 0)
        return errorf(err, err_size, "cannot resolve '%s'%s: %s", host ? host : "*",
                      family == AF_INET ? " (-4: IPv4 only)"
                      : family == AF_INET6 ? " (-6: IPv6 only)" : "",
                      rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
    return 0;
}

/* " (no IPv6 on this host?)" when errno says an IPv6 address cannot be used here. */
static const char *ipv6_hint(int family, int error)
{
    return family == AF_INET6 && (error == EADDRNOTAVAIL || error == ENETUNREACH ||
                                  error == EAFNOSUPPORT)
               ? " (no IPv6 on this host?)"
               : "";
}

int udp_set_buffers(int fd, int bytes, char *err, size_t err_size)
{
    if (platform_socket_buffer(fd, 1, bytes, err, err_size) < 0)
        return -1;
    return platform_socket_buffer(fd, 0, bytes, err, err_size);
}

/* Closes fd and returns -1, keeping errno. */
static int fail_closed(int fd)
{
    int saved = errno;

    platform_close_socket(fd);
    errno = saved;
    return -1;
}

/* A listener set-up failure other than bind's, whose reason is in err already. */
#define LISTENER_SETUP_FAILED -2

static int setup_failed(int fd)
{
    platform_close_socket(fd);
    return LISTENER_SETUP_FAILED;
}

static int bind_listener(const struct addrinfo *ai, int rcvbuf, int reuseport, int v6only,
                         struct udp_addr *bound, char *err, size_t err_size)
{
    int fd;

    fd = platform_udp_socket(ai->ai_family, 0);
    if (fd < 0)
        return errorf(err, err_size, "socket: %s", strerror(errno));
    /* One socket for IPv6 and IPv4 (as v4-mapped addresses) on the wildcard, unless -6;
     * and each datagram's destination address, so that replies leave from it. */
    if (ai->ai_family == AF_INET6
            ? platform_set_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only, "IPV6_V6ONLY", err,
                                  err_size) < 0 ||
                  platform_set_option(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1,
                                      "IPV6_RECVPKTINFO", err, err_size) < 0
            : platform_set_option(fd, IPPROTO_IP, IPV4_DESTINATION, 1, IPV4_DESTINATION_NAME,
                                  err, err_size) < 0)
        return setup_failed(fd);
    /* Workers: one reuseport group of listening sockets, all made before any session's
     * socket exists (udp_listen_group). */
    if (reuseport &&
        platform_reuseport(fd, err, err_size) < 0)
        return setup_failed(fd);
    /* Bind without SO_REUSEADDR so that a port another program holds fails here with
     * EADDRINUSE, instead of both programs silently sharing it. */
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
        return fail_closed(fd); /* -1 with errno: the caller words it with the address */
    /* Then allow the per-client sockets to bind the same address and port, each to get
     * its peer's datagrams (platform_share_port: SO_REUSEADDR on Linux, with SO_REUSEPORT
     * on BSD kernels; why, in ARCHITECTURE.md "Platforms"). */
    if (platform_share_port(fd, err, err_size) < 0 ||
        platform_socket_buffer(fd, 1, rcvbuf, err, err_size) < 0 ||
        platform_dont_fragment(fd, ai->ai_family, err, err_size) < 0)
        return setup_failed(fd);
    if (platform_set_nonblocking(fd) < 0) {
        errorf(err, err_size, "fcntl O_NONBLOCK: %s", strerror(errno));
        return setup_failed(fd);
    }
    bound->len = sizeof(bound->ss);
    if (getsockname(fd, (struct sockaddr *)&bound->ss, &bound->len) < 0) {
        errorf(err, err_size, "getsockname: %s", strerror(errno));
        return setup_failed(fd);
    }
    return fd;
}

int udp_listen(const char *host, unsigned port, int family, int rcvbuf, struct udp_addr *bound,
               char *err, size_t err_size)
{
    struct addrinfo *list = NULL, *ai, wildcard6;
    struct sockaddr_in6 any6;
    int fd = -1, last_errno = 0, last_family = AF_UNSPEC;

    if (host == NULL && family != AF_INET) {
        /* IPv6 wildcard first: with IPV6_V6ONLY off (not -6) it also takes IPv4. */
        memset(&any6, 0, sizeof(any6));
        any6.sin6_family = AF_INET6;
        any6.sin6_port = htons((unsigned short)port);
        memset(&wildcard6, 0, sizeof(wildcard6));
        wildcard6.ai_family = AF_INET6;
        wildcard6.ai_addr = (struct sockaddr *)&any6;
        wildcard6.ai_addrlen = sizeof(any6);
        fd = bind_listener(&wildcard6, rcvbuf, 0, family == AF_INET6, bound, err, err_size);
        if (fd >= 0 || fd == LISTENER_SETUP_FAILED)
            return fd < 0 ? -1 : fd;
        if (family == AF_INET6 || (errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL))
            return errorf(err, err_size, "bind to [::] port %u (%s): %s%s", port,
                          family == AF_INET6 ? "-6: IPv6 only" : "IPv6 and IPv4",
                          strerror(errno), ipv6_hint(AF_INET6, errno));
    }
    if (udp_resolve(host, port, family, 1, &list, err, err_size) < 0)
        return -1;
    for (ai = list; ai != NULL; ai = ai->ai_next) {
        if (host == NULL && ai->ai_family != AF_INET)
            continue;  /* the IPv6 wildcard failed above; fall back to IPv4 only */
        fd = bind_listener(ai, rcvbuf, 0, family == AF_INET6, bound, err, err_size);
        if (fd >= 0)
            break;
        if (fd == LISTENER_SETUP_FAILED) {
            freeaddrinfo(list);
            return -1;
        }
        last_errno = errno;
        last_family = ai->ai_family;
    }
    freeaddrinfo(list);
    if (fd < 0 && last_errno)
        return errorf(err, err_size, "bind to %s port %u%s: %s%s",
                      host != NULL ? host : "0.0.0.0", port,
                      host == NULL && family == AF_INET ? " (-4: IPv4 only)" : "",
                      strerror(last_errno), ipv6_hint(last_family, last_errno));
    return fd;
}

int udp_listen_group(int probe_fd, const struct udp_addr *bound, unsigned count, int rcvbuf,
                     int *fds, char *err, size_t err_size)
{
    struct addrinfo ai;
    struct udp_addr same;
    socklen_t len = sizeof(int);
    int v6only = 0;
    unsigned i;

    /* The group's sockets take IPv4 as the probe did, or not (-6). */
    if (bound->ss.ss_family == AF_INET6 &&
        getsockopt(probe_fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len) < 0) {
        errorf(err, err_size, "getsockopt IPV6_V6ONLY: %s", strerror(errno));
        platform_close_socket(probe_fd); /* every socket closed, as on the other failures */
        return -1;
    }
    /* The probe proved the port free of other programs; it leaves the port to the group.
     * A socket bound with SO_REUSEPORT alone would have joined another program's group
     * (one of the same user) instead of failing. */
    platform_close_socket(probe_fd);
    for (i = 0; i < count; i++)
        fds[i] = -1;
    memset(&ai, 0, sizeof(ai));
    ai.ai_family = bound->ss.ss_family;
    ai.ai_addr = (struct sockaddr *)&bound->ss;
    ai.ai_addrlen = bound->len;
    for (i = 0; i < count; i++) {
        fds[i] = bind_listener(&ai, rcvbuf, 1, v6only, &same, err, err_size);
        if (fds[i] == -1)
            errorf(err, err_size, "bind listening socket %u of %u: %s", i + 1, count,
                   strerror(errno));
        if (fds[i] < 0) {
            fds[i] = -1;
            while (i > 0) {
                platform_close_socket(fds[--i]);
                fds[i] = -1;
            }
            return -1;
        }
    }
    return 0;
}

int udp_open_peer_socket(const struct udp_addr *local, const struct udp_addr *peer, char *err,
                         size_t err_size)
{
    int fd, family = local->ss.ss_family;

    /* Blocking, for udp_recv_wait; every other call on it passes MSG_DONTWAIT. */
    fd = platform_udp_socket(family, 0);
    if (fd < 0)
        return errorf(err, err_size, "socket: %s", strerror(errno));
    if ((family == AF_INET6 &&
         platform_set_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0, "IPV6_V6ONLY", err,
                             err_size) < 0) ||
        platform_share_port(fd, err, err_size) < 0 ||
        platform_dont_fragment(fd, family, err, err_size) < 0)
        return fail_closed(fd);
    if (bind(fd, (const struct sockaddr *)&local->ss, local->len) < 0) {
        errorf(err, err_size, "bind peer socket: %s", strerror(errno));
        return fail_closed(fd);
    }
    if (connect(fd, (const struct sockaddr *)&peer->ss, peer->len) < 0) {
        errorf(err, err_size, "connect peer socket: %s", strerror(errno));
        return fail_closed(fd);
    }
    return fd;
}

int udp_open_client_socket(const struct addrinfo *addr, char *err, size_t err_size)
{
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)addr->ai_addr;
    int fd;

    /* The kernel says only EINVAL: a link-local address means nothing without its link. */
    if (addr->ai_family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr) &&
        sin6->sin6_scope_id == 0)
        return errorf(err, err_size, "a link-local address needs its interface: add "
                      "%%NAME, as in fe80::1%%eth0");
    fd = platform_udp_socket(addr->ai_family, 1);
    if (fd < 0)
        return errorf(err, err_size, "socket: %s", strerror(errno));
    if (platform_dont_fragment(fd, addr->ai_family, err, err_size) < 0)
        return fail_closed(fd);
    if (connect(fd, addr->ai_addr, addr->ai_addrlen) < 0) {
        errorf(err, err_size, "connect: %s%s", strerror(errno), ipv6_hint(addr->ai_family, errno));
        return fail_closed(fd);
    }
    return fd;
}

/* Copies the destination address of a received datagram out of its control messages. */
static void read_destination(struct msghdr *msg, struct udp_addr *local)
{
    struct cmsghdr *cmsg;
    struct udp_addr bound = *local;  /* keeps the port, which pktinfo does not carry */

    for (cmsg = CMSG_FIRSTHDR(msg); cmsg != NULL; cmsg = CMSG_NXTHDR(msg, cmsg)) {
        if (cmsg->cmsg_level == IPPROTO_IPV6 && cmsg->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo info;
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&local->ss;
            memcpy(&info, CMSG_DATA(cmsg), sizeof(info));
            memset(sin6, 0, sizeof(*sin6));
            sin6->sin6_family = AF_INET6;
            sin6->sin6_addr = info.ipi6_addr;
            sin6->sin6_port = ((const struct sockaddr_in6 *)&bound.ss)->sin6_port;
            if (IN6_IS_ADDR_LINKLOCAL(&info.ipi6_addr))
                sin6->sin6_scope_id = (uint32_t)info.ipi6_ifindex;
            local->len = sizeof(*sin6);
            return;
        }
        if (cmsg->cmsg_level == IPPROTO_IP && cmsg->cmsg_type == IPV4_DESTINATION) {
            ipv4_source_info info;
            struct sockaddr_in *sin = (struct sockaddr_in *)&local->ss;
            memcpy(&info, CMSG_DATA(cmsg), sizeof(info));
            memset(sin, 0, sizeof(*sin));
            sin->sin_family = AF_INET;
            sin->sin_addr = IPV4_DESTINATION_OF(info);
            sin->sin_port = ((const struct sockaddr_in *)&bound.ss)->sin_port;
            local->len = sizeof(*sin);
            return;
        }
    }
}

static ssize_t receive(int fd, void *buf, size_t size, struct udp_addr *peer,
                       struct udp_addr *local, int flags)
{
    union {
        char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = buf, .iov_len = size};
    struct msghdr msg;
    ssize_t n;

    memset(&msg, 0, sizeof(msg));
    msg.msg_name = &peer->ss;
    msg.msg_namelen = sizeof(peer->ss);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (local != NULL) {
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof(control.buf);
    }
    n = recvmsg(fd, &msg, flags);
    if (n < 0)
        return -1;
    peer->len = msg.msg_namelen;
    if (local != NULL)
        read_destination(&msg, local);
    return n;
}

#define UDP_DATAGRAM_MAX 65536

struct udp_batch {
    struct udp_datagram got[UDP_BATCH];
    struct dgram_msg msgs[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    union {
        char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
        struct cmsghdr align;
    } control[UDP_BATCH];
    unsigned char data[UDP_BATCH][UDP_DATAGRAM_MAX];
};

struct udp_batch *udp_batch_new(void)
{
    struct udp_batch *b = malloc(sizeof(*b)); /* mmap'd: pages come as datagrams fill them */
    unsigned i;

    for (i = 0; b != NULL && i < UDP_BATCH; i++) {
        b->got[i].data = b->data[i];
        b->iov[i].iov_base = b->data[i];
        b->iov[i].iov_len = sizeof(b->data[i]);
        memset(&b->msgs[i].hdr, 0, sizeof(b->msgs[i].hdr));
        b->msgs[i].hdr.msg_name = &b->got[i].peer.ss;
        b->msgs[i].hdr.msg_iov = &b->iov[i];
        b->msgs[i].hdr.msg_iovlen = 1;
        b->msgs[i].hdr.msg_control = b->control[i].buf;
    }
    return b;
}

void udp_batch_free(struct udp_batch *b)
{
    free(b);
}

int udp_recv_batch(int fd, struct udp_batch *b, const struct udp_addr *bound,
                   const struct udp_datagram **out)
{
    int i, n;

    for (i = 0; i < UDP_BATCH; i++) {
        b->msgs[i].hdr.msg_namelen = sizeof(b->got[i].peer.ss);
        b->msgs[i].hdr.msg_controllen = sizeof(b->control[i].buf);
    }
    n = dgram_recv_many(fd, b->msgs, UDP_BATCH, DGRAM_DONTWAIT);
    for (i = 0; i < n; i++) {
        b->got[i].peer.len = b->msgs[i].hdr.msg_namelen;
        b->got[i].len = b->msgs[i].len;
        b->got[i].local = *bound;
        read_destination(&b->msgs[i].hdr, &b->got[i].local);
    }
    *out = b->got;
    return n;
}

ssize_t udp_recv(int fd, void *buf, size_t size, struct udp_addr *peer, struct udp_addr *local)
{
    return receive(fd, buf, size, peer, local, MSG_DONTWAIT);
}

ssize_t udp_recv_wait(int fd, void *buf, size_t size, struct udp_addr *peer)
{
    return receive(fd, buf, size, peer, NULL, 0);
}

void udp_msg_address(struct msghdr *msg, struct udp_source *source,
                     const struct udp_addr *peer, const struct udp_addr *local)
{
    struct cmsghdr *cmsg;

    _Static_assert(sizeof(source->buf) >= CMSG_SPACE(sizeof(struct in6_pktinfo)) &&
                       sizeof(source->buf) >= CMSG_SPACE(sizeof(ipv4_source_info)),
                   "struct udp_source holds a source address");
    memset(source, 0, sizeof(*source));
    msg->msg_name = (void *)&peer->ss;
    msg->msg_namelen = peer->len;
    msg->msg_control = NULL;
    msg->msg_controllen = 0;
    /* Answer from the address the peer wrote to, not whatever the routing table picks:
     * on a host with several addresses the peer would drop a reply from another one. */
    if (local != NULL && local->ss.ss_family == AF_INET6) {
        struct in6_pktinfo info;
        memset(&info, 0, sizeof(info));
        info.ipi6_addr = ((const struct sockaddr_in6 *)&local->ss)->sin6_addr;
        msg->msg_control = source->buf;
        msg->msg_controllen = CMSG_SPACE(sizeof(info));
        cmsg = CMSG_FIRSTHDR(msg);
        cmsg->cmsg_level = IPPROTO_IPV6;
        cmsg->cmsg_type = IPV6_PKTINFO;
        cmsg->cmsg_len = CMSG_LEN(sizeof(info));
        memcpy(CMSG_DATA(cmsg), &info, sizeof(info));
    } else if (local != NULL && local->ss.ss_family == AF_INET) {
        ipv4_source_info info;
        memset(&info, 0, sizeof(info));
        IPV4_SOURCE_SET(info, ((const struct sockaddr_in *)&local->ss)->sin_addr);
        msg->msg_control = source->buf;
        msg->msg_controllen = CMSG_SPACE(sizeof(info));
        cmsg = CMSG_FIRSTHDR(msg);
        cmsg->cmsg_level = IPPROTO_IP;
        cmsg->cmsg_type = IPV4_SOURCE;
        cmsg->cmsg_len = CMSG_LEN(sizeof(info));
        memcpy(CMSG_DATA(cmsg), &info, sizeof(info));
    }
}

ssize_t udp_sendv(int fd, const struct iovec *iov, int iovcnt, const struct udp_addr *peer,
                  const struct udp_addr *local)
{
    struct udp_source source;
    struct msghdr msg;

    memset(&msg, 0, sizeof(msg));
    if (peer != NULL)
        udp_msg_address(&msg, &source, peer, local);
    msg.msg_iov = (struct iovec *)iov;
    msg.msg_iovlen = (size_t)iovcnt;
    return sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

ssize_t udp_send(int fd, const void *buf, size_t size, const struct udp_addr *peer,
                 const struct udp_addr *local)
{
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = size};

    return udp_sendv(fd, &iov, 1, peer, local);
}

int udp_wait(int fd, int wake_fd, int timeout_ms)
{
    struct pollfd fds[2] = {{.fd = fd, .events = POLLIN}, {.fd = wake_fd, .events = POLLIN}};
    int rc;

    rc = poll(fds, wake_fd >= 0 ? 2 : 1, timeout_ms);
    if (rc < 0)
        return errno == EINTR ? 0 : -1;
    if (rc == 0)
        return 0;
    /* An error on a connected UDP socket (ICMP unreachable) is reported by the next read. */
    if (fds[0].revents & (POLLIN | POLLERR | POLLHUP))
        return 1;
    return 2;
}

/* Points at the IPv4 address inside addr (plain or v4-mapped), or returns NULL. */
static const struct in_addr *ipv4_of(const struct udp_addr *addr)
{
    if (addr->ss.ss_family == AF_INET)
        return &((const struct sockaddr_in *)&addr->ss)->sin_addr;
    if (addr->ss.ss_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)&addr->ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6))
            return (const struct in_addr *)&a6->s6_addr[12];
    }
    return NULL;
}

static unsigned short port_of(const struct udp_addr *addr)
{
    if (addr->ss.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&addr->ss)->sin_port);
    if (addr->ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&addr->ss)->sin6_port);
    return 0;
}

void udp_addr_to_text(const struct udp_addr *addr, char *out, size_t out_size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    const struct in_addr *v4 = ipv4_of(addr);

    if (v4 != NULL) {
        inet_ntop(AF_INET, v4, host, sizeof(host));
        snprintf(out, out_size, "IPv4 %s port %u", host, port_of(addr));
    } else if (addr->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&addr->ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
        if (sin6->sin6_scope_id != 0) {
            char link[PLATFORM_INTERFACE_MAX];
            platform_interface_name((unsigned)sin6->sin6_scope_id, link, sizeof(link));
            snprintf(out, out_size, "IPv6 %s%%%s port %u", host, link, port_of(addr));
        }
        else
            snprintf(out, out_size, "IPv6 %s port %u", host, port_of(addr));
    } else {
        snprintf(out, out_size, "unknown address family %d", addr->ss.ss_family);
    }
}

size_t udp_addr_key(const struct udp_addr *addr, unsigned char key[UDP_ADDR_KEY_MAX])
{
    const struct in_addr *v4 = ipv4_of(addr);
    unsigned short port = port_of(addr);
    size_t n = 0;

    memset(key, 0, UDP_ADDR_KEY_MAX);
    key[n++] = v4 != NULL ? 4 : 6;
    key[n++] = (unsigned char)(port >> 8);
    key[n++] = (unsigned char)port;
    if (v4 != NULL) {
        memcpy(key + n, v4, 4);
        n += 4;
    } else if (addr->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&addr->ss;
        memcpy(key + n, &sin6->sin6_addr, 16);
        n += 16;
        memcpy(key + n, &sin6->sin6_scope_id, 4);
        n += 4;
    }
    return n;
}

int udp_addr_equal(const struct udp_addr *a, const struct udp_addr *b)
{
    unsigned char key_a[UDP_ADDR_KEY_MAX], key_b[UDP_ADDR_KEY_MAX];
    size_t len_a = udp_addr_key(a, key_a), len_b = udp_addr_key(b, key_b);

    return len_a == len_b && memcmp(key_a, key_b, len_a) == 0;
}

unsigned udp_header_size(const struct udp_addr *addr)
{
    return ipv4_of(addr) != NULL ? 20 + 8 : 40 + 8;
}
