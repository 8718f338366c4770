/* SPDX-License-Identifier: MIT */
/* session_transport.h - inside the session engine only (session.c, session_transport.c):
 * its transport on a session's socket. The batching calls everyone uses are in
 * session.h. */
#ifndef DTLS_ECHO_SESSION_TRANSPORT_H
#define DTLS_ECHO_SESSION_TRANSPORT_H

#include <stdint.h>

#include "session.h"

/* Clears s's transport and gives it fd: not busy, no batch, nothing pending. */
void session_transport_init(struct session *s, int fd);

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
