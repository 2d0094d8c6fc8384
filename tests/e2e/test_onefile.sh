#!/bin/bash
# One-file binaries: webhook.fcgi and audit.cgi copied ALONE into a
# directory with a payguard.ini next to them (the shared-hosting path),
# nothing installed (PAYGUARD_DATA_DIR names an empty directory, no
# template directory exists), run as plain CGI.  The templates, the
# stylesheet and Stripe's IP list come from inside the programs, byte for
# byte the files in templates/ and data/; files on disk still win when
# configured or written by `payguard ips update`.  No ports.
. "$SRC/tests/harness/lib.sh"
pg_setup
[ -x "$O/audit.cgi" ] || bail "$O/audit.cgi is built"
SITE=$BASE/site
EMPTY=$BASE/share-not-installed
mkdir -p "$SITE" "$EMPTY"
cp "$O/webhook.fcgi" "$O/audit.cgi" "$SITE/"
chmod 0755 "$SITE" "$SITE"/*
# payguard.ini next to the programs: found without PAYGUARD_CONFIG.
write_ini "$SITE/payguard.ini" PAYGUARD_STATE_DIR="$STATE" STRIPE_WEBHOOK_SECRET="$SECRET" \
    PAYGUARD_ADMIN_USERS=admin PAYGUARD_DATA_DIR="$EMPTY" STRIPE_API_VERSION=2024-06-20 PAYGUARD_SYNC=0
is "$(ls "$SITE" | tr '\n' ' ')" "audit.cgi payguard.ini webhook.fcgi " "the site holds the two programs and payguard.ini, nothing else"
CGI_ENV=()

# --------------------------------------------------------- webhook.fcgi
W=$SITE/webhook.fcgi
newev
CGI_PROG=$W cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")"
expect_error 403 ip_not_allowed "webhook.fcgi alone: serves, built-in Stripe list refuses 127.0.0.1"
grep -q "refusing to serve" "$CGI_ERR" && not_ok "webhook.fcgi alone: no 'refusing to serve'" || ok "webhook.fcgi alone: no 'refusing to serve'"
# Every entry of data/stripe-webhook-ips.txt is in the built-in list.
n=0 bad=""
for ip in $(grep -v '^#' "$SRC/data/stripe-webhook-ips.txt"); do
	CGI_PROG=$W cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" REMOTE_ADDR="$ip"
	[ "$RS" = 200 ] || bad="$bad $ip:$RS"
	n=$((n + 1))
done
check "webhook.fcgi alone: all $n addresses of data/stripe-webhook-ips.txt accepted (${bad:-none refused})" test -z "$bad" -a "$n" -ge 10
is "$(inbox_json && jq length "$BASE/inbox.json")" 1 "webhook.fcgi alone: the event is in the inbox once"
CGI_PROG=$W cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" REMOTE_ADDR=3.18.12.64
expect_error 403 ip_not_allowed "webhook.fcgi alone: a neighbour of a Stripe address is refused"

# The state dir's list (what `payguard ips update` writes) beats the built-in one.
printf '# test list\n127.0.0.1\n' > "$STATE/stripe-webhook-ips.txt"
chown $WWW "$STATE/stripe-webhook-ips.txt"
newev
CGI_PROG=$W cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")"
is "$RS" 200 "state-dir list wins: 127.0.0.1 accepted"
CGI_PROG=$W cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" REMOTE_ADDR=3.18.12.63
expect_error 403 ip_not_allowed "state-dir list wins: a Stripe address not in it is refused"
# The installed list beats the built-in one (state-dir copy removed).
rm -f "$STATE/stripe-webhook-ips.txt"
printf '198.51.100.7\n' > "$EMPTY/stripe-webhook-ips.txt"
CGI_PROG=$W cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" REMOTE_ADDR=198.51.100.7
is "$RS" 200 "installed list wins over the built-in one"
rm -f "$EMPTY/stripe-webhook-ips.txt"
# A configured file wins, and a configured file that is missing is an
# error, never a silent fall back to the built-in list.
printf '192.0.2.55\n' > "$BASE/my-ips.txt"
CGI_PROG=$W cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" REMOTE_ADDR=192.0.2.55 \
    PAYGUARD_WEBHOOK_IPS_FILE="$BASE/my-ips.txt"
is "$RS" 200 "PAYGUARD_WEBHOOK_IPS_FILE wins"
CGI_PROG=$W cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" REMOTE_ADDR=3.18.12.63 \
    PAYGUARD_WEBHOOK_IPS_FILE="$BASE/missing-ips.txt"
is "$RS/$(jb .error.type)" 500/api_error "PAYGUARD_WEBHOOK_IPS_FILE missing: refuses to serve (500, Stripe retries)"
check "... and says which file" grep -q "PAYGUARD_WEBHOOK_IPS_FILE: cannot load $BASE/missing-ips.txt" "$CGI_ERR"
# A broken list on disk is an error too.
printf 'not-an-ip\n' > "$EMPTY/stripe-webhook-ips.txt"
CGI_PROG=$W cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" REMOTE_ADDR=3.18.12.63
is "$RS" 500 "a malformed installed list: refuses to serve rather than fall back"
rm -f "$EMPTY/stripe-webhook-ips.txt"

# ------------------------------------------------------------ audit.cgi
A=$SITE/audit.cgi
acgi() {	# acgi QUERY [NAME=VALUE...]: GET audit.cgi as admin
	local q=$1; shift
	CGI_PROG=$A cgi_run GET - REQUEST_METHOD=GET -CONTENT_TYPE SCRIPT_NAME=/audit.cgi \
	    REQUEST_URI="/audit.cgi${q:+?$q}" QUERY_STRING="$q" REMOTE_USER=admin "$@"
}
acgi ""
is "$RS" 200 "audit.cgi alone: the page renders (200)"
check "audit.cgi alone: it is the audit page (built-in audit_page.html)" grep -q '<title>payguard audit</title>' "$RB"
check "audit.cgi alone: it lists the events received above" grep -q 'webhook_ip_blocked\|ip_not_allowed\|webhook_' "$RB"
acgi asset=css
is "$RS/$(hdr Content-Type | cut -d';' -f1)" "200/text/css" "audit.cgi alone: the stylesheet (200 text/css)"
check "audit.cgi alone: the stylesheet is templates/audit.css byte for byte" cmp -s "$RB" "$SRC/templates/audit.css"
# A template directory on disk wins, file by file.
mkdir -p "$BASE/tpl"
printf 'body { color: #123456 }\n' > "$BASE/tpl/audit.css"
chmod -R a+rX "$BASE/tpl"
acgi asset=css PAYGUARD_TEMPLATE_DIR="$BASE/tpl"
check "PAYGUARD_TEMPLATE_DIR wins: its audit.css is served" grep -q '#123456' "$RB"
acgi "" PAYGUARD_TEMPLATE_DIR="$BASE/tpl"
is "$RS" 200 "PAYGUARD_TEMPLATE_DIR without audit_page.html: the built-in page"
# Built from the files: the generated table names each of them.
for f in "$SRC"/templates/* "$SRC"/data/*; do
	check "build/gen/assets.c is generated from ${f#$SRC/}" grep -qF "/* ${f#$SRC/} */" "$O/gen/assets.c"
done
scan_leaks "one-file" "$LOGS/cgi.log" "$AUDIT"
finish
