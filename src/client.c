/* client.c - one client session: resolve, connect, handshake (with a hard deadline and
 * fresh sessions when it passes), then send --message --count times and check each echo,
 * or relay stdin lines like netcat. Ends with close_notify. */
#define _GNU_SOURCE
#include "client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dtls_helper.h"
#include "log.h"
#include "udp.h"

#define RECORD_BUFFER 16384
#define STDIN_BUFFER 16384
#define HEARTBEAT_SIZE 64

/* Outcomes besides the exit codes. */
enum { PEER_CLOSED = -1, STOPPED = -2, REFUSED = -3, HEARTBEAT_PONG = -4 };

struct connection;
static int heartbeat(struct connection *conn);

struct connection {
    const struct config *cfg;
    struct dtls_transport transport; /* the socket, and the errno of its last failure */
    int stop_fd;
    struct udp_addr server;
    char server_text[UDP_ADDR_TEXT_MAX];
    const char *verify_name;  /* --hostname, else -a */
    struct dtls_credentials creds;
    gnutls_session_t session;
    gnutls_datum_t resume_data; /* --resume: the first session, to resume */
    size_t data_mtu;
    unsigned char *previous;  /* the last message sent, to spot a late duplicate echo */
    size_t previous_len;
};

/* In stdin mode stdout carries only the echoes, so status lines go to stderr. */
static void announce(const struct connection *conn, const char *line)
{
    if (conn->cfg->message != NULL)
        log_out("%s", line);
    else
        log_info("%s", line);
}

static int session_new(struct connection *conn, unsigned attempt_ms)
{
    int rc;

    rc = dtls_client_session_new(&conn->creds, conn->verify_name, conn->cfg->mtu,
                                 &conn->server, conn->cfg->timeout_ms, attempt_ms,
                                 &conn->transport, &conn->session);
    if (rc == 0 && conn->resume_data.data != NULL &&
        (rc = gnutls_session_set_data(conn->session, conn->resume_data.data,
                                      conn->resume_data.size)) < 0) {
        gnutls_deinit(conn->session);
        conn->session = NULL;
    }
    if (rc < 0) {
        log_error("session setup: %s", gnutls_strerror(rc));
        return -1;
    }
    return 0;
}

static int refused(const struct connection *conn)
{
    return conn->transport.last_errno == ECONNREFUSED;
}

/* Closes the session (with close_notify when it was established) and its socket. */
static void disconnect(struct connection *conn, int established)
{
    dtls_client_close(&conn->session, &conn->transport, established, conn->server_text);
}

/* One handshake attempt under a hard deadline: a GnuTLS client handshake can stall with
 * every flight sent, so we never wait on GnuTLS alone. Returns EXIT_OK, EXIT_TIMEOUT,
 * EXIT_HANDSHAKE, REFUSED or STOPPED. */
static int handshake_once(struct connection *conn, int64_t deadline)
{
    int rc;

    for (;;) {
        rc = dtls_handshake(conn->session, &conn->transport.reads);
        if (rc == 0)
            return EXIT_OK;
        if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
            if (refused(conn))
                return REFUSED;
            if (dtls_now_ms() >= deadline)
                return EXIT_TIMEOUT;
            if (dtls_wait(conn->session, conn->transport.fd, conn->stop_fd, deadline) == 2)
                return STOPPED;
            continue;
        }
        if (refused(conn))
            return REFUSED;
        if (rc == GNUTLS_E_TIMEDOUT)
            return EXIT_TIMEOUT;
        if (gnutls_error_is_fatal(rc)) {
            dtls_log_failure(LOG_ERROR, conn->session, conn->server_text, "handshake failed",
                             rc);
            if (gnutls_alert_send_appropriate(conn->session, rc) < 0) /* tell the server why */
                log_debug("no alert sent");
            return EXIT_HANDSHAKE;
        }
        log_debug("handshake: %s", gnutls_strerror(rc));
    }
}

/* Handshakes with one resolved address, starting fresh sessions up to --retries times.
 * Each fresh session gets a fresh socket: a server still waiting in the stalled handshake
 * would ignore a new ClientHello from the same address and port. */
