/* SPDX-License-Identifier: MIT */
/* test_tun_offload.c - the TUN offloads' packet work: a TCP super-segment (IPv4 and
 * IPv6) and a UDP one split into packets whose headers and checksums a plain RFC 1071
 * sum (written here apart, byte by byte) accepts; the pieces joined again through a real
 * pipe into one frame that splits into the same pieces; what must not be joined (another
 * flow, a gap, a bad checksum, a bare ACK) written as it came, in order. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tun_offload.h"

#define MSS 1000

/* RFC 1071 the slow way: 16-bit big-endian words. */
static uint32_t ref_sum(const unsigned char *p, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    return sum;
}

static uint16_t ref_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/* Whether pkt's IP (v4) and transport checksums hold. */
static int checksums_hold(const unsigned char *pkt, size_t len)
{
    int v6 = pkt[0] >> 4 == 6;
    size_t ip_len = v6 ? 40 : (size_t)(pkt[0] & 15) * 4;
    unsigned proto = v6 ? pkt[6] : pkt[9];
    uint32_t sum = (v6 ? ref_sum(pkt + 8, 32) : ref_sum(pkt + 12, 8)) + proto +
                   (uint32_t)(len - ip_len) + ref_sum(pkt + ip_len, len - ip_len);

    if (!v6 && ref_fold(ref_sum(pkt, ip_len)) != 0xffff)
        return 0;
    return ref_fold(sum) == 0xffff;
}

static unsigned be16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)be16(p) << 16 | be16(p + 2);
}

static void put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

/* A frame as the kernel hands it over with TSO/USO: header, IP, TCP (with 12 bytes of
 * timestamp option) or UDP, payload bytes i % 251. Returns the frame's length. */
