/* server.c - the listener loop, the client registry, per-client threads, limits, shutdown.
 *
 * The listener thread alone reads the listening socket. A datagram is either a ClientHello
 * with a valid cookie from a peer we do not serve yet (hand it to a new thread), or it is
 * answered statelessly with a HelloVerifyRequest, or it is ignored. Before a valid cookie
 * nothing is allocated and no reply is larger than the datagram that caused it. */
#define _GNU_SOURCE
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dtls_helper.h"
#include "log.h"
#include "udp.h"

#define LISTEN_RCVBUF (8 * 1024 * 1024) /* a burst of ~10,000 ClientHellos */
#define CLIENT_STACK_SIZE (256 * 1024)
#define THREAD_LINGER_S 2  /* a thread whose session ended waits this long for the next */
#define REGISTRY_BUCKETS 4096
#define FORWARD_QUEUE_MAX 1024
#define REFUSED_MEMORY 64
#define MAX_DATAGRAM 65536
#define RECORD_BUFFER 16384 /* the largest DTLS record's plaintext */
#define SEND_RETRY_MS 1000
#define MAX_DATAGRAM_HANDBACK 2048 /* a ClientHello fits; the listener needs no more */
#define SPIN_ROUNDS 20            /* looks for the next record of a busy session ... */
#define BUSY_GAP_US 1000          /* ... one whose last two records came this close */

struct client;

/* A session thread. It serves one client after another: when a session ends it waits
 * THREAD_LINGER_S for the next new client before it exits. Under handshake churn this
 * saves a thread creation, its fresh stack pages and GnuTLS's per-thread set-up for
 * every session (see the note in README: Performance). */
struct session_thread {
    pthread_t id;
    struct server *server;
    struct client *first;
    struct session_thread *next;  /* in the exited list */
};

/* A datagram a client thread read on its socket that came from another peer (it arrived
 * in the window between bind() and connect()); the listener handles it as its own. */
struct forwarded {
    struct forwarded *next;
    struct udp_addr peer, local;
    size_t len;
    unsigned char data[];
};

struct server {
    const struct config *cfg;
    int listen_fd;
    struct udp_addr bound;
    int stop_fd;            /* readable once a stop signal came; never drained */
    atomic_int stopping;    /* set before the sessions' sockets are shut down */
    int wake_fds[2];        /* client threads -> listener: finished, or forwarded */
    struct dtls_credentials creds;
    struct cookie_keys cookies;
    pthread_attr_t thread_attr;

    pthread_mutex_t lock;   /* guards everything below */
    struct client *registry[REGISTRY_BUCKETS];
    unsigned active;        /* registered sessions */
    struct session_thread *exited; /* threads that ended, to be joined */
    unsigned threads;       /* session threads alive */
    pthread_cond_t handoff_cond; /* parked threads wait here for a new client */
    struct client *handoff; /* new clients handed to parked threads */
    unsigned parked;        /* threads waiting for a client, minus clients in handoff */
    unsigned stopped_sessions; /* sessions ended by the stop signal */
    struct forwarded *forward_head, *forward_tail;
    unsigned forward_len;

    /* Listener only: the last peers refused for --max-clients, to log each once. */
    struct udp_addr refused[REFUSED_MEMORY];
    unsigned refused_next;
};

struct client {
    struct client *next;     /* in a registry bucket */
    struct client *handoff_next;
    struct server *server;
    int fd;                  /* connected to peer; read by this client's thread only */
    struct udp_addr peer, local;
    char peer_text[UDP_ADDR_TEXT_MAX];
    gnutls_dtls_prestate_st prestate;
    unsigned char *hello;    /* the ClientHello that carried the valid cookie */
    size_t hello_size;       /* its length */
    size_t hello_len;        /* hello_size until the session has pulled it, then 0 */
    unsigned reads;          /* datagrams pulled, for dtls_handshake() */
    int64_t last_record_us;  /* when the last datagram came, once the handshake is done */
    int64_t gap_us;          /* and how long after the one before */
    int handshake_done;      /* and the pull function waits in recvmsg */
    int restart;             /* the peer began a new handshake (valid cookie) in hello */
};

enum session_end { SESSION_CLOSED, SESSION_RESTART, SESSION_STOPPED };

