/* SPDX-License-Identifier: MIT */
/* tunnel.c - the tunnel's data path, both ends (see tunnel.h). */
#define _GNU_SOURCE
#include "tunnel.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "sockets.h"

#define PACKET_MAX 16384     /* the largest record's plaintext */
#define BATCH 64             /* packets one wake-up moves each way, at most */
#define SOCKET_BUFFER (4 * 1024 * 1024) /* a burst at full speed outlasts a scheduling delay */

/* Whether a packet from the client comes from one of its own addresses. */
static int source_allowed(const struct tunnel *t, const unsigned char *pkt, size_t len)
{
    if ((pkt[0] >> 4) == 4)
        return len >= 20 && memcmp(pkt + 12, &t->source4, 4) == 0;
    if ((pkt[0] >> 4) == 6)
        return t->has6 && len >= 40 && memcmp(pkt + 8, &t->source6, 16) == 0;
    return 0;
}

/* One record from the peer: a control message, or a packet for the TUN device. */
static void deliver(struct tunnel *t, const unsigned char *rec, size_t len)
{
    if (rec[0] == TUNNEL_CONTROL) {
        if (t->control != NULL)
            t->control(t, rec, len);
        return;
    }
    if (t->check_source && !source_allowed(t, rec, len)) {
        if (t->spoofed++ == 0)
            log_warn("%s: a packet from an address not the client's own: dropped (this "
                     "once said; the count comes when the tunnel ends)", t->session->peer);
        return;
    }
    /* A full TUN queue or a packet the kernel refuses drops that packet, as a router
     * drops, and nothing else. */
    if (write(t->tun_fd, rec, len) < 0)
        t->dropped++;
    else
        t->packets_in++;
}

/* Why a session step that failed ended the tunnel. */
static int ended(struct tunnel *t, enum session_status status)
{
    switch (status) {
    case SESSION_CLOSED:
        return TUNNEL_CLOSED;
    case SESSION_HALTED:
        return TUNNEL_RESTART;
    case SESSION_STOPPED:
        return TUNNEL_STOPPED;
    case SESSION_REFUSED:
        t->why = "the peer's port is closed (ICMP port unreachable)";
        return TUNNEL_FAILED;
    default:
        t->why = gnutls_strerror(t->session->error);
        return TUNNEL_FAILED;
    }
}

/* Reads records until none is left. Returns -1 to go on, or why the tunnel ended. */
static int from_peer(struct tunnel *t, unsigned char *buf, int *heard)
{
    enum session_status status;
    size_t len;
    int i;

    for (i = 0; i < BATCH; i++) {
        status = session_recv(t->session, buf, PACKET_MAX, &len, NULL);
        if (status == SESSION_AGAIN)
            return -1;
        if (status != SESSION_OK && status != SESSION_PING && status != SESSION_PONG)
            return ended(t, status);
        *heard = 1;
        if (status == SESSION_OK && len > 0)
            deliver(t, buf, len);
    }
    return -1;
}

/* Sends one packet. Returns OK when sent (or dropped for good: too large for the
 * session, the interface's MTU raised by hand), TIMEOUT when the socket buffer is full
 * (send it again when writable), or what ended the session. */
static enum session_status send_packet(struct tunnel *t, const unsigned char *pkt, size_t len)
{
    enum session_status status = session_send(t->session, pkt, len, 0);

    if (status == SESSION_OK)
        t->packets_out++;
    if (status == SESSION_TOO_LARGE) {
        t->dropped++;
        status = SESSION_OK;
    }
    return status;
}

/* Reads packets from the TUN device and sends them, corked (several datagrams to one
 * sendmmsg), until it has none, the socket buffer is full (*held: that packet's length,
 * still in buf) or BATCH. Returns -1 to go on, or why the tunnel ended. */
static int read_and_send(struct tunnel *t, unsigned char *buf, size_t *held)
{
    enum session_status status;
    ssize_t n;
    int i;

    session_cork(t->session);
    for (i = 0; i < BATCH; i++) {
        n = read(t->tun_fd, buf, PACKET_MAX);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return -1;
            t->why = "reading the TUN device failed";
            return TUNNEL_FAILED;
        }
        if (n == 0)
            continue;
        status = send_packet(t, buf, (size_t)n);
        if (status == SESSION_TIMEOUT) {
            *held = (size_t)n;
            return -1;
        }
        if (status != SESSION_OK)
            return ended(t, status);
    }
    return -1;
}

/* read_and_send, then the queue sent with one sendmmsg (*flushing: some of it waits for
 * the socket). Returns -1 to go on, or why the tunnel ended. */
static int to_peer(struct tunnel *t, unsigned char *buf, size_t *held, int *flushing)
{
    int end = read_and_send(t, buf, held);
    enum session_status status = session_uncork(t->session); /* uncorked either way */

    if (end >= 0)
        return end;
    if (status == SESSION_AGAIN)
        *flushing = 1;
    else if (status != SESSION_OK)
        return ended(t, status);
    return -1;
}

