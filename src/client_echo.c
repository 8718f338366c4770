/* SPDX-License-Identifier: MIT */
/* client_echo.c - the client's echoes on an established session: --message --count
 * times with each echo checked, or stdin relayed line by line like netcat; resends after
 * a timeout measured from the round trip, late twins of an echo recognised, --heartbeat,
 * and with --reconnect a lost session replaced and the unechoed data sent again. */
#define _GNU_SOURCE
#include "client.h"
#include "sockets.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "platform.h"
#include "rto.h"
#include "session.h"

#define RECORD_BUFFER 16384
#define STDIN_BUFFER 16384

/* Remembers a message whose echo came, so that a late twin of it is known. */
static void remember_sent(struct connection *conn, const void *data, size_t len)
{
    unsigned i = conn->recent_next;
    unsigned char *copy = realloc(conn->recent[i], len);

    if (copy == NULL)
        return;
    memcpy(copy, data, len);
    conn->recent[i] = copy;
    conn->recent_len[i] = len;
    conn->recent_next = (i + 1) % RECENT_SENT;
}

/* Whether buf is the late twin of an earlier message's echo (a resend's second echo). */
static int is_late_twin(const struct connection *conn, const unsigned char *buf, size_t len)
{
    unsigned i;

    for (i = 0; i < RECENT_SENT; i++)
        if (conn->recent[i] != NULL && conn->recent_len[i] == len &&
            memcmp(conn->recent[i], buf, len) == 0)
            return 1;
    return 0;
}

/* Receives the echo of data (len bytes) into echo until deadline. Some servers
 * (gnutls-serv --echo) send an echo back in several records: pieces are gathered, each
 * checked against what was sent, until the whole length came. Returns OK with *got
 * bytes (fewer than len, or different, at the first differing piece), TIMEOUT (with a
 * partial *got), or what ended the session. */
static enum session_status receive_echo(struct connection *conn, const unsigned char *data,
                                        size_t len, unsigned char *echo, size_t echo_size,
                                        size_t *got, int64_t deadline)
{
    enum session_status status;
    size_t n;

    *got = 0;
    for (;;) {
        status = session_recv_until(&conn->session, echo + *got, echo_size - *got, &n,
                                    deadline);
        if (status == SESSION_PONG || status == SESSION_PING)
            continue;
        if (status != SESSION_OK)
            return status;
        if (*got == 0 && is_late_twin(conn, echo, n) && (n != len || memcmp(echo, data, len))) {
            log_debug("ignored a late duplicate echo of an earlier message");
            continue;
        }
        *got += n;
        if (*got >= len || memcmp(echo + *got - n, data + *got - n, n) != 0)
            return SESSION_OK;
    }
}

/* --json: one more echo came back after rtt_us (from its last sending). */
static void note_round_trip(struct client_report *report, int64_t rtt_us)
{
    if (report->echoes == 0 || rtt_us < report->rtt_min_us)
        report->rtt_min_us = rtt_us;
    if (rtt_us > report->rtt_max_us)
        report->rtt_max_us = rtt_us;
    report->rtt_sum_us += rtt_us;
    report->echoes++;
}

/* Sends data and waits for its echo, resending it up to --retries times, each after the
 * retransmission timeout (from the measured round trip, doubling on every resend up to
 * --timeout). Returns OK with *got bytes in echo, TIMEOUT, or what ended the session. */
static enum session_status exchange(struct connection *conn, const void *data, size_t len,
                                    unsigned char *echo, size_t echo_size, size_t *got)
{
    enum session_status status = SESSION_TIMEOUT;
    int64_t sent_us = 0;
    unsigned attempt, wait_ms;

    for (attempt = 0; attempt <= conn->cfg->retries; attempt++) {
        wait_ms = rto_backoff_ms(&conn->rto, attempt);
        if (attempt > 0)
            log_info("no echo after %u ms, sending again (%u of %u)",
                     rto_backoff_ms(&conn->rto, attempt - 1), attempt, conn->cfg->retries);
        sent_us = clock_now_us();
        status = session_send(&conn->session, data, len, (int)conn->cfg->timeout_ms);
        if (status != SESSION_OK)
            return status;
        status = receive_echo(conn, data, len, echo, echo_size, got,
                              clock_now_ms() + wait_ms);
        if (status == SESSION_OK || (status == SESSION_TIMEOUT && *got > 0)) {
            /* Karn's rule: a resent message's round trip says nothing certain. */
            if (attempt == 0)
                rto_sample(&conn->rto, clock_now_us() - sent_us);
            note_round_trip(&conn->report, clock_now_us() - sent_us);
            remember_sent(conn, data, len);
            return SESSION_OK;
        }
        if (status != SESSION_TIMEOUT)
            return status;
    }
    return status;
}

