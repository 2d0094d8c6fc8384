#!/bin/bash
# HTTP forwarding of accepted events (PAYGUARD_WEBHOOK_FORWARD_URL) to
# real receivers: a Node app verifying with the standardwebhooks npm
# package, and a PHP script under Apache + mod_fcgid + php-cgi verifying
# by hand as the README shows and recording the event.  webhook.fcgi as
# plain CGI, `payguard inbox drain` for queue mode, sync mode in the
# request; Standard Webhooks and X-Payguard-* headers, the exact raw body;
# failures (5xx, timeout, a 3xx never followed, connection refused, an
# unverifiable TLS certificate, a receiver that rejects the signature)
# retried and ending in the dead letter; configuration refusals;
# `payguard forward-secret`; the secret in no log.  Ports 19878-19881.
. "$SRC/tests/harness/lib.sh"
NODE_DIR=$SRC/tests/node
[ -d "$NODE_DIR/node_modules/standardwebhooks" ] || bail "tests/node/node_modules holds standardwebhooks (make node-deps)"
need_ports 19878 19881
pg_setup

# libcurl is loaded only when forwarding is configured (lib/curlrt):
# webhook.fcgi does not name it, so an executable handler never maps it.
check "webhook.fcgi does not link libcurl (loaded by dlopen when forwarding)" \
    bash -c '! readelf -d "$1" | grep -q "NEEDED.*libcurl"' _ "$O/webhook.fcgi"
FS=$(pgcli forward-secret)
check "payguard forward-secret: whsec_ + base64 of 32 bytes" bash -c '[[ "$1" =~ ^whsec_[A-Za-z0-9+/]{43}=$ ]] && [ "$(printf %s "${1#whsec_}" | base64 -d | wc -c)" = 32 ]' _ "$FS"
FS2=$(pgcli forward-secret)
check "payguard forward-secret: a new one every time" [ -n "$FS2" -a "$FS" != "$FS2" ]
EXTRA_SECRETS="$FS $FS2"

# ------------------------------------------------------------ receivers
REC=$HOUT/node.jsonl PREC=$HOUT/php.jsonl
: > "$REC"; : > "$PREC"; chown $WWW:$WWW "$PREC"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$BASE/tls.key" -out "$BASE/tls.crt" > /dev/null 2>&1
env -i PATH=/usr/bin:/bin NODE_PATH="$NODE_DIR/node_modules" FORWARD_SECRET="$FS" \
    node "$NODE_DIR/forward_receiver.js" 19878 19879 "$BASE/tls.crt" "$BASE/tls.key" "$REC" \
    > "$BASE/receiver.out" 2> "$LOGS/receiver.err" &
track $!
for i in $(seq 100); do grep -q ready "$BASE/receiver.out" && break; sleep 0.05; done
grep -q ready "$BASE/receiver.out" || bail "the Node receiver listens on 19878/19879"

_apache_head php 19880
cp "$SRC/tests/php/forward_receiver.php" "$R/htdocs/events.php"
printf '#!/bin/sh\nexport PHP_FCGI_MAX_REQUESTS=5000\nexec /usr/bin/php-cgi\n' > "$R/php-wrapper"
chmod 0755 "$R/php-wrapper" "$R/htdocs"; chmod 0644 "$R/htdocs/events.php"
cat >> "$R/httpd.conf" <<EOF
FcgidInitialEnv PAYGUARD_FORWARD_SECRET "$FS"
FcgidInitialEnv RECORD_FILE "$PREC"
<Directory "$R/htdocs">
    Require all granted
    Options +ExecCGI
    AddHandler fcgid-script .php
    FcgidWrapper $R/php-wrapper .php
</Directory>
EOF
_apache_run php 19880
PHP_ERR=$ERRLOG

# ------------------------------------------------------------ payguard
NODE_OK=http://127.0.0.1:19878/ok
BASE_ENV=(PAYGUARD_STATE_DIR="$STATE" STRIPE_WEBHOOK_SECRET="$SECRET"
    STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1,::1 PAYGUARD_SYNC=0
    PAYGUARD_RETRY_BASE=0 PAYGUARD_MAX_ATTEMPTS=2 PAYGUARD_HANDLER_TIMEOUT=2
    PAYGUARD_WEBHOOK_FORWARD_URL="$NODE_OK" PAYGUARD_FORWARD_SECRET="$FS")
