/* load.c - the load generator: dtls_echo -c --clients N.
 *
 * N sessions are dealt round-robin to worker threads (one per CPU by default, so the
 * generator drives the server's cores rather than queueing on its own). A worker runs one
 * epoll loop over its sessions, every one non-blocking: a handshake step when its socket
 * is readable or its retransmission timer fires, echoes sent up to --window in flight.
 * Every echo carries its session and sequence numbers and a pattern derived from them,
 * so each is checked byte for byte, and a lost, late or foreign one is told apart.
 * Latencies go into histograms; the workers' are merged into one summary at the end. */
#define _GNU_SOURCE
#include "load.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "clock.h"
#include "histogram.h"
#include "log.h"
#include "session.h"
#include "udp.h"

#define TIMER_TICK_US 2000      /* how often a worker checks its sessions' timers */
#define EVENTS_PER_WAIT 256
#define PATTERN_PERIOD 251      /* a prime: consecutive echoes start at different offsets */
#define HEADER_SIZE 8           /* session number, sequence number; both big-endian */
#define RECEIVE_BUFFER (LOAD_MAX_SIZE + 1024)

enum failure {
    FAIL_HANDSHAKE_TIMEOUT,
    FAIL_HANDSHAKE,
    FAIL_REFUSED,
    FAIL_LOST_ECHO,
    FAIL_WRONG_ECHO,
    FAIL_CLOSED,
    FAILURE_KINDS
};

static const char *const failure_text[FAILURE_KINDS] = {
    "handshake timeout", "handshake failed", "connection refused",
    "lost echo", "wrong echo", "closed by the server",
};
static const char *const failure_key[FAILURE_KINDS] = {
    "handshake_timeout", "handshake_failed", "refused", "lost_echo", "wrong_echo", "closed",
};

enum phase {
    PHASE_WAITING,   /* not started yet (--rate) */
    PHASE_HANDSHAKE,
    PHASE_ECHO,
    PHASE_DONE,
};

struct slot {
    uint32_t seq;
    int64_t sent_us;         /* 0: free */
};

struct load_session {
    int fd;                  /* its socket */
    struct session session;  /* session.tls NULL with --plain */
    enum phase phase;
    uint32_t id;
    unsigned long done;      /* echoes answered or lost; handshakes with --handshakes-only */
    uint32_t next_seq;
    unsigned in_flight;
    int64_t start_us;        /* when it is due to start, then when its handshake began */
    int64_t next_send_us;    /* --interval: not before then */
    int64_t timer_us;        /* handshake: when GnuTLS wants to retransmit */
    struct slot *slots;      /* --window of them */
    unsigned char *partial;  /* an echo arriving in pieces (gnutls-serv --echo splits) */
    size_t partial_len;
};

struct load;

struct worker {
    struct load *load;
    pthread_t thread;
    int epfd;
    struct load_session *sessions;
    unsigned count;
    unsigned next_start;     /* sessions start in index order */
    unsigned live;           /* sessions not done */
    unsigned char buf[RECEIVE_BUFFER];
    struct histogram handshake_us, rtt_us;
    unsigned long failures[FAILURE_KINDS];
    unsigned long late;      /* echoes of an echo already counted lost, or duplicates */
    unsigned long unfinished; /* handshakes under way when the run ended */
    unsigned long handshakes;
    unsigned long long echoes, bytes;
    int64_t first_handshake_us, last_handshake_us, first_echo_us, last_echo_us;
    _Atomic unsigned long progress_handshakes, progress_echoes, progress_failures;
};

struct load {
    const struct config *cfg;
    struct credentials creds;
    struct addrinfo *servers;
    const struct addrinfo *server; /* the first address the name resolved to */
    struct udp_addr server_addr;
    char server_text[UDP_ADDR_TEXT_MAX];
    const char *verify_name;
    unsigned char pattern[PATTERN_PERIOD + LOAD_MAX_SIZE];
    int64_t start_us, end_us;  /* end_us 0: no --duration */
    int stop_fd;
    int done_fds[2];           /* each worker writes a byte when it ends */
    _Atomic int abort_code;    /* set by the first worker that must stop the run */
    _Atomic int stopped;       /* a signal came: end now, with the summary */
    struct worker *workers;
    unsigned nworkers;
};

