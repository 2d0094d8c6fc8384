#!/bin/bash
# Metrics: traffic through the real webhook.fcgi and api.fcgi (plain CGI,
# the fake Stripe upstream), then `payguard metrics` checked by
# `promtool check metrics` and by value, and a real Prometheus (Debian's
# prometheus, on loopback) scraping audit.cgi's /metrics under Apache with
# Basic auth, answering queries through its HTTP API, with the shipped
# alerting rules loaded.  Ports: 19945 (fake), 19946 (Apache), 19947
# (Prometheus).
. "$SRC/tests/harness/lib.sh"
. "$SRC/tests/harness/api_lib.sh"
api_setup
need_ports 19945 19946 19947
command -v prometheus >/dev/null && command -v promtool >/dev/null ||
    bail "prometheus and promtool are installed (tests/deps.sh)"
[ -x "$O/audit.cgi" ] || bail "$O/audit.cgi is built"
cp "$O/audit.cgi" "$BIN/" && chmod 0755 "$BIN/audit.cgi"
start_fake 19945
make_handler

INI=$BASE/payguard.ini
write_ini "$INI" PAYGUARD_STATE_DIR="$STATE" PAYGUARD_ADMIN_USERS=admin \
    PAYGUARD_SYNC=0 STRIPE_WEBHOOK_SECRET="$SECRET" \
    STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1 STRIPE_API_VERSION="$SV" \
    PAYGUARD_WEBHOOK_HANDLER="$HANDLER" PAYGUARD_WEBHOOK_DELIVERY=sync \
    PAYGUARD_MAX_ATTEMPTS=1 STRIPE_SECRET_KEY="$SK" STRIPE_API_BASE="$FAKE" \
    PAYGUARD_RATE_LIMITS="webhook=5,customer=1000,default=1000"
API_CONF=(PAYGUARD_CONFIG="$INI")
CLI_ENV=(PAYGUARD_CONFIG="$INI")
EXTRA_SECRETS="$SK"
metrics() { pgcli metrics > "$BASE/metrics.prom"; }
# m 'NAME{LABELS}': the value of one sample in the last metrics()
m() { awk -v k="$1" '$1 == k { print $2 }' "$BASE/metrics.prom"; }

metrics
is "$?" 0 "payguard metrics on a fresh state exits 0"
check "promtool check metrics: a fresh state" promtool check metrics < "$BASE/metrics.prom"

# ------------------------------------------------------------ traffic
wh() { CGI_PROG=$BIN/webhook.fcgi; CGI_ENV=(PAYGUARD_CONFIG="$INI" "$@"); }
wh
newev; cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")"
is "$RS" 200 "traffic: a valid event, delivered"
cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")"
is "$RS" 200 "traffic: its replay"
newev; cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(badsig)"
is "$RS" 400 "traffic: a bad signature"
touch "$HOUT/fail_always"
newev; DEAD=$EV; cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")"
is "$RS" 500 "traffic: a handler failure (one attempt allowed: dead letter)"
rm -f "$HOUT/fail_always"
wh PAYGUARD_WEBHOOK_DELIVERY=queue
newev; cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")"
is "$RS" 200 "traffic: a queued event (the backlog)"
newev; cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")"
is "$RS" 429 "traffic: the 6th webhook in the window is rate limited"