CGI_ENV=("${BASE_ENV[@]}")
CLI_ENV=("${BASE_ENV[@]}")
post_ok() { local f=$1; shift; cgi_run POST "$f" HTTP_STRIPE_SIGNATURE="$(sign "$f")" "$@"; }
# rec ID [FILE]: the receiver's records for webhook-id ID (a JSON array)
rec() { jq -cs --arg id "$1" '[.[] | select(.id == $id)]' "${2:-$REC}"; }
drain() { pgcli inbox drain > /dev/null; }

# Queue mode: accepted now, forwarded by the drain.
newev customer.created; E1=$EV
jq -c '. + {account: "acct_1Fwd"}' "$EVF" > "$BASE/e1.json"
post_ok "$BASE/e1.json"
is "$RS/$(jb .received)/$(rec "$E1" | jq length)" "200/true/0" "queue mode: 200 at once, nothing forwarded inside the request"
drain
is "$(rec "$E1" | jq -c '[.[] | [.path, .verified, .type, .kind, .source, .account, .content_type]]')" \
    '[["/ok",true,"customer.created","snapshot","webhook","acct_1Fwd","application/json"]]' \
    "drain: one POST, verified by standardwebhooks, X-Payguard-Event-Type/-Kind/-Source/-Account"
is "$(rec "$E1" | jq -r '.[0].sha256')" "$(sha256sum "$BASE/e1.json" | cut -d' ' -f1)" "the exact raw body was forwarded"
inbox_json
is "$(inbox_field "$E1" state)" delivered "a 2xx from the receiver: delivered"
drain
is "$(rec "$E1" | jq length)" 1 "a second drain forwards nothing again"

# A thin event: kind and account (context) headers.
TH=evt_test_fwdthin$$
printf '{"id":"%s","object":"v2.core.event","type":"v1.billing.meter.error_report_triggered","livemode":false,"created":"%s","context":"acct_1Thin","related_object":{"id":"mtr_1","type":"billing.meter","url":"/v1/billing/meters/mtr_1"}}' \
    "$TH" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$BASE/thin.json"
post_ok "$BASE/thin.json"
drain
is "$(rec "$TH" | jq -c '[.[] | [.verified, .kind, .account]]')" '[[true,"thin","acct_1Thin"]]' "a thin event: X-Payguard-Event-Kind: thin, its context as the account"

# Sync mode: forwarded inside the request.
SY=$(new_state sync)
newev invoice.paid; E2=$EV
post_ok "$EVF" PAYGUARD_STATE_DIR="$SY" PAYGUARD_WEBHOOK_DELIVERY=sync
is "$RS/$(rec "$E2" | jq -c '[.[] | .verified]')" "200/[true]" "sync mode: forwarded and verified before the 200"
newev invoice.paid; E3=$EV
post_ok "$EVF" PAYGUARD_STATE_DIR="$SY" PAYGUARD_WEBHOOK_DELIVERY=sync PAYGUARD_WEBHOOK_FORWARD_URL=http://127.0.0.1:19878/fail
is "$RS/$(jb .error.code)" "500/handler_failed" "sync mode, the receiver answers 500: 500 so that Stripe retries"
post_ok "$EVF" PAYGUARD_STATE_DIR="$SY" PAYGUARD_WEBHOOK_DELIVERY=sync
is "$RS/$(rec "$E3" | jq -c '[.[] | .path]')" '200/["/fail","/ok"]' "sync mode: Stripe's retry is forwarded again and delivered"

