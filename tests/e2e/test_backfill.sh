#!/bin/bash
# payguard events backfill against the strict fake Stripe Events API:
# pages with has_more, created/types filters, events already received by
# webhook (none delivered twice), an upstream 500 and 429 mid-listing
# (retried as stripe-python does), a 429 that stops the run and a run
# SIGKILLed half-way (both resumed), the dry run, usage errors, the
# source in the inbox, audit and handler environment.  One fake on 19937.
. "$SRC/tests/harness/lib.sh"
. "$SRC/tests/harness/api_lib.sh"
api_setup
need_ports 19937
start_fake 19937
make_handler
CGI_PROG=$BIN/webhook.fcgi

BASE_ENV=(PAYGUARD_STATE_DIR="$STATE" STRIPE_WEBHOOK_SECRET="$SECRET"
    STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1,::1 STRIPE_API_VERSION="$SV"
    PAYGUARD_RATE_LIMITS=webhook=1000 PAYGUARD_SYNC=0
    PAYGUARD_WEBHOOK_HANDLER="$HANDLER" PAYGUARD_RETRY_BASE=0
    PAYGUARD_WEBHOOK_DELIVERY=sync)
CGI_ENV=("${BASE_ENV[@]}")
CLI_ENV=("${BASE_ENV[@]}" STRIPE_SECRET_KEY="$SK" STRIPE_API_BASE="$FAKE"
    PAYGUARD_MAX_NETWORK_RETRIES=2)
EXTRA_SECRETS="$SK"

# events JSON: POST /__events
fake_events() {
	curl -sS -f --max-time 5 -X POST -H 'Content-Type: application/json' \
	    --data-binary "$1" "$FAKE/__events" > /dev/null 2>>"$LOGS/curl.log" ||
	    not_ok "fake accepts the events $1"
}
# bf ARGS...: payguard events backfill ARGS as www-data; stdout in $OUT,
# stderr in $ERR, exit status in $RC
bf() {
	setpriv --reuid=$WWW_UID --regid=$WWW_GID --clear-groups \
	    env -i PATH=/usr/bin:/bin HOME=/nonexistent "${CLI_ENV[@]}" \
	    "$BIN/payguard" events backfill "$@" > "$BASE/bf.out" 2> "$BASE/bf.err"
	RC=$?
	OUT=$(cat "$BASE/bf.out")
	ERR=$(cat "$BASE/bf.err")
	cat "$BASE/bf.out" "$BASE/bf.err" >> "$LOGS/cli.log"
}
# summary: "listed N, new N, already present N, refused N" of the last run
summary() { echo "$OUT" | sed -n 's/^\(backfill\|dry run\):.*: \(listed .*\)$/\2/p'; }
# ran_once PREFIX N: the handler ran exactly once for each of N events
ran_once() {
	[ -f "$HOUT/runs.log" ] || return 1
	[ "$(grep -c "^$1" "$HOUT/runs.log")" -eq "$2" ] &&
	    [ -z "$(cut -d' ' -f1 "$HOUT/runs.log" | sort | uniq -d)" ]
}
audit_type_n() { jq -r --arg t "$1" 'select(.event_type == $t) | .event_type' "$AUDIT" 2>/dev/null | wc -l; }

NOW=$(now)
T0=$((NOW - 5 * 86400))
# 250 events one minute apart: pages of 100, 100, 50 (newest first)
fake_events "{\"replace\": true, \"generate\": {\"n\": 250, \"prefix\": \"evt_bfa\", \"start\": $T0, \"step\": 60, \"types\": [\"payment_intent.succeeded\", \"invoice.paid\", \"customer.created\"]}}"

# ------------------------------------------------------------- usage
bf
is "$RC" 2 "usage: --since is required (exit 2)"
bf --since yesterday
is "$RC" 2 "usage: an unreadable TIME is refused (exit 2)"
bf --since 2d --types 'invoice paid'
is "$RC" 2 "usage: a malformed --types is refused (exit 2)"
bf --since 1d --until 2d
is "$RC" 2 "usage: --since after --until is refused (exit 2)"
saved=("${CLI_ENV[@]}")
CLI_ENV=(PAYGUARD_STATE_DIR="$STATE" STRIPE_API_BASE="$FAKE")
bf --since 1d
is "$RC/$(echo "$ERR" | grep -c STRIPE_SECRET_KEY)" "1/1" "without STRIPE_SECRET_KEY: exit 1 naming the variable"
CLI_ENV=("${saved[@]}")
is "$(fake_n 'true')" 0 "usage errors never reached Stripe"

