/* SPDX-License-Identifier: MIT */
/* session.c - the session engine: set-up, handshake, bounded send, receive, close, and
 * the words for what went wrong. The only place that calls gnutls_handshake. Its
 * transport, what GnuTLS's push and pull functions do on the socket, is
 * session_transport.c. */
#define _GNU_SOURCE
#include "session.h"

#include <errno.h>
#include <gnutls/x509.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "session_transport.h"
#include "sockets.h"
#include "trace.h"

#define HANDSHAKE_CALLS 4     /* gnutls_handshake calls per step while datagrams are consumed */
#define CLOSE_TRIES 10        /* close_notify: tries, 1 ms apart, while the buffer is full */
#define HEARTBEAT_SIZE 64     /* a heartbeat ping's payload and padding */


const char *session_status_name(enum session_status status)
{
    static const char *const names[] = {
        "ok", "again", "closed", "timeout", "stopped", "halted", "refused", "too large",
        "ping", "pong", "fatal",
    };

    return (unsigned)status < sizeof(names) / sizeof(names[0]) ? names[status] : "?";
}

static void gnutls_log_line(int level, const char *text)
{
    size_t len = strlen(text);

    /* GnuTLS's lines end in a newline of their own. */
    if (len > 0 && text[len - 1] == '\n')
        len--;
    log_trace("gnutls[%d]: %.*s", level, (int)len, text);
}

int session_global_init(int log_level, char *err, size_t err_size)
{
    int rc = gnutls_global_init();

    if (rc < 0)
        return errorf(err, err_size, "gnutls_global_init: %s", gnutls_strerror(rc));
    if (log_level > LOG_TRACE) {
        gnutls_global_set_log_function(gnutls_log_line);
        gnutls_global_set_log_level(log_level - LOG_TRACE + 2);
    }
    return 0;
}

void session_global_deinit(void)
{
    gnutls_global_deinit();
}

static int is_ip_literal(const char *name)
{
    unsigned char addr[16];

    return inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
}

/* SNI, ALPN and DTLS-SRTP, as params ask. Returns 0, or a negative GnuTLS code. */
static int set_extensions(gnutls_session_t tls, const struct session_params *params)
{
    const struct credentials *creds = gnutls_session_get_ptr(tls);
    gnutls_datum_t protocols[SESSION_ALPN_MAX];
    const char *p = params->alpn, *error_at;
    unsigned count = 0;
    size_t len;
    int rc;

    if (params->server_name != NULL && !is_ip_literal(params->server_name) &&
        (rc = gnutls_server_name_set(tls, GNUTLS_NAME_DNS, params->server_name,
                                     strlen(params->server_name))) < 0)
        return rc;
    if (params->alpn_first != NULL) {
        protocols[count].data = (unsigned char *)params->alpn_first;
        protocols[count++].size = (unsigned)strlen(params->alpn_first);
    }
    while (p != NULL && *p != '\0' && count < SESSION_ALPN_MAX) {
        len = strcspn(p, ",");
        protocols[count].data = (unsigned char *)p;
        protocols[count++].size = (unsigned)len;
        p += len + (p[len] == ',');
    }
    /* A server given --alpn refuses a client that offers only other protocols (RFC 7301:
     * no_application_protocol); the tunnel's alone leaves echo clients welcome. */
    if (count > 0 &&
        (rc = gnutls_alpn_set_protocols(tls, protocols, count,
                                        creds->server && params->alpn != NULL
                                            ? GNUTLS_ALPN_MANDATORY : 0)) < 0)
        return rc;
    if (params->srtp_profiles != NULL &&
        (rc = gnutls_srtp_set_profile_direct(tls, params->srtp_profiles, &error_at)) < 0)
        return rc;
    return 0;
}

