/* SPDX-License-Identifier: MIT */
/* cookie.c - cookie keys, their rotation, and classifying a datagram before any state. */
#define _GNU_SOURCE
#include "cookie.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <string.h>

#include "clock.h"
#include "log.h"

int cookie_key_new(gnutls_datum_t *key, char *err, size_t err_size)
{
    int rc = gnutls_key_generate(key, GNUTLS_COOKIE_KEY_SIZE);

    if (rc < 0)
        return errorf(err, err_size, "gnutls_key_generate: %s", gnutls_strerror(rc));
    return 0;
}

int cookie_is_client_hello(const unsigned char *buf, size_t len)
{
    enum { CONTENT_HANDSHAKE = 22, HANDSHAKE_CLIENT_HELLO = 1, DTLS_MAJOR = 0xfe };

    /* Record: type, version (2), epoch (2), sequence (6), length (2); then the handshake
     * header starts with its type. Epoch 0: a ClientHello is never encrypted. */
    return len >= COOKIE_MIN_CLIENT_HELLO && buf[0] == CONTENT_HANDSHAKE &&
           buf[1] == DTLS_MAJOR && buf[3] == 0 && buf[4] == 0 &&
           buf[13] == HANDSHAKE_CLIENT_HELLO;
}

int cookie_check(gnutls_datum_t *key, const struct udp_addr *peer, const void *buf,
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
    const struct cookie_keys *keys; /* its on_reply; NULL: none */
    const unsigned char *hello;     /* the ClientHello answered */
};

#define RECORD_SEQ_AT 5   /* a DTLS record header's 48-bit sequence number: bytes 5-10 */
#define RECORD_SEQ_SIZE 6
#define HVR_MAX 128       /* a HelloVerifyRequest: 25 bytes of headers, 3 + a cookie */

/* Sends the HelloVerifyRequest with the ClientHello's record sequence number (RFC 6347
 * 4.2.1: so that a client's retransmitted ClientHellos and their answers never share
 * one), which gnutls_dtls_cookie_send leaves at 0 for a zeroed prestate and can set only
 * in its low byte. */
static ssize_t cookie_push(gnutls_transport_ptr_t ptr, const void *buf, size_t size)
{
    const struct cookie_destination *dest = ptr;
    unsigned char hvr[HVR_MAX];
    ssize_t sent;

    if (size > sizeof(hvr) || size < RECORD_SEQ_AT + RECORD_SEQ_SIZE) {
        errno = EMSGSIZE;
        return -1;
    }
    memcpy(hvr, buf, size);
    memcpy(hvr + RECORD_SEQ_AT, dest->hello + RECORD_SEQ_AT, RECORD_SEQ_SIZE);
    buf = hvr;
    sent = udp_send(dest->fd, buf, size, dest->peer, dest->local);

    if (sent > 0 && dest->keys != NULL && dest->keys->on_reply != NULL)
        dest->keys->on_reply(dest->keys->on_reply_ctx, dest->peer, buf, (size_t)sent);
    return sent;
}

/* cookie_reply, telling keys' on_reply what it sent (keys NULL: no one). */
static int reply(gnutls_datum_t *key, const struct cookie_keys *keys, int fd,
                 const struct udp_addr *peer, const struct udp_addr *local,
                 const unsigned char *hello)
{
    struct cookie_destination dest = {fd, peer, local, keys, hello};
    gnutls_dtls_prestate_st prestate;
    unsigned char peer_key[UDP_ADDR_KEY_MAX];
    size_t peer_key_len = udp_addr_key(peer, peer_key);

    memset(&prestate, 0, sizeof(prestate));
    return gnutls_dtls_cookie_send(key, peer_key, peer_key_len, &prestate, &dest, cookie_push);
}

int cookie_reply(gnutls_datum_t *key, int fd, const struct udp_addr *peer,
                 const struct udp_addr *local, const unsigned char *hello)
{
    return reply(key, NULL, fd, peer, local, hello);
}

/* Copies GNUTLS_COOKIE_KEY_SIZE bytes of key into a datum GnuTLS allocates. */
static int copy_key(gnutls_datum_t *out, const unsigned char *key)
{
    out->data = gnutls_malloc(GNUTLS_COOKIE_KEY_SIZE);
    if (out->data == NULL)
        return -1;
    memcpy(out->data, key, GNUTLS_COOKIE_KEY_SIZE);
    out->size = GNUTLS_COOKIE_KEY_SIZE;
    return 0;
}

/* The key of period number period: HMAC-SHA256(secret, period), its first bytes. */
static int derive_key(const struct cookie_keys *keys, int64_t period, unsigned char *out)
{
    unsigned char digest[32];
    uint64_t number = (uint64_t)period;

    if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, keys->secret, sizeof(keys->secret), &number,
                         sizeof(number), digest) < 0)
        return -1;
    memcpy(out, digest, GNUTLS_COOKIE_KEY_SIZE);
    gnutls_memset(digest, 0, sizeof(digest));
    return 0;
}

/* Makes the current and previous keys those of the period now_ms is in. */
static int derive_keys(struct cookie_keys *keys, int64_t now_ms)
{
    unsigned char current[GNUTLS_COOKIE_KEY_SIZE], previous[GNUTLS_COOKIE_KEY_SIZE];
    int64_t period = now_ms / keys->period_ms;

    if (derive_key(keys, period, current) < 0 || derive_key(keys, period - 1, previous) < 0)
        return -1;
    pthread_mutex_lock(&keys->lock);
    memcpy(keys->current.data, current, sizeof(current));
    memcpy(keys->previous.data, previous, sizeof(previous));
    pthread_mutex_unlock(&keys->lock);
    gnutls_memset(current, 0, sizeof(current));
    gnutls_memset(previous, 0, sizeof(previous));
    keys->period = period;
    keys->next_rotation_ms = (period + 1) * keys->period_ms;
    return 0;
}

