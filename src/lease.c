/* SPDX-License-Identifier: MIT */
/* lease.c - the tunnel's networks and the leases of their addresses (see lease.h). */
#define _GNU_SOURCE
#include "lease.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "platform.h"
#include "sockets.h"

int ip_prefix_parse(const char *what, const char *text, struct ip_prefix *out, char *err,
                    size_t err_size)
{
    char address[INET6_ADDRSTRLEN + 1], *end;
    const char *slash = strchr(text, '/');
    size_t address_len = slash != NULL ? (size_t)(slash - text) : 0;
    unsigned long len;
    unsigned bits, longest, i;

    memset(out, 0, sizeof(*out));
    if (slash == NULL || address_len == 0 || address_len >= sizeof(address) ||
        slash[1] < '0' || slash[1] > '9')
        return errorf(err, err_size, "%s: '%s' is not a network such as 10.77.0.0/24", what,
                      text);
    memcpy(address, text, address_len);
    address[address_len] = '\0';
    if (inet_pton(AF_INET, address, out->addr) == 1) {
        out->family = AF_INET;
        bits = 32;
        longest = 30; /* the network, the server, a client, the broadcast address */
    } else if (inet_pton(AF_INET6, address, out->addr) == 1) {
        out->family = AF_INET6;
        bits = 128;
        longest = 126;
    } else {
        return errorf(err, err_size, "%s: '%s' is not an IPv4 or IPv6 address", what, address);
    }
    errno = 0;
    len = strtoul(slash + 1, &end, 10);
    if (errno != 0 || *end != '\0' || len > bits)
        return errorf(err, err_size, "%s: '%s' has no prefix length from 0 to %u", what, text,
                      bits);
    if (len > longest)
        return errorf(err, err_size, "%s: /%lu leaves no address for a client: /%u at most",
                      what, len, longest);
    for (i = (unsigned)len; i < bits; i++) {
        if (out->addr[i / 8] & (0x80 >> (i % 8))) {
            for (; i < bits; i++) /* the network it is in, to name in the error */
                out->addr[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
            ip_address_text(out->family, out->addr, address, sizeof(address));
            return errorf(err, err_size, "%s: '%s' has host bits set: the network is %s/%lu",
                          what, text, address, len);
        }
    }
    out->len = (unsigned)len;
    return 0;
}

void ip_prefix_host(const struct ip_prefix *prefix, uint32_t index, unsigned char out[16])
{
    size_t size = prefix->family == AF_INET ? 4 : 16;
    uint64_t carry = index;
    size_t i;

    memcpy(out, prefix->addr, size);
    for (i = size; i-- > 0 && carry > 0;) {
        carry += out[i];
        out[i] = (unsigned char)carry;
        carry >>= 8;
    }
}

void ip_address_text(int family, const unsigned char *addr, char *out, size_t out_size)
{
    if (inet_ntop(family, addr, out, (socklen_t)out_size) == NULL)
        snprintf(out, out_size, "?");
}

/* Client addresses a network holds: all but the network's own, the server's and, for
 * IPv4, the broadcast address. */
static uint64_t client_hosts(const struct ip_prefix *net)
{
    unsigned host_bits = (net->family == AF_INET ? 32 : 128) - net->len;

    if (host_bits >= 32)
        return LEASE_MAX;
    return ((uint64_t)1 << host_bits) - (net->family == AF_INET ? 3 : 2);
}

int lease_pool_init(struct lease_pool *pool, const struct ip_prefix *net4,
                    const struct ip_prefix *net6, unsigned lease_s, void (*kick)(void *),
                    char *err, size_t err_size)
{
    uint64_t size = client_hosts(net4);

    memset(pool, 0, sizeof(*pool));
    pool->net4 = *net4;
    pool->net6 = *net6;
    if (net6->family != 0 && client_hosts(net6) < size)
        size = client_hosts(net6);
    pool->size = size < LEASE_MAX ? (unsigned)size : LEASE_MAX;
    pool->lease_ms = (int64_t)lease_s * 1000;
    pool->kick = kick;
    pool->slots = calloc(pool->size, sizeof(*pool->slots));
    if (pool->slots == NULL)
        return errorf(err, err_size, "out of memory for %u leases", pool->size);
    pthread_mutex_init(&pool->lock, NULL);
    platform_cond_init(&pool->released);
    return 0;
}

void lease_pool_free(struct lease_pool *pool)
{
    if (pool->slots == NULL)
        return;
    free(pool->slots);
    pool->slots = NULL;
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->released);
}

int lease_pick(const struct lease *slots, unsigned size, const unsigned char *key,
               int64_t now_ms)
{
    int never_used = -1, oldest = -1;
    unsigned i;

    for (i = 0; i < size; i++) {
        const struct lease *l = &slots[i];
        if (l->ever_used && memcmp(l->key, key, LEASE_KEY_SIZE) == 0)
            return (int)i;
        if (!l->ever_used) {
            if (never_used < 0)
                never_used = (int)i;
        } else if (l->owner == NULL && l->expires_ms <= now_ms &&
                   (oldest < 0 || l->expires_ms < slots[oldest].expires_ms)) {
            oldest = (int)i;
        }
    }
    return never_used >= 0 ? never_used : oldest;
}

int lease_acquire(struct lease_pool *pool, const unsigned char *key, void *owner,
                  int64_t now_ms, int wait_ms)
{
    int64_t until = clock_now_ms() + wait_ms;
    int index;

    pthread_mutex_lock(&pool->lock);
    /* The same identity on a new session: the old one is a client that reconnected
     * before this server saw it go. It ends, and its interface with it. */
    while ((index = lease_pick(pool->slots, pool->size, key, now_ms)) >= 0 &&
           pool->slots[index].owner != NULL) {
        pool->kick(pool->slots[index].owner);
        if (platform_cond_wait_until(&pool->released, &pool->lock, until) == ETIMEDOUT &&
            pool->slots[index].owner != NULL) {
            index = -2;
            break;
        }
    }
    if (index >= 0) {
        struct lease *l = &pool->slots[index];
        memcpy(l->key, key, LEASE_KEY_SIZE);
        l->ever_used = 1;
        l->owner = owner;
    }
    pthread_mutex_unlock(&pool->lock);
    return index;
}

void lease_release(struct lease_pool *pool, int index, int64_t now_ms)
{
    pthread_mutex_lock(&pool->lock);
    pool->slots[index].owner = NULL;
    pool->slots[index].expires_ms = now_ms + pool->lease_ms;
    pthread_cond_broadcast(&pool->released);
    pthread_mutex_unlock(&pool->lock);
}
