#!/bin/bash
# Several web servers, one payguard: two webhook.fcgi "nodes" (two
# lighttpd servers, 4 FastCGI processes each, each with its own state
# directory) sharing one real redis-server on loopback (AOF, appendfsync
# always), PAYGUARD_STORE=redis:
#   - 32 simultaneous copies of one event across both nodes (sync
#     delivery): the handler runs once, one inbox record, none lost
#   - rate limit L=20 W=10 across both nodes: 60 simultaneous requests,
#     exactly 20 admitted in total
#   - Redis refusing writes (OOM) or stopped: 503, nothing acknowledged,
#     the rate limiter fails open with an audit record; recovers after
#   - SIGKILL of redis-server during a load against both nodes, restart
#     on the same directory: every event that got a 200 is in the inbox
#   - the CLI on either node sees and drains every node's events
# Ports 19560-19565.
. "$SRC/tests/harness/lib.sh"
pg_setup
make_handler
P_R=19560 P_A=19561 P_B=19562 P_RA=19563 P_RB=19564
need_ports $P_R $P_A $P_B $P_RA $P_RB 19565
command -v redis-server >/dev/null || bail "redis-server is installed (tests/deps.sh)"

RD=$BASE/redis
mkdir -p "$RD"
# start_redis: on $RD, AOF always, noeviction; pid in REDIS_PID
start_redis() {
	redis-server --bind 127.0.0.1 --port $P_R --dir "$RD" --appendonly yes \
	    --appendfsync always --save '' --maxmemory-policy noeviction \
	    --logfile "$RD/redis.log" --daemonize no >/dev/null 2>&1 &
	REDIS_PID=$!
	track $REDIS_PID
	wait_port $P_R 10 || bail "redis-server listens on 127.0.0.1:$P_R"
	# Accepting is not yet loaded: wait until it answers commands.
	local n=100
	until redis-cli -p $P_R ping 2>/dev/null | grep -q PONG || [ $n -eq 0 ]; do
		sleep 0.1; n=$((n - 1))
	done
}
rcli() { redis-cli -p $P_R "$@"; }
start_redis

