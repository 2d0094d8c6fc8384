#!/bin/bash
# The audit flood bounds as configured (issue 9): webhook.fcgi keeps the
# first PAYGUARD_AUDIT_FLOOD_WHOLE suspicious records per (type, address,
# identity, minute) and the first PAYGUARD_AUDIT_FLOOD_TYPE_WHOLE per
# (type, minute) over all addresses; the stats count every request; a bad
# value is refused with one line naming the variable.  (The summary
# records, written once the minute is over, are tests/unit/test_flood.c's.)
# Plain CGI: no server, no port.
. "$SRC/tests/harness/lib.sh"
pg_setup

CGI_ENV=(PAYGUARD_STATE_DIR="$STATE" STRIPE_WEBHOOK_SECRET="$SECRET"
    STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1 PAYGUARD_SYNC=0
    PAYGUARD_AUDIT_FLOOD_WHOLE=3 PAYGUARD_AUDIT_FLOOD_TYPE_WHOLE=4)
CLI_ENV=("${CGI_ENV[@]}")
kept() { jq -r --arg t "$1" 'select(.event_type == $t) | .source_ip' "$AUDIT" 2>/dev/null | wc -l; }

# 1. Bad values: refused at start-up, the variable named, nothing served.
newev; cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" PAYGUARD_AUDIT_FLOOD_WHOLE=0
check "PAYGUARD_AUDIT_FLOOD_WHOLE=0 is refused (status $RS)" test "$RS" -ge 500
check "...with a line naming it" grep -q 'PAYGUARD_AUDIT_FLOOD_WHOLE: must be at least 1' "$CGI_ERR"
newev; cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" PAYGUARD_AUDIT_FLOOD_TYPE_WHOLE=2
check "PAYGUARD_AUDIT_FLOOD_TYPE_WHOLE below the per-address bound is refused (status $RS)" test "$RS" -ge 500
check "...with a line naming it" grep -q 'PAYGUARD_AUDIT_FLOOD_TYPE_WHOLE: must be at least PAYGUARD_AUDIT_FLOOD_WHOLE' "$CGI_ERR"

# The bounds are per minute: start early in one.
s=$(date +%S); s=${s#0}
[ "$s" -lt 45 ] || sleep $((61 - s))

# 2. One address past N = 3: 6 bad signatures, 3 kept.
for i in 1 2 3 4 5 6; do
	newev; cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(badsig)"
done
is "$RS" 400 "a bad signature is refused"
is "$(kept webhook_invalid_signature)" 3 "6 bad signatures from one address: PAYGUARD_AUDIT_FLOOD_WHOLE (3) kept"

# 3. Many addresses, one refusal each (every one under its N): the type
# keeps PAYGUARD_AUDIT_FLOOD_TYPE_WHOLE (4) whole.
for i in $(seq 1 10); do
	newev; cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" REMOTE_ADDR=203.0.113.$i
done
is "$RS" 403 "an address off the allowlist is refused"
is "$(kept webhook_invalid_ip)" 4 "10 addresses, one refusal each: PAYGUARD_AUDIT_FLOOD_TYPE_WHOLE (4) kept"

# 4. The stats saw every request.
pgcli audit stats --hours 1 --json > "$BASE/stats.json"
is "$(jq -r '.. | objects | select(has("invalid_ip_attempts")) | .invalid_ip_attempts' "$BASE/stats.json" | head -1)" 10 \
    "audit stats counts all 10 invalid-IP attempts"
check "the audit chain holds" pgcli audit verify

finish
