/* main.c - parse the options, run the server or the client, map the outcome to an exit
 * code. The only globals are the ones the signal handler needs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "keyfile.h"
#include "load.h"
#include "log.h"
#include "options.h"
#include "server.h"
#include "session.h"

/* Self-pipe: the first SIGINT or SIGTERM (and SIGHUP, but on a server) makes its read
 * end readable for every thread that polls it. A second signal within SAME_STOP_MS is the
 * same stop (`timeout` signals the child and then its group); a later one exits at once.
 * A server's SIGHUP makes the reload pipe readable instead: it re-reads its key files. */
static int stop_pipe[2] = {-1, -1}, reload_pipe[2] = {-1, -1};
static _Atomic int64_t first_signal_ms; /* 0: no signal yet; lock-free, so signal-safe */

#define SAME_STOP_MS 1000

static void on_stop_signal(int signo)
{
    int saved_errno = errno;
    struct timespec now;
    int64_t now_ms, none = 0;

    clock_gettime(CLOCK_MONOTONIC, &now); /* async-signal-safe */
    now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 + 1; /* never 0 */
    if (!atomic_compare_exchange_strong(&first_signal_ms, &none, now_ms)) {
        if (now_ms - none >= SAME_STOP_MS)
            _exit(128 + signo);
        return; /* the same stop, signalled twice */
    }
    if (write(stop_pipe[1], "x", 1) < 0) {
        /* nothing to do in a signal handler; the pipe is empty, so this cannot fail */
    }
    errno = saved_errno;
}

static void on_reload_signal(int signo)
{
    int saved_errno = errno;

    (void)signo;
    if (write(reload_pipe[1], "x", 1) < 0) {
        /* full: a reload is pending already */
    }
    errno = saved_errno;
}

static int install_signals(int hup_reloads)
{
    struct sigaction action, reload;

    if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0 ||
        pipe2(reload_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return -1;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    reload = action;
    reload.sa_handler = on_reload_signal;
    if (sigaction(SIGINT, &action, NULL) < 0 || sigaction(SIGTERM, &action, NULL) < 0 ||
        sigaction(SIGHUP, hup_reloads ? &reload : &action, NULL) < 0)
        return -1;
    signal(SIGPIPE, SIG_IGN); /* a closed stdout shows as EPIPE, reported where written */
    return 0;
}

int main(int argc, char **argv)
{
    struct config cfg;
    char err[512];
    int ret;

    if (options_parse(argc, argv, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "dtls_echo: error: %s\nTry 'dtls_echo --help' for more information.\n", err);
        return EXIT_USAGE;
    }
    if (cfg.action == ACTION_HELP) {
        signal(SIGPIPE, SIG_IGN);
        options_print_help(stdout);
        return log_stdout_flush() < 0 ? EXIT_RUNTIME : EXIT_OK;
    }
    if (cfg.action == ACTION_VERSION) {
        signal(SIGPIPE, SIG_IGN);
        printf("dtls_echo %s (GnuTLS %s)\n", DTLS_ECHO_VERSION, gnutls_check_version(NULL));
        return log_stdout_flush() < 0 ? EXIT_RUNTIME : EXIT_OK;
    }
    log_set_level(cfg.log_level);
    if (cfg.action == ACTION_GENKEY) {
        if (keyfile_generate(cfg.genkey, err, sizeof(err)) < 0) {
            log_error("--genkey: %s", err);
            return EXIT_RUNTIME;
        }
        log_info("wrote a fresh key to '%s' (mode 0600)", cfg.genkey);
        return EXIT_OK;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines appear as they happen, even in a pipe */
    if (install_signals(!cfg.client_mode) < 0) {
        log_error("signal setup: %s", strerror(errno));
        return EXIT_RUNTIME;
    }
    if (session_global_init(cfg.log_level, err, sizeof(err)) < 0) {
        log_error("%s", err);
        return EXIT_RUNTIME;
    }
    if (cfg.clients > 0)
        ret = load_run(&cfg, stop_pipe[0]);
    else if (cfg.client_mode)
        ret = client_run(&cfg, stop_pipe[0]);
    else
        ret = server_run(&cfg, stop_pipe[0], reload_pipe[0]);
    session_global_deinit();
    close(stop_pipe[0]);
    close(stop_pipe[1]);
    close(reload_pipe[0]);
    close(reload_pipe[1]);
    return ret;
}