int session_open(struct session *s, const struct session_params *params, int fd)
{
    /* GnuTLS 3.7.9 saves a DTLS-SRTP session's SRTP data in one order and reads it back in
     * another (lib/ext/srtp.c), corrupting memory: such a session is never resumed, so no
     * ticket is issued or read (the client is refused --resume and the session files). */
    unsigned flags = GNUTLS_DATAGRAM | GNUTLS_NONBLOCK |
                     (params->creds->server ? GNUTLS_SERVER : GNUTLS_CLIENT) |
                     (params->srtp_profiles != NULL ? GNUTLS_NO_TICKETS : 0);
    int rc;

    session_transport_init(s, fd, params->inbox, params->peer, params->local);
    s->established = 0;
    s->error = 0;
    s->alpn = params->alpn;
    rc = credentials_session_new(params->creds, flags, &s->tls);
    if (rc < 0) {
        s->tls = NULL;
        return rc;
    }
    if ((rc = set_extensions(s->tls, params)) < 0) {
        gnutls_deinit(s->tls);
        s->tls = NULL;
        return rc;
    }
    if (params->trace != NULL) {
        if ((s->transport.trace = malloc(sizeof(*s->transport.trace))) == NULL) {
            gnutls_deinit(s->tls);
            s->tls = NULL;
            return GNUTLS_E_MEMORY_ERROR;
        }
        /* The server's lines are named by its peer (s->peer is set before the session). */
        trace_state_init(s->transport.trace, params->trace,
                         params->creds->server ? s->peer : NULL);
    }
    if (params->prestate != NULL)
        gnutls_dtls_prestate_set(s->tls, (gnutls_dtls_prestate_st *)params->prestate);
    /* gnutls_dtls_set_mtu counts the UDP payload: no IP or UDP header. */
    gnutls_dtls_set_mtu(s->tls, params->path_mtu - udp_header_size(params->peer));
    gnutls_dtls_set_timeouts(s->tls, params->retransmit_ms, params->total_ms);
    session_transport_attach(s);
    return 0;
}

/* ---- steps ----------------------------------------------------------------------- */

/* The status of a GnuTLS call that returned code < 0 (other than the heartbeats). */
static enum session_status failed(struct session *s, int code)
{
    if (s->transport.halted)
        return SESSION_HALTED;
    if (session_stop_requested(s))
        return SESSION_STOPPED;
    if (s->transport.last_errno == ECONNREFUSED)
        return SESSION_REFUSED;
    if (code == GNUTLS_E_TIMEDOUT)
        return SESSION_TIMEOUT;
    if (code == GNUTLS_E_AGAIN || code == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal(code))
        return SESSION_AGAIN;
    s->error = code;
    return SESSION_FATAL;
}

enum session_status session_handshake_step(struct session *s)
{
    unsigned before, calls = 0;
    enum session_status status;
    int rc;

    do {
        before = s->transport.reads;
        rc = gnutls_handshake(s->tls);
    } while (rc == GNUTLS_E_AGAIN && s->transport.reads != before && ++calls < HANDSHAKE_CALLS);
    if (rc == 0) {
        s->established = 1;
        credentials_keylog_resumed(s->tls);
        return SESSION_OK;
    }
    status = failed(s, rc);
    if (status == SESSION_AGAIN && rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED)
        log_debug("%s: handshake: %s", s->peer, gnutls_strerror(rc));
    /* GnuTLS sends no alert by itself; without one the peer waits out its timeout. */
    if (status == SESSION_FATAL && gnutls_alert_send_appropriate(s->tls, rc) < 0)
        log_debug("%s: no alert sent for: %s", s->peer, gnutls_strerror(rc));
    return status;
}

unsigned session_timeout_ms(const struct session *s)
{
    return gnutls_dtls_get_timeout(s->tls);
}

/* Waits up to ms for the socket or the stop descriptor. */
static enum session_status wait_readable(struct session *s, int ms)
{
    int rc = session_transport_wait(s, s->stop_fd, ms);

    if (rc == 2 || session_stop_requested(s))
        return SESSION_STOPPED;
    return SESSION_OK;
}

enum session_status session_handshake(struct session *s, int64_t deadline_ms)
{
    enum session_status status;

    for (;;) {
        status = session_handshake_step(s);
        if (status != SESSION_AGAIN)
            return status;
        if (clock_now_ms() >= deadline_ms)
            return SESSION_TIMEOUT;
        status = wait_readable(s, clock_ms_until(deadline_ms, (int)session_timeout_ms(s)));
        if (status != SESSION_OK)
            return status;
    }
}

enum session_status session_send(struct session *s, const void *data, size_t len,
                                 int timeout_ms)
{
    enum session_status status;
    int64_t deadline_ms = -1; /* read the clock only when the buffer is full */
    ssize_t rc;

    for (;;) {
        rc = gnutls_record_send(s->tls, data, len);
        if (rc >= 0)
            return SESSION_OK;
        if (rc == GNUTLS_E_LARGE_PACKET)
            return SESSION_TOO_LARGE;
        status = failed(s, (int)rc);
        if (status != SESSION_AGAIN)
            return status;
        if (session_wait_writable(s, &deadline_ms, timeout_ms) != SESSION_OK)
            return SESSION_TIMEOUT;
    }
}

