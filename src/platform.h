/* SPDX-License-Identifier: MIT */
/* platform.h - the platform seam: what differs between Linux and the other POSIX systems
 * (macOS, the BSDs) sits behind these small functions, in platform_linux.c (Linux's fast
 * paths: recvmmsg/sendmmsg, epoll, pipe2, SOCK_CLOEXEC, condition variables on the
 * monotonic clock) and platform_posix.c (the portable path: one recvmsg/sendmsg at a time,
 * poll, pipe + fcntl, CLOCK_REALTIME deadlines). Exactly one of them is compiled in; the
 * rest of the code never tests the platform itself.
 *
 * PLATFORM_LINUX is 1 on Linux unless the build asks for the portable path
 * (DTLS_ECHO_PORTABLE: `make posix`, which runs what macOS runs, on Linux). Linux-only
 * features (--workers, --tun, the capability drop) live in files that compile to stubs
 * elsewhere, and the options refuse them at start. */
#ifndef DTLS_ECHO_PLATFORM_H
#define DTLS_ECHO_PLATFORM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#if defined(__linux__) && !defined(DTLS_ECHO_PORTABLE)
#define PLATFORM_LINUX 1
#else
#define PLATFORM_LINUX 0
#endif

/* macOS has no MSG_NOSIGNAL (its sockets take SO_NOSIGPIPE instead); UDP sockets never
 * raise SIGPIPE anyway. */
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

/* The platform's name, as error messages give it: "Linux", "macOS", "FreeBSD", ... (the
 * portable build on Linux says "the portable build"). */
const char *platform_name(void);

/* Whether this build has --workers (a balancing SO_REUSEPORT group, pidfd) and --tun
 * (Linux's TUN device and rtnetlink). */
int platform_has_workers(void);
int platform_has_tun(void);

/* Whether the kernel delivers a peer's datagrams to a socket bound to the listener's port
 * and connected to that peer, rather than to the listener (the connected-socket server):
 * Linux and the BSDs do; where not (Windows), the server always runs --one-socket. */
int platform_has_connected_udp(void);

/* setsockopt of an int, with the option named in the error (what). Returns 0, or -1 with
 * a reason. Every option the program sets matters: none is ignored when it fails. */
int platform_set_option(int fd, int level, int name, int value, const char *what, char *err,
                        size_t err_size);

/* ---- datagrams, several at a time ---------------------------------------------------- */

/* One datagram of a batch: the layout of Linux's struct mmsghdr, so that the Linux path
 * hands the array to recvmmsg/sendmmsg as it is. len: the bytes received. */
struct dgram_msg {
    struct msghdr hdr;
    unsigned len;
};

enum dgram_wait {
    DGRAM_DONTWAIT,    /* what has queued, without waiting (EAGAIN: nothing) */
    DGRAM_WAITFORONE,  /* wait (within the socket's SO_RCVTIMEO) for one, then what queued */
};

/* Receives up to count datagrams into msgs (their names, buffers and control set by the
 * caller). Returns how many, or -1 with errno. */
int dgram_recv_many(int fd, struct dgram_msg *msgs, unsigned count, enum dgram_wait wait);

/* Sends up to count datagrams from msgs without waiting. Returns how many went (at least
 * one), or -1 with errno (EAGAIN: the socket buffer is full). */
int dgram_send_many(int fd, struct dgram_msg *msgs, unsigned count);

/* ---- descriptors and sockets ---------------------------------------------------------- */

/* A pipe, both ends close-on-exec, and non-blocking when nonblock is set. Returns 0, or
 * -1 with errno. */
int platform_pipe(int fds[2], int nonblock);

/* A close-on-exec UDP socket of family, non-blocking when nonblock is set (and, where
 * the platform has it, SO_NOSIGPIPE). Returns the descriptor, or -1 with errno. */
int platform_udp_socket(int family, int nonblock);

/* Sets the DF bit on fd (IPv4, and IPv6 too on an IPv6 socket, whose IPv4 traffic follows
 * the IPv4 option): we fragment at the DTLS layer (--mtu), never at the IP layer. Returns
 * 0, or -1 with a reason naming the option. */
int platform_dont_fragment(int fd, int family, char *err, size_t err_size);

/* Sets SO_RCVBUF (receive nonzero) or SO_SNDBUF to bytes, past the system's limit where
 * the platform lets a privileged process (Linux's SO_RCVBUFFORCE). Returns 0, or -1 with a
 * reason naming the option. */
int platform_socket_buffer(int fd, int receive, int bytes, char *err, size_t err_size);

/* Lets the server's per-client sockets bind the listener's address and port, and the
 * kernel deliver each peer's datagrams to the socket connected to it: SO_REUSEADDR on
 * Linux; on BSD kernels (macOS's too) SO_REUSEPORT as well, which they need for a second
 * UDP socket on a port (their lookup then prefers the connected socket). Set on the
 * listener after its bind, and on each session socket before. Returns 0, or -1 with a
 * reason naming the option. */
int platform_share_port(int fd, char *err, size_t err_size);

/* Memory of its own for a buffer that lives as long as a client (an inbox): given back to
 * the system when freed, where the heap would keep what a burst of clients touched.
 * Returns NULL when out of memory. */
void *platform_alloc_pages(size_t size);
void platform_free_pages(void *p, size_t size);

/* ---- timed waits ---------------------------------------------------------------------- */

/* Initialises cond for platform_cond_wait_until. Returns 0, or an error number. */
int platform_cond_init(pthread_cond_t *cond);

/* Waits on cond (mutex held) until signalled or deadline_ms on clock_now_ms()'s monotonic
 * clock. Returns 0, or ETIMEDOUT. */
int platform_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *mutex, int64_t deadline_ms);

/* ---- readiness of many descriptors (the load generator) ------------------------------- */

/* A set of descriptors, each with a pointer of the caller's (epoll on Linux, poll
 * elsewhere); level-triggered, readability only. */
struct poller;

/* A new, empty set for up to max descriptors. Returns NULL when out of memory (errno). */
struct poller *poller_new(unsigned max);
void poller_free(struct poller *p);

/* Adds fd, readiness reported with ptr; removes it (before it is closed). Return 0, or -1
 * with errno. */
int poller_add(struct poller *p, int fd, void *ptr);
int poller_remove(struct poller *p, int fd);

/* Waits up to timeout_ms (0: looks; -1: forever) and puts the pointers of up to max ready
 * descriptors in ready. Returns how many, or -1 with errno. */
int poller_wait(struct poller *p, void **ready, unsigned max, int timeout_ms);

#endif
