/* SPDX-License-Identifier: MIT */
/* credentials_psk.c - pre-shared keys: the psktool file (identity:hexkey per line), a key
 * given as hex, the server's lookup of a client's identity, the client's choice of its
 * line. */
#define _GNU_SOURCE
#include "credentials.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "log.h"
#include "platform.h"

int credentials_hex_decode(const char *hex, size_t len, unsigned char *out)
{
    gnutls_datum_t text = {(unsigned char *)hex, (unsigned)len};
    size_t size = len / 2;

    if (len == 0 || len % 2 != 0 || gnutls_hex_decode(&text, out, &size) < 0 ||
        size != len / 2)
        return -1;
    return 0;
}

static int psk_add(struct credentials *creds, const char *identity, size_t identity_len,
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
    if (entry->identity == NULL || entry->key == NULL ||
        credentials_hex_decode(hex, hex_len, entry->key)) {
        free(entry->identity);
        free(entry->key);
        return -1;
    }
    creds->psk_count++;
    return 0;
}

/* Reads a psktool file: "identity:hexkey" per line. */
static int psk_load_file(struct credentials *creds, const char *path, char *err,
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
    const struct credentials *creds = gnutls_session_get_ptr(session);
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

enum credentials_result credentials_psk_load(const struct tls_settings *cfg,
                                             struct credentials *creds, char *err,
                                             size_t err_size)
{
    const struct psk_entry *entry = NULL;
    int rc;
    size_t i;

    if (cfg->pskfile != NULL && psk_load_file(creds, cfg->pskfile, err, err_size) < 0)
        return CREDENTIALS_BAD_FILE;
    if (cfg->psk_key != NULL &&
        psk_add(creds, cfg->psk_identity, strlen(cfg->psk_identity), cfg->psk_key,
                strlen(cfg->psk_key)) < 0) {
        errorf(err, err_size, "PSK key '%s': not an even number of hex digits", cfg->psk_key);
        return CREDENTIALS_BAD_SETTING;
    }
    if (creds->server) {
        if ((rc = gnutls_psk_allocate_server_credentials(&creds->psk_server)) < 0) {
            errorf(err, err_size, "PSK credentials: %s", gnutls_strerror(rc));
            return CREDENTIALS_BAD_FILE;
        }
        gnutls_psk_set_server_credentials_function2(creds->psk_server, psk_lookup);
        gnutls_psk_set_server_known_dh_params(creds->psk_server, GNUTLS_SEC_PARAM_MEDIUM);
        return CREDENTIALS_OK;
    }
    /* Client: the identity picks the line of the PSK file; without one, the first line. */
    for (i = 0; i < creds->psk_count && entry == NULL; i++)
        if (cfg->psk_identity == NULL || strcmp(creds->psk[i].identity, cfg->psk_identity) == 0)
            entry = &creds->psk[i];
    if (entry == NULL) {
        errorf(err, err_size, "PSK file '%s' has no identity '%s'", cfg->pskfile,
               cfg->psk_identity);
        return CREDENTIALS_BAD_SETTING;
    }
    gnutls_datum_t key = {entry->key, (unsigned)entry->key_len};
    if ((rc = gnutls_psk_allocate_client_credentials(&creds->psk_client)) < 0 ||
        (rc = gnutls_psk_set_client_credentials(creds->psk_client, entry->identity, &key,
                                                GNUTLS_PSK_KEY_RAW)) < 0) {
        errorf(err, err_size, "PSK credentials: %s", gnutls_strerror(rc));
        return CREDENTIALS_BAD_FILE;
    }
    return CREDENTIALS_OK;
}
