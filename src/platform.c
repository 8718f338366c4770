/* SPDX-License-Identifier: MIT */
/* platform.c - what the platform seam's two sides share (platform.h). */
#include "platform.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "log.h"

void *platform_alloc_pages(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    return p == MAP_FAILED ? NULL : p;
}

void platform_free_pages(void *p, size_t size)
{
    if (p != NULL)
        munmap(p, size);
}

int platform_set_option(int fd, int level, int name, int value, const char *what, char *err,
                        size_t err_size)
{
    if (setsockopt(fd, level, name, &value, sizeof(value)) < 0)
        return errorf(err, err_size, "setsockopt %s: %s", what, strerror(errno));
    return 0;
}
