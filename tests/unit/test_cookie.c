/* SPDX-License-Identifier: MIT */
/* test_cookie.c - the stateless cookie step, against real GnuTLS ClientHellos.
 *
 * A real GnuTLS DTLS client session writes its datagrams into a buffer instead of a
 * socket, so the tests hold the exact bytes a client sends: the first ClientHello (no
 * cookie), and, after it is fed the HelloVerifyRequest that cookie_reply() sent over
 * a real UDP socket on 127.0.0.1, the second ClientHello that carries the cookie. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>

#include "cookie.h"
#include "sockets.h"
#include "udp.h"

#define DATAGRAM_MAX 4096
#define RECORD_HEADER_SIZE 13
#define HANDSHAKE_HEADER_SIZE 12
#define CONTENT_HANDSHAKE 22
#define CONTENT_APPLICATION_DATA 23
#define HANDSHAKE_CLIENT_HELLO 1
#define HANDSHAKE_HELLO_VERIFY_REQUEST 3
#define REPLY_WAIT_MS 2000

/* A DTLS client session whose transport is two buffers: what it sent, what it may read. */
struct hello_client {
    gnutls_session_t session;
    gnutls_certificate_credentials_t creds;
    unsigned char sent[DATAGRAM_MAX];   /* the last datagram the client pushed */
    size_t sent_len;
    unsigned datagrams_sent;
    unsigned char inbox[DATAGRAM_MAX];  /* one datagram for the next pull, if inbox_len */
    size_t inbox_len;
};

struct cookie_fixture {
    struct hello_client client;
    gnutls_datum_t cookie_key;
    int server_fd;                      /* sends the HelloVerifyRequest */
    int client_fd;                      /* receives it */
    struct udp_addr server_addr;
    struct udp_addr client_addr;        /* the peer the cookie is made for */
    unsigned char first_hello[DATAGRAM_MAX];
    size_t first_hello_len;
    unsigned char hvr[DATAGRAM_MAX];
    size_t hvr_len;
    unsigned char second_hello[DATAGRAM_MAX];
    size_t second_hello_len;
};

/* --- the GnuTLS client's transport --- */

static ssize_t capture_push(gnutls_transport_ptr_t ptr, const void *buf, size_t size)
{
    struct hello_client *client = ptr;

    if (size > sizeof(client->sent)) {
        gnutls_transport_set_errno(client->session, EMSGSIZE);
        return -1;
    }
    memcpy(client->sent, buf, size);
    client->sent_len = size;
    client->datagrams_sent++;
    return (ssize_t)size;
}

static ssize_t inbox_pull(gnutls_transport_ptr_t ptr, void *buf, size_t size)
{
    struct hello_client *client = ptr;
    size_t len = client->inbox_len;

    if (len == 0) {
        gnutls_transport_set_errno(client->session, EAGAIN);
        return -1;
    }
    if (len > size)
        len = size;
    memcpy(buf, client->inbox, len);
    client->inbox_len = 0;
    return (ssize_t)len;
}

static int inbox_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
    const struct hello_client *client = ptr;

    (void)ms;
    return client->inbox_len > 0 ? 1 : 0;
}

/* Starts a client session that trusts nothing; it never gets past the hellos here. */
static void hello_client_start(struct hello_client *client)
{
    unsigned flags = GNUTLS_CLIENT | GNUTLS_DATAGRAM | GNUTLS_NONBLOCK;

    assert_int_equal(gnutls_certificate_allocate_credentials(&client->creds), 0);
    assert_int_equal(gnutls_init(&client->session, flags), 0);
    assert_int_equal(gnutls_set_default_priority(client->session), 0);
    assert_int_equal(
        gnutls_credentials_set(client->session, GNUTLS_CRD_CERTIFICATE, client->creds), 0);
    gnutls_transport_set_ptr(client->session, client);
    gnutls_transport_set_push_function(client->session, capture_push);
    gnutls_transport_set_pull_function(client->session, inbox_pull);
    gnutls_transport_set_pull_timeout_function(client->session, inbox_pull_timeout);
}

