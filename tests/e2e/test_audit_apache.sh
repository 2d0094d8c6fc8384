#!/bin/bash
# e2e: the admin audit page under real Apache (mod_cgid, Basic auth from
# apache-conf/audit-basic-auth.conf), events seeded through the real
# webhook.fcgi (as plain CGI), the CLI on the same state, and headless
# Chromium rendering the page (DOM checks + a screenshot in $O/).
# Ports: 19610.
. "$(dirname "$0")/../harness/lib.sh"
pg_setup
PORT=19610
need_ports $PORT
[ -x "$O/audit.cgi" ] || bail "$O/audit.cgi is built"
cp "$O/audit.cgi" "$BIN/" && chmod 0755 "$BIN/audit.cgi"
mkdir -p "$BASE/templates" && cp "$SRC"/templates/* "$BASE/templates/" && chmod -R a+rX "$BASE/templates"
INI=$BASE/payguard.ini
write_ini "$INI" PAYGUARD_STATE_DIR="$STATE" PAYGUARD_ADMIN_USERS="root-admin, admin" \
    PAYGUARD_TEMPLATE_DIR="$BASE/templates" PAYGUARD_SYNC=0 STRIPE_WEBHOOK_SECRET="$SECRET" \
    STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1,203.0.113.0/24 STRIPE_API_VERSION=2024-06-20 \
    STRIPE_RATE_LIMIT_WINDOW=3600
CGI_ENV=(PAYGUARD_CONFIG="$INI")
CLI_ENV=(PAYGUARD_STATE_DIR="$STATE" PAYGUARD_CONFIG="$INI")
HTP=$BASE/htpasswd
admin_htpasswd "$HTP"

# ---- seed real events through webhook.fcgi (plain CGI)
XSS_UA='<script>alert("ua")</script>'
for i in 1 2 3 4 5 6; do
	newev
	cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(badsig)" HTTP_USER_AGENT="$XSS_UA" REMOTE_ADDR=203.0.113.9
done
is "$RS" 400 "seed: a bad signature is refused"
# The webhook refuses hostile event fields before they reach a record,
# so a record with an XSS payload in its details comes from the seeding
# helper, through audit_emit like any other.
make -C "$SRC" -s O="$O" "$O/bench/audit_seed" >/dev/null 2>&1
cp "$O/bench/audit_seed" "$BIN/" && chmod 0755 "$BIN/audit_seed"
as_www "$BIN/audit_seed" "$STATE" --hostile
is "$?" 0 "seed: a record with XSS in user agent and details"
newev
cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")"
is "$RS" 200 "seed: a valid event"
newev
cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" HTTP_USER_AGENT='=HYPERLINK("http://evil")'
# CR/LF in a header value cannot split the log line.
before=$(audit_n)
newev
cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(badsig)" HTTP_USER_AGENT=$'evil\r\n{"event_type":"forged"}\nx'
expect_audit "$before" webhook_invalid_signature "CR/LF user agent"
check "CR/LF user agent: every line of the log is one JSON object" audit_all_json "$AUDIT"
check "CR/LF user agent: no forged record" bash -c "! grep -q '^{\"event_type\":\"forged\"' '$AUDIT'"

# ---- Apache with the shipped snippet
start_apache_audit $PORT "$INI" "$HTP"
URL=http://127.0.0.1:$PORT/audit
n_access() { grep -c '"event_type":"admin_access"' "$AUDIT"; }

# ---- access control
before=$(audit_n)
http GET "$URL"
is "$RS" 401 "no credentials: 401 from Apache"
hdr WWW-Authenticate | grep -q '^Basic realm="payguard audit"' && ok "no credentials: Basic challenge" || not_ok "no credentials: Basic challenge"
is "$(audit_n)" "$before" "no credentials: audit.cgi never ran"
http GET "$URL" -u admin:wrong
is "$RS" 401 "wrong password: 401 from Apache"
before=$(audit_n)
http GET "$URL" -u eve:eve-pw
is "$RS" 403 "authenticated non-admin: 403 from audit.cgi"
grep -q 'PAYGUARD_ADMIN_USERS' "$RB" && ok "403 body comes from audit.cgi" || not_ok "403 body comes from audit.cgi"
expect_audit "$before" admin_access_denied "non-admin"
is "$(tail -n1 "$AUDIT" | jq -r '.identity + " " + .outcome + " " + .severity')" "eve failure HIGH" "admin_access_denied names eve"

# ---- the page
a0=$(n_access)
http GET "$URL" -u admin:adm1n-pw
is "$RS" 200 "admin: 200"
is "$(( $(n_access) - a0 ))" 1 "admin view recorded as admin_access"
is "$(tail -n1 "$AUDIT" | jq -r '.identity + " " + .resource')" "admin audit:dashboard" "admin_access names the admin and the view"
grep -q 'id="cards"' "$RB" && grep -q '<svg id="chart"' "$RB" && grep -q 'id="events"' "$RB" &&
    ok "page: cards, chart and table" || not_ok "page: cards, chart and table"
is "$(grep -c '<tr class="ev' "$RB")" "$(( $(audit_n) < 50 ? $(audit_n) : 50 ))" "page: one row per record (first page)"
grep -q 'Invalid webhook signatures' "$RB" && ok "alert panel: invalid signatures fired (6 >= 5)" || not_ok "alert panel"
# Hostile values are escaped, never raw.
grep -qF '&lt;script&gt;alert(&quot;ua&quot;)&lt;/script&gt;' "$RB" && ok "XSS in user agent renders escaped" || not_ok "XSS in user agent renders escaped"
grep -qF '<script' "$RB" && not_ok "no raw <script in the page" || ok "no raw <script in the page"
# Security headers, by the Observatory's A+ rules.
csp=$(hdr Content-Security-Policy)
case "$csp" in *unsafe-*) not_ok "CSP without unsafe-*: $csp" ;; *) ok "CSP without unsafe-*" ;; esac
for d in "default-src 'none'" "form-action 'self'" "frame-ancestors 'none'" "style-src 'self'" "base-uri 'none'"; do
	case "$csp" in *"$d"*) ;; *) not_ok "CSP has $d"; continue ;; esac
	ok "CSP has $d"
done
hsts=$(hdr Strict-Transport-Security | sed -n 's/.*max-age=\([0-9]*\).*/\1/p')
[ "${hsts:-0}" -ge 15768000 ] && ok "HSTS max-age >= 6 months" || not_ok "HSTS ($hsts)"
is "$(hdr X-Content-Type-Options)" nosniff "X-Content-Type-Options"
is "$(hdr X-Frame-Options)" DENY "X-Frame-Options"
is "$(hdr Referrer-Policy)" no-referrer "Referrer-Policy"
is "$(hdr Set-Cookie)" "" "no cookie at all (CSRF token is not a cookie)"
hdr Content-Type | grep -q '^text/html; charset=utf-8' && ok "Content-Type html utf-8" || not_ok "Content-Type"
grep -qi '<script' "$RB" && not_ok "no script element (works without JS)" || ok "no script element (works without JS)"
http GET "$URL?asset=css" -u admin:adm1n-pw
is "$RS $(hdr Content-Type)" "200 text/css; charset=utf-8" "stylesheet served as text/css"

