/* dtls_helper.c - GnuTLS glue: init, credentials, priorities, cookies, MTU, waits. */
#define _GNU_SOURCE
#include "dtls_helper.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int fail(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    return -1;
}

static void gnutls_log_line(int level, const char *text)
{
    size_t len = strlen(text);

    /* GnuTLS's lines end in a newline of their own. */
    if (len > 0 && text[len - 1] == '\n')
        len--;
    log_trace("gnutls[%d]: %.*s", level, (int)len, text);
}

int dtls_global_init(int log_level, char *err, size_t err_size)
{
    int rc = gnutls_global_init();

    if (rc < 0)
        return fail(err, err_size, "gnutls_global_init: %s", gnutls_strerror(rc));
    if (log_level > LOG_TRACE) {
        gnutls_global_set_log_function(gnutls_log_line);
        gnutls_global_set_log_level(log_level - LOG_TRACE + 2);
    }
    return 0;
}

void dtls_global_deinit(void)
{
    gnutls_global_deinit();
}

/* Says why path cannot be used, before GnuTLS gives a vaguer reason. */
static int check_readable(const char *what, const char *path, char *err, size_t err_size)
{
    FILE *f = fopen(path, "r");

    if (f == NULL)
        return fail(err, err_size, "cannot read %s '%s': %s", what, path, strerror(errno));
    fclose(f);
    return 0;
}

int dtls_credentials_load(const struct config *cfg, gnutls_certificate_credentials_t *creds,
                          char *err, size_t err_size)
{
    int rc, use_ca = cfg->client_mode ? cfg->cafile != NULL : cfg->require_client_cert;

    rc = gnutls_certificate_allocate_credentials(creds);
    if (rc < 0)
        return fail(err, err_size, "gnutls_certificate_allocate_credentials: %s",
                    gnutls_strerror(rc));
    if (use_ca) {
        if (check_readable("CA file", cfg->cafile, err, err_size) < 0)
            goto failed;
        rc = gnutls_certificate_set_x509_trust_file(*creds, cfg->cafile, GNUTLS_X509_FMT_PEM);
        if (rc <= 0) {
            fail(err, err_size, "CA file '%s': %s", cfg->cafile,
                 rc == 0 ? "no certificate in it" : gnutls_strerror(rc));
            goto failed;
        }
    }
    if (use_ca && cfg->crlfile != NULL) {
        if (check_readable("CRL file", cfg->crlfile, err, err_size) < 0)
            goto failed;
        rc = gnutls_certificate_set_x509_crl_file(*creds, cfg->crlfile, GNUTLS_X509_FMT_PEM);
        if (rc <= 0) {
            fail(err, err_size, "CRL file '%s': %s", cfg->crlfile,
                 rc == 0 ? "no revocation list in it" : gnutls_strerror(rc));
            goto failed;
        }
    }
    if (cfg->certfile != NULL) {
        if (check_readable("certificate file", cfg->certfile, err, err_size) < 0 ||
            check_readable("key file", cfg->keyfile, err, err_size) < 0)
            goto failed;
        rc = gnutls_certificate_set_x509_key_file2(*creds, cfg->certfile, cfg->keyfile,
                                                   GNUTLS_X509_FMT_PEM, NULL, 0);
        if (rc < 0) {
            fail(err, err_size, "certificate '%s' with key '%s': %s", cfg->certfile,
                 cfg->keyfile, gnutls_strerror(rc));
            goto failed;
        }
    }
    return 0;

failed:
    gnutls_certificate_free_credentials(*creds);
    *creds = NULL;
    return -1;
}

int dtls_priority_load(const char *priority, gnutls_priority_t *out, char *err,
                       size_t err_size)
{
    const char *where = NULL;
    int rc = gnutls_priority_init2(out, priority, &where, 0);

    if (rc < 0)
        return fail(err, err_size, "--priority '%s': %s (at '%s')", priority,
                    gnutls_strerror(rc), where ? where : "");
    return 0;
}

int dtls_cookie_key_new(gnutls_datum_t *key, char *err, size_t err_size)
{
    int rc = gnutls_key_generate(key, GNUTLS_COOKIE_KEY_SIZE);

    if (rc < 0)
        return fail(err, err_size, "gnutls_key_generate: %s", gnutls_strerror(rc));
    return 0;
}