/* The outcome of an exchange that did not succeed, with its message. */
static enum client_outcome exchange_failure(struct connection *conn,
                                            enum session_status status, unsigned long done,
                                            unsigned long total)
{
    switch (status) {
    case SESSION_TIMEOUT:
        log_error("%s: no echo after %u tries", conn->server_text, conn->cfg->retries + 1);
        return OUTCOME_TIMEOUT;
    case SESSION_CLOSED:
        log_error("%s closed the connection after %lu of %lu echoes", conn->server_text, done,
                  total);
        return OUTCOME_RUNTIME;
    case SESSION_STOPPED:
        log_error("interrupted");
        return OUTCOME_RUNTIME;
    case SESSION_REFUSED:
        log_error("%s: connection refused: the server went away", conn->server_text);
        return OUTCOME_TIMEOUT;
    case SESSION_TOO_LARGE:
        log_error("%s: a record does not fit the data MTU of %zu bytes", conn->server_text,
                  conn->data_mtu);
        return OUTCOME_USAGE;
    case SESSION_FATAL:
        session_log_failure(LOG_ERROR, &conn->session, "session failed",
                            conn->session.error);
        return OUTCOME_RUNTIME;
    default:
        log_error("%s: %s", conn->server_text, session_status_name(status));
        return OUTCOME_RUNTIME;
    }
}

/* --reconnect: a new session after the last one died, resuming it where the server can.
 * Returns OK, or the outcome of the failed connection (logged). */
static enum client_outcome reconnect(struct connection *conn)
{
    enum client_outcome outcome = OUTCOME_TIMEOUT;

    client_disconnect(conn); /* its data was kept when it was made */
    /* A server that is not back yet is waited for, within the same count. */
    while (outcome == OUTCOME_TIMEOUT && conn->reconnects < conn->cfg->reconnect) {
        conn->reconnects++;
        conn->will_retry = conn->reconnects < conn->cfg->reconnect;
        log_info("%s: the session is lost; a new one (%u of %u)", conn->server_text,
                 conn->reconnects, conn->cfg->reconnect);
        if (client_backoff(conn->stop_fd, conn->reconnects - 1))
            return exchange_failure(conn, SESSION_STOPPED, 0, 0);
        outcome = client_connect(conn, conn->host, conn->stop_fd);
    }
    if (outcome != OUTCOME_OK)
        return outcome;
    client_keep_session(conn);
    conn->data_mtu = session_data_mtu(&conn->session);
    return client_announce(conn, gnutls_session_is_resumed(conn->session.tls)
                              ? "- Reconnected, the session resumed"
                              : "- Reconnected, with a full handshake") < 0
               ? client_stdout_failed() : OUTCOME_OK;
}

/* Whether a session that failed this way is worth a new one (--reconnect). */
static int lost(const struct connection *conn, enum session_status status)
{
    return conn->reconnects < conn->cfg->reconnect &&
           (status == SESSION_TIMEOUT || status == SESSION_CLOSED ||
            status == SESSION_REFUSED || status == SESSION_FATAL);
}

/* exchange(), and with --reconnect the same data again on a new session when the session
 * died: an echo is checked once, on the session that carried it. Returns like exchange,
 * or SESSION_STOPPED with *outcome when a reconnection failed. */
static enum session_status exchange_again(struct connection *conn, const void *data,
                                          size_t len, unsigned char *echo, size_t echo_size,
                                          size_t *got, enum client_outcome *outcome)
{
    enum session_status status;

    *outcome = OUTCOME_OK;
    while ((status = exchange(conn, data, len, echo, echo_size, got)) != SESSION_OK &&
           lost(conn, status))
        if ((*outcome = reconnect(conn)) != OUTCOME_OK)
            return SESSION_STOPPED;
    return status;
}