enum session_status session_recv(struct session *s, void *buf, size_t size, size_t *len,
                                 unsigned char seq[8])
{
    unsigned char ignored[8];
    ssize_t rc;

    rc = gnutls_record_recv_seq(s->tls, buf, size, seq != NULL ? seq : ignored);
    if (rc > 0) {
        *len = (size_t)rc;
        return SESSION_OK;
    }
    if (rc == 0)
        return SESSION_CLOSED;
    if (rc == GNUTLS_E_HEARTBEAT_PONG_RECEIVED)
        return SESSION_PONG;
    if (rc == GNUTLS_E_HEARTBEAT_PING_RECEIVED) {
        if (!s->pong_later)
            session_pong(s);
        return SESSION_PING;
    }
    return failed(s, (int)rc);
}

enum session_status session_recv_until(struct session *s, void *buf, size_t size,
                                       size_t *len, int64_t deadline_ms)
{
    enum session_status status;

    for (;;) {
        status = session_recv(s, buf, size, len, NULL);
        if (status != SESSION_AGAIN)
            return status;
        if (clock_now_ms() >= deadline_ms)
            return SESSION_TIMEOUT;
        status = wait_readable(s, clock_ms_until(deadline_ms, -1));
        if (status != SESSION_OK)
            return status;
    }
}

void session_close(struct session *s)
{
    int rc = 0, tries;

    if (s->tls == NULL)
        return;
    for (tries = 0; s->established && tries < CLOSE_TRIES; tries++) {
        rc = gnutls_bye(s->tls, GNUTLS_SHUT_WR);
        if (rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED)
            break;
        usleep(1000);
    }
    /* The peer then learns of the end by its own timeout: worth a line at -v only. */
    if (rc < 0)
        log_debug("%s: close_notify not sent: %s", s->peer, gnutls_strerror(rc));
    gnutls_deinit(s->tls);
    s->tls = NULL;
    s->established = 0;
    session_transport_free(s);
}

size_t session_data_mtu(const struct session *s)
{
    return gnutls_dtls_get_data_mtu(s->tls);
}

enum session_status session_ping(struct session *s)
{
    /* GnuTLS takes its 16 bytes of padding out of this size, and asserts on an empty
     * payload (libgnutls 3.7.9, str.c:164): ask for more than the padding. */
    int rc = gnutls_heartbeat_ping(s->tls, HEARTBEAT_SIZE, 0, 0);

    if (rc < 0 && rc != GNUTLS_E_AGAIN) {
        s->error = rc;
        return SESSION_FATAL;
    }
    return SESSION_OK;
}

void session_pong(struct session *s)
{
    if (gnutls_heartbeat_pong(s->tls, 0) < 0)
        log_debug("%s: heartbeat pong not sent", s->peer);
}

void session_peer_identity(const struct session *s, char *out, size_t out_size)
{
    const gnutls_datum_t *certs;
    unsigned count = 0;
    gnutls_x509_crt_t crt;
    size_t dn_size;
    const char *psk;

    out[0] = '\0';
    switch (gnutls_auth_get_type(s->tls)) {
    case GNUTLS_CRD_PSK:
        psk = gnutls_psk_server_get_username(s->tls);
        if (psk != NULL)
            snprintf(out, out_size, "psk:%s", psk);
        return;
    case GNUTLS_CRD_CERTIFICATE:
        certs = gnutls_certificate_get_peers(s->tls, &count);
        if (certs == NULL || count == 0)
            return;
        if (gnutls_certificate_type_get2(s->tls, GNUTLS_CTYPE_PEERS) == GNUTLS_CRT_X509) {
            if (gnutls_x509_crt_init(&crt) < 0)
                return;
            snprintf(out, out_size, "x509:");
            dn_size = out_size - 5;
            if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) < 0 ||
                gnutls_x509_crt_get_dn(crt, out + 5, &dn_size) < 0)
                out[0] = '\0';
            gnutls_x509_crt_deinit(crt);
            return;
        }
        /* A raw public key: the key itself is who the peer is, as --pin-pubkey names it. */
        snprintf(out, out_size, "rawpk:");
        if (credentials_peer_pin(s->tls, out + 6, out_size - 6) < 0)
            out[0] = '\0';
        return;
    default:
        return;
    }
}

/* ---- words for what went wrong --------------------------------------------------- */

int session_is_psk(const struct session *s)
{
    gnutls_kx_algorithm_t kx = gnutls_kx_get(s->tls);

    return kx == GNUTLS_KX_PSK || kx == GNUTLS_KX_DHE_PSK || kx == GNUTLS_KX_ECDHE_PSK;
}

