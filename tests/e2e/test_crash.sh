#!/bin/bash
# Crash safety: SIGKILL webhook.fcgi workers (Apache + mod_fcgid, durable
# store with group commit, queued delivery) while 4 clients post distinct
# events and a fifth races client 1 with the same events.  Afterwards:
# every event that got a 200 is in the inbox, the store opens cleanly, the
# server still serves, every event not acknowledged is accepted on retry,
# one drain delivers every event exactly once, and every stored event has
# exactly one accept record in the audit log.  Port 19140.
. "$SRC/tests/harness/lib.sh"
pg_setup
make_handler
P=19140
need_ports $P
NCLI=4 NEV=${CRASH_EVENTS:-100}
[ -n "${E2E_QUICK:-}" ] && NEV=15

INI=$BASE/payguard.ini
write_ini "$INI" STRIPE_WEBHOOK_SECRET="$SECRET" STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1,::1 \
    STRIPE_API_VERSION=2024-06-20 PAYGUARD_WEBHOOK_HANDLER="$HANDLER" \
    PAYGUARD_RATE_LIMITS=webhook=100000 PAYGUARD_SYNC=1
CLI_ENV=(PAYGUARD_STATE_DIR="$STATE" PAYGUARD_CONFIG="$INI")
# Killed processes must not make mod_fcgid stop spawning (spawn score).
APACHE_EXTRA="FcgidSpawnScoreUpLimit 100000
FcgidTerminationScore 0
FcgidSpawnScore 1"
start_apache_fcgid crash $P "$INI" 8
URL=$WH_URL

mkdir -p "$BASE/cev"
for c in $(seq $NCLI); do
	for i in $(seq $NEV); do
		f=$BASE/cev/$c.$i
		mkevent "$f.json" "evt_e2e$$c${c}n$i" invoice.paid
		sign "$f.json" > "$f.sig"
	done
done
client() {	# client C: post its events one after another, record statuses
	local c=$1 i f
	for i in $(seq $NEV); do
		f=$BASE/cev/$c.$i
		echo "evt_e2e$$c${c}n$i $(curl_status "$URL" "$f.json" "$(cat "$f.sig")")" >> "$BASE/cev/status.$c"
	done
}
# Warm up: at least two workers.
# (never a bare `wait`: it would wait for the server too)
wp=()
for i in 1 2 3 4; do curl -s -o /dev/null "$URL" & wp+=($!); done
wait "${wp[@]}"

# A racing client posts client 1's events at the same time, so the same
# ids meet in the group commit's stage (PAYGUARD_SYNC=1: lib/gcommit.h)
# while workers are killed mid-batch, leaders included.
racer() {
	local i f
	for i in $(seq $NEV); do
		f=$BASE/cev/1.$i
		echo "evt_e2e$$c1n$i $(curl_status "$URL" "$f.json" "$(cat "$f.sig")")" >> "$BASE/cev/race.log"
	done
}
pids=()
for c in $(seq $NCLI); do client "$c" & pids+=($!); done
racer & pids+=($!)
kills=0
while :; do
	alive=0
	for p in "${pids[@]}"; do proc_alive "$p" && alive=1; done
	[ $alive = 1 ] || break
	w=$(pids_of_exe "$BIN/webhook.fcgi" | shuf -n 1)
	if [ -n "$w" ]; then kill -KILL "$w" 2>/dev/null && kills=$((kills + 1)); fi
	sleep 0.0$((RANDOM % 4 + 2))
done
wait "${pids[@]}"
cat "$BASE"/cev/status.* > "$BASE/status"
total=$(wc -l < "$BASE/status")
acked=$(awk '$2 == 200' "$BASE/status" | wc -l)
diag "killed $kills workers; $total requests: $(awk '{print $2}' "$BASE/status" | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')"
check "workers were killed during the load ($kills)" test "$kills" -ge 3
is "$total" $((NCLI * NEV)) "every request was answered or failed (no hang)"
check "some events were acknowledged ($acked)" test "$acked" -gt 0
check "no answer other than 200 or a server error ($(awk '$2 != 200 {print $2}' "$BASE/status" | sort -u | tr '\n' ' '))" \
    bash -c '! awk "\$2 != 200 && \$2 !~ /^(5..|000)$/" "$1" | grep -q .' _ "$BASE/status"