/* ---- registry ------------------------------------------------------------------- */

static unsigned bucket_of(const struct udp_addr *peer)
{
    unsigned char key[UDP_ADDR_KEY_MAX];
    size_t i, len = udp_addr_key(peer, key);
    unsigned hash = 2166136261u; /* FNV-1a */

    for (i = 0; i < len; i++)
        hash = (hash ^ key[i]) * 16777619u;
    return hash % REGISTRY_BUCKETS;
}

/* Caller holds the lock. */
static struct client *registry_find(struct server *srv, const struct udp_addr *peer)
{
    struct client *c;

    for (c = srv->registry[bucket_of(peer)]; c != NULL; c = c->next)
        if (udp_addr_equal(&c->peer, peer))
            return c;
    return NULL;
}

/* Caller holds the lock. */
static void registry_remove(struct server *srv, struct client *client)
{
    struct client **link = &srv->registry[bucket_of(&client->peer)];

    while (*link != NULL && *link != client)
        link = &(*link)->next;
    if (*link == client) {
        *link = client->next;
        srv->active--;
    }
    client->next = NULL;
}

static void wake_listener(struct server *srv)
{
    char byte = 1;

    /* The pipe is non-blocking: when it is full the listener is awake anyway. */
    if (write(srv->wake_fds[1], &byte, 1) < 0 && errno != EAGAIN)
        log_debug("wake listener: %s", strerror(errno));
}

static void client_free(struct client *client)
{
    if (client->fd >= 0)
        close(client->fd);
    free(client->hello);
    free(client);
}

/* Joins the session threads that have ended. Listener only. */
static void reap_exited(struct server *srv)
{
    struct session_thread *list, *next;

    pthread_mutex_lock(&srv->lock);
    list = srv->exited;
    srv->exited = NULL;
    pthread_mutex_unlock(&srv->lock);
    for (; list != NULL; list = next) {
        next = list->next;
        pthread_join(list->id, NULL);
        free(list);
    }
}

/* ---- the client thread's transport ---------------------------------------------- */

/* Queues a datagram from another peer for the listener, which treats it as its own.
 * Caller holds the lock and wakes the listener. */
static void forward_locked(struct client *client, const void *buf, size_t len,
                           const struct udp_addr *from)
{
    struct server *srv = client->server;
    struct forwarded *item;

    if (srv->forward_len >= FORWARD_QUEUE_MAX) {
        log_debug("%s: forward queue full, datagram dropped", client->peer_text);
        return;
    }
    item = malloc(sizeof(*item) + len);
    if (item == NULL)
        return;
    item->next = NULL;
    item->peer = *from;
    item->local = client->local;
    item->len = len;
    memcpy(item->data, buf, len);
    if (srv->forward_tail != NULL)
        srv->forward_tail->next = item;
    else
        srv->forward_head = item;
    srv->forward_tail = item;
    srv->forward_len++;
}

static void forward_to_listener(struct client *client, const void *buf, size_t len,
                                const struct udp_addr *from)
{
    struct server *srv = client->server;

    if (log_enabled(LOG_DEBUG)) {
        char text[UDP_ADDR_TEXT_MAX];
        udp_addr_to_text(from, text, sizeof(text));
        log_debug("%zu bytes from %s reached the socket of %s; handed to the listener", len,
                  text, client->peer_text);
    }
    pthread_mutex_lock(&srv->lock);
    forward_locked(client, buf, len, from);
    pthread_mutex_unlock(&srv->lock);
    wake_listener(srv);
}

/* A new ClientHello on an established session: the peer restarted on the same address
 * and port. With a valid cookie it gets a fresh session; without, a HelloVerifyRequest.
 * Returns 1 when a restart is due. */
static int peer_restarted(struct client *client, const unsigned char *buf, size_t len)
{
    struct server *srv = client->server;
    gnutls_dtls_prestate_st prestate;
    unsigned char *copy;

    if (dtls_classify_datagram(&srv->cookies, &client->peer, buf, len, &prestate) !=
        DATAGRAM_CLIENT_HELLO) {
        log_debug("Sending hello verify request to %s", client->peer_text);
        dtls_cookie_reply_current(&srv->cookies, client->fd, &client->peer, NULL);
        return 0;
    }
    copy = malloc(len);
    if (copy == NULL)
        return 0;
    memcpy(copy, buf, len);
    free(client->hello);
    client->hello = copy;
    client->hello_size = client->hello_len = len;
    client->prestate = prestate;
    client->restart = 1;
    return 1;
}