static int handshake_with(struct connection *conn, const struct addrinfo *ai)
{
    unsigned attempt_ms = conn->cfg->timeout_ms * DTLS_HANDSHAKE_ROUNDS;
    const char *hint = NULL;
    char err[256];
    unsigned attempt;
    int rc = EXIT_TIMEOUT;

    memcpy(&conn->server.ss, ai->ai_addr, ai->ai_addrlen);
    conn->server.len = ai->ai_addrlen;
    udp_addr_to_text(&conn->server, conn->server_text, sizeof(conn->server_text));
    for (attempt = 0; attempt <= conn->cfg->retries; attempt++) {
        conn->transport.fd = udp_open_client_socket(ai, err, sizeof(err));
        if (conn->transport.fd < 0) {
            log_error("%s: %s", conn->server_text, err);
            return EXIT_RUNTIME;
        }
        conn->transport.last_errno = 0;
        if (session_new(conn, attempt_ms + conn->cfg->timeout_ms) < 0)
            return EXIT_RUNTIME;
        rc = handshake_once(conn, dtls_now_ms() + attempt_ms);
        if (rc == EXIT_OK)
            return EXIT_OK;
        /* Loss can stall one attempt after our Finished; a wrong key stalls them all. */
        if (rc == EXIT_TIMEOUT)
            hint = attempt == 0 || hint != NULL ? dtls_stall_hint(conn->session, 0) : NULL;
        disconnect(conn, 0);
        if (rc != EXIT_TIMEOUT)
            break;
        if (attempt < conn->cfg->retries)
            log_info("%s: no handshake after %u ms, starting a fresh session (%u of %u)",
                     conn->server_text, attempt_ms, attempt + 1, conn->cfg->retries);
    }
    if (rc == EXIT_TIMEOUT && hint != NULL) {
        /* The server answered every flight but the last: not a timeout. */
        log_error("%s: handshake failed: %s", conn->server_text, hint);
        return EXIT_HANDSHAKE;
    }
    return rc;
}

/* Tries each address the name resolves to until one completes a handshake. */
static int connect_server(struct connection *conn, const char *host)
{
    struct addrinfo *list, *ai;
    char err[256];
    int rc = EXIT_TIMEOUT;

    if (udp_resolve(host, conn->cfg->port, 0, &list, err, sizeof(err)) < 0) {
        log_error("%s", err);
        return EXIT_RUNTIME;
    }
    for (ai = list; ai != NULL; ai = ai->ai_next) {
        rc = handshake_with(conn, ai);
        if (rc == REFUSED) {
            log_info("%s: connection refused (is a DTLS server listening there?)",
                     conn->server_text);
            continue;
        }
        if (rc != EXIT_TIMEOUT)
            break;
        log_info("%s: no answer within %u ms x %u attempts", conn->server_text,
                 conn->cfg->timeout_ms * DTLS_HANDSHAKE_ROUNDS, conn->cfg->retries + 1);
    }
    freeaddrinfo(list);
    if (rc == REFUSED || rc == EXIT_TIMEOUT) {
        log_error("no DTLS server answered at %s port %u", host, conn->cfg->port);
        return EXIT_TIMEOUT;
    }
    return rc;
}

/* Receives one record until deadline. Returns its length, or 0 on timeout, PEER_CLOSED,
 * STOPPED, REFUSED, HEARTBEAT_PONG, or -EXIT_RUNTIME on a fatal error. */
static ssize_t receive_record(struct connection *conn, unsigned char *buf, size_t size,
                              int64_t deadline)
{
    ssize_t rc;

    for (;;) {
        rc = gnutls_record_recv(conn->session, buf, size);
        if (rc > 0)
            return rc;
        if (rc == 0)
            return PEER_CLOSED;
        if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
            int64_t left = deadline - dtls_now_ms();
            if (refused(conn))
                return REFUSED;
            if (left <= 0)
                return 0;
            if (udp_wait(conn->transport.fd, conn->stop_fd, (int)left) == 2)
                return STOPPED;
            continue;
        }
        if (refused(conn))
            return REFUSED;
        if (rc == GNUTLS_E_HEARTBEAT_PONG_RECEIVED)
            return HEARTBEAT_PONG;
        if (rc == GNUTLS_E_HEARTBEAT_PING_RECEIVED) {
            if (gnutls_heartbeat_pong(conn->session, 0) < 0)
                log_debug("heartbeat pong not sent");
            continue;
        }
        if (gnutls_error_is_fatal((int)rc)) {
            dtls_log_failure(LOG_ERROR, conn->session, conn->server_text, "receive", (int)rc);
            return -EXIT_RUNTIME;
        }
        log_debug("receive: %s", gnutls_strerror((int)rc));
    }
}

