/* SPDX-License-Identifier: MIT */
/* log.c - thread-safe leveled logging to stderr, and the classic output lines to stdout.
 *
 * One fprintf per line under flockfile, so lines from different client threads never
 * interleave inside a line. */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "platform.h"

static atomic_int current_level = LOG_INFO;
static char process_name[32] = "dtls_echo: "; /* set before any thread starts */
static char transcript_name[32]; /* "worker 2: " on a worker's transcript lines; likewise */
static FILE *transcript_stream; /* log_out's; NULL: stdout. Set before any thread starts */

/* stderr is systemd's journal (JOURNAL_STREAM names its device and inode): each line
 * then starts with its priority, "<3>" for an error, as sd-daemon(3) describes, so that
 * journalctl -p warning finds the failures. */
static int journal;
static int timestamps; /* log_set_timestamps: each stderr line starts with the time */

static void detect_journal(void)
{
    const char *stream = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    journal = stream != NULL && sscanf(stream, "%llu:%llu", &dev, &ino) == 2 &&
              fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
              (unsigned long long)st.st_ino == ino;
}

void log_set_level(int level)
{
    atomic_store(&current_level, level);
    detect_journal(); /* in main, before any thread starts */
}

void log_set_timestamps(int on)
{
    timestamps = on && !journal; /* the journal has its own */
}

/* "2026-12-04T17:20:01.123Z ": UTC, to the millisecond. */
static int format_time(char *out, size_t size)
{
    struct timespec now;
    struct tm tm;
    char date[32];

    clock_gettime(CLOCK_REALTIME, &now);
    if (gmtime_r(&now.tv_sec, &tm) == NULL || strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S",
                                                      &tm) == 0)
        return 0;
    return snprintf(out, size, "%s.%03ldZ ", date, now.tv_nsec / 1000000);
}

/* A line's priority for the journal (sd-daemon(3)): <3> error ... <7> debug. */
static int journal_priority(int level)
{
    switch (level) {
    case LOG_REPORT:
        return 5; /* notice */
    case LOG_ERROR:
        return 3;
    case LOG_WARN:
        return 4;
    case LOG_INFO:
        return 6;
    default:
        return 7;
    }
}

void log_transcript_to_stderr(void)
{
    transcript_stream = stderr;
}

static FILE *transcript(void)
{
    return transcript_stream != NULL ? transcript_stream : stdout;
}

void log_set_process(const char *name)
{
    snprintf(process_name, sizeof(process_name), "dtls_echo: %s: ", name);
    snprintf(transcript_name, sizeof(transcript_name), "%s: ", name);
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

/* The line is made first and written with one write(2): lines from worker processes that
 * share stderr never interleave either. */
static void log_line(int level, const char *prefix, const char *fmt, va_list ap)
{
    char line[2048];
    int len;

    if (!log_enabled(level))
        return;
    len = journal ? snprintf(line, sizeof(line), "<%d>", journal_priority(level)) : 0;
    if (timestamps)
        len += format_time(line + len, sizeof(line) - (size_t)len);
    len += snprintf(line + len, sizeof(line) - (size_t)len, "%s%s", prefix, level_prefix(level));
    len += vsnprintf(line + len, sizeof(line) - (size_t)len, fmt, ap);
    if ((size_t)len >= sizeof(line) - 1)
        len = sizeof(line) - 2; /* cut, still one line */
    line[len++] = '\n';
    flockfile(stderr);
    if (write(STDERR_FILENO, line, (size_t)len) < 0) {
        /* nowhere left to say it */
    }
    funlockfile(stderr);
}

void log_msg(int level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_line(level, process_name, fmt, ap);
    va_end(ap);
}

void log_status(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_line(LOG_INFO, "", fmt, ap);
    va_end(ap);
}

/* A line's end, and whether stdout took it all. Caller holds the stdout lock. */
static int end_line(FILE *out)
{
    int ok = fputc('\n', out) != EOF && fflush(out) == 0 && !ferror(out);

    funlockfile(out);
    return ok ? 0 : -1;
}

int log_out(const char *fmt, ...)
{
    FILE *out = transcript();
    va_list ap;

    if (!log_enabled(LOG_INFO))
        return 0;
    flockfile(out);
    fputs(transcript_name, out);
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    return end_line(out);
}

int log_out_data(const char *prefix, const void *data, size_t len)
{
    const unsigned char *byte = data;
    FILE *out = transcript();
    size_t i;

    if (!log_enabled(LOG_INFO))
        return 0;
    flockfile(out);
    fputs(transcript_name, out);
    fputs(prefix, out);
    for (i = 0; i < len; i++) {
        unsigned char c = byte[i];
        if (c == '\\')
            fputs("\\\\", out);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\r')
            fputs("\\r", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            putc_unlocked(c, out);
    }
    return end_line(out);
}

int log_stdout_flush(void)
{
    if (fflush(stdout) == 0 && !ferror(stdout))
        return 0;
    if (errno != EPIPE)
        log_error("cannot write to stdout: %s", strerror(errno));
    return -1;
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
