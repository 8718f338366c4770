/* SPDX-License-Identifier: MIT */
/* tunnel.h - the VPN data path and its wire format, one more user of the session engine.
 *
 * A client asks for a tunnel with the ALPN protocol TUNNEL_ALPN. After the handshake
 * every record is either an IP packet, as it is (its first byte holds the IP version, 4
 * or 6: no framing, so the interface MTU is the session's data MTU), or a control
 * message, whose first byte is TUNNEL_CONTROL (0, which no IP packet starts with):
 *
 *   request  0, 1, version 1, token[16], data MTU (2, big-endian)        client -> server
 *   config   0, 2, version 1, addr4[4], peer4[4], prefix4, has6,
 *            addr6[16], peer6[16], prefix6, MTU (2)                      server -> client
 *   refusal  0, 3, reason (text)                                         server -> client
 *
 * The client sends the request until a config (or a refusal) comes; the server answers
 * every request alike. The token names an anonymous client's lease across reconnections.
 * Keepalives are DTLS heartbeats (RFC 6520), not messages of ours. */
#ifndef DTLS_ECHO_TUNNEL_H
#define DTLS_ECHO_TUNNEL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"
#include "sockets.h"
#include "tun.h"

#define TUNNEL_ALPN "dtls-echo-tun"
#define TUNNEL_CONTROL 0
#define TUNNEL_VERSION 1
#define TUNNEL_TOKEN_SIZE 16
#define TUNNEL_KEEPALIVE_MISSES 3  /* heartbeats unanswered: the peer is gone */
#define TUNNEL_REASON_MAX 200

enum tunnel_message { TUNNEL_REQUEST = 1, TUNNEL_CONFIG = 2, TUNNEL_REFUSAL = 3 };

struct tunnel_request {
    unsigned char token[TUNNEL_TOKEN_SIZE];
    unsigned mtu;             /* the client's data MTU */
};

struct tunnel_config {
    struct in_addr addr4, peer4;   /* the client's address, the server's */
    unsigned prefix4;              /* the tunnel network's length */
    int has6;
    struct in6_addr addr6, peer6;
    unsigned prefix6;
    unsigned mtu;                  /* both interfaces' MTU */
};

/* Encoders write into out (at least 64 bytes; the refusal's reason is cut to
 * TUNNEL_REASON_MAX) and return the length. */
size_t tunnel_encode_request(const struct tunnel_request *req, unsigned char *out);
size_t tunnel_encode_config(const struct tunnel_config *cfg, unsigned char *out);
size_t tunnel_encode_refusal(const char *reason, unsigned char *out);

/* Which control message rec (len bytes, rec[0] == TUNNEL_CONTROL) is, filling the one
 * that matches (req, cfg, or reason of reason_size); 0 when it is malformed or of
 * another version. */
int tunnel_decode(const unsigned char *rec, size_t len, struct tunnel_request *req,
                  struct tunnel_config *cfg, char *reason, size_t reason_size);

/* The addresses one end of the link gives its interface (2 with IPv6): the client its
 * own, the server's as the peer and the tunnel network's length, so the whole network
 * (other clients too) routes through it; the server its own, and the client's alone as
 * the peer (/32, /128). Returns how many. */
size_t tunnel_link_addresses(const struct tunnel_config *cfg, int server_end,
                             struct tun_address out[2]);

/* Why tunnel_run returned. */
enum tunnel_end {
    TUNNEL_STOPPED,  /* the stop descriptor or flag */
    TUNNEL_CLOSED,   /* the peer sent close_notify */
    TUNNEL_DEAD,     /* TUNNEL_KEEPALIVE_MISSES heartbeats unanswered */
    TUNNEL_RESTART,  /* the server's screen halted the session: a new handshake */
    TUNNEL_FAILED,   /* a fatal error, the peer unreachable, the TUN device failed */
};

/* The largest control message a control callback answers with. */
#define TUNNEL_REPLY_MAX 64

/* One end of a tunnel: a session, a TUN device, and what to check. */
struct tunnel {
    struct session *session;       /* established, over a non-blocking transport */
    int tun_fd;                    /* non-blocking */
    unsigned tun_offloads;         /* what tun_open granted (TUN_OFFLOAD_*) */
    int udp_offloads;              /* UDP_SEGMENT and UDP_GRO where the kernel has them */
    unsigned keepalive_ms;         /* heartbeat after this much silence; 0: none */
    /* Server: the only source addresses the client may send from (anti-spoofing). */
    int check_source;
    struct in_addr source4;
    int has6;
    struct in6_addr source6;
    /* A control message from the peer (a repeated request, a late config): returns the
     * length of the answer it wrote in reply (TUNNEL_REPLY_MAX), or 0 for none. Called by
     * the receiving thread; the sending thread sends the answer. */
    size_t (*control)(struct tunnel *t, const unsigned char *rec, size_t len,
                      unsigned char *reply);
    void *ctx;                     /* control's */
    /* Counters, read when it ends. */
    uint64_t packets_in, packets_out;   /* peer -> TUN, TUN -> peer (IP packets) */
    uint64_t reads, writes;             /* TUN reads and writes: super-segments count one */
    uint64_t spoofed;                   /* dropped: a source not the client's */
    uint64_t dropped;                   /* dropped: malformed, too large, TUN full */
    const char *why;                    /* TUNNEL_FAILED: what failed */
};

/* Moves packets both ways until the session ends, the peer goes silent, or the stop
 * (the session's stop_fd or stop_flag): the calling thread from the peer to the TUN
 * device, a second thread from the TUN device to the peer, one GnuTLS session between
 * them (one sends, one receives: GnuTLS's manual, "Thread safety"), no lock on the way of
 * a packet. A packet the socket buffer cannot take waits, and the TUN device with it,
 * while the other direction goes on. Its buffers are allocated once, at the start. */
enum tunnel_end tunnel_run(struct tunnel *t);

/* Words for an end ("no answer to 3 keepalives"). */
const char *tunnel_end_text(const struct tunnel *t, enum tunnel_end end);

#endif
