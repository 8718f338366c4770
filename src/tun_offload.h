/* SPDX-License-Identifier: MIT */
/* tun_offload.h - the TUN device's segmentation offloads, done in user space as a NIC's
 * driver would: a TUN device opened with IFF_VNET_HDR and TUNSETOFFLOAD prefixes every
 * packet with a virtio_net_hdr, and hands over TCP (and UDP) super-segments of up to
 * 64 KiB with checksums left to complete.
 *
 * Out of the device (tun_split): one read, one super-segment, becomes the packets it
 * stands for, each with its own headers (sequence number, IP length and ID) and its
 * checksums complete, each small enough for one record of the session.
 *
 * Into the device (tun_writer): the packets of one batch of records; consecutive
 * in-order TCP segments of one flow are joined into one super-segment with a GSO header,
 * so the kernel's TCP takes one packet where the peer sent dozens (what GRO does for a
 * NIC); anything else is written as it came.
 *
 * Pure packet work, no allocation: it builds everywhere, and runs where tun.c offers the
 * header (Linux). */
#ifndef DTLS_ECHO_TUN_OFFLOAD_H
#define DTLS_ECHO_TUN_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

/* struct virtio_net_hdr (linux/virtio_net.h), in the host's byte order as the TUN device
 * keeps it by default. */
struct tun_vnet_hdr {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;     /* IP and transport headers */
    uint16_t gso_size;    /* payload bytes per segment */
    uint16_t csum_start;  /* where the checksum to complete starts */
    uint16_t csum_offset; /* where, from csum_start, it goes */
};

#define TUN_VNET_HDR_LEN 10
_Static_assert(sizeof(struct tun_vnet_hdr) == TUN_VNET_HDR_LEN, "virtio_net_hdr's size");
#define TUN_HDR_F_NEEDS_CSUM 1
#define TUN_GSO_NONE 0
#define TUN_GSO_TCPV4 1
#define TUN_GSO_TCPV6 4
#define TUN_GSO_UDP_L4 5 /* Linux 6.2 (USO) */
#define TUN_GSO_ECN 0x80

/* The largest IP packet, and so the largest super-segment, either way. */
#define TUN_PACKET_MAX 65535
/* A frame: the header and a packet. */
#define TUN_FRAME_MAX (TUN_VNET_HDR_LEN + TUN_PACKET_MAX)

/* The Internet checksum (RFC 1071) of len bytes, added to sum (not folded). */
uint64_t tun_csum_add(uint64_t sum, const unsigned char *p, size_t len);
/* sum folded to 16 bits, not complemented. */
uint16_t tun_csum_fold(uint64_t sum);

/* Splitting one frame read from the device. */
struct tun_split {
    unsigned char *pkt;       /* the packet, after the header */
    size_t len;
    int gso;                  /* a super-segment: pieces built one by one */
    int tcp, v6;
    size_t ip_len, hdr_len;   /* IP header; IP and transport headers */
    size_t seg;               /* payload bytes per piece */
    size_t off;               /* the next piece's payload, from pkt */
    unsigned index;           /* the next piece's number */
    int done;
};

/* Starts splitting frame (frame_len bytes: header and packet), whose pieces must be at
 * most max bytes each. A packet that is no super-segment comes out as it is, its
 * checksum completed in place when the header asks for it. Returns 0, or -1 when the
 * frame is malformed or its pieces cannot fit max (a UDP super-segment's datagrams are
 * never cut): drop it. */
int tun_split_start(struct tun_split *sp, unsigned char *frame, size_t frame_len, size_t max);

/* The next piece: built in scratch (max bytes) for a super-segment, else the packet
 * itself. Returns it with *len, or NULL when there are no more. */
const unsigned char *tun_split_next(struct tun_split *sp, unsigned char *scratch, size_t *len);

/* Writing packets to the device. */
struct tun_writer {
    int fd;
    int vnet;                 /* the device takes a header before each packet */
    int coalesce;             /* and TCP super-segments (TSO): join what can be joined */
    /* The super-segment being built: frame[TUN_FRAME_MAX], header first. */
    unsigned char *frame;
    size_t len;               /* packet bytes held (0: none) */
    size_t ip_len, hdr_len, gso_size;
    int v6, closed;           /* closed: the last piece was short or pushed */
    uint32_t next_seq;
    unsigned count;           /* segments held */
    /* Counters. */
    uint64_t packets, writes, dropped;
};

/* A writer on fd; frame (TUN_FRAME_MAX bytes) is used when coalesce is set. */
void tun_writer_init(struct tun_writer *w, int fd, int vnet, int coalesce,
                     unsigned char *frame);

/* One packet (len bytes at pkt, with TUN_VNET_HDR_LEN bytes free before it, which a
 * header may take): joined to the held super-segment, held to start one, or written
 * (after what is held). A write the device refuses drops that packet, as a router does. */
void tun_writer_put(struct tun_writer *w, unsigned char *pkt, size_t len);

/* Writes what is held: the end of a batch. */
void tun_writer_flush(struct tun_writer *w);

#endif