static size_t super_segment(unsigned char *frame, int v6, int tcp, size_t payload,
                            unsigned char flags)
{
    struct tun_vnet_hdr h = {0};
    unsigned char *pkt = frame + TUN_VNET_HDR_LEN;
    size_t ip_len = v6 ? 40 : 20, thl = tcp ? 32 : 8, len = ip_len + thl + payload;
    unsigned char *l4 = pkt + ip_len;

    memset(pkt, 0, ip_len + thl);
    if (v6) {
        pkt[0] = 0x60;
        put16(pkt + 4, (unsigned)(len - 40));
        pkt[6] = tcp ? 6 : 17;
        pkt[7] = 64;
        pkt[23] = 1;  /* fd00::1 -> fd00::2 */
        pkt[8] = 0xfd;
        pkt[24] = 0xfd;
        pkt[39] = 2;
    } else {
        pkt[0] = 0x45;
        put16(pkt + 2, (unsigned)len);
        put16(pkt + 4, 0x1234);
        put16(pkt + 6, 0x4000);
        pkt[8] = 64;
        pkt[9] = tcp ? 6 : 17;
        memcpy(pkt + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
    }
    put16(l4, 40000);
    put16(l4 + 2, 5201);
    if (tcp) {
        memcpy(l4 + 4, "\xff\xff\xfc\x00", 4); /* wraps within the segment */
        memcpy(l4 + 8, "\x00\x00\x10\x00", 4);
        l4[12] = 8 << 4;
        l4[13] = flags;
        put16(l4 + 14, 502);
        memcpy(l4 + 20, "\x01\x01\x08\x0a\x00\x00\x00\x07\x00\x00\x00\x09", 12);
    }
    for (size_t i = 0; i < payload; i++)
        l4[thl + i] = (unsigned char)(i % 251);
    h.flags = TUN_HDR_F_NEEDS_CSUM;
    h.gso_type = tcp ? (v6 ? TUN_GSO_TCPV6 : TUN_GSO_TCPV4) : TUN_GSO_UDP_L4;
    h.hdr_len = (uint16_t)(ip_len + thl);
    h.gso_size = MSS;
    h.csum_start = (uint16_t)ip_len;
    h.csum_offset = tcp ? 16 : 6;
    memcpy(frame, &h, sizeof(h));
    return TUN_VNET_HDR_LEN + len;
}

static unsigned char frame[TUN_FRAME_MAX], scratch[2048], again[TUN_FRAME_MAX];
static unsigned char pieces[8][TUN_VNET_HDR_LEN + 2048];
static size_t piece_len[8];

/* Splits frame into pieces[], checking each; returns how many. */
static unsigned split_all(unsigned char *f, size_t len, size_t max)
{
    struct tun_split sp;
    const unsigned char *p;
    size_t n;
    unsigned count = 0;

    assert_int_equal(tun_split_start(&sp, f, len, max), 0);
    while ((p = tun_split_next(&sp, scratch, &n)) != NULL) {
        assert_true(count < 8);
        assert_true(n <= max);
        assert_true(checksums_hold(p, n));
        memcpy(pieces[count] + TUN_VNET_HDR_LEN, p, n);
        piece_len[count++] = n;
    }
    return count;
}

static void check_tcp_split(int v6)
{
    size_t ip_len = v6 ? 40 : 20, hdr = ip_len + 32;
    size_t len = super_segment(frame, v6, 1, 2 * MSS + 345, 0x80 | 0x18 | 0x01);
    unsigned count = split_all(frame, len, hdr + MSS);

    assert_int_equal(count, 3);
    for (unsigned i = 0; i < 3; i++) {
        unsigned char *p = pieces[i] + TUN_VNET_HDR_LEN, *l4 = p + ip_len;
        size_t payload = i < 2 ? MSS : 345;
        assert_int_equal(piece_len[i], hdr + payload);
        assert_int_equal(v6 ? be16(p + 4) + 40 : be16(p + 2), piece_len[i]);
        if (!v6)
            assert_int_equal(be16(p + 4), 0x1234 + i);
        assert_int_equal(be32(l4 + 4), (uint32_t)(0xfffffc00u + i * MSS));
        /* CWR on the first only; PSH and FIN on the last only; ACK on all. */
        assert_int_equal(l4[13], i == 0 ? 0x90 : i == 1 ? 0x10 : 0x19);
        assert_int_equal(l4[hdr - ip_len], (unsigned char)((i * MSS) % 251));
    }
}

static void test_a_tcp_super_segment_splits_into_valid_segments(void **state)
{
    (void)state;
    check_tcp_split(0);
    check_tcp_split(1);
}

static void test_a_smaller_record_size_cuts_tcp_finer_and_refuses_udp(void **state)
{
    struct tun_split sp;
    size_t len = super_segment(frame, 0, 1, 2 * MSS, 0x10);
    (void)state;

    /* 600-byte pieces: a TCP segment may always be shorter than the MSS. */
    assert_int_equal(split_all(frame, len, 52 + 600), 4);
    assert_int_equal(piece_len[3], 52 + 200);
    len = super_segment(frame, 0, 0, 2 * MSS, 0);
    assert_int_equal(tun_split_start(&sp, frame, len, 28 + 600), -1);
}

static void test_a_udp_super_segment_splits_into_datagrams(void **state)
{
    size_t len = super_segment(frame, 1, 0, 2 * MSS + 1, 0);
    (void)state;

    assert_int_equal(split_all(frame, len, 48 + MSS), 3);
    assert_int_equal(piece_len[2], 48 + 1);
    assert_int_equal(be16(pieces[2] + TUN_VNET_HDR_LEN + 40 + 4), 8 + 1);
    assert_int_equal(be16(pieces[0] + TUN_VNET_HDR_LEN + 4), 8 + MSS);
}

static void test_a_plain_packet_gets_its_checksum_completed(void **state)
{
    struct tun_vnet_hdr h;
    struct tun_split sp;
    const unsigned char *p;
    unsigned char *pkt = frame + TUN_VNET_HDR_LEN;
    size_t len = super_segment(frame, 0, 1, 777, 0x18), n;
    (void)state;

    /* One segment, the checksum field holding the pseudo-header's sum, as the kernel
     * leaves it with TUN_F_CSUM. */
    memcpy(&h, frame, sizeof(h));
    h.gso_type = TUN_GSO_NONE;
    h.gso_size = 0;
    memcpy(frame, &h, sizeof(h));
    put16(pkt + 20 + 16, ref_fold(ref_sum(pkt + 12, 8) + 6 + (uint32_t)(len - 10 - 20)));
    put16(pkt + 10, (uint16_t)~ref_fold(ref_sum(pkt, 20))); /* the kernel's IP checksum */
    assert_int_equal(tun_split_start(&sp, frame, len, 1500), 0);
    p = tun_split_next(&sp, scratch, &n);
    assert_ptr_equal(p, pkt);
    assert_int_equal(n, len - 10);
    assert_true(checksums_hold(p, n));
    assert_null(tun_split_next(&sp, scratch, &n));
    /* Truncated or malformed frames are refused. */
    assert_int_equal(tun_split_start(&sp, frame, 8, 1500), -1);
    len = super_segment(frame, 0, 1, 2 * MSS, 0x10);
    frame[TUN_VNET_HDR_LEN + 9] = 17; /* TCPV4 that is UDP */
    assert_int_equal(tun_split_start(&sp, frame, len, 1500), -1);
}

/* What a writer on a pipe wrote: frames read back, each with its length. */
struct written {
    int fds[2];
    struct tun_writer w;
    unsigned char frame[TUN_FRAME_MAX];
};

static void writer_open(struct written *out)
{
    assert_int_equal(pipe(out->fds), 0);
    assert_int_equal(fcntl(out->fds[1], F_SETPIPE_SZ, 1 << 20) > 0, 1);
    tun_writer_init(&out->w, out->fds[1], 1, 1, out->frame);
}

static size_t read_frame(struct written *out, unsigned char *buf, size_t len)
{
    assert_int_equal(read(out->fds[0], buf, len), (ssize_t)len);
    return len;
}

static void writer_close(struct written *out)
{
    close(out->fds[0]);
    close(out->fds[1]);
}

static void check_round_trip(int v6)
{
    static struct written out;
    struct tun_vnet_hdr h;
    size_t ip_len = v6 ? 40 : 20, total = 0, len;
    unsigned i;

    len = super_segment(frame, v6, 1, 2 * MSS + 345, 0x18);
    assert_int_equal(split_all(frame, len, ip_len + 32 + MSS), 3);
    writer_open(&out);
    for (i = 0; i < 3; i++) {
        tun_writer_put(&out.w, pieces[i] + TUN_VNET_HDR_LEN, piece_len[i]);
        total += piece_len[i];
    }
    tun_writer_flush(&out.w);
    assert_int_equal(out.w.writes, 1);
    assert_int_equal(out.w.packets, 3);
    /* One frame: a GSO header over the whole, which splits into the same three. */
    len = read_frame(&out, again, TUN_VNET_HDR_LEN + total - 2 * (ip_len + 32));
    memcpy(&h, again, sizeof(h));
    assert_int_equal(h.gso_type, v6 ? TUN_GSO_TCPV6 : TUN_GSO_TCPV4);
    assert_int_equal(h.gso_size, MSS);
    assert_int_equal(h.hdr_len, ip_len + 32);
    assert_int_equal(h.flags, TUN_HDR_F_NEEDS_CSUM);
    memcpy(frame, again, len);
    for (i = 0; i < 3; i++)
        memcpy(again + i * 2048, pieces[i] + TUN_VNET_HDR_LEN, piece_len[i]);
    assert_int_equal(split_all(frame, len, ip_len + 32 + MSS), 3);
    for (i = 0; i < 3; i++)
        assert_memory_equal(pieces[i] + TUN_VNET_HDR_LEN, again + i * 2048, piece_len[i]);
    writer_close(&out);
}

static void test_split_segments_join_into_one_frame_and_split_the_same(void **state)
{
    (void)state;
    check_round_trip(0);
    check_round_trip(1);
}

static void test_what_cannot_be_joined_is_written_as_it_came_in_order(void **state)
{
    static struct written out;
    static unsigned char kept[8][TUN_VNET_HDR_LEN + 2048];
    unsigned char buf[4096], *p;
    size_t len;
    unsigned i;
    (void)state;

    len = super_segment(frame, 0, 1, 6 * MSS, 0x10);
    assert_int_equal(split_all(frame, len, 52 + MSS), 6);
    memcpy(kept, pieces, sizeof(kept));
    writer_open(&out);
    /* 0 and 1 join; 3 comes before 2 (a gap: 0+1 are written, 3 held); a bare ACK of
     * another flow (written alone, after 3); 2 (no longer in order); 4 with a broken
     * checksum (alone); 5 (held, then flushed). */
    tun_writer_put(&out.w, kept[0] + 10, piece_len[0]);
    tun_writer_put(&out.w, kept[1] + 10, piece_len[1]);
    tun_writer_put(&out.w, kept[3] + 10, piece_len[3]);
    memcpy(buf + 10, kept[0] + 10, 52);
    put16(buf + 10 + 2, 52);
    buf[10 + 20 + 1] ^= 1; /* another source port */
    tun_writer_put(&out.w, buf + 10, 52);
    tun_writer_put(&out.w, kept[2] + 10, piece_len[2]);
    kept[4][10 + 52 + 7] ^= 0xff;
    tun_writer_put(&out.w, kept[4] + 10, piece_len[4]);
    tun_writer_put(&out.w, kept[5] + 10, piece_len[5]);
    tun_writer_flush(&out.w);
    assert_int_equal(out.w.packets, 7);
    assert_int_equal(out.w.writes, 6);
    len = read_frame(&out, buf, 10 + 52 + 2 * MSS);
    assert_int_equal(buf[1], TUN_GSO_TCPV4);
    size_t sizes[5] = {piece_len[3], 52, piece_len[2], piece_len[4], piece_len[5]};
    unsigned order[5] = {3, 99, 2, 4, 5};
    for (i = 0; i < 5; i++) {
        read_frame(&out, buf, 10 + sizes[i]);
        p = buf + 10;
        assert_int_equal(buf[1], TUN_GSO_NONE);
        if (order[i] != 99)
            assert_memory_equal(p, kept[order[i]] + 10, sizes[i]);
    }
    writer_close(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_tcp_super_segment_splits_into_valid_segments),
        cmocka_unit_test(test_a_smaller_record_size_cuts_tcp_finer_and_refuses_udp),
        cmocka_unit_test(test_a_udp_super_segment_splits_into_datagrams),
        cmocka_unit_test(test_a_plain_packet_gets_its_checksum_completed),
        cmocka_unit_test(test_split_segments_join_into_one_frame_and_split_the_same),
        cmocka_unit_test(test_what_cannot_be_joined_is_written_as_it_came_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
