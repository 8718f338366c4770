#!/bin/sh
# gen-certs.sh [DIR] - generates the test and demo PKI with certtool (gnutls-bin):
#   ca.pem                 the CA that signs everything below (ECDSA P-256)
#   server.pem             server certificate for localhost, 127.0.0.1 and ::1
#   client.pem             client certificate (mutual authentication)
#   revoked.pem            client certificate listed in crl.pem
#   crl.pem                the CA's revocation list
#   other-ca.pem           an unrelated CA, for "wrong CA" tests
# Each NAME.pem has its key in NAME-key.pem. Nothing here is secret or committed.
set -eu
dir=${1:-certs}
mkdir -p "$dir"
cd "$dir"
command -v certtool >/dev/null || { echo "gen-certs.sh: certtool not found (install gnutls-bin)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

key() { certtool --generate-privkey --key-type ecdsa --curve secp256r1 --outfile "$1" 2>/dev/null; }

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

leaf() {  # leaf NAME template-lines...
    name=$1; shift
    key "$name-key.pem"
    template "$name" "$@" "signing_key" "encryption_key"
    certtool --generate-certificate --load-privkey "$name-key.pem" --load-ca-certificate ca.pem \
        --load-ca-privkey ca-key.pem --template "$tmp/$name.tmpl" --outfile "$name.pem" 2>/dev/null
}

ca ca
ca other-ca
leaf server "tls_www_server" "dns_name = \"localhost\"" "ip_address = \"127.0.0.1\"" "ip_address = \"::1\""
leaf client "tls_www_client" "serial = 2001"
leaf revoked "tls_www_client" "serial = 2002"

# The CRL lists revoked.pem.
template crl "crl_next_update = 3650" "crl_number = 1"
certtool --generate-crl --load-ca-privkey ca-key.pem --load-ca-certificate ca.pem \
    --load-certificate revoked.pem --template "$tmp/crl.tmpl" --outfile crl.pem 2>/dev/null
chmod 600 ./*-key.pem
echo "gen-certs.sh: certificates written to $(pwd)"
