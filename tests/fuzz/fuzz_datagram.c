/* SPDX-License-Identifier: MIT */
/* fuzz_datagram.c - libFuzzer harness for the listener's datagram path: one datagram from
 * anyone, classified by cookie_classify() and, when it is a ClientHello without a
 * valid cookie, answered with the HelloVerifyRequest cookie_reply_current() sends; and
 * the same datagram decoded by --trace (trace_decode()).
 *
 * Input: a peer address, then the datagram.
 *   byte 0, bits 0-1: 0 IPv4 (4 address bytes, 2 port bytes follow)
 *                     1 IPv6 (16 address, 2 port, 4 scope id bytes)
 *                     2 IPv4-mapped IPv6 (4 address, 2 port)
 *                     3 another family (2 bytes: its number; the rest of it zero)
 *   byte 0, bit 2:    answer from the sending socket's own address (the listener passes
 *                     the datagram's destination address), else from NULL (a client's
 *                     thread answers on its connected socket).
 *   byte 0, bits 3-4: the socket that answers: 0 and 3 IPv4, 1 IPv6 (::1), 2 a
 *                     dual-stack IPv6 socket answering an IPv4 peer by its v4-mapped
 *                     address, as the default listener (every address) does.
 * Everything after the address is the datagram, read in place at the end of libFuzzer's
 * buffer so that AddressSanitizer catches a read past it.
 *
 * Asserts: udp_addr_to_text() prints the address back exactly and udp_addr_key() gives
 * the same key for an IPv4 peer and its v4-mapped form; DATAGRAM_IGNORE whenever
 * cookie_is_client_hello() is false; never DATAGRAM_CLIENT_HELLO (the cookie key is random
 * and never leaves this process, so no input can carry a valid cookie: one that passes is
 * a forged cookie); and on DATAGRAM_SEND_COOKIE, that the HelloVerifyRequest is one
 * well-formed record no longer than the datagram that asked for it (anti-amplification).
 *
 * udp_send() sends to the peer's address with sendmsg(), which an AF_UNIX socketpair
 * refuses (EINVAL for an AF_INET name), and the fuzzed address may be anyone's: the reply
 * goes instead to a UDP socket of ours on loopback. The cookie is a fixed-size MAC of the
 * address, so its length, the one thing checked there, is the same for every peer. */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>

#include "cookie.h"
#include "sockets.h"
#include "trace.h"
#include "udp.h"

#define RECORD_HEADER_SIZE 13
#define HANDSHAKE_HEADER_SIZE 12
#define CONTENT_HANDSHAKE 22
#define HANDSHAKE_HELLO_VERIFY_REQUEST 3
#define REPLY_WAIT_MS 1000
#define COOKIE_PERIOD_MS 60000

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "fuzz_datagram: contract broken: %s: ", #cond);                \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* A loopback socket pair a HelloVerifyRequest crosses: the server's side sends it with
 * udp_send() to `to`, the other side (connected to the sender) reads exactly that. */
struct reply_route {
    const char *name;
    int send_fd, receive_fd;        /* -1: this route could not be set up (no IPv6) */
    struct udp_addr from, to;
};

enum { ROUTE_IPV4, ROUTE_IPV6, ROUTE_DUAL_STACK, ROUTE_COUNT };

/* Set up once: the server's cookie keys and the routes. */
static struct cookie_keys cookie_keys;
static struct reply_route routes[ROUTE_COUNT] = {
    {"IPv4", -1, -1, {0}, {0}},
    {"IPv6", -1, -1, {0}, {0}},
    {"dual-stack", -1, -1, {0}, {0}},
};

static void setup_failed(const char *what, const char *why)
{
    fprintf(stderr, "fuzz_datagram: setup: %s: %s\n", what, why);
    exit(1);
}

/* Opens a UDP socket of family bound to the loopback address text on a free port and
 * fills *addr with it. Returns the fd, or -1 with errno set. */
