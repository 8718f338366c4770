/* log.c - thread-safe leveled logging to stderr, and the classic output lines to stdout.
 *
 * One fprintf per line under flockfile, so lines from different client threads never
 * interleave inside a line. */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_int current_level = LOG_INFO;

void log_set_level(int level)
{
    atomic_store(&current_level, level);
}

int log_enabled(int level)
{
    return level <= atomic_load(&current_level);
}

static const char *level_prefix(int level)
{
    switch (level) {
    case LOG_ERROR:
        return "error: ";
    case LOG_WARN:
        return "warning: ";
    default:
        return "";
    }
}

void log_msg(int level, const char *fmt, ...)
{
    va_list ap;

    if (!log_enabled(level))
        return;
    flockfile(stderr);
    fprintf(stderr, "dtls_echo: %s", level_prefix(level));
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    funlockfile(stderr);
}

void log_out(const char *fmt, ...)
{
    va_list ap;

    if (!log_enabled(LOG_INFO))
        return;
    flockfile(stdout);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    funlockfile(stdout);
}

int errorf(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;
    char *c;

    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    for (c = err; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    return -1;
}
