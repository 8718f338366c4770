/* SPDX-License-Identifier: MIT */
/* client_report.c - --json for one client: the session's facts, noted while it is up,
 * and the one object printed at the end, whatever the outcome. */
#include "client.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"

void client_report_session(struct connection *conn)
{
    struct client_report *r = &conn->report;
    gnutls_session_t tls = conn->session.tls;
    const struct credentials *creds = &conn->creds;
    const char *suite = gnutls_cipher_suite_get_name(gnutls_kx_get(tls), gnutls_cipher_get(tls),
                                                     gnutls_mac_get(tls));
    const char *group = gnutls_group_get_name(gnutls_group_get(tls));
    gnutls_credentials_type_t auth = gnutls_auth_get_type(tls);

    r->have_session = 1;
    snprintf(r->version, sizeof(r->version), "%s",
             gnutls_protocol_get_name(gnutls_protocol_get_version(tls)));
    snprintf(r->suite, sizeof(r->suite), "%s", suite != NULL ? suite : "");
    snprintf(r->group, sizeof(r->group), "%s", group != NULL ? group : "");
    snprintf(r->verification, sizeof(r->verification), "%s",
             creds->have_pin ? "public key matches the pin"
             : auth == GNUTLS_CRD_PSK ? "pre-shared key"
             : auth == GNUTLS_CRD_ANON ? "none: anonymous"
             : creds->verify_ca ? "certificate trusted, name matches"
             : "none: --insecure");
    r->resumed = gnutls_session_is_resumed(tls);
    session_alpn(&conn->session, r->alpn, sizeof(r->alpn));
    if (!session_srtp(&conn->session, &r->srtp_profile, r->srtp_material,
                      sizeof(r->srtp_material)))
        r->srtp_profile = NULL;
}

/* text as a JSON string, or null. */
static void json_string(FILE *out, const char *text)
{
    if (text == NULL || text[0] == '\0') {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (; *text != '\0'; text++) {
        unsigned char c = (unsigned char)*text;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static double ms(int64_t us)
{
    return (double)us / 1000.0;
}

int client_report_print(const struct connection *conn, int exit_code)
{
    const struct client_report *r = &conn->report;

    printf("{\"server\": ");
    json_string(stdout, conn->server_text);
    printf(", \"host\": ");
    json_string(stdout, conn->host);
    printf(", \"port\": %u, \"exit_code\": %d, \"handshake_attempts\": %u", conn->cfg->port,
           exit_code, r->attempts);
    if (r->have_session) {
        printf(", \"session\": {\"version\": ");
        json_string(stdout, r->version);
        printf(", \"cipher_suite\": ");
        json_string(stdout, r->suite);
        printf(", \"group\": ");
        json_string(stdout, r->group);
        printf(", \"verification\": ");
        json_string(stdout, r->verification);
        printf(", \"resumed\": %s, \"alpn\": ", r->resumed ? "true" : "false");
        json_string(stdout, r->alpn);
        printf(", \"srtp\": ");
        if (r->srtp_profile != NULL) {
            printf("{\"profile\": ");
            json_string(stdout, r->srtp_profile);
            printf(", \"keying_material\": ");
            json_string(stdout, r->srtp_material);
            printf("}");
        } else {
            printf("null");
        }
        printf(", \"handshake_ms\": %.3f}", ms(r->handshake_us));
    } else {
        printf(", \"session\": null");
    }
    printf(", \"echoes\": %lu, \"round_trip_ms\": ", r->echoes);
    if (r->echoes > 0)
        printf("{\"min\": %.3f, \"mean\": %.3f, \"max\": %.3f}", ms(r->rtt_min_us),
               ms(r->rtt_sum_us) / (double)r->echoes, ms(r->rtt_max_us));
    else
        printf("null");
    printf(", \"total_ms\": %.3f}\n", ms(clock_now_us() - r->start_us));
    return log_stdout_flush();
}
