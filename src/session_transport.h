/* SPDX-License-Identifier: MIT */
/* session_transport.h - inside the session engine only (session.c, session_transport.c):
 * its transport on a session's socket. The batching calls everyone uses are in
 * session.h. */
#ifndef DTLS_ECHO_SESSION_TRANSPORT_H
#define DTLS_ECHO_SESSION_TRANSPORT_H

#include <stdint.h>

#include "session.h"

/* Clears s's transport and gives it fd: not busy, no batch, nothing pending. With inbox
 * (the one-socket server), fd is the shared socket: reads take from inbox, writes go to
 * peer from local. */
void session_transport_init(struct session *s, int fd, struct inbox *inbox,
                            const struct udp_addr *peer, const struct udp_addr *local);

/* Waits up to ms (-1: forever) for a datagram, or for stop_fd (-1: none) to be readable.
 * Returns 1 when one came, 2 for stop_fd, 0 on timeout, -1 on error (as udp_wait). */
int session_transport_wait(struct session *s, int stop_fd, int ms);

/* Installs the push, pull and pull-timeout functions on s->tls, with s as their pointer. */
void session_transport_attach(struct session *s);

/* Frees the batch buffers and the --trace state. */
void session_transport_free(struct session *s);

/* Whether s's stop flag is set. */
int session_stop_requested(const struct session *s);

/* The socket buffer is full: waits until it may take more, for at most timeout_ms from
 * the first call (*deadline_ms < 0: the clock is read only then). Returns OK to try
 * again, or TIMEOUT. */
enum session_status session_wait_writable(struct session *s, int64_t *deadline_ms,
                                          int timeout_ms);

#endif
