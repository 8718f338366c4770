/* SPDX-License-Identifier: MIT */
/* load_worker.h - the load generator's state, shared by its set-up and summary (load.c)
 * and its workers' event loops (load_worker.c). */
#ifndef DTLS_ECHO_LOAD_WORKER_H
#define DTLS_ECHO_LOAD_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "credentials.h"
#include "load_report.h"
#include "options.h"
#include "platform.h"
#include "session.h"
#include "sockets.h"
#include "udp.h"

#define PATTERN_PERIOD 251      /* a prime: consecutive echoes start at different offsets */
#define HEADER_SIZE 8           /* session number, sequence number; both big-endian */
#define RECEIVE_BUFFER (LOAD_MAX_SIZE + 1024)

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
    struct poller *poller;   /* its sessions' sockets and the stop pipe (ptr NULL) */
    struct load_session *sessions;
    unsigned count;
    unsigned next_start;     /* sessions start in index order */
    unsigned live;           /* sessions not done */
    unsigned char buf[RECEIVE_BUFFER];
    struct load_counts counts;
    _Atomic unsigned long progress_handshakes, progress_echoes, progress_failures;
};

struct load {
    const struct config *cfg;
    struct credentials creds;
    struct addrinfo *servers;
    const struct addrinfo *server; /* the first address the name resolved to */
    struct udp_addr server_addr;
    char server_text[UDP_ADDR_TEXT_MAX];
    unsigned char pattern[PATTERN_PERIOD + LOAD_MAX_SIZE];
    int64_t start_us, end_us;  /* end_us 0: no --duration */
    int stop_fd;
    int done_fds[2];           /* each worker writes a byte when it ends */
    _Atomic int abort_code;    /* set by the first worker that must stop the run */
    _Atomic int stopped;       /* a signal came: end now, with the summary */
    struct worker *workers;
    unsigned nworkers;
};

/* A worker thread: runs its sessions until each is done, the run's end or a stop. */
void *load_worker_main(void *arg);

/* Closes a session of w (close_notify when its handshake was done) and its socket, which
 * leaves w's poller. */
void load_session_end(struct worker *w, struct load_session *s);

/* Ends the run with code, unless a worker did so first. */
void load_stop_run(struct load *load, int code);

#endif
