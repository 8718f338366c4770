/* SPDX-License-Identifier: MIT */
/* session_transport.c - the session engine's transport: what GnuTLS's push, pull and
 * pull-timeout functions do on a session's socket. The pending ClientHello handed over
 * first, the screen of the server's session socket, blocking waits with a short spin for
 * busy sessions, and batched reads and corked batched writes through the platform's
 * dgram_recv_many/dgram_send_many (recvmmsg/sendmmsg on Linux, one datagram at a time
 * elsewhere), for a tunnel with UDP_SEGMENT sends and UDP_GRO reads where the platform has
 * them; --trace sees every datagram here. */
#define _GNU_SOURCE
#include "session_transport.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "inbox.h"
#include "log.h"
#include "platform.h"
#include "sockets.h"
#include "trace.h"

#define PULL_BATCH 64         /* screened datagrams one pull may read before giving up */
#define SPIN_ROUNDS 20        /* a busy blocking session looks this often before sleeping ... */
#define BUSY_GAP_US 1000      /* ... when its last two records came this close */
#define SEND_POLL_MS 10       /* a full socket buffer is looked at again this often */
#define BATCH_SLOTS 32        /* datagrams per batched read or write (recvmmsg, sendmmsg) */
#define GRO_SLOTS 8           /* with UDP_GRO: reads per recvmmsg, each up to ... */
#define GRO_SLOT_SIZE 65535   /* ... the largest coalesced read */
#define GSO_MAX_BYTES 65000   /* one UDP_SEGMENT send at most (a UDP datagram's limit) */

/* The receiving side's fields and the sending side's lie apart (a tunnel's two threads
 * each use one side). */
struct session_batch {
    /* Receiving: rx_slots messages of rx_slot_size; the one being handed over, and how far
     * (a coalesced read holds several datagrams). */
    size_t rx_slot_size;
    unsigned rx_slots;
    unsigned rx_count, rx_next;  /* datagrams the last recvmmsg read; the next to hand over */
    size_t rx_off;
    int gro;                     /* reads may be coalesced (UDP_GRO) */
    unsigned char *gro_area;     /* GRO_SLOTS of GRO_SLOT_SIZE */
    struct dgram_msg rx[BATCH_SLOTS];
    struct iovec rx_iov[BATCH_SLOTS];
    struct sockaddr_storage from[BATCH_SLOTS];
    _Alignas(8) unsigned char rx_control[GRO_SLOTS][DGRAM_CONTROL_SIZE];
    /* Sending. */
    _Alignas(64) size_t slot_size;
    int corked;
    pthread_t corker;            /* the thread that corked: only its records are queued */
    int gso;                     /* equal-sized datagrams leave in one UDP_SEGMENT send */
    unsigned tx_head, tx_count;  /* queued datagrams: the first not yet sent, and how many */
    struct dgram_msg tx[BATCH_SLOTS];
    struct iovec tx_iov[BATCH_SLOTS];
    struct udp_source source;    /* the one-socket server: every datagram's source */
    unsigned char data[];        /* 2 * BATCH_SLOTS slots of slot_size */
};

int session_stop_requested(const struct session *s)
{
    return s->stop_flag != NULL && atomic_load(s->stop_flag);
}

/* Vectored, so GnuTLS packs a whole flight (ServerHello ... ServerHelloDone) into one
 * datagram up to the MTU: one loss then costs one retransmission, not one per record. */
/* Sends the queued datagrams from the first on: a run of equal-sized ones (and a shorter
 * last) in one UDP_SEGMENT send where the socket takes it, else with sendmmsg. Returns
 * how many went, or -1 (errno). */
static int send_queued(struct session_transport *t)
{
    struct session_batch *b = t->batch;
    unsigned head = b->tx_head, k = 1;
    size_t segment = b->tx_iov[head].iov_len, total = segment;

    if (!b->gso)
        return dgram_send_many(t->fd, b->tx + head, b->tx_count);
    while (k < b->tx_count && b->tx_iov[head + k].iov_len <= segment &&
           total + b->tx_iov[head + k].iov_len <= GSO_MAX_BYTES) {
        total += b->tx_iov[head + k].iov_len;
        if (b->tx_iov[head + k++].iov_len < segment)
            break; /* a shorter one ends the run */
    }
    if (k == 1)
        return dgram_send_many(t->fd, b->tx + head, 1);
    if (dgram_send_segments(t->fd, b->tx_iov + head, k, segment) == 0)
        return (int)k;
    if (errno == EAGAIN || errno == ENOBUFS || errno == ECONNREFUSED)
        return -1;
    log_debug("UDP segmentation refused (%s): datagrams one by one", strerror(errno));
    b->gso = 0;
    return dgram_send_many(t->fd, b->tx + head, b->tx_count);
}