/* Whether buf belongs to the handshake attempt that started this session: the same client
 * random. A retransmitted ClientHello, or one re-sent after a second HelloVerifyRequest,
 * keeps it; a client that restarted, or a new client that got the old one's port, has a
 * new one. (Comparing whole messages would take the re-cookied one for a restart and
 * start a second session under a handshake in progress.) */
static int same_handshake_attempt(const struct client *client, const unsigned char *buf,
                             size_t len)
{
    enum { RANDOM_AT = 13 + 12 + 2, RANDOM_SIZE = 32 };

    return len >= RANDOM_AT + RANDOM_SIZE && client->hello_size >= RANDOM_AT + RANDOM_SIZE &&
           memcmp(buf + RANDOM_AT, client->hello + RANDOM_AT, RANDOM_SIZE) == 0;
}

/* Waits for the session's next datagram once the handshake is done. A busy session first
 * looks a few times, yielding the CPU in between (to the other sessions' threads, or the
 * peer's): under load the next record is usually there, and finding it saves a sleep and
 * a wake-up, the largest cost of a record on this thread-per-client path. That took 8
 * sessions x 8 echoes in flight from 67,500 to 89,000 echoes/s on 2 cores. An idle
 * session sleeps at once. */
static ssize_t wait_datagram(struct client *client, void *buf, size_t size,
                             struct udp_addr *from)
{
    ssize_t n;
    int64_t now;
    int i;

    for (i = 0; client->gap_us < BUSY_GAP_US && i < SPIN_ROUNDS; i++) {
        n = udp_recv(client->fd, buf, size, from, NULL);
        if (n >= 0 || errno != EAGAIN)
            goto got;
        sched_yield();
    }
    n = udp_recv_wait(client->fd, buf, size, from);
got:
    now = dtls_now_us();
    client->gap_us = now - client->last_record_us;
    client->last_record_us = now;
    return n;
}

static ssize_t client_pull(gnutls_transport_ptr_t ptr, void *buf, size_t size)
{
    struct client *client = ptr;
    struct udp_addr from;
    ssize_t n;
    int reads;

    if (client->hello_len > 0 && !client->restart) {
        size_t len = client->hello_len < size ? client->hello_len : size;
        memcpy(buf, client->hello, len);
        client->hello_len = 0;
        client->reads++;
        return (ssize_t)len;
    }
    /* Bounded: a burst of foreign datagrams must not keep this thread here. Once the
     * handshake is done, wait in recvmsg itself: one system call per record, as a plain
     * UDP echo loop makes, instead of a failed read, a poll and a read. */
    for (reads = 0; reads < 64 && !client->restart; reads++) {
        n = client->handshake_done ? wait_datagram(client, buf, size, &from)
                                   : udp_recv(client->fd, buf, size, &from, NULL);
        if (n <= 0 && atomic_load(&client->server->stopping)) {
            errno = EAGAIN; /* shut down (recvmsg returned 0): client_echo closes */
            return -1;
        }
        if (n < 0)
            return -1;
        if (!udp_addr_equal(&from, &client->peer)) {
            forward_to_listener(client, buf, (size_t)n, &from);
            continue;
        }
        if (dtls_is_client_hello(buf, (size_t)n) &&
            (client->handshake_done || !same_handshake_attempt(client, buf, (size_t)n))) {
            if (peer_restarted(client, buf, (size_t)n))
                break;
            continue;
        }
        client->reads++;
        return n;
    }
    errno = EAGAIN;
    return -1;
}

/* Vectored, so GnuTLS packs a whole flight (ServerHello ... ServerHelloDone) into one
 * datagram up to the MTU: one loss then costs one retransmission, not one per record. */
static ssize_t client_push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
    struct client *client = ptr;

    return udp_sendv(client->fd, (const struct iovec *)iov, iovcnt);
}

