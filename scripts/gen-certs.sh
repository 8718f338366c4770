#!/bin/sh
# SPDX-License-Identifier: MIT
# gen-certs.sh [DIR] - generates the test and demo PKI with certtool (gnutls-bin):
#   ca.pem                 the CA that signs everything below (ECDSA P-256)
#   server.pem             server certificate for localhost, 127.0.0.1 and ::1
#   client.pem             client certificate (mutual authentication)
#   revoked.pem            client certificate listed in crl.pem
#   crl.pem                the CA's revocation list
#   other-ca.pem           an unrelated CA, for "wrong CA" tests
#   server-rsa.pem         RSA-2048 server certificate (same names), signed by ca.pem
#   big-chain.pem          RSA-4096 server certificate + its RSA-4096 intermediate CA
#                          (signed by ca.pem): a chain larger than one 576-byte datagram
#   other-server.pem       a server certificate with another key, for pinning tests
#   rawpk-key.pem, rawpk-pub.pem, other-rawpk-pub.pem   raw public keys (RFC 7250)
#   expired.pem            a server certificate that expired in 2020
#   psk.txt                PSK identities in psktool's format (identity:hexkey)
# Each NAME.pem has its key in NAME-key.pem. Nothing here is committed.
set -eu
dir=${1:-certs}
mkdir -p "$dir"
cd "$dir"
command -v certtool >/dev/null || { echo "gen-certs.sh: certtool not found (install gnutls-bin)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

key() { certtool --generate-privkey --key-type ecdsa --curve secp256r1 --outfile "$1" 2>/dev/null; }
rsa_key() { certtool --generate-privkey --key-type rsa --bits "$2" --outfile "$1" 2>/dev/null; }

# template NAME [extra lines...]
template() {
    name=$1; shift
    { echo "cn = \"$name\""; echo "expiration_days = 3650"; for line in "$@"; do echo "$line"; done; } >"$tmp/$name.tmpl"
}

ca() {  # ca NAME
    key "$1-key.pem"
    template "$1" "ca" "cert_signing_key" "crl_signing_key"
    certtool --generate-self-signed --load-privkey "$1-key.pem" --template "$tmp/$1.tmpl" \
        --outfile "$1.pem" 2>/dev/null
}

# sign NAME ISSUER template-lines...: NAME-key.pem must exist
sign() {
    name=$1; issuer=$2; shift 2
    template "$name" "$@"
    certtool --generate-certificate --load-privkey "$name-key.pem" --load-ca-certificate "$issuer.pem" \
        --load-ca-privkey "$issuer-key.pem" --template "$tmp/$name.tmpl" --outfile "$name.pem" 2>/dev/null
}

leaf() {  # leaf NAME template-lines...
    name=$1; shift
    key "$name-key.pem"
    sign "$name" ca "$@" "signing_key" "encryption_key"
}

server_names='dns_name = "localhost"
ip_address = "127.0.0.1"
ip_address = "::1"'
hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

ca ca
ca other-ca
leaf server "tls_www_server" "$server_names"
leaf other-server "tls_www_server" "$server_names"
key expired-key.pem
template expired "tls_www_server" "$server_names" "signing_key" "encryption_key" \
    'activation_date = "2019-01-01 00:00:00 UTC"' 'expiration_date = "2020-01-01 00:00:00 UTC"'
sed -i '/^expiration_days/d' "$tmp/expired.tmpl"
certtool --generate-certificate --load-privkey expired-key.pem --load-ca-certificate ca.pem \
    --load-ca-privkey ca-key.pem --template "$tmp/expired.tmpl" --outfile expired.pem 2>/dev/null
rsa_key server-rsa-key.pem 2048
sign server-rsa ca "tls_www_server" "$server_names" "signing_key" "encryption_key"
rsa_key int-ca-key.pem 4096
sign int-ca ca "ca" "cert_signing_key"
rsa_key big-server-key.pem 4096
sign big-server int-ca "tls_www_server" "$server_names" "signing_key" "encryption_key"
cat big-server.pem int-ca.pem > big-chain.pem
cp big-server-key.pem big-chain-key.pem
leaf client "tls_www_client" "serial = 2001"
leaf revoked "tls_www_client" "serial = 2002"

# The CRL lists revoked.pem.
template crl "crl_next_update = 3650" "crl_number = 1"
certtool --generate-crl --load-ca-privkey ca-key.pem --load-ca-certificate ca.pem \
    --load-certificate revoked.pem --template "$tmp/crl.tmpl" --outfile crl.pem 2>/dev/null
# Raw public keys (RFC 7250): the server's pair, and an unrelated public key.
key rawpk-key.pem
certtool --load-privkey rawpk-key.pem --pubkey-info --outfile rawpk-pub.pem 2>/dev/null
key other-rawpk-key.pem
certtool --load-privkey other-rawpk-key.pem --pubkey-info --outfile other-rawpk-pub.pem 2>/dev/null

# PSK identities, psktool's format.
{ echo "client:$(hex 32)"; echo "other:$(hex 16)"; } > psk.txt

chmod 600 ./*-key.pem psk.txt
echo "gen-certs.sh: certificates written to $(pwd)"
