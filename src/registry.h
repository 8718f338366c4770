/* SPDX-License-Identifier: MIT */
/* registry.h - which peers the server serves, by whole address, and the decisions about
 * a datagram that depend on it: a new client, a duplicate ClientHello, a client that
 * restarted on the same address and port, another peer's datagram. The decisions are
 * pure functions (no lock, no I/O), tested by tests/unit/test_registry.c; the caller
 * holds whatever lock guards the table. */
#ifndef DTLS_ECHO_REGISTRY_H
#define DTLS_ECHO_REGISTRY_H

#include <stddef.h>

#include "udp.h"

#define REGISTRY_BUCKETS 4096

/* Embedded in what the caller registers (the server's struct client). */
struct registry_entry {
    struct registry_entry *next;        /* in its bucket by whole address */
    struct registry_entry *source_next; /* in its bucket by source address (no port) */
    struct udp_addr peer;
    int handshaking;                    /* its handshake is under way */
};

struct registry {
    struct registry_entry *buckets[REGISTRY_BUCKETS];
    struct registry_entry *sources[REGISTRY_BUCKETS];
    unsigned count;       /* entries */
    unsigned handshaking; /* entries whose handshake is under way */
};

/* The entry for peer, or NULL. */
struct registry_entry *registry_find(const struct registry *r, const struct udp_addr *peer);

/* Adds entry (its peer set, not yet in the table), handshaking. */
void registry_add(struct registry *r, struct registry_entry *entry);

/* entry's handshake is over (done or failed): it no longer counts as handshaking. */
void registry_handshake_over(struct registry *r, struct registry_entry *entry);

/* Entries from peer's address (any port) whose handshake is under way, counted up to
 * limit. */
unsigned registry_source_handshakes(const struct registry *r, const struct udp_addr *peer,
                                    unsigned limit);

/* Removes entry; nothing happens when it is not in the table. */
void registry_remove(struct registry *r, struct registry_entry *entry);

/* Calls fn for every entry (the caller may not add or remove meanwhile). */
void registry_each(const struct registry *r, void (*fn)(struct registry_entry *, void *),
                   void *ctx);

/* What the listener does with a ClientHello that carries a valid cookie. */
enum hello_decision {
    HELLO_ACCEPT,    /* a new client: make its socket, register it, start its session */
    HELLO_DUPLICATE, /* a retransmission from a served peer: its own thread answers it */
    HELLO_REFUSE,    /* --max-clients are served already (the refusals follow in this
                        order: the server counts them by decision - HELLO_REFUSE) */
    HELLO_REFUSE_HANDSHAKES, /* --max-handshakes are under way already */
    HELLO_REFUSE_SOURCE, /* --max-handshakes-per-source are under way from its address */
};

/* The limits a new client meets. */
struct hello_limits {
    unsigned max_clients;      /* sessions in all */
    unsigned max_handshakes;   /* sessions still handshaking, in all */
    unsigned max_per_source;   /* sessions still handshaking from one address (any port) */
};

enum hello_decision registry_decide_hello(const struct registry *r,
                                          const struct udp_addr *peer,
                                          const struct hello_limits *limits);

/* What a session thread does with a datagram read on its own socket. */
enum datagram_owner {
    OWNER_SESSION,   /* its peer's record: hand it to GnuTLS */
    OWNER_FOREIGN,   /* another peer's (read in the bind-to-connect window): to the listener */
    OWNER_NEW_HANDSHAKE, /* its peer began a new handshake: a restart, if the cookie is valid */
};

/* Decides for a datagram buf from `from`, on the socket of the session with peer that
 * began with the ClientHello first_hello; established: its handshake is done. A
 * retransmitted ClientHello, or one re-sent after a second HelloVerifyRequest, keeps the
 * client random and belongs to the session; a ClientHello with a new random, or any
 * ClientHello once the handshake is done, is a new handshake. */
enum datagram_owner registry_datagram_owner(const struct udp_addr *peer,
                                            const unsigned char *first_hello,
                                            size_t first_hello_len, int established,
                                            const struct udp_addr *from,
                                            const unsigned char *buf, size_t len);

#endif
