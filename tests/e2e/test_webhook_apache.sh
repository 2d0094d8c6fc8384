#!/bin/bash
# webhook.fcgi under real Apache 2.4 (event MPM, User www-data):
#   1. mod_fcgid with the shipped apache-conf/payguard-fcgid.conf
#   2. mod_cgid, plain CGI, configuration through SetEnv
#   3. shared hosting: AllowOverride + apache-conf/htaccess.example,
#      configuration from payguard.ini next to the executable
# Ports 19110-19112.
. "$SRC/tests/harness/lib.sh"
pg_setup
make_handler
P_FCGID=19110 P_CGID=19111 P_HT=19112
need_ports $P_FCGID $P_CGID $P_HT

SK="sk_test_apache$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cp "$O/api.fcgi" "$BIN/" && chmod 0755 "$BIN/api.fcgi"
CONF=(STRIPE_WEBHOOK_SECRET="$SECRET" STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1,::1
    STRIPE_API_VERSION=2024-06-20 PAYGUARD_WEBHOOK_HANDLER="$HANDLER"
    PAYGUARD_RATE_LIMITS=webhook=1000 PAYGUARD_RETRY_BASE=0
    STRIPE_SECRET_KEY="$SK" STRIPE_API_BASE=http://127.0.0.1:1
    PAYGUARD_MAX_NETWORK_RETRIES=0)
INI=$BASE/payguard.ini
write_ini "$INI" "${CONF[@]}"
CLI_ENV=(PAYGUARD_STATE_DIR="$STATE" PAYGUARD_CONFIG="$INI")

# ---------------------------------------------------------- 1. mod_fcgid
start_apache_fcgid fcgid $P_FCGID "$INI" 4
FCGID_ERR=$ERRLOG
newev; A=$EV; AF=$EVF
post_event "$WH_URL" "$AF" "$(sign "$AF")" -H 'X-Request-ID: apache-fcgid-1'
expect_status 200 "mod_fcgid: valid event"
is "$(jb .received)" true "mod_fcgid: {\"received\":true}"
check_headers "mod_fcgid 200"
is "$(hdr X-Request-ID)" apache-fcgid-1 "mod_fcgid: X-Request-ID echoed"
post_event "$WH_URL" "$AF" "$(sign "$AF")"
is "$RS/$(jb .duplicate)" "200/true" "mod_fcgid: repeat is a duplicate"
wpid=$(pids_of_exe "$BIN/webhook.fcgi" | head -1)
is "$(stat -c %U "/proc/$wpid" 2>/dev/null)" "$WWW" "mod_fcgid: webhook.fcgi runs as www-data"
n=$(audit_n)
post_event "$WH_URL" "$AF" "$(badsig)"
expect_error 400 signature_mismatch "mod_fcgid: bad signature"
expect_audit "$n" webhook_invalid_signature "mod_fcgid: bad signature"
http GET "$WH_URL"
expect_error 405 method_not_allowed "mod_fcgid: GET"
is "$(hdr Allow)" POST "mod_fcgid: Allow: POST"
check_headers "mod_fcgid 405"
# The gateway through the same shipped snippet (Alias /api).
http GET "http://127.0.0.1:$P_FCGID/api/v1/customers"
is "$RS $(jb .error.type) $(jb .error.code)" "401 authentication_error missing_token" \
    "shipped snippet: /api/v1/customers without a token: 401 from api.fcgi"
TOKEN=$(pgcli token create --name apache-shop --scope write)
http GET "http://127.0.0.1:$P_FCGID/api/v1/customers" -H "Authorization: Bearer $TOKEN"
is "$RS $(jb .error.code)" "502 api_connection_error" \
    "shipped snippet: the token passes (FcgidPassHeader): 502 from an unreachable upstream"
check "shipped snippet: the Stripe secret key is in no log" \
    bash -c '! grep -rqF -- "$1" "$2" "$3"' _ "$SK" "$STATE/logs" "$FCGID_ERR"
http POST "$WH_URL" -H "Stripe-Signature: $(badsig)" -H 'Content-Type: application/json' \
    -H 'Transfer-Encoding: chunked' --data-binary @"$AF"
check "mod_fcgid: chunked body is answered by payguard (status $RS, JSON)" \
    bash -c '[ "$(jq -r ".error.code // .received" "$1")" != null ] && [ "$2" != 000 ]' _ "$RB" "$RS"
# Above mod_fcgid's default FcgidMaxRequestLen (128 KiB), below 512 KiB.
head=$(printf '{"id":"evt_e2e%sbig","object":"event","type":"invoice.paid","created":%s,"livemode":false,"api_version":"2024-06-20","data":{"object":{"pad":"' $$ "$(now)")
{ printf '%s' "$head"; head -c 300000 /dev/zero | tr '\0' x; printf '"}}}'; } > "$BASE/big.json"
post_event "$WH_URL" "$BASE/big.json" "$(sign "$BASE/big.json")"
expect_status 200 "mod_fcgid: 300 KB event (FcgidMaxRequestLen raised by the snippet)"
head -c 600000 /dev/zero | tr '\0' x > "$BASE/huge.json"
post_event "$WH_URL" "$BASE/huge.json" "$(sign "$BASE/huge.json")"
expect_error 413 payload_too_large "mod_fcgid: 600 KB body answered by payguard, not by mod_fcgid"
check "inbox list --json (as www-data) reads the state the workers wrote" inbox_json
is "$(inbox_field "$A" state)" pending "mod_fcgid: event queued"
pgcli inbox drain >/dev/null
is "$(runs "$A")" 1 "mod_fcgid: drain ran the handler once"
# The CLI (www-data) wrote to the store: the workers still serve.
newev
post_event "$WH_URL" "$EVF" "$(sign "$EVF")"
expect_status 200 "mod_fcgid: serving after the CLI wrote to the store"
stop_pid $APACHE_PID TERM 15
check "mod_fcgid: no webhook.fcgi left after Apache stopped" test -z "$(pids_of_exe "$BIN/webhook.fcgi")"
check "mod_fcgid: port free again" wait_port_free $P_FCGID 5

