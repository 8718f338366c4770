/* dtls_helper.c - GnuTLS glue: init, credentials, priorities, cookies, MTU, waits. */
#define _GNU_SOURCE
#include "dtls_helper.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

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
        return errorf(err, err_size, "gnutls_global_init: %s", gnutls_strerror(rc));
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
        return errorf(err, err_size, "cannot read %s '%s': %s", what, path, strerror(errno));
    fclose(f);
    return 0;
}

/* ---- PSK ----------------------------------------------------------------------- */

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes len hex digits into out (len / 2 bytes). Returns 0, or -1 on a bad digit. */
static int hex_decode(const char *hex, size_t len, unsigned char *out)
{
    size_t i;

    if (len == 0 || len % 2 != 0)
        return -1;
    for (i = 0; i < len; i += 2) {
        int high = hex_value((unsigned char)hex[i]), low = hex_value((unsigned char)hex[i + 1]);
        if (high < 0 || low < 0)
            return -1;
        out[i / 2] = (unsigned char)(high << 4 | low);
    }
    return 0;
}

static int psk_add(struct dtls_credentials *creds, const char *identity, size_t identity_len,
                   const char *hex, size_t hex_len)
{
    struct psk_entry *grown, *entry;

    grown = realloc(creds->psk, (creds->psk_count + 1) * sizeof(*grown));
    if (grown == NULL)
        return -1;
    creds->psk = grown;
    entry = &creds->psk[creds->psk_count];
    entry->identity = strndup(identity, identity_len);
    entry->key = malloc(hex_len / 2 + 1);
    entry->key_len = hex_len / 2;
    if (entry->identity == NULL || entry->key == NULL || hex_decode(hex, hex_len, entry->key)) {
        free(entry->identity);
        free(entry->key);
        return -1;
    }
    creds->psk_count++;
    return 0;
}

/* Reads a psktool file: "identity:hexkey" per line. */
static int psk_load_file(struct dtls_credentials *creds, const char *path, char *err,
                         size_t err_size)
{
    char *line = NULL;
    size_t size = 0;
    unsigned number = 0;
    ssize_t len;
    FILE *f;
    int ret = -1;

    f = fopen(path, "r");
    if (f == NULL)
        return errorf(err, err_size, "cannot read PSK file '%s': %s", path, strerror(errno));
    while ((len = getline(&line, &size, f)) >= 0) {
        char *colon;
        number++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        colon = strchr(line, ':');
        if (colon == NULL || colon == line ||
            psk_add(creds, line, (size_t)(colon - line), colon + 1, strlen(colon + 1)) < 0) {
            errorf(err, err_size, "PSK file '%s' line %u: expected identity:hexkey", path,
                   number);
            goto done;
        }
    }
    if (creds->psk_count == 0) {
        errorf(err, err_size, "PSK file '%s': no identity in it", path);
        goto done;
    }
    ret = 0;
done:
    free(line);
    fclose(f);
    return ret;
}

/* Server: the key of the identity a client named, from our table. */
static int psk_lookup(gnutls_session_t session, const gnutls_datum_t *identity,
                      gnutls_datum_t *key)
{
    const struct dtls_credentials *creds = gnutls_session_get_ptr(session);
    size_t i;

    for (i = 0; i < creds->psk_count; i++) {
        const struct psk_entry *entry = &creds->psk[i];
        if (strlen(entry->identity) == identity->size &&
            memcmp(entry->identity, identity->data, identity->size) == 0) {
            key->data = gnutls_malloc(entry->key_len);
            if (key->data == NULL)
                return -1;
            memcpy(key->data, entry->key, entry->key_len);
            key->size = (unsigned)entry->key_len;
            return 0;
        }
    }
    log_warn("unknown PSK identity '%.*s'", (int)identity->size, (const char *)identity->data);
    return -1;
}

