#!/bin/bash
# `payguard store migrate --to redis|lmdb` (issue 11), against a real
# redis-server on loopback (AOF always) and the fake Stripe, the programs
# as plain CGI:
#   - a one-server site on LMDB: tokens (one revoked), delivered events,
#     an undelivered one, idempotent requests
#   - migrate --to redis killed half-way (a test build's fault point:
#     SIGKILL after 5 records), then run again: it copies the rest and
#     nothing twice, the counts printed match, one audit record per run
#   - the same site on PAYGUARD_STORE=redis: a duplicate sent after the
#     migration is still a duplicate, the undelivered event is delivered
#     by Stripe's retry, a token works (the revoked one does not), an
#     idempotent request replays without reaching Stripe
#   - Redis unreachable: the gateway and the webhook answer 503
#   - the CLI on Redis: metrics and doctor count the shared inbox's dead
#     letters (not the node's old LMDB); rotate-keys re-encrypts the
#     events and stored responses in Redis, which then open under the new
#     key alone
#   - the upstream Idempotency-Key is deterministic: a record lost (as
#     in a failover) and the client's retry reaches Stripe with the same
#     key, so Stripe replays instead of creating a second customer
#   - and back: migrate --to lmdb into a fresh state directory, the same
#     checks there (records created on Redis included)
# Ports 19566-19567 (19568: a closed port).
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/api_lib.sh"

P_R=19566 P_F=19567 P_CLOSED=19568
need_ports $P_R $P_F $P_CLOSED
command -v redis-server >/dev/null || bail "redis-server is installed (tests/deps.sh)"
[ -x "$O/faults/payguard" ] || bail "$O/faults/payguard is built"
api_setup
cp "$O/faults/payguard" "$BIN/payguard-faults"
chmod 0755 "$BIN/payguard-faults"
make_handler
start_fake $P_F

RD=$BASE/redis
mkdir -p "$RD"
redis-server --bind 127.0.0.1 --port $P_R --dir "$RD" --appendonly yes \
    --appendfsync always --save '' --maxmemory-policy noeviction \
    --logfile "$RD/redis.log" --daemonize no >/dev/null 2>&1 &
REDIS_PID=$!
track $REDIS_PID
wait_port $P_R 10 || bail "redis-server listens on 127.0.0.1:$P_R"
n=100
until redis-cli -p $P_R ping 2>/dev/null | grep -q PONG || [ $n -eq 0 ]; do
	sleep 0.1; n=$((n - 1))
done
rcount() { redis-cli -p $P_R --scan --pattern "$1" | wc -l; }

