/* SPDX-License-Identifier: MIT */
/* signals.h - the stop and reload signals as readable descriptors (self-pipes), so that
 * every thread that waits can poll for them. */
#ifndef DTLS_ECHO_SIGNALS_H
#define DTLS_ECHO_SIGNALS_H

/* Installs the handlers: the first SIGINT or SIGTERM (and SIGHUP when hup_reloads is 0)
 * makes *stop_fd readable for good; a second one within a second is the same stop, a
 * later one exits at once. With hup_reloads (a server), SIGHUP and SIGUSR1 make *reload_fd
 * readable, one byte each: 'h' (read the key files again) and 's' (a status line), which
 * signals_read_control drains; SIGUSR2 is ignored.
 * Called again (in a worker process after fork), it replaces the pipes it made before, so
 * a signal to one process no longer reaches the others' pipes. Returns 0, or -1 with
 * errno. */
int signals_install(int hup_reloads, int *stop_fd, int *reload_fd);

/* What a server's control pipe asked for since it was last read. */
enum control_request { CONTROL_RELOAD = 1, CONTROL_STATUS = 2 };

/* Drains reload_fd; returns the CONTROL_ bits of what came. */
unsigned signals_read_control(int reload_fd);

/* Closes the pipes. */
void signals_close(void);

#endif