enum client_outcome client_send_messages(struct connection *conn)
{
    const char *message = conn->cfg->message;
    size_t len = strlen(message), got;
    unsigned char echo[RECORD_BUFFER];
    enum session_status status;
    enum client_outcome outcome;
    char prefix[48];
    unsigned long i;

    if (len > conn->data_mtu) { /* the cipher picked has more overhead than the lightest */
        log_error("--message is %zu bytes, but at --mtu %u a record holds at most %zu",
                  len, conn->cfg->mtu, conn->data_mtu);
        return OUTCOME_USAGE;
    }
    for (i = 0; i < conn->cfg->count; i++) {
        status = exchange_again(conn, message, len, echo, sizeof(echo), &got, &outcome);
        if (outcome != OUTCOME_OK)
            return outcome;
        if (status != SESSION_OK)
            return exchange_failure(conn, status, i, conn->cfg->count);
        snprintf(prefix, sizeof(prefix), "- Received %zu bytes: ", got);
        if (log_out_data(prefix, echo, got) < 0)
            return client_stdout_failed();
        if (got != len || memcmp(echo, message, len) != 0) {
            log_error("echo %lu differs from the message sent (%zu bytes sent, %zu received)",
                      i + 1, len, got);
            return OUTCOME_MISMATCH;
        }
    }
    return OUTCOME_OK;
}

/* Length of the next record to send from buf: a line, or as much as a record holds;
 * 0 when a partial line should wait for more input. */
static size_t next_chunk(const unsigned char *buf, size_t have, size_t limit, int eof)
{
    const unsigned char *newline = memchr(buf, '\n', have < limit ? have : limit);

    if (newline != NULL)
        return (size_t)(newline - buf) + 1;
    if (have >= limit || (eof && have > 0))
        return have < limit ? have : limit;
    return 0;
}

/* Writes an echo to stdout, raw: the data channel. Returns 0, or -1 when stdout failed. */
static int write_echo(const unsigned char *echo, size_t len)
{
    /* A short write leaves stdout's error flag set: the flush then reports it. */
    (void)fwrite(echo, 1, len, stdout);
    return log_stdout_flush();
}


/* Whether stdin has ended, asked without waiting: what it holds now is read into input
 * (*have bytes). A pipe whose writer is still there has not ended, however quiet. */
static int stdin_ended(int in, unsigned char *input, size_t size, size_t *have)
{
    struct pollfd pfd = {.fd = in, .events = POLLIN};
    ssize_t n;

    if (poll(&pfd, 1, 0) <= 0)
        return 0;
    n = platform_stdin_read(in, input, size);
    if (n > 0)
        *have = (size_t)n;
    return n == 0;
}

/* Sends each line of stdin as one record and writes each echo to stdout, raw. */
enum client_outcome client_relay_stdin(struct connection *conn, int stop_fd)
{
    unsigned char input[STDIN_BUFFER], echo[RECORD_BUFFER];
    size_t have = 0, chunk, got, limit = conn->data_mtu < sizeof(input) ? conn->data_mtu
                                                                           : sizeof(input);
    unsigned long lines = 0;
    int eof = 0, heartbeat_ms = conn->cfg->heartbeat_s ? (int)conn->cfg->heartbeat_s * 1000 : -1;
    enum session_status status;
    enum client_outcome outcome;
    ssize_t n;
    int in = platform_stdin_open(); /* POSIX: stdin itself; Windows: a reader thread's pipe */

