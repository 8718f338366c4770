/* SPDX-License-Identifier: MIT */
/* udp_relay.c - a UDP fault-injection relay for tests: sits between DTLS clients and a
 * server and, per direction and reproducibly from a seed, drops, duplicates, reorders and
 * delays datagrams, and drops datagrams larger than an MTU.
 *
 *   udp_relay -l PORT -t HOST:PORT [options]
 *
 * Each client address gets its own upstream socket, so the server sees distinct peers;
 * with --one-source every client shares one upstream socket (the server sees one peer
 * restarting). It exits by itself after --duration seconds, printing counters to stderr.
 * SIGUSR1 turns a black hole on and off: every datagram either way is dropped while it is
 * on (a path that dies and comes back). Loopback only by design: the target must resolve
 * to a loopback address; --listen-address can put the listening end on another address
 * of this machine (a network namespace's veth), where it only receives. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 1024
#define MAX_HELD 4096
#define DATAGRAM_MAX 65536

enum { UP = 0, DOWN = 1 }; /* up: client -> server; down: server -> client */

struct faults {
    double drop, dup, reorder;
    unsigned delay_ms;
    unsigned blackout_ms; /* drop everything for this long after the first datagram */
};

struct peer {
    struct sockaddr_storage addr; /* the client */
    socklen_t len;
    int upstream;                 /* our socket towards the server for this client */
};

struct held {
    int64_t due;
    int dir;
    int fd;
    struct sockaddr_storage to;
    socklen_t to_len;
    size_t len;
    unsigned char *data;
};

static struct faults fault[2];
static unsigned mtu;
static uint64_t rng_state = 88172645463325252ull;
static unsigned long counts[2][5]; /* in, out, dropped, duplicated, reordered */
static volatile sig_atomic_t stop, black_hole;
static int64_t first_datagram_ms = -1;

static double rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / (double)(1ull << 53);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct held held[MAX_HELD];
static unsigned held_count;

static void hold(int dir, int64_t due, int fd, const struct sockaddr_storage *to, socklen_t to_len,
                 const unsigned char *data, size_t len)
{
    struct held *h;

    if (held_count == MAX_HELD)
        return;
    h = &held[held_count];
    h->data = malloc(len);
    if (h->data == NULL)
        return;
    memcpy(h->data, data, len);
    h->due = due;
    h->dir = dir;
    h->fd = fd;
    h->to = *to;
    h->to_len = to_len;
    h->len = len;
    held_count++;
}

static void send_one(int dir, int fd, const struct sockaddr_storage *to, socklen_t to_len,
                     const unsigned char *data, size_t len)
{
    if (sendto(fd, data, len, 0, (const struct sockaddr *)to, to_len) >= 0)
        counts[dir][1]++;
}

/* Releases the held datagrams that are due (all of them when force). */
static void release(int64_t now, int force)
{
    unsigned i = 0;

    while (i < held_count) {
        if (force || held[i].due <= now) {
            send_one(held[i].dir, held[i].fd, &held[i].to, held[i].to_len, held[i].data,
                     held[i].len);
            free(held[i].data);
            held[i] = held[--held_count];
        } else {
            i++;
        }
    }
}

static void forward(int dir, int fd, const struct sockaddr_storage *to, socklen_t to_len,
                    const unsigned char *data, size_t len)
{
    const struct faults *f = &fault[dir];
    int copies = 1, i;

    counts[dir][0]++;
    if (first_datagram_ms < 0)
        first_datagram_ms = now_ms();
    if (black_hole || (mtu && len > mtu) || rnd() < f->drop ||
        now_ms() - first_datagram_ms < (int64_t)f->blackout_ms) {
        counts[dir][2]++;
        return;
    }
    if (rnd() < f->dup) {
        copies = 2;
        counts[dir][3]++;
    }
    for (i = 0; i < copies; i++) {
        if (rnd() < f->reorder) {
            /* Held back so that the datagrams after it overtake it. */
            counts[dir][4]++;
            hold(dir, now_ms() + f->delay_ms + 20, fd, to, to_len, data, len);
        } else if (f->delay_ms) {
            hold(dir, now_ms() + f->delay_ms, fd, to, to_len, data, len);
        } else {
            send_one(dir, fd, to, to_len, data, len);
        }
    }
}