ENCKEY=$("$BIN/payguard" keygen) || bail "payguard keygen"
PEPPER=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
BASE_CONF=("${API_CONF[@]}" STRIPE_WEBHOOK_SECRET="$SECRET"
    STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1 STRIPE_ENCRYPTION_KEY="$ENCKEY"
    PAYGUARD_TOKEN_PEPPER="$PEPPER" PAYGUARD_WEBHOOK_HANDLER="$HANDLER"
    PAYGUARD_WEBHOOK_DELIVERY=sync PAYGUARD_RETRY_BASE=0
    REDIS_URL=redis://127.0.0.1:$P_R/0 PAYGUARD_REDIS_TIMEOUT_MS=2000)
# backend lmdb|redis DIR: the site's configuration (programs and CLI)
backend() {
	API_CONF=("${BASE_CONF[@]}" PAYGUARD_STORE=$1 PAYGUARD_STATE_DIR="$2")
	CLI_ENV=("${API_CONF[@]}")
	AUDIT=$2/logs/security_audit.log
}
wh() {	# wh FILE [NAME=VALUE...]: the signed event to webhook.fcgi (plain CGI)
	local f=$1; shift
	CGI_ENV=("${API_CONF[@]}")
	CGI_PROG=$BIN/webhook.fcgi cgi_run POST "$f" HTTP_STRIPE_SIGNATURE="$(sign "$f")" "$@"
}
migrate() {	# migrate DIRECTION [payguard binary]: output in $BASE/mig.out
	setpriv --reuid=$WWW_UID --regid=$WWW_GID --clear-groups \
	    env -i PATH=/usr/bin:/bin HOME=/nonexistent "${CLI_ENV[@]}" ${MIG_FAULT:+PAYGUARD_FAULT=$MIG_FAULT} \
	    "${2:-$BIN/payguard}" store migrate --to "$1" > "$BASE/mig.out" 2>>"$LOGS/cli.log"
}
# mig KIND FIELD: a number from the last migrate's summary line of KIND
mig() {
	sed -n "s/^$1 *\([0-9]*\) in the source, \([0-9]*\) of them in the destination (copied now \([0-9]*\), already there \([0-9]*\)).*/\1 \2 \3 \4/p" "$BASE/mig.out" |
	    awk -v f="$2" '{ print $(f == "source" ? 1 : f == "verified" ? 2 : f == "copied" ? 3 : 4) }'
}
migrated_n() { cat "$AUDIT" 2>/dev/null | grep -c '"event_type":"store_migrated"'; }
# pgcli_err FILE ARGS...: pgcli with stderr into FILE
pgcli_err() {
	local f=$1; shift
	setpriv --reuid=$WWW_UID --regid=$WWW_GID --clear-groups \
	    env -i PATH=/usr/bin:/bin HOME=/nonexistent "${CLI_ENV[@]}" \
	    "$BIN/payguard" "$@" 2> "$f"
}

# ------------------------------------------------ a one-server site on LMDB
backend lmdb "$STATE"
TW=$(token alice write)
TX=$(token gone write)
pgcli token revoke gone > /dev/null || not_ok "token revoke gone"
AW="HTTP_AUTHORIZATION=Bearer $TW"
EVS=()
for i in 1 2 3 4 5 6; do
	newev
	EVS+=("$EV")
	cp "$EVF" "$BASE/ev.$i.json"
	wh "$EVF"
done
is "$RS/$(runs "${EVS[0]}")" "200/1" "LMDB: events delivered"
newev
EVU=$EV EVUF=$EVF
touch "$HOUT/fail_once.$EVU"
wh "$EVUF"
is "$RS/$(runs "$EVU")" "500/1" "LMDB: one delivery failed (undelivered, Stripe will retry)"
api_cgi POST /v1/customers "$(form 'email=mig1%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=mig-k1
is "$RS" 200 "LMDB: an idempotent POST (mig-k1)"
CUS1=$(jb .id)
api_cgi POST /v1/customers "$(form 'email=mig2%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=mig-k2
CUS2=$(jb .id)
api_cgi POST /v1/customers "$(form 'email=mig1%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=mig-k1
is "$RS/$(jb .id)/$(hdr Idempotent-Replayed)" "200/$CUS1/true" "LMDB: mig-k1 replays"
# 2 tokens + 7 events + 2 idempotency records
TOTAL=11

# ------------------------------------------- to Redis, killed half-way
before=$(migrated_n)
MIG_FAULT=migrate_kill:5 migrate redis "$BIN/payguard-faults"
rc=$?
is "$rc" 137 "migrate --to redis, test build: SIGKILLed after 5 records (exit 137)"
is "$(( $(rcount 'pg:{tok}:n:*') + $(rcount 'pg:{ev}:e:*') + $(rcount 'pg:{i:*') ))" 5 \
    "killed half-way: 5 of $TOTAL records in Redis"
migrate redis
rc=$?
diag "$(tr '\n' '|' < "$BASE/mig.out")"
is "$rc" 0 "migrate --to redis, run again: exit 0"
is "$(mig tokens source)/$(mig tokens verified)" "2/2" "rerun: tokens 2 in the source, 2 verified in Redis"
is "$(mig events source)/$(mig events verified)" "7/7" "rerun: events 7 in the source, 7 verified in Redis"
is "$(mig idempotency source)/$(mig idempotency verified)" "2/2" "rerun: idempotency 2 in the source, 2 verified"
is "$(( $(mig tokens copied) + $(mig events copied) + $(mig idempotency copied) ))/$(( $(mig tokens present) + $(mig events present) + $(mig idempotency present) ))" \
    "$((TOTAL - 5))/5" "rerun: copied the $((TOTAL - 5)) missing records, found the 5 copied before (nothing twice)"
is "$(rcount 'pg:{tok}:n:*')/$(rcount 'pg:{ev}:e:*')/$(rcount 'pg:{i:*')" "2/7/2" "Redis holds each record once"
check "a complete run says so" grep -q '^store migrate --to redis: complete, every record verified$' "$BASE/mig.out"
migrate redis
is "$(( $(mig tokens copied) + $(mig events copied) + $(mig idempotency copied) ))/$(mig events present)" "0/7" "a third run copies nothing"
is "$(( $(migrated_n) - before ))" 2 "one store_migrated audit record per finished run (the killed one wrote none)"
check "the audit record carries the counts" jqc 'select(.event_type == "store_migrated") | .details.events.verified == 7 and .details.outcome == "complete"' <(tail -n 1 "$AUDIT")
grep -qaF 'mig1@example.com' "$RD"/appendonlydir/* 2>/dev/null
check "idempotent responses stay encrypted in Redis (no plaintext in the AOF)" [ $? != 0 ]
grep -qaF "$PLANT_EMAIL" "$RD"/appendonlydir/* 2>/dev/null
check "events stay encrypted in Redis (no customer email in the AOF)" [ $? != 0 ]

# --------------------------------------------------- the site on Redis
backend redis "$STATE"
wh "$BASE/ev.1.json"
is "$RS/$(jb .duplicate)/$(runs "${EVS[0]}")" "200/true/1" "Redis: an event sent after the migration is still a duplicate"
wh "$EVUF"
is "$RS/$(runs "$EVU")" "200/2" "Redis: the undelivered event is delivered by Stripe's retry"
fake_mark
api_cgi GET /v1/customers - "$AW"
is "$RS" 200 "Redis: the migrated token works"
api_cgi GET /v1/customers - "HTTP_AUTHORIZATION=Bearer $TX"
is "$RS" 401 "Redis: the revoked token stays revoked"
api_cgi POST /v1/customers "$(form 'email=mig1%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=mig-k1
is "$RS/$(jb .id)/$(hdr Idempotent-Replayed)" "200/$CUS1/true" "Redis: mig-k1 replays the migrated response"
api_cgi POST /v1/customers "$(form 'email=other%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=mig-k2
is "$RS/$(jb .error.type)" "400/idempotency_error" "Redis: mig-k2 with other parameters: idempotency_error"
is "$(fake_new 'select(.method == "POST")')" 0 "Redis: no replay reached Stripe"
# Records born on Redis, for the way back.
newev
EVR=$EV EVRF=$EVF
wh "$EVRF"
is "$RS/$(runs "$EVR")" "200/1" "Redis: a new event delivered"
api_cgi POST /v1/customers "$(form 'email=mig3%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=mig-k3
CUS3=$(jb .id)
is "$RS" 200 "Redis: a new idempotent POST (mig-k3)"

# ------------------------------------------------ the CLI on Redis
newev
EVD=$EV
touch "$HOUT/fail_once.$EVD"
wh "$EVF" PAYGUARD_MAX_ATTEMPTS=1
is "$RS" 500 "Redis: a failed delivery with PAYGUARD_MAX_ATTEMPTS=1 (a dead letter)"
check "Redis: the dead letter is in Redis" [ "$(redis-cli -p $P_R hget "pg:{ev}:e:$EVD" st)" = 3 ]
pgcli metrics > "$BASE/metrics.txt"
is "$(sed -n 's/^payguard_inbox_dead_letter_events //p' "$BASE/metrics.txt")" 1 "metrics on Redis: the shared inbox's dead letters (1)"
pgcli doctor --json > "$BASE/doctor.json"
check "doctor on Redis: the shared store is reachable" jqc '.findings[] | select(.area == "redis" and .level == "ok")' "$BASE/doctor.json"
check "doctor on Redis: the dead letter of the shared inbox is reported" jqc '.findings[] | select(.area == "inbox" and .level == "warn" and (.message | test("^1 dead letter")))' "$BASE/doctor.json"
backend lmdb "$STATE"
pgcli metrics > "$BASE/metrics.txt"
is "$(sed -n 's/^payguard_inbox_dead_letter_events //p' "$BASE/metrics.txt")" 0 "metrics on the node's LMDB: no dead letter there (so the 1 above came from Redis)"
backend redis "$STATE"
CLI_ENV+=(REDIS_URL=redis://127.0.0.1:$P_CLOSED/0)
pgcli doctor --json > "$BASE/doctor.json"
check "doctor, Redis unreachable: a problem in area redis, no inbox figures from the local LMDB" \
    jqc '([.findings[] | select(.area == "redis" and .level == "problem")] | length == 1) and ([.findings[] | select(.area == "inbox")] | length == 0)' "$BASE/doctor.json"
backend redis "$STATE"
# The programs with Redis unreachable: they start, and answer 503 (a
# retry will work), never 401 or 500.
api_cgi GET /v1/customers - "$AW" REDIS_URL=redis://127.0.0.1:$P_CLOSED/0
is "$RS/$(jb .error.type)/$(hdr Stripe-Should-Retry)" "503/api_error/true" "gateway, Redis unreachable: 503 with Stripe-Should-Retry, not 401"
check "gateway, Redis unreachable: audited as store_failure" jqc 'select(.event_type == "store_failure")' <(tail -n 2 "$AUDIT")
newev
wh "$EVF" REDIS_URL=redis://127.0.0.1:$P_CLOSED/0
is "$RS/$(jb .error.code)/$(runs "$EV")" "503/store_failure/0" "webhook, Redis unreachable: 503, nothing delivered"

# rotate-keys: a new primary key, the old one after it
K2=$("$BIN/payguard" keygen) || bail "payguard keygen"
BASE_CONF=("${BASE_CONF[@]/#STRIPE_ENCRYPTION_KEY=*/STRIPE_ENCRYPTION_KEY=$K2,$ENCKEY}")
backend redis "$STATE"
pgcli_err "$BASE/rot.err" rotate-keys > /dev/null
is "$?" 0 "rotate-keys on Redis: exit 0"
diag "$(tr '\n' '|' < "$BASE/rot.err")"
check "rotate-keys: 9 events re-encrypted in Redis" grep -q '^rotate-keys: events (Redis): 9 record(s) re-encrypted$' "$BASE/rot.err"
check "rotate-keys: 3 stored responses re-encrypted in Redis" grep -q '^rotate-keys: idempotency (Redis): 3 record(s) re-encrypted$' "$BASE/rot.err"
pgcli_err "$BASE/rot.err" rotate-keys > /dev/null
check "rotate-keys run again: nothing left to do in Redis" grep -q '^rotate-keys: events (Redis): 0 record(s) re-encrypted$' "$BASE/rot.err"
# The new key alone now opens what Redis holds.
BASE_CONF=("${BASE_CONF[@]/#STRIPE_ENCRYPTION_KEY=*/STRIPE_ENCRYPTION_KEY=$K2}")
backend redis "$STATE"
pgcli inbox show "${EVS[2]}" > "$BASE/show.out"
check "after rotate-keys: an event in Redis opens under the new key alone" grep -q "${EVS[2]#evt_}" "$BASE/show.out"
fake_mark
api_cgi POST /v1/customers "$(form 'email=mig3%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=mig-k3
is "$RS/$(jb .id)/$(hdr Idempotent-Replayed)" "200/$CUS3/true" "after rotate-keys: mig-k3 replays under the new key alone"
is "$(fake_new 'select(.method == "POST")')" 0 "after rotate-keys: no replay reached Stripe"