static int open_loopback_socket(int family, const char *text, struct udp_addr *addr)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)&addr->ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&addr->ss;
    int fd, off = 0, saved;

    memset(addr, 0, sizeof(*addr));
    if (family == AF_INET) {
        sin->sin_family = AF_INET;
        inet_pton(AF_INET, text, &sin->sin_addr);
        addr->len = sizeof(*sin);
    } else {
        sin6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, text, &sin6->sin6_addr);
        addr->len = sizeof(*sin6);
    }
    fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd < 0)
        return -1;
    /* Like the listener: an IPv6 socket that also speaks IPv4 through v4-mapped addresses. */
    if (family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    if (bind(fd, (struct sockaddr *)&addr->ss, addr->len) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr->ss, &addr->len) < 0) {
        saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* Opens route: the sender on sender_text, the receiver on receiver_text connected back to
 * it; to is the receiver as the sender names it (v4-mapped for the dual-stack route).
 * Returns 0, or -1 with errno set. */
static int route_open(struct reply_route *route, int sender_family, const char *sender_text,
                      int receiver_family, const char *receiver_text)
{
    struct udp_addr receiver, sender_as_seen;
    struct sockaddr_in6 *to6 = (struct sockaddr_in6 *)&route->to.ss;
    struct sockaddr_in *sin = (struct sockaddr_in *)&sender_as_seen.ss;
    const struct sockaddr_in6 *from6 = (const struct sockaddr_in6 *)&route->from.ss;

    route->send_fd = open_loopback_socket(sender_family, sender_text, &route->from);
    if (route->send_fd < 0)
        return -1;
    route->receive_fd = open_loopback_socket(receiver_family, receiver_text, &receiver);
    if (route->receive_fd < 0)
        return -1;
    route->to = receiver;
    sender_as_seen = route->from;
    if (sender_family != receiver_family) {
        /* The dual-stack sender is ::ffff:127.0.0.1 to itself, 127.0.0.1 to an IPv4 peer. */
        memset(&sender_as_seen, 0, sizeof(sender_as_seen));
        sin->sin_family = AF_INET;
        sin->sin_port = from6->sin6_port;
        memcpy(&sin->sin_addr, &from6->sin6_addr.s6_addr[12], 4);
        sender_as_seen.len = sizeof(*sin);
        memset(&route->to, 0, sizeof(route->to));
        to6->sin6_family = AF_INET6;
        to6->sin6_addr.s6_addr[10] = to6->sin6_addr.s6_addr[11] = 0xff;
        memcpy(&to6->sin6_addr.s6_addr[12],
               &((const struct sockaddr_in *)&receiver.ss)->sin_addr, 4);
        to6->sin6_port = ((const struct sockaddr_in *)&receiver.ss)->sin_port;
        route->to.len = sizeof(*to6);
    }
    return connect(route->receive_fd, (struct sockaddr *)&sender_as_seen.ss,
                   sender_as_seen.len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    int rc;

    (void)argc;
    (void)argv;
    if ((rc = gnutls_global_init()) < 0)
        setup_failed("gnutls_global_init", gnutls_strerror(rc));
    if (cookie_keys_init(&cookie_keys, COOKIE_PERIOD_MS, NULL, err, sizeof(err)) < 0)
        setup_failed("cookie_keys_init", err);
    /* One rotation, so that classification also tries the previous key. */
    cookie_keys_rotate(&cookie_keys, cookie_keys.next_rotation_ms);
    if (cookie_keys.previous.data == NULL)
        setup_failed("cookie_keys_rotate", "no previous key after a rotation");
    if (route_open(&routes[ROUTE_IPV4], AF_INET, "127.0.0.1", AF_INET, "127.0.0.1") < 0)
        setup_failed("IPv4 loopback sockets", strerror(errno));
    /* Without IPv6 on loopback, replies of those routes take the IPv4 one. */
    if (route_open(&routes[ROUTE_IPV6], AF_INET6, "::1", AF_INET6, "::1") < 0 ||
        route_open(&routes[ROUTE_DUAL_STACK], AF_INET6, "::ffff:127.0.0.1", AF_INET,
                   "127.0.0.1") < 0) {
        fprintf(stderr, "fuzz_datagram: no IPv6 on loopback (%s): IPv4 replies only\n",
                strerror(errno));
        routes[ROUTE_IPV6].send_fd = routes[ROUTE_DUAL_STACK].send_fd = -1;
    }
    return 0;
}

/* Fills *peer from the front of data as the header describes. Returns the bytes used, or
 * 0 when data is too short for the address it names. */
static size_t peer_from_bytes(const uint8_t *data, size_t size, struct udp_addr *peer)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)&peer->ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&peer->ss;
    uint16_t port;
    uint32_t scope;

    memset(peer, 0, sizeof(*peer));
    if (size < 1)
        return 0;
    switch (data[0] & 3) {
    case 0:
        if (size < 1 + 4 + 2)
            return 0;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, data + 1, 4);
        memcpy(&port, data + 5, 2);
        sin->sin_port = port;
        peer->len = sizeof(*sin);
        return 1 + 4 + 2;
    case 1:
        if (size < 1 + 16 + 2 + 4)
            return 0;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, data + 1, 16);
        memcpy(&port, data + 17, 2);
        memcpy(&scope, data + 19, 4);
        sin6->sin6_port = port;
        sin6->sin6_scope_id = scope;
        peer->len = sizeof(*sin6);
        return 1 + 16 + 2 + 4;
    case 2:
        if (size < 1 + 4 + 2)
            return 0;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_addr.s6_addr[10] = 0xff;
        sin6->sin6_addr.s6_addr[11] = 0xff;
        memcpy(&sin6->sin6_addr.s6_addr[12], data + 1, 4);
        memcpy(&port, data + 5, 2);
        sin6->sin6_port = port;
        peer->len = sizeof(*sin6);
        return 1 + 4 + 2;
    default:
        if (size < 1 + 2)
            return 0;
        memcpy(&peer->ss.ss_family, data + 1, 2);
        peer->len = sizeof(peer->ss);
        return 1 + 2;
    }
}