/* ---- payloads ------------------------------------------------------------------- */

static const unsigned char *expected_body(const struct load *load, uint32_t id, uint32_t seq)
{
    return load->pattern + (id * 7u + seq) % PATTERN_PERIOD;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- bookkeeping ---------------------------------------------------------------- */

static void fail(struct worker *w, enum failure kind)
{
    w->failures[kind]++;
    atomic_fetch_add_explicit(&w->progress_failures, 1, memory_order_relaxed);
}

static int is_unlimited(const struct config *cfg)
{
    return cfg->duration_s > 0 && !cfg->count_set;
}

/* Closes the session (close_notify when its handshake was done) and its socket. */
static void end_session(struct load_session *s)
{
    session_close(&s->session);
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

static void finish(struct worker *w, struct load_session *s)
{
    end_session(s);
    s->phase = PHASE_DONE;
    w->live--;
}

/* Opens the socket and the session and sends the first ClientHello. Returns 0 or -1
 * (a local failure: logged, and the whole run stops). */
static int session_start(struct worker *w, struct load_session *s, int64_t now)
{
    struct load *load = w->load;
    const struct config *cfg = load->cfg;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
    char err[256];
    int rc;

    s->fd = udp_open_client_socket(load->server, err, sizeof(err));
    if (s->fd < 0) {
        log_error("%s: %s", load->server_text, err);
        return -1;
    }
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
        log_error("epoll_ctl: %s", strerror(errno));
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
        .server_name = load->verify_name,
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
    if (w->first_handshake_us == 0)
        w->first_handshake_us = now;
    return 0;
}

static void stop_run(struct load *load, int code)
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
            stop_run(load, EXIT_USAGE);
            return -1;
        }
        rc = status == SESSION_OK ? (ssize_t)size : -1;
    } else {
        rc = send(s->fd, out, size, MSG_DONTWAIT);
        if (rc < 0 && errno == EMSGSIZE) {
            log_error("--size %zu does not fit in one datagram on this path", size);
            stop_run(load, EXIT_USAGE);
            return -1;
        }
    }
    if (rc < 0)
        return -1; /* a full socket buffer: the timer tick sends it later */
    slot->seq = s->next_seq++;
    slot->sent_us = now;
    s->in_flight++;
    if (w->first_echo_us == 0)
        w->first_echo_us = now;
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
            w->late++;
        return;
    }
    sent_us = slot->sent_us;
    slot->sent_us = 0;
    s->in_flight--;
    s->done++;
    if (!right)
        return;
    histogram_add(&w->rtt_us, (uint64_t)(now - sent_us));
    w->echoes++;
    w->bytes += len;
    w->last_echo_us = now;
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
 * The epoll loop is level-triggered, so more datagrams bring it back here. */
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
    end_session(s); /* if it failed */
    s->done++;
    if (!is_unlimited(cfg) && s->done >= cfg->count) {
        s->phase = PHASE_DONE;
        w->live--;
        return 0;
    }
    if (session_start(w, s, now) < 0) {
        stop_run(w->load, EXIT_RUNTIME);
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
            histogram_add(&w->handshake_us, (uint64_t)(now - s->start_us));
            w->handshakes++;
            w->last_handshake_us = now;
            atomic_fetch_add_explicit(&w->progress_handshakes, 1, memory_order_relaxed);
            if (!cfg->handshakes_only) {
                s->phase = PHASE_ECHO;
                s->next_send_us = 0;
                fill_window(w, s, now);
                return;
            }
            end_session(s);
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
            if (w->failures[FAIL_HANDSHAKE] == 0)
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
            stop_run(w->load, EXIT_RUNTIME);
            return 0;
        }
        if (s->phase == PHASE_HANDSHAKE)
            handshake_step(w, s, now); /* the first ClientHello */
        else
            fill_window(w, s, now);
    }
    return INT64_MAX;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct load *load = w->load;
    struct epoll_event events[EVENTS_PER_WAIT];
    int64_t now = clock_now_us(), next_tick = now + TIMER_TICK_US;
    unsigned i;
    int n;

    while (w->live > 0 && !atomic_load(&load->abort_code) && !atomic_load(&load->stopped)) {
        int64_t wait_us = start_due(w, now);
        if (load->end_us != 0 && now >= load->end_us)
            break;
        if (wait_us > next_tick - now)
            wait_us = next_tick - now;
        n = epoll_wait(w->epfd, events, EVENTS_PER_WAIT,
                       wait_us <= 0 ? 0 : (int)((wait_us + 999) / 1000));
        if (n < 0 && errno != EINTR) {
            log_error("epoll_wait: %s", strerror(errno));
            stop_run(load, EXIT_RUNTIME);
            break;
        }
        now = clock_now_us();
        for (i = 0; i < (unsigned)(n > 0 ? n : 0); i++) {
            if (events[i].data.ptr == NULL) { /* the stop pipe: a signal */
                atomic_store(&load->stopped, 1);
                break;
            }
            on_readable(w, events[i].data.ptr, clock_now_us());
        }
        if (now >= next_tick) {
            check_timers(w, now);
            next_tick = now + TIMER_TICK_US;
        }
    }
    for (i = 0; i < w->count; i++) {
        if (w->sessions[i].phase == PHASE_HANDSHAKE)
            w->unfinished++;
        if (w->sessions[i].phase != PHASE_DONE && w->sessions[i].phase != PHASE_WAITING)
            finish(w, &w->sessions[i]);
    }
    if (write(load->done_fds[1], "x", 1) < 0)
        log_debug("worker done: %s", strerror(errno));
    return NULL;
}

