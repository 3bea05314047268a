#!/bin/sh
# fetch-smtp-sink.sh [CACHE_DIR]: Postfix's smtp-sink (a fast SMTP
# server that accepts and discards mail), for the relay benchmark and
# tests, WITHOUT installing or starting Postfix: `apt-get download
# postfix` into CACHE_DIR (default build/peers in the source tree),
# `dpkg -x` it there, and write CACHE_DIR/smtp-sink, a wrapper that runs
# the unpacked usr/sbin/smtp-sink with LD_LIBRARY_PATH set to the
# unpacked usr/lib/postfix (its own shared libraries). Prints the
# wrapper's path on stdout and nothing else. Idempotent: when the
# wrapper is there and runs, it only prints the path. If the download
# fails it runs `apt-get update` once (as root) and tries again.
# smtp-sink's other libraries (libdb5.3, libnsl2, libicu72) come from
# tests/install-deps.sh.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${1:-$root/build/peers}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
pf=$cache/postfix
wrapper=$cache/smtp-sink
bin=$pf/root/usr/sbin/smtp-sink
libdir=$pf/root/usr/lib/postfix

die() { echo "fetch-smtp-sink: $*" >&2; exit 1; }

# smtp-sink without arguments prints its usage (to stderr) and exits 1
runs() {
	"$wrapper" 2>&1 | grep -q 'usage:.*smtp-sink'
}

if [ -x "$wrapper" ] && [ -x "$bin" ] && runs; then
	echo "$wrapper"
	exit 0
fi

if [ ! -x "$bin" ]; then
	mkdir -p "$pf"
	rm -f "$pf"/postfix_*.deb
	if ! (cd "$pf" && apt-get download postfix) >"$pf/download.log" 2>&1; then
		[ "$(id -u)" = 0 ] || die "apt-get download postfix failed (see $pf/download.log); as root this script runs apt-get update once and retries"
		echo "fetch-smtp-sink: apt-get download failed; running apt-get update once" >&2
		apt-get update >>"$pf/download.log" 2>&1 || true
		(cd "$pf" && apt-get download postfix) >>"$pf/download.log" 2>&1 ||
			die "apt-get download postfix failed (see $pf/download.log)"
	fi
	deb=""
	for f in "$pf"/postfix_*.deb; do
		[ -f "$f" ] && { deb=$f; break; }
	done
	[ -n "$deb" ] || die "no postfix .deb in $pf"
	rm -rf "$pf/root"
	dpkg -x "$deb" "$pf/root" || die "dpkg -x $deb failed"
	[ -x "$bin" ] || die "$deb has no usr/sbin/smtp-sink"
fi

cat >"$wrapper.tmp" <<EOF
#!/bin/sh
# written by tests/fetch-smtp-sink.sh: Postfix's smtp-sink from the
# unpacked .deb, with the unpacked Postfix libraries
LD_LIBRARY_PATH=$libdir\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
exec $bin "\$@"
EOF
chmod 755 "$wrapper.tmp"
mv "$wrapper.tmp" "$wrapper"

if LD_LIBRARY_PATH=$libdir ldd "$bin" 2>/dev/null | grep -q 'not found'; then
	LD_LIBRARY_PATH=$libdir ldd "$bin" | grep 'not found' >&2
	die "smtp-sink has unresolved libraries (tests/install-deps.sh installs them)"
fi
runs || die "$wrapper does not run (try: $wrapper)"
echo "$wrapper"