static int psk_load(const struct config *cfg, struct dtls_credentials *creds, char *err,
                    size_t err_size)
{
    const struct psk_entry *entry = NULL;
    int rc;
    size_t i;

    if (cfg->pskfile != NULL && psk_load_file(creds, cfg->pskfile, err, err_size) < 0)
        return EXIT_RUNTIME;
    if (cfg->psk_key != NULL &&
        psk_add(creds, cfg->psk_identity, strlen(cfg->psk_identity), cfg->psk_key,
                strlen(cfg->psk_key)) < 0) {
        errorf(err, err_size, "--psk-key: not a hex key");
        return EXIT_USAGE;
    }
    if (creds->server) {
        if ((rc = gnutls_psk_allocate_server_credentials(&creds->psk_server)) < 0) {
            errorf(err, err_size, "PSK credentials: %s", gnutls_strerror(rc));
            return EXIT_RUNTIME;
        }
        gnutls_psk_set_server_credentials_function2(creds->psk_server, psk_lookup);
        gnutls_psk_set_server_known_dh_params(creds->psk_server, GNUTLS_SEC_PARAM_MEDIUM);
        return 0;
    }
    /* Client: --psk-identity picks the line of --pskfile; without it, the first line. */
    for (i = 0; i < creds->psk_count && entry == NULL; i++)
        if (cfg->psk_identity == NULL || strcmp(creds->psk[i].identity, cfg->psk_identity) == 0)
            entry = &creds->psk[i];
    if (entry == NULL) {
        errorf(err, err_size, "PSK file '%s' has no identity '%s'", cfg->pskfile,
               cfg->psk_identity);
        return EXIT_USAGE;
    }
    gnutls_datum_t key = {entry->key, (unsigned)entry->key_len};
    if ((rc = gnutls_psk_allocate_client_credentials(&creds->psk_client)) < 0 ||
        (rc = gnutls_psk_set_client_credentials(creds->psk_client, entry->identity, &key,
                                                GNUTLS_PSK_KEY_RAW)) < 0) {
        errorf(err, err_size, "PSK credentials: %s", gnutls_strerror(rc));
        return EXIT_RUNTIME;
    }
    return 0;
}

/* ---- public key pins ------------------------------------------------------------- */

/* SHA-256 of a public key's DER SubjectPublicKeyInfo, the pin of RFC 7469. */
static int pubkey_digest(gnutls_pubkey_t pubkey, unsigned char digest[32])
{
    gnutls_datum_t spki = {NULL, 0};
    int rc = gnutls_pubkey_export2(pubkey, GNUTLS_X509_FMT_DER, &spki);

    if (rc >= 0)
        rc = gnutls_hash_fast(GNUTLS_DIG_SHA256, spki.data, spki.size, digest);
    gnutls_free(spki.data);
    return rc;
}

/* --pin-pubkey: "sha256:HEX" (colons allowed), or a PEM public key or certificate file. */
static int pin_load(const char *pin, unsigned char digest[32], char *err, size_t err_size)
{
    gnutls_datum_t data = {NULL, 0};
    gnutls_pubkey_t pubkey = NULL;
    gnutls_x509_crt_t crt = NULL;
    int rc, ret = EXIT_RUNTIME;

    if (strncmp(pin, "sha256:", 7) == 0) {
        char hex[65];
        size_t n = 0;
        const char *p;
        for (p = pin + 7; *p != '\0' && n < sizeof(hex) - 1; p++)
            if (*p != ':')
                hex[n++] = *p;
        if (*p != '\0' || n != 64 || hex_decode(hex, 64, digest) < 0) {
            errorf(err, err_size, "--pin-pubkey: '%s' is not sha256: and 64 hex digits", pin);
            return EXIT_USAGE;
        }
        return 0;
    }
    if (check_readable("--pin-pubkey file", pin, err, err_size) < 0)
        return EXIT_RUNTIME;
    if ((rc = gnutls_load_file(pin, &data)) < 0 || (rc = gnutls_pubkey_init(&pubkey)) < 0) {
        errorf(err, err_size, "--pin-pubkey '%s': %s", pin, gnutls_strerror(rc));
        goto done;
    }
    rc = gnutls_pubkey_import(pubkey, &data, GNUTLS_X509_FMT_PEM);
    if (rc < 0 && gnutls_x509_crt_init(&crt) >= 0 &&
        gnutls_x509_crt_import(crt, &data, GNUTLS_X509_FMT_PEM) >= 0)
        rc = gnutls_pubkey_import_x509(pubkey, crt, 0);
    if (rc < 0 || pubkey_digest(pubkey, digest) < 0) {
        errorf(err, err_size, "--pin-pubkey '%s': no public key or certificate in it", pin);
        goto done;
    }
    ret = 0;
done:
    if (crt != NULL)
        gnutls_x509_crt_deinit(crt);
    if (pubkey != NULL)
        gnutls_pubkey_deinit(pubkey);
    gnutls_free(data.data);
    return ret;
}

