/* SPDX-License-Identifier: MIT */
/* session.h - THE session engine: every DTLS session of ours, the server's, the client's
 * and the load generator's, is set up, handshaken, sent on, received on and closed here,
 * and every step answers with one typed enum session_status.
 *
 * Nothing here blocks for longer than the caller allows: the handshake and the bounded
 * send take a deadline, the receive a deadline or none (a non-blocking step), so a caller
 * that waits on several descriptors (the load generator's epoll, a tunnel's socket and
 * TUN device) drives the same steps with its own poll and session_timeout_ms(). */
#ifndef DTLS_ECHO_SESSION_H
#define DTLS_ECHO_SESSION_H

#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "credentials.h"
#include "udp.h"

/* A client's handshake attempt lasts this many retransmission periods: GnuTLS
 * retransmits after 1, 3 and 7 of them (its timer doubles), which rides out loss; only a
 * stalled session (libgnutls 3.7.9 can stall with every flight sent) needs a fresh one. */
#define SESSION_HANDSHAKE_ROUNDS 8

/* The most ALPN protocols a session offers: what libgnutls keeps. */
#define SESSION_ALPN_MAX 8

/* What one step of a session came to. */
enum session_status {
    SESSION_OK,        /* done: handshake complete, record sent, record received */
    SESSION_AGAIN,     /* nothing yet: wait for the socket, or session_timeout_ms() */
    SESSION_CLOSED,    /* the peer sent close_notify */
    SESSION_TIMEOUT,   /* the deadline passed first (or GnuTLS's own handshake limit) */
    SESSION_STOPPED,   /* the stop descriptor became readable or the stop flag was set */
    SESSION_HALTED,    /* the transport's screen halted the session (see below) */
    SESSION_REFUSED,   /* nothing listens at the peer's port (ICMP port unreachable) */
    SESSION_TOO_LARGE, /* the record does not fit the data MTU: not sent */
    SESSION_PING,      /* a heartbeat ping came and was answered: the peer is alive */
    SESSION_PONG,      /* a heartbeat pong came: the answer to our ping */
    SESSION_FATAL,     /* a fatal TLS error; session->error holds the GnuTLS code */
};

/* Returns a short name of a status ("timeout"), for logs and tests. */
const char *session_status_name(enum session_status status);

/* What the transport does with a datagram it read, when a screen is set. */
enum screen_verdict {
    SCREEN_PASS, /* hand it to GnuTLS */
    SCREEN_SKIP, /* the screen dealt with it: read the next one */
    SCREEN_HALT, /* stop the session: every step now answers SESSION_HALTED */
};

struct session_batch; /* session.c: datagrams read and written several at a time */
struct trace;         /* trace.h: --trace */
struct inbox;         /* inbox.h: the one-socket server's queue of a session's datagrams */

/* The session's transport: a UDP socket connected to the peer. */
struct session_transport {
    int fd;
    atomic_int last_errno;   /* of the last failed send or receive (ECONNREFUSED: refused);
                                atomic, as halted: a tunnel sends and receives at once */
    unsigned reads;          /* datagrams handed to GnuTLS */
    const unsigned char *pending; /* a datagram read before the session (the server's
                                     ClientHello): handed to GnuTLS first */
    size_t pending_len;
    /* NULL on a client socket. The server's session socket can receive other peers'
     * datagrams (bind-to-connect window) and a restarting peer's ClientHello: its screen
     * sees each datagram with its source first. */
    enum screen_verdict (*screen)(void *ctx, const unsigned char *buf, size_t len,
                                  const struct udp_addr *from);
    void *screen_ctx;
    atomic_int halted;
    int blocking;            /* wait in recvmsg itself (SO_RCVTIMEO; see session_serve) */
    int64_t last_record_us, gap_us; /* how busy the session is, for blocking waits */
    /* The one-socket server: fd is the shared listening socket, the session's datagrams
     * come from the listener through inbox, and each goes out to peer from local (its
     * source: the address the peer wrote to). NULL inbox: fd is connected to the peer. */
    struct inbox *inbox;
    const struct udp_addr *peer, *local;
    int64_t wait_ms;         /* inbox: how long a blocking read waits (SO_RCVTIMEO's part) */
    struct session_batch *batch; /* NULL: one system call per datagram */
    struct trace_state *trace;   /* --trace: what was sent, to mark retransmissions */
};

