/* SPDX-License-Identifier: MIT */
/* privileges.c - dropping to a user and to CAP_NET_ADMIN (see privileges.h): libcap on
 * Linux; elsewhere (and in the portable build) --user alone, by setgid and setuid, since
 * the one capability kept is for --tun, which only Linux has. */
#define _GNU_SOURCE
#include "privileges.h"

#include "platform.h"

#include <errno.h>
#include <string.h>

#include "log.h"

#if !PLATFORM_WINDOWS /* Windows: neither users to switch to nor --tun (refused at start) */
#include <grp.h>
#include <pwd.h>
#include <unistd.h>
#endif

#if PLATFORM_LINUX
#include <sys/capability.h>
#include <sys/prctl.h>

static int have_net_admin(void)
{
    cap_t caps = cap_get_proc();
    cap_flag_value_t value = CAP_CLEAR;

    if (caps == NULL)
        return 0;
    if (cap_get_flag(caps, CAP_NET_ADMIN, CAP_EFFECTIVE, &value) < 0)
        value = CAP_CLEAR;
    cap_free(caps);
    return value == CAP_SET;
}

int privileges_need_net_admin(const char *what, char *err, size_t err_size)
{
    if (have_net_admin())
        return 0;
    return errorf(err, err_size, "%s needs CAP_NET_ADMIN: run as root, or grant it (setcap "
                  "cap_net_admin+ep on the binary)", what);
}

/* Changes to user's uid, gid and supplementary groups, keeping the permitted
 * capabilities across the uid change (PR_SET_KEEPCAPS). */
static int become(const char *user, char *err, size_t err_size)
{
    struct passwd *pw = getpwnam(user);

    if (pw == NULL)
        return errorf(err, err_size, "--user: no user '%s' on this system", user);
    if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) < 0)
        return errorf(err, err_size, "prctl PR_SET_KEEPCAPS: %s", strerror(errno));
    if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
        setuid(pw->pw_uid) < 0)
        return errorf(err, err_size, "--user %s: cannot change to uid %u gid %u: %s%s", user,
                      (unsigned)pw->pw_uid, (unsigned)pw->pw_gid, strerror(errno),
                      errno == EPERM ? " (start as root, or with CAP_SETUID and CAP_SETGID)"
                                     : "");
    return 0;
}

int privileges_drop(const char *user, int keep_net_admin, char *err, size_t err_size)
{
    const cap_value_t net_admin[] = {CAP_NET_ADMIN};
    cap_t caps = NULL;
    cap_value_t cap;
    int ret = -1;

    /* The bounding set first: dropping from it needs CAP_SETPCAP, which goes below
     * (without it, EPERM: the set stays, but nothing can be gained from it by exec
     * under PR_SET_NO_NEW_PRIVS). */
    for (cap = 0; cap <= CAP_LAST_CAP; cap++)
        if ((cap != CAP_NET_ADMIN || !keep_net_admin) && CAP_IS_SUPPORTED(cap) &&
            cap_drop_bound(cap) < 0 && errno != EPERM)
            return errorf(err, err_size, "dropping capability %d from the bounding set: %s",
                          cap, strerror(errno));
    if (user != NULL && become(user, err, err_size) < 0)
        return -1;
    if ((caps = cap_init()) == NULL) { /* every flag clear */
        errorf(err, err_size, "cap_init: %s", strerror(errno));
        goto cleanup;
    }
    if (keep_net_admin && (cap_set_flag(caps, CAP_PERMITTED, 1, net_admin, CAP_SET) < 0 ||
                           cap_set_flag(caps, CAP_EFFECTIVE, 1, net_admin, CAP_SET) < 0)) {
        errorf(err, err_size, "cap_set_flag: %s", strerror(errno));
        goto cleanup;
    }
    if (cap_set_proc(caps) < 0) {
        errorf(err, err_size, "keeping only CAP_NET_ADMIN: %s", strerror(errno));
        goto cleanup;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0) {
        errorf(err, err_size, "prctl PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
        goto cleanup;
    }
    ret = 0;
cleanup:
    if (caps != NULL)
        cap_free(caps);
    return ret;
}

#else /* the portable path, and Windows */

int privileges_need_net_admin(const char *what, char *err, size_t err_size)
{
    return errorf(err, err_size, "%s is Linux-only: %s has no TUN device of the kind this "
                  "program drives", what, platform_name());
}

int privileges_drop(const char *user, int keep_net_admin, char *err, size_t err_size)
{
    (void)keep_net_admin; /* never asked: --tun is refused at start here */
    if (user == NULL)
        return 0;
#if PLATFORM_WINDOWS
    return errorf(err, err_size, "--user: %s has no setuid; run the server as the account "
                  "it should run as", platform_name());
#else
    struct passwd *pw;

    if ((pw = getpwnam(user)) == NULL)
        return errorf(err, err_size, "--user: no user '%s' on this system", user);
    if (initgroups(pw->pw_name, (int)pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
        setuid(pw->pw_uid) < 0)
        return errorf(err, err_size, "--user %s: cannot change to uid %u gid %u: %s%s", user,
                      (unsigned)pw->pw_uid, (unsigned)pw->pw_gid, strerror(errno),
                      errno == EPERM ? " (start as root)" : "");
    return 0;
#endif
}

#endif