static int send_record(struct connection *conn, const void *data, size_t len)
{
    int64_t deadline = dtls_now_ms() + conn->cfg->timeout_ms;
    ssize_t rc;

    for (;;) {
        rc = gnutls_record_send(conn->session, data, len);
        if (rc >= 0)
            return 0;
        if (refused(conn))
            return REFUSED;
        if ((rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED) || dtls_now_ms() >= deadline) {
            dtls_log_failure(LOG_ERROR, conn->session, conn->server_text, "send", (int)rc);
            return -1;
        }
        struct pollfd pfd = {.fd = conn->transport.fd, .events = POLLOUT};
        poll(&pfd, 1, 10);
    }
}

static void remember_sent(struct connection *conn, const void *data, size_t len)
{
    unsigned char *copy = realloc(conn->previous, len);

    if (copy == NULL)
        return;
    memcpy(copy, data, len);
    conn->previous = copy;
    conn->previous_len = len;
}

/* Receives the echo of data (len bytes) into echo until deadline. Some servers
 * (gnutls-serv --echo) send an echo back in several records: pieces are gathered, each
 * checked against what was sent, until the whole length came. Returns the bytes received
 * (fewer than len on a timeout after a partial echo, or at the first differing piece), 0
 * when nothing came, or a negative outcome. */
static ssize_t receive_echo(struct connection *conn, const unsigned char *data, size_t len,
                            unsigned char *echo, size_t echo_size, int64_t deadline)
{
    size_t got = 0;
    ssize_t n;

    for (;;) {
        n = receive_record(conn, echo + got, echo_size - got, deadline);
        if (n == HEARTBEAT_PONG)
            continue;
        if (n <= 0)
            return got > 0 && n == 0 ? (ssize_t)got : n;
        /* The late twin of the previous message's echo, after a resend: not ours. */
        if (got == 0 && conn->previous != NULL && (size_t)n == conn->previous_len &&
            memcmp(echo, conn->previous, (size_t)n) == 0 &&
            ((size_t)n != len || memcmp(echo, data, len) != 0)) {
            log_debug("ignored a late duplicate echo of the previous message");
            continue;
        }
        if (got + (size_t)n > len || memcmp(echo + got, data + got, (size_t)n) != 0)
            return (ssize_t)(got + (size_t)n);
        got += (size_t)n;
        if (got == len)
            return (ssize_t)got;
    }
}

/* Sends data and waits for its echo, resending it up to --retries times after --timeout.
 * Returns the echo's length in echo, or 0 when none came, or a negative outcome. */
static ssize_t exchange(struct connection *conn, const void *data, size_t len,
                        unsigned char *echo, size_t echo_size)
{
    unsigned attempt;
    ssize_t n;

    for (attempt = 0; attempt <= conn->cfg->retries; attempt++) {
        if (attempt > 0)
            log_info("no echo after %u ms, sending again (%u of %u)", conn->cfg->timeout_ms,
                     attempt, conn->cfg->retries);
        n = send_record(conn, data, len);
        if (n < 0)
            return n == REFUSED ? REFUSED : -EXIT_RUNTIME;
        n = receive_echo(conn, data, len, echo, echo_size,
                         dtls_now_ms() + conn->cfg->timeout_ms);
        if (n > 0) {
            remember_sent(conn, data, len);
            return n;
        }
        if (n < 0)
            return n;
    }
    return 0;
}

/* Maps a negative outcome of exchange() to an exit code, with its message. */
static int exchange_failure(struct connection *conn, ssize_t outcome, unsigned long done,
                            unsigned long total)
{
    switch (outcome) {
    case 0:
        log_error("%s: no echo after %u tries of %u ms", conn->server_text,
                  conn->cfg->retries + 1, conn->cfg->timeout_ms);
        return EXIT_TIMEOUT;
    case PEER_CLOSED:
        log_error("%s closed the connection after %lu of %lu echoes", conn->server_text, done,
                  total);
        return EXIT_RUNTIME;
    case STOPPED:
        log_error("interrupted");
        return EXIT_RUNTIME;
    case REFUSED:
        log_error("%s: connection refused: the server went away", conn->server_text);
        return EXIT_TIMEOUT;
    default:
        return EXIT_RUNTIME;
    }
}

