/* SPDX-License-Identifier: MIT */
/* listener.c - the server's main thread: the listening socket and the forwarded-datagram
 * queue, the cookie step, hand-off to a session, the stop.
 *
 * The listener alone reads the listening socket. A datagram is either a ClientHello with a
 * valid cookie from a peer not served yet (it gets a session), or it is answered
 * statelessly with a HelloVerifyRequest, or it is ignored. Before a valid cookie nothing
 * is allocated and no reply is larger than the datagram that caused it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "inbox.h"
#include "keyfile.h"
#include "log.h"
#include "platform.h"
#include "privileges.h"
#include "server.h"
#include "signals.h"
#include "sockets.h"

#define LISTEN_RCVBUF (8 * 1024 * 1024) /* a burst of ~10,000 ClientHellos */
#define SESSION_STACK_SIZE (256 * 1024)
#define THREAD_LINGER_S 2  /* a thread whose session ended waits this long for the next */
#define PRESTART_THREADS 32 /* session threads ready before the first client */
#define FORWARD_QUEUE_MAX 1024
#define REFUSED_MEMORY 64
#define LISTEN_BATCH 256

/* Listener only: the last peers refused for --max-clients, to log each once. */
struct refusals {
    struct udp_addr peer[REFUSED_MEMORY];
    unsigned next;
};

void server_wake_listener(struct server *srv)
{
    /* The pipe is non-blocking: when it is full the listener is awake anyway. */
    if (platform_pipe_write(srv->wake_fds[1], "x", 1) < 0 && errno != EAGAIN)
        log_debug("wake listener: %s", strerror(errno));
}

void server_forward_locked(struct server *srv, const void *buf, size_t len,
                           const struct udp_addr *peer, const struct udp_addr *local)
{
    struct forwarded *item;

    if (srv->forward_len >= FORWARD_QUEUE_MAX) {
        log_debug("forward queue full, datagram dropped");
        return;
    }
    item = malloc(sizeof(*item) + len);
    if (item == NULL)
        return;
    item->next = NULL;
    item->peer = *peer;
    item->local = *local;
    item->len = len;
    memcpy(item->data, buf, len);
    if (srv->forward_tail != NULL)
        srv->forward_tail->next = item;
    else
        srv->forward_head = item;
    srv->forward_tail = item;
    srv->forward_len++;
}

/* Logs a refusal once per peer, or per address for the per-source limit (as long as it
 * is among the last few). */
static void log_refusal(struct server *srv, struct refusals *refusals,
                        const struct udp_addr *peer, enum hello_decision why)
{
    const struct config *cfg = srv->cfg;
    struct udp_addr who = *peer;
    char text[UDP_ADDR_TEXT_MAX], *port;
    unsigned i;

    if (why == HELLO_REFUSE_SOURCE) /* the address, whatever the port */
        ((struct sockaddr_in *)&who.ss)->sin_port = 0; /* sin6_port is at the same offset */
    for (i = 0; i < REFUSED_MEMORY; i++)
        if (udp_addr_equal(&refusals->peer[i], &who))
            return;
    refusals->peer[refusals->next] = who;
    refusals->next = (refusals->next + 1) % REFUSED_MEMORY;
    udp_addr_to_text(&who, text, sizeof(text));
    if (why == HELLO_REFUSE_SOURCE) {
        if ((port = strstr(text, " port ")) != NULL)
            *port = '\0';
        log_warn("%s refused: %u handshakes already under way from this address "
                 "(--max-handshakes-per-source); said once per address", text,
                 cfg->max_handshakes_per_source);
    } else if (why == HELLO_REFUSE_HANDSHAKES) {
        log_warn("%s refused: %u handshakes already under way (--max-handshakes)", text,
                 cfg->max_handshakes);
    } else {
        log_warn("%s refused: %u clients already (--max-clients)", text, cfg->max_clients);
    }
}

/* --trace of the cookie exchange: stateless as the listener is (no retransmission is
 * marked here; the client's trace marks its own). */
static void trace_cookie(const struct server *srv, const struct udp_addr *peer, int outgoing,
                         const void *buf, size_t len)
{
    struct trace_state state;
    char text[UDP_ADDR_TEXT_MAX];

    udp_addr_to_text(peer, text, sizeof(text));
    trace_state_init(&state, &srv->trace, text);
    trace_datagram(&state, outgoing, buf, len);
}

