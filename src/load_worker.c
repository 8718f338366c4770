/* SPDX-License-Identifier: MIT */
/* load_worker.c - one worker of the load generator: an event loop (epoll on Linux, poll
 * elsewhere: platform.h's poller) over its sessions,
 * every one non-blocking, driven through the session engine: a handshake step when its
 * socket is readable or its retransmission timer fires, echoes sent up to --window in
 * flight, each echo checked byte for byte as it comes back. */
#define _GNU_SOURCE
#include "load_worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "clock.h"
#include "log.h"
#include "platform.h"

#define TIMER_TICK_US 2000      /* how often a worker checks its sessions' timers */
#define EVENTS_PER_WAIT 256

/* ---- payloads ------------------------------------------------------------------- */

static const unsigned char *expected_body(const struct load *load, uint32_t id, uint32_t seq)
{
    return load->pattern + (id * 7u + seq) % PATTERN_PERIOD;
}

/* ---- bookkeeping ---------------------------------------------------------------- */

static void fail(struct worker *w, enum failure kind)
{
    w->counts.failures[kind]++;
    atomic_fetch_add_explicit(&w->progress_failures, 1, memory_order_relaxed);
}

static int is_unlimited(const struct config *cfg)
{
    return cfg->duration_s > 0 && !cfg->count_set;
}

/* Closes the session (close_notify when its handshake was done) and its socket. */
void load_session_end(struct worker *w, struct load_session *s)
{
    session_close(&s->session);
    if (s->fd >= 0) {
        if (w->poller != NULL && poller_remove(w->poller, s->fd) < 0)
            log_debug("poller_remove: %s", strerror(errno));
        platform_close_socket(s->fd);
        s->fd = -1;
    }
}

static void finish(struct worker *w, struct load_session *s)
{
    load_session_end(w, s);
    s->phase = PHASE_DONE;
    w->live--;
}

/* Opens the socket and the session and sends the first ClientHello. Returns 0 or -1
 * (a local failure: logged, and the whole run stops). */
static int session_start(struct worker *w, struct load_session *s, int64_t now)
{
    struct load *load = w->load;
    const struct config *cfg = load->cfg;
    char err[256];
    int rc;

    s->fd = udp_open_client_socket(load->server, err, sizeof(err));
    if (s->fd < 0) {
        log_error("%s: %s", load->server_text, err);
        return -1;
    }
    if (poller_add(w->poller, s->fd, s) < 0) {
        log_error("poller_add: %s", strerror(errno));
        return -1;
    }
    s->start_us = now;
    s->in_flight = 0;
    s->partial_len = 0;
    if (cfg->plain) {
        s->phase = PHASE_ECHO;
        return 0;
    }
    struct session_params params = {
        .creds = &load->creds,
        .path_mtu = cfg->mtu,
        .peer = &load->server_addr,
        .retransmit_ms = cfg->timeout_ms,
        .total_ms = cfg->timeout_ms * SESSION_HANDSHAKE_ROUNDS,
        .server_name = options_server_name(cfg),
        .alpn = cfg->alpn,
        .srtp_profiles = cfg->srtp_profiles,
    };
    s->session.peer = load->server_text;
    s->session.stop_fd = -1;
    rc = session_open(&s->session, &params, s->fd);
    if (rc < 0) {
        log_error("session setup: %s", gnutls_strerror(rc));
        return -1;
    }
    s->phase = PHASE_HANDSHAKE;
    s->timer_us = now;
    if (w->counts.first_handshake_us == 0)
        w->counts.first_handshake_us = now;
    return 0;
}

void load_stop_run(struct load *load, int code)
{
    int expected = 0;

    atomic_compare_exchange_strong(&load->abort_code, &expected, code);
}

/* ---- echoes --------------------------------------------------------------------- */