# ------------------------------------------- 5 arrive first by webhook
for i in 010 100 101 200 249; do
	mkdir -p "$BASE/ev"
	mkevent "$BASE/ev/wh$i.json" "evt_bfa000$i" invoice.paid "$SV"
	cgi_run POST "$BASE/ev/wh$i.json" HTTP_STRIPE_SIGNATURE="$(sign "$BASE/ev/wh$i.json")"
	[ "$RS" = 200 ] || not_ok "webhook evt_bfa000$i accepted (got $RS)"
done
is "$(grep -c ' webhook$' "$HOUT/sources.log" 2>/dev/null)" 5 "webhook deliveries: PAYGUARD_EVENT_SOURCE=webhook"
is "$(jq -r 'select(.event_type == "webhook_validated") | .details.source' "$AUDIT" | sort -u)" webhook "webhook_validated audit records name the source webhook"

# ------------------------------------------------------------ dry run
inbox_json; before=$(jq length "$BASE/inbox.json")
fake_mark
bf --since "$((T0 - 1))" --until "$NOW" --dry-run
is "$RC" 0 "dry run exits 0"
is "$(summary)" "listed 250, would add 245, already present 5, refused 0" "dry run: listed 250, would add 245, already present 5"
inbox_json
is "$(jq length "$BASE/inbox.json")" "$before" "dry run: the inbox is unchanged"
is "$(fake_new '.path == "/v1/events"')" 3 "dry run: three pages listed"
is "$(fake_since '.path == "/v1/events"' '[.[] | .status] | unique')" "[200]" "dry run: every page answered 200 (no violation)"
q1=$(fake_since '.path == "/v1/events"' '.[0].params')
is "$q1" "[[\"created[gte]\",\"$((T0 - 1))\"],[\"created[lte]\",\"$NOW\"],[\"limit\",\"100\"]]" "first page: created[gte], created[lte], limit 100"
is "$(fake_since '.path == "/v1/events"' '[.[1:][] | .params[] | select(.[0] == "starting_after") | .[1]]')" '["evt_bfa000151","evt_bfa000051"]' "next pages: starting_after the last event of the page before"
is "$(fake_since '.path == "/v1/events"' '[.[] | .headers.stripe_version, .headers.authorization, .headers.idempotency_key] | unique')" "[null,\"$SV\",\"correct\"]" "pinned Stripe-Version, the secret key, no Idempotency-Key on GET"

fake_mark
bf --since "$((T0 - 1))" --until "$NOW" --types invoice.paid,customer.created --dry-run
is "$(summary)" "listed 166, would add 163, already present 3, refused 0" "--types: only those types listed"
is "$(fake_since '.path == "/v1/events"' '[.[0].params[] | select(.[0] == "types[]") | .[1]]')" '["invoice.paid","customer.created"]' "--types: sent as types[] (one per type)"

# ---------------------- 500 then 429 (Stripe-Should-Retry) on page 2
fake_fault '{"path": "/v1/events", "query": "starting_after=evt_bfa000151", "responses": [{"status": 500}, {"status": 429, "headers": {"Stripe-Should-Retry": "true", "Retry-After": "1"}}]}'
fake_mark
bf --since "$((T0 - 1))" --until "$NOW"
is "$RC" 0 "backfill through a 500 and a 429 exits 0"
is "$(summary)" "listed 250, new 245, already present 5, refused 0" "backfill: listed 250, new 245, already present 5"
is "$(fake_since '.path == "/v1/events"' '[.[] | .status]')" "[200,500,429,200,200]" "page 2: 500, then 429, then 200 (stripe-python's retries)"
is "$(fake_since '.path == "/v1/events"' '[.[1:4][] | .query] | unique | length')" 1 "every retry of page 2 sent the same query"
gap=$(fake_since '.path == "/v1/events"' '(.[3].time - .[2].time)')
check "the retry after the 429 waited Retry-After (1 s; got ${gap} s)" awk -v g="$gap" 'BEGIN { exit !(g >= 1.0) }'
inbox_json
is "$(jq length "$BASE/inbox.json")" 250 "inbox: 250 events"
is "$(jq -r '[.[] | select(.id | startswith("evt_bfa")) | .source] | group_by(.) | map("\(.[0])=\(length)") | join(",")' "$BASE/inbox.json")" "backfill=245,webhook=5" "inbox: 245 backfill, 5 webhook"
is "$(jq -r '[.[] | .state] | unique | join(",")' "$BASE/inbox.json")" delivered "sync site: the backfill delivered every new event"
check "the handler ran exactly once for each of the 250 events" ran_once evt_bfa 250
is "$(grep -c ' backfill$' "$HOUT/sources.log")" 245 "backfilled deliveries: PAYGUARD_EVENT_SOURCE=backfill"
is "$(audit_type_n event_backfilled)" 245 "audit: one event_backfilled record per new event"
is "$(jq -r 'select(.event_type == "events_backfill" and .details.dry_run == false) | "\(.details.outcome) \(.details.new) \(.details.present) \(.details.listed)"' "$AUDIT")" "complete 245 5 250" "audit: the run's record (complete, new, present, listed)"
is "$(jq -r 'select(.event_type == "event_backfilled") | .details.source' "$AUDIT" | sort -u)" backfill "audit: event_backfilled records name the source"

