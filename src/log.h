/* SPDX-License-Identifier: MIT */
/* log.h - thread-safe leveled logging.
 *
 * Diagnostics (errors, warnings, debug) go to stderr; the user-facing lines of the
 * classic GnuTLS DTLS echo example ("- Handshake was completed", "received[...]: ...")
 * go to stdout through log_out(). -q keeps only errors, each -v adds a level. */
#ifndef DTLS_ECHO_LOG_H
#define DTLS_ECHO_LOG_H

#include <stddef.h>
#include <stdio.h> /* mingw-w64 names its printf here (__MINGW_PRINTF_FORMAT) */

enum log_level {
    LOG_REPORT = -1, /* asked for (SIGUSR1's status line): always shown, no level word */
    LOG_ERROR = 0, /* always shown */
    LOG_WARN = 1,  /* hidden by -q */
    LOG_INFO = 2,  /* the default; stdout lines are at this level */
    LOG_DEBUG = 3, /* -v */
    LOG_TRACE = 4, /* -vv; -vvv also turns on GnuTLS's own log */
};

/* Sets the most detailed level that is printed (LOG_INFO by default). */
void log_set_level(int level);

/* With on, each stderr line starts with the time (UTC, ms), unless stderr is systemd's
 * journal, which stamps lines itself: the server's --session-log. After log_set_level. */
void log_set_timestamps(int on);

/* Names this process in every log_msg line ("dtls_echo: worker 2: ...") and transcript
 * line ("worker 2: Accepted connection ..."); call it before any thread starts. */
void log_set_process(const char *name);

/* Sends log_out's transcript lines to stderr from now on, leaving stdout to one result
 * (--json); call it before any thread starts. */
void log_transcript_to_stderr(void);

/* Returns nonzero when messages at level would be printed. */
int log_enabled(int level);

/* Prints "dtls_echo: <level prefix>message" as one line to stderr. */
/* printf's checks; mingw-w64 names the C99 printf it links (%zu, %lld) gnu_printf. */
#ifdef __MINGW_PRINTF_FORMAT
#define LOG_PRINTF(fmt, first) __attribute__((format(__MINGW_PRINTF_FORMAT, fmt, first)))
#else
#define LOG_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#endif

void log_msg(int level, const char *fmt, ...) LOG_PRINTF(2, 3);

/* Prints a status line that scripts read ("tunnel up: ...") to stderr at LOG_INFO, as it
 * is: no program name before it. */
void log_status(const char *fmt, ...) LOG_PRINTF(1, 2);

/* Prints one line to stdout at LOG_INFO (hidden by -q). Returns 0, or -1 when stdout
 * cannot be written (errno set: EPIPE for a closed pipe, ENOSPC for /dev/full). */
int log_out(const char *fmt, ...) LOG_PRINTF(1, 2);

/* Prints prefix and then data as one line to stdout at LOG_INFO, with every byte that is
 * not printable ASCII escaped (\n, \t, \\, \xNN): a peer's bytes never reach the terminal
 * raw. Returns like log_out. */
int log_out_data(const char *prefix, const void *data, size_t len);

/* Flushes stdout. Returns 0, or -1 after logging why it failed (nothing for a closed
 * pipe: whoever closed it knows, as with cat). */
int log_stdout_flush(void);

/* Writes a one-line reason into err (control characters replaced, since reasons quote
 * user input) and returns -1: the error-buffer convention of options.c, udp.c and
 * credentials.c and cookie.c, whose callers decide how to report it. */
int errorf(char *err, size_t err_size, const char *fmt, ...) LOG_PRINTF(3, 4);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_trace(...) log_msg(LOG_TRACE, __VA_ARGS__)

#endif
