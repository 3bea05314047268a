#!/bin/sh
# demo-run.sh BUILD_DIR STATE_DIR: the demo mail host behind `make run`.
# Creates the demo config and users on first start (state under
# STATE_DIR, kept across restarts), then runs queued, smtpd, pop3d and
# the resolver in the foreground on loopback until Ctrl-C, which stops
# them all cleanly. The resolver's only upstream is a DNS server of the
# demo's own: Debian's unbound on 127.0.0.1:2053, serving example.test
# and refusing every other name (it never asks the outside world).
set -eu
build=$1
state=$2
mkdir -p "$state/etc" "$state/spool" "$state/mail"
conf=$state/etc/postern.conf
# a private demo CA and a certificate for mail.example.test, localhost
# and 127.0.0.1 (clients verify against $state/etc/tls/ca.pem)
sh "$(dirname "$0")/make-cert.sh" "$state/etc/tls" mail.example.test
if [ ! -f "$conf" ]; then
	cat > "$conf" <<CONF
# demo configuration written by make run; see postern.conf(5)
hostname        mail.example.test
domain          example.test
listen          smtp 127.0.0.1:2525
listen          pop3 127.0.0.1:2110
listen          submission 127.0.0.1:2587
listen          submissions 127.0.0.1:2465
listen          pop3s 127.0.0.1:2995
tls_certificate $state/etc/tls/cert.pem
tls_key         $state/etc/tls/key.pem
spool           $state/spool
mail_root       $state/mail
relay_networks  127.0.0.0/8
log             stderr
retry_min       30s
retry_max       10m
forward         127.0.0.1@2053
dns_insecure_domain example.test
CONF
fi
# a demo made by an older version gets what it lacks
grep -q '^listen *pop3 ' "$conf" || echo "listen          pop3 127.0.0.1:2110" >> "$conf"
if ! grep -q '^tls_certificate' "$conf"; then
	cat >> "$conf" <<CONF
listen          submission 127.0.0.1:2587
listen          submissions 127.0.0.1:2465
listen          pop3s 127.0.0.1:2995
tls_certificate $state/etc/tls/cert.pem
tls_key         $state/etc/tls/key.pem
CONF
fi
if ! grep -q '^forward' "$conf"; then
	cat >> "$conf" <<CONF
forward         127.0.0.1@2053
dns_insecure_domain example.test
CONF
fi
# the demo's DNS server: example.test on loopback, nothing else
mkdir -p "$state/dns"
cat > "$state/dns/unbound.conf" <<CONF
# written by etc/demo-run.sh at every start
server:
  interface: 127.0.0.1
  port: 2053
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "$state/dns"
  pidfile: "$state/dns/unbound.pid"
  use-syslog: no
  logfile: ""
  do-ip6: no
  module-config: iterator
  access-control: 127.0.0.0/8 allow
  local-zone: "." refuse
  local-zone: "example.test." static
  local-data: "example.test. 300 IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 300"
  local-data: "example.test. 300 IN MX 10 mail.example.test."
  local-data: 'example.test. 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"'
  local-data: "mail.example.test. 300 IN A 127.0.0.1"
remote-control:
  control-enable: no
CONF
if [ "$(id -u)" = 0 ]; then
	"$build/posternctl" -f "$conf" setup >/dev/null
	echo "running as root: each daemon chrooted under its own postern-* user"
else
	echo "running as $(id -un), not root: no chroot and no uid change (development mode)"
fi
users=$("$build/posternctl" -f "$conf" user list)
echo "$users" | grep -qx alice || echo wonderland | "$build/posternctl" -f "$conf" user add alice >/dev/null
echo "$users" | grep -qx bob || echo builder | "$build/posternctl" -f "$conf" user add bob >/dev/null
[ -f "$state/etc/aliases" ] || printf 'postmaster: alice\nabuse: alice\n' > "$state/etc/aliases"

/usr/sbin/unbound -d -c "$state/dns/unbound.conf" &
upid=$!
"$build/resolver" -f "$conf" &
rpid=$!
"$build/queued" -f "$conf" &
qpid=$!
"$build/smtpd" -f "$conf" &
spid=$!
"$build/pop3d" -f "$conf" &
ppid=$!
stop() {
	trap - INT TERM
	kill -TERM "$ppid" "$spid" "$qpid" "$rpid" "$upid" 2>/dev/null || true
	wait "$ppid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	wait "$qpid" 2>/dev/null || true
	wait "$rpid" 2>/dev/null || true
	wait "$upid" 2>/dev/null || true
	echo "postern demo stopped; mail is kept under $state/mail"
	exit 0
}
trap stop INT TERM
cat <<MSG

postern demo is up on 127.0.0.1: SMTP 2525 (STARTTLS), submission 2587
(STARTTLS + AUTH) and 2465 (TLS + AUTH), POP3 2110 (STLS) and 2995 (TLS).
Domain example.test, users alice (password wonderland) and bob (password
builder). The certificate is signed by a demo CA: $state/etc/tls/ca.pem
Send a message, submit one as bob, then fetch it:
  swaks --server 127.0.0.1:2525 --to alice@example.test --from you@example.test
  swaks --server 127.0.0.1:2587 --tls --tls-ca-path $state/etc/tls/ca.pem --tls-verify \\
        --auth PLAIN --auth-user bob --auth-password builder \\
        --from bob@example.test --to alice@example.test
  curl --cacert $state/etc/tls/ca.pem pop3s://alice:wonderland@127.0.0.1:2995/1
Mail lands in $state/mail/alice/. Ask the resolver (its upstream is the
demo's DNS server on 127.0.0.1:2053, which serves example.test only):
  $build/posternctl -f $conf resolve mx example.test
Ctrl-C stops every daemon.

MSG
# if any daemon exits, stop the others
while kill -0 "$spid" 2>/dev/null && kill -0 "$qpid" 2>/dev/null &&
    kill -0 "$ppid" 2>/dev/null && kill -0 "$rpid" 2>/dev/null &&
    kill -0 "$upid" 2>/dev/null; do
	sleep 1 &
	wait $! || true
done
stop