CGI_PROG=$BIN/api.fcgi
T=$(token metrics write)
AW="HTTP_AUTHORIZATION=Bearer $T"
api_cgi POST /v1/customers "$(form 'email=m%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=k-metrics-1
is "$RS" 200 "traffic: POST with a new Idempotency-Key"
api_cgi POST /v1/customers "$(form 'email=m%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=k-metrics-1
is "$(hdr Idempotent-Replayed)" true "traffic: the same key replayed"
api_cgi POST /v1/customers "$(form 'email=other%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=k-metrics-1
is "$RS" 400 "traffic: the same key with other parameters (mismatch)"
# In flight: a slow upstream holds the first request of k-metrics-2 while
# a second one with the same key arrives (409).
printf 'email=f%%40example.com' > "$BASE/inflight.form"
fake_fault '{"path": "/v1/customers", "method": "POST", "responses": [{"delay_ms": 3000}]}'
( api_cgi POST /v1/customers "$BASE/inflight.form" "$AW" HTTP_IDEMPOTENCY_KEY=k-metrics-2 ) &
bg=$!
for i in $(seq 50); do
	# the slow fault consumed = the first request is upstream
	[ "$(curl -sS --max-time 5 "$FAKE/__faults" | jq '[.[].responses[]] | length')" = 0 ] && break
	sleep 0.1
done
api_cgi POST /v1/customers "$BASE/inflight.form" "$AW" HTTP_IDEMPOTENCY_KEY=k-metrics-2
is "$RS" 409 "traffic: the same key while its first request is upstream (in flight: 409)"
wait "$bg"
fake_fault '{"path": "/v1/customers", "method": "GET", "responses": [{"status": 404}]}'
api_cgi GET /v1/customers/cus_nope - "$AW"
is "$RS" 404 "traffic: an upstream 4xx"
api_cgi GET /v1/customers - "$AW"
is "$RS" 200 "traffic: an upstream 2xx"

# ------------------------------------------------ payguard metrics
metrics
check "promtool check metrics: after traffic" promtool check metrics < "$BASE/metrics.prom"
is "$(m 'payguard_webhook_outcomes_total{outcome="validated"}')" 2 "webhook outcomes: validated 2"
is "$(m 'payguard_webhook_outcomes_total{outcome="replay_detected"}')" 1 "webhook outcomes: replay_detected 1"
is "$(m 'payguard_webhook_outcomes_total{outcome="invalid_signature"}')" 1 "webhook outcomes: invalid_signature 1"
is "$(m 'payguard_webhook_outcomes_total{outcome="delivery_failed"}')" 1 "webhook outcomes: delivery_failed 1"
is "$(m 'payguard_webhook_outcomes_total{outcome="rate_limit_exceeded"}')" 1 "webhook outcomes: rate_limit_exceeded 1"
is "$(m 'payguard_rate_limited_total{operation="webhook"}')" 1 "rate-limit refusals by operation: webhook 1"
is "$(m 'payguard_audit_records_total{type="webhook_invalid_signature",severity="HIGH"}')" 1 "audit records by type and severity"
is "$(m payguard_inbox_dead_letter_events)" 1 "dead letters: 1"
is "$(m payguard_inbox_backlog_events)" 1 "inbox backlog: 1"
check "oldest pending age is positive" awk -v v="$(m payguard_inbox_oldest_pending_age_seconds)" 'BEGIN { exit !(v > 0) }'
is "$(m 'payguard_webhook_deliveries_total{outcome="ok"}')/$(m 'payguard_webhook_deliveries_total{outcome="failed"}')" 1/1 "handler runs by outcome: ok 1, failed 1"
is "$(m payguard_webhook_delivery_duration_seconds_count)" 2 "delivery latency histogram: 2 observations"
is "$(m 'payguard_webhook_delivery_duration_seconds_bucket{le="+Inf"}')" 2 "delivery latency histogram: +Inf bucket = count"
is "$(m 'payguard_idempotency_outcomes_total{outcome="new"}')/$(m 'payguard_idempotency_outcomes_total{outcome="replayed"}')/$(m 'payguard_idempotency_outcomes_total{outcome="in_flight"}')/$(m 'payguard_idempotency_outcomes_total{outcome="mismatch"}')" 2/1/1/1 "idempotency outcomes: new 2, replayed, in flight, mismatch"
is "$(m 'payguard_gateway_upstream_responses_total{class="2xx"}')/$(m 'payguard_gateway_upstream_responses_total{class="4xx"}')" 3/1 "upstream status classes: 2xx 3, 4xx 1"
is "$(m payguard_gateway_upstream_duration_seconds_count)" 4 "upstream latency histogram: 4 observations"
is "$(m payguard_audit_chain_length)" "$(audit_n)" "audit chain length = records in the log"
check "no label carries a client address" bash -c '! grep -q "127\.0\.0\.1" "$1"' _ "$BASE/metrics.prom"
secret_scan "metrics carry no secret" "$BASE/metrics.prom"

