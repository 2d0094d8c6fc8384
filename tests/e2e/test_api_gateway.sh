#!/bin/bash
# api.fcgi (issue 4) at the HTTP level, as plain CGI (one process per
# request, like mod_cgid), against the strict fake Stripe upstream
# (tests/fake_stripe.py): configuration refusal, tokens and scopes, the
# route allowlist, proxying (pinned version, secret key, Request-Id, query
# strings), JSON-to-form conversion, hostile input, PCI screening (never
# reaching the upstream), idempotency, upstream errors passing through,
# stripe-python's retry rules checked against the fake's log (count,
# spacing, same key), 502 on connection failure and timeouts, rate limits,
# the audit trail and a scan for the Stripe secret key.
# Environment: O, SRC, PY (tests/run-e2e.sh).  Ports 19810-19819.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/api_lib.sh"

need_ports 19810 19819
api_setup
start_fake 19810
CLOSED=http://127.0.0.1:19819

# ---------------------------------------------------------------- tokens
TW=$(token alice write)
TR=$(token reader read)
TP=$(token pionly write payment_intent)
TX=$(token revoked write)
echo "$TW" | grep -Eq '^pgk_[A-Za-z0-9_-]{20,}$' && [ "$(echo "$TW" | wc -l)" = 1 ]
check "token create prints exactly one pgk_ token on stdout" [ $? = 0 ]
[ "$TW" != "$TR" ] && [ -n "$TP" ] && [ -n "$TX" ]
check "every token create gives a distinct token" [ $? = 0 ]
pgcli token create --name alice --scope write > "$BASE/dup.out"
is "$(cat "$BASE/dup.out")" "" "token create of an existing live name prints no token"
pgcli token list --json > "$BASE/tokens.json"
check "token list --json is a JSON array naming alice, reader, pionly" \
    jqc '(type == "array") and ([.[] | .name] | index("alice") and index("reader") and index("pionly"))' "$BASE/tokens.json"
check "token list --json shows scopes" jqc '.[] | select(.name == "reader") | .scope == "read"' "$BASE/tokens.json"
pgcli token list > "$BASE/tokens.txt"
leak=0
for t in $(cat "$BASE/tokens"); do
	grep -qF "$t" "$BASE/tokens.json" "$BASE/tokens.txt" && leak=1
	grep -rqaF "$t" "$STATE" && leak=2
done
is "$leak" 0 "no token appears in token list output or anywhere in the state dir (only a keyed hash)"
pgcli token revoke revoked > /dev/null
check "token revoke revoked: exit 0" [ $? = 0 ]
pgcli token list --json > "$BASE/tokens.json"
check "token list shows revoked as revoked" jqc '.[] | select(.name == "revoked") | (.revoked == true or (.revoked | type) == "number" or (.revoked | type) == "string")' "$BASE/tokens.json"
AW="HTTP_AUTHORIZATION=Bearer $TW"
AR="HTTP_AUTHORIZATION=Bearer $TR"
AP="HTTP_AUTHORIZATION=Bearer $TP"

# ------------------------------------------------------- configuration
api_cgi GET /v1/customers - "$AW" -STRIPE_SECRET_KEY
api_error 500 api_error - "no STRIPE_SECRET_KEY"
grep -q STRIPE_SECRET_KEY "$CGI_ERR"
check "no STRIPE_SECRET_KEY: the error log names the variable" [ $? = 0 ]
PK="pk_test_51Pg$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
fake_mark
api_cgi GET /v1/customers - "$AW" STRIPE_SECRET_KEY="$PK"
api_error 500 api_error - "a pk_ publishable key as STRIPE_SECRET_KEY"
grep -q STRIPE_SECRET_KEY "$CGI_ERR" && ! grep -qF "$PK" "$CGI_ERR" && ! grep -qF "$PK" "$RB"
check "pk_ key: the error log names the variable, never its value" [ $? = 0 ]
is "$(fake_new)" 0 "refused configuration: nothing reaches the upstream"
EXTRA_SECRETS="$PK"

# --------------------------------------------------------- authentication
n=$(audit_n)
api_cgi GET /v1/customers -
api_error 401 authentication_error missing_token "no Authorization"
api_headers "401"
check "401 audited as authentication_failed (HIGH)" \
    audit_since $n '.event_type == "authentication_failed" and .severity == "HIGH"'
