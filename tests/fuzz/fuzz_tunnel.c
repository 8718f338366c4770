/* SPDX-License-Identifier: MIT */
/* fuzz_tunnel.c - libFuzzer harness for the tunnel's control messages and its offloads:
 * the bytes of a record from the peer, decoded by tunnel_decode() as the server decodes a
 * request and the client a config or a refusal; and, when the first byte is not
 * TUNNEL_CONTROL, the same bytes as a frame read from a TUN device with offloads (a
 * virtio_net_hdr, then a packet), split by tun_split into pieces that are then written
 * through a tun_writer (tun_offload.c), which joins what it can.
 *
 * Input: the record, read in place at the end of libFuzzer's buffer so that
 * AddressSanitizer catches a read past it (the frame: a copy, as the splitter completes
 * checksums in place).
 *
 * Asserts: a decoded request or config encodes back to a record that decodes to the same
 * thing (nothing is lost or invented); a config's prefixes are in range and its MTU at
 * least IPv4's 68; a refusal's reason is printable, terminated and no longer than the
 * record; anything whose first byte is not TUNNEL_CONTROL is not a control message. Of a
 * frame: every piece fits the record size; a piece cut from a super-segment has valid IP
 * and transport checksums; the writer counts every packet once; and the frames it wrote,
 * split again, give back exactly the pieces it was given. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tun_offload.h"
#include "tunnel.h"

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "fuzz_tunnel: contract broken: %s\n", #cond);             \
            abort();                                                                     \
        }                                                                                \
    } while (0)

#define RECORD_MAX 1400 /* a piece's most: a data MTU */
#define PIECES_MAX 4096

static unsigned char frame[TUN_FRAME_MAX], scratch[RECORD_MAX];
static unsigned char given[TUN_FRAME_MAX * 2], back[TUN_FRAME_MAX * 2], room[TUN_FRAME_MAX];
static unsigned char piece_room[TUN_VNET_HDR_LEN + RECORD_MAX];

/* Whether the IPv4 header's and the transport checksum of a piece hold. */
static int checksums_hold(const unsigned char *p, size_t len)
{
    int v6 = p[0] >> 4 == 6;
    size_t ip_len = v6 ? 40 : (size_t)(p[0] & 15) * 4;
    unsigned proto = v6 ? p[6] : p[9];
    uint64_t sum = v6 ? tun_csum_add(0, p + 8, 32) : tun_csum_add(0, p + 12, 8);

    if (!v6 && tun_csum_fold(tun_csum_add(0, p, ip_len)) != 0xffff)
        return 0;
    sum += proto + (len - ip_len) + tun_csum_add(0, p + ip_len, len - ip_len);
    return tun_csum_fold(sum) == 0xffff;
}

/* Splits the frame, writes the pieces through a writer into a SEQPACKET socket (which
 * keeps each write whole), reads the frames back and splits them again. */
static void offloads(const unsigned char *data, size_t size)
{
    static int fds[2] = {-1, -1};
    struct tun_split sp, again;
    struct tun_writer w;
    const unsigned char *p, *q;
    size_t len, given_len = 0, back_len = 0, puts = 0;
    ssize_t n;

    if (fds[0] < 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, fds) < 0)
        abort();
    while (read(fds[0], frame, sizeof(frame)) > 0) /* what a returned run left */
        ;
    if (size > sizeof(frame))
        return;
    memcpy(frame, data, size);
    if (tun_split_start(&sp, frame, size, RECORD_MAX) < 0)
        return;
    tun_writer_init(&w, fds[1], 1, 1, room);
    while ((p = tun_split_next(&sp, scratch, &len)) != NULL && puts < PIECES_MAX) {
        CHECK(len <= RECORD_MAX || !sp.gso);
        if (sp.gso)
            CHECK(checksums_hold(p, len));
        if (len > RECORD_MAX || given_len + len > sizeof(given))
            return; /* a plain packet too large for a record: the session refuses it */
        memcpy(given + given_len, p, len);
        given_len += len;
        memcpy(piece_room + TUN_VNET_HDR_LEN, p, len);
        tun_writer_put(&w, piece_room + TUN_VNET_HDR_LEN, len);
        puts++;
    }
    tun_writer_flush(&w);
    CHECK(w.packets + w.dropped == puts && w.writes <= puts);
    while ((n = read(fds[0], frame, sizeof(frame))) > 0) {
        CHECK(tun_split_start(&again, frame, (size_t)n, TUN_PACKET_MAX) == 0);
        while ((q = tun_split_next(&again, room, &len)) != NULL) {
            CHECK(back_len + len <= sizeof(back));
            memcpy(back + back_len, q, len);
            back_len += len;
        }
    }
    if (w.dropped == 0)
        CHECK(back_len == given_len && memcmp(back, given, given_len) == 0);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct tunnel_request req, req2;
    struct tunnel_config cfg, cfg2;
    char reason[TUNNEL_REASON_MAX + 1], reason2[8];
    unsigned char again[2 + TUNNEL_REASON_MAX + 64];
    size_t i, len;
    int type;

    memset(&req, 0, sizeof(req));
    memset(&cfg, 0, sizeof(cfg));
    type = tunnel_decode(data, size, &req, &cfg, reason, sizeof(reason));
    if (size == 0 || data[0] != TUNNEL_CONTROL)
        CHECK(type == 0);
    if (size > 0 && data[0] != TUNNEL_CONTROL)
        offloads(data, size);
    switch (type) {
    case TUNNEL_REQUEST:
        len = tunnel_encode_request(&req, again);
        memset(&req2, 0, sizeof(req2));
        CHECK(tunnel_decode(again, len, &req2, &cfg2, reason2, sizeof(reason2)) ==
              TUNNEL_REQUEST);
        CHECK(memcmp(&req, &req2, sizeof(req)) == 0 && len == size);
        break;
    case TUNNEL_CONFIG:
        CHECK(cfg.prefix4 <= 32 && cfg.prefix6 <= 128 && cfg.mtu >= 68 && cfg.mtu <= 65535);
        len = tunnel_encode_config(&cfg, again);
        CHECK(tunnel_decode(again, len, &req2, &cfg2, reason2, sizeof(reason2)) ==
              TUNNEL_CONFIG);
        CHECK(memcmp(&cfg, &cfg2, sizeof(cfg)) == 0 && len == size);
        break;
    case TUNNEL_REFUSAL:
        CHECK(strlen(reason) <= size - 2 && strlen(reason) < sizeof(reason));
        for (i = 0; reason[i] != '\0'; i++)
            CHECK(reason[i] >= 0x20 && reason[i] < 0x7f);
        break;
    default:
        CHECK(type == 0);
    }
    return 0;
}
