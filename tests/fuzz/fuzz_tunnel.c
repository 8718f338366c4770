/* SPDX-License-Identifier: MIT */
/* fuzz_tunnel.c - libFuzzer harness for the tunnel's control messages: the bytes of a
 * record from the peer, decoded by tunnel_decode() as the server decodes a request and
 * the client a config or a refusal.
 *
 * Input: the record, read in place at the end of libFuzzer's buffer so that
 * AddressSanitizer catches a read past it.
 *
 * Asserts: a decoded request or config encodes back to a record that decodes to the same
 * thing (nothing is lost or invented); a config's prefixes are in range and its MTU at
 * least IPv4's 68; a refusal's reason is printable, terminated and no longer than the
 * record; anything whose first byte is not TUNNEL_CONTROL is not a control message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tunnel.h"

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "fuzz_tunnel: contract broken: %s\n", #cond);             \
            abort();                                                                     \
        }                                                                                \
    } while (0)

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