static int client_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
    struct client *client = ptr;
    struct pollfd pfd = {.fd = client->fd, .events = POLLIN};

    /* The buffered ClientHello is data GnuTLS has not read yet: say so, or the handshake
     * waits a whole retransmission period for a datagram that already came. */
    if (client->hello_len > 0 && !client->restart)
        return 1;
    return poll(&pfd, 1, (int)ms);
}

/* ---- the client thread ---------------------------------------------------------- */

static int session_new(struct client *client, gnutls_session_t *out)
{
    struct server *srv = client->server;
    gnutls_session_t session;
    int rc;

    rc = dtls_session_new(&srv->creds, GNUTLS_SERVER | GNUTLS_DATAGRAM | GNUTLS_NONBLOCK,
                          &session);
    if (rc < 0) {
        log_error("%s: session setup: %s", client->peer_text, gnutls_strerror(rc));
        return -1;
    }
    gnutls_dtls_prestate_set(session, &client->prestate);
    dtls_set_path_mtu(session, srv->cfg->mtu, &client->peer);
    gnutls_dtls_set_timeouts(session, 1000, srv->cfg->handshake_timeout_s * 1000);
    gnutls_transport_set_ptr(session, client);
    gnutls_transport_set_vec_push_function(session, client_push);
    gnutls_transport_set_pull_function(session, client_pull);
    gnutls_transport_set_pull_timeout_function(session, client_pull_timeout);
    *out = session;
    return 0;
}

/* Runs the handshake under --handshake-timeout. Returns 0 when it completed, 1 when the
 * server is stopping, -1 when it failed. */
static int client_handshake(struct client *client, gnutls_session_t session)
{
    struct server *srv = client->server;
    int64_t deadline = dtls_now_ms() + (int64_t)srv->cfg->handshake_timeout_s * 1000;
    int rc;

    for (;;) {
        rc = dtls_handshake(session, &client->reads);
        if (rc == 0)
            return 0;
        /* GnuTLS's total timeout is ours too; whichever clock fires first, one message. */
        if (rc == GNUTLS_E_TIMEDOUT || dtls_now_ms() >= deadline) {
            const char *hint = dtls_stall_hint(session, 1);
            if (hint != NULL)
                log_warn("%s: handshake failed: %s", client->peer_text, hint);
            else
                log_info("%s: handshake not done after %u s, dropped", client->peer_text,
                         srv->cfg->handshake_timeout_s);
            return -1;
        }
        if (rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED) {
            if (gnutls_error_is_fatal(rc)) {
                dtls_log_failure(LOG_WARN, session, client->peer_text, "handshake failed", rc);
                /* GnuTLS sends no alert by itself; without one the peer waits it out. */
                if (gnutls_alert_send_appropriate(session, rc) < 0)
                    log_debug("%s: no alert sent", client->peer_text);
                return -1;
            }
            log_debug("%s: handshake: %s", client->peer_text, gnutls_strerror(rc));
            continue;
        }
        /* Shut down: stop_fd is readable, and so is the socket (shutdown(SHUT_RD)). */
        if (atomic_load(&srv->stopping) ||
            dtls_wait(session, client->fd, srv->stop_fd, deadline) == 2)
            return 1;
    }
}

/* Sends the echo, waiting (bounded) while the socket buffer is full. */
static void echo_record(struct client *client, gnutls_session_t session, const void *data,
                        size_t len)
{
    int64_t deadline = dtls_now_ms() + SEND_RETRY_MS;
    ssize_t rc;

    for (;;) {
        rc = gnutls_record_send(session, data, len);
        if (rc >= 0)
            return;
        if (rc == GNUTLS_E_LARGE_PACKET) {
            log_warn("%s: a record of %zu bytes does not fit the data MTU of %u bytes "
                     "(--mtu %u); not echoed", client->peer_text, len,
                     gnutls_dtls_get_data_mtu(session), client->server->cfg->mtu);
            return;
        }
        if ((rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED) ||
            dtls_now_ms() >= deadline) {
            dtls_log_failure(LOG_WARN, session, client->peer_text, "echo not sent", (int)rc);
            return;
        }
        struct pollfd pfd = {.fd = client->fd, .events = POLLOUT};
        poll(&pfd, 1, 10);
    }
}

