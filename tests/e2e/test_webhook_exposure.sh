#!/bin/bash
# Card data where it must never be, at webhook.fcgi (issue 9): a card
# number in a request header (User-Agent, Referer) or in the URL (path or
# query string) is recorded as data_exposure (HIGH) naming where, the
# event itself is still handled, the number never appears unmasked in
# the audit log, the error log or the CLI's audit view, and the seed's
# data_exposure alert fires.  Plain CGI: no server, no port.
. "$SRC/tests/harness/lib.sh"
pg_setup

CGI_ENV=(PAYGUARD_STATE_DIR="$STATE" STRIPE_WEBHOOK_SECRET="$SECRET"
    STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1 PAYGUARD_SYNC=0)
CLI_ENV=("${CGI_ENV[@]}")
PAN=4242424242424242 SPAN="4242 4242 4242 4242" PAN2=5555555555554444
post_ok() { newev; cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" "$@"; }
# exposures [N]: data_exposure records after line N (default 0)
exposures() { tail -n +$((${1:-0} + 1)) "$AUDIT" | jq -c 'select(.event_type == "data_exposure")'; }

# 0. A clean request records none, and the alert is quiet.
post_ok
is "$RS" 200 "an ordinary event is accepted"
is "$(exposures | wc -l)" 0 "no data_exposure record for an ordinary request"
pgcli alerts > "$BASE/alerts0.txt"
check "the data_exposure alert is quiet before" bash -c "! grep -q 'ALERT data_exposure' '$BASE/alerts0.txt'"

# 1. A card number in the User-Agent (spaced, as people type it).
n=$(audit_n)
post_ok HTTP_USER_AGENT="Mozilla/5.0 card $SPAN"
is "$RS" 200 "an event whose User-Agent holds a card number is still handled"
rec=$(exposures $n)
is "$(echo "$rec" | wc -l)" 1 "one data_exposure record for it"
is "$(echo "$rec" | jq -r '.severity + " " + .details.where + " " + .details.header + " " + .details.kind')" \
    "HIGH header HTTP_USER_AGENT raw_pan" "...HIGH, naming the header"
check "...its user_agent masked (last 4 kept)" bash -c "echo '$rec' | jq -e '.user_agent | test(\"4242\$\")' >/dev/null"

# 2. In another header (Referer).
n=$(audit_n)
post_ok HTTP_REFERER="https://shop.example/pay?n=$PAN2"
is "$(exposures $n | jq -r '.details.header')" HTTP_REFERER "a card number in the Referer: data_exposure naming it"

# 3. In the query string and the path.
n=$(audit_n)
post_ok REQUEST_URI="/webhook?card=$PAN" QUERY_STRING="card=$PAN"
is "$RS" 200 "an event posted to a URL with a card number is still handled"
is "$(exposures $n | jq -r '.severity + " " + .details.where')" "HIGH url" "a card number in the query string: data_exposure where url"
n=$(audit_n)
post_ok REQUEST_URI="/webhook/$PAN2" PATH_INFO="/$PAN2"
is "$(exposures $n | jq -r '.details.where')" url "a card number in the path: data_exposure where url"

# 4. Also when the request is refused (a bad signature): exposed anyway.
n=$(audit_n)
newev; cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(badsig)" HTTP_USER_AGENT="x $PAN"
is "$RS" 400 "a bad signature is still refused"
is "$(exposures $n | wc -l)" 1 "...and the card number in its header recorded"

# 5. The alert fires; no card number unmasked anywhere.
pgcli alerts > "$BASE/alerts.txt"; rc=$?
is "$rc" 2 "payguard alerts exits 2"
check "the data_exposure alert fired" grep -q 'ALERT data_exposure' "$BASE/alerts.txt"
pgcli audit --hours 1 --json > "$BASE/view.json"
check "the CLI's audit view lists the exposures" grep -q data_exposure "$BASE/view.json"
hit=""
for f in "$AUDIT" "$LOGS/cgi.log" "$LOGS/cli.log" "$BASE/view.json" "$BASE/alerts.txt"; do
	[ -f "$f" ] || continue
	grep -qE "$PAN|$SPAN|$PAN2" "$f" && hit="$hit ${f#$BASE/}"
done
is "${hit:-none}" none "no unmasked card number in the audit log, error log or CLI output"

finish
