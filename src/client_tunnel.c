/* SPDX-License-Identifier: MIT */
/* client_tunnel.c - the client's end of a tunnel (--tun): its TUN interface, made before
 * the first handshake (so a missing privilege is said at once) and kept across
 * reconnections; the request and the config; the addresses, MTU and routes; packets both
 * ways (tunnel.c) until the stop; and, when the server goes silent or away, "tunnel
 * down", reconnections with backoff (resuming the session where the server can), and
 * "tunnel up" again. */
#define _GNU_SOURCE
#include <gnutls/crypto.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "clock.h"
#include "log.h"
#include "privileges.h"
#include "tun.h"
#include "tunnel.h"

#define CONTROL_MAX 256
#define STEADY_MS 30000 /* a tunnel up this long starts the backoff again from the first */

struct client_tunnel {
    struct connection *conn;
    int tun_fd;
    unsigned offloads;                 /* what the TUN device granted (TUN_OFFLOAD_*) */
    char ifname[IFNAMSIZ];
    unsigned char token[TUNNEL_TOKEN_SIZE];
    struct tunnel_config config;       /* what the interface has now */
    int configured;
    struct tun_address addresses[2];
    size_t address_count;
};

/* Asks for the tunnel and waits for the config, sending the request again after each
 * retransmission timeout. Returns OK with *config, or why not (logged). */
static enum client_outcome ask(struct client_tunnel *ct, struct tunnel_config *config)
{
    struct connection *conn = ct->conn;
    struct session *s = &conn->session;
    struct tunnel_request req;
    struct tunnel_request unused;
    unsigned char msg[64], rec[CONTROL_MAX];
    enum session_status status = SESSION_TIMEOUT;
    char reason[TUNNEL_REASON_MAX + 1];
    unsigned attempt;
    size_t len, msg_len;

    memcpy(req.token, ct->token, sizeof(req.token));
    req.mtu = (unsigned)session_data_mtu(s);
    msg_len = tunnel_encode_request(&req, msg);
    for (attempt = 0; attempt <= conn->cfg->retries; attempt++) {
        int64_t deadline = clock_now_ms() + rto_backoff_ms(&conn->rto, attempt);
        status = session_send(s, msg, msg_len, (int)conn->cfg->timeout_ms);
        while (status == SESSION_OK || status == SESSION_PING || status == SESSION_PONG) {
            status = session_recv_until(s, rec, sizeof(rec), &len, deadline);
            if (status != SESSION_OK || len == 0 || rec[0] != TUNNEL_CONTROL)
                continue; /* heartbeats, a late packet of a previous session */
            switch (tunnel_decode(rec, len, &unused, config, reason, sizeof(reason))) {
            case TUNNEL_CONFIG:
                return OUTCOME_OK;
            case TUNNEL_REFUSAL:
                log_error("%s refused a tunnel: %s", conn->server_text, reason);
                return OUTCOME_RUNTIME;
            default:
                log_debug("%s: a control message not understood, ignored", conn->server_text);
            }
        }
        if (status != SESSION_TIMEOUT)
            break;
    }
    if (status == SESSION_TIMEOUT) {
        log_error("%s: no answer to the tunnel request after %u tries", conn->server_text,
                  conn->cfg->retries + 1);
        return OUTCOME_TIMEOUT;
    }
    if (status == SESSION_STOPPED)
        return OUTCOME_OK; /* the caller sees the stop */
    log_error("%s: the session ended before the tunnel was set up: %s", conn->server_text,
              session_status_name(status));
    return OUTCOME_RUNTIME;
}

/* Gives the interface what config says: the first time its addresses, MTU and the
 * --route routes; after a reconnection nothing, or the new addresses when the lease was
 * lost. Returns 0, or -1 (logged). */
static int configure(struct client_tunnel *ct, const struct tunnel_config *config)
{
    const struct config *cfg = ct->conn->cfg;
    struct ip_prefix route;
    char err[256];
    unsigned i;

    if (ct->configured && memcmp(&ct->config, config, sizeof(*config)) == 0)
        return 0;
    if (ct->configured &&
        tun_remove_addresses(ct->ifname, ct->addresses, ct->address_count, err,
                             sizeof(err)) < 0) {
        log_error("%s", err);
        return -1;
    }
    ct->address_count = tunnel_link_addresses(config, 0, ct->addresses);
    if (tun_configure(ct->ifname, ct->addresses, ct->address_count, config->mtu, err,
                      sizeof(err)) < 0) {
        log_error("%s", err);
        return -1;
    }
    for (i = 0; !ct->configured && i < cfg->routes.count; i++)
        if (ip_prefix_parse("--route", cfg->routes.item[i], &route, err, sizeof(err)) < 0 ||
            tun_add_route(ct->ifname, &route, err, sizeof(err)) < 0) {
            log_error("%s", err);
            return -1;
        }
    ct->config = *config;
    ct->configured = 1;
    return 0;
}