# No write transaction per view.  Each view's own admin_access record is
# indexed in the volatile environment (one write there per record); the
# only other write allowed is the audit chain-head checkpoint in the main
# environment, at most one per 10 s of wall time (aindex_checkpoint).
# tests/preload/txnlog.so logs every LMDB write transaction audit.cgi
# begins, with its environment: an empty one too (LMDB does not advance
# the last txnid for it, so mdb_stat cannot show it), and the views run
# audit.cgi exactly as mod_cgid does (plain CGI, REMOTE_USER from Basic).
# Sweeping an expired record is a legitimate write: the seeding's rate
# windows last an hour (STRIPE_RATE_LIMIT_WINDOW above) so that none
# expires during the views, and nothing else here expires within minutes.
TXL=$BASE/txn.log
[ -f "$O/preload/txnlog.so" ] || bail "$O/preload/txnlog.so is built"
cp "$O/preload/txnlog.so" "$BIN/" && chmod 0755 "$BIN/txnlog.so"
install -m 0666 /dev/null "$TXL"
aview() { CGI_PROG=$BIN/audit.cgi cgi_run GET - REQUEST_METHOD=GET -CONTENT_TYPE \
    SCRIPT_NAME=/audit REQUEST_URI=/audit QUERY_STRING= REMOTE_USER=admin \
    LD_PRELOAD="$BIN/txnlog.so" PG_TXNLOG="$TXL"; }