/* The peer's public key digest, from its X.509 certificate or raw public key. */
static int peer_digest(gnutls_session_t session, unsigned char digest[32])
{
    const gnutls_datum_t *peers;
    unsigned count = 0;
    gnutls_pcert_st pcert;
    int rc;

    peers = gnutls_certificate_get_peers(session, &count);
    if (peers == NULL || count == 0)
        return -1;
    if (gnutls_certificate_type_get2(session, GNUTLS_CTYPE_PEERS) == GNUTLS_CRT_RAWPK)
        rc = gnutls_pcert_import_rawpk_raw(&pcert, &peers[0], GNUTLS_X509_FMT_DER, 0, 0);
    else
        rc = gnutls_pcert_import_x509_raw(&pcert, &peers[0], GNUTLS_X509_FMT_DER, 0);
    if (rc < 0)
        return -1;
    rc = pubkey_digest(pcert.pubkey, digest);
    gnutls_pcert_deinit(&pcert);
    return rc < 0 ? -1 : 0;
}

static void digest_text(const unsigned char digest[32], char *out, size_t out_size)
{
    size_t i, n = (size_t)snprintf(out, out_size, "sha256:");

    for (i = 0; i < 32 && n + 2 < out_size; i++, n += 2)
        snprintf(out + n, out_size - n, "%02x", digest[i]);
}

/* Client verification with a pin: the server's key must be the pinned one; with a CA
 * file as well, its chain and name are checked too. Nonzero fails the handshake. */
static int verify_pinned(gnutls_session_t session)
{
    const struct dtls_credentials *creds = gnutls_session_get_ptr(session);
    unsigned char digest[32];
    char seen[80], wanted[80];
    unsigned status = 0;

    if (peer_digest(session, digest) < 0) {
        log_error("the server sent no public key to check against --pin-pubkey");
        return -1;
    }
    if (memcmp(digest, creds->pin, sizeof(digest)) != 0) {
        digest_text(digest, seen, sizeof(seen));
        digest_text(creds->pin, wanted, sizeof(wanted));
        log_error("the server's public key %s does not match --pin-pubkey %s", seen, wanted);
        return -1;
    }
    if (creds->verify_ca &&
        (gnutls_certificate_verify_peers3(session, creds->verify_name, &status) < 0 ||
         status != 0))
        return -1;
    return 0;
}

/* ---- loading and applying -------------------------------------------------------- */

/* Warns (once, at start) when our own certificate is outside its validity period: every
 * verifying peer will refuse it, and the reason is easier to see here. */