static void trace_cookie_reply(void *ctx, const struct udp_addr *peer, const void *buf,
                               size_t len)
{
    trace_cookie(ctx, peer, 1, buf, len);
}

/* One datagram that reached the listener (or was forwarded to it). */
static void handle_datagram(struct server *srv, struct refusals *refusals,
                            const unsigned char *buf, size_t len, const struct udp_addr *peer,
                            const struct udp_addr *local)
{
    gnutls_dtls_prestate_st prestate;
    char text[UDP_ADDR_TEXT_MAX];
    enum hello_decision decision;

    switch (cookie_classify(&srv->cookies, peer, buf, len, &prestate)) {
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
        if (srv->cfg->trace)
            trace_cookie(srv, peer, 0, buf, len);
        cookie_reply_current(&srv->cookies, srv->listen_fd, peer, local, buf);
        return;
    case DATAGRAM_CLIENT_HELLO:
        break;
    }
    pthread_mutex_lock(&srv->lock);
    decision = registry_decide_hello(&srv->registry, peer, &srv->limits);
    pthread_mutex_unlock(&srv->lock);
    switch (decision) {
    case HELLO_DUPLICATE: /* a retransmission: the client's thread answers it */
        log_trace("duplicate ClientHello from a served peer dropped");
        return;
    case HELLO_REFUSE:
    case HELLO_REFUSE_HANDSHAKES:
    case HELLO_REFUSE_SOURCE:
        srv->refused[decision - HELLO_REFUSE]++;
        log_refusal(srv, refusals, peer, decision);
        return;
    case HELLO_ACCEPT:
        server_session_start(srv, buf, len, peer, local, &prestate);
        return;
    }
}

/* Datagrams the listening socket read (or one forwarded to it). In the one-socket server
 * a served peer's go to its session's inbox, under one hold of the lock for the batch,
 * each sleeping session woken once at its end (with all the batch brought it); the rest,
 * as every datagram of the connected-socket server, to handle_datagram. */
static void dispatch(struct server *srv, struct refusals *refusals,
                     const struct udp_datagram *got, int count)
{
    struct inbox *wake[UDP_BATCH];
    unsigned char served[UDP_BATCH] = {0};
    int k, woken = 0;

    if (srv->cfg->one_socket) {
        pthread_mutex_lock(&srv->lock);
        for (k = 0; k < count; k++) {
            served[k] = (unsigned char)server_session_deliver_locked(srv, got[k].data,
                                                                     got[k].len, &got[k].peer,
                                                                     &wake[woken]);
            woken += wake[woken] != NULL;
        }
        for (k = 0; k < woken; k++)
            inbox_wake(wake[k]);
        pthread_mutex_unlock(&srv->lock);
    }
    for (k = 0; k < count; k++)
        if (!served[k])
            handle_datagram(srv, refusals, got[k].data, got[k].len, &got[k].peer,
                            &got[k].local);
}

/* Takes the queue of forwarded datagrams out from under the lock. */
static struct forwarded *take_forwarded(struct server *srv)
{
    struct forwarded *list;

    pthread_mutex_lock(&srv->lock);
    list = srv->forward_head;
    srv->forward_head = srv->forward_tail = NULL;
    srv->forward_len = 0;
    pthread_mutex_unlock(&srv->lock);
    return list;
}

/* Handles every forwarded datagram as if the listening socket had read it. */
static void drain_forwarded(struct server *srv, struct refusals *refusals)
{
    struct forwarded *list = take_forwarded(srv), *next;

    for (; list != NULL; list = next) {
        next = list->next;
        struct udp_datagram one = {.peer = list->peer, .local = list->local,
                                   .len = list->len, .data = list->data};
        dispatch(srv, refusals, &one, 1);
        free(list);
    }
}

/* Frees what the sessions forwarded as they ended at the stop: nobody handles it now. */
static void discard_forwarded(struct server *srv)
{
    struct forwarded *list = take_forwarded(srv), *next;

    for (; list != NULL; list = next) {
        next = list->next;
        free(list);
    }
}

static void drain_wake_pipe(struct server *srv)
{
    char bytes[256];

    while (platform_pipe_read(srv->wake_fds[0], bytes, sizeof(bytes)) > 0)
        ;
}

struct server_credentials *server_credentials_take(struct server *srv)
{
    struct server_credentials *held;

