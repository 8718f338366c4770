/* SPDX-License-Identifier: MIT */
/* tunnel.c - the tunnel's data path, both ends (see tunnel.h). */
#define _GNU_SOURCE
#include "tunnel.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "platform.h"
#include "session_transport.h"
#include "sockets.h"
#include "tun_offload.h"

#define PACKET_MAX 16384     /* the largest record's plaintext */
#define BATCH 64             /* TUN reads, or records, one wake-up moves at most */
#define SOCKET_BUFFER (4 * 1024 * 1024) /* a burst at full speed outlasts a scheduling delay */

/* What the two threads share. Each counter and buffer is one thread's; only these are
 * touched by both. */
struct shared {
    struct tunnel *t;
    atomic_int end;              /* -1 until one side ends: how */
    int wake_tx[2], wake_rx[2];  /* a byte wakes the sending thread, the receiving one */
    atomic_llong heard_ms;       /* when the peer was last heard from */
    atomic_int pong_due;         /* a ping came: the sending thread answers */
    atomic_int reply_ready;      /* a control answer waits in reply */
    unsigned char reply[TUNNEL_REPLY_MAX];
    size_t reply_len;
    uint64_t write_drops;        /* the receiving side's, added once both have ended */
};

static void wake(int fd)
{
    char byte = 1;

    if (platform_pipe_write(fd, &byte, 1) < 0 && errno != EAGAIN)
        log_debug("tunnel: wake-up not written: %s", strerror(errno));
}

/* The first side to end says how (and why, when it failed), and wakes the other. */
static void finish(struct shared *sh, int end, const char *why)
{
    int none = -1;

    if (atomic_compare_exchange_strong(&sh->end, &none, end)) {
        sh->t->why = why;
        wake(sh->wake_tx[1]);
        wake(sh->wake_rx[1]);
    }
}

/* How a session step that failed ends the tunnel, and why. */
static int ended(struct tunnel *t, enum session_status status, const char **why)
{
    switch (status) {
    case SESSION_CLOSED:
        return TUNNEL_CLOSED;
    case SESSION_HALTED:
        return TUNNEL_RESTART;
    case SESSION_STOPPED:
        return TUNNEL_STOPPED;
    case SESSION_REFUSED:
        *why = "the peer's port is closed (ICMP port unreachable)";
        return TUNNEL_FAILED;
    default:
        *why = gnutls_strerror(t->session->error);
        return TUNNEL_FAILED;
    }
}

static int stop_asked(const struct session *s, const struct pollfd *stop)
{
    return stop->revents || session_stop_requested(s);
}

/* ---- peer -> TUN: the calling thread ------------------------------------------------ */

/* Whether a packet from the client comes from one of its own addresses. */
static int source_allowed(const struct tunnel *t, const unsigned char *pkt, size_t len)
{
    if ((pkt[0] >> 4) == 4)
        return len >= 20 && memcmp(pkt + 12, &t->source4, 4) == 0;
    if ((pkt[0] >> 4) == 6)
        return t->has6 && len >= 40 && memcmp(pkt + 8, &t->source6, 16) == 0;
    return 0;
}

/* One record from the peer (at rec, with TUN_VNET_HDR_LEN bytes free before it): a
 * control message, or a packet for the TUN device. */
static void deliver(struct shared *sh, struct tun_writer *w, unsigned char *rec, size_t len)
{
    struct tunnel *t = sh->t;

    if (rec[0] == TUNNEL_CONTROL) {
        /* While an answer waits to be sent, the next request is not answered: the peer
         * asks again. */
        if (t->control == NULL || atomic_load(&sh->reply_ready))
            return;
        if ((sh->reply_len = t->control(t, rec, len, sh->reply)) > 0) {
            atomic_store(&sh->reply_ready, 1);
            wake(sh->wake_tx[1]);
        }
        return;
    }
    if (t->check_source && !source_allowed(t, rec, len)) {
        if (t->spoofed++ == 0)
            log_warn("%s: a packet from an address not the client's own: dropped (this "
                     "once said; the count comes when the tunnel ends)", t->session->peer);
        return;
    }
    tun_writer_put(w, rec, len);
}

/* Reads records until none is left or BATCH, then writes what the writer holds. Returns
 * -1 to go on, or how the tunnel ended (*why). */
