/* SPDX-License-Identifier: MIT */
/* credentials.c - certificates, keys, CRL, raw public keys, pins, the priority string,
 * the key log and session tickets, and applying them to a new session (PSK files and keys:
 * credentials_psk.c). */
#define _GNU_SOURCE
#include "credentials.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keyfile.h"
#include "log.h"

/* Says why path cannot be used, before GnuTLS gives a vaguer reason. */
static int check_readable(const char *what, const char *path, char *err, size_t err_size)
{
    FILE *f = fopen(path, "r");

    if (f == NULL)
        return errorf(err, err_size, "cannot read %s '%s': %s", what, path, strerror(errno));
    fclose(f);
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

/* Copies the 64 hex digits of a "sha256:HEX" pin (colons allowed between them) into hex.
 * Returns 0, or -1 when text is not such a pin. */
static int pin_hex(const char *text, char hex[65])
{
    size_t n = 0;
    const char *p;

    if (strncmp(text, "sha256:", 7) != 0)
        return -1;
    for (p = text + 7; *p != '\0' && n < 64; p++)
        if (*p != ':')
            hex[n++] = *p;
    hex[n] = '\0';
    return *p == '\0' && n == 64 && strspn(hex, "0123456789abcdefABCDEF") == 64 ? 0 : -1;
}

/* A pin: "sha256:HEX", or a PEM public key or certificate file. */
static enum credentials_result pin_load(const char *pin, unsigned char digest[32], char *err,
                                        size_t err_size)
{
    gnutls_datum_t data = {NULL, 0};
    gnutls_pubkey_t pubkey = NULL;
    gnutls_x509_crt_t crt = NULL;
    enum credentials_result ret = CREDENTIALS_BAD_FILE;
    char hex[65];
    int rc;

    if (strncmp(pin, "sha256//", 8) == 0) { /* curl's and openssl's form */
        gnutls_datum_t text = {(unsigned char *)pin + 8, (unsigned)strlen(pin + 8)};
        gnutls_datum_t raw = {NULL, 0};
        int ok = gnutls_base64_decode2(&text, &raw) >= 0 && raw.size == 32;
        if (ok)
            memcpy(digest, raw.data, 32);
        gnutls_free(raw.data);
        if (!ok) {
            errorf(err, err_size, "public key pin '%s' is not sha256// and the base64 of 32 "
                   "bytes", pin);
            return CREDENTIALS_BAD_SETTING;
        }
        return CREDENTIALS_OK;
    }
    if (strncmp(pin, "sha256:", 7) == 0) {
        if (pin_hex(pin, hex) < 0 || credentials_hex_decode(hex, 64, digest) < 0) {
            errorf(err, err_size, "public key pin '%s' is not sha256: and 64 hex digits", pin);
            return CREDENTIALS_BAD_SETTING;
        }
        return CREDENTIALS_OK;
    }
    if (check_readable("public key pin file", pin, err, err_size) < 0)
        return CREDENTIALS_BAD_FILE;
    if ((rc = gnutls_load_file(pin, &data)) < 0 || (rc = gnutls_pubkey_init(&pubkey)) < 0) {
        errorf(err, err_size, "public key pin file '%s': %s", pin, gnutls_strerror(rc));
        goto done;
    }
    rc = gnutls_pubkey_import(pubkey, &data, GNUTLS_X509_FMT_PEM);
    if (rc < 0 && gnutls_x509_crt_init(&crt) >= 0 &&
        gnutls_x509_crt_import(crt, &data, GNUTLS_X509_FMT_PEM) >= 0)
        rc = gnutls_pubkey_import_x509(pubkey, crt, 0);
    if (rc < 0 || pubkey_digest(pubkey, digest) < 0) {
        errorf(err, err_size, "public key pin file '%s': no PEM public key or certificate in it",
               pin);
        goto done;
    }
    ret = CREDENTIALS_OK;
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

int credentials_peer_pin(gnutls_session_t session, char *out, size_t out_size)
{
    unsigned char digest[32];

    if (peer_digest(session, digest) < 0)
        return -1;
    digest_text(digest, out, out_size);
    return 0;
}

/* Client verification with a pin: the server's key must be the pinned one; with a CA
 * file as well, its chain and name are checked too. Nonzero fails the handshake. */
static int verify_pinned(gnutls_session_t session)
{
    const struct credentials *creds = gnutls_session_get_ptr(session);
    unsigned char digest[32];
    char seen[80], wanted[80];
    unsigned status = 0;

    if (peer_digest(session, digest) < 0) {
        log_error("the server sent no public key to check against %s", creds->pin_name);
        return -1;
    }
    if (memcmp(digest, creds->pin, sizeof(digest)) != 0) {
        digest_text(digest, seen, sizeof(seen));
        digest_text(creds->pin, wanted, sizeof(wanted));
        log_error("the server's public key %s does not match %s %s", seen, creds->pin_name,
                  wanted);
        return -1;
    }
    if (creds->verify_ca &&
        (gnutls_certificate_verify_peers(session, (gnutls_typed_vdata_st *)creds->verify_data,
                                         creds->verify_elements, &status) < 0 ||
         status != 0))
        return -1;
    return 0;
}

/* What verification asks of the peer's chain besides the trust anchors: the purpose of
 * its use (a server takes certificates for clients, a client those for servers; one with
 * no extended key usage serves both, as RFC 5280 says) and, on a client, the name. GnuTLS
 * checks no purpose unless asked: a server certificate would pass as a client's. */
static void verify_data_set(struct credentials *creds)
{
    unsigned n = 0;

    creds->verify_data[n].type = GNUTLS_DT_KEY_PURPOSE_OID;
    creds->verify_data[n].data =
        (unsigned char *)(creds->server ? GNUTLS_KP_TLS_WWW_CLIENT : GNUTLS_KP_TLS_WWW_SERVER);
    creds->verify_data[n++].size = 0;
    if (creds->verify_name != NULL) {
        creds->verify_data[n].type = GNUTLS_DT_DNS_HOSTNAME;
        creds->verify_data[n].data = (unsigned char *)creds->verify_name;
        creds->verify_data[n++].size = 0;
    }
    creds->verify_elements = n;
}

/* ---- the key log ----------------------------------------------------------------- */

/* Appends one secret in the NSS key log format Wireshark reads ("LABEL CLIENT_RANDOM
 * SECRET" in hex), as GnuTLS does for SSLKEYLOGFILE; one write per line, so that
 * threads and worker processes sharing the file never interleave within a line. */
static int keylog_write(gnutls_session_t session, const char *label,
                        const gnutls_datum_t *secret)
{
    const struct credentials *creds = gnutls_session_get_ptr(session);
    gnutls_datum_t client_random, server_random;
    char line[512];
    size_t n = (size_t)snprintf(line, sizeof(line), "%s ", label), hex;

    gnutls_session_get_random(session, &client_random, &server_random);
    hex = sizeof(line) - n;
    if (n >= sizeof(line) || gnutls_hex_encode(&client_random, line + n, &hex) < 0)
        return 0;
    n += strlen(line + n);
    line[n++] = ' ';
    hex = sizeof(line) - n - 1;
    if (gnutls_hex_encode(secret, line + n, &hex) < 0)
        return 0;
    n += strlen(line + n);
    line[n++] = '\n';
    if (write(creds->keylog_fd, line, n) != (ssize_t)n)
        log_warn("the key log: %s", strerror(errno));
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

/* Warns when our certificate may not serve TLS: an extended key usage without the TLS
 * server purpose makes every verifying client refuse it, with a vaguer reason. */
static void warn_if_not_for_servers(gnutls_certificate_credentials_t cert, const char *path)
{
    gnutls_x509_crt_t *chain = NULL;
    unsigned count = 0, i;
    char oid[128];
    size_t oid_size;
    int rc, server_use = 0, has_purposes = 0;

    if (gnutls_certificate_get_x509_crt(cert, 0, &chain, &count) < 0)
        return;
    for (i = 0; count > 0; i++) {
        oid_size = sizeof(oid);
        rc = gnutls_x509_crt_get_key_purpose_oid(chain[0], i, oid, &oid_size, NULL);
        if (rc < 0)
            break;
        has_purposes = 1;
        if (strcmp(oid, GNUTLS_KP_TLS_WWW_SERVER) == 0 || strcmp(oid, GNUTLS_KP_ANY) == 0)
            server_use = 1;
    }
    if (has_purposes && !server_use)
        log_warn("certificate '%s' is not for TLS servers (its extended key usage lacks "
                 "TLS WWW server): clients that verify it will refuse it", path);
    for (i = 0; i < count; i++)
        gnutls_x509_crt_deinit(chain[i]);
    gnutls_free(chain);
}

/* Why a certificate and key pair did not load, in the words a user can act on. */
static const char *key_pair_hint(int code)
{
    switch (code) {
    case GNUTLS_E_CERTIFICATE_KEY_MISMATCH:
        return "";
    case GNUTLS_E_PK_INVALID_PRIVKEY:
    case GNUTLS_E_DECRYPTION_FAILED:
        return " (is the key file a PEM private key, unencrypted?)";
    default: /* no PEM block in one of them, bad Base64, bad DER */
        return " (the certificate file must hold a PEM certificate chain, the key file its "
               "unencrypted PEM private key)";
    }
}

static enum credentials_result certificates_load(const struct tls_settings *cfg,
                                                 struct credentials *creds, char *err,
                                                 size_t err_size)
{
    int rc;

    if ((rc = gnutls_certificate_allocate_credentials(&creds->cert)) < 0) {
        errorf(err, err_size, "certificate credentials: %s", gnutls_strerror(rc));
        return CREDENTIALS_BAD_FILE;
    }
    /* The server loads a CRL it was given even when it asks for no client certificate, so
     * that a missing or garbage file is an error, not silence. */
    if (cfg->system_trust) {
        rc = gnutls_certificate_set_x509_system_trust(creds->cert);
        if (rc <= 0) {
            errorf(err, err_size, "the system's trust store: %s (install ca-certificates, or "
                   "name a CA file)", rc < 0 ? gnutls_strerror(rc) : "no certificate in it");
            return CREDENTIALS_BAD_FILE;
        }
    }
    if ((creds->verify_ca && !cfg->system_trust &&
         load_pem_list(creds->cert, gnutls_certificate_set_x509_trust_file, "CA file",
                       cfg->cafile, "no certificate in it", err, err_size) < 0) ||
        ((creds->verify_ca || cfg->server) && cfg->crlfile != NULL &&
         load_pem_list(creds->cert, gnutls_certificate_set_x509_crl_file, "CRL file",
                       cfg->crlfile, "no revocation list in it", err, err_size) < 0))
        return CREDENTIALS_BAD_FILE;
    if (cfg->certfile != NULL) {
        if (check_readable("certificate file", cfg->certfile, err, err_size) < 0 ||
            check_readable("key file", cfg->keyfile, err, err_size) < 0)
            return CREDENTIALS_BAD_FILE;
        rc = gnutls_certificate_set_x509_key_file2(creds->cert, cfg->certfile, cfg->keyfile,
                                                   GNUTLS_X509_FMT_PEM, NULL, 0);
        if (rc < 0) {
            errorf(err, err_size, "certificate '%s' with key '%s': %s%s", cfg->certfile,
                   cfg->keyfile, gnutls_strerror(rc), key_pair_hint(rc));
            return CREDENTIALS_BAD_FILE;
        }
        creds->own_cert = 1;
        warn_if_expired(creds->cert, cfg->certfile);
        if (cfg->server)
            warn_if_not_for_servers(creds->cert, cfg->certfile);
    }
    if (cfg->rawpk_key != NULL) {
        if (check_readable("raw public key file", cfg->rawpk_pub, err, err_size) < 0 ||
            check_readable("raw private key file", cfg->rawpk_key, err, err_size) < 0)
            return CREDENTIALS_BAD_FILE;
        rc = gnutls_certificate_set_rawpk_key_file(creds->cert, cfg->rawpk_pub, cfg->rawpk_key,
                                                   GNUTLS_X509_FMT_PEM, NULL, 0, NULL, 0, 0, 0);
        if (rc < 0) {
            errorf(err, err_size, "raw public key '%s' with key '%s': %s%s", cfg->rawpk_pub,
                   cfg->rawpk_key, gnutls_strerror(rc), key_pair_hint(rc));
            return CREDENTIALS_BAD_FILE;
        }
    }
    return CREDENTIALS_OK;
}

/* What each mode adds to TLS_DEFAULT_PRIORITY. */
#define TICKET_KEY_SIZE 64 /* what gnutls_session_ticket_enable_server takes (3.7) */
#define PRIORITY_PSK ":+ECDHE-PSK:+DHE-PSK:+PSK:+AES-128-CCM:+AES-128-CCM-8"
#define PRIORITY_ANON ":+ANON-ECDH:+ANON-DH"
#define PRIORITY_RAWPK ":+CTYPE-SRV-RAWPK:+CTYPE-SRV-X509"

/* Our default priority for the modes cfg asks for, or the one given. */
static void priority_text(const struct tls_settings *cfg, char *out, size_t out_size)
{
    int psk = cfg->psk_identity != NULL || cfg->pskfile != NULL;
    int no_certificate = !cfg->server || (!cfg->certfile && !cfg->rawpk_key);

    if (cfg->priority != NULL) {
        snprintf(out, out_size, "%s", cfg->priority);
        return;
    }
    /* Offer only the key exchanges we have credentials for: a GnuTLS server without a
     * certificate fails on a certificate suite (OpenSSL offers those first) instead of
     * moving on to a PSK one. */
    snprintf(out, out_size, "%s%s%s%s%s", TLS_DEFAULT_PRIORITY,
             no_certificate && (psk || cfg->anon) ? ":-KX-ALL" : "",
             psk ? PRIORITY_PSK : "", cfg->anon ? PRIORITY_ANON : "",
             cfg->rawpk_key != NULL || cfg->pin != NULL ? PRIORITY_RAWPK : "");
}

enum credentials_result credentials_load(const struct tls_settings *cfg,
                                         struct credentials *creds, char *err,
                                         size_t err_size)
{
    char priority[512];
    const char *where = NULL;
    enum credentials_result result;
    int rc, psk = cfg->psk_identity != NULL || cfg->pskfile != NULL;

    memset(creds, 0, sizeof(*creds));
    pthread_mutex_init(&creds->ticket_lock, NULL);
    creds->server = cfg->server;
    creds->verify_name = cfg->verify_name;
    creds->require_client_cert = cfg->require_client_cert;
    creds->heartbeat = cfg->heartbeat;
    creds->verify_ca = !cfg->server ? cfg->cafile != NULL || cfg->system_trust
                                    : cfg->require_client_cert;
    verify_data_set(creds);

    if (cfg->keylogfile != NULL) {
        creds->keylog_fd = keyfile_open_append(cfg->keylogfile, "key log file", err, err_size);
        if (creds->keylog_fd < 0)
            return CREDENTIALS_BAD_FILE;
        creds->have_keylog = 1;
    }
    priority_text(cfg, priority, sizeof(priority));
    rc = gnutls_priority_init2(&creds->priority, priority, &where, 0);
    if (rc < 0) {
        creds->priority = NULL;
        errorf(err, err_size, "priority string '%s': %s (at '%s')", priority,
               gnutls_strerror(rc), where ? where : "");
        return CREDENTIALS_BAD_SETTING;
    }
    if (cfg->rawpk_key != NULL || cfg->pin != NULL)
        creds->init_flags |= GNUTLS_ENABLE_RAWPK;
    if (cfg->pin != NULL && (result = pin_load(cfg->pin, creds->pin, err, err_size)))
        return result;
    creds->have_pin = cfg->pin != NULL;
    creds->pin_name = cfg->pin_name != NULL ? cfg->pin_name : "the pinned key";
    if (psk && (result = credentials_psk_load(cfg, creds, err, err_size)) != CREDENTIALS_OK)
        return result;
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
            return CREDENTIALS_BAD_FILE;
        }
    }
    /* Certificates: the server's X.509 or raw key (and CRL), the client's CA, pin or cert. */
    if ((creds->server ? cfg->certfile || cfg->rawpk_key || cfg->require_client_cert ||
                             cfg->crlfile
                       : !psk && !cfg->anon) &&
        (result = certificates_load(cfg, creds, err, err_size)) != CREDENTIALS_OK)
        return result;
    if (creds->server && cfg->ticket_key != NULL) {
        if (credentials_set_ticket_key(creds, cfg->ticket_key) < 0) {
            errorf(err, err_size, "out of memory for the ticket key");
            return CREDENTIALS_BAD_FILE;
        }
    } else if (creds->server &&
               (rc = gnutls_session_ticket_key_generate(&creds->ticket_key)) < 0) {
        errorf(err, err_size, "ticket key: %s", gnutls_strerror(rc));
        return CREDENTIALS_BAD_FILE;
    }
    if (cfg->server && cfg->crlfile != NULL && !cfg->require_client_cert)
        log_warn("CRL file '%s' is loaded but unused: this server asks for no client "
                 "certificate", cfg->crlfile);
    return CREDENTIALS_OK;
}

void credentials_keylog_resumed(gnutls_session_t session)
{
    const struct credentials *creds = gnutls_session_get_ptr(session);
    gnutls_datum_t master;

    if (!creds->have_keylog || !gnutls_session_is_resumed(session))
        return;
    gnutls_session_get_master_secret(session, &master); /* points into the session */
    keylog_write(session, "CLIENT_RANDOM", &master);
}

/* The server's tickets, under the current key (GnuTLS copies it). */
static int enable_tickets(const struct credentials *creds, gnutls_session_t session)
{
    struct credentials *shared = (struct credentials *)creds; /* the lock only */
    int rc;

    pthread_mutex_lock(&shared->ticket_lock);
    rc = gnutls_session_ticket_enable_server(session, &creds->ticket_key);
    pthread_mutex_unlock(&shared->ticket_lock);
    return rc;
}

int credentials_set_ticket_key(struct credentials *creds, const unsigned char *key)
{
    unsigned char *fresh = gnutls_malloc(TICKET_KEY_SIZE), *old;

    if (fresh == NULL)
        return -1;
    memcpy(fresh, key, TICKET_KEY_SIZE);
    pthread_mutex_lock(&creds->ticket_lock);
    old = creds->ticket_key.data;
    creds->ticket_key.data = fresh;
    creds->ticket_key.size = TICKET_KEY_SIZE;
    pthread_mutex_unlock(&creds->ticket_lock);
    if (old != NULL) {
        gnutls_memset(old, 0, TICKET_KEY_SIZE);
        gnutls_free(old);
    }
    return 0;
}

int credentials_session_new(const struct credentials *creds, unsigned flags,
                     gnutls_session_t *out)
{
    gnutls_session_t session;
    int rc;

    rc = gnutls_init(&session, flags | creds->init_flags);
    if (rc < 0)
        return rc;
    gnutls_session_set_ptr(session, (void *)creds);
    if (creds->have_keylog) /* in place of SSLKEYLOGFILE's */
        gnutls_session_set_keylog_function(session, keylog_write);
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
        (creds->server && !(flags & GNUTLS_NO_TICKETS) &&
         (rc = enable_tickets(creds, session)) < 0)) {
        gnutls_deinit(session);
        return rc;
    }
    if (creds->server) {
        /* Answer heartbeat pings from any peer that asks (RFC 6520); send them too
         * when asked (the tunnel's keepalive). */
        gnutls_heartbeat_enable(session, GNUTLS_HB_PEER_ALLOWED_TO_SEND |
                                             (creds->heartbeat ? GNUTLS_HB_LOCAL_ALLOWED_TO_SEND
                                                               : 0));
        if (creds->require_client_cert) {
            gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
            gnutls_session_set_verify_cert2(session, (gnutls_typed_vdata_st *)creds->verify_data,
                                            creds->verify_elements, 0);
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
            gnutls_session_set_verify_cert2(session, (gnutls_typed_vdata_st *)creds->verify_data,
                                            creds->verify_elements, 0);
    }
    *out = session;
    return 0;
}

void credentials_free(struct credentials *creds)
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
    if (creds->have_keylog)
        close(creds->keylog_fd);
    pthread_mutex_destroy(&creds->ticket_lock); /* a zeroed one too: glibc's is plain data */
    memset(creds, 0, sizeof(*creds));
}

