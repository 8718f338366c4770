/* SPDX-License-Identifier: MIT */
/* udp.h - UDP socket helpers: resolve, listening socket, per-client connected socket,
 * receive with source and destination address, timed wait, address to text.
 *
 * No GnuTLS here. Functions that can fail return -1 and write "call: cause" into the
 * caller's err buffer; the caller decides whether that is fatal and logs it once. */
#ifndef DTLS_ECHO_UDP_H
#define DTLS_ECHO_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sockets.h"

/* A socket address with its length. */
struct udp_addr {
    struct sockaddr_storage ss;
    socklen_t len;
};

/* Bytes in the longest canonical address key: family, port, IPv6 address, scope. */
#define UDP_ADDR_KEY_MAX 24
/* Long enough for "IPv6 ffff:...:ffff%scope port 65535". */
#define UDP_ADDR_TEXT_MAX 96

/* Resolves host (NULL: the wildcard, when passive) and port to addresses of family
 * (AF_UNSPEC: either), a list for getaddrinfo callers to free with freeaddrinfo. Returns
 * 0, or -1 with the resolver's reason. */
int udp_resolve(const char *host, unsigned port, int family, int passive,
                struct addrinfo **result, char *err, size_t err_size);

/* Opens the server's listening socket on host:port (NULL host: every IPv6 and IPv4
 * address, or only those of family when it is AF_INET or AF_INET6), reporting each
 * datagram's destination address, with a receive buffer of rcvbuf bytes. Returns the fd
 * and fills *bound, or -1 (a busy port names EADDRINUSE). */
int udp_listen(const char *host, unsigned port, int family, int rcvbuf, struct udp_addr *bound,
               char *err, size_t err_size);

/* Workers: replaces probe_fd, a listening socket udp_listen bound (which proved the port
 * free), by count sockets bound to the same address in one SO_REUSEPORT group, each set up
 * as udp_listen's, into fds. The kernel spreads new peers over the group by a hash of
 * their addresses; a session's connected socket, outside the group, still gets its own
 * peer's datagrams. Returns 0, or -1 with a reason (and every socket closed). */
int udp_listen_group(int probe_fd, const struct udp_addr *bound, unsigned count, int rcvbuf,
                     int *fds, char *err, size_t err_size);

/* Opens a socket bound to local (the listener's port) and connected to peer, so the kernel
 * delivers that peer's datagrams to it rather than to the listener. The socket blocks, for
 * udp_recv_wait(); the other calls here never wait. Returns fd or -1. */
int udp_open_peer_socket(const struct udp_addr *local, const struct udp_addr *peer, char *err,
                         size_t err_size);

/* Opens a client socket connected to addr. Returns the fd, or -1. */
int udp_open_client_socket(const struct addrinfo *addr, char *err, size_t err_size);

/* Datagrams read several per system call (recvmmsg), each with its source and the
 * address it was sent to. */
#define UDP_BATCH 32

struct udp_datagram {
    struct udp_addr peer, local;
    size_t len;
    unsigned char *data;
};

struct udp_batch; /* udp.c: the buffers, 2 MiB, touched only as far as datagrams fill them */

struct udp_batch *udp_batch_new(void);
void udp_batch_free(struct udp_batch *b);

/* Reads what is queued on fd, up to UDP_BATCH datagrams, without blocking; a datagram's
 * local address is bound's with the destination address the socket reported (udp_listen's
 * sockets do). Returns the count and points *out at them (valid until the next call), or
 * -1 with errno (EAGAIN: none). */
int udp_recv_batch(int fd, struct udp_batch *b, const struct udp_addr *bound,
                   const struct udp_datagram **out);

/* Receives one datagram without blocking; fills *peer and, when local is not NULL, replaces
 * the address in *local (the caller's bound address) with the one the datagram was sent
 * to, keeping the port, when the socket reports it (udp_listen's sockets do).
 * Returns its length, or -1 with errno set (EAGAIN when nothing is queued). */
ssize_t udp_recv(int fd, void *buf, size_t size, struct udp_addr *peer, struct udp_addr *local);

/* Receives one datagram, waiting for it up to the socket's platform_recv_timeout() (then
 * -1, EAGAIN) or until shutdown(SHUT_RD) (then 0). The socket must be a blocking one. */
ssize_t udp_recv_wait(int fd, void *buf, size_t size, struct udp_addr *peer);

/* Sends one datagram to peer from local (NULL: the kernel chooses). Returns bytes or -1. */
ssize_t udp_send(int fd, const void *buf, size_t size, const struct udp_addr *peer,
                 const struct udp_addr *local);

/* Sends one datagram made of iov to peer from local (NULL: the kernel chooses), or on a
 * connected socket (peer NULL). Returns bytes or -1 (errno). */
ssize_t udp_sendv(int fd, const struct iovec *iov, int iovcnt, const struct udp_addr *peer,
                  const struct udp_addr *local);

/* Room for a reply's source address in a message's control data (IP_PKTINFO). */
struct udp_source {
    union {
        unsigned char buf[64];
        struct cmsghdr align;
    };
};

/* Addresses msg (for sendmsg, or a batch's sendmmsg) to peer, from local (NULL: the
 * kernel chooses), its control data in *source, which must live as long as msg. */
void udp_msg_address(struct msghdr *msg, struct udp_source *source,
                     const struct udp_addr *peer, const struct udp_addr *local);

/* Waits up to timeout_ms (-1: forever) for fd or wake_fd (-1: none) to be readable.
 * Returns 1 if fd is readable, 2 if only wake_fd is, 0 on timeout, -1 on error. */
int udp_wait(int fd, int wake_fd, int timeout_ms);

/* Writes "IPv4 127.0.0.1 port 61006" (v4-mapped IPv6 addresses print as IPv4). */
void udp_addr_to_text(const struct udp_addr *addr, char *out, size_t out_size);

/* Writes the canonical bytes of addr (family, port, address; v4-mapped as IPv4) into key,
 * the same bytes for the same peer whichever socket saw it. Returns their count. */
size_t udp_addr_key(const struct udp_addr *addr, unsigned char key[UDP_ADDR_KEY_MAX]);

/* Returns 1 when a and b are the same peer (same family, address and port), else 0. */
int udp_addr_equal(const struct udp_addr *a, const struct udp_addr *b);

/* Returns the IP and UDP header bytes of a datagram to addr: 28 for IPv4, 48 for IPv6. */
unsigned udp_header_size(const struct udp_addr *addr);

/* Sets fd's receive and send buffers to bytes each (past net.core.rmem_max and wmem_max
 * when the process may: root, CAP_NET_ADMIN). Returns 0, or -1 with a reason. */
int udp_set_buffers(int fd, int bytes, char *err, size_t err_size);

#endif
