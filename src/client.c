/* SPDX-License-Identifier: MIT */
/* client.c - one client session: resolve, connect, handshake (with a hard deadline and
 * fresh sessions when it passes), then send --message --count times and check each echo,
 * or relay stdin lines like netcat. Ends with close_notify. Every outcome is an enum
 * client_outcome until client_run maps it to the exit code. */
#define _GNU_SOURCE
#include "client.h"

#include <errno.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "keyfile.h"
#include "log.h"
#include "platform.h"
#include "rto.h"
#include "session.h"
#include "sockets.h"
#include "tunnel.h"
#include "udp.h"

#define SILENT_ATTEMPTS_MAX 4 /* handshake attempts when the server never answers */
#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 8000
#define SESSION_FILE_MAX 16384 /* a saved session: its ticket and parameters, a few KiB */
/* A session file: this line, then GnuTLS's session data (gnutls_session_get_data2). */
#define SESSION_FILE_MAGIC "dtls_echo session 1\n"
#define SESSION_FILE_MAGIC_LEN (sizeof(SESSION_FILE_MAGIC) - 1)

/* The transcript (-m mode) goes to stdout; in stdin mode stdout carries only the echoes,
 * so the same lines go to stderr. Returns -1 when stdout failed. */
int client_announce(const struct connection *conn, const char *line)
{
    if (conn->cfg->message != NULL)
        return log_out("%s", line);
    log_info("%s", line);
    return 0;
}

/* The outcome when stdout took no more: said once (nothing for a closed pipe). */
enum client_outcome client_stdout_failed(void)
{
    (void)log_stdout_flush();
    return OUTCOME_RUNTIME;
}

void client_keep_session(struct connection *conn)
{
    gnutls_free(conn->resume_data.data);
    conn->resume_data.data = NULL;
    conn->resume_data.size = 0;
    if (conn->cfg->srtp_profiles != NULL) /* never resumed: see session_open */
        return;
    if (gnutls_session_get_data2(conn->session.tls, &conn->resume_data) < 0)
        log_debug("no session data to resume later");
}

int client_stopped(int stop_fd, int ms)
{
    struct pollfd pfd = {.fd = stop_fd, .events = POLLIN};

    return poll(&pfd, 1, ms) > 0;
}

int client_backoff(int stop_fd, unsigned attempt)
{
    int ms = attempt >= 4 ? BACKOFF_MAX_MS : BACKOFF_FIRST_MS << attempt;

    log_info("reconnecting in %d ms", ms);
    return client_stopped(stop_fd, ms);
}

void client_disconnect(struct connection *conn)
{
    session_close(&conn->session);
    if (conn->fd >= 0) {
        platform_close_socket(conn->fd);
        conn->fd = -1;
    }
}

/* --print-cert: each certificate of the server's chain as GnuTLS's one-line summary
 * (subject, issuer, serial, key, signature, validity, pin-sha256) and PEM, on stdout;
 * a raw public key as its pin and PEM. Returns 0, or -1 when stdout failed. */
static int print_certificates(const struct connection *conn)
{
    gnutls_session_t tls = conn->session.tls;
    const gnutls_datum_t *chain;
    gnutls_datum_t summary = {NULL, 0}, pem = {NULL, 0};
    gnutls_x509_crt_t crt;
    unsigned count = 0, i;
    char pin[80];
    int rc = 0;

    chain = gnutls_certificate_get_peers(tls, &count);
    if (chain == NULL || count == 0)
        return log_out("The server presented no certificate.");
    if (gnutls_certificate_type_get2(tls, GNUTLS_CTYPE_PEERS) == GNUTLS_CRT_RAWPK) {
        if (credentials_peer_pin(tls, pin, sizeof(pin)) < 0 ||
            gnutls_pem_base64_encode2("PUBLIC KEY", &chain[0], &pem) < 0)
            return log_out("The server presented a raw public key that cannot be read.");
        rc = log_out("Raw public key: %s\n%.*s", pin, (int)pem.size - 1, (char *)pem.data);
        gnutls_free(pem.data);
        return rc;
    }
    for (i = 0; i < count && rc == 0; i++) {
        if (gnutls_x509_crt_init(&crt) < 0)
            return 0;
        if (gnutls_x509_crt_import(crt, &chain[i], GNUTLS_X509_FMT_DER) >= 0 &&
            gnutls_x509_crt_print(crt, GNUTLS_CRT_PRINT_ONELINE, &summary) >= 0 &&
            gnutls_pem_base64_encode2("CERTIFICATE", &chain[i], &pem) >= 0)
            rc = log_out("Certificate[%u]: %s\n%.*s", i, (char *)summary.data,
                         (int)pem.size - 1, (char *)pem.data);
        else
            rc = log_out("Certificate[%u]: cannot be read", i);
        gnutls_free(summary.data);
        gnutls_free(pem.data);
        summary.data = pem.data = NULL;
        gnutls_x509_crt_deinit(crt);
    }
    return rc;
}