struct session {
    gnutls_session_t tls;
    struct session_transport transport;
    const char *peer;        /* the peer's name in log lines */
    int stop_fd;             /* readable: stop waiting (-1: none) */
    const atomic_int *stop_flag; /* set: stop (NULL: none) */
    int established;         /* the handshake completed */
    int error;               /* the GnuTLS code behind SESSION_FATAL */
    int pong_later;          /* session_recv leaves a ping's answer to session_pong (a
                                tunnel's receiving thread: its sending thread sends) */
    const char *alpn;        /* the ALPN list it was opened with (NULL: none), for hints */
};

/* How to set a session up. */
struct session_params {
    const struct credentials *creds;
    unsigned path_mtu;       /* bytes, IP and UDP headers included */
    const struct udp_addr *peer;
    unsigned retransmit_ms;  /* first handshake retransmission */
    unsigned total_ms;       /* GnuTLS's own limit on the whole handshake */
    const char *server_name; /* client: SNI, when it is a DNS name (NULL: none) */
    const gnutls_dtls_prestate_st *prestate; /* server: from the cookie exchange */
    const char *alpn_first;  /* ALPN: one protocol before the list (the tunnel's) */
    const char *alpn;        /* ALPN protocols, comma-separated (client: asked for, in
                                order; server: accepted, the others refused) */
    const char *srtp_profiles; /* DTLS-SRTP profiles, colon-separated (NULL: none) */
    const struct trace *trace; /* print the handshake (--trace); NULL: not */
    struct inbox *inbox;     /* the one-socket server: the session's datagrams (fd is the
                                shared socket); NULL: fd is connected to peer */
    const struct udp_addr *local; /* with inbox: the address the peer writes to */
};

/* Initialises GnuTLS and, at LOG_TRACE + 1 (-vvv), routes its log to ours. Returns 0, or
 * -1 with a reason. */
int session_global_init(int log_level, char *err, size_t err_size);
void session_global_deinit(void);

/* Creates s->tls over fd (which the caller keeps owning), non-blocking, with the MTU set
 * and the transport installed. s->peer, stop_fd and stop_flag are the caller's to set
 * (s->peer before, when params->trace names a server's lines by it). Returns 0, or a
 * negative GnuTLS code. */
int session_open(struct session *s, const struct session_params *params, int fd);

/* One handshake step: calls GnuTLS, and again while a call consumed datagrams (GnuTLS
 * 3.7.9 can return GNUTLS_E_AGAIN with a record it read still unprocessed: a wait on the
 * then empty socket would sleep a whole retransmission period). On a fatal error it tells
 * the peer why with an alert. Returns OK, AGAIN, TIMEOUT, REFUSED, HALTED or FATAL. */
enum session_status session_handshake_step(struct session *s);

/* The handshake until it completes or deadline_ms (monotonic) passes, waiting for the
 * socket, GnuTLS's retransmission timer and the stop signals in between. Returns OK,
 * TIMEOUT, STOPPED, REFUSED, HALTED or FATAL. */
enum session_status session_handshake(struct session *s, int64_t deadline_ms);

/* Milliseconds until GnuTLS wants to be called again to retransmit (handshake). */
unsigned session_timeout_ms(const struct session *s);

/* Sends one record, waiting up to timeout_ms while the socket buffer is full (0: one
 * try). Returns OK, TOO_LARGE, TIMEOUT, REFUSED, HALTED or FATAL. */
enum session_status session_send(struct session *s, const void *data, size_t len,
                                 int timeout_ms);

/* Receives one record into buf: OK with *len (and seq, when not NULL, its epoch and
 * sequence number), CLOSED, PING, PONG, AGAIN (nothing now, on a non-blocking transport;
 * the idle time is up, on a blocking one), REFUSED, STOPPED, HALTED or FATAL. */
enum session_status session_recv(struct session *s, void *buf, size_t size, size_t *len,
                                 unsigned char seq[8]);

/* session_recv, waiting for the socket and the stop descriptor until deadline_ms; returns
 * TIMEOUT when it passes first. */
enum session_status session_recv_until(struct session *s, void *buf, size_t size,
                                       size_t *len, int64_t deadline_ms);

/* Ends the session: close_notify first when the handshake was done (GNUTLS_SHUT_WR: the
 * peer's answer is not awaited; a full socket buffer is retried for a few milliseconds),
 * then frees it. The socket stays open. Safe on a session never opened. */
