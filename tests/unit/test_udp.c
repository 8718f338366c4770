/* SPDX-License-Identifier: MIT */
/* test_udp.c - peer addresses: how they print, when two are the same peer, header bytes.
 *
 * A dual-stack listener sees IPv4 clients as v4-mapped IPv6 addresses while a per-client
 * socket may report plain IPv4, so both spellings must print, key and compare alike. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <net/if.h>

#include "sockets.h"
#include "udp.h"

/* Returns an IPv4 udp_addr for a dotted quad and port. */
static struct udp_addr ipv4_addr(const char *text, unsigned short port)
{
    struct udp_addr addr;
    struct sockaddr_in *sin = (struct sockaddr_in *)&addr.ss;

    memset(&addr, 0, sizeof(addr));
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    assert_int_equal(inet_pton(AF_INET, text, &sin->sin_addr), 1);
    addr.len = sizeof(*sin);
    return addr;
}

/* Returns an IPv6 udp_addr (v4-mapped when text is "::ffff:a.b.c.d") with a scope id. */
static struct udp_addr ipv6_addr_scoped(const char *text, unsigned short port, uint32_t scope)
{
    struct udp_addr addr;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&addr.ss;

    memset(&addr, 0, sizeof(addr));
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    sin6->sin6_scope_id = scope;
    assert_int_equal(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
    addr.len = sizeof(*sin6);
    return addr;
}

static struct udp_addr ipv6_addr(const char *text, unsigned short port)
{
    return ipv6_addr_scoped(text, port, 0);
}

static void assert_addr_text(const struct udp_addr *addr, const char *expected)
{
    char text[UDP_ADDR_TEXT_MAX];

    memset(text, 'X', sizeof(text));
    udp_addr_to_text(addr, text, sizeof(text));
    assert_string_equal(text, expected);
}

/* --- udp_addr_to_text --- */

static void test_ipv4_address_prints_as_ipv4_with_port(void **state)
{
    struct udp_addr addr = ipv4_addr("127.0.0.1", 61006);

    (void)state;
    assert_addr_text(&addr, "IPv4 127.0.0.1 port 61006");
}

static void test_ipv6_address_prints_as_ipv6_with_port(void **state)
{
    struct udp_addr addr = ipv6_addr("::1", 5556);

    (void)state;
    assert_addr_text(&addr, "IPv6 ::1 port 5556");
}

static void test_v4_mapped_address_prints_as_ipv4(void **state)
{
    struct udp_addr addr = ipv6_addr("::ffff:10.1.2.3", 40000);

    (void)state;
    assert_addr_text(&addr, "IPv4 10.1.2.3 port 40000");
}

static void test_link_local_ipv6_prints_its_interface_by_name(void **state)
{
    struct udp_addr addr = ipv6_addr_scoped("fe80::1", 5556, if_nametoindex("lo"));

    (void)state;
    assert_int_not_equal(if_nametoindex("lo"), 0);
    assert_addr_text(&addr, "IPv6 fe80::1%lo port 5556");
}

static void test_longest_ipv6_text_fits_the_buffer(void **state)
{
    struct udp_addr addr =
        ipv6_addr_scoped("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, 4294967295u);

    (void)state;
    assert_addr_text(&addr,
                     "IPv6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295 port 65535");
}

static void test_address_text_is_cut_to_the_buffer(void **state)
{
    struct udp_addr addr = ipv4_addr("127.0.0.1", 61006);
    char text[10];

    (void)state;
    memset(text, 'X', sizeof(text));
    udp_addr_to_text(&addr, text, sizeof(text));
    assert_string_equal(text, "IPv4 127.");
}

/* --- udp_addr_key / udp_addr_equal --- */

static void test_ipv4_and_its_v4_mapped_twin_are_equal(void **state)
{
    struct udp_addr plain = ipv4_addr("127.0.0.1", 5556);
    struct udp_addr mapped = ipv6_addr("::ffff:127.0.0.1", 5556);

    (void)state;
    assert_true(udp_addr_equal(&plain, &mapped));
    assert_true(udp_addr_equal(&mapped, &plain));
}

static void test_ipv4_and_its_v4_mapped_twin_have_the_same_key(void **state)
{
    struct udp_addr plain = ipv4_addr("10.1.2.3", 6000);
    struct udp_addr mapped = ipv6_addr("::ffff:10.1.2.3", 6000);
    unsigned char plain_key[UDP_ADDR_KEY_MAX], mapped_key[UDP_ADDR_KEY_MAX];
    size_t plain_len, mapped_len;

    (void)state;
    plain_len = udp_addr_key(&plain, plain_key);
    mapped_len = udp_addr_key(&mapped, mapped_key);
    assert_int_equal(plain_len, mapped_len);
    assert_memory_equal(plain_key, mapped_key, plain_len);
}

static void test_same_address_and_port_are_equal(void **state)
{
    struct udp_addr a4 = ipv4_addr("192.0.2.7", 1234), b4 = ipv4_addr("192.0.2.7", 1234);
    struct udp_addr a6 = ipv6_addr("2001:db8::7", 1234), b6 = ipv6_addr("2001:db8::7", 1234);

    (void)state;
    assert_true(udp_addr_equal(&a4, &b4));
    assert_true(udp_addr_equal(&a6, &b6));
}

static void test_ipv6_flow_label_does_not_change_the_peer(void **state)
{
    struct udp_addr a = ipv6_addr("2001:db8::7", 1234), b = ipv6_addr("2001:db8::7", 1234);

    (void)state;
    ((struct sockaddr_in6 *)&b.ss)->sin6_flowinfo = htonl(0x12345);
    assert_true(udp_addr_equal(&a, &b));
}

static void test_different_ports_differ(void **state)
{
    struct udp_addr a4 = ipv4_addr("127.0.0.1", 5556), b4 = ipv4_addr("127.0.0.1", 5557);
    struct udp_addr a6 = ipv6_addr("::1", 5556), b6 = ipv6_addr("::1", 5557);
    struct udp_addr mapped = ipv6_addr("::ffff:127.0.0.1", 5557);

    (void)state;
    assert_false(udp_addr_equal(&a4, &b4));
    assert_false(udp_addr_equal(&a6, &b6));
    assert_false(udp_addr_equal(&a4, &mapped));
}

static void test_ports_that_share_a_byte_differ(void **state)
{
    /* 0x0100 and 0x0001: a key that kept only one byte of the port would match them. */
    struct udp_addr a = ipv4_addr("127.0.0.1", 0x0100), b = ipv4_addr("127.0.0.1", 0x0001);

    (void)state;
    assert_false(udp_addr_equal(&a, &b));
}

static void test_different_ipv4_addresses_differ(void **state)
{
    struct udp_addr a = ipv4_addr("127.0.0.1", 5556), b = ipv4_addr("127.0.0.2", 5556);
    struct udp_addr c = ipv4_addr("128.0.0.1", 5556);
    struct udp_addr mapped = ipv6_addr("::ffff:127.0.0.2", 5556);

    (void)state;
    assert_false(udp_addr_equal(&a, &b));
    assert_false(udp_addr_equal(&a, &c));
    assert_false(udp_addr_equal(&a, &mapped));
}

static void test_ipv6_addresses_compare_whole(void **state)
{
    struct udp_addr base = ipv6_addr("2001:db8::1", 5556);
    struct udp_addr last_byte = ipv6_addr("2001:db8::2", 5556);
    struct udp_addr first_byte = ipv6_addr("3001:db8::1", 5556);
    struct udp_addr middle_byte = ipv6_addr("2001:db8:0:0:1::1", 5556);

    (void)state;
    assert_false(udp_addr_equal(&base, &last_byte));
    assert_false(udp_addr_equal(&base, &first_byte));
    assert_false(udp_addr_equal(&base, &middle_byte));
}

static void test_ipv6_ending_in_ipv4_bytes_is_not_that_ipv4(void **state)
{
    /* Only ::ffff:a.b.c.d is an IPv4 peer; other addresses with the same last four
     * bytes (here 7f00:0001, i.e. 127.0.0.1) are IPv6 peers. */
    struct udp_addr plain = ipv4_addr("127.0.0.1", 5556);
    struct udp_addr compatible = ipv6_addr("::127.0.0.1", 5556);
    struct udp_addr global = ipv6_addr("2001:db8::7f00:1", 5556);
    struct udp_addr nat64 = ipv6_addr("64:ff9b::127.0.0.1", 5556);

    (void)state;
    assert_false(udp_addr_equal(&plain, &compatible));
    assert_false(udp_addr_equal(&plain, &global));
    assert_false(udp_addr_equal(&plain, &nat64));
}

static void test_link_local_addresses_on_other_interfaces_differ(void **state)
{
    struct udp_addr a = ipv6_addr_scoped("fe80::1", 5556, 1);
    struct udp_addr b = ipv6_addr_scoped("fe80::1", 5556, 2);

    (void)state;
    assert_false(udp_addr_equal(&a, &b));
}

static void test_address_keys_fit_the_key_size(void **state)
{
    struct udp_addr v4 = ipv4_addr("255.255.255.255", 65535);
    struct udp_addr v6 =
        ipv6_addr_scoped("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, 4294967295u);
    unsigned char key[UDP_ADDR_KEY_MAX];

    (void)state;
    assert_in_range(udp_addr_key(&v4, key), 1, UDP_ADDR_KEY_MAX);
    assert_in_range(udp_addr_key(&v6, key), 1, UDP_ADDR_KEY_MAX);
}

/* --- udp_header_size --- */

static void test_ipv4_header_size_is_28(void **state)
{
    struct udp_addr addr = ipv4_addr("127.0.0.1", 5556);

    (void)state;
    assert_int_equal(udp_header_size(&addr), 28);
}

static void test_v4_mapped_header_size_is_28(void **state)
{
    struct udp_addr addr = ipv6_addr("::ffff:127.0.0.1", 5556);

    (void)state;
    assert_int_equal(udp_header_size(&addr), 28);
}

static void test_ipv6_header_size_is_48(void **state)
{
    struct udp_addr addr = ipv6_addr("::1", 5556);

    (void)state;
    assert_int_equal(udp_header_size(&addr), 48);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_address_prints_as_ipv4_with_port),
        cmocka_unit_test(test_ipv6_address_prints_as_ipv6_with_port),
        cmocka_unit_test(test_v4_mapped_address_prints_as_ipv4),
        cmocka_unit_test(test_link_local_ipv6_prints_its_interface_by_name),
        cmocka_unit_test(test_longest_ipv6_text_fits_the_buffer),
        cmocka_unit_test(test_address_text_is_cut_to_the_buffer),
        cmocka_unit_test(test_ipv4_and_its_v4_mapped_twin_are_equal),
        cmocka_unit_test(test_ipv4_and_its_v4_mapped_twin_have_the_same_key),
        cmocka_unit_test(test_same_address_and_port_are_equal),
        cmocka_unit_test(test_ipv6_flow_label_does_not_change_the_peer),
        cmocka_unit_test(test_different_ports_differ),
        cmocka_unit_test(test_ports_that_share_a_byte_differ),
        cmocka_unit_test(test_different_ipv4_addresses_differ),
        cmocka_unit_test(test_ipv6_addresses_compare_whole),
        cmocka_unit_test(test_ipv6_ending_in_ipv4_bytes_is_not_that_ipv4),
        cmocka_unit_test(test_link_local_addresses_on_other_interfaces_differ),
        cmocka_unit_test(test_address_keys_fit_the_key_size),
        cmocka_unit_test(test_ipv4_header_size_is_28),
        cmocka_unit_test(test_v4_mapped_header_size_is_28),
        cmocka_unit_test(test_ipv6_header_size_is_48),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