/* Runs one handshake step; with nothing (more) to read it must stop at GNUTLS_E_AGAIN. */
static void hello_client_step(struct hello_client *client)
{
    int rc = gnutls_handshake(client->session);

    if (rc != GNUTLS_E_AGAIN)
        fail_msg("gnutls_handshake returned %d (%s), expected GNUTLS_E_AGAIN", rc,
                 gnutls_strerror(rc));
}

/* --- sockets --- */

/* Opens a non-blocking UDP socket on 127.0.0.1, any port, and fills *bound. */
static int open_loopback_socket(struct udp_addr *bound)
{
    struct sockaddr_in sin;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);

    assert_true(fd >= 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    memset(bound, 0, sizeof(*bound));
    bound->len = sizeof(bound->ss);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&bound->ss, &bound->len), 0);
    return fd;
}

/* Waits for one datagram on fd and returns its length; fills *from with its sender. */
static size_t receive_datagram(int fd, unsigned char *buf, size_t size, struct udp_addr *from)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    ssize_t n;

    assert_int_equal(poll(&pfd, 1, REPLY_WAIT_MS), 1);
    memset(from, 0, sizeof(*from));
    from->len = sizeof(from->ss);
    n = recvfrom(fd, buf, size, 0, (struct sockaddr *)&from->ss, &from->len);
    assert_true(n > 0);
    return (size_t)n;
}

static void assert_nothing_queued(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};

    assert_int_equal(poll(&pfd, 1, 0), 0);
}

static struct udp_addr with_port(const struct udp_addr *addr, unsigned short port)
{
    struct udp_addr copy = *addr;

    ((struct sockaddr_in *)&copy.ss)->sin_port = htons(port);
    return copy;
}

static struct udp_addr with_ipv4(const struct udp_addr *addr, const char *text)
{
    struct udp_addr copy = *addr;

    assert_int_equal(inet_pton(AF_INET, text, &((struct sockaddr_in *)&copy.ss)->sin_addr), 1);
    return copy;
}

/* --- the exchange --- */

/* Returns the offset of the cookie length byte in a ClientHello, after the session id. */
static size_t cookie_length_offset(const unsigned char *hello, size_t len)
{
    size_t session_id_offset = RECORD_HEADER_SIZE + HANDSHAKE_HEADER_SIZE + 2 + 32;

    assert_true(len > session_id_offset);
    assert_true(session_id_offset + 1 + hello[session_id_offset] < len);
    return session_id_offset + 1 + hello[session_id_offset];
}

/* The client's first ClientHello, with no cookie. */
static void make_first_hello(struct cookie_fixture *fx)
{
    hello_client_step(&fx->client);
    assert_int_equal(fx->client.datagrams_sent, 1);
    memcpy(fx->first_hello, fx->client.sent, fx->client.sent_len);
    fx->first_hello_len = fx->client.sent_len;
}

/* cookie_reply from the server socket to the client socket, as key; keeps the HVR. */
static void send_hello_verify_request(struct cookie_fixture *fx, gnutls_datum_t *key,
                                      const struct udp_addr *local)
{
    struct udp_addr from;
    int sent = cookie_reply(key, fx->server_fd, &fx->client_addr, local, fx->first_hello);

    if (sent <= 0)
        fail_msg("cookie_reply returned %d (%s)", sent,
                 sent < 0 ? gnutls_strerror(sent) : "nothing sent");
    fx->hvr_len = receive_datagram(fx->client_fd, fx->hvr, sizeof(fx->hvr), &from);
    assert_int_equal(fx->hvr_len, (size_t)sent);
    assert_true(udp_addr_equal(&from, &fx->server_addr));
    assert_nothing_queued(fx->client_fd);
}

/* Feeds the HVR to the client session and keeps the ClientHello it answers with. */
static void make_second_hello(struct cookie_fixture *fx)
{
    unsigned sent_before = fx->client.datagrams_sent;

    memcpy(fx->client.inbox, fx->hvr, fx->hvr_len);
    fx->client.inbox_len = fx->hvr_len;
    hello_client_step(&fx->client);
    assert_int_equal(fx->client.inbox_len, 0);
    assert_int_equal(fx->client.datagrams_sent, sent_before + 1);
    memcpy(fx->second_hello, fx->client.sent, fx->client.sent_len);
    fx->second_hello_len = fx->client.sent_len;
}