    pthread_mutex_lock(&srv->lock);
    held = srv->creds;
    held->refs++;
    pthread_mutex_unlock(&srv->lock);
    return held;
}

void server_credentials_drop(struct server *srv, struct server_credentials *held)
{
    unsigned left;

    if (held == NULL)
        return;
    pthread_mutex_lock(&srv->lock);
    left = --held->refs;
    pthread_mutex_unlock(&srv->lock);
    if (left == 0) {
        credentials_free(&held->creds);
        free(held);
    }
}

/* Loads the credentials cfg names, with ticket_key (NULL: a random one). Returns them
 * (one reference), or NULL with a reason and *code (an exit code). */
static struct server_credentials *load_credentials(const struct config *cfg,
                                                   const unsigned char *ticket_key, int *code,
                                                   char *err, size_t err_size)
{
    struct server_credentials *fresh = calloc(1, sizeof(*fresh));
    struct tls_settings tls;

    *code = EXIT_RUNTIME;
    if (fresh == NULL) {
        errorf(err, err_size, "out of memory for the credentials");
        return NULL;
    }
    options_tls_settings(cfg, &tls);
    tls.ticket_key = ticket_key;
    switch (credentials_load(&tls, &fresh->creds, err, err_size)) {
    case CREDENTIALS_OK:
        fresh->refs = 1;
        return fresh;
    case CREDENTIALS_BAD_SETTING:
        *code = EXIT_USAGE;
        break;
    case CREDENTIALS_BAD_FILE:
        break;
    }
    credentials_free(&fresh->creds); /* what was loaded before the failure */
    free(fresh);
    return NULL;
}

/* SIGHUP: the credentials again, for the sessions to come, with the ticket key in use
 * (workers forked with it must keep agreeing). */
static void reload_credentials(struct server *srv)
{
    unsigned char ticket_key[KEYFILE_KEY_SIZE];
    struct server_credentials *fresh, *old = srv->creds;
    char err[512];
    int code;

    pthread_mutex_lock(&old->creds.ticket_lock);
    memcpy(ticket_key, old->creds.ticket_key.data, sizeof(ticket_key));
    pthread_mutex_unlock(&old->creds.ticket_lock);
    fresh = load_credentials(srv->cfg, ticket_key, &code, err, sizeof(err));
    gnutls_memset(ticket_key, 0, sizeof(ticket_key));
    if (fresh == NULL) {
        log_error("SIGHUP: %s; the certificate and keys in use stay", err);
        return;
    }
    pthread_mutex_lock(&srv->lock);
    srv->creds = fresh;
    pthread_mutex_unlock(&srv->lock);
    server_credentials_drop(srv, old); /* freed once its last session ends */
    log_info("SIGHUP: certificate, key, CA, CRL and PSK files read again for new sessions");
}

/* SIGHUP: reads the key files again. A new cookie key becomes current (the one before
 * stays valid for --cookie-rotate seconds), a new ticket key serves the sessions made from
 * now on. A file that cannot be read keeps the key in use, said once. */
static void reload_keys(struct server *srv)
{
    const struct config *cfg = srv->cfg;
    unsigned char key[KEYFILE_KEY_SIZE];
    char err[512];

    if (cfg->cookie_key_file == NULL && cfg->ticket_key_file == NULL) {
        log_info("SIGHUP: no --cookie-key-file or --ticket-key-file to read again");
        return;
    }
    if (cfg->cookie_key_file != NULL) {
        if (keyfile_read(cfg->cookie_key_file, key, err, sizeof(err)) < 0)
            log_error("SIGHUP: %s; the cookie key in use stays", err);
        else if (cookie_keys_replace(&srv->cookies, key, clock_now_ms()) > 0)
            log_info("SIGHUP: new cookie key from '%s'; the previous one is accepted for %u s",
                     cfg->cookie_key_file, cfg->cookie_rotate_s);
        else
            log_info("SIGHUP: the cookie key in '%s' is the one in use", cfg->cookie_key_file);
    }
    if (cfg->ticket_key_file != NULL) {
        if (keyfile_read(cfg->ticket_key_file, key, err, sizeof(err)) < 0)
            log_error("SIGHUP: %s; the ticket key in use stays", err);
        else if (credentials_set_ticket_key(&srv->creds->creds, key) < 0)
            log_error("SIGHUP: out of memory for the ticket key; the one in use stays");
        else
            log_info("SIGHUP: ticket key read from '%s'", cfg->ticket_key_file);
    }
    gnutls_memset(key, 0, sizeof(key));
}