static void print_record(const unsigned char seq[8], const unsigned char *data, size_t len)
{
    /* The record's epoch and sequence number, as the GnuTLS example prints them. */
    if (len > 0 && data[len - 1] == '\n')
        len--;
    log_out("received[%02x%02x%02x%02x%02x%02x%02x%02x]: %.*s", seq[0], seq[1], seq[2], seq[3],
            seq[4], seq[5], seq[6], seq[7], (int)len, (const char *)data);
}

/* Echoes every record until close_notify, --idle-timeout, a fatal error or shutdown. The
 * pull function waits in recvmsg for at most the idle time left (SO_RCVTIMEO); shutdown
 * wakes it with shutdown(SHUT_RD) on the socket. */
static enum session_end client_echo(struct client *client, gnutls_session_t session)
{
    struct server *srv = client->server;
    int64_t idle_ms = (int64_t)srv->cfg->idle_timeout_s * 1000;
    int64_t deadline = dtls_now_ms() + idle_ms, left;
    unsigned char data[RECORD_BUFFER], seq[8];
    ssize_t rc;

    udp_set_recv_timeout(client->fd, idle_ms);
    for (;;) {
        rc = gnutls_record_recv_seq(session, data, sizeof(data), seq);
        if (rc > 0) {
            if (log_enabled(LOG_INFO))
                print_record(seq, data, (size_t)rc);
            echo_record(client, session, data, (size_t)rc);
            deadline = dtls_now_ms() + idle_ms;
            continue;
        }
        if (rc == 0) {
            log_out("EOF");
            dtls_close_notify(session, client->peer_text);
            return SESSION_CLOSED;
        }
        if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
            if (client->restart)
                return SESSION_RESTART;
            if (atomic_load(&srv->stopping)) {
                dtls_close_notify(session, client->peer_text);
                return SESSION_STOPPED;
            }
            left = deadline - dtls_now_ms();
            if (left <= 0) {
                log_info("%s: idle for %u s, closing", client->peer_text,
                         srv->cfg->idle_timeout_s);
                dtls_close_notify(session, client->peer_text);
                return SESSION_CLOSED;
            }
            udp_set_recv_timeout(client->fd, left); /* woken early: wait out the rest */
            continue;
        }
        if (rc == GNUTLS_E_HEARTBEAT_PING_RECEIVED) {
            log_debug("%s: heartbeat ping, answering", client->peer_text);
            if (gnutls_heartbeat_pong(session, 0) < 0)
                log_debug("%s: heartbeat pong not sent", client->peer_text);
            deadline = dtls_now_ms() + idle_ms;
            continue;
        }
        if (gnutls_error_is_fatal((int)rc)) {
            dtls_log_failure(LOG_WARN, session, client->peer_text, "session ended", (int)rc);
            return SESSION_CLOSED;
        }
        log_debug("%s: %s", client->peer_text, gnutls_strerror((int)rc));
    }
}

/* Ends the session's socket. Whatever is still queued on it may be a new client's first
 * datagram (one that reused the peer's port, or the peer itself restarting): the listener
 * gets them. All under the lock, so the listener sees the peer gone only once its socket
 * is: until the close the peer's datagrams reach this socket, after it the listener. */
static void retire_socket(struct client *client, int stopped)
{
    struct server *srv = client->server;
    unsigned char buf[MAX_DATAGRAM_HANDBACK];
    struct udp_addr from;
    ssize_t n;
    int i;

    pthread_mutex_lock(&srv->lock);
    for (i = 0; i < 64 && (n = udp_recv(client->fd, buf, sizeof(buf), &from, NULL)) >= 0; i++)
        forward_locked(client, buf, (size_t)n, &from);
    close(client->fd);
    client->fd = -1;
    registry_remove(srv, client);
    srv->stopped_sessions += stopped;
    pthread_mutex_unlock(&srv->lock);
    wake_listener(srv);
}