/* The IPv4 address inside peer (plain or v4-mapped), or NULL. */
static const struct in_addr *ipv4_address(const struct udp_addr *peer)
{
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&peer->ss;

    if (peer->ss.ss_family == AF_INET)
        return &((const struct sockaddr_in *)&peer->ss)->sin_addr;
    if (peer->ss.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
        return (const struct in_addr *)&sin6->sin6_addr.s6_addr[12];
    return NULL;
}

/* The text must say exactly which peer it was: parse it back and compare. */
static void check_address_text(const struct udp_addr *peer)
{
    char text[UDP_ADDR_TEXT_MAX], host[UDP_ADDR_TEXT_MAX], rest[UDP_ADDR_TEXT_MAX];
    const struct in_addr *v4 = ipv4_address(peer);
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&peer->ss;
    unsigned port, scope = 0;
    unsigned short net_port;
    struct in_addr parsed4;
    struct in6_addr parsed6;
    char *percent;

    memset(text, 'T', sizeof(text));
    udp_addr_to_text(peer, text, sizeof(text));
    CHECK(memchr(text, '\0', sizeof(text)) != NULL, "address text not NUL-terminated");
    CHECK(strlen(text) < sizeof(text) - 1, "address text truncated: \"%s\"", text);
    CHECK(strchr(text, '\n') == NULL, "address text spans lines");
    if (v4 == NULL && peer->ss.ss_family != AF_INET6) {
        CHECK(strncmp(text, "unknown address family ", 23) == 0, "\"%s\"", text);
        return;
    }
    memcpy(&net_port, peer->ss.ss_family == AF_INET
                          ? (const void *)&((const struct sockaddr_in *)&peer->ss)->sin_port
                          : (const void *)&sin6->sin6_port,
           sizeof(net_port));
    CHECK(sscanf(text, v4 ? "IPv4 %95s port %u%95s" : "IPv6 %95s port %u%95s", host, &port,
                 rest) == 2,
          "\"%s\" is not \"IPv%c ADDRESS port PORT\"", text, v4 ? '4' : '6');
    CHECK(port == ntohs(net_port), "\"%s\": port %u expected", text, ntohs(net_port));
    if (v4 != NULL) {
        CHECK(inet_pton(AF_INET, host, &parsed4) == 1 &&
                  memcmp(&parsed4, v4, sizeof(parsed4)) == 0,
              "\"%s\" is not the peer's IPv4 address", text);
        return;
    }
    percent = strchr(host, '%');
    if (percent != NULL) {
        *percent = '\0';
        /* The interface's name where it has one (platform_interface_name), else its
         * number. */
        if (sscanf(percent + 1, "%u", &scope) != 1)
            scope = if_nametoindex(percent + 1);
        CHECK(scope != 0, "\"%s\": bad scope", text);
    }
    CHECK(scope == sin6->sin6_scope_id, "\"%s\": scope %u expected", text,
          sin6->sin6_scope_id);
    CHECK(inet_pton(AF_INET6, host, &parsed6) == 1 &&
              memcmp(&parsed6, &sin6->sin6_addr, sizeof(parsed6)) == 0,
          "\"%s\" is not the peer's IPv6 address", text);
}

/* The key: its documented size, zeros after it, and one key per IPv4 peer whether it
 * arrived as IPv4 or v4-mapped IPv6. */
static void check_address_key(const struct udp_addr *peer)
{
    unsigned char key[UDP_ADDR_KEY_MAX], twin_key[UDP_ADDR_KEY_MAX];
    const struct in_addr *v4 = ipv4_address(peer);
    struct udp_addr twin;
    size_t len = udp_addr_key(peer, key), twin_len, i;

    CHECK(len <= UDP_ADDR_KEY_MAX, "key of %zu bytes", len);
    for (i = len; i < UDP_ADDR_KEY_MAX; i++)
        CHECK(key[i] == 0, "key byte %zu after its end is %u", i, key[i]);
    if (v4 != NULL)
        CHECK(len == 7 && key[0] == 4, "IPv4 key of %zu bytes, family %u", len, key[0]);
    else if (peer->ss.ss_family == AF_INET6)
        CHECK(len == 23 && key[0] == 6, "IPv6 key of %zu bytes, family %u", len, key[0]);
    CHECK(udp_header_size(peer) == (v4 != NULL ? 28u : 48u), "header size %u",
          udp_header_size(peer));
    CHECK(udp_addr_equal(peer, peer), "a peer differs from itself");
    if (v4 == NULL)
        return;
    /* The other form of the same IPv4 peer. */
    memset(&twin, 0, sizeof(twin));
    if (peer->ss.ss_family == AF_INET) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&twin.ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_addr.s6_addr[10] = sin6->sin6_addr.s6_addr[11] = 0xff;
        memcpy(&sin6->sin6_addr.s6_addr[12], v4, 4);
        sin6->sin6_port = ((const struct sockaddr_in *)&peer->ss)->sin_port;
        twin.len = sizeof(*sin6);
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)&twin.ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, v4, 4);
        sin->sin_port = ((const struct sockaddr_in6 *)&peer->ss)->sin6_port;
        twin.len = sizeof(*sin);
    }
    twin_len = udp_addr_key(&twin, twin_key);
    CHECK(twin_len == len && memcmp(key, twin_key, len) == 0 && udp_addr_equal(peer, &twin),
          "an IPv4 peer and its v4-mapped form have different keys");
}