void server_reload(struct server *srv)
{
    reload_credentials(srv);
    reload_keys(srv);
}

void server_log_status(struct server *srv)
{
    unsigned live, handshaking;

    pthread_mutex_lock(&srv->lock);
    live = srv->registry.count;
    handshaking = srv->registry.handshaking;
    pthread_mutex_unlock(&srv->lock);
    log_msg(LOG_REPORT, "status: %u session(s) live (%u handshaking), %lu accepted, refused "
            "%lu (--max-clients), %lu (--max-handshakes), %lu (--max-handshakes-per-source); "
            "failed: %lu handshake timeout(s), %lu handshake failure(s), %lu gone away, %lu "
            "session error(s); %lu datagram(s) dropped",
            live, handshaking, srv->accepted, srv->refused[0], srv->refused[1], srv->refused[2],
            atomic_load(&srv->failed[FAILED_HANDSHAKE_TIMEOUT]),
            atomic_load(&srv->failed[FAILED_HANDSHAKE]), atomic_load(&srv->failed[FAILED_GONE]),
            atomic_load(&srv->failed[FAILED_SESSION]), srv->inbox_dropped);
}

static void listen_loop(struct server *srv)
{
    const struct udp_datagram *got;
    struct refusals refusals = {0};
    struct pollfd fds[4] = {
        {.fd = srv->listen_fd, .events = POLLIN},
        {.fd = srv->wake_fds[0], .events = POLLIN},
        {.fd = srv->stop_fd, .events = POLLIN},
        {.fd = srv->reload_fd, .events = POLLIN},
    };
    int i, n;

    for (;;) {
        int64_t until_rotation = cookie_keys_rotate(&srv->cookies, clock_now_ms());
        if (poll(fds, 4, (int)until_rotation) < 0 && errno != EINTR) {
            log_error("poll: %s", strerror(errno));
            return;
        }
        if (fds[2].revents)
            return;
        if (fds[3].revents) {
            unsigned asked = signals_read_control(srv->reload_fd);
            if (asked & CONTROL_RELOAD) /* one reload for any number of signals */
                server_reload(srv);
            if (asked & CONTROL_STATUS)
                server_log_status(srv);
        }
        if (fds[1].revents) {
            drain_wake_pipe(srv);
            pool_reap(&srv->pool);
            drain_forwarded(srv, &refusals);
        }
        /* Up to LISTEN_BATCH datagrams, read UDP_BATCH per system call, so exited
         * threads and forwarded datagrams get a turn. */
        for (i = 0; i < LISTEN_BATCH; i += n) {
            n = udp_recv_batch(srv->listen_fd, srv->batch, &srv->bound, &got);
            if (n <= 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                    log_debug("recvmmsg: %s", strerror(errno));
                break;
            }
            dispatch(srv, &refusals, got, n);
        }
    }
}

/* Ends every session and joins the threads: the stop flag first, then every session's
 * socket is shut down (a session waiting on it wakes and sees the flag; each sends
 * close_notify), then the parked threads are woken. Returns the sessions it ended. */
static unsigned stop_sessions(struct server *srv)
{
    atomic_store(&srv->stopping, 1);
    pthread_mutex_lock(&srv->lock);
    server_session_wake_all_locked(srv);
    pthread_mutex_unlock(&srv->lock);
    pool_stop(&srv->pool);
    discard_forwarded(srv);
    return srv->stopped_sessions; /* every thread is joined: no lock needed */
}