/* Handshakes with one resolved address, starting fresh sessions when one stalls. Each
 * fresh session gets a fresh socket: a server still waiting in the stalled handshake
 * would ignore a new ClientHello from the same address and port. */
static enum session_status handshake_with(struct connection *conn, const struct addrinfo *ai,
                                          int stop_fd, int64_t deadline_ms)
{
    const struct config *cfg = conn->cfg;
    unsigned attempt_ms = cfg->timeout_ms * SESSION_HANDSHAKE_ROUNDS;
    unsigned attempts = 1 + (cfg->retries < SILENT_ATTEMPTS_MAX - 1 ? cfg->retries
                                                                  : SILENT_ATTEMPTS_MAX - 1);
    struct session *s = &conn->session;
    struct session_params params = {
        .creds = &conn->creds,
        .path_mtu = cfg->mtu,
        .peer = &conn->server,
        .retransmit_ms = cfg->timeout_ms,
        .total_ms = attempt_ms + cfg->timeout_ms,
        .server_name = options_server_name(cfg),
        .alpn_first = cfg->tun ? TUNNEL_ALPN : NULL,
        .alpn = cfg->alpn,
        .srtp_profiles = cfg->srtp_profiles,
        .trace = cfg->trace ? &conn->trace : NULL,
    };
    enum session_status status = SESSION_TIMEOUT;
    const char *hint = NULL;
    char err[256];
    unsigned attempt;
    int64_t attempt_end;
    int rc;

    memcpy(&conn->server.ss, ai->ai_addr, ai->ai_addrlen);
    conn->server.len = ai->ai_addrlen;
    udp_addr_to_text(&conn->server, conn->server_text, sizeof(conn->server_text));
    s->peer = conn->server_text;
    s->stop_fd = stop_fd;
    for (attempt = 0; attempt < attempts && clock_now_ms() < deadline_ms; attempt++) {
        conn->fd = udp_open_client_socket(ai, err, sizeof(err));
        if (conn->fd < 0) {
            log_error("%s: %s", conn->server_text, err);
            s->error = 0;
            return SESSION_FATAL;
        }
        if ((rc = session_open(s, &params, conn->fd)) < 0 ||
            (conn->resume_data.data != NULL &&
             (rc = gnutls_session_set_data(s->tls, conn->resume_data.data,
                                           conn->resume_data.size)) < 0)) {
            if (conn->resume_data.data != NULL && cfg->session_in != NULL)
                log_error("--session-in '%s' holds no session to resume: %s",
                          cfg->session_in, gnutls_strerror(rc));
            else
                log_error("session setup: %s", gnutls_strerror(rc));
            s->error = 0;
            return SESSION_FATAL;
        }
        conn->report.attempts++;
        conn->report.handshake_us = clock_now_us();
        attempt_end = clock_now_ms() + attempt_ms;
        status = session_handshake(s, attempt_end < deadline_ms ? attempt_end : deadline_ms);
        conn->report.handshake_us = clock_now_us() - conn->report.handshake_us;
        if (status == SESSION_OK)
            return SESSION_OK;
        conn->report.handshake_us = 0;
        if (status == SESSION_FATAL) {
            /* The chain that did not verify is the one a user wants to see. */
            if (cfg->print_cert && (s->error == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR ||
                                    s->error == GNUTLS_E_CERTIFICATE_ERROR))
                (void)print_certificates(conn); /* stdout's failure: the error says it */
            session_log_failure(LOG_ERROR, s, "handshake failed", s->error);
        }
        /* Loss can stall one attempt after our Finished; a wrong key stalls them all. A
         * PSK server that answered every flight but our Finished through a whole attempt
         * (its retransmission timer fired several times) holds another key: it drops a
         * Finished it cannot decrypt without a word, and it will not change its mind. */
        if (status == SESSION_TIMEOUT)
            hint = attempt == 0 || hint != NULL ? session_failure_hint(s, 0) : NULL;
        /* A stall in which the server answered deserves every retry (loss); silence, a
         * few (nothing may listen there): no answer at all is a timeout, not a hang. */
        if (s->transport.reads > 0)
            attempts = 1 + cfg->retries;
        if (hint != NULL && session_is_psk(s))
            attempts = attempt + 1;
        client_disconnect(conn);
        if (status != SESSION_TIMEOUT)
            break;
        if (attempt + 1 < attempts && clock_now_ms() < deadline_ms)
            log_info("%s: no handshake after %u ms, starting a fresh session (%u of %u)",
                     conn->server_text, attempt_ms, attempt + 1, attempts - 1);
    }
    if (status == SESSION_TIMEOUT && hint != NULL) {
        /* The server answered every flight but the last: not a timeout. */
        log_error("%s: handshake failed: %s", conn->server_text, hint);
        s->error = GNUTLS_E_TIMEDOUT;
        return SESSION_FATAL;
    }
    return status;
}

