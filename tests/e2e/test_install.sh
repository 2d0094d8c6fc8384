#!/bin/bash
# make install PREFIX=... DESTDIR=...: every program, the CLI, the data
# file, templates and deployment recipes land where the README says, with
# sane modes, and the installed webhook.fcgi finds the installed IP list.
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
    share/payguard/apache-conf/payguard-api-root.conf share/payguard/apache-conf/lighttpd-payguard-api-root.conf; do
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
finish