/* Loads what the server needs before it binds. Returns an exit code. */
static int server_setup(struct server *srv, char *err, size_t err_size)
{
    const struct config *cfg = srv->cfg;
    unsigned char cookie_key[KEYFILE_KEY_SIZE], ticket_key[KEYFILE_KEY_SIZE];
    int rc, code;

    if (cfg->cert_not_found) {
        errorf(err, err_size, "no server certificate: looked for %s and %s (make certs "
               "creates the first; or give --cert and --key)", DEFAULT_SERVER_CERT,
               options_system_file("server.pem"));
        return EXIT_RUNTIME;
    }
    if ((cfg->cookie_key_file != NULL &&
         keyfile_read(cfg->cookie_key_file, cookie_key, err, err_size) < 0) ||
        (cfg->ticket_key_file != NULL &&
         keyfile_read(cfg->ticket_key_file, ticket_key, err, err_size) < 0))
        return EXIT_RUNTIME;
    srv->creds = load_credentials(cfg, cfg->ticket_key_file != NULL ? ticket_key : NULL,
                                  &code, err, err_size);
    if (srv->creds == NULL) {
        gnutls_memset(ticket_key, 0, sizeof(ticket_key));
        return code;
    }
    rc = cookie_keys_init(&srv->cookies, cfg->cookie_rotate_s * 1000,
                          cfg->cookie_key_file != NULL ? cookie_key : NULL, err, err_size);
    gnutls_memset(cookie_key, 0, sizeof(cookie_key)); /* copied where they are used */
    if (cfg->trace) {
        srv->trace.origin_us = clock_now_us();
        srv->cookies.on_reply = trace_cookie_reply;
        srv->cookies.on_reply_ctx = srv;
    }
    gnutls_memset(ticket_key, 0, sizeof(ticket_key));
    if (rc < 0)
        return EXIT_RUNTIME;
    if (cfg->tun && privileges_need_net_admin("--tun (an interface per client)", err,
                                              err_size) < 0)
        return EXIT_RUNTIME;
    if (cfg->tun && server_tunnels_init(srv, err, err_size) < 0)
        return EXIT_RUNTIME;
    return EXIT_OK;
}

/* The address the listening socket is bound to, as the ready line gives it: "127.0.0.1",
 * "[::1]", or the wildcard with the families it takes: "[::] (IPv6 and IPv4)". */
static const char *listening_text(const struct server *srv, char *out, size_t size)
{
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&srv->bound.ss;
    char host[INET6_ADDRSTRLEN + PLATFORM_INTERFACE_MAX] = "?";

    getnameinfo((const struct sockaddr *)&srv->bound.ss, srv->bound.len, host, sizeof(host),
                NULL, 0, NI_NUMERICHOST);
    if (srv->bound.ss.ss_family != AF_INET6)
        snprintf(out, size, "%s%s", host, srv->cfg->address == NULL ? " (IPv4 only)" : "");
    else if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
        snprintf(out, size, "[::] (%s)", srv->cfg->family == AF_INET6 ? "IPv6 only"
                                                                      : "IPv6 and IPv4");
    else
        snprintf(out, size, "[%s]", host);
    return out;
}

/* The line scripts and users wait for: from here on the server answers at once. */
static void announce_ready(const struct server *srv)
{
    const struct config *cfg = srv->cfg;
    char where[INET6_ADDRSTRLEN + PLATFORM_INTERFACE_MAX + 32];

    log_out("UDP server ready. Listening to port '%u'. Address: %s", cfg->port,
            listening_text(srv, where, sizeof(where)));
    if (cfg->tun)
        log_info("tunnels offered: %s%s%s, leases kept %u s", cfg->tun_net,
                 srv->leases.net6.family ? " and " : "",
                 srv->leases.net6.family ? cfg->tun_net6 : "", cfg->lease_time_s);
}

int server_serve(struct server *srv)
{
    int ret = EXIT_OK;

    if (platform_pipe(srv->wake_fds, 1) < 0) {
        log_error("pipe: %s", strerror(errno));
        return EXIT_RUNTIME;
    }
    srv->batch = udp_batch_new();
    if (srv->batch == NULL) {
        log_error("out of memory for the listener's buffers");
        ret = EXIT_RUNTIME;
    } else if (pool_init(&srv->pool, server_session_serve, SESSION_STACK_SIZE,
                         THREAD_LINGER_S, srv->wake_fds) < 0) {
        log_error("thread pool: out of resources");
        ret = EXIT_RUNTIME;
    } else {
        unsigned ready = srv->cfg->max_clients < PRESTART_THREADS ? srv->cfg->max_clients
                                                                  : PRESTART_THREADS;
        unsigned started = pool_prestart(&srv->pool, ready);
        if (started < ready)
            log_warn("only %u of %u session threads could start ahead", started, ready);
        if (srv->cfg->workers <= 1) /* else the parent said it, once */
            announce_ready(srv);
        listen_loop(srv);
        unsigned closed = stop_sessions(srv);
        log_info("stopped: %u session(s) closed, %lu accepted since the start", closed,
                 srv->accepted);
        if (srv->inbox_dropped > 0)
            log_info("%lu datagram(s) dropped in all: their session's queue was full",
                     srv->inbox_dropped);
        pool_destroy(&srv->pool);
    }
    udp_batch_free(srv->batch);
    srv->batch = NULL;
    platform_pipe_close(srv->wake_fds);
    return ret;
}