/* The whole exchange with the fixture's key: ClientHello, HVR, ClientHello with cookie. */
static void make_hello_with_cookie(struct cookie_fixture *fx)
{
    make_first_hello(fx);
    send_hello_verify_request(fx, &fx->cookie_key, NULL);
    make_second_hello(fx);
}

/* --- fixtures --- */

static int gnutls_setup(void **state)
{
    (void)state;
    return gnutls_global_init() < 0 ? -1 : 0;
}

static int gnutls_teardown(void **state)
{
    (void)state;
    gnutls_global_deinit();
    return 0;
}

static int exchange_setup(void **state)
{
    struct cookie_fixture *fx = test_calloc(1, sizeof(*fx));
    char err[256];

    if (fx == NULL)
        return -1;
    fx->server_fd = fx->client_fd = -1;
    *state = fx;
    if (cookie_key_new(&fx->cookie_key, err, sizeof(err)) < 0)
        fail_msg("%s", err);
    fx->server_fd = open_loopback_socket(&fx->server_addr);
    fx->client_fd = open_loopback_socket(&fx->client_addr);
    hello_client_start(&fx->client);
    return 0;
}

static int exchange_teardown(void **state)
{
    struct cookie_fixture *fx = *state;

    if (fx->client.session != NULL)
        gnutls_deinit(fx->client.session);
    if (fx->client.creds != NULL)
        gnutls_certificate_free_credentials(fx->client.creds);
    gnutls_free(fx->cookie_key.data);
    if (fx->server_fd >= 0)
        close(fx->server_fd);
    if (fx->client_fd >= 0)
        close(fx->client_fd);
    test_free(fx);
    return 0;
}

/* --- cookie_is_client_hello --- */

static void test_real_client_hello_is_recognised(void **state)
{
    struct cookie_fixture *fx = *state;

    make_first_hello(fx);
    assert_int_equal(fx->first_hello[0], CONTENT_HANDSHAKE);
    assert_int_equal(fx->first_hello[RECORD_HEADER_SIZE], HANDSHAKE_CLIENT_HELLO);
    assert_true(fx->first_hello_len >= COOKIE_MIN_CLIENT_HELLO);
    assert_true(cookie_is_client_hello(fx->first_hello, fx->first_hello_len));
}

static void test_garbage_is_not_a_client_hello(void **state)
{
    unsigned char garbage[512];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(garbage); i++)
        garbage[i] = (unsigned char)(i * 37 + 11);
    assert_false(cookie_is_client_hello(garbage, sizeof(garbage)));
    memset(garbage, 0, sizeof(garbage));
    assert_false(cookie_is_client_hello(garbage, sizeof(garbage)));
    memset(garbage, 0xff, sizeof(garbage));
    assert_false(cookie_is_client_hello(garbage, sizeof(garbage)));
}

static void test_truncated_client_hello_is_not_a_client_hello(void **state)
{
    struct cookie_fixture *fx = *state;
    size_t len;

    make_first_hello(fx);
    for (len = 0; len < COOKIE_MIN_CLIENT_HELLO; len++)
        if (cookie_is_client_hello(fx->first_hello, len))
            fail_msg("the first %zu bytes of a ClientHello were taken for one", len);
}

static void test_non_handshake_record_is_not_a_client_hello(void **state)
{
    struct cookie_fixture *fx = *state;
    unsigned char record[DATAGRAM_MAX];

    make_first_hello(fx);
    memcpy(record, fx->first_hello, fx->first_hello_len);
    record[0] = CONTENT_APPLICATION_DATA;
    assert_false(cookie_is_client_hello(record, fx->first_hello_len));
}

static void test_encrypted_epoch_record_is_not_a_client_hello(void **state)
{
    struct cookie_fixture *fx = *state;
    unsigned char record[DATAGRAM_MAX];

    make_first_hello(fx);
    memcpy(record, fx->first_hello, fx->first_hello_len);
    record[4] = 1; /* epoch 1 */
    assert_false(cookie_is_client_hello(record, fx->first_hello_len));
}

