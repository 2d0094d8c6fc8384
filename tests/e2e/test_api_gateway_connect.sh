#!/bin/bash
# api.fcgi as plain CGI against the strict fake Stripe (issue 12):
# Connect (Stripe-Account / Stripe-Context passed upstream, token
# --accounts limits with 403 permission_error, the account in the
# idempotency scope, the rate-limit identity and the audit record), v2
# routes under /v2 with JSON bodies passed as JSON, screened for card
# data, idempotent as v1, and Stripe-Should-Retry + Retry-After on the
# gateway's own 429 and 409.  Ports 19870-19871.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/api_lib.sh"

need_ports 19870 19871
api_setup
API_CONF+=(PAYGUARD_API_ROUTES="customers=customer,payment_intents=payment_intent,v2/core/accounts=account,v2/core/event_destinations=event_destination")
API_CONF+=(PAYGUARD_RATE_LIMITS="customer=100000,payment_intent=100000,account=100000,event_destination=100000,default=100000")
start_fake 19870
A=acct_1FakeConnectA B=acct_1FakeConnectB

TP=$(token platform write)
TA=$(pgcli token create --name conn_a --scope write --accounts "$A")
TS=$(pgcli token create --name any_acct --scope write --accounts '*')
check "token create --accounts prints a token" bash -c '[[ "$1" == pgk_* && "$2" == pgk_* ]]' _ "$TA" "$TS"
echo "$TA $TS" >> "$BASE/tokens"
pgcli token create --name badacct --scope write --accounts "cus_1" > /dev/null 2>&1
check "token create --accounts cus_1: refused" [ $? -ne 0 ]
pgcli token list --json > "$BASE/tokens.json"
is "$(jq -r '.[] | select(.name == "conn_a") | .accounts' "$BASE/tokens.json")" "$A" "token list --json shows the accounts"
AP="HTTP_AUTHORIZATION=Bearer $TP" AA="HTTP_AUTHORIZATION=Bearer $TA" AS="HTTP_AUTHORIZATION=Bearer $TS"
JSON=CONTENT_TYPE=application/json

# ------------------------------------------------------ Stripe-Account
fake_mark
api_cgi POST /v1/customers "$(form 'email=conn%40example.com')" "$AA" HTTP_STRIPE_ACCOUNT=$A
is "$RS/$(jb .object)" "200/customer" "Stripe-Account with an allowed token: created"
CUS=$(jb .id)
is "$(fake_since 'true' '[.[].headers.stripe_account]')" "[\"$A\"]" "Stripe-Account reached Stripe"
api_cgi GET "/v1/customers/$CUS" - "$AS"
api_error 404 invalid_request_error resource_missing "the customer is not on the platform account"
api_cgi GET "/v1/customers/$CUS" - "$AS" HTTP_STRIPE_ACCOUNT=$A
is "$RS/$(jb .id)" "200/$CUS" "... but on the connected account"
n=$(audit_n)
fake_mark
api_cgi POST /v1/customers "$(form 'email=x%40example.com')" "$AP" HTTP_STRIPE_ACCOUNT=$A
api_error 403 permission_error account_not_allowed "a token without --accounts naming an account"
is "$(fake_new)" 0 "... never reaches Stripe"
check "... audited with the account" audit_since "$n" '.event_type == "permission_denied" and .details.account == "'$A'"'
api_cgi GET /v1/customers - "$AA" HTTP_STRIPE_ACCOUNT=$B
api_error 403 permission_error account_not_allowed "a token limited to $A naming $B"
api_cgi GET /v1/customers - "$AA" "HTTP_STRIPE_ACCOUNT=cus_123"
api_error 400 invalid_request_error account_invalid "a malformed Stripe-Account"
api_cgi GET /v1/customers - "$AS" HTTP_STRIPE_ACCOUNT=acct_1Nobody
api_error 403 permission_error account_invalid "an account Stripe does not know: Stripe's 403 passes through"
n=$(audit_n)
api_cgi GET /v1/customers - "$AS" HTTP_STRIPE_ACCOUNT=$B
is "$RS/$(jb '.data | length')" "200/0" "token with --accounts '*': any account ($B has no customers)"
check "processed requests are audited with the account" audit_since "$n" '.event_type == "api_request_processed" and .details.account == "'$B'"'