# ------------------------------------------------------------ 2. mod_cgid
start_apache_cgid cgid $P_CGID "$INI"
CGID_ERR=$ERRLOG
newev; B=$EV
post_event "$WH_URL" "$EVF" "$(sign "$EVF")"
expect_status 200 "mod_cgid: valid event"
check_headers "mod_cgid 200"
post_event "$WH_URL" "$AF" "$(sign "$AF")"
is "$RS/$(jb .duplicate)" "200/true" "mod_cgid: an event first received via mod_fcgid is a duplicate"
http PUT "$WH_URL" --data-binary x
expect_error 405 method_not_allowed "mod_cgid: PUT"
# Early rejections with an unread body: under mod_cgid the program's stdin
# and stdout are one socket, so the answer must still arrive whole.
# (Every CGI run re-reads the INI file.)
write_ini "$INI" "${CONF[@]}" STRIPE_WEBHOOK_ALLOWED_IPS=192.0.2.1
post_event "$WH_URL" "$EVF" "$(sign "$EVF")"
expect_error 403 ip_not_allowed "mod_cgid: 403 before the body is read"
write_ini "$INI" "${CONF[@]}" PAYGUARD_MAX_BODY=1000
post_event "$WH_URL" "$BASE/big.json" "$(sign "$BASE/big.json")"
expect_error 413 payload_too_large "mod_cgid: 413 for a 300 KB body"
# Configuration error.
write_ini "$INI" STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1
before=$(grep -c STRIPE_WEBHOOK_SECRET "$CGID_ERR")
post_event "$WH_URL" "$EVF" "$(sign "$EVF")"
is "$RS/$(jb 'has("error")')" "500/true" "mod_cgid: secret missing -> 500, JSON body"
check_headers "mod_cgid 500" norl
sleep 0.3
is "$(( $(grep -c STRIPE_WEBHOOK_SECRET "$CGID_ERR") - before ))" 1 "mod_cgid: one error-log line names STRIPE_WEBHOOK_SECRET"
write_ini "$INI" "${CONF[@]}"
post_event "$WH_URL" "$EVF" "$(sign "$EVF")"
is "$RS/$(jb .duplicate)" "200/true" "mod_cgid: fixed config serves again"

# ------------------------------------------------------- 3. .htaccess
start_apache_htaccess ht $P_HT "${CONF[@]}"
HT_ERR=$ERRLOG
U=http://127.0.0.1:$P_HT/pay
newev; H=$EV
post_event "$WH_URL" "$EVF" "$(sign "$EVF")"
expect_status 200 ".htaccess: POST /pay/webhook (rewritten to webhook.fcgi)"
check_headers ".htaccess 200"
check ".htaccess: payguard.ini next to the executable configured the state dir" \
    test -s "$HT_STATE/logs/security_audit.log"
http GET "$WH_URL"
expect_error 405 method_not_allowed ".htaccess: GET /pay/webhook reaches payguard"
for p in payguard.ini PAYGUARD.INI .htaccess state/ state/logs/security_audit.log \
    "state/$(cd "$HT_STATE" && ls | grep -m1 '\.mdb$')"; do
	http GET "$U/$p"
	is "$RS" 403 ".htaccess: GET /pay/$p is refused"
	check ".htaccess: /pay/$p leaks nothing" bash -c '! grep -qF -e "$1" -e whsec_ -e "[payguard]" "$2"' _ "$SECRET" "$RB"
done
http GET "$U/"
check ".htaccess: no directory listing (status $RS)" test "$RS" = 403 -o "$RS" = 404
CLI_ENV=(PAYGUARD_STATE_DIR="$HT_STATE" PAYGUARD_CONFIG="$HT_DIR/payguard.ini")
inbox_json
is "$(inbox_field "$H" state)" pending ".htaccess: the event is in that state dir's inbox"
AUDIT=$HT_STATE/logs/security_audit.log
n=$(audit_n)
post_event "$WH_URL" "$EVF" "$(badsig)"
expect_error 400 signature_mismatch ".htaccess: bad signature"
expect_audit "$n" webhook_invalid_signature ".htaccess: bad signature"

# ------------------------------------------------------------------ logs
check "audit logs are JSON lines" audit_all_json "$STATE/logs/security_audit.log"
scan_leaks "Apache" "$STATE/logs/security_audit.log" "$HT_STATE/logs/security_audit.log" \
    "$FCGID_ERR" "$CGID_ERR" "$HT_ERR" "$BASE"/*/logs/access.log "$LOGS/cli.log"
finish
