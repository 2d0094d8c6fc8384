#!/bin/bash
# webhook.fcgi as plain CGI (env -i ... webhook.fcgi < body, as www-data):
# every status and error code of the receiver, the order of the checks,
# security and rate-limit headers, request ids, audit lines, sync and
# queued delivery with the inbox CLI, configuration errors and sources.
# No server, no port.
. "$SRC/tests/harness/lib.sh"
pg_setup
make_handler

BASE_ENV=(PAYGUARD_STATE_DIR="$STATE" STRIPE_WEBHOOK_SECRET="$SECRET"
    STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1,::1 STRIPE_API_VERSION=2024-06-20
    PAYGUARD_RATE_LIMITS=webhook=1000 STRIPE_RATE_LIMIT_WINDOW=60
    PAYGUARD_SYNC=0 PAYGUARD_WEBHOOK_HANDLER="$HANDLER" PAYGUARD_RETRY_BASE=0)
CGI_ENV=("${BASE_ENV[@]}")
CLI_ENV=("${BASE_ENV[@]}")

# post FILE SIGNATURE [ENV...]: a signed POST
post() { local f=$1 s=$2; shift 2; cgi_run POST "$f" HTTP_STRIPE_SIGNATURE="$s" "$@"; }
# post_ok FILE [ENV...]: signed now with $SECRET
post_ok() { local f=$1; shift; post "$f" "$(sign "$f")" "$@"; }

# ---------------------------------------------------------------- accept
newev; A=$EV; AF=$EVF
post_ok "$AF" HTTP_X_REQUEST_ID=req-accept.1_A
expect_status 200 "valid event"
is "$(jb '.received == true and (.duplicate // false) == false')" true "valid event: body {\"received\":true}"
check_headers "valid event"
is "$(hdr X-Request-ID)" req-accept.1_A "well-formed X-Request-ID is echoed"
is "$CGI_RC" 0 "CGI run exits 0"
is "$(hdr X-RateLimit-Limit)" 1000 "X-RateLimit-Limit is the configured webhook limit"
is "$(hdr RateLimit-Policy)" '"webhook";q=1000;w=60' "RateLimit-Policy names op, quota and window"

post_ok "$AF"
expect_status 200 "repeated event"
is "$(jb '.received == true and .duplicate == true')" true "repeated event: {\"received\":true,\"duplicate\":true}"
check_headers "duplicate"
is "$(runs "$A")" 0 "queue mode: no handler run inside the request"

check "inbox list --json is a JSON array" inbox_json
is "$(jq --arg id "$A" '[.[] | select(.id == $id)] | length' "$BASE/inbox.json")" 1 "inbox: exactly one record for the event"
is "$(inbox_field "$A" state)/$(inbox_field "$A" attempts)/$(inbox_field "$A" type)" "pending/0/payment_intent.succeeded" "inbox: record pending, 0 attempts, type"
out=$(pgcli inbox show "$A"); rc=$?
is "$rc" 0 "inbox show ID exits 0"
# The raw event either as is, or as a JSON string field "event".
check "inbox show prints the raw event" bash -c '
    { jq -j ".event // empty" <<<"$1" 2>/dev/null | cmp -s - "$2"; } ||
    { grep -qF "$3" <<<"$1" && grep -qF "\"receipt_email\"" <<<"$1"; }' _ "$out" "$AF" "$PLANT_EMAIL"
pgcli inbox show evt_does_not_exist >/dev/null 2>&1
check "inbox show of an unknown id fails" test $? -ne 0