/* Sends the queued datagrams. Returns 0 when all went, else the errno of the send that
 * failed (the errno of a tunnel's receiving thread may have changed t->last_errno). */
static int batch_flush(struct session_transport *t)
{
    struct session_batch *b = t->batch;
    int n;

    while (b->tx_count > 0) {
        n = send_queued(t);
        if (n < 0) {
            t->last_errno = errno;
            return errno;
        }
        b->tx_head += (unsigned)n;
        b->tx_count -= (unsigned)n;
    }
    b->tx_head = 0;
    return 0;
}

/* Queues one datagram (corked). A full queue is sent first; while the socket buffer
 * cannot take it all, EAGAIN, as a socket would say. */
static ssize_t batch_queue(struct session_transport *t, const giovec_t *iov, int iovcnt)
{
    struct session_batch *b = t->batch;
    unsigned slot;
    size_t len = 0;
    int i;

    if (b->tx_head + b->tx_count == BATCH_SLOTS && (errno = batch_flush(t)) != 0)
        return -1;
    slot = b->tx_head + b->tx_count;
    for (i = 0; i < iovcnt; i++) {
        if (len + iov[i].iov_len > b->slot_size) {
            errno = EMSGSIZE;
            return -1;
        }
        memcpy((unsigned char *)b->tx_iov[slot].iov_base + len, iov[i].iov_base,
               iov[i].iov_len);
        len += iov[i].iov_len;
    }
    b->tx[slot].hdr.msg_iov->iov_len = len;
    b->tx_count++;
    return (ssize_t)len;
}

/* --trace: one datagram, in or out. Cold: off the path of every record when --trace is
 * off. */
__attribute__((cold, noinline)) static void trace(struct session *s, int outgoing,
                                                  const void *data, size_t len)
{
    trace_datagram(s->transport.trace, outgoing, data, len);
}

/* trace() of a datagram GnuTLS hands over in pieces. */
__attribute__((cold, noinline)) static void trace_out(struct session *s, const giovec_t *iov,
                                                      int iovcnt)
{
    unsigned char *datagram;
    size_t len = 0;
    int i;

    for (i = 0; i < iovcnt; i++)
        len += iov[i].iov_len;
    if ((datagram = malloc(len)) == NULL)
        return;
    for (len = 0, i = 0; i < iovcnt; len += iov[i].iov_len, i++)
        memcpy(datagram + len, iov[i].iov_base, iov[i].iov_len);
    trace(s, 1, datagram, len);
    free(datagram);
}

static ssize_t transport_push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
    struct session_transport *t = &((struct session *)ptr)->transport;
    ssize_t n;

    if (t->trace != NULL)
        trace_out(ptr, iov, iovcnt);
    if (t->batch != NULL && t->batch->corked && pthread_equal(t->batch->corker, pthread_self()))
        return batch_queue(t, iov, iovcnt);
    n = udp_sendv(t->fd, (const struct iovec *)iov, iovcnt, t->inbox ? t->peer : NULL,
                  t->local);

    t->last_errno = n < 0 ? errno : 0;
    return n;
}

/* Waits for the next datagram in recvmsg itself (one system call per record, as a plain
 * UDP echo loop makes, instead of a failed read, a poll and a read). A busy session first
 * looks a few times, yielding the CPU in between: under load the next record is usually
 * there, and finding it saves a sleep and a wake-up, the largest cost of a record on a
 * thread-per-client path (8 sessions x 8 echoes in flight: 67,500 -> 89,000 echoes/s on 2
 * cores). An idle session sleeps at once, up to the socket's SO_RCVTIMEO. */
/* A blocking read came back: how long since the one before (t->gap_us), which says
 * whether the session is busy. */
static void note_arrival(struct session_transport *t)
{
    int64_t now = clock_now_us();

    t->gap_us = now - t->last_record_us;
    t->last_record_us = now;
}

