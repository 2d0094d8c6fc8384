#!/bin/bash
# Thin (v2) event notifications and Connect events through webhook.fcgi
# as plain CGI: accepted with the same pipeline (signature, validation of
# their own shape, dedup on id, inbox, delivery), PAYGUARD_EVENT_KIND and
# PAYGUARD_EVENT_ACCOUNT given to the handler, the account in the audit
# record, PAYGUARD_EVENT_KINDS narrowing, the v1 checks for snapshots only.
# No server, no port.
. "$SRC/tests/harness/lib.sh"
pg_setup
make_handler

BASE_ENV=(PAYGUARD_STATE_DIR="$STATE" STRIPE_WEBHOOK_SECRET="$SECRET"
    STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1,::1 STRIPE_API_VERSION=2024-06-20
    PAYGUARD_WEBHOOK_STRICT_API_VERSION=true
    PAYGUARD_SYNC=0 PAYGUARD_WEBHOOK_HANDLER="$HANDLER" PAYGUARD_RETRY_BASE=0)
CGI_ENV=("${BASE_ENV[@]}")
CLI_ENV=("${BASE_ENV[@]}")

post_ok() { local f=$1; shift; cgi_run POST "$f" HTTP_STRIPE_SIGNATURE="$(sign "$f")" "$@"; }
kinds_line() { grep "^$1 " "$HOUT/kinds.log" 2>/dev/null | tail -1; }
# last_audit FILTER: jq over the last audit line
last_audit() { tail -n 1 "$AUDIT" | jq -r "$1"; }