int server_run(const struct config *cfg, int stop_fd, int reload_fd)
{
    struct server *srv;
    char err[512];
    int ret, *group = NULL;

    srv = calloc(1, sizeof(*srv));
    if (srv == NULL) {
        log_error("out of memory");
        return EXIT_RUNTIME;
    }
    srv->cfg = cfg;
    srv->limits = (struct hello_limits){cfg->max_clients, cfg->max_handshakes,
                                        cfg->max_handshakes_per_source};
    srv->stop_fd = stop_fd;
    srv->reload_fd = reload_fd;
    srv->listen_fd = srv->wake_fds[0] = srv->wake_fds[1] = -1;
    pthread_mutex_init(&srv->lock, NULL);

    ret = server_setup(srv, err, sizeof(err));
    if (ret != EXIT_OK)
        log_error("%s", err);
    if (cfg->check) { /* nothing bound, nothing started: what a start would read, read */
        if (ret == EXIT_OK)
            log_out("dtls_echo: configuration OK");
        ret = ret == EXIT_OK ? EXIT_OK : EXIT_USAGE;
        goto cleanup;
    }
    if (ret != EXIT_OK)
        goto cleanup;
    if (cfg->anon)
        log_warn("--anon: nothing is authenticated; anyone on the path can read and change "
                 "the echoes");
    if (platform_raise_fd_limit(cfg->max_clients + 64UL) < cfg->max_clients + 64UL)
        log_warn("the open-file limit is below what --max-clients %u needs", cfg->max_clients);
    srv->listen_fd = udp_listen(cfg->address, cfg->port, cfg->family, LISTEN_RCVBUF,
                                &srv->bound, err, sizeof(err));
    if (srv->listen_fd < 0) {
        log_error("%s", err);
        ret = EXIT_RUNTIME;
        goto cleanup;
    }
    if (cfg->workers > 1) {
        group = malloc(cfg->workers * sizeof(*group));
        if (group == NULL) {
            log_error("out of memory for %u listening sockets", cfg->workers);
            ret = EXIT_RUNTIME;
            goto cleanup;
        }
        ret = udp_listen_group(srv->listen_fd, &srv->bound, cfg->workers, LISTEN_RCVBUF,
                               group, err, sizeof(err));
        srv->listen_fd = -1; /* the group took its place */
        if (ret < 0) {
            log_error("%s", err);
            ret = EXIT_RUNTIME;
            goto cleanup;
        }
    }
    /* Bound (to a port below 1024 too), keys read: what set-up needed is done, and no
     * thread runs yet (capabilities belong to each thread). */
    if ((cfg->user != NULL || cfg->tun) && privileges_drop(cfg->user, cfg->tun, err,
                                                           sizeof(err)) < 0) {
        log_error("%s", err);
        ret = EXIT_RUNTIME;
        goto cleanup;
    }
    /* Each client's interface opens /dev/net/tun anew: say now if this user cannot. */
    if (cfg->tun && access("/dev/net/tun", R_OK | W_OK) < 0) {
        log_error("--user %s cannot open /dev/net/tun (%s): give that user access to it (a "
                  "udev rule or group), or run without --user", cfg->user ? cfg->user : "",
                  strerror(errno));
        ret = EXIT_RUNTIME;
        goto cleanup;
    }
    if (group != NULL) { /* the group is bound: datagrams wait there for the workers */
        announce_ready(srv);
        ret = workers_run(srv, group, cfg->workers);
    } else {
        ret = server_serve(srv);
    }

cleanup:
    if (srv->listen_fd >= 0)
        platform_close_socket(srv->listen_fd);
    if (group != NULL) {
        for (unsigned i = 0; i < cfg->workers; i++)
            if (group[i] >= 0)
                platform_close_socket(group[i]);
        free(group);
    }
    cookie_keys_destroy(&srv->cookies);
    lease_pool_free(&srv->leases);
    server_credentials_drop(srv, srv->creds);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
    return ret;
}
