#!/bin/sh
# `make run`: payguard under lighttpd on 127.0.0.1 - the webhook receiver
# ready for signed test events, the API gateway (in front of the strict
# fake Stripe from tests/, since Stripe's servers cannot run here) with a
# gateway token, and the admin audit page behind Basic auth.
#
#   O=build sh tests/harness/demo.sh          (what `make run` does)
#   PORT=18480                                listen port (default 18480;
#                                             the fake Stripe takes PORT+1)
#   DEMO_SELFTEST=1                           send one event, check, exit
#   STORE=redis                               two nodes sharing a local
#                                             redis-server (PORT and
#                                             PORT+2; Redis on PORT+3)
#
# Everything lives in a fresh /tmp/payguard-demo.XXXXXX directory: a
# generated whsec_ secret, the state dir, the lighttpd config (including
# apache-conf/lighttpd-payguard.conf as shipped), and a demo handler that
# appends every delivered event to events.log.  Stays in the foreground
# until Ctrl-C, then stops lighttpd by its pid and removes the directory.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
O=${O:-build}
case "$O" in /*) ;; *) O=$SRC/$O ;; esac
PORT=${PORT:-18480}
STORE=${STORE:-lmdb}
case "$STORE" in lmdb|redis) ;; *) echo "demo: STORE=lmdb or STORE=redis" >&2; exit 2 ;; esac
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

die() { echo "demo: $*" >&2; exit 1; }
[ -x "$O/webhook.fcgi" ] && [ -x "$O/payguard" ] || die "$O/webhook.fcgi and $O/payguard are missing; run make"
command -v lighttpd >/dev/null || die "lighttpd is not installed (sh tests/deps.sh)"
! ss -Htln "sport = :$PORT" 2>/dev/null | grep -q . || die "port $PORT is in use; try PORT=18490 make run"
! ss -Htln "sport = :$((PORT + 1))" 2>/dev/null | grep -q . || die "port $((PORT + 1)) is in use; try PORT=18490 make run"
if [ "$STORE" = redis ]; then
	command -v redis-server >/dev/null || die "redis-server is not installed (sh tests/deps.sh)"
	for p in $((PORT + 2)) $((PORT + 3)); do
		! ss -Htln "sport = :$p" 2>/dev/null | grep -q . || die "port $p is in use; try PORT=18490 make run STORE=redis"
	done
fi

D=$(mktemp -d /tmp/payguard-demo.XXXXXX) || die "mktemp failed"
LP=""
LP2=""
FP=""
RP=""
FPORT=$((PORT + 1))
PORTB=$((PORT + 2))
RPORT=$((PORT + 3))
cleanup() {
	trap - EXIT INT TERM HUP
	for p in $LP $LP2 $FP $RP; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	# A FastCGI child busy when lighttpd went (a delivery in flight)
	# outlives it, reparented to init: stop every process still running
	# one of this demo's own binaries (the directory is this run's alone).
	for x in /proc/[0-9]*/exe; do
		case "$(readlink "$x" 2>/dev/null)" in
		"$D"/bin/*) p=${x#/proc/}; kill -TERM "${p%/exe}" 2>/dev/null ;;
		esac
	done
	rm -rf "$D"
	[ "${1:-}" = quiet ] || echo "demo: stopped, removed $D"
}
trap 'rc=$?; cleanup; exit $rc' EXIT
trap 'cleanup; exit 130' INT TERM HUP

# As root lighttpd and the FastCGI processes drop to www-data (the state
# must then belong to www-data); otherwise everything runs as you.
if [ "$(id -u)" = 0 ]; then RUNAS=www-data; else RUNAS=$(id -un); fi
chmod 0755 "$D"
mkdir -p "$D/bin" "$D/state" "$D/run" "$D/logs" "$D/htdocs" "$D/out"
cp "$O/webhook.fcgi" "$O/api.fcgi" "$O/audit.cgi" "$O/payguard" "$D/bin/"
chmod 0755 "$D/bin" "$D/bin/webhook.fcgi" "$D/bin/api.fcgi" "$D/bin/audit.cgi" "$D/bin/payguard"
chown "$RUNAS" "$D/state" "$D/run" "$D/logs" "$D/out"
chmod 0700 "$D/state"

# A fresh webhook secret, like the one Stripe shows for an endpoint.
SECRET=whsec_$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
SK=sk_test_demo$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
ADMINPW=$(od -An -N9 -tx1 /dev/urandom | tr -d ' \n')
umask 077
printf '%s\n' "$SECRET" > "$D/secret"
printf 'admin:%s\n' "$ADMINPW" > "$D/users"
cat > "$D/payguard.ini" <<EOF
; demo configuration (see apache-conf/payguard-fcgid.conf)
[payguard]
STRIPE_WEBHOOK_SECRET = $SECRET
STRIPE_WEBHOOK_ALLOWED_IPS = 127.0.0.1,::1
STRIPE_API_VERSION = 2024-06-20
PAYGUARD_WEBHOOK_HANDLER = $D/bin/on-event
; run the handler inside the request so events show up at once
PAYGUARD_WEBHOOK_DELIVERY = sync
; the API gateway, in front of the fake Stripe on 127.0.0.1:$FPORT
STRIPE_SECRET_KEY = $SK
STRIPE_API_BASE = http://127.0.0.1:$FPORT
; the audit page
PAYGUARD_ADMIN_USERS = admin
PAYGUARD_TEMPLATE_DIR = $SRC/templates
PAYGUARD_DATA_DIR = $SRC/data
EOF
if [ "$STORE" = redis ]; then
	# Both nodes share Redis, so they share the keys too.
	cat >> "$D/payguard.ini" <<EOF
; several web servers: both nodes share the local redis-server
PAYGUARD_STORE = redis
REDIS_URL = redis://127.0.0.1:$RPORT/0
STRIPE_ENCRYPTION_KEY = $("$D/bin/payguard" keygen)
PAYGUARD_TOKEN_PEPPER = $(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
EOF
	sed 's/^\[payguard\]$/[payguard]\nPAYGUARD_NODE = node-b/' "$D/payguard.ini" > "$D/payguard-b.ini"
	sed -i 's/^\[payguard\]$/[payguard]\nPAYGUARD_NODE = node-a/' "$D/payguard.ini"
	mkdir -p "$D/state-b" "$D/run-b" "$D/redis"
	chown "$RUNAS" "$D/state-b" "$D/run-b"
	chmod 0700 "$D/state-b" "$D/redis"
fi
umask 022
chown "root:$(id -gn "$RUNAS")" "$D/payguard.ini" 2>/dev/null || chown "$RUNAS" "$D/payguard.ini"
chmod 0640 "$D/payguard.ini"
if [ "$STORE" = redis ]; then
	chown "root:$(id -gn "$RUNAS")" "$D/payguard-b.ini" 2>/dev/null || chown "$RUNAS" "$D/payguard-b.ini"
	chmod 0640 "$D/payguard-b.ini"
fi
chown "$RUNAS" "$D/users" && chmod 0600 "$D/users"

# The demo handler: payguard runs it (no shell in between) with the raw
# event on stdin; exit 0 means processed.
cat > "$D/bin/on-event" <<EOF
#!/bin/sh
{
	printf '%s %s %s livemode=%s\n' "\$(/bin/date -u +%FT%TZ)" "\$PAYGUARD_EVENT_ID" "\$PAYGUARD_EVENT_TYPE" "\$PAYGUARD_EVENT_LIVEMODE"
	/bin/cat
	echo
} >> "$D/out/events.log"
EOF
chmod 0755 "$D/bin/on-event"

# A signed test event with a fresh id each time.
cat > "$D/send-event.sh" <<EOF
#!/bin/sh
# usage: sh $D/send-event.sh [EVENT_TYPE]
id=evt_demo_\$(od -An -N8 -tx1 /dev/urandom | tr -d ' \\n')
printf '{"id":"%s","object":"event","api_version":"2024-06-20","created":%s,"livemode":false,"pending_webhooks":1,"type":"%s","data":{"object":{"id":"pi_demo","object":"payment_intent","amount":2000,"currency":"eur","status":"succeeded"}}}' \\
    "\$id" "\$(date +%s)" "\${1:-payment_intent.succeeded}" > "$D/event.json"
sig=\$("$D/bin/payguard" sign --secret "\$(cat "$D/secret")" < "$D/event.json") || exit 1
for url in \${URLS:-http://127.0.0.1:$PORT/webhook}; do
	curl -sS -i -H "Stripe-Signature: \$sig" -H 'Content-Type: application/json' \\
	    --data-binary @"$D/event.json" "\$url"
	echo
done
EOF
chmod 0755 "$D/send-event.sh"

# The fake Stripe upstream (strict about what a real client sends).
[ -x /usr/bin/python3 ] || die "python3 is missing (sh tests/deps.sh)"
/usr/bin/python3 "$SRC/tests/fake_stripe.py" --port "$FPORT" --key "$SK" \
    --version 2024-06-20 --log "$D/logs/fake-stripe.log" >"$D/logs/fake.out" 2>&1 &
FP=$!
n=0
until grep -q '^ready' "$D/logs/fake.out" 2>/dev/null; do
	n=$((n + 1))
	[ $n -gt 100 ] && die "the fake Stripe upstream did not start"
	sleep 0.05
done
if [ "$STORE" = redis ]; then
	# Loopback only, every write in the fsynced AOF before its reply,
	# no eviction (README: Several web servers).
	redis-server --bind 127.0.0.1 --port "$RPORT" --dir "$D/redis" \
	    --appendonly yes --appendfsync always --save '' \
	    --maxmemory 256mb --maxmemory-policy noeviction \
	    --logfile "$D/logs/redis.log" --daemonize no >/dev/null 2>&1 &
	RP=$!
	n=0
	until redis-cli -p "$RPORT" ping 2>/dev/null | grep -q PONG; do
		n=$((n + 1))
		[ $n -gt 100 ] && die "redis-server did not start (see $D/logs/redis.log)"
		sleep 0.05
	done
fi
# A gateway token for the site's code; only its keyed hash is stored.
# (runuser only as root; otherwise we are that user already)
[ "$(id -u)" = 0 ] && ASRUN="runuser -u $RUNAS --" || ASRUN=
TOKEN=$(cd / && $ASRUN env PAYGUARD_CONFIG="$D/payguard.ini" \
    PAYGUARD_STATE_DIR="$D/state" "$D/bin/payguard" token create --name demo \
    --scope write 2>>"$D/logs/cli.log") || die "payguard token create failed"
cat > "$D/call-api.sh" <<EOF
#!/bin/sh
# usage: sh $D/call-api.sh   (creates a customer through the gateway)
curl -sS -i -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: demo-\$(date +%s%N)" \\
    -d email=jenny.rosen@example.com -d 'metadata[order]=42' \\
    http://127.0.0.1:$PORT/api/v1/customers
echo
EOF
chmod 0755 "$D/call-api.sh"

USERLINES=""
[ "$(id -u)" = 0 ] && USERLINES="server.username = \"$RUNAS\"
server.groupname = \"$(id -gn "$RUNAS")\""
# lighttpd_node SUFFIX PORT: one node (suffix "" or "-b": its config,
# state, run directory and logs); its pid in LPID
lighttpd_node() {
	sfx=$1
	cat > "$D/lighttpd$sfx.conf" <<EOF
var.payguard_home   = "$D/bin"
var.payguard_state  = "$D/state$sfx"
var.payguard_config = "$D/payguard$sfx.ini"
var.payguard_run    = "$D/run$sfx"
var.payguard_procs  = 2
server.bind          = "127.0.0.1"
server.port          = $2
server.document-root = "$D/htdocs"
server.errorlog      = "$D/logs/error$sfx.log"
$USERLINES
server.max-request-size = 1024
include "$SRC/apache-conf/lighttpd-payguard.conf"
# The API gateway: PATH_INFO carries the Stripe path (/api/v1/customers).
fastcgi.server += ( "/api" => ((
    "socket"      => "$D/run$sfx/api.sock",
    "bin-path"    => "$D/bin/api.fcgi",
    "check-local" => "disable",
    "max-procs"   => 2,
    "bin-environment" => ( "PAYGUARD_CONFIG" => "$D/payguard$sfx.ini",
                           "PAYGUARD_STATE_DIR" => "$D/state$sfx" ),
)))
# The audit page: plain CGI behind Basic auth (use HTTPS outside a demo).
server.modules += ( "mod_auth", "mod_authn_file", "mod_cgi", "mod_alias", "mod_setenv" )
auth.backend = "plain"
auth.backend.plain.userfile = "$D/users"
\$HTTP["url"] =^ "/audit" {
    auth.require = ( "" => ( "method" => "basic", "realm" => "payguard audit",
                             "require" => "valid-user" ) )
    alias.url = ( "/audit" => "$D/bin/audit.cgi" )
    cgi.assign = ( ".cgi" => "" )
    setenv.add-environment = ( "PAYGUARD_CONFIG" => "$D/payguard$sfx.ini",
                               "PAYGUARD_STATE_DIR" => "$D/state$sfx" )
}
EOF
	lighttpd -tt -f "$D/lighttpd$sfx.conf" >"$D/logs/check$sfx.log" 2>&1 || {
		cat "$D/logs/check$sfx.log" >&2; die "lighttpd rejected the configuration"; }
	lighttpd -D -f "$D/lighttpd$sfx.conf" >"$D/logs/stdout$sfx.log" 2>&1 &
	LPID=$!
	n=0
	until curl -s -o /dev/null "http://127.0.0.1:$2/webhook"; do
		n=$((n + 1))
		if [ $n -gt 100 ] || ! kill -0 "$LPID" 2>/dev/null; then
			cat "$D/logs/error$sfx.log" "$D/logs/stdout$sfx.log" >&2 2>/dev/null
			die "lighttpd did not start"
		fi
		sleep 0.1
	done
}
lighttpd_node "" "$PORT"
LP=$LPID
if [ "$STORE" = redis ]; then
	lighttpd_node -b "$PORTB"
	LP2=$LPID
fi

cat <<EOF
payguard demo: webhook receiver at http://127.0.0.1:$PORT/webhook
  lighttpd pid $LP, files in $D
  webhook secret in $D/secret (generated, demo only)

Send a signed test event (paste into another terminal):

  sh $D/send-event.sh

which does:

  $D/bin/payguard sign --secret "\$(cat $D/secret)" < event.json
  curl -i -H "Stripe-Signature: <that>" -H 'Content-Type: application/json' \\
      --data-binary @event.json http://127.0.0.1:$PORT/webhook

API gateway:       http://127.0.0.1:$PORT/api/v1/...  (token in $D/call-api.sh)
  sh $D/call-api.sh          creates a customer through the gateway
  e.g. stripe-python:   stripe.api_base = "http://127.0.0.1:$PORT/api"
                        stripe.api_key = "$TOKEN"
Audit page:        http://127.0.0.1:$PORT/audit   (user admin, password $ADMINPW)

Delivered events:  tail -f $D/out/events.log
Security audit:    tail -f $D/state/logs/security_audit.log
Inbox:             PAYGUARD_STATE_DIR=$D/state $D/bin/payguard inbox list
(the state belongs to $RUNAS: run the last one as that user)
Ctrl-C stops the server and removes $D.
EOF
if [ "$STORE" = redis ]; then
	cat <<EOF

Several web servers (STORE=redis): a second node at http://127.0.0.1:$PORTB
  (lighttpd pid $LP2, state $D/state-b), both on redis-server pid $RP at
  127.0.0.1:$RPORT (AOF always, noeviction; its files in $D/redis).
  Send one event to both nodes: the second answers as a duplicate:

  URLS="http://127.0.0.1:$PORT/webhook http://127.0.0.1:$PORTB/webhook" sh $D/send-event.sh

  The gateway, tokens and inbox are shared too (http://127.0.0.1:$PORTB/api/v1/...).
EOF
fi

if [ "${DEMO_SELFTEST:-0}" = 1 ]; then
	out=$(sh "$D/send-event.sh")
	status=$(printf '%s\n' "$out" | head -1 | tr -d '\r')
	id=$(sed -n 's/.*"id":"\(evt_demo_[0-9a-f]*\)".*/\1/p' "$D/event.json")
	echo "selftest: $status"
	case "$status" in
	"HTTP/1.1 200"*) ;;
	*) echo "selftest: FAILED (expected 200)"; exit 1 ;;
	esac
	grep -q " $id payment_intent.succeeded" "$D/out/events.log" 2>/dev/null ||
	    { echo "selftest: FAILED (handler did not record $id)"; exit 1; }
	echo "selftest: ok ($id delivered to the handler)"
	api=$(sh "$D/call-api.sh" | head -1 | tr -d '\r')
	echo "selftest: api: $api"
	case "$api" in "HTTP/1.1 200"*) ;; *) echo "selftest: FAILED (api)"; exit 1 ;; esac
	page=$(curl -s -o /dev/null -w '%{http_code}' -u "admin:$ADMINPW" "http://127.0.0.1:$PORT/audit")
	echo "selftest: audit page: $page"
	[ "$page" = 200 ] || { echo "selftest: FAILED (audit page)"; exit 1; }
	echo "selftest: ok (webhook, gateway and audit page)"
	if [ "$STORE" = redis ]; then
		out=$(URLS="http://127.0.0.1:$PORT/webhook http://127.0.0.1:$PORTB/webhook" sh "$D/send-event.sh")
		id=$(sed -n 's/.*"id":"\(evt_demo_[0-9a-f]*\)".*/\1/p' "$D/event.json")
		n=$(grep -c " $id payment_intent.succeeded" "$D/out/events.log")
		dup=$(printf '%s\n' "$out" | grep -c '"duplicate": *true')
		echo "selftest: one event to both nodes: delivered $n time(s), $dup duplicate answer(s)"
		[ "$n" = 1 ] && [ "$dup" = 1 ] || { echo "selftest: FAILED (two nodes)"; exit 1; }
		api=$(sed "s#:$PORT/api#:$PORTB/api#" "$D/call-api.sh" | sh | head -1 | tr -d '\r')
		echo "selftest: api on node b (the token is shared): $api"
		case "$api" in "HTTP/1.1 200"*) ;; *) echo "selftest: FAILED (api on node b)"; exit 1 ;; esac
		echo "selftest: ok (two nodes sharing Redis)"
	fi
	exit 0
fi

# Foreground until Ctrl-C (the trap stops lighttpd) or lighttpd exits.
wait $LP
LP=""
echo "demo: lighttpd exited" >&2
exit 1