pgcli inbox drain >/dev/null; rc=$?
is "$rc" 0 "inbox drain exits 0"
is "$(runs "$A")" 1 "drain ran the handler once"
is "$(grep "^$A " "$HOUT/runs.log" | head -1)" "$A payment_intent.succeeded false" "handler env: PAYGUARD_EVENT_ID, _TYPE, _LIVEMODE=false"
check "handler stdin is the raw event, byte for byte" cmp -s "$AF" "$(ls "$HOUT"/ev."$A".* | head -1)"
inbox_json
is "$(inbox_field "$A" state)" delivered "inbox: delivered after drain"
pgcli inbox drain >/dev/null
is "$(runs "$A")" 1 "a second drain delivers nothing again"
post_ok "$AF"
is "$RS/$(jb .duplicate)/$(runs "$A")" "200/true/1" "repeat after delivery: duplicate, no second run"

# ------------------------------------------------------------ request ids
newev
post_ok "$EVF" "HTTP_X_REQUEST_ID=bad id!"
v=$(hdr X-Request-ID)
check "malformed X-Request-ID is replaced by a generated one ($v)" \
    bash -c '[[ "$1" =~ ^[A-Za-z0-9._-]{1,64}$ && "$1" != "bad id!" ]]' _ "$v"
long=$(printf 'a%.0s' $(seq 65))
post_ok "$EVF" HTTP_X_REQUEST_ID="$long"
v=$(hdr X-Request-ID)
check "65-char X-Request-ID is replaced" bash -c '[[ "$1" =~ ^[A-Za-z0-9._-]{1,64}$ && "$1" != "$2" ]]' _ "$v" "$long"
post_ok "$EVF"
v1=$(hdr X-Request-ID); post_ok "$EVF"; v2=$(hdr X-Request-ID)
check "generated request ids differ between requests" test -n "$v1" -a "$v1" != "$v2"

# CR/LF in client headers: never in a response header, never a split audit line.
n=$(audit_n)
cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(badsig)" \
    "HTTP_X_REQUEST_ID=$(printf 'abc\r\nSet-Cookie: injected=1')" \
    "HTTP_USER_AGENT=$(printf 'evil\r\n{\"event_type\":\"forged\"}\nX-Injected: 1')"
expect_status 400 "CR/LF in X-Request-ID and User-Agent"
check "no injected header in the response" bash -c '! grep -qiE "^(Set-Cookie|X-Injected)" "$1"' _ "$RH"
expect_audit "$n" webhook_invalid_signature "CR/LF in User-Agent"
check "audit log: still one JSON object per line" audit_all_json "$AUDIT"
check "audit log: no forged record" bash -c '! jq -r .event_type "$1" | grep -qx forged' _ "$AUDIT"

# ------------------------------------------------------------------ method
for m in GET PUT DELETE; do
	n=$(audit_n)
	cgi_run "$m" -
	expect_error 405 method_not_allowed "$m"
	is "$(hdr Allow)" POST "$m: Allow: POST"
	check_headers "$m 405"
	expect_audit "$n" "" "$m 405"
done

# -------------------------------------------------------------------- body
newev
n=$(audit_n)
cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" -CONTENT_LENGTH
expect_error 411 length_required "no Content-Length"
check_headers "411"
expect_audit "$n" "" "411"
for cl in abc -1 12x " 12" 0x10; do
	n=$(audit_n)
	cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" "CONTENT_LENGTH=$cl"
	expect_error 400 invalid_content_length "Content-Length '$cl'"
	expect_audit "$n" "" "Content-Length '$cl'"