/* ---- set-up, progress and the summary -------------------------------------------- */

static unsigned worker_count(const struct config *cfg)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = cfg->threads ? cfg->threads : (unsigned)(cpus > 0 ? cpus : 1);

    return n < cfg->clients ? n : cfg->clients;
}

static int workers_setup(struct load *load)
{
    const struct config *cfg = load->cfg;
    unsigned i, k, n = worker_count(cfg);

    load->workers = calloc(n, sizeof(*load->workers));
    if (load->workers == NULL)
        return -1;
    load->nworkers = n;
    for (k = 0; k < n; k++)
        load->workers[k].epfd = -1; /* load_free closes only what was opened */
    for (k = 0; k < n; k++) {
        struct worker *w = &load->workers[k];
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        w->load = load;
        w->count = w->live = cfg->clients / n + (k < cfg->clients % n);
        w->sessions = calloc(w->count, sizeof(*w->sessions));
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (w->sessions == NULL || w->epfd < 0 ||
            epoll_ctl(w->epfd, EPOLL_CTL_ADD, load->stop_fd, &ev) < 0)
            return -1;
        for (i = 0; i < w->count; i++) {
            struct load_session *s = &w->sessions[i];
            unsigned id = i * n + k; /* round-robin: session id's start is id / --rate */
            s->id = id;
            s->fd = -1;
            s->start_us = cfg->rate ? load->start_us + (int64_t)id * 1000000 / cfg->rate
                                    : load->start_us;
            if ((s->slots = calloc(cfg->window, sizeof(*s->slots))) == NULL)
                return -1;
        }
    }
    return 0;
}