static int from_peer(struct shared *sh, struct tun_writer *w, unsigned char *buf,
                     const char **why)
{
    struct session *s = sh->t->session;
    enum session_status status = SESSION_AGAIN;
    unsigned char *rec = buf + TUN_VNET_HDR_LEN;
    size_t len;
    int i, heard = 0;

    for (i = 0; i < BATCH; i++) {
        status = session_recv(s, rec, PACKET_MAX, &len, NULL);
        if (status != SESSION_OK && status != SESSION_PING && status != SESSION_PONG)
            break;
        heard = 1;
        if (status == SESSION_PING) {
            atomic_store(&sh->pong_due, 1);
            wake(sh->wake_tx[1]);
        } else if (status == SESSION_OK && len > 0) {
            deliver(sh, w, rec, len);
        }
    }
    tun_writer_flush(w);
    if (heard)
        atomic_store(&sh->heard_ms, clock_now_ms());
    if (i < BATCH && status != SESSION_AGAIN)
        return ended(sh->t, status, why);
    return -1;
}

static void receiving(struct shared *sh, unsigned char *buf, unsigned char *frame)
{
    struct tunnel *t = sh->t;
    struct session *s = t->session;
    struct tun_writer w;
    const char *why = NULL;
    int end = -1;

    tun_writer_init(&w, t->tun_fd, (t->tun_offloads & TUN_OFFLOAD_VNET) != 0,
                    (t->tun_offloads & TUN_OFFLOAD_TSO) != 0, frame);
    while (atomic_load(&sh->end) < 0) {
        struct pollfd fds[3] = {
            {.fd = s->transport.fd, .events = POLLIN},
            {.fd = s->stop_fd, .events = POLLIN},
            {.fd = sh->wake_rx[0], .events = POLLIN},
        };
        if (poll(fds, 3, session_pending(s) > 0 ? 0 : -1) < 0 && errno != EINTR) {
            finish(sh, TUNNEL_FAILED, "poll failed");
            break;
        }
        if (stop_asked(s, &fds[1])) {
            finish(sh, TUNNEL_STOPPED, NULL);
            break;
        }
        if (((fds[0].revents & (POLLIN | POLLERR | POLLHUP)) || session_pending(s) > 0) &&
            (end = from_peer(sh, &w, buf, &why)) >= 0) {
            finish(sh, end, why);
            break;
        }
    }
    t->packets_in = w.packets;
    t->writes = w.writes;
    sh->write_drops = w.dropped; /* t->dropped is the sending thread's until it ends */
}

/* ---- TUN -> peer: the second thread ------------------------------------------------- */

struct sender {
    struct shared *sh;
    unsigned char *frame, *scratch; /* a TUN read; a piece of a super-segment */
    size_t mtu;                     /* the session's data MTU: a piece's most */
    struct tun_split split;
    const unsigned char *piece;     /* held: the socket buffer had no room for it */
    size_t piece_len;
    int flushing;                   /* the queue waits for the socket */
    unsigned misses;                /* keepalive: heartbeats unanswered */
    int64_t next_ping;
};

/* Sends the split's pieces from the held one on. Returns -1 when all went or the socket
 * buffer is full (then the piece is held), or how the tunnel ended (*why). */
static int send_pieces(struct sender *tx, const char **why)
{
    struct tunnel *t = tx->sh->t;
    enum session_status status;

    for (;;) {
        if (tx->piece == NULL &&
            (tx->piece = tun_split_next(&tx->split, tx->scratch, &tx->piece_len)) == NULL)
            return -1;
        status = session_send(t->session, tx->piece, tx->piece_len, 0);
        if (status == SESSION_TIMEOUT)
            return -1;
        /* Too large for the session (the interface's MTU raised by hand): dropped. */
        if (status == SESSION_TOO_LARGE)
            t->dropped++;
        else if (status == SESSION_OK)
            t->packets_out++;
        else
            return ended(t, status, why);
        tx->piece = NULL;
    }
}

/* The held piece and the rest of its split, then (read_tun) what the TUN device has, all
 * corked: the queue leaves in as few system calls as the socket allows. Returns -1 to go
 * on, or how the tunnel ended (*why). */