# A record lost in a failover (deleted here): the client's retry reaches
# Stripe with the same Idempotency-Key, and Stripe replays.
fake_mark
api_cgi POST /v1/customers "$(form 'email=mig4%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=mig-k4
CUS4=$(jb .id)
is "$RS" 200 "Redis: an idempotent POST (mig-k4)"
lost=""
for k in $(redis-cli -p $P_R --scan --pattern 'pg:{i:*'); do
	redis-cli -p $P_R hget "$k" k | grep -q 'mig-k4$' && lost=$k
done
is "$(redis-cli -p $P_R del "$lost")" 1 "mig-k4's record lost (as a failover may lose it)"
api_cgi POST /v1/customers "$(form 'email=mig4%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=mig-k4
is "$RS/$(jb .id)" "200/$CUS4" "the client's retry after the loss: the same customer (Stripe replayed)"
is "$(fake_since 'select(.method == "POST")' '[length, ([.[].headers.idempotency_key] | unique | length), .[1].replayed]' )" "[2,1,true]" \
    "Stripe saw one Idempotency-Key for both attempts and replayed the second"

# --------------------------------------------------- and back to LMDB
S2=$(new_state state2)
backend lmdb "$S2"
migrate lmdb
rc=$?
diag "$(tr '\n' '|' < "$BASE/mig.out")"
is "$rc" 0 "migrate --to lmdb: exit 0"
is "$(mig tokens verified)/$(mig events verified)/$(mig idempotency verified)" "2/9/4" \
    "to LMDB: 2 tokens, 9 events, 4 idempotency records verified"