    if (in < 0) {
        log_error("stdin: %s", strerror(errno));
        return OUTCOME_RUNTIME;
    }
    for (;;) {
        while ((chunk = next_chunk(input, have, limit, eof)) > 0) {
            status = exchange_again(conn, input, chunk, echo, sizeof(echo), &got, &outcome);
            if (outcome != OUTCOME_OK)
                return outcome;
            if (status != SESSION_OK)
                return exchange_failure(conn, status, lines, lines + 1);
            if (got != chunk || memcmp(echo, input, chunk) != 0) {
                log_error("echo of line %lu differs from what was sent", lines + 1);
                return OUTCOME_MISMATCH;
            }
            if (write_echo(echo, got) < 0)
                return OUTCOME_RUNTIME; /* stop sending at once: nobody reads the echoes */
            lines++;
            have -= chunk;
            memmove(input, input + chunk, have);
        }
        if (eof)
            return OUTCOME_OK;

        struct pollfd fds[3] = {
            {.fd = in, .events = POLLIN},
            {.fd = conn->fd, .events = POLLIN},
            {.fd = stop_fd, .events = POLLIN},
        };
        int ready = poll(fds, 3, heartbeat_ms);
        if (ready < 0 && errno != EINTR) {
            log_error("poll: %s", strerror(errno));
            return OUTCOME_RUNTIME;
        }
        if (ready == 0) {
            /* Idle for --heartbeat seconds: check that the server is still there. */
            outcome = client_heartbeat(conn);
            if (outcome != OUTCOME_OK)
                return outcome;
            continue;
        }
        if (fds[2].revents)
            return exchange_failure(conn, SESSION_STOPPED, lines, lines);
        if (fds[1].revents) {
            /* Between lines: the server closing, or a stray late echo. */
            status = session_recv(&conn->session, echo, sizeof(echo), &got, NULL);
            if (status == SESSION_CLOSED && lost(conn, status)) {
                log_info("- Peer has closed the DTLS connection");
                if ((outcome = reconnect(conn)) != OUTCOME_OK)
                    return outcome;
                continue;
            }
            if (status == SESSION_CLOSED) {
                log_info("- Peer has closed the DTLS connection");
                if (have == 0 && stdin_ended(in, input, sizeof(input), &have))
                    return OUTCOME_OK;
                log_error("%s closed the connection after %lu echo%s, before the end of "
                          "stdin: the rest was not sent", conn->server_text, lines,
                          lines == 1 ? "" : "es");
                return OUTCOME_RUNTIME;
            }
            if (status == SESSION_OK)
                log_debug("ignored a stray record of %zu bytes", got);
            else if (status != SESSION_AGAIN && status != SESSION_PING &&
                     status != SESSION_PONG)
                return exchange_failure(conn, status, lines, lines);
        }
        if (fds[0].revents) {
            n = platform_stdin_read(in, input + have, sizeof(input) - have);
            if (n < 0 && errno != EINTR && errno != EAGAIN) {
                log_error("read stdin: %s", strerror(errno));
                return OUTCOME_RUNTIME;
            }
            if (n == 0)
                eof = 1;
            if (n > 0)
                have += (size_t)n;
        }
    }
}

/* --heartbeat: one ping, answered by a pong, resent up to --retries times. */
enum client_outcome client_heartbeat(struct connection *conn)
{
    unsigned char record[RECORD_BUFFER];
    enum session_status status = SESSION_TIMEOUT;
    int64_t started = clock_now_ms();
    char line[80];
    unsigned attempt;
    size_t len;

    /* This reflects our own request, not the server's answer (libgnutls does not say);
     * it is 0 only in a libgnutls built without heartbeat support. */
    if (!gnutls_heartbeat_allowed(conn->session.tls, GNUTLS_HB_LOCAL_ALLOWED_TO_SEND)) {
        log_error("--heartbeat: the libgnutls here was built without heartbeat support "
                  "(RFC 6520)");
        return OUTCOME_RUNTIME;
    }
    for (attempt = 0; attempt <= conn->cfg->retries; attempt++) {
        int64_t deadline = clock_now_ms() + rto_backoff_ms(&conn->rto, attempt);
        if (session_ping(&conn->session) != SESSION_OK) {
            log_error("--heartbeat: ping: %s", gnutls_strerror(conn->session.error));
            return OUTCOME_RUNTIME;
        }
        do
            status = session_recv_until(&conn->session, record, sizeof(record), &len,
                                        deadline);
        while (status == SESSION_OK || status == SESSION_PING); /* a stray late echo */
        if (status == SESSION_PONG) {
            snprintf(line, sizeof(line), "- Heartbeat pong received after %lld ms",
                     (long long)(clock_now_ms() - started));
            return client_announce(conn, line) < 0 ? client_stdout_failed() : OUTCOME_OK;
        }
        if (status != SESSION_TIMEOUT)
            break;
    }
    if (status == SESSION_TIMEOUT) {
        log_error("%s: no heartbeat pong after %u pings: the server does not answer "
                  "heartbeats, or is gone", conn->server_text, conn->cfg->retries + 1);
        return OUTCOME_TIMEOUT;
    }
    return exchange_failure(conn, status, 0, 0);
}