static void serve(struct client *client)
{
    gnutls_session_t session;
    enum session_end end = SESSION_RESTART;
    int rc;

    while (end == SESSION_RESTART) {
        client->restart = 0;
        client->handshake_done = 0;
        if (session_new(client, &session) < 0) {
            end = SESSION_CLOSED;
            break;
        }
        rc = client_handshake(client, session);
        end = rc > 0 ? SESSION_STOPPED : SESSION_CLOSED;
        if (rc == 0) {
            client->handshake_done = 1;
            client->gap_us = BUSY_GAP_US; /* not busy until two records say so */
            log_out("- Handshake was completed");
            dtls_log_session(session, client->peer_text);
            end = client_echo(client, session);
            if (end == SESSION_RESTART)
                log_info("%s: new handshake from the same address and port, new session",
                         client->peer_text);
        }
        gnutls_deinit(session);
    }
    log_debug("%s: session closed", client->peer_text);
    retire_socket(client, end == SESSION_STOPPED);
    client_free(client);
}

/* Parks the calling thread until the listener hands it a new client (returned), or
 * THREAD_LINGER_S pass or the server stops (NULL). */
static struct client *next_client(struct server *srv)
{
    struct client *client = NULL;
    struct timespec until;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += THREAD_LINGER_S;
    pthread_mutex_lock(&srv->lock);
    srv->parked++;
    while (srv->handoff == NULL && !atomic_load(&srv->stopping) &&
           pthread_cond_timedwait(&srv->handoff_cond, &srv->lock, &until) == 0)
        ;
    if (srv->handoff != NULL) {
        client = srv->handoff; /* the listener counted it off parked */
        srv->handoff = client->handoff_next;
    } else {
        srv->parked--;
    }
    pthread_mutex_unlock(&srv->lock);
    return client;
}

static void *session_thread_main(void *arg)
{
    struct session_thread *self = arg;
    struct server *srv = self->server;
    struct client *client;

    for (client = self->first; client != NULL; client = next_client(srv))
        serve(client);
    pthread_mutex_lock(&srv->lock);
    self->next = srv->exited;
    srv->exited = self;
    srv->threads--;
    pthread_mutex_unlock(&srv->lock);
    wake_listener(srv);
    return NULL;
}

/* ---- the listener --------------------------------------------------------------- */

/* Logs a --max-clients refusal once per peer (as long as it is among the last few). */
static void log_refusal(struct server *srv, const struct udp_addr *peer)
{
    char text[UDP_ADDR_TEXT_MAX];
    unsigned i;

    for (i = 0; i < REFUSED_MEMORY; i++)
        if (udp_addr_equal(&srv->refused[i], peer))
            return;
    srv->refused[srv->refused_next] = *peer;
    srv->refused_next = (srv->refused_next + 1) % REFUSED_MEMORY;
    udp_addr_to_text(peer, text, sizeof(text));
    log_warn("%s refused: %u clients already (--max-clients)", text, srv->cfg->max_clients);
}

/* Registers peer and starts its thread. The connected socket exists before the thread
 * sends anything back, so the peer's next flight reaches that socket, not the listener. */
static void start_client(struct server *srv, const unsigned char *hello, size_t len,
                         const struct udp_addr *peer, const struct udp_addr *local,
                         const gnutls_dtls_prestate_st *prestate)
{
    char err[256];
    struct session_thread *thread;
    struct client *client;
    unsigned bucket;
    int rc;

    client = calloc(1, sizeof(*client));
    if (client == NULL || (client->hello = malloc(len)) == NULL) {
        log_error("out of memory for a new client");
        free(client);
        return;
    }
    client->server = srv;
    client->peer = *peer;
    client->local = *local;
    client->prestate = *prestate;
    memcpy(client->hello, hello, len);
    client->hello_size = client->hello_len = len;
    udp_addr_to_text(peer, client->peer_text, sizeof(client->peer_text));
    client->fd = udp_open_peer_socket(local, peer, err, sizeof(err));
    if (client->fd < 0) {
        log_error("%s: %s", client->peer_text, err);
        client_free(client);
        return;
    }

    log_out("Accepted connection from %s", client->peer_text);
    pthread_mutex_lock(&srv->lock);
    bucket = bucket_of(peer);
    client->next = srv->registry[bucket];
    srv->registry[bucket] = client;
    srv->active++;
    if (srv->parked > 0) { /* a thread whose session ended takes it */
        srv->parked--;
        client->handoff_next = srv->handoff;
        srv->handoff = client;
        pthread_cond_signal(&srv->handoff_cond);
        pthread_mutex_unlock(&srv->lock);
        return;
    }
    srv->threads++;
    pthread_mutex_unlock(&srv->lock);

    thread = calloc(1, sizeof(*thread));
    rc = thread == NULL ? ENOMEM : 0;
    if (thread != NULL) {
        thread->server = srv;
        thread->first = client;
        rc = pthread_create(&thread->id, &srv->thread_attr, session_thread_main, thread);
    }
    if (rc != 0) {
        log_error("%s: no thread for the session: %s", client->peer_text, strerror(rc));
        free(thread);
        pthread_mutex_lock(&srv->lock);
        registry_remove(srv, client);
        srv->threads--;
        pthread_mutex_unlock(&srv->lock);
        client_free(client);
    }
}