is "$(mig events copied)/$(mig events present)" "9/0" "to LMDB: each event copied once"
wh "$BASE/ev.2.json"
is "$RS/$(jb .duplicate)/$(runs "${EVS[1]}")" "200/true/1" "back on LMDB: a duplicate stays a duplicate"
wh "$EVRF"
is "$RS/$(jb .duplicate)/$(runs "$EVR")" "200/true/1" "back on LMDB: an event accepted on Redis is a duplicate"
pgcli inbox list --json > "$BASE/inbox.json"
is "$(inbox_field "$EVU" state)/$(inbox_field "$EVD" state)" delivered/dead "back on LMDB: the delivery states came along"
fake_mark
api_cgi GET /v1/customers - "$AW"
is "$RS" 200 "back on LMDB: the token works"
api_cgi POST /v1/customers "$(form 'email=mig3%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=mig-k3
is "$RS/$(jb .id)/$(hdr Idempotent-Replayed)" "200/$CUS3/true" "back on LMDB: mig-k3 (created on Redis) replays"
api_cgi POST /v1/customers "$(form 'email=mig1%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=mig-k1
is "$RS/$(jb .id)" "200/$CUS1" "back on LMDB: mig-k1 replays"
is "$(fake_new 'select(.method == "POST")')" 0 "back on LMDB: no replay reached Stripe"

migrate bogus
is "$?" 2 "migrate --to bogus: usage error (exit 2)"
scan_leaks "store migrate" "$LOGS/cli.log" "$LOGS/cgi.log"
finish
