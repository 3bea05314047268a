#!/bin/sh
# make-cert.sh DIR HOSTNAME: a private demo CA and a server certificate
# signed by it, for `make run` and the tests. Writes DIR/ca.pem (give it
# to clients to verify against), DIR/cert.pem (server certificate, then
# the CA: the chain as postern sends it) and DIR/key.pem (mode 0600).
# Existing files are kept. Not for production: use a real CA there.
set -eu
dir=$1
host=$2
[ -f "$dir/cert.pem" ] && [ -f "$dir/key.pem" ] && [ -f "$dir/ca.pem" ] && exit 0
mkdir -p "$dir"
umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
	-subj "/CN=postern demo CA" -keyout "$tmp/ca.key" -out "$tmp/ca.pem" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$host" \
	-keyout "$tmp/key.pem" -out "$tmp/req.pem" 2>/dev/null
printf 'subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
	"$host" > "$tmp/ext"
openssl x509 -req -in "$tmp/req.pem" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
	-days 825 -extfile "$tmp/ext" -out "$tmp/leaf.pem" 2>/dev/null
cat "$tmp/leaf.pem" "$tmp/ca.pem" > "$dir/cert.pem"
cp "$tmp/key.pem" "$dir/key.pem"
cp "$tmp/ca.pem" "$dir/ca.pem"
chmod 644 "$dir/cert.pem" "$dir/ca.pem"
chmod 600 "$dir/key.pem"
