/* SPDX-License-Identifier: MIT */
/* bytes.h - big-endian (network order) integers in byte buffers: the load generator's
 * echo headers, the tunnel's control messages, the DTLS headers --trace decodes. */
#ifndef DTLS_ECHO_BYTES_H
#define DTLS_ECHO_BYTES_H

#include <stdint.h>

static inline unsigned get_be16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static inline uint32_t get_be24(const unsigned char *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | get_be24(p + 1);
}

static inline uint64_t get_be48(const unsigned char *p)
{
    return (uint64_t)get_be24(p) << 24 | get_be24(p + 3);
}

static inline void put_be16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static inline void put_be32(unsigned char *p, uint32_t v)
{
    put_be16(p, v >> 16);
    put_be16(p + 2, v & 0xffff);
}

#endif
