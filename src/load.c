/* SPDX-License-Identifier: MIT */
/* load.c - the load generator: dtls_echo -c --clients N.
 *
 * N sessions are dealt round-robin to worker threads (one per CPU by default, so the
 * generator drives the server's cores rather than queueing on its own); each worker
 * (load_worker.c) runs an event loop over its sessions. Every echo carries its session
 * and sequence numbers and a pattern derived from them, so each is checked byte for byte,
 * and a lost, late or foreign one is told apart. Latencies go into histograms; the
 * workers' counts are merged into one summary at the end (load_report.c). This file sets
 * the run up, shows its progress, and tears it down. */
#define _GNU_SOURCE
#include "load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "load_worker.h"
#include "log.h"
#include "platform.h"
#include "sockets.h"

/* ---- set-up, progress and the summary -------------------------------------------- */

static unsigned worker_count(const struct config *cfg)
{
    unsigned n = cfg->threads ? cfg->threads : platform_cpu_count();

    return n < cfg->clients ? n : cfg->clients;
}

static int workers_setup(struct load *load)
{
    const struct config *cfg = load->cfg;
    unsigned i, k, n = worker_count(cfg);

    load->workers = calloc(n, sizeof(*load->workers));
    if (load->workers == NULL)
        return -1;
    load->nworkers = n;
    for (k = 0; k < n; k++)
        load->workers[k].poller = NULL; /* load_free frees only what was made */
    for (k = 0; k < n; k++) {
        struct worker *w = &load->workers[k];
        w->load = load;
        w->count = w->live = cfg->clients / n + (k < cfg->clients % n);
        w->sessions = calloc(w->count, sizeof(*w->sessions));
        w->poller = poller_new(w->count + 1);
        if (w->sessions == NULL || w->poller == NULL ||
            poller_add(w->poller, load->stop_fd, NULL) < 0)
            return -1;
        for (i = 0; i < w->count; i++) {
            struct load_session *s = &w->sessions[i];
            unsigned id = i * n + k; /* round-robin: session id's start is id / --rate */
            s->id = id;
            s->fd = -1;
            s->start_us = cfg->rate ? load->start_us + (int64_t)id * 1000000 / cfg->rate
                                    : load->start_us;
            if ((s->slots = calloc(cfg->window, sizeof(*s->slots))) == NULL)
                return -1;
        }
    }
    return 0;
}

static void progress_line(const struct load *load, int64_t now)
{
    unsigned long handshakes = 0, echoes = 0, failures = 0;
    unsigned k;

    for (k = 0; k < load->nworkers; k++) {
        handshakes += atomic_load_explicit(&load->workers[k].progress_handshakes,
                                           memory_order_relaxed);
        echoes += atomic_load_explicit(&load->workers[k].progress_echoes, memory_order_relaxed);
        failures += atomic_load_explicit(&load->workers[k].progress_failures,
                                         memory_order_relaxed);
    }
    fprintf(stderr, "\r%6.1f s: %lu handshakes, %lu echoes, %lu failures ",
            (double)(now - load->start_us) / 1e6, handshakes, echoes, failures);
}

/* Waits for the workers that started, printing a progress line each second on a
 * terminal. */
static void wait_workers(struct load *load, unsigned started)
{
    int progress = isatty(STDERR_FILENO) && load->cfg->log_level >= LOG_INFO;
    unsigned ended = 0;
    char bytes[64];
    ssize_t n;

    while (ended < started) {
        struct pollfd pfd = {.fd = load->done_fds[0], .events = POLLIN};
        if (poll(&pfd, 1, 1000) > 0 &&
            (n = platform_pipe_read(load->done_fds[0], bytes, sizeof(bytes))) > 0)
            ended += (unsigned)n;
        if (progress)
            progress_line(load, clock_now_us());
    }
    if (progress)
        fprintf(stderr, "\n");
}

static void load_free(struct load *load)
{
    unsigned k, i;

    for (k = 0; load->workers != NULL && k < load->nworkers; k++) {
        struct worker *w = &load->workers[k];
        for (i = 0; w->sessions != NULL && i < w->count; i++) {
            load_session_end(w, &w->sessions[i]);
            free(w->sessions[i].slots);
            free(w->sessions[i].partial);
        }
        free(w->sessions);
        poller_free(w->poller);
    }
    free(load->workers);
    if (load->servers != NULL)
        freeaddrinfo(load->servers);
    if (load->done_fds[0] >= 0) {
        platform_pipe_close(load->done_fds);
    }
    credentials_free(&load->creds);
}

