/* SPDX-License-Identifier: MIT */
/* sockets.h - the system's headers for sockets, addresses and poll, included by every
 * file that uses them in place of <sys/socket.h>, <netinet/in.h>, <arpa/inet.h>,
 * <netdb.h>, <poll.h> and <sys/uio.h>. Part of the platform seam (platform.h).
 *
 * On POSIX systems it is those headers and the names of a datagram's destination and a
 * reply's source address (IP_PKTINFO, or FreeBSD's IP_RECVDSTADDR and IP_SENDSRCADDR).
 * On Windows it is Winsock 2 with the few POSIX names the code uses: struct iovec and
 * struct msghdr with the CMSG macros over them, sendmsg and recvmsg (WSASendMsg,
 * WSARecvMsg), poll (WSAPoll), and the socket calls wrapped so that a failure sets errno
 * from WSAGetLastError (EAGAIN for WSAEWOULDBLOCK, ...) and strerror words it
 * (platform_windows.c). A socket there is a SOCKET handle kept in an int, as Winsock's
 * handles are small; it is closed by platform_close_socket, never close(). */
#ifndef DTLS_ECHO_SOCKETS_H
#define DTLS_ECHO_SOCKETS_H

#include <stddef.h>
#include <sys/types.h>

#if defined(_WIN32)

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN /* no wincrypt.h, whose CMSG_DATA means something else */
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>

struct iovec {
    void *iov_base;
    size_t iov_len;
};

struct msghdr {
    void *msg_name;
    socklen_t msg_namelen;
    struct iovec *msg_iov;
    size_t msg_iovlen;
    void *msg_control;
    size_t msg_controllen;
    int msg_flags;
};

#define cmsghdr _WSACMSGHDR
#undef CMSG_FIRSTHDR
#undef CMSG_NXTHDR
#undef CMSG_DATA
#undef CMSG_SPACE
#undef CMSG_LEN
#define CMSG_FIRSTHDR(m) \
    ((m)->msg_controllen >= sizeof(WSACMSGHDR) ? (WSACMSGHDR *)(m)->msg_control : NULL)
#define CMSG_NXTHDR(m, c)                                                                    \
    ((unsigned char *)(c) + WSA_CMSGHDR_ALIGN((c)->cmsg_len) + sizeof(WSACMSGHDR) >         \
             (unsigned char *)(m)->msg_control + (m)->msg_controllen                         \
         ? NULL                                                                              \
         : (WSACMSGHDR *)((unsigned char *)(c) + WSA_CMSGHDR_ALIGN((c)->cmsg_len)))
#define CMSG_DATA(c) WSA_CMSG_DATA(c)
#define CMSG_SPACE(l) WSA_CMSG_SPACE(l)
#define CMSG_LEN(l) WSA_CMSG_LEN(l)

#define MSG_DONTWAIT 0 /* every socket here is non-blocking but the blocking waits' */
#define EAI_SYSTEM (-11) /* never returned here: getaddrinfo's codes are its own */
#define SHUT_RD SD_RECEIVE
#define IPV6_RECVPKTINFO IPV6_PKTINFO /* Windows asks for it by the option's own name */

/* Windows's IP_PKTINFO names a reply's source ipi_addr (Linux: ipi_spec_dst). */
#define IPV4_DESTINATION IP_PKTINFO
#define IPV4_DESTINATION_NAME "IP_PKTINFO"
#define IPV4_SOURCE IP_PKTINFO
typedef struct in_pktinfo ipv4_source_info;
#define IPV4_SOURCE_SET(info, addr) ((info).ipi_addr = (addr))
#define IPV4_DESTINATION_OF(info) ((info).ipi_addr)

/* platform_windows.c: the calls, errno set from WSAGetLastError on failure. */
int win_socket(int family, int type, int protocol);
int win_bind(int fd, const struct sockaddr *addr, int len);
int win_connect(int fd, const struct sockaddr *addr, int len);
int win_getsockname(int fd, struct sockaddr *addr, socklen_t *len);
int win_setsockopt(int fd, int level, int name, const void *value, int len);
int win_getsockopt(int fd, int level, int name, void *value, socklen_t *len);
int win_shutdown(int fd, int how);
ssize_t win_recv(int fd, void *buf, size_t len, int flags);
ssize_t win_send(int fd, const void *buf, size_t len, int flags);
ssize_t recvmsg(int fd, struct msghdr *msg, int flags);
ssize_t sendmsg(int fd, const struct msghdr *msg, int flags);
int win_poll(struct pollfd *fds, unsigned long count, int timeout_ms);
const char *win_strerror(int errnum);

#ifndef DTLS_ECHO_WINSOCK_ITSELF /* platform_windows.c calls Winsock's own */
#define socket win_socket
#define bind win_bind
#define connect win_connect
#define getsockname win_getsockname
#define setsockopt win_setsockopt
#define getsockopt win_getsockopt
#define shutdown win_shutdown
#define recv win_recv
#define send win_send
#define poll win_poll
#define strerror win_strerror
#endif

#else /* POSIX */

#ifndef __APPLE_USE_RFC_3542
#define __APPLE_USE_RFC_3542 /* macOS: IPV6_RECVPKTINFO and struct in6_pktinfo */
#endif
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* An IPv4 datagram's destination address, and a reply's source: IP_PKTINFO on Linux and
 * macOS; FreeBSD's names are IP_RECVDSTADDR and IP_SENDSRCADDR, with a bare in_addr. */
#if defined(IP_PKTINFO)
#define IPV4_DESTINATION IP_PKTINFO
#define IPV4_DESTINATION_NAME "IP_PKTINFO"
#define IPV4_SOURCE IP_PKTINFO
typedef struct in_pktinfo ipv4_source_info;
#define IPV4_SOURCE_SET(info, addr) ((info).ipi_spec_dst = (addr))
#define IPV4_DESTINATION_OF(info) ((info).ipi_addr)
#else
#define IPV4_DESTINATION IP_RECVDSTADDR
#define IPV4_DESTINATION_NAME "IP_RECVDSTADDR"
#define IPV4_SOURCE IP_SENDSRCADDR
typedef struct in_addr ipv4_source_info;
#define IPV4_SOURCE_SET(info, addr) ((info) = (addr))
#define IPV4_DESTINATION_OF(info) (info)
#endif

#endif

#endif
