/* SPDX-License-Identifier: MIT */
/* load.h - the load generator: dtls_echo -c --clients N (see load.c). */
#ifndef DTLS_ECHO_LOAD_H
#define DTLS_ECHO_LOAD_H

#include "options.h"

/* Runs cfg->clients concurrent sessions against the server until each has done --count
 * (or --duration passed, or stop_fd became readable), then prints the summary. Returns
 * an enum exit_code: EXIT_OK only when nothing failed. */
int load_run(const struct config *cfg, int stop_fd);

#endif
