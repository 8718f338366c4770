/* SPDX-License-Identifier: MIT */
/* tun.h - the kernel side of the tunnel: a TUN device from /dev/net/tun (an ioctl), and
 * its addresses, MTU, state and routes through rtnetlink (libnl-route), never by running
 * `ip`. The device is not persistent: it goes, with its addresses and routes, when its
 * descriptor is closed, by us or by the kernel after a crash or kill -9. */
#ifndef DTLS_ECHO_TUN_H
#define DTLS_ECHO_TUN_H

#include <stddef.h>

#include "lease.h"
#include "platform.h"

#if PLATFORM_WINDOWS
#define IFNAMSIZ 16 /* no TUN device there (--tun is refused): the names only compile */
#else
#include <net/if.h>
#endif

/* One address of an interface: our local one, the peer at the other end, and the
 * prefix length that routes to the peer's side (32 or 128: the peer alone). */
struct tun_address {
    int family;
    unsigned char local[16], peer[16];
    unsigned prefix;
};

/* What a TUN device offers (tun_open's *offloads). */
#define TUN_OFFLOAD_VNET 1 /* a virtio_net_hdr before each packet (tun_offload.h) */
#define TUN_OFFLOAD_TSO 2  /* TCP super-segments, checksums to complete (TUN_F_TSO4/6) */
#define TUN_OFFLOAD_USO 4  /* UDP super-segments too (TUN_F_USO4/6, Linux 6.2) */

/* Opens a TUN device (IP packets, no packet information header, non-blocking) named
 * after pattern ("dtls%d": the kernel picks the number); with offload, with the
 * virtio_net_hdr and the segmentation offloads the kernel grants, probed from the most
 * to none (*offloads says which). Returns its descriptor with the name in name, or -1
 * with a reason. */
int tun_open(const char *pattern, int offload, char name[IFNAMSIZ], unsigned *offloads,
             char *err, size_t err_size);

/* Gives interface name its addresses (count of them), sets its MTU and brings it up.
 * Returns 0, or -1 with a reason. */
int tun_configure(const char *name, const struct tun_address *addresses, size_t count,
                  unsigned mtu, char *err, size_t err_size);

/* Removes addresses that tun_configure gave (a reconnection that got others). */
int tun_remove_addresses(const char *name, const struct tun_address *addresses, size_t count,
                         char *err, size_t err_size);

/* Routes route through interface name. Returns 0, or -1 with a reason. */
int tun_add_route(const char *name, const struct ip_prefix *route, char *err,
                  size_t err_size);

#endif
