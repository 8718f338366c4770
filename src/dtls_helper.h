/* dtls_helper.h - GnuTLS glue shared by the server and the client: global init and
 * logging, credentials, priorities, the stateless cookie step, MTU, non-blocking waits,
 * and turning GnuTLS errors into log lines. */
#ifndef DTLS_ECHO_DTLS_HELPER_H
#define DTLS_ECHO_DTLS_HELPER_H

#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "options.h"
#include "udp.h"

/* DTLS record header (13 bytes) + handshake header (12) + a ClientHello body with a
 * version, random, empty session id and cookie, one suite and one compression method.
 * Nothing shorter is a ClientHello; a HelloVerifyRequest (44 bytes in GnuTLS) is shorter,
 * so answering only such datagrams never sends more bytes than it received. */
#define DTLS_MIN_CLIENT_HELLO (13 + 12 + 2 + 32 + 1 + 1 + 2 + 2 + 1 + 1)

/* Initialises GnuTLS and, at LOG_TRACE + 1 (-vvv), routes its log to ours. Returns 0 or -1. */
int dtls_global_init(int log_level, char *err, size_t err_size);
void dtls_global_deinit(void);

/* One PSK identity and its key (from --psk-identity/--psk-key or a --pskfile line). */
struct psk_entry {
    char *identity;
    unsigned char *key;
    size_t key_len;
};

/* Everything a session of ours is set up with: credentials for each authentication mode
 * the options ask for, the compiled priority string, and what verification needs.
 * Loaded once; shared read-only by every session and thread. */
struct dtls_credentials {
    int server;
    gnutls_certificate_credentials_t cert;   /* X.509 or raw public key; NULL: none */
    gnutls_psk_server_credentials_t psk_server;
    gnutls_psk_client_credentials_t psk_client;
    gnutls_anon_server_credentials_t anon_server;
    gnutls_anon_client_credentials_t anon_client;
    gnutls_priority_t priority;
    unsigned init_flags;          /* extra gnutls_init flags (GNUTLS_ENABLE_RAWPK) */
    int verify_ca;                /* check the peer's chain against the CA (and CRL) */
    int require_client_cert;      /* server */
    int heartbeat;                /* client: may send heartbeat pings */
    const char *verify_name;      /* client: name to check in the server certificate */
    unsigned char pin[32];        /* client: SHA-256 of the pinned SubjectPublicKeyInfo */
    int have_pin;
    struct psk_entry *psk;        /* server: identities it knows */
    size_t psk_count;
    gnutls_datum_t ticket_key;    /* server: session ticket key (resumption) */
};

/* Loads the credentials, pin, PSK table and priority cfg asks for. verify_name is the
 * client's expected server name (NULL on the server). Returns 0, or an exit code
 * (EXIT_USAGE for a bad --priority or key, EXIT_RUNTIME for files) with a line in err
 * that names the file and the problem. */
int dtls_credentials_load(const struct config *cfg, const char *verify_name,
                          struct dtls_credentials *creds, char *err, size_t err_size);

/* Creates a session with creds applied (credentials, priority, verification, tickets,
 * heartbeat). flags are gnutls_init's. Returns 0, or a negative GnuTLS code. */
int dtls_session_new(const struct dtls_credentials *creds, unsigned flags,
                     gnutls_session_t *session);

/* A client's handshake attempt lasts this many --timeout periods: GnuTLS retransmits after
 * 1, 3 and 7 of them (its timer doubles), which rides out loss; only a stalled session
 * needs a new one. */
#define DTLS_HANDSHAKE_ROUNDS 8

/* A client session's transport: its connected socket, and the errno of the last failed
 * send or receive (ECONNREFUSED: nothing listens there). */
struct dtls_transport {
    int fd;
    int last_errno;
    unsigned reads;   /* datagrams pulled, for dtls_handshake() */
};

/* Creates a non-blocking client session over transport: SNI for server_name when it is a
 * DNS name, the MTU for path_mtu towards peer, a first retransmission after timeout_ms
 * and a handshake limit of total_ms. Returns 0, or a negative GnuTLS code. */
int dtls_client_session_new(const struct dtls_credentials *creds, const char *server_name,
                            unsigned path_mtu, const struct udp_addr *peer,
                            unsigned timeout_ms, unsigned total_ms,
                            struct dtls_transport *transport, gnutls_session_t *session);

/* Frees what dtls_credentials_load allocated. */
void dtls_credentials_free(struct dtls_credentials *creds);

/* Makes a random cookie key (GNUTLS_COOKIE_KEY_SIZE bytes). Returns 0 or -1. */
int dtls_cookie_key_new(gnutls_datum_t *key, char *err, size_t err_size);

/* Returns 1 when buf looks like a DTLS ClientHello in epoch 0 and is long enough to be
 * one (so it may be answered), else 0. Reads only what len allows. */
int dtls_is_client_hello(const unsigned char *buf, size_t len);

/* Checks the cookie in the ClientHello buf from peer. Returns 0 and fills *prestate when
 * it is valid, a negative GnuTLS code otherwise. */