static int send_echo(struct worker *w, struct load_session *s, int64_t now)
{
    struct load *load = w->load;
    size_t size = load->cfg->size;
    unsigned char *out = w->buf;
    struct slot *slot = s->slots;
    ssize_t rc;

    while (slot->sent_us != 0)  /* a free one exists: in_flight < window */
        slot++;
    put_be32(out, s->id);
    put_be32(out + 4, s->next_seq);
    memcpy(out + HEADER_SIZE, expected_body(load, s->id, s->next_seq), size - HEADER_SIZE);
    if (s->session.tls != NULL) {
        /* A past deadline: one try. A full buffer is retried by the timer tick. */
        enum session_status status = session_send(&s->session, out, size, 0);
        if (status == SESSION_TOO_LARGE) {
            log_error("--size %zu does not fit in a record at --mtu %u (at most %zu bytes)",
                      size, load->cfg->mtu, session_data_mtu(&s->session));
            load_stop_run(load, EXIT_USAGE);
            return -1;
        }
        rc = status == SESSION_OK ? (ssize_t)size : -1;
    } else {
        rc = send(s->fd, out, size, MSG_DONTWAIT);
        if (rc < 0 && errno == EMSGSIZE) {
            log_error("--size %zu does not fit in one datagram on this path", size);
            load_stop_run(load, EXIT_USAGE);
            return -1;
        }
    }
    if (rc < 0)
        return -1; /* a full socket buffer: the timer tick sends it later */
    slot->seq = s->next_seq++;
    slot->sent_us = now;
    s->in_flight++;
    if (w->counts.first_echo_us == 0)
        w->counts.first_echo_us = now;
    return 0;
}

/* Sends echoes until --window are in flight or the session has sent its share. */
static void fill_window(struct worker *w, struct load_session *s, int64_t now)
{
    const struct config *cfg = w->load->cfg;

    while (s->phase == PHASE_ECHO && s->in_flight < cfg->window && now >= s->next_send_us &&
           (is_unlimited(cfg) || s->done + s->in_flight < cfg->count)) {
        if (send_echo(w, s, now) < 0)
            return;
        if (cfg->interval_ms > 0)
            s->next_send_us = now + (int64_t)cfg->interval_ms * 1000;
    }
    if (s->phase == PHASE_ECHO && s->in_flight == 0 && !is_unlimited(cfg) &&
        s->done >= cfg->count)
        finish(w, s);
}

/* The window slot of the echo numbered seq, or NULL when it is not in flight. */
static struct slot *slot_of(struct load_session *s, unsigned window, uint32_t seq)
{
    unsigned i;

    for (i = 0; i < window; i++)
        if (s->slots[i].sent_us != 0 && s->slots[i].seq == seq)
            return &s->slots[i];
    return NULL;
}

/* One whole echo (len bytes in data): right, wrong, or late (its slot was counted lost,
 * or it is a duplicate). A wrong one whose numbers still name an echo in flight ends
 * that echo, so it is not counted lost as well. */
static void check_echo(struct worker *w, struct load_session *s, const unsigned char *data,
                       size_t len, int64_t now)
{
    struct load *load = w->load;
    size_t size = load->cfg->size;
    int ours = len >= HEADER_SIZE && get_be32(data) == s->id;
    uint32_t seq = ours ? get_be32(data + 4) : UINT32_MAX;
    struct slot *slot = ours ? slot_of(s, load->cfg->window, seq) : NULL;
    int right = ours && len == size && seq < s->next_seq &&
                memcmp(data + HEADER_SIZE, expected_body(load, s->id, seq),
                       size - HEADER_SIZE) == 0;
    int64_t sent_us;

    if (!right)
        fail(w, FAIL_WRONG_ECHO);
    if (slot == NULL) {
        if (right)
            w->counts.late++;
        return;
    }
    sent_us = slot->sent_us;
    slot->sent_us = 0;
    s->in_flight--;
    s->done++;
    if (!right)
        return;
    histogram_add(&w->counts.rtt_us, (uint64_t)(now - sent_us));
    w->counts.echoes++;
    w->counts.bytes += len;
    w->counts.last_echo_us = now;
    atomic_fetch_add_explicit(&w->progress_echoes, 1, memory_order_relaxed);
}

/* A record (or plain datagram) of len bytes: an echo, or a piece of one. */
static void on_record(struct worker *w, struct load_session *s, const unsigned char *data,
                      size_t len, int64_t now)
{
    size_t size = w->load->cfg->size;

    if (s->partial_len == 0 && len >= size) {
        check_echo(w, s, data, len, now);
        return;
    }
    if (s->partial == NULL && (s->partial = malloc(size)) == NULL) {
        fail(w, FAIL_WRONG_ECHO);
        return;
    }
    if (s->partial_len + len > size) {
        s->partial_len = 0;
        fail(w, FAIL_WRONG_ECHO);
        return;
    }
    memcpy(s->partial + s->partial_len, data, len);
    s->partial_len += len;
    if (s->partial_len == size) {
        s->partial_len = 0;
        check_echo(w, s, s->partial, size, now);
    }
}

