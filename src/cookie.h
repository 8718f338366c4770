/* SPDX-License-Identifier: MIT */
/* cookie.h - the stateless cookie step (RFC 6347, 4.2.1): the server's cookie keys and
 * their rotation, and what the listener does with a datagram before any per-peer state.
 * No allocation and no state per peer here: that is the point of a cookie. */
#ifndef DTLS_ECHO_COOKIE_H
#define DTLS_ECHO_COOKIE_H

#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "udp.h"

/* DTLS record header (13 bytes) + handshake header (12) + a ClientHello body with a
 * version, random, empty session id and cookie, one suite and one compression method.
 * Nothing shorter is a ClientHello; a HelloVerifyRequest (44 bytes in GnuTLS) is shorter,
 * so answering only such datagrams never sends more bytes than it received. */
#define COOKIE_MIN_CLIENT_HELLO (13 + 12 + 2 + 32 + 1 + 1 + 2 + 2 + 1 + 1)

/* Where the client random of a ClientHello datagram starts, and its size. */
#define CLIENT_HELLO_RANDOM_AT (13 + 12 + 2)
#define CLIENT_HELLO_RANDOM_SIZE 32

/* Makes a random cookie key (GNUTLS_COOKIE_KEY_SIZE bytes). Returns 0, or -1 with a reason. */
int cookie_key_new(gnutls_datum_t *key, char *err, size_t err_size);

/* Returns 1 when buf looks like a DTLS ClientHello in epoch 0 and is long enough to be
 * one (so it may be answered), else 0. Reads only what len allows. */
int cookie_is_client_hello(const unsigned char *buf, size_t len);

/* Checks the cookie in the ClientHello buf from peer. Returns 0 and fills *prestate when
 * it is valid, a negative GnuTLS code otherwise. */
int cookie_check(gnutls_datum_t *key, const struct udp_addr *peer, const void *buf,
                 size_t len, gnutls_dtls_prestate_st *prestate);

/* Answers a ClientHello without a valid cookie with a HelloVerifyRequest sent on fd to
 * peer from local (NULL: the socket's own address). Returns bytes sent, or a negative
 * GnuTLS code (GNUTLS_E_PUSH_ERROR with errno set when the send failed). */
int cookie_reply(gnutls_datum_t *key, int fd, const struct udp_addr *peer,
                 const struct udp_addr *local, const unsigned char *hello);

/* The server's cookie keys: the current one, and the previous one, still accepted for one
 * period after a rotation so that a client in the middle of the exchange is not turned
 * away. Rotating keys are not random one by one but derived from a random secret and the
 * number of the period on the monotonic clock (HMAC-SHA256(secret, period)): processes
 * that share the secret (workers forked from one parent) make the same key at the same
 * time without talking to each other. The listener rotates them; any thread may use them. */
#define COOKIE_SECRET_SIZE 32

struct cookie_keys {
    pthread_mutex_t lock;
    gnutls_datum_t current, previous; /* previous.data is NULL for a fixed key until SIGHUP
                                         replaces it */
    unsigned char secret[COOKIE_SECRET_SIZE]; /* rotating keys: what they derive from */
    int64_t period;          /* rotating keys: the number of the current period */
    int64_t next_rotation_ms;
    unsigned period_ms;
    int fixed;               /* the key came from a file (replicas share it): no rotation;
                                next_rotation_ms is when a replaced key stops counting */
    /* --trace: shown each HelloVerifyRequest cookie_reply_current sent (NULL: none). */
    void (*on_reply)(void *ctx, const struct udp_addr *peer, const void *buf, size_t len);
    void *on_reply_ctx;
};

/* Makes the first key: one derived from a random secret and rotated every period_ms, or,
 * when fixed_key is not NULL, its first GNUTLS_COOKIE_KEY_SIZE bytes, never rotated
 * (every replica given the same key file accepts the others' cookies). Returns 0, or -1
 * with a reason. */
int cookie_keys_init(struct cookie_keys *keys, unsigned period_ms,
                     const unsigned char *fixed_key, char *err, size_t err_size);
void cookie_keys_destroy(struct cookie_keys *keys);

/* Rotates the keys when the period is over (the listener calls it). Returns the
 * milliseconds until the next rotation is due, -1 for a fixed key. */
int64_t cookie_keys_rotate(struct cookie_keys *keys, int64_t now_ms);

/* A fixed key read again from its file (SIGHUP): when it changed, it becomes the current
 * key and the one before stays valid for one period. The listener calls it. Returns 1
 * when the key changed, 0 when it is the same, -1 when out of memory. */
int cookie_keys_replace(struct cookie_keys *keys, const unsigned char *key, int64_t now_ms);

/* What the listener does with one datagram. */
enum datagram_verdict {
    DATAGRAM_IGNORE,       /* not a ClientHello: no reply, no state */
    DATAGRAM_SEND_COOKIE,  /* a ClientHello without a valid cookie: HelloVerifyRequest */
    DATAGRAM_CLIENT_HELLO, /* a ClientHello with a valid cookie; *prestate is filled */
};

/* Classifies a datagram from peer, checking its cookie with the current key and then the
 * previous one. Pure apart from reading the keys: no allocation, no I/O. */
enum datagram_verdict cookie_classify(struct cookie_keys *keys, const struct udp_addr *peer,
                                      const unsigned char *buf, size_t len,
                                      gnutls_dtls_prestate_st *prestate);

/* cookie_reply() with the current key; a failed send is logged at debug level (a flood
 * must not flood the log) and is otherwise harmless: the client sends its ClientHello
 * again. Returns what cookie_reply returned. */
int cookie_reply_current(struct cookie_keys *keys, int fd, const struct udp_addr *peer,
                         const struct udp_addr *local, const unsigned char *hello);

#endif