const char *session_failure_hint(const struct session *s, int code)
{
    const struct credentials *creds = gnutls_session_get_ptr(s->tls);
    int server = creds->server, psk = session_is_psk(s);
    gnutls_alert_description_t alert = gnutls_alert_get(s->tls);

    if (code == 0) {
        /* A stall after the key exchange: the peer's Finished never decrypted. DTLS drops
         * such records silently, so a wrong PSK key looks like loss. */
        if (server &&
            gnutls_handshake_get_last_in(s->tls) == GNUTLS_HANDSHAKE_CLIENT_KEY_EXCHANGE)
            return psk ? "the client's Finished never decrypted: wrong PSK key?"
                       : "the client's Finished never decrypted";
        if (!server && gnutls_handshake_get_last_out(s->tls) == GNUTLS_HANDSHAKE_FINISHED &&
            gnutls_handshake_get_last_in(s->tls) != GNUTLS_HANDSHAKE_FINISHED)
            return psk ? "the server never accepted our Finished: wrong PSK key?"
                       : "the server never accepted our Finished";
        return NULL;
    }
    if (code == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR &&
        (gnutls_session_get_verify_cert_status(s->tls) & GNUTLS_CERT_PURPOSE_MISMATCH))
        return server ? "certificate is not for client use (its extended key usage does not "
                        "name TLS WWW client)"
                      : "certificate is not for server use (its extended key usage does not "
                        "name TLS WWW server)";
    if (!server && (code == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR ||
                    code == GNUTLS_E_CERTIFICATE_ERROR))
        return "to trust this server, give the CA that issued its chain with --cafile, pin "
               "its key with --pin-pubkey (--print-cert shows both), or skip verification "
               "with --insecure";
    if (server && creds->require_client_cert && code == GNUTLS_E_NO_CERTIFICATE_FOUND)
        return "the client sent no certificate, and this server requires one";
    if (server && code == GNUTLS_E_NO_CIPHER_SUITES)
        return "the client offers no key exchange this server has credentials for "
               "(certificate, PSK, raw key or anonymous)";
    if (code == GNUTLS_E_FATAL_ALERT_RECEIVED && !server) {
        if (psk && (alert == GNUTLS_A_UNKNOWN_PSK_IDENTITY ||
                    alert == GNUTLS_A_INTERNAL_ERROR || alert == GNUTLS_A_DECRYPT_ERROR))
            return "the server does not know our PSK identity, or holds another key for it";
        if (!creds->own_cert && alert == GNUTLS_A_DECODE_ERROR)
            return "the server requires a client certificate, and we sent none";
        if (creds->own_cert && (alert == GNUTLS_A_BAD_CERTIFICATE ||
                                alert == GNUTLS_A_UNSUPPORTED_CERTIFICATE))
            return "the server refused our certificate: is it for client use, from a CA "
                   "the server trusts, and valid now?";
        if (alert == GNUTLS_A_NO_APPLICATION_PROTOCOL)
            return "the server accepts none of the ALPN protocols we offered (--alpn)";
        if ((alert == GNUTLS_A_HANDSHAKE_FAILURE || alert == GNUTLS_A_INSUFFICIENT_SECURITY) &&
            s->alpn != NULL) /* some stacks refuse an unknown protocol with this alert */
            return "the server refused the handshake: it may accept none of the ALPN "
                   "protocols we offered (--alpn), or want a PSK, a raw public key or "
                   "anonymous mode instead of a certificate";
        if (alert == GNUTLS_A_HANDSHAKE_FAILURE || alert == GNUTLS_A_INSUFFICIENT_SECURITY)
            return "the server has no authentication mode in common with us: it may want "
                   "a PSK, a raw public key or anonymous mode instead of a certificate";
    }
    return NULL;
}

/* GnuTLS's text for the certificate verification status of session. */
static void verify_status_text(gnutls_session_t tls, char *out, size_t out_size)
{
    gnutls_datum_t text = {NULL, 0};
    unsigned status = gnutls_session_get_verify_cert_status(tls);
    gnutls_certificate_type_t type = gnutls_certificate_type_get2(tls, GNUTLS_CTYPE_PEERS);

    if (gnutls_certificate_verification_status_print(status, type, &text, 0) < 0) {
        snprintf(out, out_size, "verification status 0x%x", status);
        return;
    }
    snprintf(out, out_size, "%s", (const char *)text.data);
    gnutls_free(text.data);
    for (size_t n = strlen(out); n > 0 && out[n - 1] == ' '; n--) /* GnuTLS ends with one */
        out[n - 1] = '\0';
}