void session_close(struct session *s);

/* Nonzero when session_recv has something without reading the socket: records GnuTLS
 * holds decrypted, or datagrams a batched read brought. */
size_t session_pending(const struct session *s);

/* How long a blocking session's read waits for a datagram from now on (at least 1 ms):
 * the socket's SO_RCVTIMEO, or the inbox's wait in the one-socket server. Returns 0, or
 * -1 with errno. */
int session_set_wait(struct session *s, int64_t ms);

/* Reads and writes datagrams several per system call from now on (recvmmsg; sendmmsg
 * between session_cork and session_uncork), for a session that moves many records: a
 * tunnel, or a busy echo session. Returns 0, or -1 when out of memory (the session then
 * goes on one datagram at a time). */
int session_enable_batching(struct session *s);

/* For a batched session on a connected socket (a tunnel): equal-sized records corked
 * together leave in one UDP_SEGMENT send (*gso), and the socket's reads may hand over
 * many datagrams the kernel coalesced (UDP_GRO, *gro: 512 KiB of buffers), each where
 * the platform has it. */
void session_enable_offloads(struct session *s, int *gso, int *gro);

/* Batching for a session that turned busy (its last two records came within a
 * millisecond), so that an idle one keeps its memory: returns 1 when the session is
 * batched (now or before), 0 when not. */
int session_batch_when_busy(struct session *s);

/* Between these two, records the calling thread sends are queued (another thread's go
 * out at once), and session_uncork sends them all with sendmmsg. session_uncork returns OK, AGAIN when the socket buffer took only some (call
 * it again once the socket is writable), REFUSED or FATAL. Without batching, OK. */
void session_cork(struct session *s);
enum session_status session_uncork(struct session *s);

/* session_uncork for a blocking caller: waits while the socket buffer is full, as
 * session_send does, for at most timeout_ms. Returns OK, TIMEOUT, REFUSED or FATAL. */
enum session_status session_flush(struct session *s, int timeout_ms);

/* The largest record that fits the MTU. */
size_t session_data_mtu(const struct session *s);

/* Sends a DTLS heartbeat ping (RFC 6520) without waiting: session_recv answers PONG when
 * it comes. Returns OK, or FATAL with the GnuTLS code in s->error (not allowed by the
 * peer, or a libgnutls without heartbeat support). */
enum session_status session_ping(struct session *s);

/* Answers the last heartbeat ping (after session_recv said PING with pong_later set). */
void session_pong(struct session *s);

/* Whether the handshake agreed on ALPN protocol proto. */
int session_alpn_is(const struct session *s, const char *proto);

/* Who the peer proved to be, as text: "psk:IDENTITY", "x509:SUBJECT DN" or
 * "rawpk:sha256:HEX" of its key; "" when it proved nothing (anonymous, or a client
 * without a certificate). */
void session_peer_identity(const struct session *s, char *out, size_t out_size);

/* Whether the key exchange agreed (or being agreed) is one of the PSK ones. */
int session_is_psk(const struct session *s);

/* When a handshake fails or stalls, the likeliest cause in words a user can act on (a
 * wrong PSK key, a missing client certificate, an unknown PSK identity, a mode the peer
 * does not have), or NULL when there is nothing better to say than GnuTLS's error. code
 * is the error (0: the handshake timed out). */
const char *session_failure_hint(const struct session *s, int code);

/* Logs "who: what: <gnutls_strerror(code)>" at level, adding the verification status
 * for a certificate verification error, the alert's name for an alert, and the hint of
 * session_failure_hint. */
void session_log_failure(int level, const struct session *s, const char *what, int code);

/* The ALPN protocol agreed, into out. Returns 1, or 0 when none was. */
int session_alpn(const struct session *s, char *out, size_t out_size);

/* DTLS-SRTP: the profile agreed and its keying material in hex (client key, server key,
 * client salt, server salt, as RFC 5764 4.2 lays them out). Returns 1, or 0 when none. */
int session_srtp(const struct session *s, const char **profile, char *material_hex,
                 size_t hex_size);

/* At -v, prints "- Session: (DTLS1.2)-(ECDHE-SECP256R1)-(ECDSA-SHA256)-(AES-256-GCM)": on
 * stdout as a transcript line when on_stdout, else to stderr naming the peer. */
void session_log_description(const struct session *s, int on_stdout);

#endif