static void warn_if_expired(gnutls_certificate_credentials_t cert, const char *path)
{
    gnutls_x509_crt_t *chain = NULL;
    unsigned count = 0, i;
    time_t now = time(NULL);

    if (gnutls_certificate_get_x509_crt(cert, 0, &chain, &count) < 0)
        return;
    if (count > 0 && gnutls_x509_crt_get_expiration_time(chain[0]) < now)
        log_warn("certificate '%s' has expired: peers that verify it will refuse it", path);
    else if (count > 0 && gnutls_x509_crt_get_activation_time(chain[0]) > now)
        log_warn("certificate '%s' is not valid yet: peers that verify it will refuse it",
                 path);
    for (i = 0; i < count; i++)
        gnutls_x509_crt_deinit(chain[i]);
    gnutls_free(chain);
}

/* Loads the trust anchors or the CRL in path with load (both GnuTLS loaders count what
 * they added: none is an error too, named by empty). Returns 0, or -1 with a reason. */
static int load_pem_list(gnutls_certificate_credentials_t cert,
                         int (*load)(gnutls_certificate_credentials_t, const char *,
                                     gnutls_x509_crt_fmt_t),
                         const char *what, const char *path, const char *empty, char *err,
                         size_t err_size)
{
    int rc;

    if (check_readable(what, path, err, err_size) < 0)
        return -1;
    rc = load(cert, path, GNUTLS_X509_FMT_PEM);
    if (rc <= 0)
        return errorf(err, err_size, "%s '%s': %s", what, path,
                      rc == 0 ? empty : gnutls_strerror(rc));
    return 0;
}

static int certificates_load(const struct config *cfg, struct dtls_credentials *creds,
                             char *err, size_t err_size)
{
    int rc;

    if ((rc = gnutls_certificate_allocate_credentials(&creds->cert)) < 0)
        return errorf(err, err_size, "certificate credentials: %s", gnutls_strerror(rc));
    if (creds->verify_ca &&
        (load_pem_list(creds->cert, gnutls_certificate_set_x509_trust_file, "CA file",
                       cfg->cafile, "no certificate in it", err, err_size) < 0 ||
         (cfg->crlfile != NULL &&
          load_pem_list(creds->cert, gnutls_certificate_set_x509_crl_file, "CRL file",
                        cfg->crlfile, "no revocation list in it", err, err_size) < 0)))
        return -1;
    if (cfg->certfile != NULL) {
        if (check_readable("certificate file", cfg->certfile, err, err_size) < 0 ||
            check_readable("key file", cfg->keyfile, err, err_size) < 0)
            return -1;
        rc = gnutls_certificate_set_x509_key_file2(creds->cert, cfg->certfile, cfg->keyfile,
                                                   GNUTLS_X509_FMT_PEM, NULL, 0);
        if (rc < 0)
            return errorf(err, err_size, "certificate '%s' with key '%s': %s", cfg->certfile,
                          cfg->keyfile, gnutls_strerror(rc));
        warn_if_expired(creds->cert, cfg->certfile);
    }
    if (cfg->rawpk_key != NULL) {
        if (check_readable("--rawpk-pub file", cfg->rawpk_pub, err, err_size) < 0 ||
            check_readable("--rawpk-key file", cfg->rawpk_key, err, err_size) < 0)
            return -1;
        rc = gnutls_certificate_set_rawpk_key_file(creds->cert, cfg->rawpk_pub, cfg->rawpk_key,
                                                   GNUTLS_X509_FMT_PEM, NULL, 0, NULL, 0, 0, 0);
        if (rc < 0)
            return errorf(err, err_size, "raw public key '%s' with key '%s': %s", cfg->rawpk_pub,
                          cfg->rawpk_key, gnutls_strerror(rc));
    }
    return 0;
}