static void announce_up(const struct client_tunnel *ct, int resumed)
{
    const struct tunnel_config *c = &ct->config;
    char addr4[INET_ADDRSTRLEN], peer4[INET_ADDRSTRLEN], addr6[INET6_ADDRSTRLEN],
        peer6[INET6_ADDRSTRLEN], v6[2 * INET6_ADDRSTRLEN + 16] = "";

    ip_address_text(AF_INET, (const unsigned char *)&c->addr4, addr4, sizeof(addr4));
    ip_address_text(AF_INET, (const unsigned char *)&c->peer4, peer4, sizeof(peer4));
    if (c->has6) {
        ip_address_text(AF_INET6, c->addr6.s6_addr, addr6, sizeof(addr6));
        ip_address_text(AF_INET6, c->peer6.s6_addr, peer6, sizeof(peer6));
        snprintf(v6, sizeof(v6), " addr6 %s peer6 %s", addr6, peer6);
    }
    log_status("tunnel up: %s %s peer %s mtu %u%s%s", ct->ifname, addr4, peer4, c->mtu, v6,
               resumed ? " resumed" : "");
}

/* One session's tunnel: connect, ask, configure, carry. Returns the tunnel's end, or -1
 * with *outcome when it never came up. */
static int session_tunnel(struct client_tunnel *ct, const char *host, int stop_fd,
                          enum client_outcome *outcome)
{
    struct connection *conn = ct->conn;
    struct tunnel_config config;
    struct tunnel t;
    enum tunnel_end end;

    if ((*outcome = client_connect(conn, host, stop_fd)) != OUTCOME_OK)
        return -1;
    if (!session_alpn_is(&conn->session, TUNNEL_ALPN)) {
        log_error("%s offers no tunnel (is it a dtls_echo server started with --tun?)",
                  conn->server_text);
        *outcome = OUTCOME_HANDSHAKE;
        return -1;
    }
    client_keep_session(conn);
    if ((*outcome = ask(ct, &config)) != OUTCOME_OK)
        return -1;
    if (client_stopped(stop_fd, 0))
        return TUNNEL_STOPPED;
    if (configure(ct, &config) < 0) {
        *outcome = OUTCOME_RUNTIME;
        return -1;
    }
    announce_up(ct, gnutls_session_is_resumed(conn->session.tls));
    memset(&t, 0, sizeof(t));
    t.session = &conn->session;
    t.tun_fd = ct->tun_fd;
    t.tun_offloads = ct->offloads;
    t.udp_offloads = !conn->cfg->no_offload;
    t.keepalive_ms = conn->cfg->keepalive_s * 1000;
    end = tunnel_run(&t);
    log_status("tunnel down: %s", tunnel_end_text(&t, end));
    log_debug("%llu packets in (%llu TUN writes), %llu out (%llu TUN reads), %llu dropped",
              (unsigned long long)t.packets_in, (unsigned long long)t.writes,
              (unsigned long long)t.packets_out, (unsigned long long)t.reads,
              (unsigned long long)t.dropped);
    return (int)end;
}

enum client_outcome client_tunnel_run(struct connection *conn, const char *host, int stop_fd)
{
    struct client_tunnel ct;
    enum client_outcome outcome = OUTCOME_OK;
    unsigned attempt = 0;
    int end;
    int64_t up_since;
    char err[256];

    memset(&ct, 0, sizeof(ct));
    ct.conn = conn;
    if (privileges_need_net_admin("--tun (an interface)", err, sizeof(err)) < 0 ||
        (ct.tun_fd = tun_open("dtls%d", !conn->cfg->no_offload, ct.ifname, &ct.offloads, err,
                              sizeof(err))) < 0) {
        log_error("%s", err);
        return OUTCOME_RUNTIME;
    }
    if (privileges_drop(conn->cfg->user, 1, err, sizeof(err)) < 0) {
        log_error("%s", err);
        outcome = OUTCOME_RUNTIME;
        goto cleanup;
    }
    /* The anonymous client's name for its lease: random, kept for the whole run. */
    if (gnutls_rnd(GNUTLS_RND_NONCE, ct.token, sizeof(ct.token)) < 0) {
        log_error("no random token for the tunnel request");
        outcome = OUTCOME_RUNTIME;
        goto cleanup;
    }
    for (;;) {
        up_since = clock_now_ms();
        conn->will_retry = ct.configured; /* once up, a tunnel waits for its server */
        end = session_tunnel(&ct, host, stop_fd, &outcome);
        if (end == TUNNEL_STOPPED || client_stopped(stop_fd, 0)) {
            outcome = OUTCOME_OK;
            break;
        }
        /* The first connection's failure is the run's; later, a server that is gone or
         * silent is waited for, anything else (a refused tunnel, a certificate that no
         * longer verifies) ends the run. */
        if (end < 0 && (!ct.configured || outcome != OUTCOME_TIMEOUT))
            break;
        client_disconnect(conn);
        if (clock_now_ms() - up_since > STEADY_MS)
            attempt = 0;
        if (client_backoff(stop_fd, attempt++)) {
            outcome = OUTCOME_OK;
            break;
        }
    }
cleanup:
    client_disconnect(conn); /* close_notify first, then the interface goes */
    close(ct.tun_fd);
    return outcome;
}