/* One datagram that reached the listener (or was forwarded to it). */
static void handle_datagram(struct server *srv, const unsigned char *buf, size_t len,
                            const struct udp_addr *peer, const struct udp_addr *local)
{
    gnutls_dtls_prestate_st prestate;
    char text[UDP_ADDR_TEXT_MAX];
    int known, full;

    switch (dtls_classify_datagram(&srv->cookies, peer, buf, len, &prestate)) {
    case DATAGRAM_IGNORE:
        if (log_enabled(LOG_TRACE)) {
            udp_addr_to_text(peer, text, sizeof(text));
            log_trace("ignored %zu bytes from %s: not a ClientHello", len, text);
        }
        return;
    case DATAGRAM_SEND_COOKIE:
        if (log_enabled(LOG_DEBUG)) {
            udp_addr_to_text(peer, text, sizeof(text));
            log_debug("Sending hello verify request to %s", text);
        }
        dtls_cookie_reply_current(&srv->cookies, srv->listen_fd, peer, local);
        return;
    case DATAGRAM_CLIENT_HELLO:
        break;
    }
    pthread_mutex_lock(&srv->lock);
    known = registry_find(srv, peer) != NULL;
    full = srv->active >= srv->cfg->max_clients;
    pthread_mutex_unlock(&srv->lock);
    if (known) {
        /* A retransmitted ClientHello: the client's thread answers it on its socket. */
        log_trace("duplicate ClientHello from a served peer dropped");
        return;
    }
    if (full) {
        log_refusal(srv, peer);
        return;
    }
    start_client(srv, buf, len, peer, local, &prestate);
}

static void drain_forwarded(struct server *srv)
{
    struct forwarded *list, *next;

    pthread_mutex_lock(&srv->lock);
    list = srv->forward_head;
    srv->forward_head = srv->forward_tail = NULL;
    srv->forward_len = 0;
    pthread_mutex_unlock(&srv->lock);
    for (; list != NULL; list = next) {
        next = list->next;
        handle_datagram(srv, list->data, list->len, &list->peer, &list->local);
        free(list);
    }
}

static void drain_wake_pipe(struct server *srv)
{
    char bytes[256];

    while (read(srv->wake_fds[0], bytes, sizeof(bytes)) > 0)
        ;
}

static void listen_loop(struct server *srv)
{
    static unsigned char buf[MAX_DATAGRAM];
    struct pollfd fds[3] = {
        {.fd = srv->listen_fd, .events = POLLIN},
        {.fd = srv->wake_fds[0], .events = POLLIN},
        {.fd = srv->stop_fd, .events = POLLIN},
    };
    struct udp_addr peer, local;
    ssize_t n;
    int i;

    for (;;) {
        int64_t until_rotation = cookie_keys_rotate(&srv->cookies, dtls_now_ms());
        if (poll(fds, 3, (int)until_rotation) < 0 && errno != EINTR) {
            log_error("poll: %s", strerror(errno));
            return;
        }
        if (fds[2].revents)
            return;
        if (fds[1].revents) {
            drain_wake_pipe(srv);
            reap_exited(srv);
            drain_forwarded(srv);
        }
        /* A batch at a time, so finished threads and forwarded datagrams get a turn. */
        for (i = 0; i < 256; i++) {
            local = srv->bound;
            n = udp_recv(srv->listen_fd, buf, sizeof(buf), &peer, &local);
            if (n < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                    log_debug("recvmsg: %s", strerror(errno));
                break;
            }
            handle_datagram(srv, buf, (size_t)n, &peer, &local);
        }
    }
}