/* Our default priority for the modes cfg asks for, or --priority as given. */
static void priority_text(const struct config *cfg, char *out, size_t out_size)
{
    int psk = cfg->psk_identity != NULL || cfg->pskfile != NULL;

    if (cfg->priority != NULL) {
        snprintf(out, out_size, "%s", cfg->priority);
        return;
    }
    /* Offer only the key exchanges we have credentials for: a GnuTLS server without a
     * certificate fails on a certificate suite (OpenSSL offers those first) instead of
     * moving on to a PSK one. */
    int no_certificate = cfg->client_mode || (!cfg->certfile && !cfg->rawpk_key);
    snprintf(out, out_size, "%s%s%s%s%s", DEFAULT_PRIORITY,
             no_certificate && (psk || cfg->anon) ? ":-KX-ALL" : "",
             psk ? PRIORITY_PSK : "", cfg->anon ? PRIORITY_ANON : "",
             cfg->rawpk_key != NULL || cfg->pin_pubkey != NULL ? PRIORITY_RAWPK : "");
}

int dtls_credentials_load(const struct config *cfg, const char *verify_name,
                          struct dtls_credentials *creds, char *err, size_t err_size)
{
    char priority[512];
    const char *where = NULL;
    int rc, psk = cfg->psk_identity != NULL || cfg->pskfile != NULL;

    memset(creds, 0, sizeof(*creds));
    creds->server = !cfg->client_mode;
    creds->verify_name = verify_name;
    creds->require_client_cert = cfg->require_client_cert;
    creds->heartbeat = cfg->heartbeat_s > 0;
    creds->verify_ca = cfg->client_mode ? cfg->cafile != NULL : cfg->require_client_cert;

    priority_text(cfg, priority, sizeof(priority));
    rc = gnutls_priority_init2(&creds->priority, priority, &where, 0);
    if (rc < 0) {
        creds->priority = NULL;
        errorf(err, err_size, "--priority '%s': %s (at '%s')", priority, gnutls_strerror(rc),
               where ? where : "");
        return EXIT_USAGE;
    }
    if (cfg->rawpk_key != NULL || cfg->pin_pubkey != NULL)
        creds->init_flags |= GNUTLS_ENABLE_RAWPK;
    if (cfg->pin_pubkey != NULL && (rc = pin_load(cfg->pin_pubkey, creds->pin, err, err_size)))
        return rc;
    creds->have_pin = cfg->pin_pubkey != NULL;
    if (psk && (rc = psk_load(cfg, creds, err, err_size)) != 0)
        return rc;
    if (cfg->anon) {
        if (creds->server) {
            rc = gnutls_anon_allocate_server_credentials(&creds->anon_server);
            if (rc >= 0)
                gnutls_anon_set_server_known_dh_params(creds->anon_server,
                                                       GNUTLS_SEC_PARAM_MEDIUM);
        } else {
            rc = gnutls_anon_allocate_client_credentials(&creds->anon_client);
        }
        if (rc < 0) {
            errorf(err, err_size, "anonymous credentials: %s", gnutls_strerror(rc));
            return EXIT_RUNTIME;
        }
    }
    /* Certificates: the server's X.509 or raw key, the client's CA, pin or own cert. */
    if ((creds->server ? cfg->certfile || cfg->rawpk_key || cfg->require_client_cert
                       : !psk && !cfg->anon) &&
        certificates_load(cfg, creds, err, err_size) < 0)
        return EXIT_RUNTIME;
    if (creds->server && (rc = gnutls_session_ticket_key_generate(&creds->ticket_key)) < 0) {
        errorf(err, err_size, "ticket key: %s", gnutls_strerror(rc));
        return EXIT_RUNTIME;
    }
    return 0;
}

