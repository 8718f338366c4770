/* SPDX-License-Identifier: MIT */
/* tun_offload.c - splitting the TUN device's super-segments and joining TCP segments
 * for it (see tun_offload.h). The rules for joining are Linux's GRO's for TCP: one flow,
 * in order, the same IP fields but length, ID and checksum, the same TCP header but
 * sequence number, PSH and checksum, every segment but the last of one size. */
#define _GNU_SOURCE
#include "tun_offload.h"

#include <string.h>
#include <unistd.h>

#include "bytes.h"

#define PROTO_TCP 6
#define PROTO_UDP 17
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80
#define TCP_CHECK 16 /* the checksum's offset in the TCP header */
#define UDP_CHECK 6

uint64_t tun_csum_add(uint64_t sum, const unsigned char *p, size_t len)
{
    uint64_t s = 0;
    uint32_t word;
    uint16_t half = 0;

    /* Native 32-bit words: the one's complement sum does not care for byte order until
     * it is folded (RFC 1071 2(B)), then it is swapped once. */
    for (; len >= 4; p += 4, len -= 4) {
        memcpy(&word, p, 4);
        s += word;
    }
    if (len >= 2) {
        memcpy(&half, p, 2);
        s += half;
        p += 2;
        len -= 2;
    }
    if (len == 1) { /* the last byte, padded with a zero after it */
        half = 0;
        memcpy(&half, p, 1);
        s += half;
    }
    s = tun_csum_fold(s);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    s = (uint16_t)(s << 8 | s >> 8);
#endif
    return sum + s;
}