/* One datagram from the session's socket, or from its inbox in the one-socket server
 * (whose datagrams are all its peer's), waiting when wait is set: up to the socket's
 * SO_RCVTIMEO, or t->wait_ms for an inbox. A stop makes either return 0. */
static ssize_t receive_one(struct session_transport *t, void *buf, size_t size,
                           struct udp_addr *from, int wait)
{
    ssize_t n;

    if (t->inbox == NULL)
        return wait ? udp_recv_wait(t->fd, buf, size, from)
                    : udp_recv(t->fd, buf, size, from, NULL);
    n = inbox_take(t->inbox, buf, size, wait ? clock_now_ms() + t->wait_ms : 0);
    if (n > 0)
        *from = *t->peer;
    return n;
}

/* No spin on an inbox: there the next datagram comes from the listener thread, which a
 * spinning session would keep off the CPU (8 sessions x 8 in flight, 2 cores: 66,000
 * echoes/s spinning, 87,000 not, the connected sockets' rate). */
static ssize_t receive_blocking(struct session_transport *t, void *buf, size_t size,
                                struct udp_addr *from)
{
    ssize_t n;
    int i;

    for (i = 0; t->inbox == NULL && t->gap_us < BUSY_GAP_US && i < SPIN_ROUNDS; i++) {
        n = receive_one(t, buf, size, from, 0);
        if (n >= 0 || errno != EAGAIN)
            goto got;
        sched_yield();
    }
    n = receive_one(t, buf, size, from, 1);
got:
    note_arrival(t);
    return n;
}

/* The next datagram of the last recvmmsg, reading the next batch when it is used up. A
 * blocking session waits as receive_blocking does (a busy one looks a few times first),
 * then in recvmmsg itself, which returns what has queued once one datagram came. */
static ssize_t batch_receive(struct session_transport *t, void *buf, size_t size,
                             struct udp_addr *from)
{
    struct session_batch *b = t->batch;
    struct dgram_msg *m;
    size_t len, segment;
    unsigned char *data;
    int n, i;

    if (b->rx_next == b->rx_count) {
        for (i = 0; i < (int)b->rx_slots; i++) {
            b->rx[i].hdr.msg_namelen = sizeof(b->from[i]);
            b->rx_iov[i].iov_len = b->rx_slot_size;
            if (b->gro)
                b->rx[i].hdr.msg_controllen = DGRAM_CONTROL_SIZE;
        }
        n = dgram_recv_many(t->fd, b->rx, b->rx_slots, DGRAM_DONTWAIT);
        for (i = 0; n < 0 && errno == EAGAIN && t->blocking && t->gap_us < BUSY_GAP_US &&
                    i < SPIN_ROUNDS; i++) {
            sched_yield();
            n = dgram_recv_many(t->fd, b->rx, b->rx_slots, DGRAM_DONTWAIT);
        }
        if (n < 0 && errno == EAGAIN && t->blocking)
            n = dgram_recv_many(t->fd, b->rx, b->rx_slots, DGRAM_WAITFORONE);
        if (n <= 0)
            return n;
        if (t->blocking)
            note_arrival(t);
        b->rx_count = (unsigned)n;
        b->rx_next = 0;
        b->rx_off = 0;
    }
    /* One datagram of the read: all of it, or the next segment of a coalesced one. */
    m = &b->rx[b->rx_next];
    data = (unsigned char *)b->rx_iov[b->rx_next].iov_base + b->rx_off;
    len = m->len - b->rx_off;
    segment = b->gro ? dgram_segment_size(&m->hdr) : 0;
    if (segment > 0 && segment < len)
        len = segment;
    b->rx_off += len;
    if (b->rx_off >= m->len) {
        b->rx_next++;
        b->rx_off = 0;
    }
    memcpy(&from->ss, m->hdr.msg_name, m->hdr.msg_namelen);
    from->len = m->hdr.msg_namelen;
    if (len > size)
        len = size;
    memcpy(buf, data, len);
    return (ssize_t)len;
}