int dtls_is_client_hello(const unsigned char *buf, size_t len)
{
    enum { CONTENT_HANDSHAKE = 22, HANDSHAKE_CLIENT_HELLO = 1, DTLS_MAJOR = 0xfe };

    /* Record: type, version (2), epoch (2), sequence (6), length (2); then the handshake
     * header starts with its type. Epoch 0: a ClientHello is never encrypted. */
    return len >= DTLS_MIN_CLIENT_HELLO && buf[0] == CONTENT_HANDSHAKE &&
           buf[1] == DTLS_MAJOR && buf[3] == 0 && buf[4] == 0 &&
           buf[13] == HANDSHAKE_CLIENT_HELLO;
}

int dtls_cookie_check(gnutls_datum_t *key, const struct udp_addr *peer, const void *buf,
                      size_t len, gnutls_dtls_prestate_st *prestate)
{
    unsigned char peer_key[UDP_ADDR_KEY_MAX];
    size_t peer_key_len = udp_addr_key(peer, peer_key);

    memset(prestate, 0, sizeof(*prestate));
    return gnutls_dtls_cookie_verify(key, peer_key, peer_key_len, (void *)buf, len, prestate);
}

struct cookie_destination {
    int fd;
    const struct udp_addr *peer;
    const struct udp_addr *local;
};

static ssize_t cookie_push(gnutls_transport_ptr_t ptr, const void *buf, size_t size)
{
    const struct cookie_destination *dest = ptr;

    return udp_send(dest->fd, buf, size, dest->peer, dest->local);
}

int dtls_cookie_reply(gnutls_datum_t *key, int fd, const struct udp_addr *peer,
                      const struct udp_addr *local)
{
    struct cookie_destination dest = {fd, peer, local};
    gnutls_dtls_prestate_st prestate;
    unsigned char peer_key[UDP_ADDR_KEY_MAX];
    size_t peer_key_len = udp_addr_key(peer, peer_key);

    memset(&prestate, 0, sizeof(prestate));
    return gnutls_dtls_cookie_send(key, peer_key, peer_key_len, &prestate, &dest, cookie_push);
}

void dtls_set_path_mtu(gnutls_session_t session, unsigned path_mtu, const struct udp_addr *peer)
{
    /* gnutls_dtls_set_mtu counts the UDP payload: no IP or UDP header. */
    gnutls_dtls_set_mtu(session, path_mtu - udp_header_size(peer));
}

int64_t dtls_now_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int dtls_wait(gnutls_session_t session, int fd, int stop_fd, int64_t deadline_ms)
{
    int64_t timeout = gnutls_dtls_get_timeout(session);

    if (deadline_ms >= 0) {
        int64_t left = deadline_ms - dtls_now_ms();
        if (left < timeout)
            timeout = left < 0 ? 0 : left;
    }
    return udp_wait(fd, stop_fd, (int)timeout);
}

void dtls_verify_status_text(gnutls_session_t session, char *out, size_t out_size)
{
    gnutls_datum_t text = {NULL, 0};
    unsigned status = gnutls_session_get_verify_cert_status(session);
    gnutls_certificate_type_t type = gnutls_certificate_type_get2(session, GNUTLS_CTYPE_PEERS);

    if (gnutls_certificate_verification_status_print(status, type, &text, 0) < 0) {
        snprintf(out, out_size, "verification status 0x%x", status);
        return;
    }
    snprintf(out, out_size, "%s", (const char *)text.data);
    gnutls_free(text.data);
}

void dtls_log_failure(int level, gnutls_session_t session, const char *who, const char *what,
                      int code)
{
    char status[256];

    if (code == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
        dtls_verify_status_text(session, status, sizeof(status));
        log_msg(level, "%s: %s: %s %s", who, what, gnutls_strerror(code), status);
        return;
    }
    if (code == GNUTLS_E_FATAL_ALERT_RECEIVED || code == GNUTLS_E_WARNING_ALERT_RECEIVED) {
        log_msg(level, "%s: %s: %s (%s)", who, what, gnutls_strerror(code),
                gnutls_alert_get_name(gnutls_alert_get(session)));
        return;
    }
    log_msg(level, "%s: %s: %s", who, what, gnutls_strerror(code));
}