int load_run(const struct config *cfg, int stop_fd)
{
    struct load *load;
    struct load_counts totals;
    const char *host = cfg->address ? cfg->address : "localhost";
    char err[512];
    unsigned k, started = 0;
    size_t i;
    int ret = EXIT_RUNTIME;

    /* Large: the workers' receive buffers and histograms. */
    load = calloc(1, sizeof(*load));
    if (load == NULL) {
        log_error("out of memory");
        return EXIT_RUNTIME;
    }
    load->cfg = cfg;
    load->stop_fd = stop_fd;
    load->done_fds[0] = load->done_fds[1] = -1;
    for (i = 0; i < sizeof(load->pattern); i++)
        load->pattern[i] = (unsigned char)((i * 2654435761u) >> 13);

    if (!cfg->plain) {
        struct tls_settings tls;
        options_tls_settings(cfg, &tls);
        switch (credentials_load(&tls, &load->creds, err, sizeof(err))) {
        case CREDENTIALS_OK:
            break;
        case CREDENTIALS_BAD_SETTING:
            ret = EXIT_USAGE;
            /* fall through */
        case CREDENTIALS_BAD_FILE:
            log_error("%s", err);
            goto cleanup;
        }
    }
    if (udp_resolve(host, cfg->port, cfg->family, 0, &load->servers, err, sizeof(err)) < 0) {
        log_error("%s", err);
        goto cleanup;
    }
    load->server = load->servers;
    memcpy(&load->server_addr.ss, load->server->ai_addr, load->server->ai_addrlen);
    load->server_addr.len = load->server->ai_addrlen;
    udp_addr_to_text(&load->server_addr, load->server_text, sizeof(load->server_text));
    if (!cfg->plain && !cfg->handshakes_only) {
        size_t fit = credentials_max_record(&load->creds,
                                            cfg->mtu - udp_header_size(&load->server_addr));
        if (cfg->size > fit) {
            log_error("--size %u does not fit in a record at --mtu %u (at most %zu bytes)",
                      cfg->size, cfg->mtu, fit);
            ret = EXIT_USAGE;
            goto cleanup;
        }
    }
    if (platform_raise_fd_limit(cfg->clients + 64UL) < cfg->clients + 64UL)
        log_warn("the open-file limit is below what --clients %u needs", cfg->clients);
    if (platform_pipe(load->done_fds, 0) < 0) {
        log_error("pipe: %s", strerror(errno));
        goto cleanup;
    }
    load->start_us = clock_now_us();
    if (cfg->duration_s > 0)
        load->end_us = load->start_us + (int64_t)cfg->duration_s * 1000000;
    if (workers_setup(load) < 0) {
        log_error("out of memory or descriptors for %u sessions", cfg->clients);
        goto cleanup;
    }
    for (k = 0; k < load->nworkers; k++, started++) {
        int rc = pthread_create(&load->workers[k].thread, NULL, load_worker_main, &load->workers[k]);
        if (rc != 0) {
            log_error("pthread_create: %s", strerror(rc));
            load_stop_run(load, EXIT_RUNTIME);
            break;
        }
    }
    wait_workers(load, started);
    for (k = 0; k < started; k++)
        pthread_join(load->workers[k].thread, NULL);

    memset(&totals, 0, sizeof(totals));
    for (k = 0; k < load->nworkers; k++)
        load_counts_add(&totals, &load->workers[k].counts);
    ret = atomic_load(&load->abort_code);
    if (ret == 0)
        ret = load_report_exit_code(&totals);
    load_report_print(cfg, load->server_text, load->nworkers, &totals,
                      (double)(clock_now_us() - load->start_us) / 1e6, ret);
    if (log_stdout_flush() < 0 && ret == EXIT_OK)
        ret = EXIT_RUNTIME; /* the summary is the run's result: not written, not a success */

cleanup:
    load_free(load);
    free(load);
    return ret;
}
