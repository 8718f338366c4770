/* SPDX-License-Identifier: MIT */
/* client.h - one client session: connect, handshake, send and check echoes, stdin mode;
 * with --tun, a tunnel (client_tunnel.c) over the same connection. */
#ifndef DTLS_ECHO_CLIENT_H
#define DTLS_ECHO_CLIENT_H

#include "credentials.h"
#include "options.h"
#include "rto.h"
#include "session.h"
#include "trace.h"
#include "udp.h"

#define RECENT_SENT 8         /* sent messages remembered, to spot their late duplicates */

/* Runs the client cfg describes until its messages are echoed, stdin ends, or stop_fd
 * becomes readable. Returns an enum exit_code. */
int client_run(const struct config *cfg, int stop_fd);

/* ---- shared by client.c and client_tunnel.c --------------------------------------- */

/* How a client run ends, before it is an exit code. */
enum client_outcome {
    OUTCOME_OK,
    OUTCOME_USAGE,        /* a setting that cannot work */
    OUTCOME_RUNTIME,      /* a file, a socket, stdout, the peer closed early */
    OUTCOME_HANDSHAKE,    /* the handshake or the verification failed */
    OUTCOME_TIMEOUT,      /* no answer */
    OUTCOME_MISMATCH,     /* an echo differed */
};

/* What --json reports of a one-shot client. */
struct client_report {
    int64_t start_us;         /* when the client started */
    int64_t handshake_us;     /* the last handshake: from the first ClientHello; 0: none */
    unsigned attempts;        /* handshake attempts (fresh sessions after a stall) */
    unsigned long echoes;     /* echoes received and checked */
    int64_t rtt_min_us, rtt_max_us, rtt_sum_us;
    int have_session;         /* what follows was filled by client_report_session */
    char version[16], suite[64], group[32], verification[48], alpn[64];
    const char *srtp_profile; /* NULL: none */
    char srtp_material[257];
    int resumed;
};

struct connection {
    const struct config *cfg;
    struct session session;
    int fd;
    struct udp_addr server;
    char server_text[UDP_ADDR_TEXT_MAX];
    struct trace trace;       /* --trace: when the client started */
    struct client_report report;
    struct credentials creds;
    gnutls_datum_t resume_data; /* the session to resume (--resume, a tunnel's reconnection) */
    size_t data_mtu;
    const char *host;         /* what -a named, for reconnections */
    int stop_fd;
    unsigned reconnects;      /* --reconnect: used so far */
    int will_retry;           /* a failed connection will be tried again: a warning */
    struct rto rto;           /* when to resend an unanswered message */
    unsigned char *recent[RECENT_SENT]; /* the last messages echoed, to spot late twins */
    size_t recent_len[RECENT_SENT];
    unsigned recent_next;
};

/* Resolves host and handshakes with each address it has until one completes (fresh
 * sessions after a stall; resuming conn->resume_data when set). Returns OK, or the
 * outcome with its error logged. */
enum client_outcome client_connect(struct connection *conn, const char *host, int stop_fd);

/* Keeps the session just made for the next handshake to resume (a session that fails
 * later may no longer give it). */
void client_keep_session(struct connection *conn);

/* Waits up to ms (0: just looks) for the stop. Returns 1 when it came. */
int client_stopped(int stop_fd, int ms);

/* Waits before reconnection attempt number attempt (from 0): 0.5 s, doubling up to 8 s.
 * Returns 1 when the stop came first. */
int client_backoff(int stop_fd, unsigned attempt);

/* Closes the session (close_notify when it was established) and its socket. */
void client_disconnect(struct connection *conn);

/* The transcript line: on stdout with --message, on stderr in stdin mode (stdout carries
 * only the echoes there). Returns 0, or -1 when stdout failed. */
int client_announce(const struct connection *conn, const char *line);

/* The outcome when stdout took no more: said once (nothing for a closed pipe). */
enum client_outcome client_stdout_failed(void);

/* client_echo.c: --message --count times, each echo checked. */
enum client_outcome client_send_messages(struct connection *conn);

/* client_echo.c: each line of stdin as one record, each echo to stdout raw, until stdin
 * ends (OK), the server closes first (RUNTIME: the rest was not sent) or the stop. */
enum client_outcome client_relay_stdin(struct connection *conn, int stop_fd);

/* client_echo.c: --heartbeat: one ping, answered by a pong, resent up to --retries
 * times. */
enum client_outcome client_heartbeat(struct connection *conn);

/* client_tunnel.c: --tun: the interface, the tunnel's request, and packets both ways
 * until the stop, reconnecting when the server goes silent. */
enum client_outcome client_tunnel_run(struct connection *conn, const char *host, int stop_fd);

/* --json (client_report.c): notes the session just made (version, suite, group, how the
 * server was verified, resumption, ALPN, SRTP). */
void client_report_session(struct connection *conn);

/* --json: prints the one JSON object of the run on stdout. Returns 0, or -1 when stdout
 * failed. */
int client_report_print(const struct connection *conn, int exit_code);

#endif
