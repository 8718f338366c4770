/* SPDX-License-Identifier: MIT */
/* tun.c - TUN devices and their configuration by rtnetlink (see tun.h). Linux only: on
 * other platforms (and in the portable build) each call says so, and the options refuse
 * --tun before any is made. macOS's utun is the next step (ARCHITECTURE.md). */
#define _GNU_SOURCE
#include "tun.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "platform.h"

#if PLATFORM_LINUX
#include <fcntl.h>
#include <linux/if_tun.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/route.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifndef TUN_F_USO4 /* Linux 6.2; Debian 12's headers are 6.1's */
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

/* The offloads of a TUN device with the header: TSO and USO, TSO alone, or none. */
static unsigned set_offloads(int fd)
{
    static const unsigned tso = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;

    if (ioctl(fd, TUNSETOFFLOAD, tso | TUN_F_USO4 | TUN_F_USO6) == 0)
        return TUN_OFFLOAD_VNET | TUN_OFFLOAD_TSO | TUN_OFFLOAD_USO;
    if (ioctl(fd, TUNSETOFFLOAD, tso) == 0)
        return TUN_OFFLOAD_VNET | TUN_OFFLOAD_TSO;
    return TUN_OFFLOAD_VNET;
}

int tun_open(const char *pattern, int offload, char name[IFNAMSIZ], unsigned *offloads,
             char *err, size_t err_size)
{
    struct ifreq ifr;
    int rc, fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);

    if (fd < 0)
        return errorf(err, err_size, "cannot open /dev/net/tun: %s%s", strerror(errno),
                      errno == ENOENT ? " (no TUN support here: modprobe tun, or give a "
                                        "container the device)" : "");
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", pattern);
    rc = ioctl(fd, TUNSETIFF, &ifr);
    if (rc < 0 && offload && errno == EINVAL) { /* no header here: the plain device */
        ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
        offload = 0;
        rc = ioctl(fd, TUNSETIFF, &ifr);
    }
    if (rc < 0) {
        int saved = errno;
        close(fd);
        return errorf(err, err_size, "TUNSETIFF %s: %s", pattern, strerror(saved));
    }
    *offloads = offload ? set_offloads(fd) : 0;
    memcpy(name, ifr.ifr_name, IFNAMSIZ);
    name[IFNAMSIZ - 1] = '\0';
    return fd;
}

/* A connected rtnetlink socket, or NULL with a reason. */
static struct nl_sock *route_socket(char *err, size_t err_size)
{
    struct nl_sock *sk = nl_socket_alloc();
    int rc;

    if (sk == NULL) {
        errorf(err, err_size, "out of memory for a netlink socket");
        return NULL;
    }
    if ((rc = nl_connect(sk, NETLINK_ROUTE)) < 0) {
        errorf(err, err_size, "netlink: %s", nl_geterror(rc));
        nl_socket_free(sk);
        return NULL;
    }
    return sk;
}

static struct rtnl_addr *address_object(int ifindex, const struct tun_address *a)
{
    size_t size = a->family == AF_INET ? 4 : 16;
    struct rtnl_addr *addr = rtnl_addr_alloc();
    struct nl_addr *local = nl_addr_build(a->family, a->local, size);
    struct nl_addr *peer = nl_addr_build(a->family, a->peer, size);

    if (addr != NULL && local != NULL && peer != NULL) {
        rtnl_addr_set_ifindex(addr, ifindex);
        rtnl_addr_set_family(addr, a->family);
        rtnl_addr_set_local(addr, local);
        /* libnl takes a peer for IPv4 only; an IPv6 peer gets its route apart. */
        if (a->family == AF_INET)
            rtnl_addr_set_peer(addr, peer);
        rtnl_addr_set_prefixlen(addr, (int)a->prefix);
        /* No duplicate address detection on a point-to-point link: the address is
         * usable at once instead of "tentative" for a second. */
        if (a->family == AF_INET6)
            rtnl_addr_set_flags(addr, IFA_F_NODAD);
    } else if (addr != NULL) {
        rtnl_addr_put(addr);
        addr = NULL;
    }
    nl_addr_put(local);
    nl_addr_put(peer);
    return addr;
}

/* Adds (add) or removes the addresses. */
static int change_addresses(struct nl_sock *sk, int ifindex, const char *name,
                            const struct tun_address *addresses, size_t count, int add,
                            char *err, size_t err_size)
{
    char text[INET6_ADDRSTRLEN];
    size_t i;
    int rc;

    for (i = 0; i < count; i++) {
        struct rtnl_addr *addr = address_object(ifindex, &addresses[i]);
        if (addr == NULL)
            return errorf(err, err_size, "out of memory for an address");
        rc = add ? rtnl_addr_add(sk, addr, 0) : rtnl_addr_delete(sk, addr, 0);
        rtnl_addr_put(addr);
        if (rc < 0) {
            ip_address_text(addresses[i].family, addresses[i].local, text, sizeof(text));
            return errorf(err, err_size, "%s address %s on %s: %s", add ? "adding" : "removing",
                          text, name, nl_geterror(rc));
        }
    }
    return 0;
}