aview	# the first view may create what is missing (the CSRF key)
: > "$TXL"; a0=$(n_access); s0=$(date +%s); vok=0
for i in 1 2 3 4 5 6; do aview; [ "$RS" = 200 ] && vok=$((vok + 1)); done
s1=$(date +%s)
nmain=$(grep -cxF "$STATE" "$TXL"); nvol=$(grep -cxF "$STATE/volatile" "$TXL")
is "$vok $(( $(n_access) - a0 ))" "6 6" "six admin views as plain CGI: 200 and one admin_access record each"
check "six admin views: the preload saw the views' index writes ($nvol in volatile/)" [ "$nvol" -ge 6 ]
check "six admin views: no other environment written ($(sort -u "$TXL" | tr '\n' ' '))" \
    [ "$(grep -cvxF -e "$STATE" -e "$STATE/volatile" "$TXL")" = 0 ]
check "six admin views: one volatile write per admin_access record ($nvol for 6)" [ "$nvol" -le 6 ]
check "six admin views: no main-environment write per view ($nmain in $((s1 - s0)) s)" \
    [ "$nmain" -le $((1 + (s1 - s0) / 10)) ]

# Query parameter XSS: refused, not reflected.
http GET "$URL?ip=%3Cscript%3Ealert(1)%3C/script%3E" -u admin:adm1n-pw
is "$RS" 400 "XSS in ip parameter: 400"
grep -qF '<script>alert(1)' "$RB" && not_ok "XSS ip not reflected" || ok "XSS ip not reflected"
http GET "$URL?type=%22%3E%3Csvg%20onload%3Dalert(1)%3E" -u admin:adm1n-pw
is "$RS" 400 "XSS in type parameter: 400"
grep -qF '<svg onload' "$RB" && not_ok "XSS type not reflected" || ok "XSS type not reflected"

# The query-key table: each key is checked on its own; a page key that
# fails is ignored, except the event key, whose page says it is invalid.
http GET "$URL?asset=js" -u admin:adm1n-pw
is "$RS" 404 "unknown asset: 404"
http GET "$URL?event=12-x" -u admin:adm1n-pw
is "$RS" 400 "malformed event key: 400"
http GET "$URL?event=1-1" -u admin:adm1n-pw
is "$RS" 404 "event key of no record: 404"
http GET "$URL?hours=%zz" -u admin:adm1n-pw
is "$RS" 400 "bad %-escape in a filter value: 400"
http GET "$URL?hours=99999" -u admin:adm1n-pw
is "$RS" 400 "hours beyond the online window: 400"
http GET "$URL?format=xml&hours=1" -u admin:adm1n-pw
is "$RS $(hdr Content-Type | cut -d';' -f1)" "200 text/html" "unknown export format: the dashboard"

# Filters and paging.
http GET "$URL?hours=1&severity=HIGH&type=webhook_invalid_signature" -u admin:adm1n-pw
is "$(grep -c '<tr class="ev' "$RB")" 7 "filter severity+type: 7 bad signatures"
http GET "$URL?ip=203.0.113.9" -u admin:adm1n-pw
is "$(grep -c '<tr class="ev' "$RB")" 6 "filter ip: 6 rows"
http GET "$URL?hours=1&severity=HIGH" -u admin:adm1n-pw
grep -q '<a id="older"' "$RB" && not_ok "few rows: no Older link" || ok "few rows: no Older link"

# Event detail with a hostile event type inside details.
key=$(pgcli audit --json --type security_validation_failed | jq -r '[.[] | select(.details.reason | test("onerror"))][0].key')
http GET "$URL?event=$key" -u admin:adm1n-pw
is "$RS" 200 "event detail: 200"
grep -qF '&lt;img src=x onerror=alert(1)&gt;' "$RB" && ok "XSS in event detail renders escaped" || not_ok "XSS in event detail renders escaped"
grep -qF '<img src=x' "$RB" && not_ok "no raw img in detail" || ok "no raw img in detail"
is "$(tail -n1 "$AUDIT" | jq -r .resource)" "audit:event:$key" "detail view recorded"
tok=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$RB")
is "${#tok}" 64 "detail page carries a CSRF token"

