#!/bin/bash
# Data at rest: after both programs have stored personal data (webhook
# events in the inbox, idempotent API responses), the raw LMDB files hold
# no customer email, name or card last4 in plaintext, and the state files
# are private (0600 in a 0700 directory).
. "$SRC/tests/harness/lib.sh"
. "$SRC/tests/harness/api_lib.sh"
api_setup
start_fake 19891

NAME="Zebulon Quintavius $$"
EMAIL="zq.$$.canary@example.com"
CGI_ENV=(PAYGUARD_STATE_DIR="$STATE" STRIPE_WEBHOOK_SECRET="$SECRET"
    STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1)

# 1. Webhook events whose bodies carry the customer's name, email, card.
for i in 1 2 3; do
	f=$BASE/ev$i.json
	printf '{"id":"evt_rest%s_%s","object":"event","type":"charge.succeeded","created":%s,"data":{"object":{"billing_details":{"name":"%s","email":"%s"},"payment_method_details":{"card":{"brand":"visa","last4":"4242","exp_month":12}}}}}' \
	    "$$" "$i" "$(now)" "$NAME" "$EMAIL" > "$f"
	CGI_PROG=$BIN/webhook.fcgi cgi_run POST "$f" HTTP_STRIPE_SIGNATURE="$(sign "$f")"
	is "$RS" 200 "webhook event $i accepted"
done
pgcli inbox show "evt_rest$$_1" > "$BASE/show.json"
check "the inbox decrypts its own records (payguard inbox show)" bash -c "grep -q '$EMAIL' '$BASE/show.json'"

# 2. Idempotent API requests: stored response bodies hold name and email.
CGI_PROG=$BIN/api.fcgi
TOK=$(token shop write)
check "gateway token created" bash -c "[ -n '$TOK' ]"
api_env
printf 'email=%s&name=%s' "$EMAIL" "$(echo "$NAME" | sed 's/ /+/g')" > "$BASE/c.form"
api_cgi POST /v1/customers "$BASE/c.form" HTTP_AUTHORIZATION="Bearer $TOK" \
    HTTP_IDEMPOTENCY_KEY="rest-$$" CONTENT_TYPE=application/x-www-form-urlencoded
is "$RS" 200 "customer created through the gateway"
check "the response carries the email" bash -c "grep -q '$EMAIL' '$RB'"
api_cgi POST /v1/customers "$BASE/c.form" HTTP_AUTHORIZATION="Bearer $TOK" \
    HTTP_IDEMPOTENCY_KEY="rest-$$" CONTENT_TYPE=application/x-www-form-urlencoded
is "$(hdr Idempotent-Replayed)" true "the replay comes from the stored (encrypted) body"
check "the replayed body is the original" bash -c "grep -q '$EMAIL' '$RB'"

# 3. Scan every file of the state directory except the audit log.
# Positive control: event ids are clear keys, so the scan can see text.
check "the scan finds clear keys (event ids) in data.mdb" \
    grep -qaF "evt_rest$$_1" "$STATE/data.mdb"
for f in "$STATE"/data.mdb "$STATE"/lock.mdb; do
	b=$(basename "$f")
	check "$b exists" test -f "$f"
	check "no email in plaintext in $b" bash -c "! grep -qaF '$EMAIL' '$f'"
	check "no name in plaintext in $b" bash -c "! grep -qaF '$NAME' '$f'"
	check "no card last4 field in plaintext in $b" bash -c "! grep -qaF '\"last4\"' '$f'"
	check "no gateway token in $b" bash -c "! grep -qaF '$TOK' '$f'"
	check "no Stripe secret key in $b" bash -c "! grep -qaF '$SK' '$f'"
	is "$(stat -c %a "$f")" 600 "$b is mode 0600"
done
is "$(stat -c %a "$STATE")" 700 "the state directory is mode 0700"
for f in "$STATE"/*.key; do
	is "$(stat -c %a "$f")" 600 "$(basename "$f") is mode 0600"
done
check "no email in the audit log" bash -c "! grep -qaF '$EMAIL' '$AUDIT'"
check "no name in the audit log" bash -c "! grep -qaF '$NAME' '$AUDIT'"
finish