static int resolve(const char *hostport, struct sockaddr_storage *out, socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res;

    if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host))
        return -1;
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    if (host[0] == '[') { /* [::1]:port */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
        return -1;
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    if (out->ss_family == AF_INET)
        return ntohl(((struct sockaddr_in *)out)->sin_addr.s_addr) >> 24 == 127 ? 0 : -1;
    return IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)out)->sin6_addr) ? 0 : -1;
}

static void on_signal(int signo)
{
    (void)signo;
    stop = 1;
}

static void on_black_hole(int signo)
{
    (void)signo;
    black_hole = !black_hole;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: udp_relay -l PORT -t HOST:PORT [--seed N] [--duration S] [--mtu BYTES]\n"
            "  [--drop P] [--dup P] [--reorder P] [--delay MS]   (both directions)\n"
            "  [--drop-up P] [--drop-down P] [--dup-up P] [--dup-down P] [--reorder-up P]\n"
            "  [--reorder-down P] [--delay-up MS] [--delay-down MS] [--one-source]\n"
            "  [--blackout-up MS] [--blackout-down MS]  (drop all for MS after the first)\n"
            "  [--listen-address ADDR]  (default: loopback)\n"
            "P is a probability from 0 to 1. The target must be a loopback address.\n"
            "SIGUSR1 turns a black hole (drop everything) on, the next one off.\n");
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"listen", 1, 0, 'l'}, {"to", 1, 0, 't'}, {"seed", 1, 0, 's'},
        {"duration", 1, 0, 'd'}, {"mtu", 1, 0, 'm'}, {"drop", 1, 0, 1},
        {"dup", 1, 0, 2}, {"reorder", 1, 0, 3}, {"delay", 1, 0, 4},
        {"drop-up", 1, 0, 11}, {"drop-down", 1, 0, 21}, {"dup-up", 1, 0, 12},
        {"dup-down", 1, 0, 22}, {"reorder-up", 1, 0, 13}, {"reorder-down", 1, 0, 23},
        {"delay-up", 1, 0, 14}, {"delay-down", 1, 0, 24}, {"one-source", 0, 0, 'o'},
        {"blackout-up", 1, 0, 15}, {"blackout-down", 1, 0, 25},
        {"listen-address", 1, 0, 'L'}, {0, 0, 0, 0},
    };
    static struct peer peers[MAX_CLIENTS];
    static unsigned char buf[DATAGRAM_MAX];
    struct sockaddr_storage target, from;
    socklen_t target_len = 0, from_len;
    struct pollfd fds[MAX_CLIENTS + 1];
    unsigned listen_port = 0, duration = 60, npeers = 0, i;
    int opt, listen_fd, one_source = 0, shared_up = -1, last_peer = -1;
    const char *listen_address = NULL;
    int64_t end;

    while ((opt = getopt_long(argc, argv, "l:t:s:d:m:oL:", options, NULL)) != -1) {
        double p = optarg ? atof(optarg) : 0;
        switch (opt) {
        case 'l': listen_port = (unsigned)atoi(optarg); break;
        case 't':
            if (resolve(optarg, &target, &target_len) < 0) {
                fprintf(stderr, "udp_relay: '%s' is not a loopback HOST:PORT\n", optarg);
                return 2;
            }
            break;
        case 's': rng_state ^= strtoull(optarg, NULL, 10) * 0x9E3779B97F4A7C15ull + 1; break;
        case 'd': duration = (unsigned)atoi(optarg); break;
        case 'm': mtu = (unsigned)atoi(optarg); break;
        case 'o': one_source = 1; break;
        case 'L': listen_address = optarg; break;
        case 1: fault[UP].drop = fault[DOWN].drop = p; break;
        case 2: fault[UP].dup = fault[DOWN].dup = p; break;
        case 3: fault[UP].reorder = fault[DOWN].reorder = p; break;
        case 4: fault[UP].delay_ms = fault[DOWN].delay_ms = (unsigned)p; break;
        case 11: case 21: fault[opt / 10 - 1].drop = p; break;
        case 12: case 22: fault[opt / 10 - 1].dup = p; break;
        case 13: case 23: fault[opt / 10 - 1].reorder = p; break;
        case 14: case 24: fault[opt / 10 - 1].delay_ms = (unsigned)p; break;
        case 15: case 25: fault[opt / 10 - 1].blackout_ms = (unsigned)p; break;
        default: usage(); return 2;
        }
    }
    if (!listen_port || !target_len) {
        usage();
        return 2;
    }
    {
        struct sockaddr_in6 any = {.sin6_family = AF_INET6, .sin6_port = htons(listen_port),
                                   .sin6_addr = IN6ADDR_LOOPBACK_INIT};
        struct sockaddr_in any4 = {.sin_family = AF_INET, .sin_port = htons(listen_port),
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        /* Listen on the target's family, loopback unless told. */
        if (listen_address != NULL &&
            inet_pton(target.ss_family, listen_address,
                      target.ss_family == AF_INET6 ? (void *)&any.sin6_addr
                                                   : (void *)&any4.sin_addr) != 1) {
            fprintf(stderr, "udp_relay: --listen-address '%s' is not an address of the "
                            "target's family\n", listen_address);
            return 2;
        }
        listen_fd = socket(target.ss_family, SOCK_DGRAM, 0);
        if (listen_fd < 0 ||
            bind(listen_fd, target.ss_family == AF_INET6 ? (struct sockaddr *)&any
                                                         : (struct sockaddr *)&any4,
                 target.ss_family == AF_INET6 ? sizeof(any) : sizeof(any4)) < 0) {
            perror("udp_relay: bind");
            return 1;
        }
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGUSR1, on_black_hole);
    fprintf(stderr, "udp_relay: ready\n");
    end = now_ms() + (int64_t)duration * 1000;

    while (!stop && now_ms() < end) {
        int64_t now = now_ms(), wait = end - now;
        for (i = 0; i < held_count; i++)
            if (held[i].due - now < wait)
                wait = held[i].due - now < 0 ? 0 : held[i].due - now;
        fds[0].fd = listen_fd;
        fds[0].events = POLLIN;
        for (i = 0; i < npeers; i++) {
            fds[i + 1].fd = peers[i].upstream;
            fds[i + 1].events = POLLIN;
        }
        if (poll(fds, one_source ? (npeers ? 2 : 1) : npeers + 1, (int)wait) < 0 &&
            errno != EINTR)
            break;
        release(now_ms(), 0);
        if (fds[0].revents & POLLIN) {
            from_len = sizeof(from);
            ssize_t n = recvfrom(listen_fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
                                 &from_len);
            if (n >= 0) {
                int found = -1;
                for (i = 0; i < npeers; i++)
                    if (peers[i].len == from_len && memcmp(&peers[i].addr, &from, from_len) == 0)
                        found = (int)i;
                if (found < 0 && npeers < MAX_CLIENTS) {
                    found = (int)npeers++;
                    peers[found].addr = from;
                    peers[found].len = from_len;
                    if (one_source && shared_up >= 0) {
                        peers[found].upstream = shared_up;
                    } else {
                        peers[found].upstream = socket(target.ss_family, SOCK_DGRAM, 0);
                        shared_up = peers[found].upstream;
                    }
                }
                if (found >= 0) {
                    last_peer = found;
                    forward(UP, peers[found].upstream, &target, target_len, buf, (size_t)n);
                }
            }
        }
        for (i = 0; i < npeers; i++) {
            if (!(fds[i + 1].revents & POLLIN) || (one_source && i > 0))
                continue;
            ssize_t n = recv(peers[i].upstream, buf, sizeof(buf), 0);
            if (n < 0)
                continue;
            /* With one source, answers go to the newest client. */
            const struct peer *to = one_source ? &peers[last_peer] : &peers[i];
            forward(DOWN, listen_fd, &to->addr, to->len, buf, (size_t)n);
        }
    }
    release(0, 1);
    fprintf(stderr, "udp_relay: up in=%lu out=%lu dropped=%lu duplicated=%lu reordered=%lu; "
            "down in=%lu out=%lu dropped=%lu duplicated=%lu reordered=%lu\n",
            counts[UP][0], counts[UP][1], counts[UP][2], counts[UP][3], counts[UP][4],
            counts[DOWN][0], counts[DOWN][1], counts[DOWN][2], counts[DOWN][3], counts[DOWN][4]);
    return 0;
}