# Every node must share the encryption key (else a node's worker cannot
# open another node's events).
ENCKEY=$("$BIN/payguard" keygen) || bail "payguard keygen"
CONF=(STRIPE_WEBHOOK_SECRET="$SECRET" STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1,::1
    STRIPE_ENCRYPTION_KEY="$ENCKEY"
    STRIPE_API_VERSION=2024-06-20 PAYGUARD_WEBHOOK_HANDLER="$HANDLER"
    PAYGUARD_RETRY_BASE=0 PAYGUARD_STORE=redis
    REDIS_URL=redis://127.0.0.1:$P_R/0 PAYGUARD_REDIS_TIMEOUT_MS=1000)
INI_A=$BASE/a.ini INI_B=$BASE/b.ini
write_ini "$INI_A" "${CONF[@]}" PAYGUARD_NODE=node-a PAYGUARD_WEBHOOK_DELIVERY=sync PAYGUARD_RATE_LIMITS=webhook=100000
write_ini "$INI_B" "${CONF[@]}" PAYGUARD_NODE=node-b PAYGUARD_WEBHOOK_DELIVERY=sync PAYGUARD_RATE_LIMITS=webhook=100000
SA=$(new_state state_a) SB=$(new_state state_b)
start_lighttpd na $P_A "$INI_A" 4 "$SA"
URL_A=$WH_URL ERR_A=$ERRLOG
start_lighttpd nb $P_B "$INI_B" 4 "$SB"
URL_B=$WH_URL
CLI_ENV=(PAYGUARD_STATE_DIR="$SB" PAYGUARD_CONFIG="$INI_B")

# ------------------------------------ one event, 32 copies, two nodes
newev
SIG=$(sign "$EVF")
D=$BASE/burst.same
one_event() {	# odd copies to node A, even ones to node B
	if [ $(($1 % 2)) -eq 1 ]; then
		curl_status "$URL_A" "$EVF" "$SIG" > "$D/$1"
	else
		curl_status "$URL_B" "$EVF" "$SIG" > "$D/$1"
	fi
}
echo 1 > "$HOUT/sleep"
burst "$D" 32 one_event
rm -f "$HOUT/sleep"
st=$(cat "$D"/[0-9]* | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')
diag "32 copies over two nodes: statuses $st"
check "two nodes: 32 answers, none 5xx or lost ($st)" \
    bash -c '[ $(cat "$1"/[0-9]* | grep -cE "^(200|409)$") -eq 32 ]' _ "$D"
is "$(runs "$EV")" 1 "two nodes: the handler ran exactly once for 32 concurrent copies"
inbox_json
is "$(jq --arg id "$EV" '[.[] | select(.id == $id)] | length' "$BASE/inbox.json")/$(inbox_field "$EV" state)" \
    "1/delivered" "two nodes: one record in the shared inbox, delivered (read from node B)"
post_event "$URL_A" "$EVF" "$SIG"
is "$RS/$(jb .duplicate)/$(runs "$EV")" "200/true/1" "two nodes: afterwards a duplicate on node A too"

# A failed sync delivery on A is delivered again by Stripe's retry on B.
newev
SIG=$(sign "$EVF")
touch "$HOUT/fail_once.$EV"
post_event "$URL_A" "$EVF" "$SIG"
is "$RS" 500 "failed delivery on node A -> 500 (Stripe retries)"
post_event "$URL_B" "$EVF" "$SIG"
is "$RS/$(runs "$EV")" "200/2" "the retry on node B delivers it again"
post_event "$URL_A" "$EVF" "$SIG"
is "$RS/$(jb .duplicate)/$(runs "$EV")" "200/true/2" "after success, never again"

# ------------------------------------- rate limit across the two nodes
RL_A=$BASE/rla.ini RL_B=$BASE/rlb.ini
write_ini "$RL_A" "${CONF[@]}" PAYGUARD_NODE=node-a PAYGUARD_RATE_LIMITS=webhook=20 STRIPE_RATE_LIMIT_WINDOW=10
write_ini "$RL_B" "${CONF[@]}" PAYGUARD_NODE=node-b PAYGUARD_RATE_LIMITS=webhook=20 STRIPE_RATE_LIMIT_WINDOW=10
SRA=$(new_state state_ra) SRB=$(new_state state_rb)
start_lighttpd ra $P_RA "$RL_A" 2 "$SRA"
URL_RA=$WH_URL
start_lighttpd rb $P_RB "$RL_B" 2 "$SRB"
URL_RB=$WH_URL
mkdir -p "$BASE/rlev"
for i in $(seq 60); do
	mkevent "$BASE/rlev/$i.json" "evt_e2e$$rl$i"
	sign "$BASE/rlev/$i.json" > "$BASE/rlev/$i.sig"
done
D=$BASE/burst.rl
rl_one() {
	local u=$URL_RA
	[ $(($1 % 2)) -eq 0 ] && u=$URL_RB
	curl_status "$u" "$BASE/rlev/$1.json" "$(cat "$BASE/rlev/$1.sig")" > "$D/$1"
}
burst "$D" 60 rl_one
st=$(cat "$D"/[0-9]* | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')
diag "rate limit over two nodes: statuses $st"
is "$(cat "$D"/[0-9]* | grep -c '^200$')" 20 "rate limit: 60 simultaneous requests over two nodes, L=20 W=10 -> exactly 20 admitted"
is "$(cat "$D"/[0-9]* | grep -c '^429$')" 40 "rate limit: the other 40 got 429, none failed"

# ------------------------------------------ Redis refusing or stopped
AUDIT=$SA/logs/security_audit.log
rcli config set maxmemory 1 >/dev/null
newev
SIG=$(sign "$EVF")
post_event "$URL_A" "$EVF" "$SIG"
is "$RS/$(jb .error.code)" "503/store_failure" "Redis refusing writes (OOM): 503, nothing acknowledged"
rcli config set maxmemory 0 >/dev/null
is "$(rcli exists "pg:{ev}:e:$EV")/$(runs "$EV")" "0/0" "OOM: the event was neither stored nor delivered"
check "OOM: audited as store_failure" grep -q '"event_type":"store_failure"' "$AUDIT"
post_event "$URL_A" "$EVF" "$SIG"
is "$RS/$(runs "$EV")" "200/1" "OOM over: Stripe's retry is accepted and delivered"

kill -STOP $REDIS_PID
newev
SIG=$(sign "$EVF")
before=$(audit_n)
post_event "$URL_A" "$EVF" "$SIG" --max-time 20
kill -CONT $REDIS_PID
is "$RS/$(jb .error.code)" "503/store_failure" "Redis not answering: 503 within the timeout"
check "Redis not answering: the rate limiter failed open, audited" \
    bash -c 'tail -n +$(($2 + 1)) "$1" | grep "store_failure" | grep -q "failed_open"' _ "$AUDIT" "$before"
sleep 1
post_event "$URL_A" "$EVF" "$SIG"
# The timed-out script may have run late: then its lease is held until it
# runs out (409 meanwhile).  Either way no delivery is lost or doubled.
case "$RS" in
200|409) ok "Redis back: the retry is answered ($RS)" ;;
*) not_ok "Redis back: the retry is answered (got $RS)" ;;
esac

# ----------------------------- SIGKILL redis-server under load, restart
# Sync delivery: a 200 means accepted, delivered and recorded.
N=240
mkdir -p "$BASE/kev"
for i in $(seq $N); do
	mkevent "$BASE/kev/$i.json" "evt_e2e$$k$i"
	sign "$BASE/kev/$i.json" > "$BASE/kev/$i.sig"
done
D=$BASE/burst.kill
mkdir -p "$D"
load() {	# load W: worker W sends every 4th event, alternating nodes
	local i u
	for i in $(seq "$1" 4 $N); do
		u=$URL_A
		[ $((i % 2)) -eq 0 ] && u=$URL_B
		curl_status "$u" "$BASE/kev/$i.json" "$(cat "$BASE/kev/$i.sig")" > "$D/$i"
	done
}
base=$(rcli dbsize)
LOADERS=""
for w in 1 2 3 4; do load $w & LOADERS="$LOADERS $!"; done
# Kill once some events are in: the rest of the load meets a dead Redis.
n=400
until [ "$(rcli dbsize 2>/dev/null || echo 0)" -gt $((base + 40)) ] || [ $n -eq 0 ]; do sleep 0.05; n=$((n - 1)); done
kill -KILL $REDIS_PID
wait $REDIS_PID 2>/dev/null
untrack $REDIS_PID
wait_port_free $P_R 5
sleep 1
start_redis
for p in $LOADERS; do wait $p; done
acked=$(grep -l '^200$' "$D"/* | wc -l)
failed=$(grep -L '^200$' "$D"/* | wc -l)
diag "SIGKILL under load: $acked acknowledged (200), $failed not (503 or refused)"
check "SIGKILL under load: some events were acknowledged before the kill" [ "$acked" -gt 0 ]
check "SIGKILL under load: some were refused after it (the kill hit the load)" [ "$failed" -gt 0 ]
missing=0
for f in $(grep -l '^200$' "$D"/*); do
	i=$(basename "$f")
	[ "$(rcli exists "pg:{ev}:e:evt_e2e$$k$i")" = 1 ] || missing=$((missing + 1))
done
is "$missing" 0 "SIGKILL under load: every event that got a 200 is in the shared inbox after the restart"
newev
SIG=$(sign "$EVF")
post_event "$URL_A" "$EVF" "$SIG"
is "$RS/$(runs "$EV")" "200/1" "after the restart node A reconnected by itself: a new event is delivered"
post_event "$URL_B" "$EVF" "$SIG"
is "$RS/$(jb .duplicate)" "200/true" "and node B sees it as a duplicate"

# ------------------------------------ the CLI on node A drains node B's
# Events whose sync delivery met the dead Redis after their accept are
# pending (or in a lease that a drain after the lease would take); a
# queued event sent to node B is pending for sure.
write_ini "$INI_B" "${CONF[@]}" PAYGUARD_NODE=node-b PAYGUARD_WEBHOOK_DELIVERY=queue PAYGUARD_RATE_LIMITS=webhook=100000
SQB=$(new_state state_qb)
start_lighttpd qb 19565 "$INI_B" 1 "$SQB"
newev
SIG=$(sign "$EVF")
post_event "$WH_URL" "$EVF" "$SIG"
is "$RS/$(runs "$EV")" "200/0" "queued on node B: accepted, not yet delivered"
CLI_ENV=(PAYGUARD_STATE_DIR="$SA" PAYGUARD_CONFIG="$INI_A")
inbox_json
is "$(inbox_field "$EV" state)" pending "the CLI on node A lists node B's pending event"
pgcli inbox drain > "$LOGS/drain.out"
diag "drain: $(cat "$LOGS/drain.out")"
is "$(runs "$EV")" 1 "payguard inbox drain on node A delivered node B's event"
check "audit log is JSON lines (node A)" audit_all_json "$AUDIT"
scan_leaks "redis" "$AUDIT" "$SB/logs/security_audit.log" "$BASE"/*/logs/*.log "$RD/redis.log"
finish
