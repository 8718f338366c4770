/* SPDX-License-Identifier: MIT */
/* credentials.h - what a session of ours authenticates with: certificates, keys, CRL,
 * PSK files, raw public keys, pins, and the priority string. Loaded once, shared
 * read-only by every session and thread. This layer knows no option names: it takes a
 * struct tls_settings of paths, keys and flags, and names files, not options, in errors. */
#ifndef DTLS_ECHO_CREDENTIALS_H
#define DTLS_ECHO_CREDENTIALS_H

#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stddef.h>

/* Our default priority: GnuTLS's NORMAL set, DTLS 1.2 only. */
#define TLS_DEFAULT_PRIORITY "NORMAL:-VERS-ALL:+VERS-DTLS1.2"

/* What to load. NULL and 0 mean "not asked for". */
struct tls_settings {
    int server;
    const char *cafile;           /* trust anchors; the client verifies the server with them,
                                     the server its clients (with require_client_cert) */
    int system_trust;             /* client: the system's trust anchors, instead of cafile */
    const char *crlfile;          /* revocation list, checked with cafile */
    const char *certfile;         /* own certificate chain, with keyfile */
    const char *keyfile;
    const char *rawpk_pub;        /* server: own raw public key (RFC 7250), with rawpk_key */
    const char *rawpk_key;
    const char *pin;              /* client: "sha256:HEX", "sha256//BASE64", or a PEM public
                                     key or certificate file: trust exactly that server key */
    const char *pin_name;         /* what to call the pin in messages (its option) */
    const char *psk_identity;     /* client: the identity to send; server: the only one */
    const char *psk_key;          /* hex */
    const char *pskfile;          /* psktool format, identity:hexkey per line */
    int anon;                     /* anonymous key exchange */
    int require_client_cert;      /* server */
    int heartbeat;                /* may send heartbeat pings (client --heartbeat, a tunnel) */
    const unsigned char *ticket_key; /* server: its 64 bytes, shared by replicas; NULL: a
                                        random one */
    const char *priority;         /* NULL: TLS_DEFAULT_PRIORITY plus what the modes need */
    const char *verify_name;      /* client: the name the server certificate must carry */
    const char *keylogfile;       /* append the session secrets here (NSS key log format) */
};

/* One PSK identity and its key. */
struct psk_entry {
    char *identity;
    unsigned char *key;
    size_t key_len;
};

struct credentials {
    int server;
    gnutls_certificate_credentials_t cert;   /* X.509 or raw public key; NULL: none */
    gnutls_psk_server_credentials_t psk_server;
    gnutls_psk_client_credentials_t psk_client;
    gnutls_anon_server_credentials_t anon_server;
    gnutls_anon_client_credentials_t anon_client;
    gnutls_priority_t priority;
    unsigned init_flags;          /* extra gnutls_init flags (GNUTLS_ENABLE_RAWPK) */
    int verify_ca;                /* check the peer's chain against the CA (and CRL) */
    int own_cert;                 /* an X.509 certificate of our own is loaded */
    int require_client_cert;      /* server */
    int heartbeat;                /* may send heartbeat pings */
    const char *verify_name;      /* client: name to check in the server certificate */
    gnutls_typed_vdata_st verify_data[2]; /* what the peer's chain must show: its purpose
                                             (client or server use) and, on a client, the
                                             name; GnuTLS keeps a pointer to it */
    unsigned verify_elements;
    unsigned char pin[32];        /* client: SHA-256 of the pinned SubjectPublicKeyInfo */
    const char *pin_name;
    int have_pin;
    struct psk_entry *psk;        /* server: identities it knows */
    size_t psk_count;
    gnutls_datum_t ticket_key;    /* server: session ticket key (resumption) */
    pthread_mutex_t ticket_lock;  /* server: guards ticket_key (SIGHUP replaces it) */
    int keylog_fd;                /* the key log, with have_keylog */
    int have_keylog;
};

/* Why credentials_load failed. */
enum credentials_result {
    CREDENTIALS_OK = 0,
    CREDENTIALS_BAD_SETTING, /* a value that cannot work (priority, key, pin): a usage error */
    CREDENTIALS_BAD_FILE,    /* a file missing, unreadable or not what it should be */
};

/* Loads what settings ask for. Returns CREDENTIALS_OK, or another result with one line
 * in err naming the file or value and the problem; creds is then to be freed all the same. */
enum credentials_result credentials_load(const struct tls_settings *settings,
                                         struct credentials *creds, char *err,
                                         size_t err_size);

/* credentials_psk.c, for credentials_load: the PSK file and key of settings, and the
 * server's identity lookup or the client's own key. Returns like credentials_load. */
enum credentials_result credentials_psk_load(const struct tls_settings *settings,
                                             struct credentials *creds, char *err,
                                             size_t err_size);

/* Frees what credentials_load allocated; safe on a zeroed or half-loaded struct. */
void credentials_free(struct credentials *creds);

/* Creates a session with creds applied (credentials, priority, verification, tickets,
 * heartbeat). flags are gnutls_init's. Returns 0, or a negative GnuTLS code. */
int credentials_session_new(const struct credentials *creds, unsigned flags,
                            gnutls_session_t *session);

/* Writes the key log's CLIENT_RANDOM line for a resumed session: GnuTLS 3.7.9 logs a
 * master secret only when it derives one, and a resumed session restores its own, so
 * without this line Wireshark cannot read a resumed session. Nothing for a new session
 * or without a key log. */
void credentials_keylog_resumed(gnutls_session_t session);

/* Writes "sha256:HEX" of the peer's public key (its certificate's or its raw key), the
 * form --pin-pubkey takes. Returns 0, or -1 when the peer presented no key. */
int credentials_peer_pin(gnutls_session_t session, char *out, size_t out_size);

/* Replaces the server's session ticket key (64 bytes) for the sessions made from now on:
 * tickets issued under the old one then get a full handshake. Returns 0, or -1 when out
 * of memory. */
int credentials_set_ticket_key(struct credentials *creds, const unsigned char *key);

/* The largest record any session with creds can carry in a datagram of payload_mtu bytes
 * (IP and UDP headers not counted), with the lightest cipher its priority allows: a
 * larger one cannot fit whatever the handshake picks, and is refused before it. */
size_t credentials_max_record(const struct credentials *creds, unsigned payload_mtu);

/* Decodes len hex digits into out (len / 2 bytes), with gnutls_hex_decode. Returns 0, or
 * -1 on an odd length or a character that is not a hex digit. */
int credentials_hex_decode(const char *hex, size_t len, unsigned char *out);

#endif
