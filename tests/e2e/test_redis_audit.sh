#!/bin/bash
# The audit index shared in Redis: two webhook.fcgi nodes (two lighttpd
# servers, each with its own state directory and hash-chained log) on one
# real redis-server (PAYGUARD_STORE=redis).  Events accepted by node A
# are listed by node B's audit.cgi (node column, node filter) and CLI
# (--node) and stats count both nodes; each node's log verifies on its own; rebuilding the index
# from node A's log adds nothing that is there, and after Redis lost the
# index brings A's records back exactly once.  Ports 19590-19592.
. "$SRC/tests/harness/lib.sh"
pg_setup
make_handler
P_R=19590 P_A=19591 P_B=19592
need_ports $P_R $P_A $P_B
command -v redis-server >/dev/null || bail "redis-server is installed (tests/deps.sh)"
[ -x "$O/audit.cgi" ] || bail "$O/audit.cgi is built"
cp "$O/audit.cgi" "$BIN/" && chmod 0755 "$BIN/audit.cgi"

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
rcli() { redis-cli -p $P_R "$@"; }

ENCKEY=$("$BIN/payguard" keygen) || bail "payguard keygen"
CONF=(STRIPE_WEBHOOK_SECRET="$SECRET" STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1,::1
    STRIPE_ENCRYPTION_KEY="$ENCKEY" STRIPE_API_VERSION=2024-06-20
    PAYGUARD_WEBHOOK_HANDLER="$HANDLER" PAYGUARD_STORE=redis
    REDIS_URL=redis://127.0.0.1:$P_R/0 PAYGUARD_REDIS_TIMEOUT_MS=1000
    PAYGUARD_ADMIN_USERS=admin)
INI_A=$BASE/a.ini INI_B=$BASE/b.ini
write_ini "$INI_A" "${CONF[@]}" PAYGUARD_NODE=node-a
write_ini "$INI_B" "${CONF[@]}" PAYGUARD_NODE=node-b
SA=$(new_state state_a) SB=$(new_state state_b)
start_lighttpd na $P_A "$INI_A" 2 "$SA"
URL_A=$WH_URL
start_lighttpd nb $P_B "$INI_B" 2 "$SB"
URL_B=$WH_URL

# Three events accepted by node A, two by node B.
acc=0
for u in "$URL_A" "$URL_A" "$URL_A" "$URL_B" "$URL_B"; do
	newev
	post_event "$u" "$EVF" "$(sign "$EVF")"
	[ "$RS" = 200 ] && acc=$((acc + 1))
done
is "$acc" 5 "five events accepted (three by node A, two by node B)"

# audit.cgi on node B, as plain CGI with B's configuration.
bcgi() {
	CGI_PROG=$BIN/audit.cgi cgi_run GET - SCRIPT_NAME=/audit \
	    REQUEST_URI=/audit REMOTE_USER=admin QUERY_STRING="$1" \
	    PAYGUARD_CONFIG="$INI_B" PAYGUARD_STATE_DIR="$SB" -CONTENT_TYPE
}
bcgi "hours=1&type=webhook_validated"
is "$RS" 200 "node B's audit page: 200"
is "$(grep -o '<td>node-a</td>' "$RB" | wc -l)/$(grep -o '<td>node-b</td>' "$RB" | wc -l)" \
    "3/2" "node B's page lists node A's 3 accepted events beside its own 2, with the node column"
bcgi "hours=1&type=webhook_validated&node=node-a"
is "$RS/$(grep -o '<td>node-a</td>' "$RB" | wc -l)/$(grep -c '<td>node-b</td>' "$RB")" \
    "200/3/0" "node B's page, node=node-a: only node A's events"
bcgi "hours=1&node=no%20de"
is "$RS" 400 "a node filter that is not a node name: 400"

# The CLI on node B.
CLI_ENV=(PAYGUARD_STATE_DIR="$SB" PAYGUARD_CONFIG="$INI_B")
out=$(pgcli audit --hours 1 --type webhook_validated --node node-a --json)
is "$(echo "$out" | jq 'length')/$(echo "$out" | jq -r '[.[].node] | unique | join(",")')" \
    "3/node-a" "payguard audit --node node-a on node B: node A's 3 events"
is "$(pgcli audit --hours 1 --type webhook_validated --json | jq 'length')" 5 \
    "payguard audit on node B: both nodes' events"
vcount() { pgcli audit stats --hours 1 --json | jq '[.events_by_type[] | select(.name == "webhook_validated") | .count] | add // 0'; }
is "$(vcount)" 5 "payguard audit stats on node B counts both nodes' accepted events"

# Each node's log is its own chain.
CLI_ENV=(PAYGUARD_STATE_DIR="$SA" PAYGUARD_CONFIG="$INI_A")
pgcli audit verify > "$BASE/va" 2>&1
check "node A's log verifies on its own" grep -q 'chain intact' "$BASE/va"
grep -q '"node":"node-a"' "$SA/logs/security_audit.log" && ok "node A's records carry node-a" || not_ok "node A's records carry node-a"
CLI_ENV=(PAYGUARD_STATE_DIR="$SB" PAYGUARD_CONFIG="$INI_B")
pgcli audit verify > "$BASE/vb" 2>&1
check "node B's log verifies on its own" grep -q 'chain intact' "$BASE/vb"

# Rebuilding from node A's log: nothing new; after Redis lost the index,
# node A's records once, and a second rebuild adds nothing.
CLI_ENV=(PAYGUARD_STATE_DIR="$SA" PAYGUARD_CONFIG="$INI_A")
na_lines=$(wc -l < "$SA/logs/security_audit.log")
pgcli audit reindex > "$BASE/r1"
check "reindex on node A with everything in Redis adds nothing" grep -q 'shared index (Redis): 0 record' "$BASE/r1"
rcli flushdb > /dev/null
pgcli audit reindex > "$BASE/r2"
n2=$(sed -n 's/^shared index (Redis): \([0-9]*\) record.*/\1/p' "$BASE/r2")
is "$n2" "$na_lines" "after a flush, reindex on node A adds its $na_lines records"
pgcli audit reindex > "$BASE/r3"
check "a second reindex adds nothing" grep -q 'shared index (Redis): 0 record' "$BASE/r3"
is "$(rcli zcard 'pg:{audit}:i')" "$na_lines" "the shared index holds node A's records once"
CLI_ENV=(PAYGUARD_STATE_DIR="$SB" PAYGUARD_CONFIG="$INI_B")
is "$(pgcli audit --hours 1 --type webhook_validated --node node-a --json | jq 'length')" 3 \
    "node B sees node A's rebuilt records"
is "$(vcount)" 3 "and its stats count them once"
finish