# Mitigation: POST + CSRF token.
http POST "$URL" -u admin:adm1n-pw --data "action=mitigate&key=$key&csrf=$(printf 0%.0s $(seq 64))&note=x"
is "$RS" 403 "mitigate with a wrong token: 403"
http POST "$URL" -u admin:adm1n-pw -H "Origin: http://evil.example" --data "action=mitigate&key=$key&csrf=$tok&note=x"
is "$RS" 403 "mitigate cross-origin: 403"
http POST "$URL" -u eve:eve-pw --data "action=mitigate&key=$key&csrf=$tok&note=x"
is "$RS" 403 "mitigate as non-admin: 403"
http POST "$URL" -u admin:adm1n-pw -H "Origin: http://127.0.0.1:$PORT" -H "Sec-Fetch-Site: same-origin" --data "action=mitigate&key=$key&csrf=$tok&note=blocked+at+edge"
is "$RS" 303 "mitigate with the token: 303"
is "$(tail -n1 "$AUDIT" | jq -r '.event_type + " " + .identity')" "audit_event_mitigated admin" "mitigation recorded"
http GET "$URL?event=$key" -u admin:adm1n-pw
grep -q 'marked as mitigated' "$RB" && ok "event shows mitigated" || not_ok "event shows mitigated"
is "$(grep audit_event_mitigated "$AUDIT" | tail -n1 | jq -r '.details.record | test("^[0-9]{10},[0-9]{3}:[0-9]+$")')" true "the mitigation record names the record marked (seconds,ms:seq, not masked)"

# A reboot empties the volatile index; the page rebuilds it from the log.
pgcli audit stats --json | jq -S . > "$BASE/stats-before.json"
n_before=$(grep -c . "$AUDIT")
echo 00000000-0000-0000-0000-000000000000 > "$STATE/volatile/boot_id"
http GET "$URL?event=$key" -u admin:adm1n-pw
is "$RS" 200 "after a reboot: the event page answers"
grep -q 'marked as mitigated' "$RB" && ok "after a reboot: the rebuilt index still shows the mitigation" || not_ok "after a reboot: the rebuilt index still shows the mitigation"
grep -q 'audit index rebuilt from the log: '"$n_before"' record' "$R/logs/error.log" &&
    ok "after a reboot: audit.cgi logged the rebuild ($n_before records)" || not_ok "after a reboot: audit.cgi logged the rebuild ($n_before records)"
pgcli audit stats --json | jq -S . > "$BASE/stats-after.json"
# one more admin_access record (the view above) and nothing else
is "$(jq '.total' "$BASE/stats-after.json")" "$(( $(jq '.total' "$BASE/stats-before.json") + 1 ))" "after a reboot: the rebuilt index counts every record once"
is "$(jq -c '[.signature_success_rate, .rate_limit_by_operation, .rate_limit_by_identity, .suspicious_ips, .by_severity.HIGH]' "$BASE/stats-after.json")" "$(jq -c '[.signature_success_rate, .rate_limit_by_operation, .rate_limit_by_identity, .suspicious_ips, .by_severity.HIGH]' "$BASE/stats-before.json")" "after a reboot: metrics as before"
# The explicit command: nothing to add within the boot, all after one.
pgcli audit reindex > "$BASE/reindex1.txt"
grep -q ': 0 record(s) added' "$BASE/reindex1.txt" && ok "audit reindex within the boot: nothing added twice" || not_ok "audit reindex within the boot: nothing added twice ($(cat "$BASE/reindex1.txt"))"
echo 11111111-1111-1111-1111-111111111111 > "$STATE/volatile/boot_id"
pgcli audit reindex > "$BASE/reindex2.txt"
n_now=$(grep -c . "$AUDIT")
grep -q "read $n_now line(s) from 1 file(s): $n_now record(s) added" "$BASE/reindex2.txt" && ok "audit reindex after a reboot: every record of the log added ($n_now)" || not_ok "audit reindex after a reboot: every record of the log added ($(cat "$BASE/reindex2.txt"), want $n_now)"
is "$(pgcli audit --json --hours 1 --limit 10000 | jq length)" "$n_now" "after the explicit rebuild: every record queryable"
http GET "$URL?event=$key" -u admin:adm1n-pw -X DELETE
is "$RS" 405 "other methods: 405"

# Exports of the current filter.
http GET "$URL?hours=1&type=webhook_invalid_signature&format=csv" -u admin:adm1n-pw
is "$RS $(hdr Content-Type)" "200 text/csv; charset=utf-8" "CSV export"
is "$(( $(grep -c . "$RB") - 1 ))" 7 "CSV export: 7 rows + header"
http GET "$URL?format=json" -u admin:adm1n-pw
is "$(jq 'length' "$RB")" "$(grep -c '"key"' <(jq -c '.[]' "$RB"))" "JSON export parses"
grep -qF "'=HYPERLINK" <(pgcli audit --csv) && ok "CSV: formula injection neutralised" || not_ok "CSV: formula injection neutralised"

