/* SPDX-License-Identifier: MIT */
/* trace.c - --trace: DTLS record and handshake headers decoded into a ladder. The
 * layouts are RFC 6347's (4.1 record, 4.2.2 handshake, 4.2.1 HelloVerifyRequest); a
 * record of epoch 1 or later is encrypted, and its handshake message in DTLS 1.2 is the
 * Finished. */
#include "trace.h"

#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "clock.h"
#include "log.h"

enum {
    RECORD_HEADER = 13,
    HANDSHAKE_HEADER = 12,
    CHANGE_CIPHER_SPEC = 20,
    ALERT = 21,
    HANDSHAKE = 22,
    APPLICATION_DATA = 23,
    HEARTBEAT = 24,
    CLIENT_HELLO = 1,
    HELLO_VERIFY_REQUEST = 3,
    RANDOM_SIZE = 32,
};

static const char *handshake_name(unsigned type)
{
    static const char *const names[] = {
        [0] = "HelloRequest", [1] = "ClientHello", [2] = "ServerHello",
        [3] = "HelloVerifyRequest", [4] = "NewSessionTicket", [11] = "Certificate",
        [12] = "ServerKeyExchange", [13] = "CertificateRequest", [14] = "ServerHelloDone",
        [15] = "CertificateVerify", [16] = "ClientKeyExchange", [20] = "Finished",
        [22] = "CertificateStatus",
    };

    return type < sizeof(names) / sizeof(names[0]) && names[type] != NULL ? names[type]
                                                                           : "Handshake?";
}

void trace_state_init(struct trace_state *state, const struct trace *trace, const char *peer)
{
    memset(state, 0, sizeof(*state));
    state->trace = trace;
    state->peer = peer;
}

/* Whether this direction carried key before; records it. */
static int carried_before(struct trace_state *state, int outgoing, uint64_t key)
{
    unsigned i, *count = &state->seen_count[outgoing != 0];
    uint64_t *seen = state->seen[outgoing != 0];

    for (i = 0; i < *count; i++)
        if (seen[i] == key)
            return 1;
    if (*count < TRACE_SEEN_MAX)
        seen[(*count)++] = key;
    return 0;
}

/* " (cookie N B)" of a ClientHello or HelloVerifyRequest body that starts in frag. */
static void cookie_note(unsigned type, const unsigned char *body, size_t len, char *out,
                        size_t out_size)
{
    size_t at;

    out[0] = '\0';
    if (type == HELLO_VERIFY_REQUEST && len >= 3) {
        snprintf(out, out_size, " (cookie %u B)", body[2]);
    } else if (type == CLIENT_HELLO && len >= 2 + RANDOM_SIZE + 1) {
        at = 2 + RANDOM_SIZE + 1 + body[2 + RANDOM_SIZE]; /* past the session id */
        if (at < len)
            snprintf(out, out_size, body[at] ? " (cookie %u B)" : " (no cookie)", body[at]);
    }
}

/* The lines of the handshake fragments in one plaintext record's payload. */
static size_t handshake_lines(struct trace_state *state, int outgoing, const unsigned char *p,
                              size_t len, unsigned epoch, uint64_t seq,
                              char lines[][TRACE_LINE_MAX], size_t n, size_t max)
{
    char note[32];

    while (len >= HANDSHAKE_HEADER && n < max) {
        unsigned type = p[0], length = get_be24(p + 1), msg_seq = get_be16(p + 4);
        unsigned offset = get_be24(p + 6), frag = get_be24(p + 9);
        size_t body = frag < len - HANDSHAKE_HEADER ? frag : len - HANDSHAKE_HEADER;
        uint64_t key = (uint64_t)HANDSHAKE << 56 | (uint64_t)epoch << 40 |
                       (uint64_t)msg_seq << 24 | offset;

        cookie_note(type, p + HANDSHAKE_HEADER, offset == 0 ? body : 0, note, sizeof(note));
        snprintf(lines[n++], TRACE_LINE_MAX,
                 "  %-22s%-16s msg_seq %-2u %5u B  frag %u+%u  epoch %u seq %llu%s",
                 handshake_name(type), note, msg_seq, length, offset, frag, epoch,
                 (unsigned long long)seq,
                 carried_before(state, outgoing, key) ? "  RETRANSMITTED" : "");
        p += HANDSHAKE_HEADER + body;
        len -= HANDSHAKE_HEADER + body;
    }
    return n;
}

