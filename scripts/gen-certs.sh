#!/usr/bin/env bash
# Makes a throw-away PKI for tests and the quickstart with openssl:
#   ca.crt   ca.key       self-signed CA
#   server.crt server.key  client-facing TLS  (--cert-file/--key-file)
#   peer.crt   peer.key    member-to-member   (--peer-cert-file/--peer-key-file)
#   client.crt client.key  a client identity  (etcdctl --cert/--key, CN=client)
# All leaf certs carry SAN IP:127.0.0.1 and DNS:localhost (plus $CERT_SANS, e.g.
# CERT_SANS="DNS:node1,IP:10.0.0.5"); server and peer certs are usable for both
# serverAuth and clientAuth (a member dials its peers with its peer cert).
#
# Usage: scripts/gen-certs.sh [DIR]          (DIR defaults to ./certs)
#        FORCE=1 scripts/gen-certs.sh DIR     (regenerate everything)
# Idempotent: a file set that exists, verifies against the CA and is valid for at
# least one more day is kept; anything missing or invalid is (re)made. A new CA
# re-issues every leaf.
# Env: CERT_DAYS (leaf validity, default 825), CA_DAYS (default 3650), CERT_SANS.
set -euo pipefail

DIR=${1:-./certs}
CERT_DAYS=${CERT_DAYS:-825}
CA_DAYS=${CA_DAYS:-3650}
SANS="IP:127.0.0.1,DNS:localhost${CERT_SANS:+,$CERT_SANS}"

command -v openssl >/dev/null 2>&1 || { echo "gen-certs: openssl not found (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
umask 077
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# still valid for >= 1 day?
fresh() { openssl x509 -in "$1" -noout -checkend 86400 >/dev/null 2>&1; }

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

made_ca=0
if [ "${FORCE:-0}" = 1 ] || [ ! -s "$DIR/ca.crt" ] || [ ! -s "$DIR/ca.key" ] || ! fresh "$DIR/ca.crt"; then
  newkey "$TMP/ca.key"
  openssl req -x509 -new -key "$TMP/ca.key" -sha256 -days "$CA_DAYS" \
    -subj "/O=Quorum test/CN=Quorum test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$TMP/ca.crt"
  mv "$TMP/ca.key" "$DIR/ca.key"
  mv "$TMP/ca.crt" "$DIR/ca.crt"
  made_ca=1
  echo "gen-certs: made CA $DIR/ca.crt"
fi

# leaf NAME CN EXTENDED_KEY_USAGE
leaf() {
  local name=$1 cn=$2 eku=$3
  local crt="$DIR/$name.crt" key="$DIR/$name.key"
  if [ "$made_ca" = 0 ] && [ -s "$crt" ] && [ -s "$key" ] && fresh "$crt" \
     && openssl verify -CAfile "$DIR/ca.crt" "$crt" >/dev/null 2>&1 \
     && [ "$(openssl x509 -in "$crt" -noout -pubkey | openssl sha256)" = \
          "$(openssl pkey -in "$key" -pubout | openssl sha256)" ]; then
    echo "gen-certs: kept $crt"
    return
  fi
  newkey "$TMP/$name.key"
  openssl req -new -key "$TMP/$name.key" -subj "/O=Quorum test/CN=$cn" -out "$TMP/$name.csr"
  cat > "$TMP/$name.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$eku
subjectAltName=$SANS
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
EOF
  openssl x509 -req -in "$TMP/$name.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" \
    -CAcreateserial -CAserial "$TMP/ca.srl" -sha256 -days "$CERT_DAYS" \
    -extfile "$TMP/$name.ext" -out "$TMP/$name.crt" 2>/dev/null
  mv "$TMP/$name.key" "$key"
  mv "$TMP/$name.crt" "$crt"
  echo "gen-certs: made $crt"
}

leaf server localhost serverAuth,clientAuth
leaf peer   localhost serverAuth,clientAuth
leaf client client    clientAuth

# certificates are public; keys stay 0600
chmod 644 "$DIR"/*.crt
chmod 600 "$DIR"/*.key
for n in server peer client; do
  openssl verify -CAfile "$DIR/ca.crt" "$DIR/$n.crt" >/dev/null
done
echo "gen-certs: CA, server, peer and client certificates in $DIR"