api_cgi GET /v1/customers - "HTTP_AUTHORIZATION=Bearer pgk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
api_error 401 authentication_error invalid_token "unknown token"
api_cgi GET /v1/customers - "HTTP_AUTHORIZATION=Basic YWxpY2U6cHc="
api_error 401 authentication_error - "Basic credentials instead of a token"
api_cgi GET /v1/customers - "HTTP_AUTHORIZATION=Bearer $TX"
api_error 401 authentication_error invalid_token "revoked token"
api_cgi GET /v1/customers - "HTTP_AUTHORIZATION=Bearer $SK"
api_error 401 authentication_error invalid_token "the Stripe secret key itself is not a gateway token"
api_cgi GET /v1/customers - "HTTP_AUTHORIZATION=Bearer $TW"$'\r\nX-Injected: 1'
api_error 401 authentication_error - "CR LF inside Authorization"
api_cgi GET /v1/customers - REMOTE_USER=mallory
api_error 401 authentication_error missing_token "REMOTE_USER ignored unless PAYGUARD_TRUST_REMOTE_USER=1"
fake_mark
api_cgi GET /v1/customers - REMOTE_USER=webuser PAYGUARD_TRUST_REMOTE_USER=1
is "$RS" 200 "PAYGUARD_TRUST_REMOTE_USER=1: REMOTE_USER is an identity (200)"
check "REMOTE_USER identity in the audit record" \
    audit_since 0 '.event_type == "api_request_processed" and .identity == "webuser"'

# ----------------------------------------------------------- permissions
n=$(audit_n)
fake_mark
api_cgi POST /v1/customers "$(form 'email=r%40example.com')" "$AR"
api_error 403 permission_error insufficient_scope "read token POSTing"
api_headers "403"
api_cgi DELETE /v1/customers/cus_123 - "$AR"
api_error 403 permission_error insufficient_scope "read token DELETEing"
api_cgi GET /v1/customers - "$AP"
api_error 403 permission_error insufficient_scope "ops=payment_intent token on customers"
is "$(fake_new)" 0 "403s: nothing reaches the upstream"
check "403 audited as permission_denied (HIGH) with the token name" \
    audit_since $n '.event_type == "permission_denied" and .severity == "HIGH" and .identity == "reader"'
api_cgi GET /v1/customers - "$AR"
is "$RS" 200 "read token GET /v1/customers: 200"
api_cgi POST /v1/payment_intents "$(form 'amount=2000&currency=eur')" "$AP"
is "$RS" 200 "ops=payment_intent token creates a PaymentIntent"

# ----------------------------------------------------------- allowlist
fake_mark
for rq in "GET /v1/charges" "POST /v1/charges" "GET /v1/balance" "POST /v1/events" \
    "DELETE /v1/customers" "GET /v1/customers/cus_1/sources/src_1" "GET /v2/customers" \
    "GET /v1/customers/../charges" "GET /v1/customers/%2e%2e/charges" "GET /customers" \
    "POST /v1/payment_intents/pi_1/confirm/extra" "GET /v1/account" "GET /v1/transfers"; do
	set -- $rq
	case $1 in POST) b=$(form 'a=b') ;; *) b=- ;; esac
	api_cgi "$1" "$2" "$b" "$AW"
	api_error 404 invalid_request_error route_not_allowed "$rq (not allowlisted)"
done
api_headers "404 route_not_allowed"
is "$(fake_new)" 0 "routes outside the allowlist never reach the upstream"
fake_mark
api_cgi GET /v1/payment_intents - "$AW" PAYGUARD_API_ROUTES=customers=customer
api_error 404 invalid_request_error route_not_allowed "PAYGUARD_API_ROUTES=customers=customer: payment_intents refused"
api_cgi GET /v1/customers - "$AW" PAYGUARD_API_ROUTES=customers=customer
is "$RS" 200 "PAYGUARD_API_ROUTES=customers=customer: customers allowed"
api_cgi GET /v1/events - "$AW"
is "$RS" 200 "events:ro: GET /v1/events allowed"
api_cgi GET /v1/events/evt_fake00000001 - "$AW"
is "$RS $(jb .type)" "200 customer.created" "events:ro: GET /v1/events/ID allowed"

# ---------------------------------------------------------- proxying
fake_mark
api_cgi POST /v1/customers "$(form 'email=jenny%40example.com&name=Jenny+Rosen&metadata[order]=42')" "$AW" HTTP_STRIPE_VERSION=2020-08-27
is "$RS" 200 "POST /v1/customers (form) proxied: 200"
CUS=$(jb .id)
echo "$CUS" | grep -q '^cus_' && [ "$(jb .email) $(jb .name) $(jb .metadata.order)" = "jenny@example.com Jenny Rosen 42" ]
check "the upstream's customer object comes back unchanged ($CUS)" [ $? = 0 ]
api_headers "200 proxied"
up=$(fake_since 'true' '.[0]')
is "$(hdr Request-Id)" "$(echo "$up" | jq -r .request_id)" "Request-Id of the upstream passed through"
is "$(echo "$up" | jq -r '[.method, .path, .headers.authorization, .headers.stripe_version] | join(" ")')" \
    "POST /v1/customers correct $SV" "upstream: Bearer <STRIPE_SECRET_KEY>, the pinned Stripe-Version (not the caller's)"
is "$(echo "$up" | jq -c '.params')" '[["email","jenny@example.com"],["name","Jenny Rosen"],["metadata[order]","42"]]' \
    "upstream: the form parameters, in order"