size_t trace_decode(struct trace_state *state, int outgoing, const unsigned char *data,
                    size_t len, char lines[][TRACE_LINE_MAX], size_t max)
{
    const unsigned char *p = data;
    size_t left = len, n = 1, records = 0;
    int handshake = 0;

    if (max == 0)
        return 0;
    while (left >= RECORD_HEADER && n < max) {
        unsigned type = p[0], epoch = get_be16(p + 3), length = get_be16(p + 11);
        uint64_t seq = get_be48(p + 5);
        size_t payload = length < left - RECORD_HEADER ? length : left - RECORD_HEADER;
        const unsigned char *body = p + RECORD_HEADER;
        uint64_t key = (uint64_t)type << 56 | (uint64_t)epoch << 40 | 0xffffffu;

        records++;
        handshake |= type != APPLICATION_DATA && type != HEARTBEAT;
        if (type == HANDSHAKE && epoch == 0) {
            n = handshake_lines(state, outgoing, body, payload, epoch, seq, lines, n, max);
        } else if (type == HANDSHAKE || type == CHANGE_CIPHER_SPEC ||
                   (type == ALERT && epoch > 0)) {
            snprintf(lines[n++], TRACE_LINE_MAX, "  %-38s %5zu B  epoch %u seq %llu%s",
                     type == CHANGE_CIPHER_SPEC ? "ChangeCipherSpec"
                     : type == ALERT ? "Alert (encrypted)" : "Finished (encrypted)",
                     payload, epoch, (unsigned long long)seq,
                     type != ALERT && carried_before(state, outgoing, key) ? "  RETRANSMITTED"
                                                                           : "");
        } else if (type == ALERT && payload >= 2) {
            snprintf(lines[n++], TRACE_LINE_MAX, "  Alert %s: %s  epoch %u seq %llu",
                     body[0] == 2 ? "fatal" : "warning",
                     gnutls_alert_get_strname((gnutls_alert_description_t)body[1]) != NULL
                         ? gnutls_alert_get_strname((gnutls_alert_description_t)body[1])
                         : "?",
                     epoch, (unsigned long long)seq);
        } else {
            snprintf(lines[n++], TRACE_LINE_MAX, "  %-38s %5zu B  epoch %u seq %llu",
                     type == APPLICATION_DATA ? "ApplicationData"
                     : type == HEARTBEAT ? "Heartbeat" : "Record?", payload, epoch,
                     (unsigned long long)seq);
        }
        p += RECORD_HEADER + payload;
        left -= RECORD_HEADER + payload;
    }
    if (!handshake && left == 0)
        return 0; /* application data alone: the echoes are not the handshake */
    if (left > 0 && n < max)
        snprintf(lines[n++], TRACE_LINE_MAX, "  %zu B that are not a DTLS record", left);
    snprintf(lines[0], TRACE_LINE_MAX, "datagram %zu B, %zu record%s", len, records,
             records == 1 ? "" : "s");
    return n;
}

void trace_datagram(struct trace_state *state, int outgoing, const unsigned char *data,
                    size_t len)
{
    char lines[16][TRACE_LINE_MAX];
    size_t n = trace_decode(state, outgoing, data, len, lines, 16), i;
    double ms = (double)(clock_now_us() - state->trace->origin_us) / 1000.0;

    for (i = 0; i < n; i++)
        log_status("%s%s%10.3f ms  %s  %s", state->peer ? state->peer : "",
                   state->peer ? ": " : "", ms, outgoing ? "->" : "<-", lines[i]);
}