static void progress_line(const struct load *load, int64_t now)
{
    unsigned long handshakes = 0, echoes = 0, failures = 0;
    unsigned k;

    for (k = 0; k < load->nworkers; k++) {
        handshakes += atomic_load_explicit(&load->workers[k].progress_handshakes,
                                           memory_order_relaxed);
        echoes += atomic_load_explicit(&load->workers[k].progress_echoes, memory_order_relaxed);
        failures += atomic_load_explicit(&load->workers[k].progress_failures,
                                         memory_order_relaxed);
    }
    fprintf(stderr, "\r%6.1f s: %lu handshakes, %lu echoes, %lu failures ",
            (double)(now - load->start_us) / 1e6, handshakes, echoes, failures);
}

/* Everything the workers counted, merged. */
struct totals {
    struct histogram handshake_us, rtt_us;
    unsigned long failures[FAILURE_KINDS], failed, late, unfinished, handshakes;
    unsigned long long echoes, bytes;
    int64_t first_handshake_us, last_handshake_us, first_echo_us, last_echo_us;
};

static void earliest(int64_t *into, int64_t t)
{
    if (t != 0 && (*into == 0 || t < *into))
        *into = t;
}

static void latest(int64_t *into, int64_t t)
{
    if (t > *into)
        *into = t;
}

static void merge(const struct load *load, struct totals *t)
{
    unsigned k, f;

    memset(t, 0, sizeof(*t));
    for (k = 0; k < load->nworkers; k++) {
        const struct worker *w = &load->workers[k];
        histogram_merge(&t->handshake_us, &w->handshake_us);
        histogram_merge(&t->rtt_us, &w->rtt_us);
        for (f = 0; f < FAILURE_KINDS; f++) {
            t->failures[f] += w->failures[f];
            t->failed += w->failures[f];
        }
        t->late += w->late;
        t->unfinished += w->unfinished;
        t->handshakes += w->handshakes;
        t->echoes += w->echoes;
        t->bytes += w->bytes;
        earliest(&t->first_handshake_us, w->first_handshake_us);
        latest(&t->last_handshake_us, w->last_handshake_us);
        earliest(&t->first_echo_us, w->first_echo_us);
        latest(&t->last_echo_us, w->last_echo_us);
    }
}

static double per_second(unsigned long long count, int64_t from_us, int64_t to_us)
{
    return to_us > from_us ? (double)count * 1e6 / (double)(to_us - from_us) : 0.0;
}

static double ms(uint32_t us)
{
    return us / 1000.0;
}