/* Whether --message fits one record on the path to ai with the lightest cipher the
 * priority allows; says why not. Checked before the handshake, which cannot help it. */
static int message_fits(const struct connection *conn, const struct addrinfo *ai)
{
    const struct config *cfg = conn->cfg;
    struct udp_addr to;
    size_t fit;

    if (cfg->message == NULL)
        return 1;
    memcpy(&to.ss, ai->ai_addr, ai->ai_addrlen);
    to.len = ai->ai_addrlen;
    fit = credentials_max_record(&conn->creds, cfg->mtu - udp_header_size(&to));
    if (strlen(cfg->message) <= fit)
        return 1;
    log_error("--message is %zu bytes, but at --mtu %u a record holds at most %zu",
              strlen(cfg->message), cfg->mtu, fit);
    return 0;
}

enum client_outcome client_connect(struct connection *conn, const char *host, int stop_fd)
{
    const struct config *cfg = conn->cfg;
    struct addrinfo *list, *ai;
    enum session_status status = SESSION_TIMEOUT;
    int64_t deadline_ms = clock_now_ms() + (int64_t)cfg->connect_timeout_s * 1000;
    int refused = 0;
    char err[256];

    if (udp_resolve(host, cfg->port, cfg->family, 0, &list, err, sizeof(err)) < 0) {
        log_error("%s", err);
        return OUTCOME_RUNTIME;
    }
    for (ai = list; ai != NULL; ai = ai->ai_next) {
        if (!message_fits(conn, ai)) {
            freeaddrinfo(list);
            return OUTCOME_USAGE;
        }
        if (clock_now_ms() >= deadline_ms)
            break;
        status = handshake_with(conn, ai, stop_fd, deadline_ms);
        refused |= status == SESSION_REFUSED;
        if (status == SESSION_REFUSED)
            log_info("%s: connection refused (is a DTLS server listening there?)",
                     conn->server_text);
        else if (status == SESSION_TIMEOUT)
            log_info("%s: no handshake", conn->server_text);
        else
            break;
    }
    freeaddrinfo(list);
    switch (status) {
    case SESSION_OK:
        if (cfg->json) /* the last session made, resumed or not, is the one reported */
            client_report_session(conn);
        return OUTCOME_OK;
    case SESSION_STOPPED:
        log_error("interrupted");
        return OUTCOME_RUNTIME;
    case SESSION_REFUSED:
    case SESSION_TIMEOUT:
        if (clock_now_ms() >= deadline_ms)
            snprintf(err, sizeof(err), " within %u s (--connect-timeout)",
                     cfg->connect_timeout_s);
        else
            snprintf(err, sizeof(err), "%s",
                     refused ? ": connection refused (nothing listens there)" : "");
        /* A reconnection that will be tried again warns; the last one is the error. */
        log_msg(conn->will_retry ? LOG_WARN : LOG_ERROR,
                "no DTLS server answered at %s port %u%s", host, cfg->port, err);
        return OUTCOME_TIMEOUT;
    default: /* FATAL: logged; error 0 means a local failure, not the handshake's */
        return conn->session.error != 0 ? OUTCOME_HANDSHAKE : OUTCOME_RUNTIME;
    }
}