int cookie_keys_init(struct cookie_keys *keys, unsigned period_ms,
                     const unsigned char *fixed_key, char *err, size_t err_size)
{
    static const unsigned char zero[GNUTLS_COOKIE_KEY_SIZE];
    int rc;

    memset(keys, 0, sizeof(*keys));
    pthread_mutex_init(&keys->lock, NULL);
    keys->period_ms = period_ms;
    if (fixed_key != NULL) {
        if (copy_key(&keys->current, fixed_key) < 0)
            return errorf(err, err_size, "out of memory for the cookie key");
        keys->fixed = 1;
        keys->next_rotation_ms = INT64_MAX;
        return 0;
    }
    if (copy_key(&keys->current, zero) < 0 || copy_key(&keys->previous, zero) < 0)
        return errorf(err, err_size, "out of memory for the cookie keys");
    if ((rc = gnutls_rnd(GNUTLS_RND_KEY, keys->secret, sizeof(keys->secret))) < 0)
        return errorf(err, err_size, "cookie secret: %s", gnutls_strerror(rc));
    if (derive_keys(keys, clock_now_ms()) < 0)
        return errorf(err, err_size, "cookie key: HMAC-SHA256 failed");
    return 0;
}

int cookie_keys_replace(struct cookie_keys *keys, const unsigned char *key, int64_t now_ms)
{
    gnutls_datum_t fresh;

    if (memcmp(keys->current.data, key, GNUTLS_COOKIE_KEY_SIZE) == 0)
        return 0;
    if (copy_key(&fresh, key) < 0)
        return -1;
    pthread_mutex_lock(&keys->lock);
    gnutls_free(keys->previous.data);
    keys->previous = keys->current;
    keys->current = fresh;
    pthread_mutex_unlock(&keys->lock);
    keys->next_rotation_ms = now_ms + keys->period_ms; /* when the previous one goes */
    return 1;
}

void cookie_keys_destroy(struct cookie_keys *keys)
{
    if (keys->current.data == NULL)
        return;
    gnutls_memset(keys->current.data, 0, keys->current.size);
    gnutls_free(keys->current.data);
    if (keys->previous.data != NULL)
        gnutls_memset(keys->previous.data, 0, keys->previous.size);
    gnutls_free(keys->previous.data);
    pthread_mutex_destroy(&keys->lock);
    gnutls_memset(keys, 0, sizeof(*keys));
}

int64_t cookie_keys_rotate(struct cookie_keys *keys, int64_t now_ms)
{
    if (keys->fixed && keys->next_rotation_ms == INT64_MAX)
        return -1; /* nothing due: no rotation, no previous key to drop */
    if (now_ms < keys->next_rotation_ms)
        return keys->next_rotation_ms - now_ms;
    if (keys->fixed) {
        /* No rotation: the previous key of a replaced file has had its period. */
        pthread_mutex_lock(&keys->lock);
        gnutls_free(keys->previous.data);
        keys->previous.data = NULL;
        keys->previous.size = 0;
        pthread_mutex_unlock(&keys->lock);
        keys->next_rotation_ms = INT64_MAX;
        return -1;
    }
    if (derive_keys(keys, now_ms) < 0) {
        log_warn("cookie key not rotated: HMAC-SHA256 failed");
        keys->next_rotation_ms = now_ms + keys->period_ms;
    } else {
        log_debug("cookie key rotated");
    }
    return keys->next_rotation_ms - now_ms;
}

enum datagram_verdict cookie_classify(struct cookie_keys *keys, const struct udp_addr *peer,
                                      const unsigned char *buf, size_t len,
                                      gnutls_dtls_prestate_st *prestate)
{
    unsigned char current[GNUTLS_COOKIE_KEY_SIZE], previous[GNUTLS_COOKIE_KEY_SIZE];
    gnutls_datum_t current_key = {current, sizeof(current)};
    gnutls_datum_t previous_key = {previous, sizeof(previous)};
    int has_previous;

    if (!cookie_is_client_hello(buf, len))
        return DATAGRAM_IGNORE;
    /* A copy, so the lock is not held while GnuTLS computes the MAC. */
    pthread_mutex_lock(&keys->lock);
    memcpy(current, keys->current.data, sizeof(current));
    has_previous = keys->previous.data != NULL;
    if (has_previous)
        memcpy(previous, keys->previous.data, sizeof(previous));
    pthread_mutex_unlock(&keys->lock);
    if (cookie_check(&current_key, peer, buf, len, prestate) == 0 ||
        (has_previous && cookie_check(&previous_key, peer, buf, len, prestate) == 0))
        return DATAGRAM_CLIENT_HELLO;
    return DATAGRAM_SEND_COOKIE;
}

int cookie_reply_current(struct cookie_keys *keys, int fd, const struct udp_addr *peer,
                         const struct udp_addr *local, const unsigned char *hello)
{
    unsigned char current[GNUTLS_COOKIE_KEY_SIZE];
    gnutls_datum_t key = {current, sizeof(current)};
    int rc;

    pthread_mutex_lock(&keys->lock);
    memcpy(current, keys->current.data, sizeof(current));
    pthread_mutex_unlock(&keys->lock);
    rc = reply(&key, keys, fd, peer, local, hello);
    if (rc < 0 && log_enabled(LOG_DEBUG)) {
        char text[UDP_ADDR_TEXT_MAX];
        udp_addr_to_text(peer, text, sizeof(text));
        log_debug("hello verify request to %s not sent: %s (%s)", text, gnutls_strerror(rc),
                  strerror(errno));
    }
    return rc;
}
