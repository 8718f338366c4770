/* SPDX-License-Identifier: MIT */
/* test_session.c - the session engine's typed results, between two real GnuTLS sessions
 * (anonymous key exchange, so no files) over a pair of connected UDP sockets on
 * 127.0.0.1: a handshake, a record each way, and the endings a caller must tell apart:
 * close_notify (SESSION_CLOSED) and a fatal alert (SESSION_FATAL, with the code). Before
 * the engine, the client returned the same -1 for both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "credentials.h"
#include "session.h"
#include "sockets.h"

struct pair {
    struct credentials server_creds, client_creds;
    struct session server, client;
    int server_fd, client_fd;
    struct udp_addr server_addr, client_addr;
};

static int bound_socket(struct udp_addr *addr)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)&addr->ss;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

    memset(addr, 0, sizeof(*addr));
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr->len = sizeof(*sin);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)sin, addr->len), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr->ss, &addr->len), 0);
    return fd;
}

static void open_side(struct credentials *creds, struct session *s, int server, int fd,
                      const struct udp_addr *peer)
{
    struct tls_settings tls = {.server = server, .anon = 1};
    struct session_params params = {.creds = creds, .path_mtu = 1500, .peer = peer,
                                    .retransmit_ms = 100, .total_ms = 5000};
    char err[256];

    assert_int_equal(credentials_load(&tls, creds, err, sizeof(err)), CREDENTIALS_OK);
    memset(s, 0, sizeof(*s));
    s->peer = server ? "client" : "server";
    s->stop_fd = -1;
    assert_int_equal(session_open(s, &params, fd), 0);
}

static int setup(void **state)
{
    static struct pair p;

    memset(&p, 0, sizeof(p));
    p.server_fd = bound_socket(&p.server_addr);
    p.client_fd = bound_socket(&p.client_addr);
    assert_int_equal(connect(p.server_fd, (struct sockaddr *)&p.client_addr.ss,
                             p.client_addr.len), 0);
    assert_int_equal(connect(p.client_fd, (struct sockaddr *)&p.server_addr.ss,
                             p.server_addr.len), 0);
    open_side(&p.server_creds, &p.server, 1, p.server_fd, &p.client_addr);
    open_side(&p.client_creds, &p.client, 0, p.client_fd, &p.server_addr);
    *state = &p;
    return 0;
}

static int teardown(void **state)
{
    struct pair *p = *state;

    session_close(&p->server);
    session_close(&p->client);
    credentials_free(&p->server_creds);
    credentials_free(&p->client_creds);
    close(p->server_fd);
    close(p->client_fd);
    return 0;
}

/* Steps both handshakes until both are done: bounded in rounds and time. */
static void handshake(struct pair *p)
{
    enum session_status server = SESSION_AGAIN, client = SESSION_AGAIN;
    int round;

    for (round = 0; round < 200 && (server != SESSION_OK || client != SESSION_OK); round++) {
        if (client != SESSION_OK)
            client = session_handshake_step(&p->client);
        if (server != SESSION_OK)
            server = session_handshake_step(&p->server);
        assert_true(client == SESSION_OK || client == SESSION_AGAIN);
        assert_true(server == SESSION_OK || server == SESSION_AGAIN);
        poll(NULL, 0, 1);
    }
    assert_int_equal(client, SESSION_OK);
    assert_int_equal(server, SESSION_OK);
}

/* Receives on s until something other than AGAIN comes (at most 2 s). */
static enum session_status receive(struct session *s, char *buf, size_t size, size_t *len)
{
    return session_recv_until(s, buf, size, len, clock_now_ms() + 2000);
}

static void test_a_record_each_way_after_the_handshake(void **state)
{
    struct pair *p = *state;
    char buf[64];
    size_t len = 0;

    handshake(p);
    assert_int_equal(session_send(&p->client, "ping", 4, 0), SESSION_OK);
    assert_int_equal(receive(&p->server, buf, sizeof(buf), &len), SESSION_OK);
    assert_memory_equal(buf, "ping", 4);
    assert_int_equal(len, 4);
    assert_int_equal(session_send(&p->server, "pong", 4, 0), SESSION_OK);
    assert_int_equal(receive(&p->client, buf, sizeof(buf), &len), SESSION_OK);
    assert_memory_equal(buf, "pong", 4);
}

static void test_close_notify_is_closed(void **state)
{
    struct pair *p = *state;
    char buf[64];
    size_t len;

    handshake(p);
    session_close(&p->server); /* close_notify */
    assert_int_equal(receive(&p->client, buf, sizeof(buf), &len), SESSION_CLOSED);
}

static void test_a_fatal_alert_is_fatal_not_closed(void **state)
{
    struct pair *p = *state;
    char buf[64];
    size_t len;

    handshake(p);
    assert_int_equal(gnutls_alert_send(p->server.tls, GNUTLS_AL_FATAL, GNUTLS_A_INTERNAL_ERROR),
                     0);
    assert_int_equal(receive(&p->client, buf, sizeof(buf), &len), SESSION_FATAL);
    assert_int_equal(p->client.error, GNUTLS_E_FATAL_ALERT_RECEIVED);
}

static void test_nothing_to_read_is_again_then_timeout(void **state)
{
    struct pair *p = *state;
    char buf[64];
    size_t len;

    handshake(p);
    assert_int_equal(session_recv(&p->client, buf, sizeof(buf), &len, NULL), SESSION_AGAIN);
    assert_int_equal(session_recv_until(&p->client, buf, sizeof(buf), &len,
                                        clock_now_ms() + 50),
                     SESSION_TIMEOUT);
}

static void test_a_record_over_the_data_mtu_is_too_large(void **state)
{
    struct pair *p = *state;
    static char big[2000];

    handshake(p);
    assert_true(session_data_mtu(&p->client) < sizeof(big));
    assert_int_equal(session_send(&p->client, big, sizeof(big), 0), SESSION_TOO_LARGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_record_each_way_after_the_handshake, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_close_notify_is_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_fatal_alert_is_fatal_not_closed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_nothing_to_read_is_again_then_timeout, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_record_over_the_data_mtu_is_too_large, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