static int announce_handshake(struct connection *conn)
{
    if (conn->creds.have_pin &&
        client_announce(conn, "The server's public key matches --pin-pubkey.") < 0)
        return -1;
    if (!conn->creds.have_pin && conn->creds.verify_ca &&
        client_announce(conn, "The certificate is trusted.") < 0)
        return -1;
    if (client_announce(conn, "- Handshake was completed") < 0)
        return -1;
    session_log_description(&conn->session, conn->cfg->message != NULL);
    if (conn->cfg->print_cert && print_certificates(conn) < 0)
        return -1;
    return 0;
}

/* --session-in: the saved session becomes the one to resume. Returns 0, or -1 (logged). */
static int load_session(struct connection *conn)
{
    unsigned char data[SESSION_FILE_MAX];
    char err[512];
    size_t len;

    if (keyfile_read_private(conn->cfg->session_in, data, sizeof(data), &len, err,
                             sizeof(err)) < 0) {
        log_error("--session-in: %s", err);
        return -1;
    }
    if (len <= SESSION_FILE_MAGIC_LEN || len == sizeof(data) ||
        memcmp(data, SESSION_FILE_MAGIC, SESSION_FILE_MAGIC_LEN) != 0) {
        log_error("--session-in '%s' is not a dtls_echo session file (--session-out writes "
                  "them; openssl's -sess_out and gnutls-cli's files are other formats)",
                  conn->cfg->session_in);
        return -1;
    }
    len -= SESSION_FILE_MAGIC_LEN;
    conn->resume_data.data = gnutls_malloc(len);
    if (conn->resume_data.data == NULL) {
        log_error("out of memory for the saved session");
        return -1;
    }
    memcpy(conn->resume_data.data, data + SESSION_FILE_MAGIC_LEN, len);
    conn->resume_data.size = (unsigned)len;
    gnutls_memset(data, 0, sizeof(data));
    return 0;
}

/* --session-out: saves the session just made (its ticket and secrets), mode 0600.
 * Returns 0, or -1 (logged). */
static int save_session(struct connection *conn)
{
    gnutls_datum_t data = {NULL, 0};
    unsigned char file[SESSION_FILE_MAX];
    char err[512];
    int rc = gnutls_session_get_data2(conn->session.tls, &data);

    if (rc < 0) {
        log_error("--session-out: no session to save: %s", gnutls_strerror(rc));
        return -1;
    }
    if (data.size >= sizeof(file) - SESSION_FILE_MAGIC_LEN) {
        log_error("--session-out: the session is too large to save (%u bytes)", data.size);
        gnutls_free(data.data);
        return -1;
    }
    /* The magic line first: a file of another tool is then named as such on reading. */
    memcpy(file, SESSION_FILE_MAGIC, SESSION_FILE_MAGIC_LEN);
    memcpy(file + SESSION_FILE_MAGIC_LEN, data.data, data.size);
    rc = keyfile_write_private(conn->cfg->session_out, file,
                               SESSION_FILE_MAGIC_LEN + data.size, err, sizeof(err));
    gnutls_memset(file, 0, sizeof(file));
    gnutls_memset(data.data, 0, data.size);
    gnutls_free(data.data);
    if (rc < 0)
        log_error("--session-out: %s", err);
    return rc;
}

/* --resume: keeps the session just made, closes it, and resumes it on a new connection. */
static enum client_outcome resume_session(struct connection *conn, const char *host,
                                          int stop_fd)
{
    enum client_outcome outcome;
    int rc = gnutls_session_get_data2(conn->session.tls, &conn->resume_data);

    if (rc < 0) {
        log_error("--resume: no session to resume: %s", gnutls_strerror(rc));
        return OUTCOME_HANDSHAKE;
    }
    client_disconnect(conn);
    outcome = client_connect(conn, host, stop_fd);
    if (outcome != OUTCOME_OK)
        return outcome;
    if (!gnutls_session_is_resumed(conn->session.tls)) {
        log_error("--resume: the server did a full handshake instead of resuming");
        return OUTCOME_HANDSHAKE;
    }
    return client_announce(conn, "- Session was resumed") < 0 ? client_stdout_failed()
                                                               : OUTCOME_OK;
}

