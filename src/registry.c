/* SPDX-License-Identifier: MIT */
/* registry.c - the table of served peers, and the decisions that depend on it. */
#include "registry.h"

#include <string.h>

#include "cookie.h"

/* FNV-1a of a key, skipping the port (bytes 1 and 2 of udp_addr_key's) when
 * without_port: the bucket by source address. */
static unsigned hash_key(const struct udp_addr *peer, int without_port)
{
    unsigned char key[UDP_ADDR_KEY_MAX];
    size_t i, len = udp_addr_key(peer, key);
    unsigned hash = 2166136261u;

    if (without_port)
        key[1] = key[2] = 0;
    for (i = 0; i < len; i++)
        hash = (hash ^ key[i]) * 16777619u;
    return hash % REGISTRY_BUCKETS;
}

static unsigned bucket_of(const struct udp_addr *peer)
{
    return hash_key(peer, 0);
}

/* Whether a and b are the same address, whatever their ports. */
static int same_source(const struct udp_addr *a, const struct udp_addr *b)
{
    unsigned char key_a[UDP_ADDR_KEY_MAX], key_b[UDP_ADDR_KEY_MAX];
    size_t len_a = udp_addr_key(a, key_a), len_b = udp_addr_key(b, key_b);

    key_a[1] = key_a[2] = key_b[1] = key_b[2] = 0;
    return len_a == len_b && memcmp(key_a, key_b, len_a) == 0;
}

struct registry_entry *registry_find(const struct registry *r, const struct udp_addr *peer)
{
    struct registry_entry *e;

    for (e = r->buckets[bucket_of(peer)]; e != NULL; e = e->next)
        if (udp_addr_equal(&e->peer, peer))
            return e;
    return NULL;
}

void registry_add(struct registry *r, struct registry_entry *entry)
{
    unsigned bucket = bucket_of(&entry->peer), source = hash_key(&entry->peer, 1);

    entry->next = r->buckets[bucket];
    r->buckets[bucket] = entry;
    entry->source_next = r->sources[source];
    r->sources[source] = entry;
    entry->handshaking = 1;
    r->count++;
    r->handshaking++;
}

void registry_handshake_over(struct registry *r, struct registry_entry *entry)
{
    if (entry->handshaking) {
        entry->handshaking = 0;
        r->handshaking--;
    }
}

unsigned registry_source_handshakes(const struct registry *r, const struct udp_addr *peer,
                                    unsigned limit)
{
    const struct registry_entry *e;
    unsigned n = 0;

    for (e = r->sources[hash_key(peer, 1)]; e != NULL && n < limit; e = e->source_next)
        n += e->handshaking && same_source(&e->peer, peer);
    return n;
}

void registry_remove(struct registry *r, struct registry_entry *entry)
{
    struct registry_entry **link = &r->buckets[bucket_of(&entry->peer)];

    while (*link != NULL && *link != entry)
        link = &(*link)->next;
    if (*link == entry) {
        *link = entry->next;
        r->count--;
        registry_handshake_over(r, entry);
        link = &r->sources[hash_key(&entry->peer, 1)];
        while (*link != NULL && *link != entry)
            link = &(*link)->source_next;
        if (*link == entry)
            *link = entry->source_next;
    }
    entry->next = entry->source_next = NULL;
}

void registry_each(const struct registry *r, void (*fn)(struct registry_entry *, void *),
                   void *ctx)
{
    struct registry_entry *e;
    unsigned i;

    for (i = 0; i < REGISTRY_BUCKETS; i++)
        for (e = r->buckets[i]; e != NULL; e = e->next)
            fn(e, ctx);
}

enum hello_decision registry_decide_hello(const struct registry *r,
                                          const struct udp_addr *peer,
                                          const struct hello_limits *limits)
{
    if (registry_find(r, peer) != NULL)
        return HELLO_DUPLICATE;
    if (r->count >= limits->max_clients)
        return HELLO_REFUSE;
    if (r->handshaking >= limits->max_handshakes)
        return HELLO_REFUSE_HANDSHAKES;
    if (registry_source_handshakes(r, peer, limits->max_per_source) >= limits->max_per_source)
        return HELLO_REFUSE_SOURCE;
    return HELLO_ACCEPT;
}

/* Whether two ClientHellos belong to one handshake attempt: the same client random.
 * (Comparing whole messages would take the re-cookied one for a restart and start a
 * second session under a handshake in progress.) */
static int same_attempt(const unsigned char *a, size_t a_len, const unsigned char *b,
                        size_t b_len)
{
    enum { END = CLIENT_HELLO_RANDOM_AT + CLIENT_HELLO_RANDOM_SIZE };

    return a_len >= END && b_len >= END &&
           memcmp(a + CLIENT_HELLO_RANDOM_AT, b + CLIENT_HELLO_RANDOM_AT,
                  CLIENT_HELLO_RANDOM_SIZE) == 0;
}

enum datagram_owner registry_datagram_owner(const struct udp_addr *peer,
                                            const unsigned char *first_hello,
                                            size_t first_hello_len, int established,
                                            const struct udp_addr *from,
                                            const unsigned char *buf, size_t len)
{
    if (!udp_addr_equal(from, peer))
        return OWNER_FOREIGN;
    if (cookie_is_client_hello(buf, len) &&
        (established || !same_attempt(buf, len, first_hello, first_hello_len)))
        return OWNER_NEW_HANDSHAKE;
    return OWNER_SESSION;
}