/* Reads what the socket has: one datagram, and any records GnuTLS still holds from it.
 * The event loop is level-triggered, so more datagrams bring it back here. */
static void read_echoes(struct worker *w, struct load_session *s, int64_t now)
{
    enum session_status status;
    size_t len;
    ssize_t n;

    if (s->session.tls == NULL) {
        n = recv(s->fd, w->buf, sizeof(w->buf), MSG_DONTWAIT);
        if (n >= 0 && s->phase == PHASE_ECHO)
            on_record(w, s, w->buf, (size_t)n, now);
        else if (n < 0 && errno == ECONNREFUSED) {
            fail(w, FAIL_CLOSED);
            finish(w, s);
        }
        return;
    }
    do {
        status = session_recv(&s->session, w->buf, sizeof(w->buf), &len, NULL);
        switch (status) {
        case SESSION_OK:
            if (s->phase == PHASE_ECHO)
                on_record(w, s, w->buf, len, now);
            break;
        case SESSION_AGAIN:
            return;
        case SESSION_PING:
        case SESSION_PONG:
            break;
        default: /* closed by the server, refused, or a fatal error */
            if (status == SESSION_FATAL)
                session_log_failure(LOG_DEBUG, &s->session, "receive", s->session.error);
            fail(w, FAIL_CLOSED);
            finish(w, s);
            return;
        }
    } while (session_pending(&s->session) > 0);
}

/* ---- handshakes ----------------------------------------------------------------- */

/* After a handshake ended, done or failed: with --handshakes-only the session starts its
 * next one, on a fresh socket, until --count or the run's end; else a failed session is
 * over. Returns 1 when a new handshake is ready to send its ClientHello. */
static int next_handshake(struct worker *w, struct load_session *s, int64_t now)
{
    const struct config *cfg = w->load->cfg;

    if (!cfg->handshakes_only) {
        finish(w, s);
        return 0;
    }
    load_session_end(w, s); /* if it failed */
    s->done++;
    if (!is_unlimited(cfg) && s->done >= cfg->count) {
        s->phase = PHASE_DONE;
        w->live--;
        return 0;
    }
    if (session_start(w, s, now) < 0) {
        load_stop_run(w->load, EXIT_RUNTIME);
        return 0;
    }
    return 1;
}

/* Moves the handshake on; with --handshakes-only, the next one starts at once (its
 * ClientHello leaves now, not at the next timer tick). */
static void handshake_step(struct worker *w, struct load_session *s, int64_t now)
{
    const struct config *cfg = w->load->cfg;
    int64_t limit_us = (int64_t)cfg->timeout_ms * SESSION_HANDSHAKE_ROUNDS * 1000;

    do {
        switch (session_handshake_step(&s->session)) {
        case SESSION_OK:
            now = clock_now_us(); /* the call may have taken a while: CPU work, preemption */
            histogram_add(&w->counts.handshake_us, (uint64_t)(now - s->start_us));
            w->counts.handshakes++;
            w->counts.last_handshake_us = now;
            atomic_fetch_add_explicit(&w->progress_handshakes, 1, memory_order_relaxed);
            if (!cfg->handshakes_only) {
                s->phase = PHASE_ECHO;
                s->next_send_us = 0;
                fill_window(w, s, now);
                return;
            }
            load_session_end(w, s);
            break;
        case SESSION_AGAIN:
            if (now - s->start_us < limit_us) {
                s->timer_us = now + (int64_t)session_timeout_ms(&s->session) * 1000;
                return;
            }
            fail(w, FAIL_HANDSHAKE_TIMEOUT);
            break;
        case SESSION_REFUSED:
            fail(w, FAIL_REFUSED);
            break;
        case SESSION_FATAL:
            /* Every session fails alike (a wrong CA, a wrong key): say why once per worker. */
            if (w->counts.failures[FAIL_HANDSHAKE] == 0)
                session_log_failure(LOG_ERROR, &s->session, "handshake failed",
                                    s->session.error);
            fail(w, FAIL_HANDSHAKE);
            break;
        default: /* GnuTLS's own handshake limit */
            fail(w, FAIL_HANDSHAKE_TIMEOUT);
            break;
        }
    } while (next_handshake(w, s, now));
}