# Each view appears in the audit log.
a0=$(n_access)
for i in 1 2 3; do http GET "$URL?hours=6" -u admin:adm1n-pw; done
is "$(( $(n_access) - a0 ))" 3 "three views, three admin_access records"

# ---- CLI on the same state
out=$(pgcli audit --hours 1 --severity HIGH --type webhook_invalid_signature)
is "$(echo "$out" | grep -c webhook_invalid_signature)" 7 "payguard audit: filtered rows"
pgcli audit stats --json > "$BASE/stats.json"
is "$(jq -r '.signatures_invalid' "$BASE/stats.json")" 7 "stats: invalid signatures"
is "$(jq -r '.suspicious_ips[0].name' "$BASE/stats.json")" 203.0.113.9 "stats: most active suspicious IP"
pgcli alerts > "$BASE/alerts.txt"; rc=$?
is "$rc" 2 "payguard alerts exits 2 when fired"
grep -q 'ALERT invalid_signature' "$BASE/alerts.txt" && ok "alerts names invalid_signature" || not_ok "alerts names invalid_signature"
CLI_ENV+=(PAYGUARD_ALERT_THRESHOLDS="invalid_signature=0,invalid_ip=0,replay=0,rate_limit=0,identity_rate_limit=0")
pgcli alerts > /dev/null; is "$?" 0 "alerts with thresholds off: exit 0"
out=$(pgcli audit verify); rc=$?
is "$rc" 0 "audit verify: intact ($out)"
cp "$AUDIT" "$BASE/copy.log"; chmod 0644 "$BASE/copy.log"
sed -i '3s/203.0.113.9/203.0.113.8/' "$BASE/copy.log"
out=$(pgcli audit verify --file "$BASE/copy.log"); rc=$?
is "$rc" 1 "audit verify: an altered copy fails"
echo "$out" | grep -q 'FAILED: altered.*line 3' && ok "verify names line 3" || not_ok "verify names line 3 ($out)"

# ---- a real browser
CHROME=/usr/bin/chromium
if [ -x "$CHROME" ]; then
	UD=$(mktemp -d)
	CH=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
	    --disable-background-networking --disable-component-update --disable-sync
	    --user-data-dir="$UD" --window-size=1280,1400)
	a0=$(n_access)
	timeout 60 "$CHROME" "${CH[@]}" --dump-dom "http://admin:adm1n-pw@127.0.0.1:$PORT/audit?hours=24" \
	    > "$BASE/dom.html" 2> "$LOGS/chromium.log"
	grep -q 'id="cards"' "$BASE/dom.html" && ok "chromium: DOM has the cards" || not_ok "chromium: DOM has the cards"
	[ "$(grep -o '<rect class="bar' "$BASE/dom.html" | wc -l)" -ge 2 ] && ok "chromium: chart bars in the DOM" || not_ok "chromium: chart bars"
	[ "$(grep -c '<tr class="ev' "$BASE/dom.html")" -ge 10 ] && ok "chromium: event rows for the seeded events" || not_ok "chromium: event rows"
	grep -q '203.0.113.9' "$BASE/dom.html" && ok "chromium: seeded IP in the table" || not_ok "chromium: seeded IP"
	grep -q '<script>alert' "$BASE/dom.html" && not_ok "chromium: no injected script element" || ok "chromium: no injected script element"
	[ "$(n_access)" -gt "$a0" ] && ok "chromium view recorded" || not_ok "chromium view recorded"
	timeout 60 "$CHROME" "${CH[@]}" --screenshot="$O/audit-page.png" \
	    "http://admin:adm1n-pw@127.0.0.1:$PORT/audit?hours=24" >> "$LOGS/chromium.log" 2>&1
	[ -s "$O/audit-page.png" ] && ok "chromium: screenshot kept at $O/audit-page.png" || not_ok "chromium: screenshot"
	grep -q 'GET /audit?asset=css HTTP/1.1" 200' "$R/logs/access.log" && ok "chromium: stylesheet loaded (200)" || not_ok "chromium: stylesheet loaded"
	grep -q 'Refused to' "$LOGS/chromium.log" && not_ok "chromium: no CSP violation" || ok "chromium: no CSP violation"
	rm -rf "$UD"
else
	not_ok "chromium is installed"
fi
scan_leaks "audit" "$AUDIT" "$R/logs/error.log"
finish
