/* SPDX-License-Identifier: MIT */
/* registry.c - the table of served peers, and the decisions that depend on it. */
#include "registry.h"

#include <string.h>

#include "cookie.h"

static unsigned bucket_of(const struct udp_addr *peer)
{
    unsigned char key[UDP_ADDR_KEY_MAX];
    size_t i, len = udp_addr_key(peer, key);
    unsigned hash = 2166136261u; /* FNV-1a */

    for (i = 0; i < len; i++)
        hash = (hash ^ key[i]) * 16777619u;
    return hash % REGISTRY_BUCKETS;
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
    unsigned bucket = bucket_of(&entry->peer);

    entry->next = r->buckets[bucket];
    r->buckets[bucket] = entry;
    r->count++;
}

void registry_remove(struct registry *r, struct registry_entry *entry)
{
    struct registry_entry **link = &r->buckets[bucket_of(&entry->peer)];

    while (*link != NULL && *link != entry)
        link = &(*link)->next;
    if (*link == entry) {
        *link = entry->next;
        r->count--;
    }
    entry->next = NULL;
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
                                          const struct udp_addr *peer, unsigned max_clients)
{
    if (registry_find(r, peer) != NULL)
        return HELLO_DUPLICATE;
    if (r->count >= max_clients)
        return HELLO_REFUSE;
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
