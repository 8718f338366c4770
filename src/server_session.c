/* SPDX-License-Identifier: MIT */
/* server_session.c - one client of the server, on its session thread: its own connected
 * socket (or, in the one-socket server, its inbox on the shared socket), the handshake
 * under --handshake-timeout, then every record echoed back until close_notify,
 * --idle-timeout, a fatal error or the stop; then its socket is retired. A client that
 * restarts on the same address and port gets a fresh session here. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "inbox.h"
#include "log.h"
#include "platform.h"
#include "server.h"
#include "session.h"
#include "sockets.h"
#include "tunnel.h"

#define RECORD_BUFFER 16384 /* the largest DTLS record's plaintext */
#define SEND_RETRY_MS 1000
#define MAX_DATAGRAM_HANDBACK 2048 /* a ClientHello fits; the listener needs no more */
#define RETIRE_DRAIN 64

struct client {
    struct registry_entry entry; /* entry.peer: the client's address */
    struct pool_job job;
    struct server *server;
    int fd;                  /* connected to the peer; read by this client's thread only
                                (-1 in the one-socket server) */
    struct inbox inbox;      /* the one-socket server: its datagrams, from the listener */
    struct udp_addr local;
    char peer_text[UDP_ADDR_TEXT_MAX];
    gnutls_dtls_prestate_st prestate;
    unsigned char *hello;    /* the ClientHello that carried the valid cookie */
    size_t hello_len;
    struct session session;
    /* --session-log: what the end line says */
    int64_t established_ms;
    unsigned long records_in, records_out;
    unsigned long long bytes_in, bytes_out;
    const char *why;         /* why the session ended */
};

/* The client that embeds member (a registry entry or a pool job). */
#define CLIENT_OF(member, field) \
    ((struct client *)((char *)(member) - offsetof(struct client, field)))

static void client_free(struct client *client)
{
    if (client->fd >= 0)
        platform_close_socket(client->fd);
    if (client->server->cfg->one_socket)
        inbox_destroy(&client->inbox);
    free(client->hello);
    free(client);
}

/* ---- the session socket's screen ------------------------------------------------ */

/* A new ClientHello from the peer: it restarted on the same address and port. With a
 * valid cookie it gets a fresh session (SCREEN_HALT ends this one); without, a
 * HelloVerifyRequest. */
static enum screen_verdict peer_restarted(struct client *client, const unsigned char *buf,
                                          size_t len)
{
    struct server *srv = client->server;
    gnutls_dtls_prestate_st prestate;
    unsigned char *copy;

    if (cookie_classify(&srv->cookies, &client->entry.peer, buf, len, &prestate) !=
        DATAGRAM_CLIENT_HELLO) {
        log_debug("Sending hello verify request to %s", client->peer_text);
        if (srv->cfg->one_socket)
            cookie_reply_current(&srv->cookies, srv->listen_fd, &client->entry.peer,
                                 &client->local, buf);
        else
            cookie_reply_current(&srv->cookies, client->fd, &client->entry.peer, NULL, buf);
        return SCREEN_SKIP;
    }
    copy = malloc(len);
    if (copy == NULL)
        return SCREEN_SKIP;
    memcpy(copy, buf, len);
    free(client->hello);
    client->hello = copy;
    client->hello_len = len;
    client->prestate = prestate;
    return SCREEN_HALT;
}

static enum screen_verdict screen(void *ctx, const unsigned char *buf, size_t len,
                                  const struct udp_addr *from)
{
    struct client *client = ctx;
    struct server *srv = client->server;

    switch (registry_datagram_owner(&client->entry.peer, client->hello, client->hello_len,
                                    client->session.established, from, buf, len)) {
    case OWNER_FOREIGN:
        if (log_enabled(LOG_DEBUG)) {
            char text[UDP_ADDR_TEXT_MAX];
            udp_addr_to_text(from, text, sizeof(text));
            log_debug("%zu bytes from %s reached the socket of %s; handed to the listener",
                      len, text, client->peer_text);
        }
        pthread_mutex_lock(&srv->lock);
        server_forward_locked(srv, buf, len, from, &client->local);
        pthread_mutex_unlock(&srv->lock);
        server_wake_listener(srv);
        return SCREEN_SKIP;
    case OWNER_NEW_HANDSHAKE:
        return peer_restarted(client, buf, len);
    case OWNER_SESSION:
        break;
    }
    return SCREEN_PASS;
}