# ------------------------------------------- idempotency is per account
K=conn-key-$$
api_cgi POST /v1/customers "$(form 'email=k%40example.com')" "$AS" HTTP_IDEMPOTENCY_KEY=$K HTTP_STRIPE_ACCOUNT=$A
C1=$(jb .id)
api_cgi POST /v1/customers "$(form 'email=k%40example.com')" "$AS" HTTP_IDEMPOTENCY_KEY=$K
C2=$(jb .id)
check "one Idempotency-Key on two accounts: two customers, no replay ($C1 $C2)" \
    bash -c '[[ "$1" == cus_* && "$2" == cus_* && "$1" != "$2" && -z "$3" ]]' _ "$C1" "$C2" "$(hdr Idempotent-Replayed)"
api_cgi POST /v1/customers "$(form 'email=k%40example.com')" "$AS" HTTP_IDEMPOTENCY_KEY=$K HTTP_STRIPE_ACCOUNT=$A
is "$(jb .id)/$(hdr Idempotent-Replayed)" "$C1/true" "the same key on the same account: replayed"

# ------------------------------------------------ rate limit per account
RL=(PAYGUARD_RATE_LIMITS="customer=2,default=100000" STRIPE_RATE_LIMIT_WINDOW=30)
api_cgi GET /v1/customers - "$AS" HTTP_STRIPE_ACCOUNT=$A "${RL[@]}"
api_cgi GET /v1/customers - "$AS" HTTP_STRIPE_ACCOUNT=$A "${RL[@]}"
api_cgi GET /v1/customers - "$AS" HTTP_STRIPE_ACCOUNT=$A "${RL[@]}"
api_error 429 rate_limit_error rate_limit "third request on $A with customer=2"
is "$(hdr Stripe-Should-Retry)" true "gateway 429: Stripe-Should-Retry: true (Retry-After within the SDKs' 60 s)"
check "gateway 429: Retry-After 1-30 ($(hdr Retry-After))" bash -c '[[ "$1" =~ ^[0-9]+$ && $1 -ge 1 && $1 -le 30 ]]' _ "$(hdr Retry-After)"
api_cgi GET /v1/customers - "$AS" HTTP_STRIPE_ACCOUNT=$B "${RL[@]}"
is "$RS" 200 "the same token on $B has its own window"
api_cgi GET /v1/customers - "$AS" "${RL[@]}"
is "$RS" 200 "... and so has the platform"
RL2=(PAYGUARD_RATE_LIMITS="customer=1,default=100000" STRIPE_RATE_LIMIT_WINDOW=600)
api_cgi GET /v1/customers - "$AP" "${RL2[@]}"
api_cgi GET /v1/customers - "$AP" "${RL2[@]}"
is "$RS/$(hdr Stripe-Should-Retry)" "429/false" "gateway 429 with Retry-After over 60 s: Stripe-Should-Retry: false"

# --------------------------------------------- 409: a key still in flight
fake_fault '{"path": "/v1/customers", "method": "POST", "responses": [{"delay_ms": 2500}]}'
K2=inflight-$$
( RH=$BASE/bg.h RB=$BASE/bg.b; api_cgi POST /v1/customers "$(form 'email=slow%40example.com')" "$AP" HTTP_IDEMPOTENCY_KEY=$K2; echo "$RS" > "$BASE/bg.rs" ) &
BG=$!
sleep 1
api_cgi POST /v1/customers "$(form 'email=slow%40example.com')" "$AP" HTTP_IDEMPOTENCY_KEY=$K2
api_error 409 idempotency_error idempotency_key_in_use "the same key while the first request runs"
is "$(hdr Stripe-Should-Retry)/$(hdr Retry-After)" "true/1" "gateway 409: Stripe-Should-Retry: true, Retry-After: 1"
wait $BG
is "$(cat "$BASE/bg.rs")" 200 "the first request completed"

# ------------------------------------------------------------ v2 routes
printf '{"display_name":"Shop %s","contact_email":"owner@example.com","metadata":{"n":"1"}}' $$ > "$BASE/acct.json"
fake_mark
api_cgi POST /v2/core/accounts "$BASE/acct.json" "$AP" $JSON HTTP_IDEMPOTENCY_KEY=v2-$$
is "$RS/$(jb .object)" "200/v2.core.account" "POST /v2/core/accounts: created"
NEWACCT=$(jb .id)
is "$(fake_since 'true' '[.[] | [.headers.content_type, .body]]')" "$(jq -cn --arg b "$(cat "$BASE/acct.json")" '[["application/json", $b]]')" \
    "v2: the JSON body reached Stripe byte for byte as application/json"