static void test_other_handshake_message_is_not_a_client_hello(void **state)
{
    struct cookie_fixture *fx = *state;
    unsigned char record[DATAGRAM_MAX];

    make_first_hello(fx);
    memcpy(record, fx->first_hello, fx->first_hello_len);
    record[RECORD_HEADER_SIZE] = 16; /* client_key_exchange */
    assert_false(cookie_is_client_hello(record, fx->first_hello_len));
}

static void test_hello_verify_request_is_not_a_client_hello(void **state)
{
    struct cookie_fixture *fx = *state;

    make_first_hello(fx);
    send_hello_verify_request(fx, &fx->cookie_key, NULL);
    assert_false(cookie_is_client_hello(fx->hvr, fx->hvr_len));
}

/* --- cookie_check and cookie_reply --- */

static void test_first_client_hello_without_cookie_is_rejected(void **state)
{
    struct cookie_fixture *fx = *state;
    gnutls_dtls_prestate_st prestate;

    make_first_hello(fx);
    assert_int_equal(fx->first_hello[cookie_length_offset(fx->first_hello,
                                                          fx->first_hello_len)], 0);
    assert_true(cookie_check(&fx->cookie_key, &fx->client_addr, fx->first_hello,
                                  fx->first_hello_len, &prestate) < 0);
}

static void test_hello_verify_request_is_smaller_than_the_client_hello(void **state)
{
    struct cookie_fixture *fx = *state;

    make_first_hello(fx);
    send_hello_verify_request(fx, &fx->cookie_key, NULL);
    assert_int_equal(fx->hvr[0], CONTENT_HANDSHAKE);
    assert_int_equal(fx->hvr[RECORD_HEADER_SIZE], HANDSHAKE_HELLO_VERIFY_REQUEST);
    assert_true(fx->hvr_len < fx->first_hello_len);
    assert_true(fx->hvr_len < COOKIE_MIN_CLIENT_HELLO);
}

static void test_hello_verify_request_is_sent_from_the_given_local_address(void **state)
{
    struct cookie_fixture *fx = *state;

    make_first_hello(fx);
    /* send_hello_verify_request checks the sender is server_addr. */
    send_hello_verify_request(fx, &fx->cookie_key, &fx->server_addr);
    assert_int_equal(fx->hvr[RECORD_HEADER_SIZE], HANDSHAKE_HELLO_VERIFY_REQUEST);
}

static void test_client_answers_hello_verify_request_with_a_cookie(void **state)
{
    struct cookie_fixture *fx = *state;
    size_t offset;

    make_hello_with_cookie(fx);
    assert_true(cookie_is_client_hello(fx->second_hello, fx->second_hello_len));
    offset = cookie_length_offset(fx->second_hello, fx->second_hello_len);
    assert_true(fx->second_hello[offset] > 0);
    assert_true(offset + 1 + fx->second_hello[offset] <= fx->second_hello_len);
}

static void test_cookie_accepted_from_the_same_address(void **state)
{
    struct cookie_fixture *fx = *state;
    gnutls_dtls_prestate_st prestate;
    int rc;

    make_hello_with_cookie(fx);
    rc = cookie_check(&fx->cookie_key, &fx->client_addr, fx->second_hello,
                           fx->second_hello_len, &prestate);
    if (rc != 0)
        fail_msg("cookie_check returned %d (%s)", rc, gnutls_strerror(rc));
    /* The server session continues the client's sequence: its second ClientHello is
     * record 1 and handshake message 1. */
    assert_int_equal(prestate.record_seq, 1);
    assert_int_equal(prestate.hsk_read_seq, 1);
}

static void test_cookie_accepted_from_the_v4_mapped_twin_address(void **state)
{
    struct cookie_fixture *fx = *state;
    gnutls_dtls_prestate_st prestate;
    struct udp_addr mapped;
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&fx->client_addr.ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&mapped.ss;

    make_hello_with_cookie(fx);
    /* The listener is dual-stack: the same client may be seen as ::ffff:127.0.0.1. */
    memset(&mapped, 0, sizeof(mapped));
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = sin->sin_port;
    sin6->sin6_addr.s6_addr[10] = 0xff;
    sin6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&sin6->sin6_addr.s6_addr[12], &sin->sin_addr, 4);
    mapped.len = sizeof(*sin6);
    assert_int_equal(cookie_check(&fx->cookie_key, &mapped, fx->second_hello,
                                       fx->second_hello_len, &prestate), 0);
}

