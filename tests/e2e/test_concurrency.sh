#!/bin/bash
# Many processes, one store:
#   - 32 simultaneous deliveries of ONE event (32 curl processes) under
#     lighttpd with 4 FastCGI processes (sync delivery) and under Apache
#     mod_cgid (one process per request; queued and sync delivery):
#     exactly one inbox record, exactly one handler run, no 5xx.
#   - rate limiter: 60 simultaneous requests against one window of L=20,
#     W=3600 (so that a slow machine cannot spread the burst over two
#     windows) -> exactly 20 are admitted (non-429), under mod_cgid and under
#     lighttpd.
# Ports 19130-19133.
. "$SRC/tests/harness/lib.sh"
pg_setup
make_handler
P_LT=19130 P_CGID=19131 P_RL_CGID=19132 P_RL_LT=19133
need_ports $P_LT $P_CGID $P_RL_CGID $P_RL_LT

CONF=(STRIPE_WEBHOOK_SECRET="$SECRET" STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1,::1
    STRIPE_API_VERSION=2024-06-20 PAYGUARD_WEBHOOK_HANDLER="$HANDLER"
    PAYGUARD_RATE_LIMITS=webhook=100000 PAYGUARD_RETRY_BASE=0)
INI=$BASE/payguard.ini
write_ini "$INI" "${CONF[@]}" PAYGUARD_WEBHOOK_DELIVERY=sync
CLI_ENV=(PAYGUARD_STATE_DIR="$STATE" PAYGUARD_CONFIG="$INI")

one_event() {	# one_event I: POST the shared event, status into $D/I
	curl_status "$URL" "$EVF" "$SIG" > "$D/$1"
	# the body says whether it was a duplicate; a second request is not
	# needed: count handler runs and inbox records instead.
}
# same_event LABEL: 32 simultaneous deliveries of a fresh event to $URL
same_event() {
	local label=$1 st
	newev
	SIG=$(sign "$EVF")
	D=$BASE/burst.$label
	burst "$D" 32 one_event
	st=$(cat "$D"/[0-9]* | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')
	diag "$label: statuses $st"
	check "$label: 32 answers, none 5xx or lost ($st)" \
	    bash -c '[ $(cat "$1"/[0-9]* | grep -cE "^(200|409)$") -eq 32 ]' _ "$D"
	# 409 only while the one delivery runs (sync); queued: all 200
	check "$label: at least one 200" bash -c 'grep -qx 200 "$1"/[0-9]*' _ "$D"
}

# --------------------------------------- lighttpd, 4 processes, sync
start_lighttpd lt $P_LT "$INI" 4
URL=$WH_URL
echo 1 > "$HOUT/sleep"
same_event "lighttpd sync"
rm -f "$HOUT/sleep"
is "$(runs "$EV")" 1 "lighttpd sync: handler ran exactly once"
inbox_json
is "$(jq --arg id "$EV" '[.[] | select(.id == $id)] | length' "$BASE/inbox.json")/$(inbox_field "$EV" state)" \
    "1/delivered" "lighttpd sync: one inbox record, delivered"
post_event "$URL" "$EVF" "$SIG"
is "$RS/$(jb .duplicate)/$(runs "$EV")" "200/true/1" "lighttpd sync: afterwards a duplicate"

# --------------------------------------- Apache mod_cgid, queue + sync
start_apache_cgid cgid $P_CGID "$INI"
URL=$WH_URL
write_ini "$INI" "${CONF[@]}" PAYGUARD_WEBHOOK_DELIVERY=queue
same_event "mod_cgid queue"
is "$(cat "$D"/[0-9]* | grep -c 200)" 32 "mod_cgid queue: all 32 got 200"
inbox_json
is "$(jq --arg id "$EV" '[.[] | select(.id == $id)] | length' "$BASE/inbox.json")" 1 "mod_cgid queue: one inbox record"
pgcli inbox drain >/dev/null
pgcli inbox drain >/dev/null
is "$(runs "$EV")" 1 "mod_cgid queue: drained twice, handler ran once"
write_ini "$INI" "${CONF[@]}" PAYGUARD_WEBHOOK_DELIVERY=sync
echo 1 > "$HOUT/sleep"
same_event "mod_cgid sync"
rm -f "$HOUT/sleep"
is "$(runs "$EV")" 1 "mod_cgid sync: handler ran exactly once"
inbox_json
is "$(jq --arg id "$EV" '[.[] | select(.id == $id)] | length' "$BASE/inbox.json")/$(inbox_field "$EV" state)" \
    "1/delivered" "mod_cgid sync: one inbox record, delivered"

# ------------------------------------------- rate limiter, L=20 W=3600
RLINI=$BASE/rl.ini
write_ini "$RLINI" "${CONF[@]}" PAYGUARD_RATE_LIMITS=webhook=20 STRIPE_RATE_LIMIT_WINDOW=3600 PAYGUARD_SYNC=0
mkdir -p "$BASE/rlev"
for i in $(seq 60); do
	mkevent "$BASE/rlev/$i.json" "evt_e2e$$rl$i"
	sign "$BASE/rlev/$i.json" > "$BASE/rlev/$i.sig"
done
rl_one() { curl_status "$URL" "$BASE/rlev/$1.json" "$(cat "$BASE/rlev/$1.sig")" > "$D/$1"; }
rl_burst() {	# rl_burst LABEL STATEDIR
	local st
	D=$BASE/rl.$1
	burst "$D" 60 rl_one
	st=$(cat "$D"/[0-9]* | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')
	diag "$1: statuses $st"
	is "$(cat "$D"/[0-9]* | grep -c '^200$')" 20 "$1: 60 simultaneous requests, L=20 W=3600 -> exactly 20 admitted (200)"
	is "$(cat "$D"/[0-9]* | grep -c '^429$')" 40 "$1: the other 40 got 429, none lost or failed"
	CLI_ENV=(PAYGUARD_STATE_DIR="$2" PAYGUARD_CONFIG="$RLINI")
	inbox_json
	is "$(jq length "$BASE/inbox.json")" 20 "$1: 20 events in the inbox"
}
RLS1=$(new_state rlstate1)
S0=$STATE; STATE=$RLS1
start_apache_cgid rlcgid $P_RL_CGID "$RLINI"
STATE=$S0
URL=$WH_URL
rl_burst "rate limit, mod_cgid" "$RLS1"
RLS2=$(new_state rlstate2)
start_lighttpd rllt $P_RL_LT "$RLINI" 4 "$RLS2"
URL=$WH_URL
rl_burst "rate limit, lighttpd 4 procs" "$RLS2"

AUDIT=$STATE/logs/security_audit.log
check "audit log is JSON lines" audit_all_json "$AUDIT"
check "rate-limit audit log is JSON lines" audit_all_json "$RLS1/logs/security_audit.log"
scan_leaks "concurrency" "$AUDIT" "$RLS1/logs/security_audit.log" "$RLS2/logs/security_audit.log" "$BASE"/*/logs/*.log
finish
