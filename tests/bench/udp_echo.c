/* SPDX-License-Identifier: MIT */
/* udp_echo.c - a plain UDP echo server, the benchmark's baseline: no encryption, no
 * per-peer state, one thread in a recvfrom/sendto loop. What it reaches is the ceiling the
 * kernel's loopback sets for the load generator's --plain sessions. It waits as
 * dtls_echo's sessions wait (src/session_transport.c), so that the two compare like with
 * like: when the last datagram came within a millisecond it looks 20 times, yielding the
 * CPU in between, before it sleeps in recvfrom.
 *
 * Usage: udp_echo [-a ADDRESS] -p PORT [-x N]   (ADDRESS defaults to 127.0.0.1)
 *   -x N   flip the last byte of every Nth echo: a wrong echo the load generator must catch
 * Prints "ready" once bound; exits on SIGINT or SIGTERM. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SPIN_ROUNDS 20   /* as src/session_transport.c */
#define BUSY_GAP_US 1000

static long long now_us(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

static volatile sig_atomic_t stop;

static void on_signal(int signo)
{
    (void)signo;
    stop = 1;
}

int main(int argc, char **argv)
{
    const char *address = "127.0.0.1";
    unsigned char buf[65536];
    struct sockaddr_storage ss;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    struct sigaction action;
    socklen_t len;
    long port = 0, corrupt_every = 0, echoed = 0;
    int fd, opt;

    while ((opt = getopt(argc, argv, "a:p:x:")) != -1) {
        if (opt == 'a')
            address = optarg;
        else if (opt == 'p')
            port = strtol(optarg, NULL, 10);
        else if (opt == 'x')
            corrupt_every = strtol(optarg, NULL, 10);
        else
            port = -1;
    }
    if (port < 1 || port > 65535 || corrupt_every < 0 || optind < argc) {
        fprintf(stderr, "usage: udp_echo [-a ADDRESS] -p PORT [-x N]\n");
        return 2;
    }
    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((unsigned short)port);
        len = sizeof(*sin);
    } else if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((unsigned short)port);
        len = sizeof(*sin6);
    } else {
        fprintf(stderr, "udp_echo: '%s' is not an IP address\n", address);
        return 2;
    }
    fd = socket(ss.ss_family, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0) {
        fprintf(stderr, "udp_echo: %s port %ld: %s\n", address, port, strerror(errno));
        return 1;
    }
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_signal; /* no SA_RESTART: the blocking recvfrom returns EINTR */
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    printf("ready\n");
    fflush(stdout);
    long long last_us = 0;
    while (!stop) {
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof(peer);
        ssize_t n = -1;
        int busy = now_us() - last_us < BUSY_GAP_US;
        for (int i = 0; busy && i < SPIN_ROUNDS && n < 0; i++) {
            n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&peer,
                         &peer_len);
            if (n < 0)
                sched_yield();
        }
        if (n < 0)
            n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &peer_len);
        last_us = now_us();
        if (n > 0 && corrupt_every > 0 && ++echoed % corrupt_every == 0)
            buf[n - 1] ^= 0xff;
        if (n >= 0)
            sendto(fd, buf, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&peer, peer_len);
        else if (errno != EINTR)
            fprintf(stderr, "udp_echo: recvfrom: %s\n", strerror(errno));
    }
    close(fd);
    return 0;
}