int dtls_cookie_check(gnutls_datum_t *key, const struct udp_addr *peer, const void *buf,
                      size_t len, gnutls_dtls_prestate_st *prestate);

/* Answers a ClientHello without a valid cookie with a HelloVerifyRequest sent on fd to
 * peer from local (NULL: the socket's own address). Returns bytes sent, or negative. */
int dtls_cookie_reply(gnutls_datum_t *key, int fd, const struct udp_addr *peer,
                      const struct udp_addr *local);

/* The server's cookie keys: the current one, and the previous one, still accepted for one
 * period after a rotation so that a client in the middle of the exchange is not turned
 * away (RFC 6347, 4.2.1). The listener rotates them; any thread may use them. */
struct cookie_keys {
    pthread_mutex_t lock;
    gnutls_datum_t current, previous; /* previous.data is NULL until the first rotation */
    int64_t next_rotation_ms;
    unsigned period_ms;
};

/* Makes the first random key, to rotate every period_ms. Returns 0, or -1 with a reason. */
int cookie_keys_init(struct cookie_keys *keys, unsigned period_ms, char *err, size_t err_size);
void cookie_keys_destroy(struct cookie_keys *keys);

/* Rotates the keys when the period is over (the listener calls it). Returns the
 * milliseconds until the next rotation is due. */
int64_t cookie_keys_rotate(struct cookie_keys *keys, int64_t now_ms);

/* What the listener does with one datagram. */
enum datagram_verdict {
    DATAGRAM_IGNORE,       /* not a ClientHello: no reply, no state */
    DATAGRAM_SEND_COOKIE,  /* a ClientHello without a valid cookie: HelloVerifyRequest */
    DATAGRAM_CLIENT_HELLO, /* a ClientHello with a valid cookie; *prestate is filled */
};

/* Classifies a datagram from peer, checking its cookie with the current key and then the
 * previous one. Pure apart from reading the keys: no allocation, no I/O. */
enum datagram_verdict dtls_classify_datagram(struct cookie_keys *keys,
                                             const struct udp_addr *peer,
                                             const unsigned char *buf, size_t len,
                                             gnutls_dtls_prestate_st *prestate);

/* dtls_cookie_reply() with the current key. */
int dtls_cookie_reply_current(struct cookie_keys *keys, int fd, const struct udp_addr *peer,
                              const struct udp_addr *local);

/* Sets the session's MTU from a path MTU that includes IP and UDP headers. */
void dtls_set_path_mtu(gnutls_session_t session, unsigned path_mtu, const struct udp_addr *peer);

/* gnutls_handshake() on a non-blocking session, called again (a few times at most) while
 * a call pulled datagrams and still returned GNUTLS_E_AGAIN. GnuTLS 3.7.9 can return
 * GNUTLS_E_AGAIN with a record it read still unprocessed in its buffers: the socket is
 * empty, so a poll() would sleep until the retransmission timer (1 s), and that stall was
 * seen in a third of 2,400-handshake runs. reads counts the transport's successful
 * pulls. Returns what gnutls_handshake returned last. */
int dtls_handshake(gnutls_session_t session, const unsigned *reads);

/* Milliseconds, and microseconds, on the monotonic clock. */
int64_t dtls_now_ms(void);
int64_t dtls_now_us(void);

/* Waits for fd (or stop_fd) until GnuTLS's retransmission timer or deadline_ms
 * (monotonic, -1: none) comes, whichever is first. Returns 1 if fd is readable, 2 if
 * stop_fd is, 0 when the time is up (call GnuTLS again: it retransmits), -1 on error. */
int dtls_wait(gnutls_session_t session, int fd, int stop_fd, int64_t deadline_ms);

/* When a handshake stalls after the key exchange, the peer's Finished never decrypted:
 * DTLS drops such records silently, so a wrong PSK key looks like loss. Returns a hint
 * naming that cause for a timed-out session, or NULL when it stalled elsewhere. */
const char *dtls_stall_hint(gnutls_session_t session, int server);

/* Sends close_notify (gnutls_bye with GNUTLS_SHUT_WR: the peer's answer is not awaited),
 * retrying a full socket buffer for a few milliseconds. Logs a failure for who. */
void dtls_close_notify(gnutls_session_t session, const char *who);

/* Ends a client session: close_notify first when its handshake was done (as
 * dtls_close_notify), then the session and the transport's socket; either may be gone
 * already. who names the peer in a log line. */
void dtls_client_close(gnutls_session_t *session, struct dtls_transport *transport,
                       int established, const char *who);

/* Logs "- Session: (DTLS1.2)-(ECDHE-SECP256R1)-(ECDSA-SHA256)-(AES-256-GCM)" at -v. */
void dtls_log_session(gnutls_session_t session, const char *who);

/* Logs "who: what: <gnutls_strerror(code)>" at level, adding the verification status
 * when code is a certificate verification error. */
void dtls_log_failure(int level, gnutls_session_t session, const char *who, const char *what,
                      int code);

#endif