echo "$up" | jq -e '(.headers.idempotency_key | type) == "string" and (.headers.idempotency_key | length) > 8' >/dev/null
check "POST without Idempotency-Key: the gateway generated one for the upstream" [ $? = 0 ]
is "$(echo "$up" | jq -r '.violations | length')" 0 "upstream: no strictness violation"
fake_mark
api_cgi POST /v1/customers "$(form 'email=twice%40example.com&name=Twice')" "$AW"
api_cgi POST /v1/customers "$(form 'email=twice%40example.com&name=Twice')" "$AW"
is "$(fake_since 'true' '[.[].headers.idempotency_key] | unique | length'):$(hdr Idempotent-Replayed)" "2:" \
    "two POSTs without a key: two generated upstream keys, no replay"
api_cgi GET "/v1/customers/$CUS" - "$AW"
is "$RS $(jb .id) $(jb .email)" "200 $CUS jenny@example.com" "GET /v1/customers/ID"
fake_mark
api_cgi GET "/v1/customers?limit=3&email=jenny%40example.com" - "$AW"
is "$RS $(jb .object) $(jb '.data | length')" "200 list 1" "GET /v1/customers?limit=3&email=... (list)"
is "$(fake_since 'true' '.[0].query')" '"limit=3&email=jenny%40example.com"' "query string reaches the upstream unchanged"
api_cgi POST "/v1/customers/$CUS" "$(form 'metadata[tier]=gold')" "$AW"
is "$RS $(jb .metadata.tier) $(jb .metadata.order)" "200 gold 42" "POST /v1/customers/ID (update)"
api_cgi DELETE "/v1/customers/$CUS" - "$AW"
is "$RS $(jb .deleted)" "200 true" "DELETE /v1/customers/ID"
api_cgi GET "/v1/customers/$CUS" - "$AW"
api_error 404 invalid_request_error resource_missing "upstream 404 resource_missing passes through"
is "$(jb .error.param)" id "upstream 404: param passes through"
fake_mark
api_cgi POST /v1/payment_intents "$(form 'currency=eur')" "$AW"
api_error 400 invalid_request_error parameter_missing "upstream 400 parameter_missing passes through"
is "$(jb .error.param)" amount "upstream 400: param=amount passes through"
is "$(fake_new)" 1 "upstream 400 is not retried"
api_cgi POST /v1/payment_intents "$(form 'amount=2000&currency=eur&payment_method=pm_card_visa&capture_method=manual')" "$AW"
PI=$(jb .id)
api_cgi POST "/v1/payment_intents/$PI/confirm" "$(form '')" "$AW"
is "$RS $(jb .status)" "200 requires_capture" "POST /v1/payment_intents/ID/confirm"
api_cgi POST "/v1/payment_intents/$PI/capture" - "$AW" CONTENT_LENGTH=0
is "$RS $(jb .status)" "200 succeeded" "POST /v1/payment_intents/ID/capture (empty body)"
api_cgi POST /v1/refunds "$(form "payment_intent=$PI")" "$AW"
is "$RS $(jb .object)" "200 refund" "POST /v1/refunds"
api_cgi POST /v1/checkout/sessions "$(form 'mode=payment&line_items[0][price]=price_1&line_items[0][quantity]=1&success_url=https%3A%2F%2Fexample.com%2Fok')" "$AW"
is "$RS $(jb .object)" "200 checkout.session" "POST /v1/checkout/sessions (two-segment resource, items[0][x])"

# upstream status and body unchanged: 402 card_error
fake_mark
fake_fault '{"path": "/v1/payment_intents", "responses": [{"status": 402, "body": {"error": {"type": "card_error", "code": "card_declined", "decline_code": "generic_decline", "message": "Your card was declined.", "charge": "ch_fake1"}}, "headers": {"Stripe-Should-Retry": "false"}}]}'
api_cgi POST /v1/payment_intents "$(form 'amount=100&currency=usd&payment_method=pm_card_visa&confirm=true')" "$AW"
is "$RS $(jq -cS . "$RB")" '402 {"error":{"charge":"ch_fake1","code":"card_declined","decline_code":"generic_decline","message":"Your card was declined.","type":"card_error"}}' \
    "upstream 402 card_error: status and body unchanged"
api_headers "402 passed through"
is "$(fake_new)" 1 "402 is not retried"