int dtls_session_new(const struct dtls_credentials *creds, unsigned flags,
                     gnutls_session_t *out)
{
    gnutls_session_t session;
    int rc;

    rc = gnutls_init(&session, flags | creds->init_flags);
    if (rc < 0)
        return rc;
    gnutls_session_set_ptr(session, (void *)creds);
    if ((rc = gnutls_priority_set(session, creds->priority)) < 0 ||
        (creds->cert != NULL &&
         (rc = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, creds->cert)) < 0) ||
        (creds->psk_server != NULL &&
         (rc = gnutls_credentials_set(session, GNUTLS_CRD_PSK, creds->psk_server)) < 0) ||
        (creds->psk_client != NULL &&
         (rc = gnutls_credentials_set(session, GNUTLS_CRD_PSK, creds->psk_client)) < 0) ||
        (creds->anon_server != NULL &&
         (rc = gnutls_credentials_set(session, GNUTLS_CRD_ANON, creds->anon_server)) < 0) ||
        (creds->anon_client != NULL &&
         (rc = gnutls_credentials_set(session, GNUTLS_CRD_ANON, creds->anon_client)) < 0) ||
        (creds->server && (rc = gnutls_session_ticket_enable_server(
                               session, &creds->ticket_key)) < 0)) {
        gnutls_deinit(session);
        return rc;
    }
    if (creds->server) {
        /* Answer heartbeat pings from any peer that asks (RFC 6520). */
        gnutls_heartbeat_enable(session, GNUTLS_HB_PEER_ALLOWED_TO_SEND);
        if (creds->require_client_cert) {
            gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
            gnutls_session_set_verify_cert(session, NULL, 0);
        }
    } else {
        /* Both directions: libgnutls refuses any heartbeat message, our pong included,
         * unless the peer is allowed to send heartbeats too. */
        if (creds->heartbeat)
            gnutls_heartbeat_enable(session, GNUTLS_HB_LOCAL_ALLOWED_TO_SEND |
                                                 GNUTLS_HB_PEER_ALLOWED_TO_SEND);
        if (creds->have_pin)
            gnutls_session_set_verify_function(session, verify_pinned);
        else if (creds->verify_ca)
            gnutls_session_set_verify_cert(session, creds->verify_name, 0);
    }
    *out = session;
    return 0;
}

/* Vectored, so GnuTLS packs a whole flight into one datagram up to the MTU. */
static ssize_t transport_push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
    struct dtls_transport *transport = ptr;
    ssize_t n = udp_sendv(transport->fd, (const struct iovec *)iov, iovcnt);

    transport->last_errno = n < 0 ? errno : 0;
    return n;
}

static ssize_t transport_pull(gnutls_transport_ptr_t ptr, void *buf, size_t size)
{
    struct dtls_transport *transport = ptr;
    ssize_t n = recv(transport->fd, buf, size, MSG_DONTWAIT);

    transport->last_errno = n < 0 ? errno : 0;
    if (n >= 0)
        transport->reads++;
    return n;
}

static int transport_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
    struct dtls_transport *transport = ptr;
    struct pollfd pfd = {.fd = transport->fd, .events = POLLIN};

    return poll(&pfd, 1, (int)ms);
}

static int is_ip_literal(const char *name)
{
    unsigned char addr[16];

    return inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
}

int dtls_client_session_new(const struct dtls_credentials *creds, const char *server_name,
                            unsigned path_mtu, const struct udp_addr *peer,
                            unsigned timeout_ms, unsigned total_ms,
                            struct dtls_transport *transport, gnutls_session_t *out)
{
    gnutls_session_t session;
    int rc;

    rc = dtls_session_new(creds, GNUTLS_CLIENT | GNUTLS_DATAGRAM | GNUTLS_NONBLOCK, &session);
    if (rc < 0)
        return rc;
    if (!is_ip_literal(server_name) &&
        (rc = gnutls_server_name_set(session, GNUTLS_NAME_DNS, server_name,
                                     strlen(server_name))) < 0) {
        gnutls_deinit(session);
        return rc;
    }
    dtls_set_path_mtu(session, path_mtu, peer);
    gnutls_dtls_set_timeouts(session, timeout_ms, total_ms);
    gnutls_transport_set_ptr(session, transport);
    gnutls_transport_set_vec_push_function(session, transport_push);
    gnutls_transport_set_pull_function(session, transport_pull);
    gnutls_transport_set_pull_timeout_function(session, transport_pull_timeout);
    *out = session;
    return 0;
}