/* ---- the session ----------------------------------------------------------------- */

enum session_end { END_ESTABLISHED, END_CLOSED, END_RESTART, END_STOPPED };

static enum session_end handshake(struct client *client)
{
    struct session *s = &client->session;
    unsigned limit_s = client->server->cfg->handshake_timeout_s;
    enum session_status status;
    const char *hint;

    status = session_handshake(s, clock_now_ms() + (int64_t)limit_s * 1000);
    /* Done or failed, it no longer counts against --max-handshakes(-per-source). */
    pthread_mutex_lock(&client->server->lock);
    registry_handshake_over(&client->server->registry, &client->entry);
    pthread_mutex_unlock(&client->server->lock);
    switch (status) {
    case SESSION_OK:
        return END_ESTABLISHED; /* not an end: the caller echoes */
    case SESSION_HALTED:
        return END_RESTART;
    case SESSION_STOPPED:
        return END_STOPPED;
    case SESSION_FATAL:
        atomic_fetch_add(&client->server->failed[FAILED_HANDSHAKE], 1);
        session_log_failure(LOG_WARN, s, "handshake failed", s->error);
        break;
    case SESSION_REFUSED:
        atomic_fetch_add(&client->server->failed[FAILED_GONE], 1);
        log_info("%s: went away during the handshake (port unreachable)", client->peer_text);
        break;
    default: /* GnuTLS's total timeout is ours too; whichever fires first, one message */
        atomic_fetch_add(&client->server->failed[FAILED_HANDSHAKE_TIMEOUT], 1);
        hint = session_failure_hint(s, 0);
        if (hint != NULL)
            log_warn("%s: handshake failed: %s", client->peer_text, hint);
        else
            log_info("%s: handshake not done after %u s, dropped", client->peer_text, limit_s);
        break;
    }
    return END_CLOSED;
}

/* Sends the echo, waiting (bounded) while the socket buffer is full. A record larger than
 * our data MTU (the client's --mtu is larger) goes back in as many records as it takes:
 * every byte received is echoed, and the client reassembles. */
static void echo_record(struct client *client, const unsigned char *data, size_t len)
{
    struct session *s = &client->session;
    size_t mtu = session_data_mtu(s), sent = 0, part;
    enum session_status status;

    if (mtu == 0) /* never after a handshake; a record then goes whole, or says why not */
        mtu = len;

    do {
        part = len - sent < mtu ? len - sent : mtu;
        status = session_send(s, data + sent, part, SEND_RETRY_MS);
        sent += part;
        client->records_out += status == SESSION_OK;
    } while (status == SESSION_OK && sent < len);
    if (status == SESSION_OK)
        client->bytes_out += len;
    if (status == SESSION_FATAL)
        session_log_failure(LOG_WARN, s, "echo not sent", s->error);
    else if (status != SESSION_OK)
        log_warn("%s: echo not sent: %s", client->peer_text, session_status_name(status));
}

/* Sends the echoes corked since the last read, waiting (bounded) while the socket
 * buffer is full. */
static void flush_echoes(struct client *client)
{
    struct session *s = &client->session;
    enum session_status status = session_flush(s, SEND_RETRY_MS);

    if (status == SESSION_FATAL)
        session_log_failure(LOG_WARN, s, "echoes not sent", s->error);
    else if (status != SESSION_OK)
        log_warn("%s: echoes not sent: %s", client->peer_text, session_status_name(status));
}

/* The record's epoch and sequence number, as the GnuTLS example prints them, and the
 * record with anything unprintable escaped: it is the client's data, not ours to send
 * to the operator's terminal. */