done
n=$(audit_n)
post_ok "$EVF" PAYGUARD_MAX_BODY=100
expect_error 413 payload_too_large "body above PAYGUARD_MAX_BODY=100"
check_headers "413"
expect_audit "$n" "" "413"
# Default limit 524288: exactly the limit passes, one byte more is refused.
pad() {	# pad FILE ID SIZE: an event of exactly SIZE bytes
	local head tail fill
	head=$(printf '{"id":"%s","object":"event","type":"payment_intent.succeeded","created":%s,"livemode":false,"api_version":"2024-06-20","data":{"object":{"pad":"' "$2" "$(now)")
	tail='"}}}'
	fill=$(( $3 - ${#head} - ${#tail} ))
	{ printf '%s' "$head"; head -c "$fill" /dev/zero | tr '\0' x; printf '%s' "$tail"; } > "$1"
}
pad "$BASE/max.json" evt_e2e$$max 524288
post_ok "$BASE/max.json"
expect_status 200 "body of exactly 524288 bytes (default PAYGUARD_MAX_BODY)"
pad "$BASE/max1.json" evt_e2e$$max1 524289
post_ok "$BASE/max1.json"
expect_error 413 payload_too_large "body of 524289 bytes"

# --------------------------------------------------------------- signature
newev; S=$EVF
sigerr() {	# sigerr SIGNATURE CODE DESC [ENV...]
	local s=$1 c=$2 d=$3 n; shift 3
	n=$(audit_n)
	if [ "$s" = NONE ]; then cgi_run POST "$S" "$@"; else post "$S" "$s" "$@"; fi
	expect_error 400 "$c" "$d"
	expect_audit "$n" "${SIGTYPE-webhook_invalid_signature}" "$d"
}
T=$(now)
GOOD=$(hmac_hex "$SECRET" "$T" "$S")
sigerr NONE signature_header_missing "no Stripe-Signature"
check_headers "400 signature"
sigerr "garbage" signature_header_malformed "Stripe-Signature 'garbage'"
sigerr "t=abc,v1=$GOOD" signature_header_malformed "non-numeric t="
sigerr "v1=$GOOD" signature_header_malformed "no t="
sigerr "t=$T" signature_no_v1 "t= without any v1="
sigerr "t=$T,v0=$GOOD" signature_no_v1 "only a v0 signature"
sigerr "t=$T,v1=$(printf '0%.0s' $(seq 64))" signature_mismatch "wrong v1"
sigerr "$(sign "$S" "$T" whsec_someoneelse)" signature_mismatch "signed with another secret"
sed 's/"amount": 2000/"amount": 2001/' "$S" > "$BASE/tampered.json"
n=$(audit_n)
post "$BASE/tampered.json" "t=$T,v1=$GOOD"
expect_error 400 signature_mismatch "tampered body"
SIGTYPE="" sigerr "$(sign "$S" $((T - 400)))" timestamp_too_old "valid signature, t 400 s old (tolerance 300)"
SIGTYPE="" sigerr "$(sign "$S" $((T + 400)))" timestamp_too_new "valid signature, t 400 s ahead"
SIGTYPE="" sigerr "$(sign "$S" $((T - 60)))" timestamp_too_old "t 60 s old with STRIPE_WEBHOOK_TOLERANCE=10" STRIPE_WEBHOOK_TOLERANCE=10
post "$S" "$(sign "$S" $((T - 250)))"
expect_status 200 "t 250 s old is within the tolerance"
newev
post "$EVF" "t=$T,v1=$(printf 'f%.0s' $(seq 64)),v1=$(hmac_hex "$SECRET" "$T" "$EVF")"
expect_status 200 "second of two v1 signatures matches"
newev
post "$EVF" "t=$T,v0=abc,v1=$(hmac_hex "$SECRET" "$T" "$EVF"),v2=zzz,foo=bar"
expect_status 200 "v0 and unknown schemes are ignored"
OLD=whsec_old$$rotated
EXTRA_SECRETS=$OLD
newev
post "$EVF" "$(sign "$EVF" "" "$OLD")" STRIPE_WEBHOOK_SECRET="$SECRET,$OLD"
expect_status 200 "two secrets: signed with the second"
newev
post "$EVF" "$(sign "$EVF")" STRIPE_WEBHOOK_SECRET="$OLD,$SECRET"
expect_status 200 "two secrets: signed with the second (other order)"
newev
post "$EVF" "$(sign "$EVF" "" whsec_third)" STRIPE_WEBHOOK_SECRET="$SECRET,$OLD"
expect_error 400 signature_mismatch "two secrets: signed with neither"

# ---------------------------------------------------------------- payload
perr() {	# perr DESC (body in $BASE/p.json): signed, must be payload_invalid
	local n
	n=$(audit_n)
	post_ok "$BASE/p.json"
	expect_error 400 payload_invalid "$1"
	expect_audit "$n" webhook_invalid_payload "$1"
}
C=$(now)
J='"object":"event","type":"charge.succeeded","created":'$C',"data":{"object":{}}'
printf '{not json' > "$BASE/p.json";                          perr "invalid JSON"
printf '' > "$BASE/p.json";                                   perr "empty body"
printf '[{"id":"evt_1",%s}]' "$J" > "$BASE/p.json";           perr "an array, not an object"
printf '"evt_1"' > "$BASE/p.json";                            perr "a JSON string"
printf '{"id":"ch_1",%s}' "$J" > "$BASE/p.json";              perr "id not starting evt_"
printf '{%s}' "$J" > "$BASE/p.json";                          perr "id missing"
printf '{"id":42,%s}' "$J" > "$BASE/p.json";                  perr "id not a string"
printf '{"id":"evt_p1","object":"charge","type":"x","created":%s}' "$C" > "$BASE/p.json"; perr "object not event"
printf '{"id":"evt_p2","object":"event","type":42,"created":%s}' "$C" > "$BASE/p.json";   perr "type not a string"
printf '{"id":"evt_p3","object":"event","created":%s}' "$C" > "$BASE/p.json";            perr "type missing"
printf '{"id":"evt_p4","object":"event","type":"x","created":"%s"}' "$C" > "$BASE/p.json"; perr "created a string"
printf '{"id":"evt_p5","object":"event","type":"x","created":1.5}' > "$BASE/p.json";      perr "created not an integer"
printf '{"id":"evt_p6","object":"event","type":"x"}' > "$BASE/p.json";                     perr "created missing"
printf '{"id":"evt_p7",%s} trailing' "$J" > "$BASE/p.json";   perr "trailing garbage"
printf '{"id":"evt_p8","object":"event","type":"x","created":%s,"data":{"n":"\xff\xfe"}}' "$C" > "$BASE/p.json"; perr "non-UTF-8 bytes"
{ printf '{"id":"evt_p9","object":"event","type":"x","created":%s,"data":' "$C"
  printf '[%.0s' $(seq 1000); printf ']%.0s' $(seq 1000); printf '}'; } > "$BASE/p.json"
perr "1000 nested arrays"

# api_version
newev payment_intent.created 2023-10-16
n=$(audit_n)
post_ok "$EVF"
expect_status 200 "api_version mismatch, not strict: accepted"
check "api_version mismatch, not strict: audit record" \
    bash -c 'tail -n +$(($2 + 1)) "$1" | jq -r .event_type | grep -qx webhook_api_version_mismatch' _ "$AUDIT" "$n"
newev payment_intent.created 2023-10-16
n=$(audit_n)
post_ok "$EVF" PAYGUARD_WEBHOOK_STRICT_API_VERSION=1
expect_error 400 api_version_mismatch "api_version mismatch, strict"
expect_audit "$n" webhook_api_version_mismatch "api_version mismatch, strict"
newev
post_ok "$EVF" PAYGUARD_WEBHOOK_STRICT_API_VERSION=1
expect_status 200 "matching api_version, strict"

# ------------------------------------------------------------ IP allowlist
newev
n=$(audit_n)
post_ok "$EVF" REMOTE_ADDR=10.1.2.3
expect_error 403 ip_not_allowed "peer 10.1.2.3 not in 127.0.0.1,::1"
check_headers "403"
expect_audit "$n" webhook_invalid_ip "403"
is "$(tail -n 1 "$AUDIT" | jq -r .source_ip)" 10.1.2.3 "audit source_ip is the peer"
post_ok "$EVF" REMOTE_ADDR=10.1.2.3 STRIPE_WEBHOOK_ALLOWED_IPS=192.0.2.1,10.1.0.0/16
expect_status 200 "peer inside an allowed v4 CIDR"
newev
post_ok "$EVF" REMOTE_ADDR=::1
expect_status 200 "IPv6 peer ::1 allowed"
newev
post_ok "$EVF" REMOTE_ADDR=2001:db8:0:1::5 STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1,2001:db8::/32
expect_status 200 "peer inside an allowed v6 CIDR"
post_ok "$EVF" REMOTE_ADDR=2001:db9::1 STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1,2001:db8::/32
expect_error 403 ip_not_allowed "v6 peer outside the CIDR"
newev
post_ok "$EVF" REMOTE_ADDR=10.5.5.5 HTTP_X_FORWARDED_FOR=127.0.0.1
expect_error 403 ip_not_allowed "X-Forwarded-For from an untrusted peer is ignored"
post_ok "$EVF" REMOTE_ADDR=10.5.5.5 HTTP_X_FORWARDED_FOR=127.0.0.1 PAYGUARD_TRUSTED_PROXIES=10.5.5.0/24
expect_status 200 "X-Forwarded-For from a trusted proxy counts"
newev
post_ok "$EVF" REMOTE_ADDR=10.5.5.5 "HTTP_X_FORWARDED_FOR=127.0.0.1, 6.6.6.6" PAYGUARD_TRUSTED_PROXIES=10.5.5.5
expect_error 403 ip_not_allowed "spoofed left X-Forwarded-For entry behind a trusted proxy"
post_ok "$EVF" REMOTE_ADDR=127.0.0.1 HTTP_X_FORWARDED_FOR=10.1.2.3
expect_status 200 "X-Forwarded-For ignored without trusted proxies"
if [ -f "$SRC/data/stripe-webhook-ips.txt" ]; then
	newev
	post_ok "$EVF" -STRIPE_WEBHOOK_ALLOWED_IPS PAYGUARD_DATA_DIR="$SRC/data"
	expect_error 403 ip_not_allowed "shipped Stripe list: 127.0.0.1 refused"
	post_ok "$EVF" -STRIPE_WEBHOOK_ALLOWED_IPS PAYGUARD_DATA_DIR="$SRC/data" REMOTE_ADDR=3.18.12.63
	expect_status 200 "shipped Stripe list: 3.18.12.63 (Stripe) allowed"
else
	not_ok "data/stripe-webhook-ips.txt (the shipped Stripe list) exists"
fi

# ------------------------------------------------------------------- order
newev
post "$EVF" "$(badsig)" -CONTENT_LENGTH REMOTE_ADDR=10.9.9.9
expect_error 403 ip_not_allowed "order: IP before body"
cgi_run POST "$EVF" -CONTENT_LENGTH
expect_error 411 length_required "order: body before signature"
printf '{not json' > "$BASE/p.json"
post "$BASE/p.json" "t=$(now),v1=$(printf '0%.0s' $(seq 64))"
expect_error 400 signature_mismatch "order: signature before payload"
RL=$(new_state rl)
SAVE=("${CGI_ENV[@]}")
CGI_ENV+=(PAYGUARD_STATE_DIR="$RL" PAYGUARD_RATE_LIMITS=webhook=3)
AUDIT_SAVE=$AUDIT AUDIT=$RL/logs/security_audit.log
for i in 1 2 3; do
	post "$EVF" "$(badsig)" REMOTE_ADDR=10.9.9.9
	is "$RS/$(hdr X-RateLimit-Remaining)" "403/$((3 - i))" "rate limit: request $i of 3 from a refused IP passes the limiter"
done
is "$(hdr RateLimit-Policy)|$(hdr X-RateLimit-Limit)" '"webhook";q=3;w=60|3' "rate limit: policy headers"
n=$(audit_n)
post "$EVF" "$(badsig)" REMOTE_ADDR=10.9.9.9
expect_error 429 rate_limited "order: rate limit before IP (4th of 3)"
ra=$(hdr Retry-After)
check "429: Retry-After is an integer in 1..60 ($ra)" bash -c '[[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 60 ]' _ "$ra"
is "$(hdr X-RateLimit-Remaining)" 0 "429: X-RateLimit-Remaining 0"
check_headers "429"
expect_audit "$n" webhook_rate_limit_exceeded "429"
newev
post_ok "$EVF" REMOTE_ADDR=::1
expect_status 200 "rate limit is per source IP"
cgi_run GET - REMOTE_ADDR=10.9.9.9 STRIPE_RATE_LIMIT_ENABLED=false
check "STRIPE_RATE_LIMIT_ENABLED=false: no 429" test "$RS" != 429
RL2=$(new_state rl2)
CGI_ENV+=(PAYGUARD_STATE_DIR="$RL2" PAYGUARD_RATE_LIMITS=webhook=1 STRIPE_RATE_LIMIT_WINDOW=2)
post "$EVF" "$(badsig)"
post "$EVF" "$(badsig)"
ra=$(hdr Retry-After)
is "$RS/$ra" "429/2" "window 2 s: 429 with Retry-After 2 (rounded up)"
sleep 2.2
post "$EVF" "$(badsig)"
is "$RS" 400 "window 2 s: admitted again after Retry-After"
CGI_ENV=("${SAVE[@]}")
AUDIT=$AUDIT_SAVE

# ------------------------------------------------------------ sync delivery
SY=$(new_state sync)
CGI_ENV+=(PAYGUARD_STATE_DIR="$SY" PAYGUARD_WEBHOOK_DELIVERY=sync)
newev
post_ok "$EVF"
is "$RS/$(jb .received)/$(runs "$EV")" "200/true/1" "sync: handler ran inside the request, 200"
check "sync: handler stdin is the raw event" cmp -s "$EVF" "$(ls "$HOUT"/ev."$EV".* | head -1)"
newev charge.refunded 2024-06-20 true
post_ok "$EVF"
is "$(grep "^$EV " "$HOUT/runs.log" | head -1 | cut -d' ' -f2-)" "charge.refunded true" "sync: PAYGUARD_EVENT_TYPE and PAYGUARD_EVENT_LIVEMODE=true"
newev
touch "$HOUT/fail_once.$EV"
post_ok "$EVF"
is "$RS/$(jb .error.code)/$(runs "$EV")" "500/handler_failed/1" "sync: handler exit 1 -> 500 handler_failed"
check_headers "500 handler_failed"
post_ok "$EVF"
is "$RS/$(jb "(.duplicate // false)")/$(runs "$EV")" "200/false/2" "sync: Stripe's retry after a failure is delivered again"
post_ok "$EVF"
is "$RS/$(jb .duplicate)/$(runs "$EV")" "200/true/2" "sync: retry after success is a duplicate, no run"
newev
echo 3 > "$HOUT/sleep"
t0=$(date +%s%N)
post_ok "$EVF" PAYGUARD_HANDLER_TIMEOUT=1
dt=$(( ($(date +%s%N) - t0) / 1000000 ))
rm -f "$HOUT/sleep"
is "$RS/$(jb .error.code)" "500/handler_failed" "sync: handler over PAYGUARD_HANDLER_TIMEOUT=1 -> 500"
check "sync: the timeout is enforced (${dt} ms < 2900)" test "$dt" -lt 2900
# A second delivery of an event being delivered: 409, never a second run.
newev
echo 2 > "$HOUT/sleep"
( RH=$BASE/bg.h RB=$BASE/bg.b; post_ok "$EVF"; echo "$RS" > "$BASE/first.status" ) &
bg=$!
n=0; while [ "$(runs "$EV")" = 0 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
post_ok "$EVF"
expect_error 409 delivery_in_progress "sync: same event while it is being delivered"
wait $bg
rm -f "$HOUT/sleep"
is "$(cat "$BASE/first.status")/$(runs "$EV")" "200/1" "sync: the first delivery succeeded, handler ran once"
post_ok "$EVF"
is "$RS/$(jb .duplicate)/$(runs "$EV")" "200/true/1" "sync: after the in-progress one, a duplicate"
CGI_ENV=("${SAVE[@]}")

# --------------------------------------------------- queue: retries, dead
Q=$(new_state queue)
CGI_ENV+=(PAYGUARD_STATE_DIR="$Q")
CLI_ENV=("${BASE_ENV[@]}" PAYGUARD_STATE_DIR="$Q" PAYGUARD_MAX_ATTEMPTS=2 PAYGUARD_RETRY_BASE=0)
touch "$HOUT/fail_always"
newev; D=$EV
post_ok "$EVF"
expect_status 200 "queue: accepted"
for i in 1 2 3; do pgcli inbox drain >/dev/null; done
inbox_json
is "$(inbox_field "$D" state)/$(inbox_field "$D" attempts)/$(runs "$D")" "dead/2/2" "queue: dead letter after PAYGUARD_MAX_ATTEMPTS=2 failures"
pgcli inbox retry "$D" >/dev/null; rc=$?
inbox_json
is "$rc/$(inbox_field "$D" state)" "0/pending" "inbox retry: dead -> pending"
rm -f "$HOUT/fail_always"
pgcli inbox drain >/dev/null
inbox_json
is "$(inbox_field "$D" state)/$(runs "$D")" "delivered/3" "retried event delivered by drain"
newev; W=$EV
post_ok "$EVF"
pgcli worker --once >/dev/null; rc=$?
inbox_json
is "$rc/$(inbox_field "$W" state)/$(runs "$W")" "0/delivered/1" "worker --once delivers pending events"
touch "$HOUT/fail_always"
newev; X=$EV
post_ok "$EVF"
for i in 1 2 3; do pgcli inbox drain >/dev/null; done
rm -f "$HOUT/fail_always"
inbox_json
is "$(inbox_field "$X" state)" dead "second event dead"
pgcli inbox purge --dead >/dev/null; rc=$?
inbox_json
is "$rc/$(inbox_field "$X" state)/$(inbox_field "$W" state)" "0/absent/delivered" "inbox purge --dead removes only dead records"
pgcli inbox purge --all >/dev/null; rc=$?
inbox_json
is "$rc/$(jq length "$BASE/inbox.json")" "0/0" "inbox purge --all empties the inbox"
CGI_ENV=("${SAVE[@]}")
CLI_ENV=("${BASE_ENV[@]}")

# ----------------------------------------------------------- configuration
: > "$LOGS/cfg.err"
cfg500() {	# cfg500 DESC SECRETVALUE [ENV...]: 500, generic body, one stderr line
	local d=$1 v=$2; shift 2
	cgi_run POST "$AF" HTTP_STRIPE_SIGNATURE="$(sign "$AF")" "$@"
	is "$RS/$(jb 'has("error")')" "500/true" "$d: 500 with a JSON error body"
	check_headers "$d" norl
	is "$(grep -c . "$CGI_ERR")" 1 "$d: one line in the error log"
	check "$d: the line names STRIPE_WEBHOOK_SECRET" grep -q STRIPE_WEBHOOK_SECRET "$CGI_ERR"
	if [ -n "$v" ]; then
		check "$d: the value is not logged" bash -c '! grep -qF -- "$1" "$2" "$3"' _ "$v" "$CGI_ERR" "$RB"
	fi
}
cfg500 "secret missing" "" -STRIPE_WEBHOOK_SECRET
cfg500 "secret not whsec_" "sk_live_plantedVALUE4242" STRIPE_WEBHOOK_SECRET=sk_live_plantedVALUE4242
cfg500 "empty secret" "" STRIPE_WEBHOOK_SECRET=
cgi_run GET - -STRIPE_WEBHOOK_SECRET
is "$RS" 500 "secret missing: GET gets 500 too"

printf '%s\n' "$SECRET" > "$BASE/secret.txt"; chown root:$WWW "$BASE/secret.txt"; chmod 0640 "$BASE/secret.txt"
newev
post_ok "$EVF" -STRIPE_WEBHOOK_SECRET STRIPE_WEBHOOK_SECRET_FILE="$BASE/secret.txt"
expect_status 200 "STRIPE_WEBHOOK_SECRET_FILE (with trailing newline)"
write_ini "$BASE/pg.ini" STRIPE_WEBHOOK_SECRET="$SECRET" STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1 STRIPE_API_VERSION=2024-06-20
newev
cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" -STRIPE_WEBHOOK_SECRET -STRIPE_WEBHOOK_ALLOWED_IPS PAYGUARD_CONFIG="$BASE/pg.ini"
expect_status 200 "PAYGUARD_CONFIG INI file supplies the secret and allowlist"
write_ini "$BASE/wrong.ini" STRIPE_WEBHOOK_SECRET=whsec_wrongwrongwrong
newev
post_ok "$EVF" PAYGUARD_CONFIG="$BASE/wrong.ini"
expect_status 200 "environment overrides the INI file"
mkdir -p "$BASE/exedir"
cp "$BIN/webhook.fcgi" "$BASE/exedir/"
write_ini "$BASE/exedir/payguard.ini" PAYGUARD_STATE_DIR="$STATE" STRIPE_WEBHOOK_SECRET="$SECRET" STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1
newev
CGI_PROG=$BASE/exedir/webhook.fcgi cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" \
    -STRIPE_WEBHOOK_SECRET -STRIPE_WEBHOOK_ALLOWED_IPS -PAYGUARD_STATE_DIR
expect_status 200 "payguard.ini next to the executable (no PAYGUARD_CONFIG)"

out=$(pgcli config check); rc=$?
is "$rc" 0 "config check exits 0"
check "config check shows STRIPE_WEBHOOK_SECRET" grep -q STRIPE_WEBHOOK_SECRET <<<"$out"
check "config check never prints the full secret" bash -c '! grep -qF -- "$1" <<<"$2"' _ "$SECRET" "$out"
check "config check: webhook.fcgi ready" grep -q '^# webhook.fcgi: ready$' <<<"$out"
check "config check: api.fcgi would refuse, naming STRIPE_SECRET_KEY" \
    grep -q '^# api.fcgi: would refuse to serve: STRIPE_SECRET_KEY: not set$' <<<"$out"
out=$(setpriv --reuid=$WWW_UID --regid=$WWW_GID --clear-groups env -i PATH=/usr/bin:/bin \
    PAYGUARD_STATE_DIR="$STATE" STRIPE_WEBHOOK_SECRET=sk_live_notawebhooksecret \
    "$BIN/payguard" config check 2>/dev/null); rc=$?
is "$rc" 1 "config check: exit 1 when no program would serve"
check "config check: the malformed secret is named, not shown" \
    bash -c 'grep -q "STRIPE_WEBHOOK_SECRET: malformed" <<<"$1" && ! grep -q notawebhooksecret <<<"$1"' _ "$out"

# ------------------------------------------------------------------- audit
newev
n=$(audit_n)
post "$EVF" "$(badsig)" HTTP_X_REQUEST_ID=audit-rid-42 "HTTP_USER_AGENT=e2e-agent/1.0"
last=$(tail -n 1 "$AUDIT")
is "$(jq -r '[.request_id, .source_ip, .user_agent] | join(" ")' <<<"$last")" "audit-rid-42 127.0.0.1 e2e-agent/1.0" "audit line: request_id, source_ip, user_agent"
check "every audit line is a JSON object" audit_all_json "$AUDIT"
scan_leaks "plain CGI" "$AUDIT" "$STATE"/logs/*.log "$LOGS/cgi.log" "$LOGS/cli.log" \
    "$SY"/logs/*.log "$Q"/logs/*.log "$RL"/logs/*.log
finish
