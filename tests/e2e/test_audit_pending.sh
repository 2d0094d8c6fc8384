#!/bin/bash
# A complete audit trail: webhook.fcgi killed between the inbox commit and
# its audit append (the test build's PAYGUARD_FAULT=after_accept, in
# build/faults/) leaves the event stored without its record; the next
# start, a concurrent burst of starts, and `payguard audit verify` append
# the missing record exactly once.  The normal build ignores the switch.
# Plain CGI, no server, no port.
. "$SRC/tests/harness/lib.sh"
pg_setup
make_handler
[ -x "$O/faults/webhook.fcgi" ] || bail "$O/faults/webhook.fcgi (test build) is built"
cp "$O/faults/webhook.fcgi" "$BIN/webhook-faults.fcgi" && chmod 0755 "$BIN/webhook-faults.fcgi"

BASE_ENV=(PAYGUARD_STATE_DIR="$STATE" STRIPE_WEBHOOK_SECRET="$SECRET"
    STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1 STRIPE_API_VERSION=2024-06-20
    PAYGUARD_SYNC=0 PAYGUARD_WEBHOOK_HANDLER="$HANDLER"
    PAYGUARD_HANDLER_TIMEOUT=1)
CGI_ENV=("${BASE_ENV[@]}")
CLI_ENV=("${BASE_ENV[@]}")
# accepts ID: accept records (webhook_validated / event_backfilled) for ID
accepts() {
	jq -r --arg r "webhook:$1" 'select(.resource == $r and (.event_type == "webhook_validated" or .event_type == "event_backfilled")) | .event_type' "$AUDIT" 2>/dev/null | wc -l
}
# killed_post: a valid event through the test build that dies after the
# commit; sets EV
killed_post() {
	newev
	CGI_PROG=$BIN/webhook-faults.fcgi
	cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" PAYGUARD_FAULT=after_accept
	CGI_PROG=$BIN/webhook.fcgi
}

# ------------------------------------------------------ the normal build
newev; N=$EV
cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" PAYGUARD_FAULT=after_accept
is "$RS/$(accepts "$N")" "200/1" "the normal build ignores PAYGUARD_FAULT: 200 and one record"
# A plain-CGI process removes its own marker once its record is written
# (app_serve): nothing is left for the next start or the CLI to look up.
out=$(pgcli audit verify)
is "$(grep -c 'pending accept records' <<<"$out")" 0 "plain CGI: the request left no pending marker behind"

# --------------------------------------------- killed in the window
killed_post; K1=$EV
is "$CGI_RC" 137 "test build: killed by SIGKILL after the inbox commit"
inbox_json
is "$(inbox_field "$K1" state)" pending "the killed request's event is in the inbox"
is "$(accepts "$K1")" 0 "... without its accept record"
# Sit out the owner's grace (handler timeout 1 s + 60 s would be long):
# the owner is dead, so the next start may write it at once.
newev
cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")"
is "$RS" 200 "the next start serves normally"
is "$(accepts "$K1")" 1 "the next start appended the missing accept record"
is "$(jq -r --arg r "webhook:$K1" 'select(.resource == $r and .event_type == "webhook_validated") | "\(.details.recovered) \(.details.source) \(.details.event_type) \(.outcome)"' "$AUDIT")" \
    "true webhook payment_intent.succeeded success" "the recovered record: recovered, source, event type, success"
newev
cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")"
is "$(accepts "$K1")" 1 "another start appends nothing more"

# ------------------------------- several killed, a burst of starts
# Every start settles what dead processes owed, so the killed requests
# themselves run at once: each sees the others' markers as still owed by
# a live process, or settles one already dead; either way, after a burst
# of six concurrent normal starts every record must be there exactly once.
mkdir -p "$BASE/ev"
for i in 2 3 4; do mkevent "$BASE/ev/k$i.json" "evt_killed$$x$i"; done
K2=evt_killed$$x2 K3=evt_killed$$x3 K4=evt_killed$$x4
# cgi_env_run ID FILE PROG [ENV...]: one plain-CGI POST, output to $BASE/ID.out
cgi_env_run() {
	local id=$1 f=$2 prog=$3; shift 3
	env -i PATH=/usr/bin:/bin "${CGI_ENV[@]}" REQUEST_METHOD=POST \
	    CONTENT_LENGTH=$(stat -c %s "$f") CONTENT_TYPE=application/json \
	    REMOTE_ADDR=127.0.0.1 GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 \
	    SCRIPT_NAME=/webhook REQUEST_URI=/webhook "$@" \
	    HTTP_STRIPE_SIGNATURE="$(sign "$f")" \
	    setpriv --reuid=$WWW_UID --regid=$WWW_GID --clear-groups \
	    "$prog" < "$f" > "$BASE/$id.out" 2>>"$LOGS/cgi.log"
}
killed() { cgi_env_run k$(( $1 + 1 )) "$BASE/ev/k$(( $1 + 1 )).json" "$BIN/webhook-faults.fcgi" PAYGUARD_FAULT=after_accept; }
burst "$BASE/barrier-k" 3 killed
inbox_json
is "$(inbox_field "$K2" state)/$(inbox_field "$K3" state)/$(inbox_field "$K4" state)" pending/pending/pending "three concurrent killed requests: their events are stored"
check "... and none has more than one accept record" bash -c '[ "$1$2$3" != "" ] && [ "$1" -le 1 ] && [ "$2" -le 1 ] && [ "$3" -le 1 ]' _ "$(accepts "$K2")" "$(accepts "$K3")" "$(accepts "$K4")"
one() {
	mkevent "$BASE/ev/burst.$1.json" "evt_burst$$x$1"
	cgi_env_run burst.$1 "$BASE/ev/burst.$1.json" "$BIN/webhook.fcgi"
}
burst "$BASE/barrier" 6 one
is "$(accepts "$K2") $(accepts "$K3") $(accepts "$K4")" "1 1 1" "six concurrent starts: each missing record appended exactly once"
is "$(grep -c '^Status: 200' "$BASE"/burst.*.out | awk -F: '{ s += $2 } END { print s }')" 6 "the six concurrent requests were served"

# ------------------------------------------------ payguard audit verify
killed_post; K5=$EV
out=$(pgcli audit verify); rc=$?
is "$rc" 0 "audit verify: the chain holds"
check "audit verify reports the appended record" grep -q "1 appended" <<<"$out"
is "$(accepts "$K5")" 1 "audit verify appended the missing record"
pgcli audit verify > /dev/null
is "$(accepts "$K5")" 1 "a second verify appends nothing more"

# ----------------------------------------- delivered exactly once too
pgcli inbox drain > /dev/null
is "$(runs "$K1") $(runs "$K2") $(runs "$K3") $(runs "$K4") $(runs "$K5")" "1 1 1 1 1" "every killed request's event was delivered once by the drain"
check "the audit log is JSON lines" audit_all_json "$AUDIT"
scan_leaks "pending audit" "$AUDIT" "$LOGS/cgi.log"
finish