size_t credentials_max_record(const struct credentials *creds, unsigned payload_mtu)
{
    enum { RECORD_HEADER = 13, AEAD_EXPLICIT_NONCE = 8, PADDING_LENGTH_BYTE = 1 };
    const unsigned *ciphers, *macs;
    int n_ciphers = gnutls_priority_cipher_list(creds->priority, &ciphers);
    int n_macs = gnutls_priority_mac_list(creds->priority, &macs);
    unsigned least = 0, overhead, mac = 0;
    int i;

    for (i = 0; i < n_macs; i++)
        if (gnutls_hmac_get_len(macs[i]) > 0 && (mac == 0 || gnutls_hmac_get_len(macs[i]) < mac))
            mac = gnutls_hmac_get_len(macs[i]);
    for (i = 0; i < n_ciphers; i++) {
        gnutls_cipher_algorithm_t cipher = ciphers[i];
        unsigned tag = gnutls_cipher_get_tag_size(cipher);
        if (cipher == GNUTLS_CIPHER_CHACHA20_POLY1305) /* its nonce is implicit */
            overhead = RECORD_HEADER + tag;
        else if (tag > 0) /* GCM, CCM */
            overhead = RECORD_HEADER + AEAD_EXPLICIT_NONCE + tag;
        else /* CBC: an explicit IV, the MAC, at least the padding's length byte */
            overhead = RECORD_HEADER + gnutls_cipher_get_block_size(cipher) + mac +
                       PADDING_LENGTH_BYTE;
        if (least == 0 || overhead < least)
            least = overhead;
    }
    if (least == 0)
        least = RECORD_HEADER;
    return payload_mtu > least ? payload_mtu - least : 0;
}
