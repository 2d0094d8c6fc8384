#!/bin/bash
# make install PREFIX=... DESTDIR=...: every program, the CLI, the data
# file, templates and deployment recipes (systemd units, logrotate, nginx)
# land where the README says, with sane modes and PREFIX's paths, and the
# installed webhook.fcgi finds the installed IP list; make uninstall then
# removes exactly what install wrote.
. "$SRC/tests/harness/lib.sh"
pg_setup
D=$BASE/destdir
P=/opt/payguard-test
# Its own build directory: a different PREFIX must not rebuild $O
# under the other suites.
make -s -j2 -C "$SRC" O="$BASE/build" install PREFIX=$P DESTDIR="$D" > "$LOGS/install.log" 2>&1
is "$?" 0 "make install PREFIX=$P DESTDIR=... succeeds"
for f in bin/payguard lib/payguard/cgi-bin/webhook.fcgi lib/payguard/cgi-bin/api.fcgi \
    lib/payguard/cgi-bin/audit.cgi; do
	check "$f installed, mode 0755" test "$(stat -c %a "$D$P/$f" 2>/dev/null)" = 755
done
for f in share/payguard/stripe-webhook-ips.txt share/payguard/apache-conf/payguard-fcgid.conf \
    share/payguard/apache-conf/htaccess.example share/payguard/apache-conf/lighttpd-payguard.conf \
    share/payguard/apache-conf/audit-basic-auth.conf share/payguard/templates/audit_page.html \
    share/payguard/apache-conf/payguard-api-root.conf share/payguard/apache-conf/lighttpd-payguard-api-root.conf \
    share/payguard/apache-conf/nginx-payguard.conf share/payguard/apache-conf/payguard-own-user.conf; do
	check "$f installed, mode 0644" test "$(stat -c %a "$D$P/$f" 2>/dev/null)" = 644
done
# PREFIX is compiled in: the installed binary looks for its data there.
check "the installed binary knows PREFIX's data directory" \
    grep -qaF "$P/share/payguard" "$D$P/lib/payguard/cgi-bin/webhook.fcgi"
# The installed binary uses the installed list (the data dir is given,
# since DESTDIR is not the final location).
cp "$D$P/lib/payguard/cgi-bin/webhook.fcgi" "$BIN/webhook-installed.fcgi"
newev
CGI_ENV=(PAYGUARD_STATE_DIR="$STATE" STRIPE_WEBHOOK_SECRET="$SECRET"
    PAYGUARD_DATA_DIR="$D$P/share/payguard")
CGI_PROG=$BIN/webhook-installed.fcgi cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")"
expect_error 403 ip_not_allowed "installed webhook.fcgi with Stripe's list: 127.0.0.1 refused"
CGI_PROG=$BIN/webhook-installed.fcgi cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" \
    REMOTE_ADDR=54.187.216.72
is "$RS" 200 "installed webhook.fcgi: a Stripe address is accepted"
check "installed payguard runs" "$D$P/bin/payguard" keygen

# Deployment files: units, logrotate, the nginx snippet, rewritten for PREFIX.
for f in "$SRC"/systemd/*; do
	u=$D$P/lib/systemd/system/${f##*/}
	check "unit ${f##*/} installed in PREFIX/lib/systemd/system, mode 0644" test "$(stat -c %a "$u" 2>/dev/null)" = 644
done
check "installed units run PREFIX's programs" grep -qxF "ExecStart=$P/bin/payguard worker" "$D$P/lib/systemd/system/payguard-worker.service"
check "installed units name no /usr/local path" bash -c "! grep -q /usr/local/ '$D$P'/lib/systemd/system/*"
check "logrotate file installed as /etc/logrotate.d/payguard, mode 0644" test "$(stat -c %a "$D/etc/logrotate.d/payguard" 2>/dev/null)" = 644
N=$D$P/share/payguard/apache-conf/nginx-payguard.conf
check "nginx snippet installed, mode 0644" test "$(stat -c %a "$N" 2>/dev/null)" = 644
check "installed nginx snippet points at PREFIX's audit.cgi" grep -qF "SCRIPT_FILENAME $P/lib/payguard/cgi-bin/audit.cgi;" "$N"
n_before=$(find "$D" -type f | wc -l)
make -s -C "$SRC" O="$BASE/build" uninstall PREFIX=$P DESTDIR="$D" > "$LOGS/uninstall.log" 2>&1
is "$?" 0 "make uninstall succeeds"
is "$(find "$D" -type f | wc -l)" 0 "make uninstall removes every file install wrote ($n_before)"
check "make uninstall removes payguard's own directories" test ! -e "$D$P/lib/payguard" -a ! -e "$D$P/share/payguard"
# Something of the admin's in a shared directory survives.
mkdir -p "$D$P/lib/systemd/system" && touch "$D$P/lib/systemd/system/other.service"
make -s -C "$SRC" O="$BASE/build" uninstall PREFIX=$P DESTDIR="$D" > /dev/null 2>&1
check "make uninstall leaves other files alone" test -f "$D$P/lib/systemd/system/other.service"
finish
