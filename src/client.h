/* client.h - one client session: connect, handshake, send and check echoes, stdin mode. */
#ifndef DTLS_ECHO_CLIENT_H
#define DTLS_ECHO_CLIENT_H

#include "options.h"

/* Runs the client cfg describes until its messages are echoed, stdin ends, or stop_fd
 * becomes readable. Returns an enum exit_code. */
int client_run(const struct config *cfg, int stop_fd);

#endif