/* Routes route through interface ifindex over sk. Returns 0, or -1 with a reason. */
static int add_route(struct nl_sock *sk, int ifindex, const char *name,
                     const struct ip_prefix *route, char *err, size_t err_size)
{
    struct rtnl_route *r = NULL;
    struct rtnl_nexthop *hop = NULL;
    struct nl_addr *dst = NULL;
    char text[INET6_ADDRSTRLEN];
    int rc, ret = -1;

    ip_address_text(route->family, route->addr, text, sizeof(text));
    if ((r = rtnl_route_alloc()) == NULL || (hop = rtnl_route_nh_alloc()) == NULL ||
        (dst = nl_addr_build(route->family, route->addr,
                             route->family == AF_INET ? 4 : 16)) == NULL) {
        errorf(err, err_size, "out of memory for a route");
        goto cleanup;
    }
    nl_addr_set_prefixlen(dst, (int)route->len);
    rtnl_route_set_family(r, (uint8_t)route->family);
    rtnl_route_set_dst(r, dst);
    rtnl_route_set_table(r, RT_TABLE_MAIN);
    rtnl_route_set_scope(r, RT_SCOPE_LINK);
    rtnl_route_set_protocol(r, RTPROT_STATIC);
    rtnl_route_nh_set_ifindex(hop, ifindex);
    rtnl_route_add_nexthop(r, hop);
    hop = NULL; /* the route owns it now */
    if ((rc = rtnl_route_add(sk, r, NLM_F_EXCL)) < 0) {
        errorf(err, err_size, "route %s/%u via %s: %s", text, route->len, name, nl_geterror(rc));
        goto cleanup;
    }
    ret = 0;
cleanup:
    if (hop != NULL)
        rtnl_route_nh_free(hop);
    if (r != NULL)
        rtnl_route_put(r);
    nl_addr_put(dst);
    return ret;
}

int tun_configure(const char *name, const struct tun_address *addresses, size_t count,
                  unsigned mtu, char *err, size_t err_size)
{
    struct nl_sock *sk = route_socket(err, err_size);
    struct rtnl_link *link = NULL, *change = NULL;
    int ifindex = (int)if_nametoindex(name), rc, ret = -1;
    size_t i;

    if (sk == NULL)
        return -1;
    if (ifindex == 0) {
        errorf(err, err_size, "interface %s: %s", name, strerror(errno));
        goto cleanup;
    }
    /* The MTU and the state first: IPv6 takes addresses only on a link of 1280 or more. */
    if ((rc = rtnl_link_get_kernel(sk, ifindex, NULL, &link)) < 0 ||
        (change = rtnl_link_alloc()) == NULL) {
        errorf(err, err_size, "interface %s: %s", name, rc < 0 ? nl_geterror(rc) : "no memory");
        goto cleanup;
    }
    /* No link-local address (set before the link is up, which is when one is made):
     * nothing on this link speaks neighbour discovery, and its router solicitations
     * would only cross the tunnel to be dropped. */
    rtnl_link_set_mtu(change, mtu);
    rtnl_link_inet6_set_addr_gen_mode(change, rtnl_link_inet6_str2addrgenmode("none"));
    if ((rc = rtnl_link_change(sk, link, change, 0)) < 0) {
        errorf(err, err_size, "setting mtu %u on %s: %s", mtu, name, nl_geterror(rc));
        goto cleanup;
    }
    rtnl_link_put(change);
    if ((change = rtnl_link_alloc()) == NULL) {
        errorf(err, err_size, "interface %s: no memory", name);
        goto cleanup;
    }
    rtnl_link_set_flags(change, IFF_UP);
    if ((rc = rtnl_link_change(sk, link, change, 0)) < 0) {
        errorf(err, err_size, "bringing %s up: %s", name, nl_geterror(rc));
        goto cleanup;
    }
    if (change_addresses(sk, ifindex, name, addresses, count, 1, err, err_size) < 0)
        goto cleanup;
    for (i = 0; i < count; i++) {
        struct ip_prefix peer = {.family = AF_INET6, .len = 128};
        if (addresses[i].family != AF_INET6 || addresses[i].prefix != 128)
            continue; /* a wider prefix routes the peer's side already */
        memcpy(peer.addr, addresses[i].peer, 16);
        if (add_route(sk, ifindex, name, &peer, err, err_size) < 0)
            goto cleanup;
    }
    ret = 0;
cleanup:
    if (change != NULL)
        rtnl_link_put(change);
    if (link != NULL)
        rtnl_link_put(link);
    nl_socket_free(sk);
    return ret;
}

int tun_remove_addresses(const char *name, const struct tun_address *addresses, size_t count,
                         char *err, size_t err_size)
{
    struct nl_sock *sk = route_socket(err, err_size);
    int ifindex = (int)if_nametoindex(name), ret;

    if (sk == NULL)
        return -1;
    ret = change_addresses(sk, ifindex, name, addresses, count, 0, err, err_size);
    nl_socket_free(sk);
    return ret;
}

int tun_add_route(const char *name, const struct ip_prefix *route, char *err,
                  size_t err_size)
{
    struct nl_sock *sk = route_socket(err, err_size);
    int ret;

    if (sk == NULL)
        return -1;
    ret = add_route(sk, (int)if_nametoindex(name), name, route, err, err_size);
    nl_socket_free(sk);
    return ret;
}

#else /* no TUN device here */

static int no_tun(char *err, size_t err_size)
{
    return errorf(err, err_size, "TUN devices are Linux-only here (%s)", platform_name());
}

int tun_open(const char *pattern, int offload, char name[IFNAMSIZ], unsigned *offloads,
             char *err, size_t err_size)
{
    (void)pattern, (void)offload;
    *offloads = 0;
    name[0] = '\0';
    return no_tun(err, err_size);
}

int tun_configure(const char *name, const struct tun_address *addresses, size_t count,
                  unsigned mtu, char *err, size_t err_size)
{
    (void)name, (void)addresses, (void)count, (void)mtu;
    return no_tun(err, err_size);
}

int tun_remove_addresses(const char *name, const struct tun_address *addresses, size_t count,
                         char *err, size_t err_size)
{
    (void)name, (void)addresses, (void)count;
    return no_tun(err, err_size);
}

int tun_add_route(const char *name, const struct ip_prefix *route, char *err,
                  size_t err_size)
{
    (void)name, (void)route;
    return no_tun(err, err_size);
}

#endif