static enum client_outcome client_session(struct connection *conn, const char *host,
                                          int stop_fd)
{
    const struct config *cfg = conn->cfg;
    struct tls_settings tls;
    enum client_outcome outcome;
    char err[512];

    options_tls_settings(cfg, &tls);
    switch (credentials_load(&tls, &conn->creds, err, sizeof(err))) {
    case CREDENTIALS_OK:
        break;
    case CREDENTIALS_BAD_SETTING:
        log_error("%s", err);
        return OUTCOME_USAGE;
    case CREDENTIALS_BAD_FILE:
        log_error("%s", err);
        return OUTCOME_RUNTIME;
    }
    if (cfg->system_trust)
        log_debug("verifying the server against the system's trust store (no --cafile, and "
                  "no %s here)", DEFAULT_CAFILE);
    else if (cfg->cafile != NULL)
        log_debug("verifying the server against %s", cfg->cafile);
    if (cfg->insecure)
        log_warn("--insecure: the server's certificate is not verified; anyone on the path "
                 "can impersonate it");
    if (cfg->anon)
        log_warn("--anon: nothing is authenticated; anyone on the path can read and change "
                 "the echoes");
    if (cfg->session_in != NULL && load_session(conn) < 0)
        return OUTCOME_RUNTIME;
    if (cfg->tun)
        return client_tunnel_run(conn, host, stop_fd);
    if ((outcome = client_connect(conn, host, stop_fd)) != OUTCOME_OK)
        return outcome;
    if (announce_handshake(conn) < 0)
        return client_stdout_failed();
    if (cfg->session_in != NULL &&
        client_announce(conn, gnutls_session_is_resumed(conn->session.tls)
                           ? "- Session was resumed"
                           : "- Session was not resumed: a full handshake") < 0)
        return client_stdout_failed();
    if (cfg->session_out != NULL && save_session(conn) < 0)
        return OUTCOME_RUNTIME;
    if (cfg->resume && (outcome = resume_session(conn, host, stop_fd)) != OUTCOME_OK)
        return outcome;
    if (cfg->reconnect > 0)
        client_keep_session(conn);
    if (cfg->heartbeat_s > 0 && cfg->message != NULL &&
        (outcome = client_heartbeat(conn)) != OUTCOME_OK)
        return outcome;
    conn->data_mtu = session_data_mtu(&conn->session);
    return cfg->message != NULL ? client_send_messages(conn)
                                : client_relay_stdin(conn, stop_fd);
}

int client_run(const struct config *cfg, int stop_fd)
{
    static const int exit_code[] = {
        [OUTCOME_OK] = EXIT_OK,           [OUTCOME_USAGE] = EXIT_USAGE,
        [OUTCOME_RUNTIME] = EXIT_RUNTIME, [OUTCOME_HANDSHAKE] = EXIT_HANDSHAKE,
        [OUTCOME_TIMEOUT] = EXIT_TIMEOUT, [OUTCOME_MISMATCH] = EXIT_MISMATCH,
    };
    struct connection conn;
    const char *host = cfg->address ? cfg->address : "localhost";
    enum client_outcome outcome;
    unsigned i;

    if (cfg->json) /* stdout holds the one JSON object */
        log_transcript_to_stderr();
    memset(&conn, 0, sizeof(conn));
    conn.cfg = cfg;
    conn.fd = -1;
    conn.report.start_us = conn.trace.origin_us = clock_now_us();
    conn.host = host;
    conn.stop_fd = stop_fd;
    rto_init(&conn.rto, cfg->timeout_ms);

    outcome = client_session(&conn, host, stop_fd);
    if (cfg->json && client_report_print(&conn, exit_code[outcome]) < 0 && outcome == OUTCOME_OK)
        outcome = OUTCOME_RUNTIME;
    client_disconnect(&conn);
    credentials_free(&conn.creds);
    gnutls_free(conn.resume_data.data);
    for (i = 0; i < RECENT_SENT; i++)
        free(conn.recent[i]);
    return exit_code[outcome];
}