static void print_record(const unsigned char seq[8], const unsigned char *data, size_t len)
{
    char prefix[40];

    if (len > 0 && data[len - 1] == '\n')
        len--;
    snprintf(prefix, sizeof(prefix), "received[%02x%02x%02x%02x%02x%02x%02x%02x]: ", seq[0],
             seq[1], seq[2], seq[3], seq[4], seq[5], seq[6], seq[7]);
    log_out_data(prefix, data, len);
}

/* Echoes every record until close_notify, --idle-timeout, a fatal error or the stop. The
 * transport waits in recvmsg (or on its inbox) for at most the idle time left; the stop
 * wakes it with shutdown(SHUT_RD) on the socket (or by closing the inbox). */
static enum session_end echo_records(struct client *client)
{
    struct session *s = &client->session;
    int64_t idle_ms = (int64_t)client->server->cfg->idle_timeout_s * 1000;
    int64_t deadline = clock_now_ms() + idle_ms, left;
    unsigned char data[RECORD_BUFFER], seq[8];
    size_t len;

    s->transport.blocking = 1;
    if (session_set_wait(s, idle_ms) < 0) { /* else an idle wait never ends */
        log_error("%s: setsockopt SO_RCVTIMEO: %s", client->peer_text, strerror(errno));
        return END_CLOSED;
    }
    for (;;) {
        /* A busy session echoes what one read brought with one sendmmsg: once nothing
         * is left to read without waiting (a replay GnuTLS discarded counts as read). */
        if (session_pending(s) == 0)
            flush_echoes(client);
        switch (session_recv(s, data, sizeof(data), &len, seq)) {
        case SESSION_OK:
            client->records_in++;
            client->bytes_in += len;
            if (!client->server->cfg->session_log && log_enabled(LOG_INFO))
                print_record(seq, data, len);
            if (session_batch_when_busy(s))
                session_cork(s);
            echo_record(client, data, len);
            deadline = clock_now_ms() + idle_ms;
            break;
        case SESSION_PING:
            log_debug("%s: heartbeat ping, answering", client->peer_text);
            deadline = clock_now_ms() + idle_ms;
            break;
        case SESSION_PONG:
            break;
        case SESSION_CLOSED:
            client->why = "close_notify";
            if (!client->server->cfg->session_log)
                log_out("EOF");
            return END_CLOSED;
        case SESSION_HALTED:
            client->why = "a new handshake from the same address and port";
            return END_RESTART;
        case SESSION_STOPPED:
            client->why = "the server stopped";
            return END_STOPPED;
        case SESSION_REFUSED:
            client->why = "gone away (port unreachable)";
            atomic_fetch_add(&client->server->failed[FAILED_GONE], 1);
            log_info("%s: went away (port unreachable)", client->peer_text);
            return END_CLOSED;
        case SESSION_FATAL:
            client->why = "an error (said above)";
            atomic_fetch_add(&client->server->failed[FAILED_SESSION], 1);
            session_log_failure(LOG_WARN, s, "session ended", s->error);
            return END_CLOSED;
        default: /* AGAIN: the idle time is up, or a wake-up came early */
            left = deadline - clock_now_ms();
            if (left <= 0) {
                client->why = "idle timeout";
                log_info("%s: idle for %u s, closing", client->peer_text,
                         client->server->cfg->idle_timeout_s);
                return END_CLOSED;
            }
            if (session_set_wait(s, left) < 0) { /* woken early: the rest */
                log_error("%s: setsockopt SO_RCVTIMEO: %s", client->peer_text,
                          strerror(errno));
                return END_CLOSED;
            }
            break;
        }
    }
}

/* echo_records, and then the echoes still corked (records read together with the
 * close_notify that ended the session) sent. */
static enum session_end echo(struct client *client)
{
    enum session_end end = echo_records(client);

    flush_echoes(client);
    return end;
}

/* --session-log: the line of an established session's start. */
static void log_session_start(struct client *client)
{
    struct session *s = &client->session;
    char identity[300];
    char *desc = gnutls_session_get_desc(s->tls);

    session_peer_identity(s, identity, sizeof(identity));
    client->established_ms = clock_now_ms();
    client->records_in = client->records_out = 0;
    client->bytes_in = client->bytes_out = 0;
    client->why = "the tunnel ended";
    log_info("session start: %s: %s, %s, %s", client->peer_text,
             identity[0] != '\0' ? identity : "no identity", desc != NULL ? desc : "?",
             gnutls_session_is_resumed(s->tls) ? "resumed" : "new");
    gnutls_free(desc);
}