static int send_messages(struct connection *conn)
{
    const char *message = conn->cfg->message;
    size_t len = strlen(message);
    unsigned char echo[RECORD_BUFFER];
    unsigned long i;
    ssize_t n;

    if (len > conn->data_mtu) {
        log_error("--message is %zu bytes, but at --mtu %u a record holds at most %zu",
                  len, conn->cfg->mtu, conn->data_mtu);
        return EXIT_USAGE;
    }
    for (i = 0; i < conn->cfg->count; i++) {
        n = exchange(conn, message, len, echo, sizeof(echo));
        if (n <= 0)
            return exchange_failure(conn, n, i, conn->cfg->count);
        log_out("- Received %zd bytes: %.*s", n, (int)n, (const char *)echo);
        if ((size_t)n != len || memcmp(echo, message, len) != 0) {
            log_error("echo %lu differs from the message sent (%zu bytes sent, %zd received)",
                      i + 1, len, n);
            return EXIT_MISMATCH;
        }
    }
    return EXIT_OK;
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

/* Sends each line of stdin as one record and writes each echo to stdout, raw. */
static int relay_stdin(struct connection *conn)
{
    unsigned char input[STDIN_BUFFER], echo[RECORD_BUFFER];
    size_t have = 0, chunk, limit = conn->data_mtu < sizeof(input) ? conn->data_mtu
                                                                     : sizeof(input);
    unsigned long lines = 0;
    int eof = 0, heartbeat_ms = conn->cfg->heartbeat_s ? (int)conn->cfg->heartbeat_s * 1000 : -1;
    ssize_t n;

    for (;;) {
        while ((chunk = next_chunk(input, have, limit, eof)) > 0) {
            n = exchange(conn, input, chunk, echo, sizeof(echo));
            if (n <= 0)
                return exchange_failure(conn, n, lines, lines + 1);
            if ((size_t)n != chunk || memcmp(echo, input, chunk) != 0) {
                log_error("echo of line %lu differs from what was sent", lines + 1);
                return EXIT_MISMATCH;
            }
            fwrite(echo, 1, (size_t)n, stdout);
            fflush(stdout);
            lines++;
            have -= chunk;
            memmove(input, input + chunk, have);
        }
        if (eof)
            return EXIT_OK;

        struct pollfd fds[3] = {
            {.fd = STDIN_FILENO, .events = POLLIN},
            {.fd = conn->transport.fd, .events = POLLIN},
            {.fd = conn->stop_fd, .events = POLLIN},
        };
        int ready = poll(fds, 3, heartbeat_ms);
        if (ready < 0 && errno != EINTR) {
            log_error("poll: %s", strerror(errno));
            return EXIT_RUNTIME;
        }
        if (ready == 0) {
            /* Idle for --heartbeat seconds: check that the server is still there. */
            int rc = heartbeat(conn);
            if (rc != EXIT_OK)
                return rc;
            continue;
        }
        if (fds[2].revents)
            return exchange_failure(conn, STOPPED, lines, lines);
        if (fds[1].revents) {
            /* Between lines: the server closing, or a stray late echo. */
            n = receive_record(conn, echo, sizeof(echo), dtls_now_ms());
            if (n == PEER_CLOSED) {
                log_info("- Peer has closed the DTLS connection");
                return EXIT_OK;
            }
            if (n > 0)
                log_debug("ignored a stray record of %zd bytes", n);
            else if (n < 0)
                return exchange_failure(conn, n, lines, lines);
        }
        if (fds[0].revents) {
            n = read(STDIN_FILENO, input + have, sizeof(input) - have);
            if (n < 0 && errno != EINTR && errno != EAGAIN) {
                log_error("read stdin: %s", strerror(errno));
                return EXIT_RUNTIME;
            }
            if (n == 0)
                eof = 1;
            if (n > 0)
                have += (size_t)n;
        }
    }
}

static void announce_handshake(struct connection *conn)
{
    if (conn->creds.have_pin)
        announce(conn, "The server's public key matches --pin-pubkey.");
    else if (conn->creds.verify_ca)
        announce(conn, "The certificate is trusted.");
    announce(conn, "- Handshake was completed");
    dtls_log_session(conn->session, NULL);
}

/* --resume: keeps the session just made, closes it, and resumes it on a new connection. */
static int resume_session(struct connection *conn, const char *host)
{
    int rc = gnutls_session_get_data2(conn->session, &conn->resume_data);

    if (rc < 0) {
        log_error("--resume: no session to resume: %s", gnutls_strerror(rc));
        return EXIT_HANDSHAKE;
    }
    disconnect(conn, 1);
    rc = connect_server(conn, host);
    if (rc != EXIT_OK)
        return rc;
    if (!gnutls_session_is_resumed(conn->session)) {
        log_error("--resume: the server did a full handshake instead of resuming");
        return EXIT_HANDSHAKE;
    }
    announce(conn, "- Session was resumed");
    return EXIT_OK;
}

/* --heartbeat: one ping, answered by a pong, resent up to --retries times. */
static int heartbeat(struct connection *conn)
{
    unsigned char record[RECORD_BUFFER];
    unsigned attempt;
    int64_t started = dtls_now_ms();
    ssize_t n = 0;

    /* This reflects our own request, not the server's answer (libgnutls does not say);
     * it is 0 only in a libgnutls built without heartbeat support. */
    if (!gnutls_heartbeat_allowed(conn->session, GNUTLS_HB_LOCAL_ALLOWED_TO_SEND)) {
        log_error("--heartbeat: the libgnutls here was built without heartbeat support "
                  "(RFC 6520)");
        return EXIT_RUNTIME;
    }
    for (attempt = 0; attempt <= conn->cfg->retries; attempt++) {
        int64_t deadline = dtls_now_ms() + conn->cfg->timeout_ms;
        /* GnuTLS takes its 16 bytes of padding out of this size, and asserts on an
         * empty payload (libgnutls 3.7.9, str.c:164): ask for more than the padding. */
        int rc = gnutls_heartbeat_ping(conn->session, HEARTBEAT_SIZE, 0, 0);
        if (rc < 0 && rc != GNUTLS_E_AGAIN) {
            log_error("--heartbeat: ping: %s", gnutls_strerror(rc));
            return EXIT_RUNTIME;
        }
        do
            n = receive_record(conn, record, sizeof(record), deadline);
        while (n > 0); /* a stray late echo */
        if (n == HEARTBEAT_PONG) {
            log_info("- Heartbeat pong received after %lld ms",
                     (long long)(dtls_now_ms() - started));
            return EXIT_OK;
        }
        if (n < 0)
            break;
    }
    if (n == 0)
        log_error("%s: no heartbeat pong after %u pings of %u ms: the server does not "
                  "answer heartbeats, or is gone", conn->server_text, conn->cfg->retries + 1,
                  conn->cfg->timeout_ms);
    return n == 0 ? EXIT_TIMEOUT : exchange_failure(conn, n, 0, 0);
}

int client_run(const struct config *cfg, int stop_fd)
{
    struct connection conn;
    const char *host = cfg->address ? cfg->address : "localhost";
    char err[512];
    int ret;

    memset(&conn, 0, sizeof(conn));
    conn.cfg = cfg;
    conn.transport.fd = -1;
    conn.stop_fd = stop_fd;
    conn.verify_name = cfg->hostname ? cfg->hostname : host;

    ret = dtls_credentials_load(cfg, conn.verify_name, &conn.creds, err, sizeof(err));
    if (ret != EXIT_OK) {
        log_error("%s", err);
        goto cleanup;
    }
    if (cfg->insecure)
        log_warn("--insecure: the server's certificate is not verified; anyone on the path "
                 "can impersonate it");
    if (cfg->anon)
        log_warn("--anon: nothing is authenticated; anyone on the path can read and change "
                 "the echoes");

    ret = connect_server(&conn, host);
    if (ret != EXIT_OK)
        goto cleanup;
    announce_handshake(&conn);
    if (cfg->resume && (ret = resume_session(&conn, host)) != EXIT_OK)
        goto cleanup;
    if (cfg->heartbeat_s > 0 && cfg->message != NULL && (ret = heartbeat(&conn)) != EXIT_OK)
        goto cleanup;
    conn.data_mtu = gnutls_dtls_get_data_mtu(conn.session);

    ret = cfg->message != NULL ? send_messages(&conn) : relay_stdin(&conn);
    disconnect(&conn, 1);

cleanup:
    disconnect(&conn, 0);
    dtls_credentials_free(&conn.creds);
    gnutls_free(conn.resume_data.data);
    free(conn.previous);
    return ret;
}