static ssize_t transport_pull(gnutls_transport_ptr_t ptr, void *buf, size_t size)
{
    struct session *s = ptr;
    struct session_transport *t = &s->transport;
    struct udp_addr from;
    ssize_t n;
    int i;

    if (t->pending_len > 0 && !t->halted) {
        size_t len = t->pending_len < size ? t->pending_len : size;
        memcpy(buf, t->pending, len);
        t->pending_len = 0;
        t->reads++;
        if (t->trace != NULL)
            trace(s, 0, buf, len);
        return (ssize_t)len;
    }
    /* Bounded: a burst of screened-out datagrams must not keep this thread here. */
    for (i = 0; i < PULL_BATCH && !t->halted; i++) {
        if (t->batch != NULL && t->inbox == NULL)
            n = batch_receive(t, buf, size, &from);
        else if (t->blocking)
            n = receive_blocking(t, buf, size, &from);
        else if (t->screen != NULL || t->inbox != NULL)
            n = receive_one(t, buf, size, &from, 0);
        else
            n = recv(t->fd, buf, size, MSG_DONTWAIT);
        /* shutdown(SHUT_RD) makes a waiting recvmsg return 0: the stop, not a datagram. */
        if (n <= 0 && session_stop_requested(s))
            break;
        t->last_errno = n < 0 ? errno : 0;
        if (n < 0)
            return -1;
        /* An empty datagram is no record, and UDP has no end of stream: skipped, not
         * passed on as one (nginx sends one when the replica behind it refused). */
        if (n == 0)
            continue;
        if (t->screen != NULL) {
            enum screen_verdict verdict = t->screen(t->screen_ctx, buf, (size_t)n, &from);
            if (verdict == SCREEN_SKIP)
                continue;
            if (verdict == SCREEN_HALT) {
                t->halted = 1;
                break;
            }
        }
        t->reads++;
        if (t->trace != NULL)
            trace(s, 0, buf, (size_t)n);
        return n;
    }
    errno = EAGAIN;
    return -1;
}

int session_transport_wait(struct session *s, int stop_fd, int ms)
{
    if (s->transport.inbox != NULL)
        return inbox_wait(s->transport.inbox, ms);
    return udp_wait(s->transport.fd, stop_fd, ms);
}

static int transport_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
    struct session *s = ptr;

    if (s->transport.halted)
        return 0;
    /* The buffered ClientHello is data GnuTLS has not read yet: say so, or the handshake
     * waits a whole retransmission period for a datagram that already came. */
    if (s->transport.pending_len > 0 ||
        (s->transport.batch != NULL && s->transport.batch->rx_next < s->transport.batch->rx_count))
        return 1;
    return session_transport_wait(s, -1, (int)ms) > 0;
}

void session_transport_init(struct session *s, int fd, struct inbox *inbox,
                            const struct udp_addr *peer, const struct udp_addr *local)
{
    memset(&s->transport, 0, sizeof(s->transport));
    s->transport.fd = fd;
    s->transport.inbox = inbox;
    s->transport.peer = peer;
    s->transport.local = local;
    s->transport.gap_us = BUSY_GAP_US; /* not busy until two records say so */
}

int session_set_wait(struct session *s, int64_t ms)
{
    if (s->transport.inbox == NULL)
        return platform_recv_timeout(s->transport.fd, ms);
    s->transport.wait_ms = ms;
    return 0;
}

void session_transport_attach(struct session *s)
{
    gnutls_transport_set_ptr(s->tls, s);
    gnutls_transport_set_vec_push_function(s->tls, transport_push);
    gnutls_transport_set_pull_function(s->tls, transport_pull);
    gnutls_transport_set_pull_timeout_function(s->tls, transport_pull_timeout);
}

void session_transport_free(struct session *s)
{
    if (s->transport.batch != NULL)
        free(s->transport.batch->gro_area);
    free(s->transport.batch);
    s->transport.batch = NULL;
    free(s->transport.trace);
    s->transport.trace = NULL;
}

/* The socket buffer is full: waits until it may take more, for at most timeout_ms from
 * the first call (*deadline_ms < 0: the clock is read only then). Returns OK to try
 * again, or TIMEOUT. */
enum session_status session_wait_writable(struct session *s, int64_t *deadline_ms,
                                          int timeout_ms)
{
    struct pollfd pfd = {.fd = s->transport.fd, .events = POLLOUT};

    if (*deadline_ms < 0)
        *deadline_ms = clock_now_ms() + timeout_ms;
    else if (clock_now_ms() >= *deadline_ms)
        return SESSION_TIMEOUT;
    if (timeout_ms <= 0)
        return SESSION_TIMEOUT;
    if (poll(&pfd, 1, clock_ms_until(*deadline_ms, SEND_POLL_MS)) < 0 && errno != EINTR)
        return SESSION_TIMEOUT;
    return SESSION_OK;
}

