/* SPDX-License-Identifier: MIT */
/* server_tunnel.c - a client's tunnel on its session thread: its request, its lease (the
 * same addresses for the same identity), its own point-to-point TUN interface, the
 * config it is told, and the packets both ways (tunnel.c) with its source addresses
 * enforced, until the session ends; then the interface goes and the lease is kept for
 * --lease-time. */
#define _GNU_SOURCE
#include <errno.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "platform.h"
#include "server.h"
#include "tun.h"
#include "tunnel.h"

#define IDENTITY_MAX 1024
#define CONTROL_MAX 256
#define TAKEOVER_WAIT_MS 3000 /* for the same identity's old session to let go */
#define SEND_WAIT_MS 1000
#define IPV4_MIN_MTU 68
#define IPV6_MIN_MTU 1280

/* The lease's owner: kicked through its descriptor when its identity comes back. */
struct owner {
    int kick_fds[2]; /* a pipe; its read end is the session's stop descriptor while the
                        tunnel runs */
};

static void kick_owner(void *owner)
{
    if (platform_pipe_write(((struct owner *)owner)->kick_fds[1], "k", 1) < 0)
        log_debug("kick: %s", strerror(errno));
}

int server_tunnels_init(struct server *srv, char *err, size_t err_size)
{
    const struct config *cfg = srv->cfg;
    struct ip_prefix net4, net6;

    memset(&net6, 0, sizeof(net6));
    if (ip_prefix_parse("--tun-net", cfg->tun_net, &net4, err, err_size) < 0 ||
        (strcmp(cfg->tun_net6, "none") != 0 &&
         ip_prefix_parse("--tun-net6", cfg->tun_net6, &net6, err, err_size) < 0))
        return -1;
    return lease_pool_init(&srv->leases, &net4, &net6, cfg->lease_time_s, kick_owner, err,
                           err_size);
}

/* The addresses of lease index: the client's and the server's, of each family. */
static void lease_config(const struct lease_pool *leases, int index, unsigned mtu,
                         struct tunnel_config *out)
{
    unsigned char addr[16];

    memset(out, 0, sizeof(*out));
    ip_prefix_host(&leases->net4, (uint32_t)index + 2, addr);
    memcpy(&out->addr4, addr, 4);
    ip_prefix_host(&leases->net4, 1, addr);
    memcpy(&out->peer4, addr, 4);
    out->prefix4 = leases->net4.len;
    out->has6 = leases->net6.family != 0;
    if (out->has6) {
        ip_prefix_host(&leases->net6, (uint32_t)index + 2, out->addr6.s6_addr);
        ip_prefix_host(&leases->net6, 1, out->peer6.s6_addr);
        out->prefix6 = leases->net6.len;
    }
    out->mtu = mtu;
}

/* Waits for the client's request. Returns OK with *req, or what ended the session. */
static enum session_status await_request(struct session *s, struct tunnel_request *req,
                                         int64_t deadline_ms)
{
    unsigned char rec[CONTROL_MAX];
    struct tunnel_config unused;
    enum session_status status;
    char reason[8];
    size_t len;

    for (;;) {
        status = session_recv_until(s, rec, sizeof(rec), &len, deadline_ms);
        if (status == SESSION_PING || status == SESSION_PONG)
            continue;
        if (status != SESSION_OK)
            return status;
        if (tunnel_decode(rec, len, req, &unused, reason, sizeof(reason)) == TUNNEL_REQUEST)
            return SESSION_OK;
        log_debug("%s: a record of %zu bytes before the tunnel request, ignored", s->peer, len);
    }
}

/* The lease key of the client: its identity, or for an anonymous one its token. */
static void lease_key(const struct session *s, const struct tunnel_request *req,
                      unsigned char key[LEASE_KEY_SIZE], char *identity, size_t identity_size)
{
    gnutls_datum_t token = {(unsigned char *)req->token, TUNNEL_TOKEN_SIZE};
    size_t n, hex_size;

    session_peer_identity(s, identity, identity_size);
    if (identity[0] == '\0') {
        n = (size_t)snprintf(identity, identity_size, "token:");
        hex_size = identity_size - n;
        if (gnutls_hex_encode(&token, identity + n, &hex_size) < 0)
            identity[n] = '\0'; /* IDENTITY_MAX holds it: not reached */
    }
    gnutls_hash_fast(GNUTLS_DIG_SHA256, identity, strlen(identity), key);
}

/* Tells the client its config, or why it has none. */
static void send_control(struct session *s, const unsigned char *msg, size_t len)
{
    enum session_status status = session_send(s, msg, len, SEND_WAIT_MS);

    if (status != SESSION_OK)
        log_debug("%s: tunnel message not sent: %s", s->peer, session_status_name(status));
}

static void refuse(struct session *s, const char *reason)
{
    unsigned char msg[2 + TUNNEL_REASON_MAX];

    log_warn("%s: no tunnel: %s", s->peer, reason);
    send_control(s, msg, tunnel_encode_refusal(reason, msg));
}

/* Context of the running tunnel, for its control messages. */
struct running {
    struct tunnel tunnel;
    unsigned char config[64];
    size_t config_len;
};

/* A request again: the config was lost on the way; it is the answer. */
static size_t on_control(struct tunnel *t, const unsigned char *rec, size_t len,
                         unsigned char *reply)
{
    struct running *run = t->ctx;
    struct tunnel_request req;
    struct tunnel_config unused;
    char reason[8];

    _Static_assert(sizeof(run->config) <= TUNNEL_REPLY_MAX, "a config fits an answer");
    if (tunnel_decode(rec, len, &req, &unused, reason, sizeof(reason)) != TUNNEL_REQUEST)
        return 0;
    memcpy(reply, run->config, run->config_len);
    return run->config_len;
}