enum tunnel_end tunnel_run(struct tunnel *t)
{
    struct session *s = t->session;
    unsigned char in[PACKET_MAX], out[PACKET_MAX];
    size_t held = 0;
    int flushing = 0;
    unsigned misses = 0;
    int64_t next_ping = t->keepalive_ms ? clock_now_ms() + t->keepalive_ms : -1;
    int end, heard;
    char err[128];

    t->why = NULL;
    /* The default buffer (208 KiB) overflows while this thread waits for a core, and each
     * datagram lost there is a TCP segment lost inside (bench: 28,561 losses in 5 s). */
    if (udp_set_buffers(s->transport.fd, SOCKET_BUFFER, err, sizeof(err)) < 0)
        log_debug("%s: %s", s->peer, err);
    if (session_enable_batching(s) < 0)
        log_debug("%s: no memory to batch datagrams: one at a time", s->peer);
    /* A peer that did not allow heartbeats (RFC 6520: the extension's mode) cannot be
     * pinged: its own pings, or its packets, are then all there is to go by. */
    if (t->keepalive_ms && !gnutls_heartbeat_allowed(s->tls, GNUTLS_HB_LOCAL_ALLOWED_TO_SEND)) {
        log_info("%s: the peer takes no heartbeats: no keepalive from this side", s->peer);
        t->keepalive_ms = 0;
        next_ping = -1;
    }
    for (;;) {
        int blocked = held || flushing; /* the TUN device waits for the socket */
        struct pollfd fds[3] = {
            {.fd = s->transport.fd, .events = POLLIN | (blocked ? POLLOUT : 0)},
            {.fd = blocked ? -1 : t->tun_fd, .events = POLLIN},
            {.fd = s->stop_fd, .events = POLLIN},
        };
        int wait_ms = session_pending(s) > 0 ? 0 : clock_ms_until(next_ping, -1);

        if (poll(fds, 3, wait_ms) < 0 && errno != EINTR) {
            t->why = "poll failed";
            return TUNNEL_FAILED;
        }
        if (fds[2].revents || (s->stop_flag != NULL && atomic_load(s->stop_flag)))
            return TUNNEL_STOPPED;
        heard = 0;
        if ((fds[0].revents & (POLLIN | POLLERR | POLLHUP)) || session_pending(s) > 0) {
            if ((end = from_peer(t, in, &heard)) >= 0)
                return (enum tunnel_end)end;
        }
        if (blocked && (fds[0].revents & (POLLOUT | POLLERR))) {
            /* The queue first, then the packet that did not fit: in their order. */
            enum session_status status = flushing ? session_uncork(s) : SESSION_OK;
            if (status == SESSION_OK && held)
                status = send_packet(t, out, held);
            if (status == SESSION_OK)
                held = flushing = 0;
            else if (status != SESSION_AGAIN && status != SESSION_TIMEOUT)
                return (enum tunnel_end)ended(t, status);
        }
        if (!held && !flushing && (fds[1].revents & POLLIN) &&
            (end = to_peer(t, out, &held, &flushing)) >= 0)
            return (enum tunnel_end)end;
        if (fds[1].revents & (POLLERR | POLLHUP | POLLNVAL)) {
            t->why = "the TUN device went away";
            return TUNNEL_FAILED;
        }
        if (t->keepalive_ms == 0)
            continue;
        /* Keepalive: a heartbeat after keepalive_ms of silence, another after each more;
         * anything heard from the peer, a packet or a heartbeat, starts the count again. */
        if (heard) {
            misses = 0;
            next_ping = clock_now_ms() + t->keepalive_ms;
        } else if (clock_now_ms() >= next_ping) {
            if (misses == TUNNEL_KEEPALIVE_MISSES)
                return TUNNEL_DEAD;
            if (session_ping(s) != SESSION_OK)
                log_debug("%s: heartbeat not sent: %s", s->peer, gnutls_strerror(s->error));
            misses++;
            next_ping = clock_now_ms() + t->keepalive_ms;
        }
    }
}

const char *tunnel_end_text(const struct tunnel *t, enum tunnel_end end)
{
    _Static_assert(TUNNEL_KEEPALIVE_MISSES == 3, "the words below count 3");

    switch (end) {
    case TUNNEL_STOPPED:
        return "stopped";
    case TUNNEL_CLOSED:
        return "the peer closed the session";
    case TUNNEL_DEAD:
        return "no answer to 3 keepalives";
    case TUNNEL_RESTART:
        return "the peer started a new handshake";
    case TUNNEL_FAILED:
        return t->why != NULL ? t->why : "failed";
    }
    return "?";
}
