/* SPDX-License-Identifier: MIT */
/* test_registry.c - the server's registry and its decisions, as pure functions: a new
 * client, a duplicate ClientHello, a full server, and whose a datagram on a session's
 * socket is (its peer's, another peer's, or a new handshake). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cookie.h"
#include "registry.h"
#include "sockets.h"

static struct udp_addr ipv4(const char *ip, unsigned port)
{
    struct udp_addr addr;
    struct sockaddr_in *sin = (struct sockaddr_in *)&addr.ss;

    memset(&addr, 0, sizeof(addr));
    sin->sin_family = AF_INET;
    sin->sin_port = htons((unsigned short)port);
    inet_pton(AF_INET, ip, &sin->sin_addr);
    addr.len = sizeof(*sin);
    return addr;
}

static struct udp_addr ipv6(const char *ip, unsigned port)
{
    struct udp_addr addr;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&addr.ss;

    memset(&addr, 0, sizeof(addr));
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((unsigned short)port);
    inet_pton(AF_INET6, ip, &sin6->sin6_addr);
    addr.len = sizeof(*sin6);
    return addr;
}

/* A datagram that cookie_is_client_hello() takes for a ClientHello, with random fill. */
static void client_hello(unsigned char *buf, size_t len, unsigned char fill)
{
    memset(buf, 0, len);
    buf[0] = 22;   /* handshake */
    buf[1] = 0xfe; /* DTLS */
    buf[2] = 0xfd;
    buf[13] = 1;   /* ClientHello */
    memset(buf + CLIENT_HELLO_RANDOM_AT, fill, CLIENT_HELLO_RANDOM_SIZE);
}

static struct registry table;

/* Room for 10 clients, all of them handshaking, from one address too; and for 2. */
static const struct hello_limits ten = {10, 10, 10}, two_clients = {2, 2, 2};

static int reset(void **state)
{
    (void)state;
    memset(&table, 0, sizeof(table));
    return 0;
}

static void test_a_new_peer_is_accepted_and_then_a_duplicate(void **state)
{
    struct registry_entry entry = {.peer = ipv4("127.0.0.1", 4000)};
    struct udp_addr same = ipv4("127.0.0.1", 4000);
    (void)state;

    assert_int_equal(registry_decide_hello(&table, &same, &ten), HELLO_ACCEPT);
    registry_add(&table, &entry);
    assert_int_equal(registry_decide_hello(&table, &same, &ten), HELLO_DUPLICATE);
    assert_ptr_equal(registry_find(&table, &same), &entry);
}

static void test_another_port_of_the_same_host_is_another_client(void **state)
{
    struct registry_entry entry = {.peer = ipv4("127.0.0.1", 4000)};
    struct udp_addr other = ipv4("127.0.0.1", 4001);
    (void)state;

    registry_add(&table, &entry);
    assert_int_equal(registry_decide_hello(&table, &other, &ten), HELLO_ACCEPT);
}

static void test_a_v4_mapped_address_is_the_same_peer_as_its_ipv4(void **state)
{
    struct registry_entry entry = {.peer = ipv4("127.0.0.1", 4000)};
    struct udp_addr mapped = ipv6("::ffff:127.0.0.1", 4000);
    (void)state;

    registry_add(&table, &entry);
    assert_int_equal(registry_decide_hello(&table, &mapped, &ten), HELLO_DUPLICATE);
}

static void test_handshakes_under_way_are_limited_per_address_and_in_all(void **state)
{
    struct registry_entry from_a[3] = {{.peer = ipv4("127.0.0.2", 1)},
                                       {.peer = ipv4("127.0.0.2", 2)},
                                       {.peer = ipv6("::ffff:127.0.0.2", 3)}};
    struct registry_entry from_b = {.peer = ipv4("127.0.0.3", 1)};
    struct udp_addr a_again = ipv4("127.0.0.2", 9), b_again = ipv4("127.0.0.3", 9);
    struct udp_addr c = ipv6("::1", 9);
    const struct hello_limits limits = {100, 4, 3}; /* 4 in all, 3 from one address */
    (void)state;

    for (int i = 0; i < 3; i++)
        registry_add(&table, &from_a[i]);
    /* Three under way from 127.0.0.2 (one of them v4-mapped, on any port): the fourth
     * is refused; another address is not. */
    assert_int_equal(registry_source_handshakes(&table, &a_again, 10), 3);
    assert_int_equal(registry_decide_hello(&table, &a_again, &limits), HELLO_REFUSE_SOURCE);
    assert_int_equal(registry_decide_hello(&table, &b_again, &limits), HELLO_ACCEPT);
    registry_add(&table, &from_b);
    /* Four under way in all: every new client waits. */
    assert_int_equal(registry_decide_hello(&table, &c, &limits), HELLO_REFUSE_HANDSHAKES);
    /* A handshake over (done or failed) frees its place; the session stays registered. */
    registry_handshake_over(&table, &from_a[0]);
    registry_handshake_over(&table, &from_a[0]); /* twice: counted once */
    assert_int_equal(table.handshaking, 3);
    assert_int_equal(table.count, 4);
    assert_int_equal(registry_decide_hello(&table, &a_again, &limits), HELLO_ACCEPT);
    /* Leaving while handshaking frees the place too, and its address's count. */
    registry_remove(&table, &from_a[1]);
    assert_int_equal(table.handshaking, 2);
    assert_int_equal(registry_source_handshakes(&table, &a_again, 10), 1);
    registry_remove(&table, &from_a[1]); /* twice: nothing happens */
    assert_int_equal(table.handshaking, 2);
}