bf --since "$((T0 - 1))" --until "$NOW"
is "$RC/$(summary)" "0/listed 250, new 0, already present 250, refused 0" "a second run finds everything present"
check "a second run delivers nothing twice" ran_once evt_bfa 250

# ------------------------------- a plain 429 stops the run: resumed
T1=$((NOW - 3 * 86400))
fake_events "{\"replace\": true, \"generate\": {\"n\": 250, \"prefix\": \"evt_bfb\", \"start\": $T1, \"step\": 60}}"
fake_fault '{"path": "/v1/events", "query": "starting_after=evt_bfb000151", "responses": [{"status": 429}]}'
fake_mark
bf --since "$T1" --until "$NOW"
is "$RC" 1 "a 429 without Stripe-Should-Retry stops the run (exit 1)"
check "the reason names Stripe's 429 and how to carry on" bash -c 'grep -q "429 rate_limit_error" <<<"$1" && grep -q "again to carry on" <<<"$1"' _ "$ERR"
is "$(fake_new '.path == "/v1/events"')" 2 "the 429 was not retried (stripe-python does not)"
is "$(summary)" "listed 100, new 100, already present 0, refused 0" "the stopped run stored page 1"
is "$(jq -r 'select(.event_type == "events_backfill" and .details.outcome == "interrupted") | .details.new' "$AUDIT")" 100 "audit: the stopped run is recorded as interrupted"
fake_mark
bf --since "$T1" --until "$NOW"
is "$RC" 0 "the next run completes"
check "it says it resumed after the last event handled" grep -q "resumed after evt_bfb000151" "$BASE/bf.out"
is "$(fake_since '.path == "/v1/events"' '[.[0].params[] | select(.[0] == "starting_after") | .[1]] | join(",")')" '"evt_bfb000151"' "the resumed run starts after that event"
is "$(summary)" "listed 250, new 250, already present 0, refused 0" "the resumed run's summary covers the whole range"
check "each of the 250 delivered exactly once" ran_once evt_bfb 250

# ------------------------------------- a run SIGKILLed half-way: resumed
T2=$((NOW - 2 * 86400))
fake_events "{\"replace\": true, \"generate\": {\"n\": 300, \"prefix\": \"evt_bfc\", \"start\": $T2, \"step\": 60}}"
# Page 3 (after evt_bfc000101) answers slowly: the kill lands there.
fake_fault '{"path": "/v1/events", "query": "starting_after=evt_bfc000101", "responses": [{"delay_ms": 8000}]}'
setpriv --reuid=$WWW_UID --regid=$WWW_GID --clear-groups \
    env -i PATH=/usr/bin:/bin HOME=/nonexistent "${CLI_ENV[@]}" \
    "$BIN/payguard" events backfill --since "$T2" > "$BASE/bfk.out" 2>&1 &
KP=$!
track $KP
for i in $(seq 200); do
	[ "$(audit_type_n event_backfilled)" -ge $((245 + 250 + 200)) ] && break
	sleep 0.1
done
sleep 1
kill -KILL $KP 2>/dev/null
wait $KP 2>/dev/null
untrack $KP
inbox_json
is "$(jq '[.[] | select(.id | startswith("evt_bfc"))] | length' "$BASE/inbox.json")" 200 "killed during page 3: pages 1 and 2 are in the inbox"
is "$(grep -c '^evt_bfc' "$HOUT/runs.log")" 0 "the killed run delivered nothing yet"
fake_mark
bf --since "$T2"
is "$RC" 0 "the run after the kill completes"
is "$(fake_since '.path == "/v1/events"' '[.[0].params[] | select(.[0] == "starting_after") | .[1]] | join(",")')" '"evt_bfc000101"' "it resumed after the last event of page 2"
# (the killed run's slow request is logged when it completes: not counted)
is "$(fake_new '.path == "/v1/events" and .fault == null')" 1 "only the missing page was listed again"
inbox_json
is "$(jq '[.[] | select(.id | startswith("evt_bfc")) | select(.state == "delivered")] | length' "$BASE/inbox.json")" 300 "all 300 events stored and delivered"
check "each of the 300 delivered exactly once" ran_once evt_bfc 300

# ------------------------------------------------------------- hygiene
check "the audit log is JSON lines" audit_all_json "$AUDIT"
secret_scan "backfill" "$AUDIT" "$LOGS/cli.log" "$BASE/bf.err" "$BASE/bfk.out"
finish
