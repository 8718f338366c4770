/* SPDX-License-Identifier: MIT */
/* trace.h - --trace: the handshake as a ladder, as it happens. Each datagram a session's
 * transport sends or reads (and each the server's listener answers with a cookie) is
 * decoded from its DTLS record headers: one line per datagram, then one per record in
 * it, with the handshake message's type, length, message_seq, fragment, and the record's
 * epoch and sequence number; cookie exchanges and retransmissions are marked. Datagrams
 * of application data or heartbeats alone are not printed: the trace is the handshake
 * (and its alerts).
 * Pure decoding but for trace_datagram's one write to stderr per line. */
#ifndef DTLS_ECHO_TRACE_H
#define DTLS_ECHO_TRACE_H

#include <stddef.h>
#include <stdint.h>

#define TRACE_SEEN_MAX 64

/* What every traced session of a process shares: the time lines count from. */
struct trace {
    int64_t origin_us; /* monotonic */
};

/* One session's (or the listener's) trace: what each direction carried, so that a
 * fragment carried again is marked RETRANSMITTED. */
struct trace_state {
    const struct trace *trace;
    const char *peer;  /* printed before each line (the server's many clients); NULL: none */
    uint64_t seen[2][TRACE_SEEN_MAX];
    unsigned seen_count[2];
};

/* Starts a session's trace (all zero but trace and peer). */
void trace_state_init(struct trace_state *state, const struct trace *trace, const char *peer);

/* Decodes one datagram (outgoing: sent by us) and prints its lines. */
void trace_datagram(struct trace_state *state, int outgoing, const unsigned char *data,
                    size_t len);

/* Decodes the DTLS records of a datagram for trace_datagram and the tests: fills up to
 * max lines of text (each at most TRACE_LINE_MAX bytes, without time or direction) and
 * returns how many; retransmissions are judged against state and recorded in it. The
 * first line describes the datagram; 0 lines: application data alone, not traced. */
#define TRACE_LINE_MAX 160
size_t trace_decode(struct trace_state *state, int outgoing, const unsigned char *data,
                    size_t len, char lines[][TRACE_LINE_MAX], size_t max);

#endif