void dtls_credentials_free(struct dtls_credentials *creds)
{
    size_t i;

    if (creds->cert != NULL)
        gnutls_certificate_free_credentials(creds->cert);
    if (creds->psk_server != NULL)
        gnutls_psk_free_server_credentials(creds->psk_server);
    if (creds->psk_client != NULL)
        gnutls_psk_free_client_credentials(creds->psk_client);
    if (creds->anon_server != NULL)
        gnutls_anon_free_server_credentials(creds->anon_server);
    if (creds->anon_client != NULL)
        gnutls_anon_free_client_credentials(creds->anon_client);
    if (creds->priority != NULL)
        gnutls_priority_deinit(creds->priority);
    for (i = 0; i < creds->psk_count; i++) {
        free(creds->psk[i].identity);
        free(creds->psk[i].key);
    }
    free(creds->psk);
    gnutls_free(creds->ticket_key.data);
    memset(creds, 0, sizeof(*creds));
}

int dtls_cookie_key_new(gnutls_datum_t *key, char *err, size_t err_size)
{
    int rc = gnutls_key_generate(key, GNUTLS_COOKIE_KEY_SIZE);

    if (rc < 0)
        return errorf(err, err_size, "gnutls_key_generate: %s", gnutls_strerror(rc));
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

int cookie_keys_init(struct cookie_keys *keys, unsigned period_ms, char *err, size_t err_size)
{
    memset(keys, 0, sizeof(*keys));
    if (dtls_cookie_key_new(&keys->current, err, err_size) < 0)
        return -1;
    pthread_mutex_init(&keys->lock, NULL);
    keys->period_ms = period_ms;
    keys->next_rotation_ms = dtls_now_ms() + period_ms;
    return 0;
}

void cookie_keys_destroy(struct cookie_keys *keys)
{
    if (keys->current.data == NULL)
        return;
    gnutls_free(keys->current.data);
    gnutls_free(keys->previous.data);
    pthread_mutex_destroy(&keys->lock);
    memset(keys, 0, sizeof(*keys));
}

int64_t cookie_keys_rotate(struct cookie_keys *keys, int64_t now_ms)
{
    gnutls_datum_t fresh;
    char err[128];

    if (now_ms < keys->next_rotation_ms)
        return keys->next_rotation_ms - now_ms;
    if (dtls_cookie_key_new(&fresh, err, sizeof(err)) == 0) {
        pthread_mutex_lock(&keys->lock);
        gnutls_free(keys->previous.data);
        keys->previous = keys->current;
        keys->current = fresh;
        pthread_mutex_unlock(&keys->lock);
        log_debug("cookie key rotated");
    } else {
        log_warn("cookie key not rotated: %s", err);
    }
    keys->next_rotation_ms = now_ms + keys->period_ms;
    return keys->period_ms;
}

enum datagram_verdict dtls_classify_datagram(struct cookie_keys *keys,
                                             const struct udp_addr *peer,
                                             const unsigned char *buf, size_t len,
                                             gnutls_dtls_prestate_st *prestate)
{
    unsigned char current[GNUTLS_COOKIE_KEY_SIZE], previous[GNUTLS_COOKIE_KEY_SIZE];
    gnutls_datum_t current_key = {current, sizeof(current)};
    gnutls_datum_t previous_key = {previous, sizeof(previous)};
    int has_previous;

    if (!dtls_is_client_hello(buf, len))
        return DATAGRAM_IGNORE;
    /* A copy, so the lock is not held while GnuTLS computes the MAC. */
    pthread_mutex_lock(&keys->lock);
    memcpy(current, keys->current.data, sizeof(current));
    has_previous = keys->previous.data != NULL;
    if (has_previous)
        memcpy(previous, keys->previous.data, sizeof(previous));
    pthread_mutex_unlock(&keys->lock);
    if (dtls_cookie_check(&current_key, peer, buf, len, prestate) == 0 ||
        (has_previous && dtls_cookie_check(&previous_key, peer, buf, len, prestate) == 0))
        return DATAGRAM_CLIENT_HELLO;
    return DATAGRAM_SEND_COOKIE;
}

int dtls_cookie_reply_current(struct cookie_keys *keys, int fd, const struct udp_addr *peer,
                              const struct udp_addr *local)
{
    unsigned char current[GNUTLS_COOKIE_KEY_SIZE];
    gnutls_datum_t key = {current, sizeof(current)};

    pthread_mutex_lock(&keys->lock);
    memcpy(current, keys->current.data, sizeof(current));
    pthread_mutex_unlock(&keys->lock);
    return dtls_cookie_reply(&key, fd, peer, local);
}

void dtls_set_path_mtu(gnutls_session_t session, unsigned path_mtu, const struct udp_addr *peer)
{
    /* gnutls_dtls_set_mtu counts the UDP payload: no IP or UDP header. */
    gnutls_dtls_set_mtu(session, path_mtu - udp_header_size(peer));
}

int dtls_handshake(gnutls_session_t session, const unsigned *reads)
{
    unsigned before, rounds = 0;
    int rc;

    do {
        before = *reads;
        rc = gnutls_handshake(session);
    } while (rc == GNUTLS_E_AGAIN && *reads != before && ++rounds < 4);
    return rc;
}

int64_t dtls_now_ms(void)
{
    return dtls_now_us() / 1000;
}

int64_t dtls_now_us(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
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

const char *dtls_stall_hint(gnutls_session_t session, int server)
{
    gnutls_kx_algorithm_t kx = gnutls_kx_get(session);
    int psk = kx == GNUTLS_KX_PSK || kx == GNUTLS_KX_DHE_PSK || kx == GNUTLS_KX_ECDHE_PSK;

    if (server && gnutls_handshake_get_last_in(session) == GNUTLS_HANDSHAKE_CLIENT_KEY_EXCHANGE)
        return psk ? "the client's Finished never decrypted: wrong PSK key?"
                   : "the client's Finished never decrypted";
    if (!server && gnutls_handshake_get_last_out(session) == GNUTLS_HANDSHAKE_FINISHED &&
        gnutls_handshake_get_last_in(session) != GNUTLS_HANDSHAKE_FINISHED)
        return psk ? "the server never accepted our Finished: wrong PSK key?"
                   : "the server never accepted our Finished";
    return NULL;
}

void dtls_close_notify(gnutls_session_t session, const char *who)
{
    int rc, tries;

    for (tries = 0; tries < 10; tries++) {
        rc = gnutls_bye(session, GNUTLS_SHUT_WR);
        if (rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED)
            break;
        usleep(1000);
    }
    if (rc < 0)
        log_debug("%s%sclose_notify not sent: %s", who ? who : "", who ? ": " : "",
                  gnutls_strerror(rc));
}

void dtls_client_close(gnutls_session_t *session, struct dtls_transport *transport,
                       int established, const char *who)
{
    if (*session != NULL) {
        if (established)
            dtls_close_notify(*session, who);
        gnutls_deinit(*session);
        *session = NULL;
    }
    if (transport->fd >= 0) {
        close(transport->fd);
        transport->fd = -1;
    }
}

void dtls_log_session(gnutls_session_t session, const char *who)
{
    char *desc;

    if (!log_enabled(LOG_DEBUG))
        return;
    desc = gnutls_session_get_desc(session);
    log_debug("%s%s- Session: %s", who ? who : "", who ? ": " : "", desc ? desc : "?");
    gnutls_free(desc);
}

/* GnuTLS's text for the certificate verification status of session. */
static void verify_status_text(gnutls_session_t session, char *out, size_t out_size)
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
        verify_status_text(session, status, sizeof(status));
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
