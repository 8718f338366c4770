/* SPDX-License-Identifier: MIT */
/* platform.c - what the platform seam's two sides share (platform.h). */
#include "platform.h"

#include <errno.h>
#include <string.h>

#include "log.h"

int platform_set_option(int fd, int level, int name, int value, const char *what, char *err,
                        size_t err_size)
{
    if (setsockopt(fd, level, name, &value, sizeof(value)) < 0)
        return errorf(err, err_size, "setsockopt %s: %s", what, strerror(errno));
    return 0;
}