# ------------------------------------------------- audit.cgi /metrics
HTP=$BASE/htpasswd
admin_htpasswd "$HTP"
start_apache_audit 19946 "$INI" "$HTP"
MURL=http://127.0.0.1:19946/audit/metrics
http GET "$MURL"
is "$RS" 401 "/metrics without credentials: 401"
before=$(audit_n)
http GET "$MURL" -u eve:eve-pw
is "$RS" 403 "/metrics for a user who is not an admin: 403"
is "$(tail -n 1 "$AUDIT" | jq -r .event_type)" admin_access_denied "the refused scrape is audited"
http GET "$MURL" -u admin:adm1n-pw
is "$RS" 200 "/metrics for the admin: 200"
check "/metrics: Prometheus text content type" bash -c 'grep -qi "^content-type: text/plain; version=0.0.4" "$1"' _ "$RH"
check "/metrics: promtool check metrics" promtool check metrics < "$RB"

# ----------------------------------------------------- real Prometheus
check "the shipped alerting rules pass promtool check rules" promtool check rules "$SRC/data/payguard-alerts.yml"
P=$BASE/prom
mkdir -p "$P/data"
printf '%s' 'adm1n-pw' > "$P/pw"
cat > "$P/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $SRC/data/payguard-alerts.yml
scrape_configs:
  - job_name: payguard
    metrics_path: /audit/metrics
    basic_auth:
      username: admin
      password_file: $P/pw
    static_configs:
      - targets: ['127.0.0.1:19946']
EOC
prometheus --config.file="$P/prometheus.yml" --storage.tsdb.path="$P/data" \
    --web.listen-address=127.0.0.1:19947 > "$P/prometheus.log" 2>&1 &
PROM=$!
track $PROM
wait_port 19947 30 || bail "prometheus listens on 19947"
Q=http://127.0.0.1:19947/api/v1
# pq QUERY: the first value of an instant query (empty when none)
pq() { curl -sS --max-time 5 -G "$Q/query" --data-urlencode "query=$1" 2>>"$LOGS/curl.log" | jq -r '.data.result[0].value[1] // empty'; }
for i in $(seq 60); do
	[ "$(pq 'up{job="payguard"}')" = 1 ] && break
	sleep 0.5
done
is "$(pq 'up{job="payguard"}')" 1 "Prometheus scrapes audit.cgi with Basic auth (up == 1)"
for i in $(seq 20); do
	[ -n "$(pq 'payguard_webhook_outcomes_total{outcome="validated"}')" ] && break
	sleep 0.5
done
is "$(pq 'payguard_webhook_outcomes_total{outcome="validated"}')" 2 "Prometheus answers: validated webhooks = 2"
is "$(pq 'sum(payguard_idempotency_outcomes_total)')" 5 "Prometheus answers: idempotency outcomes sum to 5"
med=$(pq 'histogram_quantile(0.5, payguard_gateway_upstream_duration_seconds_bucket)')
check "Prometheus computes a median upstream latency from the histogram (${med:-none} s)" awk -v v="$med" 'BEGIN { exit !(v != "" && v > 0 && v <= 60) }'

is "$(curl -sS --max-time 5 "$Q/rules" | jq -r '[.data.groups[].rules[] | select(.health == "ok")] | length > 0')" true "Prometheus loaded the shipped alerting rules"
stop_pid $PROM

secret_scan "no Stripe key in the Prometheus log or the audit log" "$P/prometheus.log" "$AUDIT"
finish