/* --session-log: the line of its end. */
static void log_session_end(const struct client *client)
{
    log_info("session end: %s after %.3f s: in %lu record(s), %llu byte(s); out %lu "
             "record(s), %llu byte(s); %s", client->peer_text,
             (double)(clock_now_ms() - client->established_ms) / 1000.0, client->records_in,
             client->bytes_in, client->records_out, client->bytes_out, client->why);
}

/* The client asked for a tunnel: it runs on this thread, over the same socket. */
static enum session_end tunnel(struct client *client)
{
    switch (server_tunnel_serve(client->server, &client->session)) {
    case SESSION_HALTED:
        return END_RESTART;
    case SESSION_STOPPED:
        return END_STOPPED;
    default:
        return END_CLOSED;
    }
}

/* Ends the session's socket (or inbox). Whatever is still queued on it may be a new
 * client's first datagram (one that reused the peer's port, or the peer itself
 * restarting): the listener gets them. All under the lock, so the listener sees the peer
 * gone only once its socket is: until the close the peer's datagrams reach this socket,
 * after it the listener. */
static void retire_socket(struct client *client, int stopped)
{
    struct server *srv = client->server;
    unsigned char buf[MAX_DATAGRAM_HANDBACK];
    struct udp_addr from = client->entry.peer;
    ssize_t n;
    int i;

    pthread_mutex_lock(&srv->lock);
    for (i = 0; i < RETIRE_DRAIN; i++) {
        n = srv->cfg->one_socket ? inbox_take(&client->inbox, buf, sizeof(buf), 0)
                                 : udp_recv(client->fd, buf, sizeof(buf), &from, NULL);
        if (n <= 0)
            break;
        server_forward_locked(srv, buf, (size_t)n, &from, &client->local);
    }
    if (client->fd >= 0)
        platform_close_socket(client->fd);
    client->fd = -1;
    registry_remove(&srv->registry, &client->entry);
    srv->stopped_sessions += stopped;
    pthread_mutex_unlock(&srv->lock);
    server_wake_listener(srv);
}

void server_session_serve(struct pool_job *job)
{
    struct client *client = CLIENT_OF(job, job);
    struct server *srv = client->server;
    struct session *s = &client->session;
    struct server_credentials *held = server_credentials_take(srv);
    struct session_params params = {
        .creds = &held->creds,
        .path_mtu = srv->cfg->mtu,
        .peer = &client->entry.peer,
        .retransmit_ms = 1000,
        .total_ms = srv->cfg->handshake_timeout_s * 1000,
        .prestate = &client->prestate,
        .alpn_first = srv->cfg->tun ? TUNNEL_ALPN : NULL,
        .alpn = srv->cfg->alpn,
        .srtp_profiles = srv->cfg->srtp_profiles,
        .trace = srv->cfg->trace ? &srv->trace : NULL,
        .inbox = srv->cfg->one_socket ? &client->inbox : NULL,
        .local = &client->local,
    };
    enum session_end end = END_RESTART;
    int rc;

    s->peer = client->peer_text;
    s->stop_fd = -1; /* one way to stop a session: the stop flag and shutdown(SHUT_RD) */
    s->stop_flag = &srv->stopping;
    while (end == END_RESTART) {
        if ((rc = session_open(s, &params,
                               srv->cfg->one_socket ? srv->listen_fd : client->fd)) < 0) {
            log_error("%s: session setup: %s", client->peer_text, gnutls_strerror(rc));
            end = END_CLOSED;
            break;
        }
        s->transport.pending = client->hello;
        s->transport.pending_len = client->hello_len;
        s->transport.screen = screen;
        s->transport.screen_ctx = client;
        end = handshake(client);
        if (end == END_ESTABLISHED) {
            if (srv->cfg->session_log)
                log_session_start(client);
            else
                log_out("- Handshake was completed");
            session_log_description(s, 0);
            end = srv->cfg->tun && session_alpn_is(s, TUNNEL_ALPN) ? tunnel(client) : echo(client);
            if (srv->cfg->session_log)
                log_session_end(client);
            if (end == END_RESTART)
                log_info("%s: new handshake from the same address and port, new session",
                         client->peer_text);
        }
        if (end == END_RESTART)
            s->established = 0; /* no close_notify into the peer's new handshake */
        session_close(s);
    }
    log_debug("%s: session closed", client->peer_text);
    server_credentials_drop(srv, held);
    retire_socket(client, end == END_STOPPED);
    /* Deregistered under the lock the listener fills inboxes under: its count is final. */
    if (srv->cfg->one_socket && client->inbox.dropped > 0)
        log_info("%s: %lu datagram(s) dropped, its queue was full", client->peer_text,
                 client->inbox.dropped);
    client_free(client);
}