size_t session_pending(const struct session *s)
{
    const struct session_batch *b = s->transport.batch;

    return gnutls_record_check_pending(s->tls) + (b != NULL ? b->rx_count - b->rx_next : 0) +
           (s->transport.inbox != NULL ? inbox_count(s->transport.inbox) : 0);
}

int session_enable_batching(struct session *s)
{
    size_t path_mtu = gnutls_dtls_get_mtu(s->tls); /* the largest datagram, UDP payload */
    struct session_batch *b;
    unsigned i;

    b = calloc(1, sizeof(*b) + 2 * BATCH_SLOTS * path_mtu);
    if (b == NULL)
        return -1;
    b->slot_size = b->rx_slot_size = path_mtu;
    b->rx_slots = BATCH_SLOTS;
    for (i = 0; i < BATCH_SLOTS; i++) {
        b->rx_iov[i].iov_base = b->data + i * path_mtu;
        b->rx[i].hdr.msg_iov = &b->rx_iov[i];
        b->rx[i].hdr.msg_iovlen = 1;
        b->rx[i].hdr.msg_name = &b->from[i];
        b->tx_iov[i].iov_base = b->data + (BATCH_SLOTS + i) * path_mtu;
        b->tx[i].hdr.msg_iov = &b->tx_iov[i];
        b->tx[i].hdr.msg_iovlen = 1;
        if (s->transport.inbox != NULL) /* the shared socket: every datagram addressed */
            udp_msg_address(&b->tx[i].hdr, &b->source, s->transport.peer, s->transport.local);
    }
    s->transport.batch = b;
    return 0;
}

void session_enable_offloads(struct session *s, int *gso, int *gro)
{
    struct session_batch *b = s->transport.batch;
    unsigned i;

    *gso = *gro = 0;
    if (b == NULL || s->transport.inbox != NULL) /* batched, on a connected socket */
        return;
    b->gso = *gso = dgram_can_segment(s->transport.fd);
    /* The buffers first: a socket that coalesces must be read into 64 KiB. */
    if ((b->gro_area = malloc(GRO_SLOTS * GRO_SLOT_SIZE)) == NULL)
        return;
    if (dgram_enable_gro(s->transport.fd) < 0) {
        free(b->gro_area);
        b->gro_area = NULL;
        return;
    }
    for (i = 0; i < GRO_SLOTS; i++) {
        b->rx_iov[i].iov_base = b->gro_area + (size_t)i * GRO_SLOT_SIZE;
        b->rx[i].hdr.msg_control = b->rx_control[i];
    }
    b->rx_slots = GRO_SLOTS;
    b->rx_slot_size = GRO_SLOT_SIZE;
    b->gro = *gro = 1;
}

int session_batch_when_busy(struct session *s)
{
    if (s->transport.batch == NULL && s->transport.gap_us < BUSY_GAP_US &&
        session_enable_batching(s) < 0)
        return 0;
    return s->transport.batch != NULL;
}

void session_cork(struct session *s)
{
    if (s->transport.batch != NULL) {
        s->transport.batch->corked = 1;
        s->transport.batch->corker = pthread_self();
    }
}

enum session_status session_uncork(struct session *s)
{
    struct session_transport *t = &s->transport;
    int error;

    if (t->batch == NULL)
        return SESSION_OK;
    t->batch->corked = 0;
    if ((error = batch_flush(t)) == 0)
        return SESSION_OK;
    if (error == EAGAIN || error == ENOBUFS)
        return SESSION_AGAIN;
    if (error == ECONNREFUSED)
        return SESSION_REFUSED;
    s->error = GNUTLS_E_PUSH_ERROR;
    return SESSION_FATAL;
}

enum session_status session_flush(struct session *s, int timeout_ms)
{
    enum session_status status;
    int64_t deadline_ms = -1;

    while ((status = session_uncork(s)) == SESSION_AGAIN)
        if (session_wait_writable(s, &deadline_ms, timeout_ms) != SESSION_OK)
            return SESSION_TIMEOUT;
    return status;
}