static void test_cookie_rejected_for_other_port(void **state)
{
    struct cookie_fixture *fx = *state;
    gnutls_dtls_prestate_st prestate;
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&fx->client_addr.ss;
    struct udp_addr other;

    make_hello_with_cookie(fx);
    other = with_port(&fx->client_addr, (unsigned short)(ntohs(sin->sin_port) ^ 1));
    assert_true(cookie_check(&fx->cookie_key, &other, fx->second_hello,
                                  fx->second_hello_len, &prestate) < 0);
}

static void test_cookie_rejected_for_other_address(void **state)
{
    struct cookie_fixture *fx = *state;
    gnutls_dtls_prestate_st prestate;
    struct udp_addr other;

    make_hello_with_cookie(fx);
    other = with_ipv4(&fx->client_addr, "127.0.0.2");
    assert_true(cookie_check(&fx->cookie_key, &other, fx->second_hello,
                                  fx->second_hello_len, &prestate) < 0);
}

static void test_cookie_rejected_after_one_byte_is_flipped(void **state)
{
    struct cookie_fixture *fx = *state;
    gnutls_dtls_prestate_st prestate;
    unsigned char forged[DATAGRAM_MAX];
    size_t offset, cookie_len, i;

    make_hello_with_cookie(fx);
    offset = cookie_length_offset(fx->second_hello, fx->second_hello_len);
    cookie_len = fx->second_hello[offset];
    assert_true(cookie_len > 0);
    for (i = 0; i < cookie_len; i++) {
        memcpy(forged, fx->second_hello, fx->second_hello_len);
        forged[offset + 1 + i] ^= 0x01;
        if (cookie_check(&fx->cookie_key, &fx->client_addr, forged,
                              fx->second_hello_len, &prestate) >= 0)
            fail_msg("a cookie with byte %zu of %zu flipped was accepted", i, cookie_len);
    }
}

static void test_cookie_rejected_when_made_with_another_key(void **state)
{
    struct cookie_fixture *fx = *state;
    gnutls_dtls_prestate_st prestate;
    gnutls_datum_t other_key = {NULL, 0};
    char err[256];
    int rc;

    if (cookie_key_new(&other_key, err, sizeof(err)) < 0)
        fail_msg("%s", err);
    assert_int_equal(other_key.size, fx->cookie_key.size);
    assert_memory_not_equal(other_key.data, fx->cookie_key.data, other_key.size);
    make_first_hello(fx);
    send_hello_verify_request(fx, &other_key, NULL);
    make_second_hello(fx);
    /* The same bytes pass with the key that made them, and fail with another. */
    rc = cookie_check(&other_key, &fx->client_addr, fx->second_hello,
                           fx->second_hello_len, &prestate);
    gnutls_free(other_key.data);
    assert_int_equal(rc, 0);
    assert_true(cookie_check(&fx->cookie_key, &fx->client_addr, fx->second_hello,
                                  fx->second_hello_len, &prestate) < 0);
}

static void test_client_hello_cut_inside_the_cookie_is_rejected(void **state)
{
    struct cookie_fixture *fx = *state;
    gnutls_dtls_prestate_st prestate;
    size_t offset, end, len;

    make_hello_with_cookie(fx);
    offset = cookie_length_offset(fx->second_hello, fx->second_hello_len);
    end = offset + 1 + fx->second_hello[offset];
    for (len = 0; len <= end; len++)
        if (cookie_check(&fx->cookie_key, &fx->client_addr, fx->second_hello, len,
                              &prestate) >= 0)
            fail_msg("the first %zu of %zu bytes passed the cookie check", len,
                     fx->second_hello_len);
}