/* Empties route's receiver, so that a reply read later is the one this input caused. */
static void drain_receiver(const struct reply_route *route)
{
    unsigned char scratch[1];

    while (recv(route->receive_fd, scratch, sizeof(scratch), MSG_DONTWAIT | MSG_TRUNC) >= 0)
        ;
}

/* Sends on route the HelloVerifyRequest the server answers the cookie-less ClientHello
 * hello (hello_len bytes) with, reads it back and checks it. */
static void check_cookie_reply(const struct reply_route *route, const unsigned char *hello,
                               size_t hello_len, int from_local)
{
    static unsigned char reply[65536];
    struct pollfd pfd = {.fd = route->receive_fd, .events = POLLIN};
    size_t body_len;
    ssize_t received;
    int sent;

    drain_receiver(route);
    sent = cookie_reply_current(&cookie_keys, route->send_fd, &route->to,
                                from_local ? &route->from : NULL, hello);
    CHECK(sent > 0, "%s route: cookie_reply_current returned %d (%s)", route->name,
          sent, sent < 0 ? gnutls_strerror(sent) : "nothing sent");
    CHECK(poll(&pfd, 1, REPLY_WAIT_MS) == 1, "%s route: no HelloVerifyRequest arrived",
          route->name);
    received = recv(route->receive_fd, reply, sizeof(reply), MSG_DONTWAIT | MSG_TRUNC);
    CHECK(received == sent, "received %zd bytes of a %d-byte HelloVerifyRequest", received,
          sent);
    CHECK((size_t)received <= hello_len,
          "amplification: a %zu-byte datagram got a %zd-byte reply", hello_len, received);
    /* One handshake record in epoch 0 holding one HelloVerifyRequest:
     * version (2), cookie length (1), cookie. */
    CHECK(received >= RECORD_HEADER_SIZE + HANDSHAKE_HEADER_SIZE + 3,
          "%zd-byte reply is too short", received);
    CHECK(reply[0] == CONTENT_HANDSHAKE && reply[1] == 0xfe && reply[3] == 0 && reply[4] == 0,
          "reply is not a DTLS handshake record in epoch 0");
    CHECK(memcmp(reply + 5, hello + 5, 6) == 0,
          "the reply's record sequence number is not the ClientHello's (RFC 6347 4.2.1)");
    CHECK((size_t)(reply[11] << 8 | reply[12]) == (size_t)received - RECORD_HEADER_SIZE,
          "record length %u in a %zd-byte datagram", reply[11] << 8 | reply[12], received);
    CHECK(reply[13] == HANDSHAKE_HELLO_VERIFY_REQUEST, "handshake type %u", reply[13]);
    body_len = (size_t)received - RECORD_HEADER_SIZE - HANDSHAKE_HEADER_SIZE;
    CHECK((size_t)(reply[14] << 16 | reply[15] << 8 | reply[16]) == body_len,
          "handshake length does not match the record");
    CHECK((size_t)reply[RECORD_HEADER_SIZE + HANDSHAKE_HEADER_SIZE + 2] + 3 == body_len &&
              body_len - 3 <= 32,
          "cookie length %u in a %zu-byte body",
          reply[RECORD_HEADER_SIZE + HANDSHAKE_HEADER_SIZE + 2], body_len);
}

