/* SPDX-License-Identifier: MIT */
/* dtls_reference.c - the burst benchmark's baseline: a single-threaded, non-blocking DTLS
 * echo server on GnuTLS, the shape that should do best when 500 clients arrive at once
 * (no thread, no per-client socket, one loop, a large receive buffer). It is not a server
 * to use: no limits, no idle timeout, and its handshakes' retransmission timers are looked
 * at every 100 ms only.
 *
 *   dtls_reference -p PORT [-a ADDR] [--cert FILE --key FILE]     (IPv4)
 *
 * One unconnected socket; a ClientHello without a valid cookie gets a HelloVerifyRequest,
 * one with a valid cookie a session; every datagram goes to the session of its source
 * address (open addressing on address and port), which GnuTLS reads through a pull
 * function that hands it that one datagram. Echoes every record; a session ends on
 * close_notify or an error. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 8192 /* sessions at once, at most half of them used */
#define MTU 1400

struct peer_session {
    struct sockaddr_in addr; /* sin_port 0: a free slot */
    gnutls_session_t tls;
    int established;
};

struct reference {
    int fd;
    gnutls_certificate_credentials_t creds;
    gnutls_priority_t priority;
    gnutls_datum_t cookie_key;
    struct peer_session slots[SLOTS];
    const unsigned char *datagram; /* what the pull function hands over, once */
    size_t datagram_len;
    const struct sockaddr_in *to;  /* where the push function sends */
};

static struct reference ref;

static ssize_t push(gnutls_transport_ptr_t ptr, const void *buf, size_t len)
{
    (void)ptr;
    return sendto(ref.fd, buf, len, 0, (const struct sockaddr *)ref.to, sizeof(*ref.to));
}

static ssize_t pull(gnutls_transport_ptr_t ptr, void *buf, size_t size)
{
    size_t len = ref.datagram_len < size ? ref.datagram_len : size;

    (void)ptr;
    if (ref.datagram == NULL) {
        errno = EAGAIN;
        return -1;
    }
    memcpy(buf, ref.datagram, len);
    ref.datagram = NULL;
    return (ssize_t)len;
}

static int pull_timeout(gnutls_transport_ptr_t ptr, unsigned ms)
{
    (void)ptr;
    (void)ms;
    return ref.datagram != NULL;
}

static struct peer_session *slot_of(const struct sockaddr_in *addr, int create)
{
    unsigned i = (ntohs(addr->sin_port) * 2654435761u ^ addr->sin_addr.s_addr) % SLOTS, n;

    for (n = 0; n < SLOTS; n++, i = (i + 1) % SLOTS) {
        struct peer_session *p = &ref.slots[i];
        if (p->addr.sin_port == addr->sin_port && p->addr.sin_addr.s_addr == addr->sin_addr.s_addr)
            return p;
        if (p->addr.sin_port == 0)
            return create ? p : NULL;
    }
    return NULL;
}

/* Frees a session's slot and moves the slots after it back, so lookups stay unbroken. */
static void end_session(struct peer_session *p)
{
    unsigned i = (unsigned)(p - ref.slots), j = i;

    gnutls_deinit(p->tls);
    memset(p, 0, sizeof(*p));
    for (;;) {
        struct peer_session *q;
        unsigned home;
        j = (j + 1) % SLOTS;
        q = &ref.slots[j];
        if (q->addr.sin_port == 0)
            return;
        home = (ntohs(q->addr.sin_port) * 2654435761u ^ q->addr.sin_addr.s_addr) % SLOTS;
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            ref.slots[i] = *q;
            memset(q, 0, sizeof(*q));
            i = j;
        }
    }
}

static void new_session(struct peer_session *p, const struct sockaddr_in *addr,
                        gnutls_dtls_prestate_st *prestate)
{
    if (gnutls_init(&p->tls, GNUTLS_SERVER | GNUTLS_DATAGRAM | GNUTLS_NONBLOCK) < 0)
        return;
    gnutls_priority_set(p->tls, ref.priority);
    gnutls_credentials_set(p->tls, GNUTLS_CRD_CERTIFICATE, ref.creds);
    gnutls_dtls_prestate_set(p->tls, prestate);
    gnutls_dtls_set_mtu(p->tls, MTU);
    gnutls_transport_set_push_function(p->tls, push);
    gnutls_transport_set_pull_function(p->tls, pull);
    gnutls_transport_set_pull_timeout_function(p->tls, pull_timeout);
    p->addr = *addr;
    p->established = 0;
}