# ------------------------------------------- failures end in the dead letter
# fail_case NAME URL: an event forwarded to URL: with MAX_ATTEMPTS=2 and
# RETRY_BASE=0 one drain makes both attempts, then it is dead; a drain
# after that does nothing.  Sets FE (its id).
fail_case() {
	newev; FE=$EV
	post_ok "$EVF"
	CLI_ENV=("${BASE_ENV[@]}" PAYGUARD_WEBHOOK_FORWARD_URL="$2")
	drain; inbox_json
	local a=$(inbox_field "$FE" attempts)/$(inbox_field "$FE" state)
	drain; inbox_json
	is "$a, then $(inbox_field "$FE" attempts)/$(inbox_field "$FE" state)" "2/dead, then 2/dead" "$1: retried, then the dead letter"
	CLI_ENV=("${BASE_ENV[@]}")
}
fail_case "the receiver answers 500" http://127.0.0.1:19878/fail
is "$(rec "$FE" | jq -c '[.[] | .path]')" '["/fail","/fail"]' "500: two attempts reached the receiver"
check "500: the reason is recorded" bash -c '[[ "$1" == *"HTTP 500"* ]]' _ "$(inbox_field "$FE" last_error)"
fail_case "the receiver is slower than PAYGUARD_HANDLER_TIMEOUT" http://127.0.0.1:19878/slow
check "timeout: the reason is recorded ($(inbox_field "$FE" last_error))" bash -c '[[ "$1" == *"timed out"* ]]' _ "$(inbox_field "$FE" last_error)"
fail_case "the receiver answers 302" http://127.0.0.1:19878/redirect
is "$(rec "$FE" | jq -c '[.[] | .path]')" '["/redirect","/redirect"]' "302: the redirect was never followed"
check "302: the reason says so" bash -c '[[ "$1" == *"HTTP 302"*"not followed"* ]]' _ "$(inbox_field "$FE" last_error)"
fail_case "nothing listens" http://127.0.0.1:19881/ok
fail_case "a TLS certificate that does not verify" https://127.0.0.1:19879/ok
is "$(rec "$FE" | jq length)" 0 "TLS: nothing was sent to the unverified server"
check "TLS: the reason names the certificate ($(inbox_field "$FE" last_error))" bash -c '[[ "$1" == *ertificate* ]]' _ "$(inbox_field "$FE" last_error)"
newev; WRONG=$EV
post_ok "$EVF"
CLI_ENV=("${BASE_ENV[@]}" PAYGUARD_WEBHOOK_FORWARD_URL=http://127.0.0.1:19880/events.php PAYGUARD_FORWARD_SECRET="$FS2")
drain; inbox_json
is "$(inbox_field "$WRONG" attempts)/$(inbox_field "$WRONG" state)/$(jq -cs --arg id "$WRONG" '[.[] | select(.id == $id) | .verified]' "$PREC")" '2/dead/[false,false]' \
    "PHP receiver, payguard signing with another secret: the PHP check rejects it (400), retried, dead letter"
CLI_ENV=("${BASE_ENV[@]}")

# ------------------------------------------------------- the PHP receiver
CLI_ENV=("${BASE_ENV[@]}" PAYGUARD_WEBHOOK_FORWARD_URL=http://127.0.0.1:19880/events.php)
newev payment_intent.succeeded; P1=$EV
jq -c '. + {account: "acct_1Php"}' "$EVF" > "$BASE/p1.json"
post_ok "$BASE/p1.json"
drain; inbox_json
is "$(inbox_field "$P1" state)" delivered "PHP under Apache (php-cgi): 2xx, delivered"
is "$(jq -cs --arg id "$P1" '[.[] | select(.id == $id) | [.verified, .webhook_id, .type, .kind, .account]]' "$PREC")" \
    "[[true,\"$P1\",\"payment_intent.succeeded\",\"snapshot\",\"acct_1Php\"]]" "PHP verified the signature and recorded the event"
is "$(jq -rs --arg id "$P1" '[.[] | select(.id == $id)][0].sha256' "$PREC")" "$(sha256sum "$BASE/p1.json" | cut -d' ' -f1)" "PHP got the exact raw body"
CLI_ENV=("${BASE_ENV[@]}")

# ------------------------------------------------------- configuration
newev; CE=$EV
for bad in "PAYGUARD_WEBHOOK_FORWARD_URL=http://shop.example.com/events" \
    "PAYGUARD_FORWARD_SECRET=whsec_short" "-PAYGUARD_FORWARD_SECRET" \
    "PAYGUARD_WEBHOOK_HANDLER=/bin/true"; do
	post_ok "$EVF" "$bad"
	is "$RS/$(grep -c 'refusing to serve: PAYGUARD_' "$CGI_ERR")" "500/1" "webhook.fcgi with $bad: refuses to serve, naming the variable"
done
inbox_json
is "$(inbox_field "$CE" state)" absent "nothing was accepted with a bad forwarding configuration"
post_ok "$EVF"
CLI_ENV=("${BASE_ENV[@]}" PAYGUARD_WEBHOOK_FORWARD_URL=http://shop.example.com/events)
pgcli inbox drain > /dev/null
rc=$?
inbox_json
is "$rc/$(inbox_field "$CE" attempts)/$(inbox_field "$CE" state)" "1/0/pending" "drain with plain http to a remote host: refuses, the event keeps its attempts"
CLI_ENV=("${BASE_ENV[@]}")
pgcli config check > "$BASE/config.out"
check "config check masks PAYGUARD_FORWARD_SECRET" bash -c 'grep -q "^PAYGUARD_FORWARD_SECRET=" "$1" && ! grep -qF "$2" "$1"' _ "$BASE/config.out" "$FS"

scan_leaks "forwarding" "$LOGS"/*.log "$AUDIT" "$STATE"/logs/*.log "$PHP_ERR" "$BASE/config.out"
finish
