/* SPDX-License-Identifier: MIT */
/* options.h - the command line: getopt_long into a struct config, validation, --help.
 *
 * Parsing prints nothing: errors come back as one line in the caller's buffer, and the
 * caller decides how to report them. Only options_print_help() writes. */
#ifndef DTLS_ECHO_OPTIONS_H
#define DTLS_ECHO_OPTIONS_H

#include "platform.h"

#include <stdio.h>

#include "credentials.h"

#define DTLS_ECHO_VERSION "0.1.0"

#define DEFAULT_PORT 5556
#define DEFAULT_COUNT 5
#define DEFAULT_MTU 1500
#define DEFAULT_TIMEOUT_MS 1000
#define DEFAULT_CONNECT_TIMEOUT_S 30
#define DEFAULT_RETRIES 12
#define DEFAULT_MAX_CLIENTS 1000
#define DEFAULT_IDLE_TIMEOUT_S 60
#define DEFAULT_HANDSHAKE_TIMEOUT_S 10
#define DEFAULT_COOKIE_ROTATE_S 60
#define DEFAULT_LOAD_SIZE 64
#define LOAD_MIN_SIZE 8        /* an echo carries its session and sequence numbers */
#define LOAD_MAX_SIZE 16384
#define DEFAULT_CAFILE "certs/ca.pem"
#define DEFAULT_SERVER_CERT "certs/server.pem"
#define DEFAULT_SERVER_KEY "certs/server-key.pem"
/* Where an installed server looks when certs/ is not in the current directory: the
 * platform's folder (platform_config_dir: /etc/dtls_echo, or %ProgramData%\dtls_echo on
 * Windows), named so in --help; options_system_file() gives the path itself. */
#define SYSTEM_CONFIG_DIR PLATFORM_CONFIG_DIR_TEXT
#define SYSTEM_CAFILE SYSTEM_CONFIG_DIR "ca.pem"
#define SYSTEM_SERVER_CERT SYSTEM_CONFIG_DIR "server.pem"
#define SYSTEM_SERVER_KEY SYSTEM_CONFIG_DIR "server-key.pem"
#define HOST_MAX 256            /* a positional HOST[:PORT]'s host, as text */
#define DEFAULT_TUN_NET "10.77.0.0/24"
#define DEFAULT_TUN_NET6 "fd77::/64"
#define DEFAULT_KEEPALIVE_S 10
#define DEFAULT_LEASE_TIME_S 600
#define TEXT_LIST_MAX 16

enum run_action { ACTION_RUN, ACTION_HELP, ACTION_VERSION, ACTION_GENKEY };

/* An option given several times (--route). */
struct text_list {
    const char *item[TEXT_LIST_MAX];
    unsigned count;
};

struct config {
    enum run_action action;
    int client_mode;            /* -c */
    const char *address;        /* -a or the client's HOST[:PORT]; NULL: client "localhost",
                                   server every address */
    unsigned port;              /* -p, or the client's HOST:PORT */
    char host_text[HOST_MAX];   /* the host of a positional HOST[:PORT] (address points here) */
    int ipv4, ipv6;             /* -4, -6 */
    int family;                 /* AF_INET, AF_INET6 (-4, -6), or AF_UNSPEC */
    const char *message;        /* -m; NULL: client reads lines from stdin */
    unsigned long count;        /* -n */
    const char *cafile;         /* NULL with --insecure on the client, or system_trust */
    int system_trust;           /* client: no --cafile and no certs/ca.pem here: the system's
                                   trust store */
    int cert_not_found;         /* server: no --cert, and no certificate in certs/ or
                                   SYSTEM_CONFIG_DIR */
    const char *crlfile;        /* NULL: no revocation list */
    const char *certfile;       /* NULL: client presents no certificate */
    const char *keyfile;
    const char *hostname;       /* client: name to verify and send as SNI; NULL: address */
    int insecure;               /* client: skip certificate verification */
    int require_client_cert;    /* server: mutual authentication */
    unsigned mtu;               /* path MTU in bytes, IP and UDP headers included */
    unsigned timeout_ms;        /* client: wait for one reply */
    unsigned retries;           /* client: resends of an unanswered message or handshake */
    unsigned connect_timeout_s; /* client: the whole handshake phase, every attempt */
    unsigned max_clients;       /* server */
    unsigned idle_timeout_s;    /* server: end a session with no record for this long */
    unsigned handshake_timeout_s; /* server: end a handshake that takes longer */
    unsigned cookie_rotate_s;   /* server: cookie key lifetime; the previous key lasts one more */
    const char *priority;       /* GnuTLS priority string; NULL: our default for the mode */
    int log_level;              /* enum log_level */

    /* Authentication modes besides X.509 (issue: interop). */
    const char *psk_identity;   /* client: identity to send; server: the one identity */
    const char *psk_key;        /* hex, with psk_identity */
    const char *pskfile;        /* psktool format, identity:hexkey per line */
    const char *rawpk_key;      /* server: private key of a raw public key (RFC 7250) */
    const char *rawpk_pub;      /* server: that public key, PEM */
    const char *pin_pubkey;     /* client: file with the server's public key, or sha256:HEX */
    int anon;                   /* anonymous key exchange: nothing authenticated */
    unsigned heartbeat_s;       /* client: heartbeat ping period (RFC 6520); 0: off */
    int resume;                 /* client: full handshake, close, resume */

