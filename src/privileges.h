/* SPDX-License-Identifier: MIT */
/* privileges.h - what a process that faces the Internet keeps after its set-up: with
 * --user, that user's identity; with --tun, CAP_NET_ADMIN and no other capability
 * (libcap). Called before any thread starts: capabilities belong to each thread. */
#ifndef DTLS_ECHO_PRIVILEGES_H
#define DTLS_ECHO_PRIVILEGES_H

#include <stddef.h>

/* Returns 0 when this process may create interfaces (CAP_NET_ADMIN is effective), else
 * -1 with "WHAT needs CAP_NET_ADMIN ...: run as root, or grant it ..." in err. */
int privileges_need_net_admin(const char *what, char *err, size_t err_size);

/* Becomes user (when not NULL: its uid, gid and groups) and keeps CAP_NET_ADMIN alone
 * when keep_net_admin, no capability at all otherwise; the bounding set too, and no new
 * privileges by exec. Returns 0, or -1 with a reason. */
int privileges_drop(const char *user, int keep_net_admin, char *err, size_t err_size);

#endif