static int send_more(struct sender *tx, int read_tun, const char **why)
{
    struct tunnel *t = tx->sh->t;
    int vnet = (t->tun_offloads & TUN_OFFLOAD_VNET) != 0, end = -1, i;
    enum session_status status;
    ssize_t n;

    session_cork(t->session);
    if (tx->piece != NULL)
        end = send_pieces(tx, why);
    for (i = 0; end < 0 && tx->piece == NULL && read_tun && i < BATCH; i++) {
        /* Without the header, the packet goes after an empty one: one path for both. */
        n = read(t->tun_fd, vnet ? tx->frame : tx->frame + TUN_VNET_HDR_LEN,
                 vnet ? TUN_FRAME_MAX : TUN_PACKET_MAX);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                *why = "reading the TUN device failed";
                end = TUNNEL_FAILED;
            }
            break;
        }
        t->reads++;
        if (!vnet) {
            memset(tx->frame, 0, TUN_VNET_HDR_LEN);
            n += TUN_VNET_HDR_LEN;
        }
        if (tun_split_start(&tx->split, tx->frame, (size_t)n, tx->mtu) < 0) {
            t->dropped++;
            continue;
        }
        end = send_pieces(tx, why);
    }
    status = session_uncork(t->session);
    if (end >= 0)
        return end;
    tx->flushing = status == SESSION_AGAIN;
    if (status != SESSION_OK && status != SESSION_AGAIN)
        return ended(t, status, why);
    return -1;
}

/* A heartbeat after keepalive_ms of silence, another after each more; anything heard
 * from the peer, a packet or a heartbeat, starts the count again. Returns -1 to go on,
 * or TUNNEL_DEAD. */
static int keepalive(struct sender *tx)
{
    struct tunnel *t = tx->sh->t;
    int64_t now = clock_now_ms(), heard = atomic_load(&tx->sh->heard_ms);

    if (now - heard < (int64_t)t->keepalive_ms) {
        tx->misses = 0;
        tx->next_ping = heard + t->keepalive_ms;
    } else if (now >= tx->next_ping) {
        if (tx->misses == TUNNEL_KEEPALIVE_MISSES)
            return TUNNEL_DEAD;
        if (session_ping(t->session) != SESSION_OK)
            log_debug("%s: heartbeat not sent: %s", t->session->peer,
                      gnutls_strerror(t->session->error));
        tx->misses++;
        tx->next_ping = now + t->keepalive_ms;
    }
    return -1;
}

/* What the receiving thread left to send: a pong, a control answer. */
static void send_asked(struct sender *tx)
{
    struct shared *sh = tx->sh;
    struct session *s = sh->t->session;
    char drain[64];

    while (platform_pipe_read(sh->wake_tx[0], drain, sizeof(drain)) > 0)
        ;
    if (atomic_exchange(&sh->pong_due, 0))
        session_pong(s);
    if (atomic_load(&sh->reply_ready)) {
        if (session_send(s, sh->reply, sh->reply_len, 0) != SESSION_OK)
            log_debug("%s: tunnel message not sent", s->peer);
        atomic_store(&sh->reply_ready, 0);
    }
}

static void *sending(void *arg)
{
    struct sender *tx = arg;
    struct shared *sh = tx->sh;
    struct tunnel *t = sh->t;
    struct session *s = t->session;
    const char *why = NULL;
    int end = -1;

    tx->next_ping = t->keepalive_ms ? clock_now_ms() + t->keepalive_ms : -1;
    while (atomic_load(&sh->end) < 0) {
        int blocked = tx->piece != NULL || tx->flushing; /* the TUN device waits */
        struct pollfd fds[4] = {
            {.fd = blocked ? s->transport.fd : -1, .events = POLLOUT},
            {.fd = blocked ? -1 : t->tun_fd, .events = POLLIN},
            {.fd = s->stop_fd, .events = POLLIN},
            {.fd = sh->wake_tx[0], .events = POLLIN},
        };
        if (poll(fds, 4, clock_ms_until(tx->next_ping, -1)) < 0 && errno != EINTR) {
            finish(sh, TUNNEL_FAILED, "poll failed");
            break;
        }
        if (stop_asked(s, &fds[2])) {
            finish(sh, TUNNEL_STOPPED, NULL);
            break;
        }
        if (fds[3].revents)
            send_asked(tx);
        if ((fds[0].revents & (POLLOUT | POLLERR)) || (fds[1].revents & POLLIN))
            end = send_more(tx, !blocked, &why);
        if (end < 0 && (fds[1].revents & (POLLERR | POLLHUP | POLLNVAL))) {
            why = "the TUN device went away";
            end = TUNNEL_FAILED;
        }
        if (end < 0 && t->keepalive_ms)
            end = keepalive(tx);
        if (end >= 0) {
            finish(sh, end, why);
            break;
        }
    }
    return NULL;
}