/* Closes every session and joins the threads: a thread in a handshake sees stop_fd, one
 * waiting in recvmsg is woken by shutdown(SHUT_RD), a parked one by the condition; each
 * session sends close_notify. Returns how many sessions the stop ended. */
static unsigned stop_clients(struct server *srv)
{
    unsigned threads, i;
    struct client *c;

    atomic_store(&srv->stopping, 1);
    pthread_mutex_lock(&srv->lock);
    for (i = 0; i < REGISTRY_BUCKETS; i++)
        for (c = srv->registry[i]; c != NULL; c = c->next)
            shutdown(c->fd, SHUT_RD);
    pthread_cond_broadcast(&srv->handoff_cond);
    pthread_mutex_unlock(&srv->lock);

    for (;;) {
        reap_exited(srv);
        pthread_mutex_lock(&srv->lock);
        threads = srv->threads;
        pthread_mutex_unlock(&srv->lock);
        if (threads == 0)
            break;
        struct pollfd pfd = {.fd = srv->wake_fds[0], .events = POLLIN};
        poll(&pfd, 1, 100);
        drain_wake_pipe(srv);
    }
    reap_exited(srv);
    while (srv->forward_head != NULL) {
        struct forwarded *next = srv->forward_head->next;
        free(srv->forward_head);
        srv->forward_head = next;
    }
    return srv->stopped_sessions; /* every thread is joined: no lock needed */
}

int server_run(const struct config *cfg, int stop_fd)
{
    pthread_condattr_t condattr;
    struct server *srv;
    char err[512];
    int ret = EXIT_RUNTIME;

    srv = calloc(1, sizeof(*srv));
    if (srv == NULL) {
        log_error("out of memory");
        return 1;
    }
    srv->cfg = cfg;
    srv->stop_fd = stop_fd;
    srv->listen_fd = srv->wake_fds[0] = srv->wake_fds[1] = -1;
    pthread_mutex_init(&srv->lock, NULL);
    pthread_condattr_init(&condattr);
    pthread_condattr_setclock(&condattr, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->handoff_cond, &condattr);
    pthread_condattr_destroy(&condattr);
    pthread_attr_init(&srv->thread_attr);
    pthread_attr_setstacksize(&srv->thread_attr, CLIENT_STACK_SIZE);

    ret = dtls_credentials_load(cfg, NULL, &srv->creds, err, sizeof(err));
    if (ret == 0 && cookie_keys_init(&srv->cookies, cfg->cookie_rotate_s * 1000, err,
                                     sizeof(err)) < 0)
        ret = EXIT_RUNTIME;
    if (ret != 0) {
        log_error("%s", err);
        goto cleanup;
    }
    ret = EXIT_RUNTIME;
    if (cfg->anon)
        log_warn("--anon: nothing is authenticated; anyone on the path can read and change "
                 "the echoes");
    if (pipe2(srv->wake_fds, O_NONBLOCK | O_CLOEXEC) < 0) {
        log_error("pipe: %s", strerror(errno));
        goto cleanup;
    }
    if (udp_raise_fd_limit(cfg->max_clients + 64UL) < cfg->max_clients + 64UL)
        log_warn("the open-file limit is below what --max-clients %u needs", cfg->max_clients);
    srv->listen_fd = udp_listen(cfg->address, cfg->port, LISTEN_RCVBUF, &srv->bound, err,
                                sizeof(err));
    if (srv->listen_fd < 0) {
        log_error("%s", err);
        goto cleanup;
    }
    log_out("UDP server ready. Listening to port '%u'.", cfg->port);

    listen_loop(srv);
    log_info("stopped: %u session(s) closed", stop_clients(srv));
    ret = 0;

cleanup:
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    if (srv->wake_fds[0] >= 0) {
        close(srv->wake_fds[0]);
        close(srv->wake_fds[1]);
    }
    cookie_keys_destroy(&srv->cookies);
    dtls_credentials_free(&srv->creds);
    pthread_attr_destroy(&srv->thread_attr);
    pthread_cond_destroy(&srv->handoff_cond);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
    return ret;
}
