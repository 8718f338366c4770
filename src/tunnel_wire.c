/* SPDX-License-Identifier: MIT */
/* tunnel_wire.c - the tunnel's control messages, encoded and decoded, and the addresses
 * a config gives each end (see tunnel.h). The decoder reads the peer's bytes:
 * tests/fuzz/fuzz_tunnel.c fuzzes it. */
#include <string.h>

#include "bytes.h"
#include "tunnel.h"

#define REQUEST_SIZE (3 + TUNNEL_TOKEN_SIZE + 2)
#define CONFIG_SIZE (3 + 4 + 4 + 1 + 1 + 16 + 16 + 1 + 2)

static unsigned char *put_header(unsigned char *out, enum tunnel_message type)
{
    out[0] = TUNNEL_CONTROL;
    out[1] = (unsigned char)type;
    out[2] = TUNNEL_VERSION;
    return out + 3;
}

static unsigned char *put16(unsigned char *p, unsigned value)
{
    put_be16(p, value);
    return p + 2;
}

static unsigned char *put(unsigned char *p, const void *data, size_t len)
{
    memcpy(p, data, len);
    return p + len;
}

size_t tunnel_encode_request(const struct tunnel_request *req, unsigned char *out)
{
    unsigned char *p = put_header(out, TUNNEL_REQUEST);

    p = put(p, req->token, TUNNEL_TOKEN_SIZE);
    p = put16(p, req->mtu);
    return (size_t)(p - out);
}

size_t tunnel_encode_config(const struct tunnel_config *cfg, unsigned char *out)
{
    unsigned char *p = put_header(out, TUNNEL_CONFIG);

    p = put(p, &cfg->addr4, 4);
    p = put(p, &cfg->peer4, 4);
    *p++ = (unsigned char)cfg->prefix4;
    *p++ = (unsigned char)(cfg->has6 != 0);
    p = put(p, &cfg->addr6, 16);
    p = put(p, &cfg->peer6, 16);
    *p++ = (unsigned char)cfg->prefix6;
    p = put16(p, cfg->mtu);
    return (size_t)(p - out);
}

size_t tunnel_encode_refusal(const char *reason, unsigned char *out)
{
    size_t len = strnlen(reason, TUNNEL_REASON_MAX);

    out[0] = TUNNEL_CONTROL;
    out[1] = TUNNEL_REFUSAL;
    memcpy(out + 2, reason, len);
    return 2 + len;
}

int tunnel_decode(const unsigned char *rec, size_t len, struct tunnel_request *req,
                  struct tunnel_config *cfg, char *reason, size_t reason_size)
{
    const unsigned char *p = rec + 3;
    size_t i, n;

    if (len < 2 || rec[0] != TUNNEL_CONTROL)
        return 0;
    if (rec[1] == TUNNEL_REFUSAL) {
        /* The server's words: kept printable. */
        for (i = 0, n = 0; i < len - 2 && n + 1 < reason_size; i++)
            reason[n++] = rec[2 + i] >= 0x20 && rec[2 + i] < 0x7f ? (char)rec[2 + i] : '?';
        reason[n] = '\0';
        return TUNNEL_REFUSAL;
    }
    if (len < 3 || rec[2] != TUNNEL_VERSION)
        return 0;
    if (rec[1] == TUNNEL_REQUEST && len == REQUEST_SIZE) {
        memcpy(req->token, p, TUNNEL_TOKEN_SIZE);
        req->mtu = get_be16(p + TUNNEL_TOKEN_SIZE);
        return TUNNEL_REQUEST;
    }
    if (rec[1] == TUNNEL_CONFIG && len == CONFIG_SIZE) {
        memset(cfg, 0, sizeof(*cfg));
        memcpy(&cfg->addr4, p, 4);
        memcpy(&cfg->peer4, p + 4, 4);
        cfg->prefix4 = p[8];
        cfg->has6 = p[9] != 0;
        memcpy(&cfg->addr6, p + 10, 16);
        memcpy(&cfg->peer6, p + 26, 16);
        cfg->prefix6 = p[42];
        cfg->mtu = get_be16(p + 43);
        if (cfg->prefix4 > 32 || cfg->prefix6 > 128 || cfg->mtu < 68)
            return 0;
        return TUNNEL_CONFIG;
    }
    return 0;
}

size_t tunnel_link_addresses(const struct tunnel_config *cfg, int server_end,
                             struct tun_address out[2])
{
    memset(out, 0, 2 * sizeof(out[0]));
    out[0].family = AF_INET;
    memcpy(out[0].local, server_end ? &cfg->peer4 : &cfg->addr4, 4);
    memcpy(out[0].peer, server_end ? &cfg->addr4 : &cfg->peer4, 4);
    out[0].prefix = server_end ? 32 : cfg->prefix4;
    if (!cfg->has6)
        return 1;
    out[1].family = AF_INET6;
    memcpy(out[1].local, server_end ? &cfg->peer6 : &cfg->addr6, 16);
    memcpy(out[1].peer, server_end ? &cfg->addr6 : &cfg->peer6, 16);
    out[1].prefix = server_end ? 128 : cfg->prefix6;
    return 2;
}