void session_log_failure(int level, const struct session *s, const char *what, int code)
{
    char detail[300] = "";
    const char *hint = session_failure_hint(s, code), *error = gnutls_strerror(code);
    size_t detail_len, error_len;

    if (code == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
        detail[0] = ' ';
        verify_status_text(s->tls, detail + 1, sizeof(detail) - 1);
    } else if (code == GNUTLS_E_FATAL_ALERT_RECEIVED || code == GNUTLS_E_WARNING_ALERT_RECEIVED) {
        snprintf(detail, sizeof(detail), " (%s)", gnutls_alert_get_name(gnutls_alert_get(s->tls)));
    }
    /* The hint follows as a ": " clause: GnuTLS's full stop before it goes. */
    detail_len = strlen(detail);
    error_len = strlen(error);
    if (hint != NULL && detail_len > 0 && detail[detail_len - 1] == '.')
        detail[detail_len - 1] = '\0';
    else if (hint != NULL && detail_len == 0 && error_len > 0 && error[error_len - 1] == '.')
        error_len--;
    log_msg(level, "%s: %s: %.*s%s%s%s", s->peer, what, (int)error_len, error, detail,
            hint != NULL ? ": " : "", hint != NULL ? hint : "");
}

int session_alpn(const struct session *s, char *out, size_t out_size)
{
    gnutls_datum_t selected;

    out[0] = '\0';
    if (gnutls_alpn_get_selected_protocol(s->tls, &selected) < 0)
        return 0;
    snprintf(out, out_size, "%.*s", (int)selected.size, (const char *)selected.data);
    return 1;
}

int session_alpn_is(const struct session *s, const char *proto)
{
    char agreed[64];

    return session_alpn(s, agreed, sizeof(agreed)) && strcmp(agreed, proto) == 0;
}

#define SRTP_MATERIAL_MAX 128 /* two keys and two salts of the largest profile, with room */

int session_srtp(const struct session *s, const char **profile, char *material_hex,
                 size_t hex_size)
{
    unsigned char material[SRTP_MATERIAL_MAX];
    gnutls_datum_t client_key, client_salt, server_key, server_salt, all;
    gnutls_srtp_profile_t id;
    size_t size = hex_size;
    int len;

    if (gnutls_srtp_get_selected_profile(s->tls, &id) < 0)
        return 0;
    *profile = gnutls_srtp_get_profile_name(id);
    len = gnutls_srtp_get_keys(s->tls, material, sizeof(material), &client_key, &client_salt,
                               &server_key, &server_salt);
    all.data = material;
    all.size = len > 0 ? (unsigned)len : 0;
    if (len <= 0 || gnutls_hex_encode(&all, material_hex, &size) < 0)
        material_hex[0] = '\0';
    gnutls_memset(material, 0, sizeof(material));
    return 1;
}

/* A line of session_log_description: on stdout, or to stderr naming the peer. */
static void describe(const struct session *s, int on_stdout, const char *line)
{
    if (on_stdout)
        log_out("%s", line);
    else
        log_debug("%s: %s", s->peer, line);
}

void session_log_description(const struct session *s, int on_stdout)
{
    const struct credentials *creds = gnutls_session_get_ptr(s->tls);
    char line[400], alpn[64], hex[2 * SRTP_MATERIAL_MAX + 1], name[256];
    const char *profile;
    size_t name_size = sizeof(name);
    unsigned name_type;
    char *desc;

    if (!log_enabled(LOG_DEBUG))
        return;
    desc = gnutls_session_get_desc(s->tls);
    snprintf(line, sizeof(line), "- Session: %s", desc != NULL ? desc : "?");
    gnutls_free(desc);
    if (session_alpn(s, alpn, sizeof(alpn)))
        snprintf(line + strlen(line), sizeof(line) - strlen(line), "; ALPN %s", alpn);
    if (creds->server)
        snprintf(line + strlen(line), sizeof(line) - strlen(line), "; server name %s",
                     gnutls_server_name_get(s->tls, name, &name_size, &name_type, 0) == 0
                         ? name : "(none)");
    describe(s, on_stdout, line);
    if (creds->server && gnutls_session_is_resumed(s->tls)) /* the client says it itself */
        describe(s, on_stdout, "- Session was resumed");
    /* The keying material WebRTC derives its SRTP keys from, to check against a peer's
     * (openssl s_client -keymatexport EXTRACTOR-dtls_srtp prints the same bytes). */
    if (session_srtp(s, &profile, hex, sizeof(hex))) {
        snprintf(line, sizeof(line), "- SRTP profile %s, keying material %s", profile, hex);
        describe(s, on_stdout, line);
    }
}