check "store opens cleanly: inbox list --json" inbox_json
missing=$(awk '$2 == 200 {print $1}' "$BASE/status" | while read -r id; do
	[ "$(inbox_field "$id" id)" = "$id" ] || echo "$id"; done)
is "$missing" "" "every event that got 200 is in the inbox"
missing=$(awk '$2 == 200 {print $1}' "$BASE/cev/race.log" | while read -r id; do
	[ "$(inbox_field "$id" id)" = "$id" ] || echo "$id"; done)
is "$missing" "" "every event the racing client got 200 for is in the inbox"
check "the racing client got answers ($(wc -l < "$BASE/cev/race.log"))" test "$(wc -l < "$BASE/cev/race.log")" -eq "$NEV"
check "the group commit's lock is in use" test -f "$STATE/volatile/commit.lock"

# Still serving; retrying the unacknowledged events (as Stripe would).
newev
post_event "$URL" "$EVF" "$(sign "$EVF")"
expect_status 200 "a new event after the crashes"
bad=""
while read -r id st; do
	[ "$st" = 200 ] && continue
	c=${id#evt_e2e$$c}; c=${c%%n*}; i=${id##*n}
	st=$(curl_status "$URL" "$BASE/cev/$c.$i.json" "$(sign "$BASE/cev/$c.$i.json")")
	[ "$st" = 200 ] || bad="$bad $id:$st"
done < "$BASE/status"
is "$bad" "" "every unacknowledged event is accepted on retry"
while read -r id st; do
	c=${id#evt_e2e$$c}; c=${c%%n*}; i=${id##*n}
	post_event "$URL" "$BASE/cev/$c.$i.json" "$(sign "$BASE/cev/$c.$i.json")"
	[ "$RS/$(jb .duplicate)" = 200/true ] || { bad="$bad $id:$RS"; }
done < <(awk '$2 == 200' "$BASE/status" | head -5)
is "$bad" "" "acknowledged events are duplicates afterwards"

inbox_json
is "$(jq '[.[] | select(.id | startswith("evt_e2e'$$'c"))] | length' "$BASE/inbox.json")" $((NCLI * NEV)) \
    "inbox holds every event exactly once"
pgcli inbox drain >/dev/null; rc=$?
is "$rc" 0 "inbox drain after the crashes exits 0"
inbox_json
is "$(jq -r '[.[] | .state] | unique | join(",")' "$BASE/inbox.json")" delivered "all events delivered"
multi=$(cut -d' ' -f1 "$HOUT/runs.log" | sort | uniq -d | tr '\n' ' ')
is "$multi" "" "no event delivered twice"
is "$(cut -d' ' -f1 "$HOUT/runs.log" | sort -u | wc -l)" $((NCLI * NEV + 1)) "every event delivered"

# A worker killed between the inbox commit and its audit append owed an
# accept record: new workers settle it at start, `audit verify` too.
pgcli audit verify > "$BASE/verify.out"
is "$?" 0 "audit verify after the crashes: the chain holds"
dup=$(jq -r 'select(.event_type == "webhook_validated") | .resource' "$AUDIT" | sort | uniq -d | tr '\n' ' ')
is "$dup" "" "no event has two accept records"
is "$(jq -r 'select(.event_type == "webhook_validated") | .resource' "$AUDIT" | grep -c "^webhook:evt_e2e$$c")" $((NCLI * NEV)) \
    "every stored event has its accept record (webhook_validated), recovered ones included"
check "audit log is JSON lines (no torn line)" audit_all_json "$AUDIT"
scan_leaks "crash" "$AUDIT" "$ERRLOG" "$LOGS/cli.log"
finish