void server_session_start(struct server *srv, const unsigned char *hello, size_t len,
                          const struct udp_addr *peer, const struct udp_addr *local,
                          const gnutls_dtls_prestate_st *prestate)
{
    char err[256];
    struct client *client;
    int rc;

    client = calloc(1, sizeof(*client));
    if (client == NULL || (client->hello = malloc(len)) == NULL) {
        log_error("out of memory for a new client");
        free(client);
        return;
    }
    client->server = srv;
    client->entry.peer = *peer;
    client->local = *local;
    client->prestate = *prestate;
    memcpy(client->hello, hello, len);
    client->hello_len = len;
    udp_addr_to_text(peer, client->peer_text, sizeof(client->peer_text));
    /* The connected socket (or the inbox the listener fills) exists before anything is
     * sent back, so the peer's next flight reaches it, not the listener. */
    client->fd = -1;
    if (srv->cfg->one_socket) {
        if (inbox_init(&client->inbox) < 0) {
            log_error("%s: out of memory for its queue", client->peer_text);
            free(client->hello);
            free(client);
            return;
        }
    } else if ((client->fd = udp_open_peer_socket(local, peer, err, sizeof(err))) < 0) {
        log_error("%s: %s", client->peer_text, err);
        client_free(client);
        return;
    }
    if (!srv->cfg->session_log)
        log_out("Accepted connection from %s", client->peer_text);
    srv->accepted++;
    pthread_mutex_lock(&srv->lock);
    registry_add(&srv->registry, &client->entry);
    pthread_mutex_unlock(&srv->lock);
    rc = pool_submit(&srv->pool, &client->job);
    if (rc != 0) {
        log_error("%s: no thread for the session: %s", client->peer_text, strerror(rc));
        pthread_mutex_lock(&srv->lock);
        registry_remove(&srv->registry, &client->entry);
        pthread_mutex_unlock(&srv->lock);
        client_free(client);
    }
}

static void wake_session(struct registry_entry *entry, void *ctx)
{
    struct client *client = CLIENT_OF(entry, entry);

    (void)ctx;
    /* A session waiting in recvmsg or poll on its socket (or on its inbox) returns at
     * once; it then sees the stop flag. Harmless when it fails: the socket is then closed
     * already. */
    if (client->server->cfg->one_socket)
        inbox_close(&client->inbox);
    else if (shutdown(client->fd, SHUT_RD) < 0)
        log_debug("shutdown: %s", strerror(errno));
}

int server_session_deliver_locked(struct server *srv, const void *data, size_t len,
                                  const struct udp_addr *peer, struct inbox **wake)
{
    struct registry_entry *entry = registry_find(&srv->registry, peer);
    int rc;

    *wake = NULL;
    if (entry == NULL)
        return 0;
    if (len == 0) /* an empty datagram is no record */
        return 1;
    rc = inbox_put(&CLIENT_OF(entry, entry)->inbox, data, len);
    if (rc < 0)
        srv->inbox_dropped++;
    else if (rc == 1)
        *wake = &CLIENT_OF(entry, entry)->inbox;
    return 1;
}

void server_session_wake_all_locked(struct server *srv)
{
    registry_each(&srv->registry, wake_session, NULL);
}