/* ---- both ----------------------------------------------------------------------------- */

/* The session's socket for a tunnel: large buffers, batches, the UDP offloads. */
static void prepare(struct tunnel *t)
{
    struct session *s = t->session;
    int gso = 0, gro = 0;
    char err[128];

    /* The default buffer (208 KiB) overflows while a thread waits for a core, and each
     * datagram lost there is a TCP segment lost inside (bench: 28,561 losses in 5 s). */
    if (udp_set_buffers(s->transport.fd, SOCKET_BUFFER, err, sizeof(err)) < 0)
        log_debug("%s: %s", s->peer, err);
    if (s->transport.batch == NULL && session_enable_batching(s) < 0)
        log_debug("%s: no memory to batch datagrams: one at a time", s->peer);
    if (t->udp_offloads)
        session_enable_offloads(s, &gso, &gro);
    log_debug("%s: tunnel offloads: TUN %s, UDP_SEGMENT %s, UDP_GRO %s", s->peer,
              t->tun_offloads & TUN_OFFLOAD_USO   ? "TSO and USO"
              : t->tun_offloads & TUN_OFFLOAD_TSO ? "TSO"
                                                  : "none",
              gso ? "on" : "off", gro ? "on" : "off");
    /* A peer that did not allow heartbeats (RFC 6520: the extension's mode) cannot be
     * pinged: its own pings, or its packets, are then all there is to go by. */
    if (t->keepalive_ms && !gnutls_heartbeat_allowed(s->tls, GNUTLS_HB_LOCAL_ALLOWED_TO_SEND)) {
        log_info("%s: the peer takes no heartbeats: no keepalive from this side", s->peer);
        t->keepalive_ms = 0;
    }
}

enum tunnel_end tunnel_run(struct tunnel *t)
{
    struct session *s = t->session;
    struct shared sh = {.t = t, .wake_tx = {-1, -1}, .wake_rx = {-1, -1}};
    struct sender tx = {.sh = &sh};
    /* The buffers: a TUN read and a piece (sending); a record and the frame the writer
     * builds (receiving). */
    unsigned char *buffers = malloc(2 * TUN_FRAME_MAX + 2 * (TUN_VNET_HDR_LEN + PACKET_MAX));
    pthread_t thread;

    t->why = NULL;
    atomic_init(&sh.end, -1);
    atomic_init(&sh.heard_ms, clock_now_ms());
    atomic_init(&sh.pong_due, 0);
    atomic_init(&sh.reply_ready, 0);
    if (buffers == NULL || platform_pipe(sh.wake_tx, 1) < 0 || platform_pipe(sh.wake_rx, 1) < 0) {
        t->why = buffers == NULL ? "out of memory" : "no pipe to wake the tunnel's threads";
        goto out;
    }
    prepare(t);
    tx.frame = buffers;
    tx.scratch = buffers + TUN_FRAME_MAX;
    tx.mtu = session_data_mtu(s) < PACKET_MAX ? session_data_mtu(s) : PACKET_MAX;
    s->pong_later = 1;
    if (pthread_create(&thread, NULL, sending, &tx) != 0) {
        t->why = "no thread for the tunnel's sending side";
        goto out;
    }
    receiving(&sh, buffers + TUN_FRAME_MAX + TUN_VNET_HDR_LEN + PACKET_MAX,
              buffers + TUN_FRAME_MAX + 2 * (TUN_VNET_HDR_LEN + PACKET_MAX));
    pthread_join(thread, NULL);
    t->dropped += sh.write_drops;
out:
    s->pong_later = 0;
    platform_pipe_close(sh.wake_tx);
    platform_pipe_close(sh.wake_rx);
    free(buffers);
    return atomic_load(&sh.end) >= 0 ? (enum tunnel_end)atomic_load(&sh.end) : TUNNEL_FAILED;
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