# --------------------------------------------------- JSON body conversion
fake_mark
printf '%s' '{"email":"a@b.c","metadata":{"k":"v"}}' > "$BASE/j1.json"
api_cgi POST /v1/customers "$BASE/j1.json" "$AW" CONTENT_TYPE=application/json
is "$RS $(jb .email) $(jb .metadata.k)" "200 a@b.c v" "JSON body: customer created"
up=$(fake_since 'true' '.[0]')
is "$(echo "$up" | jq -c '[.params | sort[]]')" '[["email","a@b.c"],["metadata[k]","v"]]' "JSON body arrives upstream as email=a@b.c & metadata[k]=v"
echo "$up" | jq -r .headers.content_type | grep -q '^application/x-www-form-urlencoded'
check "JSON body: upstream Content-Type is form-urlencoded" [ $? = 0 ]
fake_mark
printf '%s' '{"amount":2000,"currency":"eur","confirm":true,"payment_method":"pm_card_visa","payment_method_types":["card"],"metadata":{"a":"x y&z=1"},"expand":["customer"]}' > "$BASE/j2.json"
api_cgi POST /v1/payment_intents "$BASE/j2.json" "$AW" CONTENT_TYPE="application/json; charset=utf-8"
is "$RS $(jb .status)" "200 succeeded" "JSON body with numbers, booleans, arrays, nested objects"
up=$(fake_since 'true' '.[0].params')
echo "$up" | jq -e 'map({(.[0]): .[1]}) | add |
    .amount == "2000" and .confirm == "true" and .["metadata[a]"] == "x y&z=1" and
    ((.["payment_method_types[0]"] // .["payment_method_types[]"]) == "card") and
    ((.["expand[0]"] // .["expand[]"]) == "customer")' >/dev/null
check "JSON -> form: 2000, true, arrays as a[0]/a[], escaping of & and = ($up)" [ $? = 0 ]

# ---------------------------------------------------------- hostile input
fake_mark
head -c 4096 /dev/zero | tr '\0' 'a' | sed 's/^/description=/' > "$BASE/big.form"
api_cgi POST /v1/customers "$BASE/big.form" "$AW" PAYGUARD_MAX_BODY=1024
is "$RS" 413 "body above PAYGUARD_MAX_BODY: 413"
check "413 has a Stripe-shaped JSON error" jqc '.error.type | type == "string"' "$RB"
api_cgi POST /v1/customers "$(form 'email=a%zzb')" "$AW"
api_error 400 invalid_request_error - "malformed percent-encoding (%zz)"
api_cgi POST /v1/customers "$(form 'email=a%4')" "$AW"
api_error 400 invalid_request_error - "truncated percent-encoding (%4)"
api_cgi POST /v1/customers "$(form 'name=a%00b')" "$AW"
api_error 400 invalid_request_error - "%00 (NUL) in a parameter value"
printf 'name=a\0b' > "$BASE/nul.form"
api_cgi POST /v1/customers "$BASE/nul.form" "$AW"
api_error 400 invalid_request_error - "raw NUL byte in the body"
printf '{"email": "a@b.c",' > "$BASE/bad.json"
api_cgi POST /v1/customers "$BASE/bad.json" "$AW" CONTENT_TYPE=application/json
api_error 400 invalid_request_error - "truncated JSON body"
{ printf '{"metadata":'; for i in $(seq 1000); do printf '{"a":'; done; printf '1'; for i in $(seq 1000); do printf '}'; done; printf '}'; } > "$BASE/deep.json"
api_cgi POST /v1/customers "$BASE/deep.json" "$AW" CONTENT_TYPE=application/json
api_error 400 invalid_request_error - "JSON nested 1000 deep"
printf '[1,2,3]' > "$BASE/arr.json"
api_cgi POST /v1/customers "$BASE/arr.json" "$AW" CONTENT_TYPE=application/json
api_error 400 invalid_request_error - "JSON body that is not an object"
api_cgi POST /v1/customers "$(form 'email=a%40b.c')" "$AW" "HTTP_IDEMPOTENCY_KEY=abc"$'\r\nX-Injected: 1'
api_error 400 invalid_request_error - "CR LF inside Idempotency-Key"
grep -qi '^X-Injected' "$RH"
check "no header injected into the response" [ $? != 0 ]
api_cgi POST /v1/customers "$(form 'email=a%40b.c')" "$AW" "HTTP_IDEMPOTENCY_KEY=$(head -c 256 /dev/zero | tr '\0' k)"
api_error 400 invalid_request_error - "256-character Idempotency-Key"
api_cgi POST /v1/customers "$(form 'email=a%40b.c')" "$AW" "HTTP_IDEMPOTENCY_KEY=a"$'\x01'"b"
api_error 400 invalid_request_error - "control character in Idempotency-Key"
api_cgi GET "/v1/customers?limit=%zz" - "$AW"
api_error 400 invalid_request_error - "malformed percent-encoding in the query string"
is "$(fake_new)" 0 "rejected hostile input never reaches the upstream"
# Hardening beyond the letter of the contract: bracket syntax and UTF-8
# that Stripe's decoder (and the strict fake) reject are refused here too.
fake_mark
api_cgi POST /v1/customers "$(form 'metadata[a=b')" "$AW"
api_error 400 invalid_request_error - "unbalanced bracket in a parameter name"
api_cgi POST /v1/customers "$(form 'name=%ff%fe')" "$AW"
api_error 400 invalid_request_error - "invalid UTF-8 in a parameter value"
is "$(fake_new)" 0 "unbalanced brackets / invalid UTF-8 refused by the gateway itself, not forwarded (hardening)"
HARDEN_BODIES='["metadata%5Ba=b", "name=%FF%FE", "metadata[a=b", "name=%ff%fe"]'
K255=$(head -c 255 /dev/zero | tr '\0' K)
api_cgi POST /v1/customers "$(form 'email=k255%40b.c')" "$AW" "HTTP_IDEMPOTENCY_KEY=$K255"
is "$RS" 200 "255-character Idempotency-Key accepted"
api_cgi PUT /v1/customers "$(form 'a=b')" "$AW"
check "PUT answered 404 or 405 with a Stripe error (got $RS)" sh -c "[ '$RS' = 404 ] || [ '$RS' = 405 ]"

# -------------------------------------------------------------------- PCI
PAN="4242 4242 4242 4242"
pci_case() {   # DESC PARAM METHOD PATH BODY-or-- [CONTENT_TYPE]
	local d=$1 param=$2 n
	n=$(audit_n)
	fake_mark
	if [ "$5" = - ]; then api_cgi "$3" "$4" - "$AW"
	else printf '%s' "$5" > "$BASE/pci.body"; api_cgi "$3" "$4" "$BASE/pci.body" "$AW" ${6:+CONTENT_TYPE=$6}; fi
	api_error 400 invalid_request_error pci_raw_card_data "PCI: $d"
	is "$(jb .error.param)" "$param" "PCI: $d: param names the field"
	jb .error.message | grep -Eqi 'stripe\.js|elements'
	check "PCI: $d: the message points to Stripe.js/Elements" [ $? = 0 ]
	is "$(fake_new)" 0 "PCI: $d: never reaches the upstream"
	check "PCI: $d: audit pci_compliance_violation HIGH" \
	    audit_since $n '.event_type == "pci_compliance_violation" and .severity == "HIGH"'
}
pci_case "Luhn-valid PAN with spaces in metadata[note]" "metadata[note]" POST /v1/customers 'metadata[note]=4242+4242+4242+4242'
pci_case "card[number]" "card[number]" POST /v1/customers 'card[number]=4000056655665556&card[exp_month]=12'
pci_case "number" "number" POST /v1/customers 'number=5555555555554444'
pci_case "a cvc (card[cvc])" "card[cvc]" POST /v1/payment_intents 'amount=100&currency=usd&card[cvc]=123'
pci_case "track data in description" "description" POST /v1/customers 'description=%25B4111111111111111%5EDOE%2FJOHN%5E2512101000000000000%3F'
pci_case "PAN with dashes" "description" POST /v1/customers 'description=4111-1111-1111-1111'
pci_case "PAN in a JSON body" "metadata[note]" POST /v1/customers '{"metadata":{"note":"4242 4242 4242 4242"}}' application/json
pci_case "PAN in a GET query string" "email" GET '/v1/customers?email=4242424242424242' -
fake_mark
api_cgi POST /v1/customers "$(form 'metadata[ref]=4242424242424241')" "$AW"
is "$RS" 200 "a 16-digit string failing Luhn is not a PAN (proxied)"
api_headers "400 pci_raw_card_data"

# ---------------------------------------------------------- idempotency
fake_mark
api_cgi POST /v1/customers "$(form 'email=idem%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=gw-k1
is "$RS" 200 "Idempotency-Key gw-k1: first request 200"
first=$(jq -cS . "$RB")
api_cgi POST /v1/customers "$(form 'email=idem%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=gw-k1
is "$RS $(hdr Idempotent-Replayed)" "200 true" "same key, same params: replayed with Idempotent-Replayed: true"
is "$(jq -cS . "$RB")" "$first" "replay: the stored body, byte for byte as JSON"
api_headers "replayed response"
is "$(fake_new)" 1 "replay: one upstream call only"
up_key=$(fake_since 'true' '.[0].headers.idempotency_key')
[ "$up_key" != null ] && [ -n "$up_key" ]
check "an Idempotency-Key was sent upstream for gw-k1 ($up_key)" [ $? = 0 ]
api_cgi POST /v1/customers "$(form 'email=other%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=gw-k1
api_error 400 idempotency_error - "same key, different params"
is "$(fake_new)" 1 "idempotency_error: no upstream call"
api_cgi POST /v1/customers "$(form 'email=idem%40example.com')" "$AW" 'HTTP_IDEMPOTENCY_KEY="gw-k1"'
is "$RS $(hdr Idempotent-Replayed) $(jb .id)" "200 true $(echo "$first" | jq -r .id)" "IETF quoted form \"gw-k1\" is the same key"
fake_mark
api_cgi POST /v1/customers "$(form 'email=idem%40example.com')" "HTTP_AUTHORIZATION=Bearer $TP" HTTP_IDEMPOTENCY_KEY=gw-k1
is "$RS" 403 "same key from another identity without the scope: 403, not a replay"
TB=$(token bob write)
api_cgi POST /v1/customers "$(form 'email=idem%40example.com')" "HTTP_AUTHORIZATION=Bearer $TB" HTTP_IDEMPOTENCY_KEY=gw-k1
[ "$RS" = 200 ] && [ "$(hdr Idempotent-Replayed)" != true ] && [ "$(jb .id)" != "$(echo "$first" | jq -r .id)" ]
check "keys are per identity: bob's gw-k1 is a new customer, not alice's replayed (got $RS $(jb .id))" [ $? = 0 ]
is "$(fake_new)" 1 "bob's gw-k1 reached the upstream once"
# a stored error replays too (Stripe saves the first result, success or failure)
fake_mark
fake_fault '{"path": "/v1/payment_intents", "responses": [{"status": 402, "headers": {"Stripe-Should-Retry": "false"}}]}'
api_cgi POST /v1/payment_intents "$(form 'amount=100&currency=usd')" "$AW" HTTP_IDEMPOTENCY_KEY=gw-k402
is "$RS $(jb .error.code)" "402 card_declined" "gw-k402: upstream 402"
api_cgi POST /v1/payment_intents "$(form 'amount=100&currency=usd')" "$AW" HTTP_IDEMPOTENCY_KEY=gw-k402
is "$RS $(jb .error.code) $(hdr Idempotent-Replayed)" "402 card_declined true" "gw-k402 again: the stored 402 replayed"
is "$(fake_new)" 1 "gw-k402: one upstream call"
# validation failures are not stored: the key stays usable
api_cgi POST /v1/customers "$(form 'email=a%zzb')" "$AW" HTTP_IDEMPOTENCY_KEY=gw-kval
is "$RS" 400 "gw-kval: malformed body rejected"
api_cgi POST /v1/customers "$(form 'email=ok%40b.c')" "$AW" HTTP_IDEMPOTENCY_KEY=gw-kval
is "$RS" 200 "gw-kval: a request failing validation is not stored; the key can be used again"
api_cgi GET /v1/customers - "$AW" HTTP_IDEMPOTENCY_KEY=gw-k1
is "$(hdr Idempotent-Replayed)" "" "GET ignores Idempotency-Key (no replay)"
grep -qaF 'idem@example.com' "$STATE"/*.mdb
check "stored idempotent responses are encrypted (no plaintext body in the state store)" [ $? != 0 ]
# expiry: PAYGUARD_IDEMPOTENCY_TTL=2
fake_mark
api_cgi POST /v1/customers "$(form 'email=ttl1%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=gw-kttl PAYGUARD_IDEMPOTENCY_TTL=2
is "$RS" 200 "gw-kttl (TTL 2 s): first request"
api_cgi POST /v1/customers "$(form 'email=ttl2%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=gw-kttl PAYGUARD_IDEMPOTENCY_TTL=2
is "$RS $(jb .error.type)" "400 idempotency_error" "gw-kttl within the TTL, other params: idempotency_error"
sleep 3
api_cgi POST /v1/customers "$(form 'email=ttl2%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=gw-kttl PAYGUARD_IDEMPOTENCY_TTL=2
is "$RS $(jb .email) $(hdr Idempotent-Replayed)" "200 ttl2@example.com " "gw-kttl after PAYGUARD_IDEMPOTENCY_TTL: a new request"
is "$(fake_new)" 2 "gw-kttl: two upstream calls"
# The upstream key is a keyed hash of identity, key and the parameters'
# fingerprint (deterministic, so a retry whose record was lost still
# reaches Stripe with the same key): other parameters after the TTL are
# another key upstream too, which Stripe (keeping keys 24 h) takes as new.
is "$(fake_since 'true' '[.[].headers.idempotency_key] | unique | length')" 2 "gw-kttl: the two upstream calls carried different Idempotency-Keys"

# ----------------------------------------------------------------- retries
# retry_case DESC FAULT-RESPONSES-JSON WANT-STATUS WANT-CALLS [NAME=VALUE...]
retry_case() {
	local d=$1 f=$2 st=$3 calls=$4; shift 4
	fake_mark
	fake_fault "{\"path\": \"/v1/customers\", \"method\": \"POST\", \"responses\": $f}"
	local t0=$(date +%s.%N)
	api_cgi POST /v1/customers "$(form 'email=retry%40example.com')" "$AW" "$@"
	RT=$(echo "$(date +%s.%N) - $t0" | bc)
	is "$RS" "$st" "retries: $d: final status $st"
	fake_log
	RLOG=$(jq -c "[.[${FAKE_MARK}:][] | select(.path == \"/v1/customers\" and .method == \"POST\")]" "$BASE/fake.json")
	is "$(echo "$RLOG" | jq length)" "$calls" "retries: $d: $calls upstream call(s)"
	is "$(echo "$RLOG" | jq '[.[].headers.idempotency_key] | unique | length')" 1 "retries: $d: every attempt carries the same Idempotency-Key"
	# forget what the gateway did not consume
	fake_clear_faults
}
# gaps: the spacing between attempts (s), one per line
gaps() { echo "$RLOG" | jq -r '[.[].time] | . as $t | range(1; length) | $t[.] - $t[. - 1]'; }
in_range() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }'; }

retry_case "500, 500, then 200" '[{"status": 500}, {"status": 500}]' 200 3
g=($(gaps))
in_range "${g[0]:-0}" 0.45 1.6 && in_range "${g[1]:-0}" 0.45 1.6
check "retries: backoff 1st in [0.5, 1] s, 2nd in [0.5, 1] s (+slack) (got ${g[*]})" [ $? = 0 ]
retry_case "500 x3 with max 2 retries" '[{"status": 500}, {"status": 500}, {"status": 500}]' 500 3
api_error 500 api_error - "retries exhausted: the upstream's last 500 passes through"
retry_case "drop, then 200 (connection error)" '[{"drop": true}]' 200 2
g=($(gaps))
in_range "${g[0]:-0}" 0.45 1.6
check "retries: delay after a dropped connection >= 0.5 s (got ${g[*]})" [ $? = 0 ]
retry_case "drop x3: connection failure after all retries" '[{"drop": true}, {"drop": true}, {"drop": true}]' 502 3
api_error 502 api_error api_connection_error "connection failure after retries"
api_headers "502"
retry_case "409, then 200" '[{"status": 409}]' 200 2
retry_case "503 with Stripe-Should-Retry: false" '[{"status": 503, "headers": {"Stripe-Should-Retry": "false"}}]' 503 1
retry_case "429 without Stripe-Should-Retry" '[{"status": 429}]' 429 1
api_error 429 rate_limit_error rate_limit "upstream 429 passes through"
retry_case "429 with Stripe-Should-Retry: true, Retry-After: 2" '[{"status": 429, "headers": {"Stripe-Should-Retry": "true", "Retry-After": "2"}}]' 200 2
g=($(gaps))
in_range "${g[0]:-0}" 1.9 3.5
check "retries: Retry-After: 2 raises the delay to >= 2 s (got ${g[*]})" [ $? = 0 ]
retry_case "400 with Stripe-Should-Retry: true" '[{"status": 400, "headers": {"Stripe-Should-Retry": "true"}}]' 200 2
retry_case "402 card_error is final" '[{"status": 402}]' 402 1
retry_case "PAYGUARD_MAX_NETWORK_RETRIES=0" '[{"status": 500}]' 500 1 PAYGUARD_MAX_NETWORK_RETRIES=0
retry_case "PAYGUARD_MAX_NETWORK_RETRIES=3" '[{"status": 500}, {"status": 502}, {"status": 500}]' 200 4 PAYGUARD_MAX_NETWORK_RETRIES=3
g=($(gaps))
in_range "${g[2]:-0}" 0.95 2.6
check "retries: 3rd retry waits 1-2 s (got ${g[*]})" [ $? = 0 ]
retry_case "Retry-After: 120 (above 60) ignored" '[{"status": 500, "headers": {"Retry-After": "120"}}]' 200 2
g=($(gaps))
in_range "${g[0]:-99}" 0.45 1.6
check "retries: Retry-After above 60 is not honoured (waited ${g[*]} s)" [ $? = 0 ]
retry_case "client key kept on retries" '[{"status": 500}]' 200 2 HTTP_IDEMPOTENCY_KEY=gw-retry-1
fake_mark
api_cgi GET /v1/customers - "$AW" PAYGUARD_MAX_NETWORK_RETRIES=1 STRIPE_API_BASE=$CLOSED
api_error 502 api_error api_connection_error "upstream refusing connections"
fake_fault '{"path": "/v1/customers", "method": "GET", "responses": [{"delay_ms": 3000}]}'
t0=$(date +%s.%N)
api_cgi GET /v1/customers - "$AW" PAYGUARD_MAX_NETWORK_RETRIES=0 PAYGUARD_TIMEOUT=1
RT=$(echo "$(date +%s.%N) - $t0" | bc)
api_error 502 api_error api_connection_error "upstream slower than PAYGUARD_TIMEOUT=1"
in_range "$RT" 0 2.5
check "PAYGUARD_TIMEOUT=1 honoured (took $RT s)" [ $? = 0 ]
sleep 2.2  # let the slow upstream request finish

# -------------------------------------------------------------- rate limits
TL=$(token limited write)
n=$(audit_n)
for i in 1 2 3 4 5; do
	api_cgi GET /v1/customers - "HTTP_AUTHORIZATION=Bearer $TL" PAYGUARD_RATE_LIMITS=customer=5 STRIPE_RATE_LIMIT_WINDOW=60
	echo "$RS $(hdr X-RateLimit-Limit) $(hdr X-RateLimit-Remaining)" >> "$BASE/rl.txt"
done
is "$(tr '\n' ',' < "$BASE/rl.txt")" "200 5 4,200 5 3,200 5 2,200 5 1,200 5 0," "customer=5: five requests, X-RateLimit-Remaining counting down"
fake_mark
api_cgi GET /v1/customers - "HTTP_AUTHORIZATION=Bearer $TL" PAYGUARD_RATE_LIMITS=customer=5 STRIPE_RATE_LIMIT_WINDOW=60
api_error 429 rate_limit_error rate_limit "sixth request in the window"
hdr Retry-After | grep -Eq '^[0-9]+$' && [ "$(hdr Retry-After)" -ge 1 ] && [ "$(hdr Retry-After)" -le 60 ]
check "429 carries Retry-After (got '$(hdr Retry-After)')" [ $? = 0 ]
api_headers "429"
is "$(fake_new)" 0 "rate-limited request never reaches the upstream"
check "429 audited as api_rate_limit_exceeded (MEDIUM), identity limited" \
    audit_since $n '.event_type == "api_rate_limit_exceeded" and .severity == "MEDIUM" and .identity == "limited"'
api_cgi GET /v1/payment_intents - "HTTP_AUTHORIZATION=Bearer $TL" PAYGUARD_RATE_LIMITS=customer=5 STRIPE_RATE_LIMIT_WINDOW=60
is "$RS" 200 "rate limits are per operation: payment_intent still allowed"
api_cgi GET /v1/customers - "$AW" PAYGUARD_RATE_LIMITS=customer=5 STRIPE_RATE_LIMIT_WINDOW=60
is "$RS" 200 "rate limits are per identity: alice still allowed"

# ------------------------------------------ kept-alive upstream (FastCGI)
# One api.fcgi process under lighttpd: its upstream connection is reused
# from request to request.  When the upstream drops a reused connection,
# libcurl 7.88 would resend the request on its own at once; the gateway
# vetoes that, so the attempt counts and is spaced as stripe-python's.
start_lighttpd_api keepalive 19811 1
fake_mark
for i in 1 2 3; do http GET "$API_URL/v1/customers" -H "Authorization: Bearer $TW"; done
is "$RS" 200 "FastCGI: GET through lighttpd"
is "$(fake_since '.path == "/v1/customers"' '[.[].client_port] | unique | length')" 1 "FastCGI: three requests, one upstream connection (kept alive)"
fake_mark
fake_fault '{"path": "/v1/customers", "method": "POST", "responses": [{"drop": true}]}'
http POST "$API_URL/v1/customers" -H "Authorization: Bearer $TW" --data 'email=keepalive%40example.com'
is "$RS" 200 "FastCGI: a POST dropped on the reused connection, then 200"
RLOG=$(fake_since '.path == "/v1/customers" and .method == "POST"' '.')
is "$(echo "$RLOG" | jq length)" 2 "FastCGI: dropped reused connection: exactly 2 upstream calls"
g=($(gaps))
in_range "${g[0]:-0}" 0.45 1.6
check "FastCGI: the retry waited the backoff, no immediate resend (got ${g[*]} s)" [ $? = 0 ]
is "$(echo "$RLOG" | jq '[.[].headers.idempotency_key] | unique | length')" 1 "FastCGI: both attempts carry one Idempotency-Key"
fake_mark
fake_fault '{"path": "/v1/customers", "method": "GET", "responses": [{"drop": true}, {"drop": true}, {"drop": true}, {"drop": true}]}'
http GET "$API_URL/v1/customers" -H "Authorization: Bearer $TW"
api_error 502 api_error api_connection_error "FastCGI: GET dropped on every attempt"
RLOG=$(fake_since '.path == "/v1/customers" and .method == "GET"' '.')
is "$(echo "$RLOG" | jq length)" 3 "FastCGI: a GET dropped on a reused connection: 1 + 2 retries, no hidden resend"
g=($(gaps))
in_range "${g[0]:-0}" 0.45 1.6 && in_range "${g[1]:-0}" 0.45 1.6
check "FastCGI: GET retries spaced by the backoff (got ${g[*]} s)" [ $? = 0 ]
fake_clear_faults

# -------------------------------------------------------------------- audit
check "audit: every line is a JSON object" audit_all_json "$AUDIT"
check "audit: api_request_processed (LOW) with identity alice" \
    audit_since 0 '.event_type == "api_request_processed" and .severity == "LOW" and .identity == "alice"'
leak=0
for t in $(cat "$BASE/tokens"); do grep -qF "$t" "$AUDIT" && leak=1; done
is "$leak" 0 "audit: no gateway token in the audit log"
grep -rqaE '4242 ?4242 ?4242 ?4242|4000056655665556|5555555555554444|4111.?1111.?1111.?1111' "$STATE/logs" "$LOGS" "$BASE/responses.all"
check "the PANs appear in no log, audit record or response" [ $? != 0 ]
grep -rqaF "pgk_" "$LOGS/cgi.log"
check "no gateway token in the server error log" [ $? != 0 ]
fake_log
check "fake upstream: every request it saw carried the right key and version" \
    jqc 'all(.[]; .headers.authorization == "correct" and .headers.stripe_version == "'"$SV"'")' "$BASE/fake.json"
check "fake upstream: no strictness violation (other than the hardening cases above)" \
    jqc --argjson hb "$HARDEN_BODIES" 'all(.[]; (.violations | length) == 0 or (.body as $b | $hb | index($b)))' "$BASE/fake.json"
secret_scan "the Stripe secret key (and the pk_ key) in no response, audit record, log or state file" \
    "$BASE/responses.all" "$AUDIT" "$LOGS/cgi.log" "$LOGS/cli.log" "$FAKE_LOG" $(find "$STATE" -type f)
finish