static void print_summary(const struct load *load, const struct totals *t, double elapsed_s)
{
    const struct config *cfg = load->cfg;
    double hs_rate = per_second(t->handshakes, t->first_handshake_us, t->last_handshake_us);
    double echo_rate = per_second(t->echoes, t->first_echo_us, t->last_echo_us);
    double mb_rate = per_second(t->bytes, t->first_echo_us, t->last_echo_us) / 1e6;
    unsigned f;
    int first;

    if (cfg->json) {
        printf("{\"server\": \"%s\", \"mode\": \"%s\", \"clients\": %u, \"threads\": %u, "
               "\"size\": %u, \"window\": %u, \"elapsed_s\": %.3f, "
               "\"handshakes\": {\"count\": %lu, \"per_s\": %.1f, \"p50_ms\": %.3f, "
               "\"p99_ms\": %.3f, \"max_ms\": %.3f}, "
               "\"echoes\": {\"count\": %llu, \"per_s\": %.1f, \"mb_per_s\": %.3f, "
               "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f}, \"late_echoes\": %lu, "
               "\"unfinished_handshakes\": %lu, \"failures\": {",
               load->server_text, cfg->plain ? "plain" : "dtls", cfg->clients, load->nworkers,
               cfg->size, cfg->window, elapsed_s, t->handshakes, hs_rate,
               ms(histogram_percentile(&t->handshake_us, 50)),
               ms(histogram_percentile(&t->handshake_us, 99)), ms(t->handshake_us.max),
               t->echoes, echo_rate, mb_rate, ms(histogram_percentile(&t->rtt_us, 50)),
               ms(histogram_percentile(&t->rtt_us, 99)), ms(t->rtt_us.max), t->late,
               t->unfinished);
        for (f = 0; f < FAILURE_KINDS; f++)
            printf("\"%s\": %lu, ", failure_key[f], t->failures[f]);
        printf("\"total\": %lu}}\n", t->failed);
        return;
    }
    printf("%u %s session%s to %s over %u thread%s, %.3f s\n", cfg->clients,
           cfg->plain ? "plain UDP" : "DTLS", cfg->clients == 1 ? "" : "s", load->server_text,
           load->nworkers, load->nworkers == 1 ? "" : "s", elapsed_s);
    if (!cfg->plain)
        printf("handshakes: %lu, %.1f/s; latency p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
               t->handshakes, hs_rate, ms(histogram_percentile(&t->handshake_us, 50)),
               ms(histogram_percentile(&t->handshake_us, 99)), ms(t->handshake_us.max));
    if (!cfg->handshakes_only)
        printf("echoes: %llu of %u bytes, %.1f/s, %.3f MB/s; round trip p50 %.3f ms, "
               "p99 %.3f ms, max %.3f ms\n",
               t->echoes, cfg->size, echo_rate, mb_rate, ms(histogram_percentile(&t->rtt_us, 50)),
               ms(histogram_percentile(&t->rtt_us, 99)), ms(t->rtt_us.max));
    if (t->late > 0)
        printf("late or duplicate echoes (not counted): %lu\n", t->late);
    if (t->unfinished > 0)
        printf("handshakes still under way when the run ended: %lu\n", t->unfinished);
    if (t->failed == 0) {
        printf("failures: none\n");
        return;
    }
    printf("failures: %lu (", t->failed);
    for (f = 0, first = 1; f < FAILURE_KINDS; f++)
        if (t->failures[f] > 0) {
            printf("%s%s: %lu", first ? "" : ", ", failure_text[f], t->failures[f]);
            first = 0;
        }
    printf(")\n");
}

/* The exit code for what failed: the most telling kind wins. */
static int outcome(const struct totals *t)
{
    if (t->failures[FAIL_WRONG_ECHO] > 0)
        return EXIT_MISMATCH;
    if (t->failures[FAIL_HANDSHAKE] > 0)
        return EXIT_HANDSHAKE;
    if (t->failed > 0)
        return t->failures[FAIL_CLOSED] > 0 && t->failed == t->failures[FAIL_CLOSED]
                   ? EXIT_RUNTIME
                   : EXIT_TIMEOUT;
    if (t->handshakes == 0 && t->unfinished > 0)
        return EXIT_TIMEOUT; /* --duration ended before any handshake did */
    return EXIT_OK;
}

/* Waits for the workers that started, printing a progress line each second on a
 * terminal. */
static void wait_workers(struct load *load, unsigned started)
{
    int progress = isatty(STDERR_FILENO) && load->cfg->log_level >= LOG_INFO;
    unsigned ended = 0;
    char bytes[64];
    ssize_t n;

    while (ended < started) {
        struct pollfd pfd = {.fd = load->done_fds[0], .events = POLLIN};
        if (poll(&pfd, 1, 1000) > 0 && (n = read(load->done_fds[0], bytes, sizeof(bytes))) > 0)
            ended += (unsigned)n;
        if (progress)
            progress_line(load, clock_now_us());
    }
    if (progress)
        fprintf(stderr, "\n");
}

static void load_free(struct load *load)
{
    unsigned k, i;

    for (k = 0; load->workers != NULL && k < load->nworkers; k++) {
        struct worker *w = &load->workers[k];
        for (i = 0; w->sessions != NULL && i < w->count; i++) {
            end_session(&w->sessions[i]);
            free(w->sessions[i].slots);
            free(w->sessions[i].partial);
        }
        free(w->sessions);
        if (w->epfd >= 0)
            close(w->epfd);
    }
    free(load->workers);
    if (load->servers != NULL)
        freeaddrinfo(load->servers);
    if (load->done_fds[0] >= 0) {
        close(load->done_fds[0]);
        close(load->done_fds[1]);
    }
    credentials_free(&load->creds);
}