uint16_t tun_csum_fold(uint64_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/* The pseudo-header's sum for a transport segment of l4_len bytes in IP packet pkt. */
static uint64_t pseudo_header(const unsigned char *pkt, int v6, unsigned proto, size_t l4_len)
{
    uint64_t sum = v6 ? tun_csum_add(0, pkt + 8, 32) : tun_csum_add(0, pkt + 12, 8);

    return sum + proto + l4_len;
}

/* The full checksum of the transport segment at pkt + ip_len, into its field. */
static void transport_checksum(unsigned char *pkt, size_t len, size_t ip_len, int v6, int tcp)
{
    unsigned char *l4 = pkt + ip_len;
    size_t field = tcp ? TCP_CHECK : UDP_CHECK;
    uint16_t c;

    put_be16(l4 + field, 0);
    c = (uint16_t)~tun_csum_fold(pseudo_header(pkt, v6, tcp ? PROTO_TCP : PROTO_UDP,
                                               len - ip_len) +
                                 tun_csum_add(0, l4, len - ip_len));
    put_be16(l4 + field, !tcp && c == 0 ? 0xffff : c); /* UDP: 0 says "none" */
}

static void ipv4_checksum(unsigned char *pkt)
{
    size_t ihl = (size_t)(pkt[0] & 15) * 4;

    put_be16(pkt + 10, 0);
    put_be16(pkt + 10, (uint16_t)~tun_csum_fold(tun_csum_add(0, pkt, ihl)));
}

/* The IP header's length and the transport protocol of pkt, or 0 when it is no IPv4 or
 * IPv6 packet we can take apart (IPv6 extension headers included). */
static size_t ip_header(const unsigned char *pkt, size_t len, int *v6, unsigned *proto)
{
    size_t ihl;

    if (len >= 20 && pkt[0] >> 4 == 4) {
        ihl = (size_t)(pkt[0] & 15) * 4;
        *v6 = 0;
        *proto = pkt[9];
        return ihl >= 20 && ihl <= len ? ihl : 0;
    }
    if (len >= 40 && pkt[0] >> 4 == 6) {
        *v6 = 1;
        *proto = pkt[6];
        return 40;
    }
    return 0;
}

/* The transport header's length at l4 (len bytes left), or 0 when short. */
static size_t transport_header(const unsigned char *l4, size_t len, int tcp)
{
    size_t thl;

    if (!tcp)
        return len >= 8 ? 8 : 0;
    if (len < 20)
        return 0;
    thl = (size_t)(l4[12] >> 4) * 4;
    return thl >= 20 && thl <= len ? thl : 0;
}

int tun_split_start(struct tun_split *sp, unsigned char *frame, size_t frame_len, size_t max)
{
    struct tun_vnet_hdr h;
    unsigned gso, proto;
    size_t thl;

    if (frame_len <= TUN_VNET_HDR_LEN)
        return -1;
    memcpy(&h, frame, sizeof(h));
    memset(sp, 0, sizeof(*sp));
    sp->pkt = frame + TUN_VNET_HDR_LEN;
    sp->len = frame_len - TUN_VNET_HDR_LEN;
    gso = h.gso_type & ~TUN_GSO_ECN;
    if (gso == TUN_GSO_NONE) {
        /* The kernel left the transport checksum to us: the field holds the
         * pseudo-header's sum, and the sum from csum_start on completes it. */
        if (h.flags & TUN_HDR_F_NEEDS_CSUM) {
            size_t start = h.csum_start, field = start + h.csum_offset;
            if (field + 2 > sp->len)
                return -1;
            put_be16(sp->pkt + field, (uint16_t)~tun_csum_fold(
                                          tun_csum_add(0, sp->pkt + start, sp->len - start)));
        }
        return 0;
    }
    sp->gso = 1;
    sp->ip_len = ip_header(sp->pkt, sp->len, &sp->v6, &proto);
    sp->tcp = gso == TUN_GSO_TCPV4 || gso == TUN_GSO_TCPV6;
    if (sp->ip_len == 0 || (gso == TUN_GSO_TCPV4 && (sp->v6 || proto != PROTO_TCP)) ||
        (gso == TUN_GSO_TCPV6 && (!sp->v6 || proto != PROTO_TCP)) ||
        (gso == TUN_GSO_UDP_L4 && proto != PROTO_UDP) ||
        (!sp->tcp && gso != TUN_GSO_UDP_L4))
        return -1;
    thl = transport_header(sp->pkt + sp->ip_len, sp->len - sp->ip_len, sp->tcp);
    if (thl == 0 || h.gso_size == 0)
        return -1;
    sp->hdr_len = sp->ip_len + thl;
    sp->seg = h.gso_size;
    /* A TCP segment may be shorter than the MSS; a UDP datagram is what it is. */
    if (sp->hdr_len + sp->seg > max) {
        if (!sp->tcp || max <= sp->hdr_len)
            return -1;
        sp->seg = max - sp->hdr_len;
    }
    sp->off = sp->hdr_len;
    return 0;
}

const unsigned char *tun_split_next(struct tun_split *sp, unsigned char *scratch, size_t *len)
{
    unsigned char *l4 = scratch + sp->ip_len;
    size_t n, total;
    int last;

    if (!sp->gso) {
        if (sp->done)
            return NULL;
        sp->done = 1;
        *len = sp->len;
        return sp->pkt;
    }
    if (sp->off >= sp->len)
        return NULL;
    n = sp->len - sp->off < sp->seg ? sp->len - sp->off : sp->seg;
    last = sp->off + n == sp->len;
    total = sp->hdr_len + n;
    memcpy(scratch, sp->pkt, sp->hdr_len);
    memcpy(scratch + sp->hdr_len, sp->pkt + sp->off, n);
    if (sp->v6) {
        put_be16(scratch + 4, (unsigned)(total - 40));
    } else {
        put_be16(scratch + 2, (unsigned)total);
        put_be16(scratch + 4, (get_be16(sp->pkt + 4) + sp->index) & 0xffff);
        ipv4_checksum(scratch);
    }
    if (sp->tcp) {
        put_be32(l4 + 4, get_be32(sp->pkt + sp->ip_len + 4) + (uint32_t)(sp->off - sp->hdr_len));
        if (!last)
            l4[13] &= (unsigned char)~(TCP_FIN | TCP_PSH);
        if (sp->index > 0)
            l4[13] &= (unsigned char)~TCP_CWR;
    } else {
        put_be16(l4 + 4, (unsigned)(total - sp->ip_len));
    }
    transport_checksum(scratch, total, sp->ip_len, sp->v6, sp->tcp);
    sp->off += n;
    sp->index++;
    *len = total;
    return scratch;
}

void tun_writer_init(struct tun_writer *w, int fd, int vnet, int coalesce,
                     unsigned char *frame)
{
    memset(w, 0, sizeof(*w));
    w->fd = fd;
    w->vnet = vnet;
    w->coalesce = vnet && coalesce && frame != NULL;
    w->frame = frame;
}

/* Writes one frame of count packets; a refusal drops them. */
static void write_frame(struct tun_writer *w, const unsigned char *frame, size_t len,
                        unsigned count)
{
    w->writes++;
    if (write(w->fd, frame, len) < 0)
        w->dropped += count;
    else
        w->packets += count;
}

/* A packet alone, with an empty header where the device takes one. */
static void write_one(struct tun_writer *w, unsigned char *pkt, size_t len)
{
    if (w->vnet) {
        pkt -= TUN_VNET_HDR_LEN;
        len += TUN_VNET_HDR_LEN;
        memset(pkt, 0, TUN_VNET_HDR_LEN);
    }
    write_frame(w, pkt, len, 1);
}

/* The IP and TCP header lengths of a TCP segment that could be joined (ACK, maybe PSH,
 * nothing else; data; no IPv4 options or fragments; a valid checksum), or 0. */
static size_t joinable(const unsigned char *pkt, size_t len, int *v6, size_t *ip_len)
{
    unsigned proto;
    size_t thl;
    const unsigned char *l4;

    *ip_len = ip_header(pkt, len, v6, &proto);
    if (*ip_len == 0 || proto != PROTO_TCP)
        return 0;
    if (*v6 ? get_be16(pkt + 4) + 40u != len
            : *ip_len != 20 || get_be16(pkt + 2) != len || (get_be16(pkt + 6) & 0xbfff))
        return 0;
    l4 = pkt + *ip_len;
    thl = transport_header(l4, len - *ip_len, 1);
    if (thl == 0 || *ip_len + thl == len || (l4[13] & ~TCP_PSH) != TCP_ACK)
        return 0;
    /* The kernel will not check a joined segment's checksum: check each here. */
    if (tun_csum_fold(pseudo_header(pkt, *v6, PROTO_TCP, len - *ip_len) +
                      tun_csum_add(0, l4, len - *ip_len)) != 0xffff)
        return 0;
    return *ip_len + thl;
}

/* Whether pkt (hdr_len bytes of headers) continues the held super-segment: the same
 * IP fields but length, ID and checksum; the same TCP header but sequence number, PSH and
 * checksum; the next sequence number; no longer than the first. */
static int continues(const struct tun_writer *w, const unsigned char *pkt, size_t len,
                     size_t hdr_len, int v6)
{
    const unsigned char *held = w->frame + TUN_VNET_HDR_LEN;
    const unsigned char *a = held + w->ip_len, *b = pkt + w->ip_len;
    size_t payload = len - hdr_len;

    if (w->len == 0 || w->closed || v6 != w->v6 || hdr_len != w->hdr_len ||
        payload > w->gso_size || w->len + payload > TUN_PACKET_MAX)
        return 0;
    if (v6 ? memcmp(held, pkt, 4) != 0 || memcmp(held + 6, pkt + 6, 34) != 0
           : memcmp(held, pkt, 2) != 0 || memcmp(held + 6, pkt + 6, 4) != 0 ||
                 memcmp(held + 12, pkt + 12, 8) != 0)
        return 0;
    return memcmp(a, b, 4) == 0 && get_be32(b + 4) == w->next_seq &&
           memcmp(a + 8, b + 8, 5) == 0 && (a[13] & ~TCP_PSH) == (b[13] & ~TCP_PSH) &&
           memcmp(a + 14, b + 14, 2) == 0 &&
           memcmp(a + 20, b + 20, hdr_len - w->ip_len - 20) == 0;
}

void tun_writer_put(struct tun_writer *w, unsigned char *pkt, size_t len)
{
    size_t hdr_len = 0, ip_len, payload;
    unsigned char *held;
    int v6 = 0;

    if (w->coalesce)
        hdr_len = joinable(pkt, len, &v6, &ip_len);
    if (hdr_len == 0) {
        tun_writer_flush(w);
        write_one(w, pkt, len);
        return;
    }
    held = w->frame + TUN_VNET_HDR_LEN; /* coalescing: there is a frame */
    payload = len - hdr_len;
    if (continues(w, pkt, len, hdr_len, v6)) {
        memcpy(held + w->len, pkt + hdr_len, payload);
        w->len += payload;
        w->count++;
    } else {
        tun_writer_flush(w);
        memcpy(held, pkt, len);
        w->len = len;
        w->v6 = v6;
        w->ip_len = ip_len;
        w->hdr_len = hdr_len;
        w->gso_size = payload;
        w->count = 1;
        w->closed = 0;
        w->next_seq = get_be32(pkt + ip_len + 4);
    }
    w->next_seq += (uint32_t)payload;
    /* A short segment or a pushed one ends what can be joined, as in GRO. */
    if (payload < w->gso_size || (pkt[ip_len + 13] & TCP_PSH)) {
        held[w->ip_len + 13] |= pkt[ip_len + 13] & TCP_PSH;
        w->closed = 1;
    }
}

void tun_writer_flush(struct tun_writer *w)
{
    unsigned char *held;
    struct tun_vnet_hdr h = {0};

    if (w->len == 0) /* always so without a frame */
        return;
    held = w->frame + TUN_VNET_HDR_LEN;
    if (w->count > 1) {
        h.flags = TUN_HDR_F_NEEDS_CSUM;
        h.gso_type = w->v6 ? TUN_GSO_TCPV6 : TUN_GSO_TCPV4;
        h.hdr_len = (uint16_t)w->hdr_len;
        h.gso_size = (uint16_t)w->gso_size;
        h.csum_start = (uint16_t)w->ip_len;
        h.csum_offset = TCP_CHECK;
        if (w->v6) {
            put_be16(held + 4, (unsigned)(w->len - 40));
        } else {
            put_be16(held + 2, (unsigned)w->len);
            ipv4_checksum(held);
        }
        /* NEEDS_CSUM: the field holds the pseudo-header's sum, the kernel adds the rest. */
        put_be16(held + w->ip_len + TCP_CHECK,
                 tun_csum_fold(pseudo_header(held, w->v6, PROTO_TCP, w->len - w->ip_len)));
    }
    memcpy(w->frame, &h, TUN_VNET_HDR_LEN);
    write_frame(w, w->frame, TUN_VNET_HDR_LEN + w->len, w->count);
    w->len = 0;
    w->count = 0;
}