    /* The load generator: the client with --clients (issue: fast). */
    unsigned clients;           /* concurrent sessions; 0: one ordinary client */
    int count_set;              /* -n was given (else --duration alone bounds the run) */
    unsigned size;              /* bytes per echo */
    unsigned window;            /* echoes in flight per session */
    unsigned rate;              /* new sessions per second; 0: all at once */
    unsigned duration_s;        /* stop by then at the latest; 0: when every session is done */
    unsigned interval_ms;       /* pause before a session's next echo */
    unsigned threads;           /* worker threads; 0: one per online CPU */
    int handshakes_only;        /* each session handshakes --count times, no echoes */
    int plain;                  /* plain UDP, no DTLS: the baseline */
    int json;                   /* summary as one JSON object */

    /* The VPN tunnel (issue: tunnel). */
    int tun;                    /* server: offer tunnels; client: ask for one */
    const char *tun_net;        /* server: the tunnel's IPv4 network */
    const char *tun_net6;       /* server: its IPv6 network; "none": IPv4 only */
    struct text_list routes;    /* client: networks to route through the tunnel */
    unsigned keepalive_s;       /* heartbeat after this much silence; 0: off */
    int no_offload;             /* --tun without TSO/GRO on the TUN device or UDP socket */
    unsigned lease_time_s;      /* server: a client's addresses stay its own this long */
    const char *user;           /* after set-up, run as this user */

    /* Replicas (issue: capacity). */
    const char *genkey;         /* --genkey: write a fresh key file and exit */
    const char *cookie_key_file; /* server: the cookie key replicas share */
    const char *ticket_key_file; /* server: the session ticket key replicas share */
    const char *session_out;    /* client: save the session here after the handshake */
    const char *session_in;     /* client: resume the session saved here */
    unsigned reconnect;         /* client: new sessions after a lost one, at most */
    /* The habits people bring (issue: install). */
    const char *keylogfile;     /* append the session secrets here (as SSLKEYLOGFILE) */
    const char *sni;            /* client: the server name to send, apart from hostname */
    int no_sni;                 /* client: send no server name */
    int print_cert;             /* client: print the server's chain, PEM and one line each */
    const char *alpn;           /* ALPN protocols, comma-separated (client: offered in
                                   order; server: accepted, by the client's preference) */
    const char *srtp_profiles;  /* DTLS-SRTP profiles, colon-separated (RFC 5764) */
    int trace;                  /* print the handshake, datagram by datagram */
    const char *workers_text;   /* server: --workers as given: N or auto */
    unsigned workers;           /* server: worker processes (auto: one per online CPU) */
    int check;                  /* server: load and check everything, then exit (nginx -t) */
    int session_log;            /* server: two lines per session instead of the transcript */
    unsigned max_handshakes;    /* server: handshaking at once, in all (set: never 0) */
    unsigned max_handshakes_per_source; /* server: ... from one address (set: never 0) */
    int one_socket;             /* server: every datagram read on the listening socket and
                                   handed to its session (always, where the kernel does
                                   not demultiplex to connected sockets: Windows) */
};

/* Where --help lists an option, and which side it belongs to. */
enum option_group { GROUP_COMMON, GROUP_CLIENT, GROUP_LOAD, GROUP_SERVER };

/* How an option's value is stored in struct config. */
enum field_type { FIELD_FLAG, FIELD_TEXT, FIELD_UINT, FIELD_ULONG, FIELD_LIST };

/* How many options the table holds. */
size_t options_count(void);

/* For the index-th option of the table, when it is a number: its long name, its value in
 * cfg, its range and its default; returns 1, or 0 for an option that is not a number. */
int options_number(size_t index, const struct config *cfg, const char **name,
                   unsigned long *value, unsigned long *min, unsigned long *max,
                   unsigned long *fallback);

/* Writes a libFuzzer dictionary of every option and the edges of every range. */
void options_write_dictionary(FILE *out);

/* Writes the OPTIONS section of the man page (roff, from the same table as --help: one
 * .SS per group, one .TP per option), then its EXIT STATUS section. */
void options_write_man(FILE *out);

/* The path of name ("ca.pem", "server.pem" or "server-key.pem") in the platform's
 * folder (platform_config_dir), in a buffer of its own that the next call for the same
 * name rewrites. */
const char *options_system_file(const char *name);

/* Fills cfg from argv. Returns 0, or -1 with a one-line reason in err (a usage error). */
int options_parse(int argc, char **argv, struct config *cfg, char *err, size_t err_size);

/* Fills tls with what the TLS layer needs of cfg (paths, keys, flags, priority). */
void options_tls_settings(const struct config *cfg, struct tls_settings *tls);

/* The server name a client sends (SNI): --sni, else the name it verifies (--hostname or
 * the host); NULL with --no-sni. */
const char *options_server_name(const struct config *cfg);

/* Writes the --help text to out. */
void options_print_help(FILE *out);

/* Process exit codes: the contract scripts rely on. */
enum exit_code {
    EXIT_OK = 0,
    EXIT_RUNTIME = 1,   /* socket, file, resource */
    EXIT_USAGE = 2,
    EXIT_HANDSHAKE = 3, /* handshake or certificate verification failed */
    EXIT_TIMEOUT = 4,   /* no answer from the peer */
    EXIT_MISMATCH = 5,  /* an echo differed from what was sent */
};

#endif
