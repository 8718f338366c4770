/* SPDX-License-Identifier: MIT */
/* lease.h - the tunnel's addresses: the networks of --tun-net and --tun-net6, and the
 * leases that give each client identity the same addresses back while its lease lasts.
 * The server takes each network's first address; lease i holds the (i + 2)-th of each.
 * Pure but for the lock: no I/O; tested by tests/unit/test_lease.c. */
#ifndef DTLS_ECHO_LEASE_H
#define DTLS_ECHO_LEASE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define LEASE_KEY_SIZE 32   /* SHA-256 of the client's identity */
#define LEASE_MAX 4096      /* leases per server, whatever the network's size */

/* A network: family (AF_INET, AF_INET6; 0: none), its address with the host bits zero,
 * and its prefix length. */
struct ip_prefix {
    int family;
    unsigned char addr[16];
    unsigned len;
};

/* Parses "10.77.0.0/24" or "fd77::/64" (host bits must be zero) into *out. A network must
 * hold the server, one client and, for IPv4, its network and broadcast addresses (/30 or
 * wider; /126 for IPv6). Returns 0, or -1 with a reason naming what (the option) is. */
int ip_prefix_parse(const char *what, const char *text, struct ip_prefix *out, char *err,
                    size_t err_size);

/* The address index hosts past the network's own (1: the server's) into out (4 or 16
 * bytes, the prefix's family). */
void ip_prefix_host(const struct ip_prefix *prefix, uint32_t index, unsigned char out[16]);

/* Writes "10.77.0.2" (the address alone, no length). */
void ip_address_text(int family, const unsigned char *addr, char *out, size_t out_size);

struct lease {
    unsigned char key[LEASE_KEY_SIZE];
    int ever_used;        /* the key is that of a client that had it */
    void *owner;          /* the session holding it now; NULL: free since expires_ms */
    int64_t expires_ms;   /* a free lease keeps its key until then */
};

struct lease_pool {
    pthread_mutex_t lock;
    pthread_cond_t released;
    struct ip_prefix net4, net6;  /* net6.family 0: no IPv6 in the tunnel */
    unsigned size;                /* leases: the hosts the smaller network holds, at most
                                     LEASE_MAX */
    int64_t lease_ms;             /* how long a free lease keeps its key */
    struct lease *slots;
    /* Asks a session that holds a lease to end (its identity came back on a new one);
     * called under lock; the owner calls lease_release when it has. */
    void (*kick)(void *owner);
};

/* Sets a pool up over net4 (and net6 when its family is not 0). Returns 0, or -1 with a
 * reason. */
int lease_pool_init(struct lease_pool *pool, const struct ip_prefix *net4,
                    const struct ip_prefix *net6, unsigned lease_s, void (*kick)(void *),
                    char *err, size_t err_size);
void lease_pool_free(struct lease_pool *pool);

/* Which lease a client with key gets at now_ms: its own while it lasts (even if a
 * session still holds it), else one never used, else the one free the longest past its
 * expiry. Returns the index, or -1 when every lease is held or unexpired. Pure. */
int lease_pick(const struct lease *slots, unsigned size, const unsigned char *key,
               int64_t now_ms);

/* Takes the lease of key for owner: when another session of the same identity holds it,
 * kicks that one and waits (up to wait_ms) until it released it. Returns the index, -1
 * when none is free, -2 when the holder did not let go in time. */
int lease_acquire(struct lease_pool *pool, const unsigned char *key, void *owner,
                  int64_t now_ms, int wait_ms);

/* Gives lease index back at now_ms: its key stays with it for the lease time. */
void lease_release(struct lease_pool *pool, int index, int64_t now_ms);

#endif
