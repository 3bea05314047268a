#!/bin/sh
# install-deps.sh: installs the Debian packages that building and
# testing postern need, when any is missing (run by `make check`).
# As root it runs one apt-get update and one apt-get install; as another
# user it only says what is missing. unbound is for the tests and the
# demo, which run their own instances; on a machine with systemd its
# package also enables the system service. python3-aiosmtpd runs the
# relay tests' MX peers; libdb5.3, libnsl2 and libicu72 are what
# Postfix's smtp-sink (tests/fetch-smtp-sink.sh, unpacked from the .deb,
# never installed) links against besides Postfix's own libraries.
# pflogsumm is the log summariser a test feeds postern's log to;
# python3-lmdb lets a test damage the queue index on purpose.
set -eu
pkgs="gcc clang make pkg-config libevent-dev liblmdb-dev libbsd-dev libssl-dev
libcrypt-dev libcmocka-dev libclang-rt-14-dev python3 python3-pytest swaks curl
procps passwd fetchmail iproute2 openssl msmtp libnet-ssleay-perl
libio-socket-ssl-perl libunbound-dev unbound dns-root-data python3-aiosmtpd
libdb5.3 libnsl2 libicu72 ldnsutils runit s6 supervisor systemd
python3-seccomp strace pflogsumm python3-lmdb"
missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing Debian packages:$missing" >&2
	echo "install them as root: apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# --no-install-recommends: nothing else (an init system, a second MTA) comes along
apt-get install -y -q --no-install-recommends $missing