static void serve(struct peer_session *p)
{
    unsigned char record[MTU];
    ssize_t n;
    int rc;

    if (!p->established) {
        rc = gnutls_handshake(p->tls);
        if (rc == 0)
            p->established = 1;
        else if (gnutls_error_is_fatal(rc))
            end_session(p);
        return;
    }
    n = gnutls_record_recv(p->tls, record, sizeof(record));
    if (n > 0)
        gnutls_record_send(p->tls, record, (size_t)n);
    else if (n == 0 || gnutls_error_is_fatal((int)n))
        end_session(p); /* close_notify (or a failure): nothing to answer */
}

static void datagram(const unsigned char *buf, size_t len, const struct sockaddr_in *from)
{
    struct peer_session *p = slot_of(from, 0);
    gnutls_dtls_prestate_st prestate;

    ref.to = from;
    if (p == NULL) {
        memset(&prestate, 0, sizeof(prestate));
        if (gnutls_dtls_cookie_verify(&ref.cookie_key, (void *)from, sizeof(*from),
                                      (void *)buf, len, &prestate) < 0) {
            if (len > 25 && buf[0] == 22 && buf[13] == 1) /* a ClientHello: ask for a cookie */
                gnutls_dtls_cookie_send(&ref.cookie_key, (void *)from, sizeof(*from),
                                        &prestate, NULL, push);
            return;
        }
        p = slot_of(from, 1);
        if (p == NULL)
            return;
        new_session(p, from, &prestate);
        if (p->addr.sin_port == 0)
            return;
    }
    ref.datagram = buf;
    ref.datagram_len = len;
    serve(p);
    ref.datagram = NULL;
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {{"cert", 1, NULL, 'C'}, {"key", 1, NULL, 'K'},
                                          {NULL, 0, NULL, 0}};
    const char *address = "127.0.0.1", *cert = "certs/server.pem", *key = "certs/server-key.pem";
    struct sockaddr_in bind_to = {.sin_family = AF_INET}, from;
    unsigned char buf[65536];
    int opt, port = 0, rcvbuf = 8 * 1024 * 1024;

    while ((opt = getopt_long(argc, argv, "a:p:", longs, NULL)) != -1) {
        if (opt == 'a')
            address = optarg;
        else if (opt == 'p')
            port = atoi(optarg);
        else if (opt == 'C')
            cert = optarg;
        else if (opt == 'K')
            key = optarg;
        else
            return 2;
    }
    bind_to.sin_port = htons((unsigned short)port);
    if (port <= 0 || inet_pton(AF_INET, address, &bind_to.sin_addr) != 1) {
        fprintf(stderr, "usage: dtls_reference -p PORT [-a IPV4] [--cert F --key F]\n");
        return 2;
    }
    if (gnutls_global_init() < 0 || gnutls_certificate_allocate_credentials(&ref.creds) < 0 ||
        gnutls_certificate_set_x509_key_file(ref.creds, cert, key, GNUTLS_X509_FMT_PEM) < 0 ||
        gnutls_priority_init(&ref.priority, NULL, NULL) < 0 ||
        gnutls_key_generate(&ref.cookie_key, GNUTLS_COOKIE_KEY_SIZE) < 0) {
        fprintf(stderr, "dtls_reference: GnuTLS set-up failed (certificate %s, key %s)\n",
                cert, key);
        return 1;
    }
    ref.fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (ref.fd < 0 || bind(ref.fd, (struct sockaddr *)&bind_to, sizeof(bind_to)) < 0) {
        perror("dtls_reference: bind");
        return 1;
    }
    if (setsockopt(ref.fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
        setsockopt(ref.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    if (setsockopt(ref.fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){.tv_usec = 100000},
                   sizeof(struct timeval)) < 0) {
        perror("dtls_reference: SO_RCVTIMEO");
        return 1;
    }
    for (time_t last = time(NULL);;) { /* until killed */
        socklen_t from_len = sizeof(from);
        ssize_t n = recvfrom(ref.fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &from_len);
        if (n > 0 && from.sin_family == AF_INET)
            datagram(buf, (size_t)n, &from);
        if (n < 0 || time(NULL) != last) { /* GnuTLS resends a flight whose time is up */
            last = time(NULL);
            for (unsigned i = 0; i < SLOTS; i++)
                if (ref.slots[i].addr.sin_port != 0 && !ref.slots[i].established) {
                    ref.to = &ref.slots[i].addr;
                    serve(&ref.slots[i]);
                }
        }
    }
}
