/* SPDX-License-Identifier: MIT */
/* test_lease.c - the tunnel's networks and leases: parsing networks, the addresses of a
 * lease, and which lease a client gets (its own back, a never-used one, the oldest
 * expired one, none). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lease.h"
#include "sockets.h"

static void parses_networks_and_refuses_bad_ones(void **state)
{
    struct ip_prefix p;
    char err[200];

    (void)state;
    assert_int_equal(ip_prefix_parse("--tun-net", "10.77.0.0/24", &p, err, sizeof(err)), 0);
    assert_int_equal(p.family, AF_INET);
    assert_int_equal(p.len, 24);
    assert_int_equal(ip_prefix_parse("--tun-net6", "fd77::/64", &p, err, sizeof(err)), 0);
    assert_int_equal(p.family, AF_INET6);
    assert_int_equal(ip_prefix_parse("x", "10.77.0.1/24", &p, err, sizeof(err)), -1);
    assert_string_equal(err, "x: '10.77.0.1/24' has host bits set: the network is 10.77.0.0/24");
    assert_int_equal(ip_prefix_parse("x", "10.77.0.0/31", &p, err, sizeof(err)), -1);
    assert_string_equal(err, "x: /31 leaves no address for a client: /30 at most");
    assert_int_equal(ip_prefix_parse("x", "10.77.0.0", &p, err, sizeof(err)), -1);
    assert_int_equal(ip_prefix_parse("x", "10.77.0.0/", &p, err, sizeof(err)), -1);
    assert_int_equal(ip_prefix_parse("x", "10.77.0.0/24x", &p, err, sizeof(err)), -1);
    assert_int_equal(ip_prefix_parse("x", "10.77.0.0/33", &p, err, sizeof(err)), -1);
    assert_int_equal(ip_prefix_parse("x", "/24", &p, err, sizeof(err)), -1);
    assert_int_equal(ip_prefix_parse("x", "fd77::/127", &p, err, sizeof(err)), -1);
    assert_int_equal(ip_prefix_parse("x", "banana/8", &p, err, sizeof(err)), -1);
    assert_string_equal(err, "x: 'banana' is not an IPv4 or IPv6 address");
}

static void hosts_count_from_the_network_with_carry(void **state)
{
    struct ip_prefix p;
    unsigned char out[16];
    char text[64], err[200];

    (void)state;
    assert_int_equal(ip_prefix_parse("x", "10.77.0.0/16", &p, err, sizeof(err)), 0);
    ip_prefix_host(&p, 1, out);
    ip_address_text(AF_INET, out, text, sizeof(text));
    assert_string_equal(text, "10.77.0.1");
    ip_prefix_host(&p, 257, out);
    ip_address_text(AF_INET, out, text, sizeof(text));
    assert_string_equal(text, "10.77.1.1");
    assert_int_equal(ip_prefix_parse("x", "fd77::/64", &p, err, sizeof(err)), 0);
    ip_prefix_host(&p, 0x1ff, out);
    ip_address_text(AF_INET6, out, text, sizeof(text));
    assert_string_equal(text, "fd77::1ff");
}

static void key(unsigned char out[LEASE_KEY_SIZE], int n)
{
    memset(out, n, LEASE_KEY_SIZE);
}

static void a_client_gets_its_own_lease_back_then_new_ones_then_expired_ones(void **state)
{
    struct lease slots[3];
    unsigned char a[LEASE_KEY_SIZE], b[LEASE_KEY_SIZE], c[LEASE_KEY_SIZE], d[LEASE_KEY_SIZE];
    int owner;

    (void)state;
    memset(slots, 0, sizeof(slots));
    key(a, 1), key(b, 2), key(c, 3), key(d, 4);
    assert_int_equal(lease_pick(slots, 3, a, 0), 0);
    memcpy(slots[0].key, a, LEASE_KEY_SIZE), slots[0].ever_used = 1, slots[0].owner = &owner;
    assert_int_equal(lease_pick(slots, 3, a, 0), 0); /* its own, even while held */
    assert_int_equal(lease_pick(slots, 3, b, 0), 1);
    memcpy(slots[1].key, b, LEASE_KEY_SIZE), slots[1].ever_used = 1, slots[1].expires_ms = 500;
    memcpy(slots[2].key, c, LEASE_KEY_SIZE), slots[2].ever_used = 1, slots[2].expires_ms = 400;
    assert_int_equal(lease_pick(slots, 3, d, 300), -1);  /* none expired yet */
    assert_int_equal(lease_pick(slots, 3, d, 450), 2);   /* c's expired */
    assert_int_equal(lease_pick(slots, 3, d, 1000), 2);  /* the oldest expiry first */
    assert_int_equal(lease_pick(slots, 3, b, 1000), 1);  /* b's, expired but not taken */
    slots[0].owner = NULL, slots[0].expires_ms = 100;
    assert_int_equal(lease_pick(slots, 3, d, 1000), 0);
}

static void kicked(void *owner)
{
    (void)owner;
}

static void the_pool_leases_and_releases(void **state)
{
    struct ip_prefix net4, net6;
    struct lease_pool pool;
    unsigned char a[LEASE_KEY_SIZE], b[LEASE_KEY_SIZE];
    char err[200];
    int owner_a, owner_b;

    (void)state;
    memset(&net6, 0, sizeof(net6));
    assert_int_equal(ip_prefix_parse("x", "10.0.0.0/30", &net4, err, sizeof(err)), 0);
    assert_int_equal(lease_pool_init(&pool, &net4, &net6, 60, kicked, err, sizeof(err)), 0);
    assert_int_equal(pool.size, 1); /* .0 network, .1 server, .2 the one client, .3 broadcast */
    key(a, 1), key(b, 2);
    assert_int_equal(lease_acquire(&pool, a, &owner_a, 0, 10), 0);
    assert_int_equal(lease_acquire(&pool, b, &owner_b, 0, 10), -1);
    /* The same identity again while held: the holder is kicked, and does not let go. */
    assert_int_equal(lease_acquire(&pool, a, &owner_b, 0, 10), -2);
    lease_release(&pool, 0, 1000);
    assert_int_equal(lease_acquire(&pool, b, &owner_b, 2000, 10), -1);  /* still a's */
    assert_int_equal(lease_acquire(&pool, b, &owner_b, 61000, 10), 0);  /* expired */
    lease_pool_free(&pool);
    assert_int_equal(ip_prefix_parse("x", "fd00::/120", &net6, err, sizeof(err)), 0);
    assert_int_equal(ip_prefix_parse("x", "10.0.0.0/8", &net4, err, sizeof(err)), 0);
    assert_int_equal(lease_pool_init(&pool, &net4, &net6, 60, kicked, err, sizeof(err)), 0);
    assert_int_equal(pool.size, 254); /* the smaller network decides */
    lease_pool_free(&pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_networks_and_refuses_bad_ones),
        cmocka_unit_test(hosts_count_from_the_network_with_carry),
        cmocka_unit_test(a_client_gets_its_own_lease_back_then_new_ones_then_expired_ones),
        cmocka_unit_test(the_pool_leases_and_releases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