int load_run(const struct config *cfg, int stop_fd)
{
    struct load *load;
    struct totals totals;
    const char *host = cfg->address ? cfg->address : "localhost";
    char err[512];
    unsigned k, started = 0;
    size_t i;
    int ret = EXIT_RUNTIME;

    /* Large: the workers' receive buffers and histograms. */
    load = calloc(1, sizeof(*load));
    if (load == NULL) {
        log_error("out of memory");
        return EXIT_RUNTIME;
    }
    load->cfg = cfg;
    load->stop_fd = stop_fd;
    load->done_fds[0] = load->done_fds[1] = -1;
    load->verify_name = cfg->hostname ? cfg->hostname : host;
    for (i = 0; i < sizeof(load->pattern); i++)
        load->pattern[i] = (unsigned char)((i * 2654435761u) >> 13);

    if (!cfg->plain) {
        struct tls_settings tls;
        options_tls_settings(cfg, &tls);
        switch (credentials_load(&tls, &load->creds, err, sizeof(err))) {
        case CREDENTIALS_OK:
            break;
        case CREDENTIALS_BAD_SETTING:
            ret = EXIT_USAGE;
            /* fall through */
        case CREDENTIALS_BAD_FILE:
            log_error("%s", err);
            goto cleanup;
        }
    }
    if (udp_resolve(host, cfg->port, 0, &load->servers, err, sizeof(err)) < 0) {
        log_error("%s", err);
        goto cleanup;
    }
    load->server = load->servers;
    memcpy(&load->server_addr.ss, load->server->ai_addr, load->server->ai_addrlen);
    load->server_addr.len = load->server->ai_addrlen;
    udp_addr_to_text(&load->server_addr, load->server_text, sizeof(load->server_text));
    if (!cfg->plain && !cfg->handshakes_only) {
        size_t fit = credentials_max_record(&load->creds,
                                            cfg->mtu - udp_header_size(&load->server_addr));
        if (cfg->size > fit) {
            log_error("--size %u does not fit in a record at --mtu %u (at most %zu bytes)",
                      cfg->size, cfg->mtu, fit);
            ret = EXIT_USAGE;
            goto cleanup;
        }
    }
    if (udp_raise_fd_limit(cfg->clients + 64UL) < cfg->clients + 64UL)
        log_warn("the open-file limit is below what --clients %u needs", cfg->clients);
    if (pipe2(load->done_fds, O_CLOEXEC) < 0) {
        log_error("pipe: %s", strerror(errno));
        goto cleanup;
    }
    load->start_us = clock_now_us();
    if (cfg->duration_s > 0)
        load->end_us = load->start_us + (int64_t)cfg->duration_s * 1000000;
    if (workers_setup(load) < 0) {
        log_error("out of memory or descriptors for %u sessions", cfg->clients);
        goto cleanup;
    }
    for (k = 0; k < load->nworkers; k++, started++) {
        int rc = pthread_create(&load->workers[k].thread, NULL, worker_main, &load->workers[k]);
        if (rc != 0) {
            log_error("pthread_create: %s", strerror(rc));
            stop_run(load, EXIT_RUNTIME);
            break;
        }
    }
    wait_workers(load, started);
    for (k = 0; k < started; k++)
        pthread_join(load->workers[k].thread, NULL);

    merge(load, &totals);
    print_summary(load, &totals, (double)(clock_now_us() - load->start_us) / 1e6);
    ret = atomic_load(&load->abort_code);
    if (ret == 0)
        ret = outcome(&totals);
    if (log_stdout_flush() < 0 && ret == EXIT_OK)
        ret = EXIT_RUNTIME; /* the summary is the run's result: not written, not a success */

cleanup:
    load_free(load);
    free(load);
    return ret;
}
