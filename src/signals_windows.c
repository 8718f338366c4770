/* SPDX-License-Identifier: MIT */
/* signals_windows.c - the stop as a readable descriptor on Windows (signals.h): the
 * console's control events (Ctrl-C, Ctrl-Break, closing the window, logging off, shutting
 * down) in place of SIGINT and SIGTERM, through the same kind of self-pipe (a loopback
 * socket pair, platform_pipe). Windows has no SIGHUP: the reload descriptor never becomes
 * readable. Compiles to nothing elsewhere (signals.c). */
#include "signals.h"

#include "platform.h"

#if PLATFORM_WINDOWS

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <windows.h>

#include "clock.h"

static int stop_pipe[2] = {-1, -1}, reload_pipe[2] = {-1, -1};
static _Atomic int64_t first_event_ms; /* 0: no event yet */

#define SAME_STOP_MS 1000 /* as signals.c: a second event within it is the same stop */
#define CLOSE_GRACE_MS 5000 /* Windows ends the process when the handler returns */

/* Runs on a thread of its own, made by the system for the event. */
static BOOL WINAPI on_console_event(DWORD event)
{
    int64_t now_ms = clock_now_ms() + 1, none = 0; /* never 0 */

    if (!atomic_compare_exchange_strong(&first_event_ms, &none, now_ms)) {
        if (now_ms - none >= SAME_STOP_MS)
            ExitProcess(130); /* as a second Ctrl-C later on POSIX: 128 + SIGINT */
        return TRUE;
    }
    platform_pipe_write(stop_pipe[1], "x", 1);
    /* Closing the window, logging off, shutting down: the process ends when this returns,
     * so give the stop its time (the main thread's exit ends the process first). */
    if (event == CTRL_CLOSE_EVENT || event == CTRL_LOGOFF_EVENT ||
        event == CTRL_SHUTDOWN_EVENT)
        Sleep(CLOSE_GRACE_MS);
    return TRUE;
}

void signals_close(void)
{
    SetConsoleCtrlHandler(on_console_event, FALSE);
    platform_pipe_close(stop_pipe);
    platform_pipe_close(reload_pipe);
}

int signals_install(int hup_reloads, int *stop_fd, int *reload_fd)
{
    (void)hup_reloads;
    signals_close();
    atomic_store(&first_event_ms, 0);
    if (platform_pipe(stop_pipe, 1) < 0 || platform_pipe(reload_pipe, 1) < 0)
        return -1;
    if (!SetConsoleCtrlHandler(on_console_event, TRUE))
        return -1;
    *stop_fd = stop_pipe[0];
    *reload_fd = reload_pipe[0];
    return 0;
}

#endif