/* ---- the worker loop ------------------------------------------------------------ */

static void on_readable(struct worker *w, struct load_session *s, int64_t now)
{
    switch (s->phase) {
    case PHASE_HANDSHAKE:
        handshake_step(w, s, now);
        break;
    case PHASE_ECHO:
        read_echoes(w, s, now);
        fill_window(w, s, now);
        break;
    default:
        break;
    }
}

/* Retransmissions, lost echoes, --interval pauses and full socket buffers. */
static void check_timers(struct worker *w, int64_t now)
{
    const struct config *cfg = w->load->cfg;
    int64_t lost_after = (int64_t)cfg->timeout_ms * 1000;
    unsigned i, k;

    for (i = 0; i < w->next_start; i++) {
        struct load_session *s = &w->sessions[i];
        if (s->phase == PHASE_HANDSHAKE && now >= s->timer_us) {
            handshake_step(w, s, now);
        } else if (s->phase == PHASE_ECHO) {
            for (k = 0; k < cfg->window && s->in_flight > 0; k++) {
                struct slot *slot = &s->slots[k];
                if (slot->sent_us != 0 && now - slot->sent_us >= lost_after) {
                    slot->sent_us = 0;
                    s->in_flight--;
                    s->done++;
                    fail(w, FAIL_LOST_ECHO);
                }
            }
            fill_window(w, s, now);
        }
    }
}

/* Starts the sessions whose turn has come; returns microseconds until the next one. */
static int64_t start_due(struct worker *w, int64_t now)
{
    while (w->next_start < w->count) {
        struct load_session *s = &w->sessions[w->next_start];
        if (s->start_us > now)
            return s->start_us - now;
        w->next_start++;
        if (session_start(w, s, now) < 0) {
            load_stop_run(w->load, EXIT_RUNTIME);
            return 0;
        }
        if (s->phase == PHASE_HANDSHAKE)
            handshake_step(w, s, now); /* the first ClientHello */
        else
            fill_window(w, s, now);
    }
    return INT64_MAX;
}

void *load_worker_main(void *arg)
{
    struct worker *w = arg;
    struct load *load = w->load;
    void *ready[EVENTS_PER_WAIT];
    int64_t now = clock_now_us(), next_tick = now + TIMER_TICK_US;
    unsigned i;
    int n;

    while (w->live > 0 && !atomic_load(&load->abort_code) && !atomic_load(&load->stopped)) {
        int64_t wait_us = start_due(w, now);
        if (load->end_us != 0 && now >= load->end_us)
            break;
        if (wait_us > next_tick - now)
            wait_us = next_tick - now;
        n = poller_wait(w->poller, ready, EVENTS_PER_WAIT,
                        wait_us <= 0 ? 0 : (int)((wait_us + 999) / 1000));
        if (n < 0 && errno != EINTR) {
            log_error("poll: %s", strerror(errno));
            load_stop_run(load, EXIT_RUNTIME);
            break;
        }
        now = clock_now_us();
        for (i = 0; i < (unsigned)(n > 0 ? n : 0); i++) {
            if (ready[i] == NULL) { /* the stop pipe: a signal */
                atomic_store(&load->stopped, 1);
                break;
            }
            on_readable(w, ready[i], clock_now_us());
        }
        if (now >= next_tick) {
            check_timers(w, now);
            next_tick = now + TIMER_TICK_US;
        }
    }
    for (i = 0; i < w->count; i++) {
        if (w->sessions[i].phase == PHASE_HANDSHAKE)
            w->counts.unfinished++;
        if (w->sessions[i].phase != PHASE_DONE && w->sessions[i].phase != PHASE_WAITING)
            finish(w, &w->sessions[i]);
    }
    if (platform_pipe_write(load->done_fds[1], "x", 1) < 0)
        log_debug("worker done: %s", strerror(errno));
    return NULL;
}
