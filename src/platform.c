/* SPDX-License-Identifier: MIT */
/* platform.c - what the platform seam's sides share (platform.h): the socket option
 * helper everywhere, and what every POSIX system (Linux, macOS, the BSDs) does alike. */
#define _GNU_SOURCE /* mkostemp */
#include "platform.h"

#include <errno.h>
#include <string.h>

#include "log.h"

int platform_set_option(int fd, int level, int name, int value, const char *what, char *err,
                        size_t err_size)
{
    if (setsockopt(fd, level, name, (const void *)&value, sizeof(value)) < 0)
        return errorf(err, err_size, "setsockopt %s: %s", what, strerror(errno));
    return 0;
}

#if !PLATFORM_WINDOWS

#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

int platform_init(char *err, size_t err_size)
{
    (void)err, (void)err_size;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

int platform_has_user(void)
{
    return 1;
}

const char *platform_config_dir(void)
{
    return "/etc/dtls_echo";
}

void platform_close_socket(int fd)
{
    close(fd);
}

int platform_set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int platform_recv_timeout(int fd, int64_t ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

    if (ms <= 0)
        tv.tv_usec = 1000; /* zero would mean "wait forever" */
    return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

unsigned long platform_raise_fd_limit(unsigned long wanted)
{
    struct rlimit limit;

    if (getrlimit(RLIMIT_NOFILE, &limit) < 0)
        return 0;
    if (limit.rlim_cur < wanted) {
        limit.rlim_cur = wanted < limit.rlim_max ? wanted : limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) < 0 && getrlimit(RLIMIT_NOFILE, &limit) < 0)
            return 0;
    }
    return (unsigned long)limit.rlim_cur;
}

ssize_t platform_pipe_read(int fd, void *buf, size_t size)
{
    return read(fd, buf, size);
}

ssize_t platform_pipe_write(int fd, const void *buf, size_t size)
{
    return write(fd, buf, size);
}

void platform_pipe_close(int fds[2])
{
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    fds[0] = fds[1] = -1;
}

int platform_stdin_open(void)
{
    return STDIN_FILENO;
}

ssize_t platform_stdin_read(int fd, void *buf, size_t size)
{
    return read(fd, buf, size);
}

void platform_interface_name(unsigned index, char *out, size_t size)
{
    char name[IF_NAMESIZE];

    if (if_indextoname(index, name) != NULL)
        snprintf(out, size, "%s", name);
    else
        snprintf(out, size, "%u", index);
}

int platform_reuseport(int fd, char *err, size_t err_size)
{
    return platform_set_option(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT", err, err_size);
}

int platform_is_link(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

int platform_readable_by_others(const struct stat *st)
{
    return (st->st_mode & 077) != 0;
}

int platform_temporary_file(char *template)
{
    return mkostemp(template, O_CLOEXEC); /* mode 0600 */
}

int platform_replace_file(const char *from, const char *to)
{
    return rename(from, to);
}

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

#endif