/* Rotating keys derive from the secret and the period's number: two key sets that share
 * the secret (workers forked from one parent) agree in every period, a rotation keeps the
 * old current key as the previous one, and another secret gives other keys. */
static void test_rotating_keys_derive_from_the_secret_and_the_period(void **state)
{
    struct cookie_keys a, b, other;
    unsigned char first[GNUTLS_COOKIE_KEY_SIZE];
    char err[128];
    int64_t period_ms = 1000, now;

    (void)state;
    assert_int_equal(cookie_keys_init(&a, (unsigned)period_ms, NULL, err, sizeof(err)), 0);
    assert_int_equal(cookie_keys_init(&b, (unsigned)period_ms, NULL, err, sizeof(err)), 0);
    assert_int_equal(cookie_keys_init(&other, (unsigned)period_ms, NULL, err, sizeof(err)), 0);
    assert_memory_not_equal(a.current.data, b.current.data, GNUTLS_COOKIE_KEY_SIZE);
    memcpy(b.secret, a.secret, sizeof(a.secret));
    now = (a.period + 1) * period_ms; /* the next period starts */
    assert_int_equal(cookie_keys_rotate(&b, now), period_ms);
    assert_int_equal(cookie_keys_rotate(&a, now), period_ms);
    assert_int_equal(cookie_keys_rotate(&other, now), period_ms);
    assert_memory_equal(a.current.data, b.current.data, GNUTLS_COOKIE_KEY_SIZE);
    assert_memory_equal(a.previous.data, b.previous.data, GNUTLS_COOKIE_KEY_SIZE);
    assert_memory_not_equal(a.current.data, other.current.data, GNUTLS_COOKIE_KEY_SIZE);
    memcpy(first, a.current.data, sizeof(first));
    assert_int_equal(cookie_keys_rotate(&a, now + period_ms / 2), period_ms / 2); /* not due */
    assert_memory_equal(a.current.data, first, sizeof(first));
    assert_int_equal(cookie_keys_rotate(&a, now + period_ms), period_ms);
    assert_memory_equal(a.previous.data, first, sizeof(first));
    assert_memory_not_equal(a.current.data, first, sizeof(first));
    cookie_keys_destroy(&a);
    cookie_keys_destroy(&b);
    cookie_keys_destroy(&other);
}

#define EXCHANGE_TEST(name) cmocka_unit_test_setup_teardown(name, exchange_setup, exchange_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        EXCHANGE_TEST(test_real_client_hello_is_recognised),
        cmocka_unit_test(test_garbage_is_not_a_client_hello),
        cmocka_unit_test(test_rotating_keys_derive_from_the_secret_and_the_period),
        EXCHANGE_TEST(test_truncated_client_hello_is_not_a_client_hello),
        EXCHANGE_TEST(test_non_handshake_record_is_not_a_client_hello),
        EXCHANGE_TEST(test_encrypted_epoch_record_is_not_a_client_hello),
        EXCHANGE_TEST(test_other_handshake_message_is_not_a_client_hello),
        EXCHANGE_TEST(test_hello_verify_request_is_not_a_client_hello),
        EXCHANGE_TEST(test_first_client_hello_without_cookie_is_rejected),
        EXCHANGE_TEST(test_hello_verify_request_is_smaller_than_the_client_hello),
        EXCHANGE_TEST(test_hello_verify_request_is_sent_from_the_given_local_address),
        EXCHANGE_TEST(test_client_answers_hello_verify_request_with_a_cookie),
        EXCHANGE_TEST(test_cookie_accepted_from_the_same_address),
        EXCHANGE_TEST(test_cookie_accepted_from_the_v4_mapped_twin_address),
        EXCHANGE_TEST(test_cookie_rejected_for_other_port),
        EXCHANGE_TEST(test_cookie_rejected_for_other_address),
        EXCHANGE_TEST(test_cookie_rejected_after_one_byte_is_flipped),
        EXCHANGE_TEST(test_cookie_rejected_when_made_with_another_key),
        EXCHANGE_TEST(test_client_hello_cut_inside_the_cookie_is_rejected),
    };

    return cmocka_run_group_tests(tests, gnutls_setup, gnutls_teardown);
}