static void test_a_full_server_refuses_until_one_leaves(void **state)
{
    struct registry_entry one = {.peer = ipv4("127.0.0.1", 1)};
    struct registry_entry two = {.peer = ipv6("::1", 2)};
    struct udp_addr third = ipv4("127.0.0.2", 3);
    (void)state;

    registry_add(&table, &one);
    registry_add(&table, &two);
    assert_int_equal(registry_decide_hello(&table, &third, &two_clients), HELLO_REFUSE);
    registry_remove(&table, &one);
    assert_int_equal(table.count, 1);
    assert_int_equal(registry_decide_hello(&table, &third, &two_clients), HELLO_ACCEPT);
    registry_remove(&table, &one); /* twice: nothing happens */
    assert_int_equal(table.count, 1);
}

static void test_a_datagram_from_another_peer_is_foreign(void **state)
{
    unsigned char hello[200], data[40] = {23};
    struct udp_addr peer = ipv4("127.0.0.1", 4000), stranger = ipv4("127.0.0.1", 4002);
    (void)state;

    client_hello(hello, sizeof(hello), 0xaa);
    assert_int_equal(registry_datagram_owner(&peer, hello, sizeof(hello), 0, &stranger, data,
                                             sizeof(data)),
                     OWNER_FOREIGN);
    assert_int_equal(registry_datagram_owner(&peer, hello, sizeof(hello), 1, &stranger, hello,
                                             sizeof(hello)),
                     OWNER_FOREIGN);
}

static void test_the_peers_records_belong_to_the_session(void **state)
{
    unsigned char hello[200], data[40] = {23, 0xfe, 0xfd, 0, 1};
    struct udp_addr peer = ipv4("127.0.0.1", 4000);
    (void)state;

    client_hello(hello, sizeof(hello), 0xaa);
    assert_int_equal(registry_datagram_owner(&peer, hello, sizeof(hello), 1, &peer, data,
                                             sizeof(data)),
                     OWNER_SESSION);
}

static void test_a_retransmitted_client_hello_belongs_to_the_handshake(void **state)
{
    unsigned char hello[200], again[220];
    struct udp_addr peer = ipv4("127.0.0.1", 4000);
    (void)state;

    client_hello(hello, sizeof(hello), 0xaa);
    client_hello(again, sizeof(again), 0xaa); /* re-sent with a new cookie: longer */
    assert_int_equal(registry_datagram_owner(&peer, hello, sizeof(hello), 0, &peer, again,
                                             sizeof(again)),
                     OWNER_SESSION);
}

static void test_a_client_hello_with_a_new_random_is_a_new_handshake(void **state)
{
    unsigned char hello[200], fresh[200];
    struct udp_addr peer = ipv4("127.0.0.1", 4000);
    (void)state;

    client_hello(hello, sizeof(hello), 0xaa);
    client_hello(fresh, sizeof(fresh), 0xbb);
    assert_int_equal(registry_datagram_owner(&peer, hello, sizeof(hello), 0, &peer, fresh,
                                             sizeof(fresh)),
                     OWNER_NEW_HANDSHAKE);
}

static void test_any_client_hello_after_the_handshake_is_a_new_handshake(void **state)
{
    unsigned char hello[200];
    struct udp_addr peer = ipv4("127.0.0.1", 4000);
    (void)state;

    client_hello(hello, sizeof(hello), 0xaa);
    assert_int_equal(registry_datagram_owner(&peer, hello, sizeof(hello), 1, &peer, hello,
                                             sizeof(hello)),
                     OWNER_NEW_HANDSHAKE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_a_new_peer_is_accepted_and_then_a_duplicate, reset),
        cmocka_unit_test_setup(test_handshakes_under_way_are_limited_per_address_and_in_all,
                               reset),
        cmocka_unit_test_setup(test_another_port_of_the_same_host_is_another_client, reset),
        cmocka_unit_test_setup(test_a_v4_mapped_address_is_the_same_peer_as_its_ipv4, reset),
        cmocka_unit_test_setup(test_a_full_server_refuses_until_one_leaves, reset),
        cmocka_unit_test_setup(test_a_datagram_from_another_peer_is_foreign, reset),
        cmocka_unit_test_setup(test_the_peers_records_belong_to_the_session, reset),
        cmocka_unit_test_setup(test_a_retransmitted_client_hello_belongs_to_the_handshake,
                               reset),
        cmocka_unit_test_setup(test_a_client_hello_with_a_new_random_is_a_new_handshake, reset),
        cmocka_unit_test_setup(test_any_client_hello_after_the_handshake_is_a_new_handshake,
                               reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
