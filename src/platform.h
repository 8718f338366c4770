/* SPDX-License-Identifier: MIT */
/* platform.h - the platform seam: what differs between Linux, the other POSIX systems
 * (macOS, the BSDs) and Windows sits behind these small functions, in platform_linux.c
 * (Linux's fast paths: recvmmsg/sendmmsg, epoll, pipe2, SOCK_CLOEXEC, condition variables
 * on the monotonic clock), platform_posix.c (the portable path: one recvmsg/sendmsg at a
 * time, poll, pipe + fcntl, CLOCK_REALTIME deadlines; Windows shares its batching, waits
 * and poller), platform_windows.c (Winsock, loopback socket pairs for pipes, stdin through
 * a reader thread, %ProgramData%) and platform.c (what the POSIX systems share). Each file
 * guards itself; the rest of the code never tests the platform itself. sockets.h is the
 * seam's header of socket names.
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
#include <sys/types.h>

#include "sockets.h"

#if defined(__linux__) && !defined(DTLS_ECHO_PORTABLE)
#define PLATFORM_LINUX 1
#else
#define PLATFORM_LINUX 0
#endif

#if defined(_WIN32)
#define PLATFORM_WINDOWS 1
#else
#define PLATFORM_WINDOWS 0
#endif

/* macOS has no MSG_NOSIGNAL (its sockets take SO_NOSIGPIPE instead); UDP sockets never
 * raise SIGPIPE anyway. */
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

/* The platform's name, as error messages give it: "Linux", "macOS", "FreeBSD",
 * "Windows", ... (the portable build on Linux says "the portable build"). */
const char *platform_name(void);

/* Before anything else: Winsock started (WSAStartup) on Windows; SIGPIPE ignored on
 * POSIX systems (a closed stdout shows as EPIPE, reported where written). Returns 0, or
 * -1 with a reason. */
int platform_init(char *err, size_t err_size);

/* Whether this build has --user (POSIX: setuid). */
int platform_has_user(void);

/* The folder of the server's certificate and key when the current one has no certs/:
 * /etc/dtls_echo, or on Windows %ProgramData%\dtls_echo when it exists, else the folder
 * of the exe; and how --help names it. */
const char *platform_config_dir(void);
#if PLATFORM_WINDOWS
#define PLATFORM_CONFIG_DIR_TEXT "%ProgramData%\\dtls_echo\\"
#else
#define PLATFORM_CONFIG_DIR_TEXT "/etc/dtls_echo/"
#endif

/* The CPUs this process may use, at least 1 (Linux: its affinity; elsewhere those online). */
unsigned platform_cpu_count(void);

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

/* The name of the network interface of index (an IPv6 scope: "eth0"), or its number
 * where it has none (or on Windows). */
#define PLATFORM_INTERFACE_MAX 32
void platform_interface_name(unsigned index, char *out, size_t size);

/* ---- files ------------------------------------------------------------------------ */

/* Whether path is a symbolic link (Windows: a reparse point). */
int platform_is_link(const char *path);

/* Whether a file whose fstat is st may be read by others than its owner (POSIX: a group
 * or other permission bit; Windows: never said by the mode, its folder's ACL decides). */
struct stat;
int platform_readable_by_others(const struct stat *st);

/* Creates and opens a new file of mode 0600 from template (ending in XXXXXX, replaced),
 * close-on-exec. Returns the descriptor, or -1 with errno. */
int platform_temporary_file(char *template);

/* Renames from to to, replacing to atomically where it exists. Returns 0, or -1 with errno. */
int platform_replace_file(const char *from, const char *to);

#if PLATFORM_WINDOWS
/* The C library's names this code uses, in mingw-w64's C runtime. Every file it opens is
 * opened O_CLOEXEC: on Windows, not inherited and in binary mode (bytes as they are). */
#include <fcntl.h>
#include <stdio.h>
#define O_CLOEXEC (_O_NOINHERIT | _O_BINARY)
#define fsync _commit
#define flockfile _lock_file
#define funlockfile _unlock_file
#define putc_unlocked _putc_nolock
#define gmtime_r(time, tm) (gmtime_s((tm), (time)) == 0 ? (tm) : NULL)
char *strndup(const char *s, size_t n);
ssize_t getline(char **line, size_t *size, FILE *f);
#endif

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

/* Segmentation offloads of a connected UDP socket (Linux's UDP_SEGMENT and UDP_GRO);
 * elsewhere none, and the calls above carry every datagram. */

/* Room for the control message dgram_segment_size reads, per received message. */
#define DGRAM_CONTROL_SIZE 32

/* Whether fd can send several datagrams in one call (dgram_send_segments): 1 or 0. */
int dgram_can_segment(int fd);

/* Sends the datagrams of iov (one iovec each, iovcnt of them: all but the last of
 * segment bytes, the last no longer) in one system call, without waiting. Returns 0, or
 * -1 with errno (EAGAIN, ENOBUFS: the socket buffer is full; ECONNREFUSED; anything
 * else: this route refuses segmentation, send them one by one). */
int dgram_send_segments(int fd, struct iovec *iov, unsigned iovcnt, size_t segment);

/* Lets reads of fd return several datagrams of one size back to back (UDP_GRO), as the
 * kernel coalesced them: each read's buffer must then hold 65535 bytes, and its control
 * DGRAM_CONTROL_SIZE. Returns 0, or -1 where there is no such thing. */
int dgram_enable_gro(int fd);

/* The size of the datagrams a read (msg) brought back to back, or 0 for one datagram. */
size_t dgram_segment_size(const struct msghdr *msg);

/* ---- descriptors and sockets ---------------------------------------------------------- */

/* Closes a socket (close, or Windows's closesocket). */
void platform_close_socket(int fd);

/* Sets O_NONBLOCK (Windows: FIONBIO). Returns 0, or -1 with errno. */
int platform_set_nonblocking(int fd);

/* How long a blocking read on fd waits (SO_RCVTIMEO; at least 1 ms). Returns 0 or -1. */
int platform_recv_timeout(int fd, int64_t ms);

/* Raises the soft limit on open descriptors towards wanted, as far as the hard limit
 * allows (the soft one is often 1024; Windows has none). Returns the limit in force, 0 if
 * unknown. */
unsigned long platform_raise_fd_limit(unsigned long wanted);

/* The ends of a platform_pipe: read, write (a byte to wake whoever polls the read end),
 * and close both. Windows's pipe is a pair of loopback sockets, which poll can wait on. */
ssize_t platform_pipe_read(int fd, void *buf, size_t size);
ssize_t platform_pipe_write(int fd, const void *buf, size_t size);
void platform_pipe_close(int fds[2]);

/* Standard input as a descriptor poll can wait on (POSIX: 0; Windows: a pipe a reader
 * thread fills from the console or the file), and a read from it (0 at its end). Returns
 * the descriptor, or -1 with errno. */
int platform_stdin_open(void);
ssize_t platform_stdin_read(int fd, void *buf, size_t size);

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

/* Joins fd to a balancing SO_REUSEPORT group (workers: Linux). Returns 0, or -1 with a
 * reason naming the option. */
int platform_reuseport(int fd, char *err, size_t err_size);

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