# thinev ID [CONTEXT] [CREATED]: a thin event notification as Stripe's
# event destinations send it (the shape of stripe-node's fixtures).
N=0
thinev() {
	N=$((N + 1))
	EV=evt_test_thin$$x$N
	EVF=$BASE/thin.$N.json
	local ctx=${1:-null} created=${2:-\"$(date -u +%Y-%m-%dT%H:%M:%S.000Z)\"}
	[ "$ctx" = null ] || ctx="\"$ctx\""
	printf '{\n  "id": "%s",\n  "object": "v2.core.event",\n  "type": "v1.billing.meter.error_report_triggered",\n  "livemode": false,\n  "created": %s,\n  "context": %s,\n  "related_object": {"id": "mtr_%s", "type": "billing.meter", "url": "/v1/billing/meters/mtr_%s"},\n  "reason": {"type": "request", "request": {"id": "req_1", "idempotency_key": null}}\n}\n' \
	    "$EV" "$created" "$ctx" "$N" "$N" > "$EVF"
}

# ------------------------------------------------------------ thin events
thinev acct_1ThinCtx; T1=$EV; T1F=$EVF
n=$(audit_n)
post_ok "$T1F"
expect_status 200 "thin event"
is "$(jb '.received')" true "thin event: {\"received\":true}"
expect_audit "$n" webhook_validated "thin event"
is "$(last_audit '.details.event_kind + " " + .details.account + " " + .details.event_type')" \
    "thin acct_1ThinCtx v1.billing.meter.error_report_triggered" "thin event: audit names kind, account (context) and type"
post_ok "$T1F"
is "$RS/$(jb .duplicate)" 200/true "thin event repeated: duplicate on id"
inbox_json
is "$(inbox_field "$T1" state)/$(inbox_field "$T1" type)" "pending/v1.billing.meter.error_report_triggered" "thin event: in the inbox, pending"
pgcli inbox drain >/dev/null
is "$(runs "$T1")" 1 "thin event: drained once"
is "$(kinds_line "$T1")" "$T1 thin acct_1ThinCtx" "handler env: PAYGUARD_EVENT_KIND=thin, PAYGUARD_EVENT_ACCOUNT from context"
check "thin event: handler stdin is the raw notification" cmp -s "$T1F" "$(ls "$HOUT"/ev."$T1".* | head -1)"

# No context: no PAYGUARD_EVENT_ACCOUNT at all.  An offset timestamp.
thinev null "\"$(date -u +%Y-%m-%dT%H:%M:%S+00:00)\""; T2=$EV
post_ok "$EVF"
expect_status 200 "thin event without context, +00:00 offset"
pgcli inbox drain >/dev/null
is "$(kinds_line "$T2")" "$T2 thin unset" "thin event without context: no PAYGUARD_EVENT_ACCOUNT"

# The v1 checks are for snapshots: a thin event has no api_version (so
# the strict pin does not refuse it) and its created is a string.
thinev acct_1X 1727352000
n=$(audit_n)
post_ok "$EVF"
expect_error 400 payload_invalid "thin event with an integer created"
is "$(jb .error.message)" "created must be an RFC 3339 date-time string" "thin event, integer created: the reason"
expect_audit "$n" webhook_invalid_payload "thin event with an integer created"
thinev acct_1X '"2024-02-31T00:00:00Z"'
post_ok "$EVF"
expect_error 400 payload_invalid "thin event with an impossible date"
thinev 'cus_123'
post_ok "$EVF"
expect_error 400 payload_invalid "thin event whose context is not an account"
sed 's/"v2.core.event"/"v2.core.eventx"/' "$BASE/thin.1.json" | sed "s/$T1/evt_other$$/" > "$BASE/other.json"
post_ok "$BASE/other.json"
expect_error 400 payload_invalid "any other object is still rejected"
is "$(jb .error.message)" 'object must be "event" or "v2.core.event"' "other object: the reason"
inbox_json
is "$(jq '[.[] | select(.id | startswith("evt_test_thin"))] | length' "$BASE/inbox.json")" 2 "rejected thin events left nothing in the inbox"

# ---------------------------------------------------------------- Connect
newev customer.created; C1=$EV
jq -c '. + {account: "acct_1Connected"}' "$EVF" > "$BASE/connect.json"
n=$(audit_n)
post_ok "$BASE/connect.json"
expect_status 200 "snapshot event from a connected account"
is "$(last_audit '.details.event_kind + " " + .details.account')" "snapshot acct_1Connected" "Connect event: audit names kind and account"
pgcli inbox drain >/dev/null
is "$(kinds_line "$C1")" "$C1 snapshot acct_1Connected" "handler env: PAYGUARD_EVENT_KIND=snapshot, PAYGUARD_EVENT_ACCOUNT"
newev customer.updated; P1=$EV
post_ok "$EVF"
pgcli inbox drain >/dev/null
is "$(kinds_line "$P1")" "$P1 snapshot unset" "platform event: no PAYGUARD_EVENT_ACCOUNT"
is "$(last_audit '.details | has("account")')" false "platform event: no account in the audit record" 
newev customer.created
jq -c '. + {account: "cus_notanaccount"}' "$EVF" > "$BASE/badacct.json"
post_ok "$BASE/badacct.json"
expect_error 400 payload_invalid "snapshot event whose account is not an acct_ id"

# Snapshot checks still apply to snapshots (strict version pin).
newev invoice.paid 2020-08-27
post_ok "$EVF"
expect_error 400 api_version_mismatch "snapshot event with another API version (strict)"

# ------------------------------------------------------ PAYGUARD_EVENT_KINDS
thinev acct_1Y; TK=$EV; TKF=$EVF
n=$(audit_n)
post_ok "$TKF" PAYGUARD_EVENT_KINDS=snapshot
expect_error 400 event_kind_not_accepted "PAYGUARD_EVENT_KINDS=snapshot: thin event refused"
expect_audit "$n" webhook_invalid_payload "thin event refused"
is "$(last_audit '.details.event_kind')" thin "thin event refused: audit names the kind"
newev; SK=$EV; SKF=$EVF
post_ok "$SKF" PAYGUARD_EVENT_KINDS=thin
expect_error 400 event_kind_not_accepted "PAYGUARD_EVENT_KINDS=thin: snapshot event refused"
inbox_json
is "$(inbox_field "$TK" state)/$(inbox_field "$SK" state)" "absent/absent" "refused kinds left nothing in the inbox"
post_ok "$TKF" PAYGUARD_EVENT_KINDS=thin
expect_status 200 "PAYGUARD_EVENT_KINDS=thin: thin event accepted"
post_ok "$SKF" PAYGUARD_EVENT_KINDS=snapshot,thin
expect_status 200 "PAYGUARD_EVENT_KINDS=snapshot,thin: snapshot accepted"
post_ok "$SKF" PAYGUARD_EVENT_KINDS=v2
expect_status 500 "PAYGUARD_EVENT_KINDS=v2: refuses to serve"
check "PAYGUARD_EVENT_KINDS=v2: the log names the variable" grep -q "PAYGUARD_EVENT_KINDS" "$CGI_ERR"

# ------------------------------------------------------------- sync mode
SY=$(new_state sync)
thinev acct_1Sync; TS=$EV
post_ok "$EVF" PAYGUARD_STATE_DIR="$SY" PAYGUARD_WEBHOOK_DELIVERY=sync
expect_status 200 "sync mode: thin event delivered in the request"
is "$(kinds_line "$TS")" "$TS thin acct_1Sync" "sync mode: handler got the kind and account"

scan_leaks "thin events" "$LOGS"/*.log "$AUDIT"
finish
