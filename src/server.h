/* server.h - the DTLS echo server: listener, client registry, one thread per client. */
#ifndef DTLS_ECHO_SERVER_H
#define DTLS_ECHO_SERVER_H

#include "options.h"

/* Serves until stop_fd becomes readable (SIGINT/SIGTERM), then closes every session and
 * joins every thread. Returns an enum exit_code: 0, 2 for a bad --priority, 1 when it
 * could not start otherwise. */
int server_run(const struct config *cfg, int stop_fd);

#endif