/* Runs the tunnel over the interface made for it; returns how it ended. */
static enum tunnel_end carry(struct server *srv, struct session *s, struct running *run,
                             const struct tunnel_config *cfg, int tun_fd, unsigned offloads)
{
    struct tunnel *t = &run->tunnel;

    t->session = s;
    t->tun_fd = tun_fd;
    t->tun_offloads = offloads;
    t->udp_offloads = !srv->cfg->no_offload;
    t->keepalive_ms = srv->cfg->keepalive_s * 1000;
    t->check_source = 1;
    t->source4 = cfg->addr4;
    t->has6 = cfg->has6;
    t->source6 = cfg->addr6;
    t->control = on_control;
    t->ctx = run;
    return tunnel_run(t);
}

enum session_status server_tunnel_serve(struct server *srv, struct session *s)
{
    unsigned char key[LEASE_KEY_SIZE];
    char identity[IDENTITY_MAX], ifname[IFNAMSIZ], addr4[INET_ADDRSTRLEN],
        addr6[INET6_ADDRSTRLEN] = "", err[256];
    struct tunnel_request req;
    struct tunnel_config cfg;
    struct tun_address addresses[2];
    struct running run;
    struct owner owner = {.kick_fds = {-1, -1}};
    enum session_status status;
    enum tunnel_end end;
    int index = -1, tun_fd = -1, kicked;
    unsigned mtu, offloads;

    status = await_request(s, &req,
                           clock_now_ms() + (int64_t)srv->cfg->handshake_timeout_s * 1000);
    if (status != SESSION_OK) {
        if (status == SESSION_TIMEOUT)
            log_info("%s: asked for a tunnel but sent no request within %u s", s->peer,
                     srv->cfg->handshake_timeout_s);
        return status;
    }
    lease_key(s, &req, key, identity, sizeof(identity));
    if (platform_pipe(owner.kick_fds, 1) < 0) {
        log_error("%s: pipe: %s", s->peer, strerror(errno));
        return SESSION_FATAL;
    }
    index = lease_acquire(&srv->leases, key, &owner, clock_now_ms(), TAKEOVER_WAIT_MS);
    if (index < 0) {
        refuse(s, index == -1 ? "every address of the tunnel network is leased"
                              : "the same identity's previous tunnel did not end in time");
        status = SESSION_CLOSED;
        goto cleanup;
    }
    /* Both ends' data MTU: the smaller decides, so no packet is too large either way. */
    mtu = (unsigned)session_data_mtu(s);
    if (req.mtu < mtu)
        mtu = req.mtu;
    if (mtu < IPV4_MIN_MTU) {
        refuse(s, "the data MTU is below 68 bytes: raise --mtu");
        status = SESSION_CLOSED;
        goto cleanup;
    }
    lease_config(&srv->leases, index, mtu, &cfg);
    if (cfg.has6 && mtu < IPV6_MIN_MTU) {
        log_info("%s: a tunnel MTU of %u carries no IPv6 (1280 at least): IPv4 only", s->peer,
                 mtu);
        cfg.has6 = 0;
    }
    tun_fd = tun_open("dtlss%d", !srv->cfg->no_offload, ifname, &offloads, err, sizeof(err));
    if (tun_fd < 0 ||
        tun_configure(ifname, addresses, tunnel_link_addresses(&cfg, 1, addresses), mtu, err,
                      sizeof(err)) < 0) {
        log_error("%s: %s", s->peer, err);
        refuse(s, "the server could not make an interface");
        status = SESSION_CLOSED;
        goto cleanup;
    }
    memset(&run, 0, sizeof(run));
    run.config_len = tunnel_encode_config(&cfg, run.config);
    send_control(s, run.config, run.config_len);
    ip_address_text(AF_INET, (const unsigned char *)&cfg.addr4, addr4, sizeof(addr4));
    if (cfg.has6)
        ip_address_text(AF_INET6, cfg.addr6.s6_addr, addr6, sizeof(addr6));
    log_info("tunnel up: %s for %s (%s): %s %s mtu %u", ifname, s->peer, identity, addr4,
             addr6, mtu);

    s->stop_fd = owner.kick_fds[0]; /* the same identity on a new session ends this one */
    end = carry(srv, s, &run, &cfg, tun_fd, offloads);
    s->stop_fd = -1;
    kicked = end == TUNNEL_STOPPED && !atomic_load(&srv->stopping);
    log_info("tunnel down: %s for %s: %s; %llu packets in (%llu TUN writes), %llu out "
             "(%llu TUN reads), %llu dropped with a forged source address, %llu dropped "
             "otherwise", ifname, s->peer,
             kicked ? "the same identity connected again" : tunnel_end_text(&run.tunnel, end),
             (unsigned long long)run.tunnel.packets_in, (unsigned long long)run.tunnel.writes,
             (unsigned long long)run.tunnel.packets_out, (unsigned long long)run.tunnel.reads,
             (unsigned long long)run.tunnel.spoofed, (unsigned long long)run.tunnel.dropped);
    switch (end) {
    case TUNNEL_STOPPED:
        status = kicked ? SESSION_CLOSED : SESSION_STOPPED;
        break;
    case TUNNEL_RESTART:
        status = SESSION_HALTED;
        break;
    default:
        status = SESSION_CLOSED;
        break;
    }
cleanup:
    if (tun_fd >= 0)
        close(tun_fd); /* the interface goes with it, its addresses and routes too */
    if (index >= 0)
        lease_release(&srv->leases, index, clock_now_ms());
    platform_pipe_close(owner.kick_fds);
    return status;
}
