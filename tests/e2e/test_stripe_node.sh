#!/bin/bash
# The current stripe-node from npm (pinned in tests/node/package-lock.json,
# installed by `make test` with npm ci) against payguard under lighttpd:
# the gateway root-mounted (apache-conf/lighttpd-payguard-api-root.conf,
# stripe-node has no base path) and webhook.fcgi at /webhook
# (apache-conf/lighttpd-payguard.conf), both shipped snippets as is, one
# INI file.  tests/node/stripe_node_test.js does the SDK work: create /
# retrieve / update / list with auto-pagination, idempotent retries and
# the SDK's own retries on the gateway's 409 and 429, every error class,
# the PCI refusal, Connect (stripeAccount, v2 stripeContext), and both
# kinds of webhook signed with stripe.webhooks.generateTestHeaderString.
# Ports 19875-19877.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/api_lib.sh"

NODE_DIR=$SRC/tests/node
[ -d "$NODE_DIR/node_modules/stripe" ] || bail "tests/node/node_modules holds stripe-node (make node-deps)"
need_ports 19875 19877
api_setup
# One INI for both programs; the INI reader takes lines up to 200 bytes.
API_CONF+=(PAYGUARD_API_ROUTES="customers=customer,payment_intents=payment_intent,products=product,v2/core/accounts=account,v2/core/event_destinations=event_destination"
    PAYGUARD_RATE_LIMITS="customer=100000,payment_intent=100000,product=1,account=100000,event_destination=100000,webhook=100000,default=100000"
    STRIPE_RATE_LIMIT_WINDOW=1
    STRIPE_WEBHOOK_SECRET="$SECRET" STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1,::1)
start_fake 19875
INI=$BASE/payguard.ini
write_ini "$INI" "${API_CONF[@]}"

start_lighttpd_root node 19876 "$INI" 2 lighttpd-payguard.conf

T_WRITE=$(token node_write write)
T_READ=$(token node_read read)
T_PRODUCT=$(token node_product write product)
T_CONN=$(pgcli token create --name node_conn --scope write --accounts acct_1FakeConnectA)
echo "$T_CONN" >> "$BASE/tokens"

env -i PATH=/usr/bin:/bin HOME=/nonexistent NODE_PATH="$NODE_DIR/node_modules" \
    GW_PORT=19876 FAKE="$FAKE" CLOSED_PORT=19877 \
    T_WRITE="$T_WRITE" T_READ="$T_READ" T_CONN="$T_CONN" T_PRODUCT="$T_PRODUCT" \
    ACCT_A=acct_1FakeConnectA ACCT_B=acct_1FakeConnectB \
    WH_SECRET="$SECRET" API_VERSION="$SV" \
    timeout 240 node "$NODE_DIR/stripe_node_test.js" > "$BASE/node.out" 2> "$LOGS/node.err"
rc=$?
cat "$BASE/node.out"
T_PASS=$((T_PASS + $(grep -c '^ok ' "$BASE/node.out")))
T_FAIL=$((T_FAIL + $(grep -c '^not ok ' "$BASE/node.out")))
[ -s "$LOGS/node.err" ] && sed 's/^/# node: /' "$LOGS/node.err" | head -20
is "$rc" 0 "stripe_node_test.js exits 0"
check "stripe-node ran every part (39 checks)" test "$(grep -c '^\(not \)\?ok ' "$BASE/node.out")" -eq 39

# What payguard itself recorded about it.
check "the SDK's retries met the gateway's own 429" audit_since 0 '.event_type == "api_rate_limit_exceeded" and .details.operation == "product"'
check "and its 409 for a key in flight" audit_since 0 '.event_type == "idempotency_conflict" and .details.code == "idempotency_key_in_use"'
check "the thin event was accepted and audited as thin with its account" audit_since 0 '.event_type == "webhook_validated" and .details.event_kind == "thin" and .details.account == "acct_1FakeConnectA"'
check "the snapshot event was audited with its account" audit_since 0 '.event_type == "webhook_validated" and .details.event_kind == "snapshot" and .details.account == "acct_1FakeConnectA"'
check "stripe-node's User-Agent reached the audit trail" audit_since 0 '.user_agent | test("NodeBindings")'
fake_log
is "$(jq -c '[.[].violations[]] | unique' "$BASE/fake.json")" '[]' "the strict fake saw no protocol violation from stripe-node through the gateway"
secret_scan "the Stripe key is in no log, audit record or response" "$AUDIT" "$LOGS"/*.log "$L"/logs/*.log "$BASE/node.out"
scan_leaks "stripe-node webhooks" "$LOGS"/*.log "$L"/logs/*.log "$AUDIT"
finish
