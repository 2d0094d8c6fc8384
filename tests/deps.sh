#!/bin/sh
# Installs the Debian packages payguard builds and tests with, when missing.
# As root: apt-get, non-interactive.  Otherwise: print the exact line, fail.
PKGS="build-essential pkg-config clang libclang-rt-14-dev libfcgi-dev libfcgi-bin
spawn-fcgi nginx fcgiwrap logrotate systemd libssl-dev libjson-c-dev liblmdb-dev lmdb-utils libcurl4-openssl-dev
libinih-dev libcmocka-dev apache2 apache2-utils libapache2-mod-fcgid lighttpd wrk
valgrind curl python3 python3-stripe python3-cryptography python3-flask gunicorn python3-redis redis-server
redis-sentinel libhiredis-dev stunnel4 openssl chromium jq iproute2 procps nodejs php-cgi prometheus"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
# npm: part of NodeSource's nodejs, a package of its own in Debian's.
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0
line="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" != 0 ]; then
	echo "payguard: missing packages; run as root:" >&2
	echo "  apt-get update && $line" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confold $missing >/tmp/payguard-apt.log 2>&1 || {
	echo "deps: apt-get failed, see /tmp/payguard-apt.log" >&2
	tail -20 /tmp/payguard-apt.log >&2
	exit 1
}