/* The route byte 0 asks for, or the IPv4 one when that one is not set up. */
static const struct reply_route *route_for(uint8_t first)
{
    unsigned index = (first >> 3) & 3;

    if (index >= ROUTE_COUNT || routes[index].send_fd < 0)
        index = ROUTE_IPV4;
    return &routes[index];
}

/* --trace decodes every datagram a traced session sees: any bytes give bounded lines,
 * each a terminated string, the first naming the datagram's size. */
static void check_trace(const unsigned char *datagram, size_t len)
{
    static const struct trace trace;
    struct trace_state state;
    char lines[16][TRACE_LINE_MAX], first[32];
    size_t n, i;

    trace_state_init(&state, &trace, NULL);
    n = trace_decode(&state, 1, datagram, len, lines, 16);
    CHECK(n <= 16, "trace_decode returned %zu lines for 16", n);
    for (i = 0; i < n; i++)
        CHECK(memchr(lines[i], '\0', TRACE_LINE_MAX) != NULL, "trace line %zu unterminated", i);
    snprintf(first, sizeof(first), "datagram %zu B", len);
    CHECK(n == 0 || strncmp(lines[0], first, strlen(first)) == 0, "first line '%s'", lines[0]);
    /* The same datagram again: each fragment in it is now a retransmission. */
    n = trace_decode(&state, 1, datagram, len, lines, 16);
    CHECK(n <= 16, "trace_decode returned %zu lines for 16", n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct udp_addr peer;
    gnutls_dtls_prestate_st prestate;
    enum datagram_verdict verdict;
    const unsigned char *datagram;
    size_t prefix = peer_from_bytes(data, size, &peer), len;
    int is_hello;

    if (prefix == 0)
        return 0;
    datagram = data + prefix;
    len = size - prefix;
    check_address_text(&peer);
    check_address_key(&peer);

    is_hello = cookie_is_client_hello(datagram, len);
    CHECK(is_hello == 0 || is_hello == 1, "cookie_is_client_hello returned %d", is_hello);
    CHECK(!is_hello || len >= COOKIE_MIN_CLIENT_HELLO, "a %zu-byte ClientHello", len);
    verdict = cookie_classify(&cookie_keys, &peer, datagram, len, &prestate);
    if (!is_hello)
        CHECK(verdict == DATAGRAM_IGNORE, "verdict %d for a datagram that is no ClientHello",
              (int)verdict);
    CHECK(verdict != DATAGRAM_CLIENT_HELLO,
          "a %zu-byte ClientHello passed the cookie check with a key it cannot know", len);
    if (is_hello)
        CHECK(verdict == DATAGRAM_SEND_COOKIE, "verdict %d for a ClientHello", (int)verdict);
    if (verdict == DATAGRAM_SEND_COOKIE)
        check_cookie_reply(route_for(data[0]), datagram, len, (data[0] >> 2) & 1);
    check_trace(datagram, len);
    return 0;
}
