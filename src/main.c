/* SPDX-License-Identifier: MIT */
/* main.c - parse the options, run the server or the client, map the outcome to an exit
 * code. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "keyfile.h"
#include "load.h"
#include "log.h"
#include "options.h"
#include "platform.h"
#include "server.h"
#include "session.h"
#include "signals.h"

int main(int argc, char **argv)
{
    struct config cfg;
    char err[512];
    int ret, stop_fd, reload_fd;

    if (platform_init(err, sizeof(err)) < 0) {
        fprintf(stderr, "dtls_echo: error: %s\n", err);
        return EXIT_RUNTIME;
    }
    if (options_parse(argc, argv, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "dtls_echo: error: %s\nTry 'dtls_echo --help' for more information.\n", err);
        return EXIT_USAGE;
    }
    if (cfg.action == ACTION_HELP) {
        options_print_help(stdout);
        return log_stdout_flush() < 0 ? EXIT_RUNTIME : EXIT_OK;
    }
    if (cfg.action == ACTION_VERSION) {
        printf("dtls_echo %s (GnuTLS %s)\n", DTLS_ECHO_VERSION, gnutls_check_version(NULL));
        return log_stdout_flush() < 0 ? EXIT_RUNTIME : EXIT_OK;
    }
    log_set_level(cfg.log_level);
    log_set_timestamps(cfg.session_log);
    if (cfg.action == ACTION_GENKEY) {
        if (keyfile_generate(cfg.genkey, err, sizeof(err)) < 0) {
            log_error("--genkey: %s", err);
            return EXIT_RUNTIME;
        }
        if (strcmp(cfg.genkey, "-") != 0) /* on stdout, the key is all there is */
            log_info("wrote a fresh key to '%s' (mode 0600)", cfg.genkey);
        return EXIT_OK;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines appear as they happen, even in a pipe */
    if (signals_install(!cfg.client_mode, &stop_fd, &reload_fd) < 0) {
        log_error("signal setup: %s", strerror(errno));
        return EXIT_RUNTIME;
    }
    if (session_global_init(cfg.log_level, err, sizeof(err)) < 0) {
        log_error("%s", err);
        return EXIT_RUNTIME;
    }
    if (cfg.clients > 0)
        ret = load_run(&cfg, stop_fd);
    else if (cfg.client_mode)
        ret = client_run(&cfg, stop_fd);
    else
        ret = server_run(&cfg, stop_fd, reload_fd);
    session_global_deinit();
    signals_close();
    return ret;
}
