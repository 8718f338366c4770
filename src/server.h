/* SPDX-License-Identifier: MIT */
/* server.h - the DTLS echo server: the listener (listener.c) reads the listening socket
 * and hands each client with a valid cookie to a session thread (pool.c) that runs its
 * session (server_session.c); registry.c knows who is served. This header is the state
 * those parts share, and the one entry point. */
#ifndef DTLS_ECHO_SERVER_H
#define DTLS_ECHO_SERVER_H

#include <pthread.h>
#include <stdatomic.h>

#include "cookie.h"
#include "credentials.h"
#include "lease.h"
#include "options.h"
#include "pool.h"
#include "registry.h"
#include "session.h"
#include "trace.h"
#include "udp.h"

/* A datagram a session read on its socket that came from another peer (it arrived in
 * the window between bind() and connect()), or that was still queued when a session
 * ended; the listener handles it as its own. */
struct forwarded {
    struct forwarded *next;
    struct udp_addr peer, local;
    size_t len;
    unsigned char data[];
};

/* Why a session failed, as the status line counts them. */
enum failed_kind {
    FAILED_HANDSHAKE_TIMEOUT, /* not done within --handshake-timeout */
    FAILED_HANDSHAKE,         /* a fatal error or alert during the handshake */
    FAILED_GONE,              /* the peer went away (ICMP port unreachable) */
    FAILED_SESSION,           /* a fatal error after the handshake */
    FAILED_KINDS
};

/* The credentials new sessions take. SIGHUP replaces them; a session keeps the ones it
 * started with until it ends (server_credentials_take, server_credentials_drop). */
struct server_credentials {
    struct credentials creds;
    unsigned refs;          /* the server's own, and one per session; under srv->lock */
};

struct server {
    const struct config *cfg;
    int listen_fd;
    struct udp_addr bound;
    struct udp_batch *batch; /* the listener's receive buffers */
    int stop_fd;            /* readable once a stop signal came; never drained */
    int reload_fd;          /* readable after SIGHUP: re-read the key files */
    atomic_int stopping;    /* set before the sessions' sockets are shut down */
    int wake_fds[2];        /* sessions and threads -> listener: forwarded, or exited */
    struct server_credentials *creds; /* the current ones (swapped under lock) */
    struct cookie_keys cookies;
    struct pool pool;
    struct lease_pool leases; /* --tun: the tunnel's addresses (locked apart) */
    unsigned long accepted; /* clients handed to a session; the listener's alone */
    unsigned long inbox_dropped; /* --one-socket: datagrams a full inbox dropped; ditto */
    unsigned long refused[3]; /* ClientHellos refused, by decision - HELLO_REFUSE:
                                 --max-clients, --max-handshakes,
                                 --max-handshakes-per-source; ditto */
    struct hello_limits limits; /* what a new client meets */
    atomic_ulong failed[FAILED_KINDS]; /* sessions that failed, by why (SIGUSR1's line) */
    struct trace trace;     /* --trace: when the server started */

    pthread_mutex_t lock;   /* guards what follows */
    struct registry registry;
    unsigned stopped_sessions; /* sessions ended by the stop */
    struct forwarded *forward_head, *forward_tail;
    unsigned forward_len;
};

/* Serves until stop_fd becomes readable (SIGINT/SIGTERM), then closes every session and
 * joins every thread; re-reads --cookie-key-file and --ticket-key-file whenever
 * reload_fd becomes readable (SIGHUP). Returns an enum exit_code: 0; 2 for a setting that
 * cannot work; 1 when it could not start otherwise. */
int server_run(const struct config *cfg, int stop_fd, int reload_fd);

/* Serves on srv->listen_fd until the stop: the session threads, the listener's loop, then
 * every session closed and every thread joined. In a worker process, the whole worker.
 * Returns an exit code. */
int server_serve(struct server *srv);

/* SIGHUP: reads the certificate and key, CA, CRL, PSK file and raw keys again for the
 * sessions to come (live ones keep theirs), then --cookie-key-file and --ticket-key-file;
 * whatever cannot be read keeps what is in use, said once. */
void server_reload(struct server *srv);

/* The current credentials, held for a session until server_credentials_drop. */
struct server_credentials *server_credentials_take(struct server *srv);
void server_credentials_drop(struct server *srv, struct server_credentials *held);

/* SIGUSR1: one status line, whatever the log level (what is live, handshaking, accepted,
 * refused, failed by why). */
void server_log_status(struct server *srv);

/* workers.c: --workers N, with N listening sockets in one SO_REUSEPORT group: forks a
 * worker process per socket, each a whole server (server_serve) with the keys set up
 * before the fork, restarts one that dies, passes SIGHUP on, and on the stop stops them
 * all gracefully. Returns an exit code: 0 when every worker stopped cleanly. */
int workers_run(struct server *srv, const int *listen_fds, unsigned count);

/* Queues a datagram from peer, received at local, for the listener. Caller holds
 * srv->lock and then calls server_wake_listener. */
void server_forward_locked(struct server *srv, const void *buf, size_t len,
                           const struct udp_addr *peer, const struct udp_addr *local);

/* The one-socket server: hands a datagram from peer to its session's inbox (a full one
 * drops it and counts it in srv->inbox_dropped). Caller holds srv->lock, and calls
 * inbox_wake(*wake) before releasing it when *wake is set (the session sleeps). Returns
 * 1 when peer is served (the datagram was its session's), 0 when not. */
struct inbox;
int server_session_deliver_locked(struct server *srv, const void *data, size_t len,
                                  const struct udp_addr *peer, struct inbox **wake);

/* Makes the listener look at its queue and at exited threads. */
void server_wake_listener(struct server *srv);

/* server_session.c: starts serving a client whose ClientHello (hello, len) from peer,
 * sent to local, carried a valid cookie: its own socket, registration, a thread. */
void server_session_start(struct server *srv, const unsigned char *hello, size_t len,
                          const struct udp_addr *peer, const struct udp_addr *local,
                          const gnutls_dtls_prestate_st *prestate);

/* server_tunnel.c: sets up the leases of --tun-net and --tun-net6. Returns 0, or -1 with
 * a reason. */
int server_tunnels_init(struct server *srv, char *err, size_t err_size);

/* server_tunnel.c: serves the tunnel a client asked for on its established session s:
 * its request, its lease, its interface, its packets. Returns CLOSED (the session
 * ended: close_notify, a dead peer, a failure or a refusal, all logged), STOPPED (the
 * server's stop), HALTED (the client started a new handshake), or what ended the wait
 * for its request. */
enum session_status server_tunnel_serve(struct server *srv, struct session *s);

/* server_session.c: runs a pool job (one client) to its end. */
void server_session_serve(struct pool_job *job);

/* server_session.c: wakes every session that waits on its socket (the stop). Caller
 * holds srv->lock. */
void server_session_wake_all_locked(struct server *srv);

#endif