api_cgi POST /v2/core/accounts "$BASE/acct.json" "$AP" $JSON HTTP_IDEMPOTENCY_KEY=v2-$$
is "$(jb .id)/$(hdr Idempotent-Replayed)" "$NEWACCT/true" "v2: the same key and body: replayed"
printf '{"display_name":"Other"}' > "$BASE/acct2.json"
api_cgi POST /v2/core/accounts "$BASE/acct2.json" "$AP" $JSON HTTP_IDEMPOTENCY_KEY=v2-$$
api_error 400 idempotency_error idempotency_key_reused "v2: the same key, another body"
api_cgi GET "/v2/core/accounts/$NEWACCT" - "$AP"
is "$RS/$(jb .id)" "200/$NEWACCT" "GET /v2/core/accounts/ID"
api_cgi GET "/v2/core/accounts?limit=5" - "$AP"
is "$RS/$(jb '.data | length >= 1')/$(jb 'has("next_page_url")')" "200/true/true" "GET /v2/core/accounts?limit=5: a v2 list"
api_cgi POST /v2/core/accounts "$(form 'display_name=x')" "$AP"
api_error 415 invalid_request_error unsupported_media_type "v2 with a form body"
printf '{"display_name":"x","metadata":{"note":"card 4242 4242 4242 4242 exp 12/30"}}' > "$BASE/pan.json"
fake_mark
n=$(audit_n)
api_cgi POST /v2/core/accounts "$BASE/pan.json" "$AP" $JSON
api_error 400 invalid_request_error pci_raw_card_data "v2 JSON carrying a card number"
is "$(fake_new)" 0 "... never reaches Stripe"
check "... audited as a PCI violation" audit_since "$n" '.event_type == "pci_compliance_violation"'
printf '{"display_name":' > "$BASE/trunc.json"
api_cgi POST /v2/core/accounts "$BASE/trunc.json" "$AP" $JSON
api_error 400 invalid_request_error parameter_invalid "v2 with truncated JSON"
api_cgi POST /v2/core/nothing "$BASE/acct.json" "$AP" $JSON
api_error 404 invalid_request_error route_not_allowed "a v2 route not in the allowlist"
# Stripe-Context: v2's account header, the same token limits.
printf '{"name":"orders","type":"webhook_endpoint","event_payload":"thin","enabled_events":["v1.billing.meter.error_report_triggered"],"webhook_endpoint":{"url":"https://shop.example.com/webhook"}}' > "$BASE/ed.json"
fake_mark
api_cgi POST /v2/core/event_destinations "$BASE/ed.json" "$AA" $JSON HTTP_STRIPE_CONTEXT=$A
is "$RS/$(jb .object)/$(jb .event_payload)" "200/v2.core.event_destination/thin" "POST /v2/core/event_destinations with Stripe-Context"
ED=$(jb .id)
is "$(fake_since 'true' '[.[].headers.stripe_context]')" "[\"$A\"]" "Stripe-Context reached Stripe"
api_cgi POST "/v2/core/event_destinations/$ED/disable" - "$AA" $JSON HTTP_STRIPE_CONTEXT=$A
is "$RS/$(jb .status)" "200/disabled" "v2 action with an empty body"
api_cgi GET "/v2/core/event_destinations/$ED" - "$AS"
api_error 404 invalid_request_error resource_missing "the destination is not on the platform"
api_cgi POST /v2/core/event_destinations "$BASE/ed.json" "$AP" $JSON HTTP_STRIPE_CONTEXT=$A
api_error 403 permission_error account_not_allowed "Stripe-Context with a token without --accounts"
api_cgi POST /v2/core/event_destinations "$BASE/ed.json" "$AA" $JSON "HTTP_STRIPE_CONTEXT=$A/$B"
api_error 403 permission_error account_not_allowed "Stripe-Context naming an account beyond the token's"
api_cgi DELETE "/v2/core/event_destinations/$ED" - "$AA" HTTP_STRIPE_CONTEXT=$A
is "$RS/$(jb .deleted)" "200/true" "DELETE /v2/core/event_destinations/ID"

fake_log
is "$(jq -c '[.[].violations[]]' "$BASE/fake.json")" '["unknown account '"'acct_1Nobody'"'"]' "the strict fake saw no protocol violation (only the unknown account, on purpose)"
secret_scan "the Stripe key is in no log, audit record or response" "$AUDIT" "$LOGS"/*.log "$BASE/responses.all"
finish
