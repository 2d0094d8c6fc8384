# tests/harness/lib.sh - sourced (bash) by tests/e2e/test_*.sh.
#
# Gives every test file:
#   - TAP output: ok / not_ok / is / check / finish
#   - a scratch BASE under /tmp (0755, traversable by www-data) with
#       $BIN    copies of webhook.fcgi and payguard (0755)
#       $STATE  PAYGUARD_STATE_DIR, www-data 0700
#       $HOUT   the test handler's output directory (www-data)
#       $LOGS   stderr of the plain-CGI runs and of the CLI, curl errors
#   - real servers on 127.0.0.1, each started in the foreground (or with a
#     pid file for spawn-fcgi) and ALWAYS stopped by pid from the EXIT trap:
#       start_apache_fcgid   Apache 2.4 event MPM + mod_fcgid, including
#                            apache-conf/payguard-fcgid.conf
#       start_apache_cgid    Apache + mod_cgid, webhook.fcgi as plain CGI
#       start_apache_htaccess  shared hosting: AllowOverride + the
#                            apache-conf/htaccess.example as .htaccess
#       start_lighttpd       lighttpd bin-path, including
#                            apache-conf/lighttpd-payguard.conf
#       start_spawn_fcgi + start_lighttpd_ext  spawn-fcgi pool + lighttpd
#       start_fcgi_sock + start_nginx  spawn-fcgi sockets (webhook.fcgi,
#                            api.fcgi, fcgiwrap) + nginx including
#                            apache-conf/nginx-payguard.conf
#   - cgi_run: webhook.fcgi as plain CGI from the shell (env -i ... < body)
#   - http: curl wrapper setting RS (status), RH (headers file), RB (body)
#   - pgcli: the payguard CLI as www-data on the same state dir
#   - sign: `payguard sign` -> Stripe-Signature value
#
# CGI_PROG overrides the program cgi_run runs ($BIN/webhook.fcgi).
# Environment from tests/run-e2e.sh: O (absolute build dir), SRC, PY.
# PG_KEEP=1 keeps the scratch directory.  Where a server recipe has a
# non-obvious reason, the comment beside it says what goes wrong without it.

set -u
: "${SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${O:=$SRC/build}"
case "$O" in /*) ;; *) O="$SRC/$O" ;; esac
PY=${PY:-/usr/bin/python3}
if [ "$(id -u)" = 0 ]; then
	WWW=www-data
else
	# make check without root: the servers run as this user, who owns
	# every file already, so the root-only steps (handing files to
	# www-data, dropping privileges) have nothing left to do.
	WWW=$(id -un)
	chown() { :; }
	setpriv() {
		while [ $# -gt 0 ] && [ "${1#--}" != "$1" ]; do shift; done
		"$@"
	}
fi
WWW_UID=$(id -u $WWW)
WWW_GID=$(id -g $WWW)
WWW_GROUP=$(id -gn $WWW)
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export LC_ALL=C

# ---------------------------------------------------------------- TAP
T_PASS=0
T_FAIL=0
ok()     { T_PASS=$((T_PASS + 1)); echo "ok - $*"; }
not_ok() { T_FAIL=$((T_FAIL + 1)); echo "not ok - $*"; }
diag()   { echo "# $*"; }
# is GOT WANT DESC.  A failure is one line (the summary keeps only the
# first line of each), so newlines in GOT and WANT print as " | ".
is() {
	local nl=$'\n'
	if [ "$1" = "$2" ]; then ok "$3"
	else not_ok "$3 (got '${1//$nl/ | }', want '${2//$nl/ | }')"; fi
}
# check DESC CMD...: ok when CMD succeeds
check() {
	local d=$1; shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
# bail DESC: one failure, then stop the file (the trap cleans up)
bail() { not_ok "$*"; finish; }
# finish: summary line, exit status (the EXIT trap stops the servers)
finish() {
	echo "# $T_PASS passed, $T_FAIL failed"
	if [ "$T_FAIL" -eq 0 ] && [ "$T_PASS" -gt 0 ]; then exit 0; fi
	exit 1
}

# ------------------------------------------------- processes and ports
PG_PIDS=""
# proc_alive PID: running and not a zombie (an orphan is reaped by PID 1,
# which may do so late, so kill -0 alone would still see it)
proc_alive() {
	local st
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "${st%% *}" != Z ]
}
track() { PG_PIDS="$1 $PG_PIDS"; }
untrack() { PG_PIDS=$(echo " $PG_PIDS " | sed "s/ $1 / /"); }
# stop_pid PID [SIG] [SECONDS]: signal, wait until gone, KILL as last resort
stop_pid() {
	local p=$1 sig=${2:-TERM} n=$(( ${3:-15} * 10 ))
	kill -"$sig" "$p" 2>/dev/null
	while proc_alive "$p" && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
	if proc_alive "$p"; then
		diag "pid $p ignored SIG$sig; killing"
		kill -KILL "$p" 2>/dev/null
		sleep 0.2
	fi
	wait "$p" 2>/dev/null
	untrack "$p"
	return 0
}
# port_free PORT
port_free() { ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }
# need_ports PORT...: stop the file unless every port is free
need_ports() {
	local p
	for p in "$@"; do
		port_free "$p" || bail "port $p is free (another test or server holds it)"
	done
}
# wait_port PORT [SECONDS]: wait until something accepts on 127.0.0.1:PORT
wait_port() {
	local n=$(( ${2:-10} * 20 ))
	while [ $n -gt 0 ]; do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05; n=$((n - 1))
	done
	return 1
}
# wait_port_free PORT [SECONDS]
wait_port_free() {
	local n=$(( ${2:-10} * 10 ))
	while ! port_free "$1" && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
	port_free "$1"
}
# pids_of_exe PATH: pids whose executable is PATH (our copies under $BASE)
# (one find, not a readlink per process: on a busy machine the per-process
# forks made one scan take seconds, longer than the processes it looks for)
# Live ones only: a zombie (exited, its parent gone and init slow to reap
# it, as under ASan's slower exits) runs nothing and holds nothing.
pids_of_exe() {
	local p
	for p in $(find /proc -mindepth 2 -maxdepth 2 -name exe -lname "$1" \
	    2>/dev/null | cut -d/ -f3); do
		proc_alive "$p" && echo "$p"
	done
	return 0
}

# ---------------------------------------------------------- scratch
pg_cleanup() {
	local p rc=$?
	trap - EXIT INT TERM
	for p in $PG_PIDS; do stop_pid "$p" TERM 15; done
	# Anything still running one of our binary copies was started by our
	# servers and outlived them: report it and stop it by pid.
	if [ -n "${BIN:-}" ] && [ -d "$BIN" ]; then
		for p in $(pids_of_exe "$BIN/webhook.fcgi") $(pids_of_exe "$BIN/payguard"); do
			echo "not ok - no stray process left (pid $p: $(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null))"
			kill -KILL "$p" 2>/dev/null
			rc=1
		done
	fi
	if [ "$T_FAIL" -gt 0 ] && [ -n "${BASE:-}" ] && [ -d "$BASE" ]; then
		local f
		for f in $(find "$BASE" -name '*.log' -size +0 2>/dev/null | grep -v /hout/ | sort); do
			echo "# --- tail ${f#$BASE/}"
			tail -n 15 "$f" | sed 's/^/#   /'
		done
	fi
	if [ -n "${BASE:-}" ] && [ -d "$BASE" ]; then
		if [ "${PG_KEEP:-0}" = 1 ]; then diag "kept $BASE"; else rm -rf "$BASE"; fi
	fi
	exit $rc
}

# pg_setup: creates BASE and friends, installs the cleanup trap.
# Stops the file when the binaries are missing.
pg_setup() {
	[ -x "$O/webhook.fcgi" ] || bail "$O/webhook.fcgi is built"
	[ -x "$O/payguard" ] || bail "$O/payguard is built"
	BASE=$(mktemp -d /tmp/pg-e2e.XXXXXX) || bail "mktemp"
	chmod 0755 "$BASE"
	trap pg_cleanup EXIT
	trap 'exit 130' INT TERM
	BIN=$BASE/bin STATE=$BASE/state HOUT=$BASE/hout LOGS=$BASE/logs
	mkdir -p "$BIN" "$STATE" "$HOUT" "$LOGS"
	# Copies: the tests keep working if the build directory is rebuilt
	# meanwhile, and the path is traversable by www-data (servers that drop
	# to www-data must be able to reach every directory on the way).
	cp "$O/webhook.fcgi" "$O/payguard" "$BIN/"
	chmod 0755 "$BIN" "$BIN"/*
	chown $WWW:$WWW "$STATE" "$HOUT"
	chmod 0700 "$STATE"
	chmod 0755 "$HOUT"
	: > "$BASE/sigs"
	AUDIT=$STATE/logs/security_audit.log
	PLANT_EMAIL="jenny.rosen.$$@example.com"
	SECRET="whsec_$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	CGI_ENV=()
	CLI_ENV=(PAYGUARD_STATE_DIR="$STATE")
	RH=$BASE/resp.headers RB=$BASE/resp.body RS=000
}

# new_state NAME: another state dir (www-data 0700), path on stdout
new_state() {
	local d=$BASE/$1
	mkdir -p "$d" && chown $WWW:$WWW "$d" && chmod 0700 "$d"
	echo "$d"
}

# write_ini FILE KEY=VALUE...: an INI file in the [payguard] section,
# root:www-data 0640 (readable by the workers, not by others)
write_ini() {
	local f=$1 kv; shift
	{
		echo "; written by tests/harness/lib.sh"
		echo "[payguard]"
		for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
	} > "$f"
	chown root:$WWW "$f"
	chmod 0640 "$f"
}

# ----------------------------------------------------- events, signing
now() { date +%s; }
# newev [TYPE] [API_VERSION] [LIVEMODE]: a fresh event; sets EV (its id)
# and EVF (its file)
EV_N=0
newev() {
	EV_N=$((EV_N + 1))
	EV=evt_e2e$$x$EV_N
	mkdir -p "$BASE/ev"
	EVF=$BASE/ev/$EV.json
	mkevent "$EVF" "$EV" "${1:-payment_intent.succeeded}" "${2:-2024-06-20}" "${3:-false}"
}
# mkevent FILE ID [TYPE] [API_VERSION] [LIVEMODE]: a Stripe-shaped event
# carrying the planted customer email (must never reach a log).
mkevent() {
	local f=$1 id=$2 type=${3:-payment_intent.succeeded}
	local ver=${4:-2024-06-20} live=${5:-false}
	printf '{\n  "id": "%s",\n  "object": "event",\n  "api_version": "%s",\n  "created": %s,\n  "livemode": %s,\n  "pending_webhooks": 1,\n  "request": {"id": null, "idempotency_key": null},\n  "type": "%s",\n  "data": {"object": {"id": "pi_%s", "object": "payment_intent", "amount": 2000, "currency": "eur", "receipt_email": "%s"}}\n}\n' \
	    "$id" "$ver" "$(now)" "$live" "$type" "${id#evt_}" "$PLANT_EMAIL" > "$f"
}
# sign FILE [TIMESTAMP] [SECRET]: prints the Stripe-Signature value made by
# `payguard sign`; remembers the v1 hex for the leak scan.
sign() {
	local h
	h=$(env -i PATH=/usr/bin:/bin "$BIN/payguard" sign --secret "${3:-$SECRET}" \
	    ${2:+--timestamp "$2"} < "$1" 2>>"$LOGS/cli.log")
	echo "$h" | tr ',' '\n' | sed -n 's/^v1=//p' >> "$BASE/sigs"
	echo "$h"
}
# badsig: a well-formed, current, wrong signature (signature_mismatch)
badsig() { echo "t=$(now),v1=$(printf '0%.0s' $(seq 64))"; }
# hmac_hex SECRET TIMESTAMP FILE: independent reference signature (openssl)
hmac_hex() {
	{ printf '%s.' "$2"; cat "$3"; } | openssl dgst -sha256 -hmac "$1" -r | cut -d' ' -f1
}

# --------------------------------------------------------- responses
# hdr NAME: first value of response header NAME (case-insensitive)
hdr() {
	awk -v n="$(echo "$1" | tr A-Z a-z)" '
	    { sub(/\r$/, "") }
	    index($0, ":") { k = tolower(substr($0, 1, index($0, ":") - 1));
	        if (k == n) { v = substr($0, index($0, ":") + 1); sub(/^[ \t]*/, "", v); print v; exit } }' "$RH"
}
# jb FILTER: jq over the response body ("" when not JSON)
jb() { jq -r "$1" "$RB" 2>/dev/null; }
# expect_status WANT DESC
expect_status() { is "$RS" "$1" "$2: status $1"; }
# expect_error STATUS CODE DESC: status + the JSON error envelope
expect_error() {
	local st=$1 code=$2 d=$3 got
	got="$RS $(jb '.error.type // "-"') $(jb '.error.code // "-"') $(jb '.error.message | type')"
	is "$got" "$st invalid_request_error $code string" "$d: $st $code, JSON error envelope"
}
# check_headers DESC [norl]: the security headers every response carries;
# without "norl" also the request id and rate-limit headers.
check_headers() {
	local d=$1 bad="" v
	[ "$(hdr X-Content-Type-Options)" = nosniff ] || bad="$bad X-Content-Type-Options"
	[ "$(hdr Strict-Transport-Security)" = "max-age=31536000; includeSubDomains" ] || bad="$bad Strict-Transport-Security"
	[ "$(hdr Content-Security-Policy)" = "default-src 'none'; frame-ancestors 'none'" ] || bad="$bad Content-Security-Policy"
	[ "$(hdr X-Frame-Options)" = DENY ] || bad="$bad X-Frame-Options"
	[ "$(hdr Referrer-Policy)" = no-referrer ] || bad="$bad Referrer-Policy"
	[ "$(hdr Cache-Control)" = no-store ] || bad="$bad Cache-Control"
	[ "$(hdr Cross-Origin-Resource-Policy)" = same-origin ] || bad="$bad Cross-Origin-Resource-Policy"
	[ "$(hdr X-XSS-Protection)" = 0 ] || bad="$bad X-XSS-Protection"
	hdr Content-Type | grep -Eq '^application/json( *;.*)?$' || bad="$bad Content-Type"
	if [ "${2:-}" != norl ]; then
		hdr X-Request-ID | grep -Eq '^[A-Za-z0-9._-]{1,64}$' || bad="$bad X-Request-ID"
		hdr X-RateLimit-Limit | grep -Eq '^[0-9]+$' || bad="$bad X-RateLimit-Limit"
		hdr X-RateLimit-Remaining | grep -Eq '^[0-9]+$' || bad="$bad X-RateLimit-Remaining"
		v=$(hdr X-RateLimit-Reset)
		{ echo "$v" | grep -Eq '^[0-9]{10}$' && [ "$v" -ge $(( $(now) - 1 )) ]; } || bad="$bad X-RateLimit-Reset($v)"
		hdr RateLimit-Policy | grep -Eq '^"webhook";q=[0-9]+;w=[0-9]+$' || bad="$bad RateLimit-Policy"
		hdr RateLimit | grep -Eq '^"webhook";r=[0-9]+;t=[0-9]+$' || bad="$bad RateLimit"
	fi
	if [ -z "$bad" ]; then ok "$d: security headers"; else not_ok "$d: security headers (wrong/missing:$bad)"; fi
}

# http METHOD URL [curl args...]: sets RS, fills RH and RB
http() {
	local m=$1 u=$2; shift 2
	: > "$RH"; : > "$RB"
	RS=$(curl -sS -X "$m" -H 'Expect:' -o "$RB" -D "$RH" -w '%{http_code}' \
	    --max-time 60 "$@" "$u" 2>>"$LOGS/curl.log") || true
	[ -n "$RS" ] || RS=000
}
# post_event URL FILE SIGNATURE [curl args...]
post_event() {
	local u=$1 f=$2 s=$3; shift 3
	http POST "$u" -H 'Content-Type: application/json' \
	    -H "User-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)" \
	    -H "Stripe-Signature: $s" --data-binary "@$f" "$@"
}

# cgi_run METHOD BODYFILE|- [NAME=VALUE | -NAME ...]: webhook.fcgi as a
# plain CGI program, as www-data, with a clean environment made of a
# request (POST /webhook from 127.0.0.1, CONTENT_LENGTH = file size),
# then ${CGI_ENV[@]} (the configuration), then the arguments; "-NAME"
# removes NAME.  Sets RS, RH, RB and CGI_RC; stderr goes to $LOGS/cgi.log
# (and the last run's alone to the file $CGI_ERR).
cgi_run() {
	local method=$1 body=$2 kv; shift 2
	declare -A E=(
	    [PATH]=/usr/bin:/bin [GATEWAY_INTERFACE]=CGI/1.1
	    [SERVER_PROTOCOL]=HTTP/1.1 [SERVER_SOFTWARE]=payguard-e2e
	    [SERVER_NAME]=127.0.0.1 [SERVER_PORT]=443 [HTTPS]=on
	    [SCRIPT_NAME]=/webhook [REQUEST_URI]=/webhook
	    [REMOTE_ADDR]=127.0.0.1 [REMOTE_PORT]=40123
	    [REQUEST_METHOD]=$method [CONTENT_TYPE]=application/json
	    [HTTP_USER_AGENT]="Stripe/1.0 (+https://stripe.com/docs/webhooks)"
	)
	if [ "$body" = - ]; then body=/dev/null; else E[CONTENT_LENGTH]=$(stat -c %s "$body"); fi
	for kv in "${CGI_ENV[@]}" "$@"; do
		case "$kv" in
		-*) unset "E[${kv#-}]" ;;
		*=*) E[${kv%%=*}]=${kv#*=} ;;
		esac
	done
	local args=() k
	for k in "${!E[@]}"; do args+=("$k=${E[$k]}"); done
	# Per-process scratch names: tests run cgi_run in parallel subshells
	# (with their own RH/RB).
	local out=$BASE/cgi.out.$BASHPID
	CGI_ERR=$LOGS/cgi-last.err.$BASHPID
	setpriv --reuid=$WWW_UID --regid=$WWW_GID --clear-groups \
	    env -i "${args[@]}" "${CGI_PROG:-$BIN/webhook.fcgi}" < "$body" > "$out" 2> "$CGI_ERR"
	CGI_RC=$?
	cat "$CGI_ERR" >> "$LOGS/cgi.log"
	# CGI response: header lines, an empty line, the body.
	awk -v H="$RH" -v B="$RB" '
	    BEGIN { h = 1; printf "" > H; printf "" > B }
	    h { sub(/\r$/, ""); if ($0 == "") { h = 0; next } print > H; next }
	    { print > B }' "$out"
	rm -f "$out"
	RS=$(sed -n 's/^[Ss]tatus: *\([0-9][0-9][0-9]\).*/\1/p' "$RH" | head -1)
	[ -n "$RS" ] || RS=200
}

# pgcli ARGS...: the payguard CLI as www-data on the same state, with a
# clean environment: ${CLI_ENV[@]} (PAYGUARD_STATE_DIR=$STATE by default).
# stderr goes to $LOGS/cli.log.
pgcli() {
	setpriv --reuid=$WWW_UID --regid=$WWW_GID --clear-groups \
	    env -i PATH=/usr/bin:/bin HOME=/nonexistent "${CLI_ENV[@]}" \
	    "$BIN/payguard" "$@" 2>>"$LOGS/cli.log"
}
# as_www CMD...: run as www-data
as_www() { setpriv --reuid=$WWW_UID --regid=$WWW_GID --clear-groups "$@"; }

# inbox_json: `payguard inbox list --json` into $BASE/inbox.json; 0 if it
# is a JSON array
inbox_json() {
	pgcli inbox list --json > "$BASE/inbox.json" && jq -e 'type == "array"' "$BASE/inbox.json" >/dev/null
}
# inbox_field ID FIELD: FIELD of the record ID from the last inbox_json
inbox_field() { jq -r --arg id "$1" --arg f "$2" '[.[] | select(.id == $id)][0][$f] // "absent"' "$BASE/inbox.json"; }

# ------------------------------------------------------------- audit
# audit_n: lines in the audit log (of $AUDIT)
audit_n() { if [ -f "$AUDIT" ]; then wc -l < "$AUDIT"; else echo 0; fi; }
# expect_audit BEFORE TYPE DESC: exactly one line more since BEFORE, a
# JSON object with the required fields; TYPE ("" = any) its event_type.
expect_audit() {
	local before=$1 type=$2 d=$3 n last
	n=$(audit_n)
	if [ "$n" -ne $((before + 1)) ]; then
		# The lines that came, so that a failure says which records.
		not_ok "$d: one audit line (got $((n - before)): $(tail -n \
		    +"$((before + 1))" "$AUDIT" 2>/dev/null | head -n 4 | jq -c \
		    '[.event_type, .source_ip, .identity, .details]' 2>/dev/null |
		    tr '\n' ' ')${CGI_ERR:+; stderr: $(tail -c 400 "$CGI_ERR" 2>/dev/null |
		    tr '\n' ' ')})"
		return
	fi
	last=$(tail -n 1 "$AUDIT")
	if ! echo "$last" | jq -e 'type == "object" and (has("event_id") and has("event_type") and has("timestamp") and has("source_ip") and has("user_agent") and has("request_id") and has("severity") and has("details") and has("mitigated") and has("mitigation_action"))' >/dev/null 2>&1; then
		not_ok "$d: audit line is a JSON object with every field ($last)"
		return
	fi
	if [ -n "$type" ]; then
		is "$(echo "$last" | jq -r .event_type)" "$type" "$d: audit event_type"
	else
		ok "$d: one audit line"
	fi
}
# audit_all_json FILE: every line parses as a JSON object
audit_all_json() {
	[ -f "$1" ] || return 1
	jq -e -s 'all(type == "object")' "$1" >/dev/null 2>&1 &&
	    [ "$(jq -c . "$1" 2>/dev/null | wc -l)" -eq "$(wc -l < "$1")" ]
}

# scan_leaks DESC FILE...: none of the files contains the webhook secret,
# a signature hex made in this run, or the planted customer email.
scan_leaks() {
	local d=$1 f hit=""; shift
	sort -u "$BASE/sigs" | grep -E '^[0-9a-f]{64}$' > "$BASE/sigs.u"
	printf '%s\n%s\n' "$SECRET" "$PLANT_EMAIL" >> "$BASE/sigs.u"
	[ -n "${EXTRA_SECRETS:-}" ] && printf '%s\n' $EXTRA_SECRETS >> "$BASE/sigs.u"
	for f in "$@"; do
		[ -f "$f" ] || continue
		grep -qF -f "$BASE/sigs.u" "$f" && hit="$hit ${f#$BASE/}"
	done
	if [ -z "$hit" ]; then ok "$d: no secret, signature or customer email in the logs"
	else not_ok "$d: leaked into:$hit"; fi
}

# burst DIR N FN: runs "FN I" for I in 1..N in N background processes that
# all start at once (a barrier file), waits for all of them.
burst() {
	local d=$1 n=$2 fn=$3 i pids=()
	mkdir -p "$d"
	rm -f "$d/go"
	for i in $(seq "$n"); do
		( while [ ! -e "$d/go" ]; do sleep 0.01; done; "$fn" "$i" ) &
		pids+=($!)
	done
	sleep 0.3
	touch "$d/go"
	wait "${pids[@]}"
}
# curl_status URL FILE SIGNATURE: prints the status code only
curl_status() {
	curl -sS -o /dev/null -w '%{http_code}\n' --max-time 60 -H 'Expect:' \
	    -H 'Content-Type: application/json' -H "Stripe-Signature: $3" \
	    --data-binary "@$2" "$1" 2>>"$LOGS/curl.log" || true
}

# ----------------------------------------------------------- handler
# make_handler: $HOUT/handler (root 0755), run by webhook.fcgi / payguard
# as www-data without a shell.  Each run appends "ID TYPE LIVEMODE" to
# $HOUT/runs.log, "ID KIND ACCOUNT" to $HOUT/kinds.log, "ID SOURCE" to $HOUT/sources.log and saves stdin as $HOUT/ev.ID.PID.  Behaviour files in
# $HOUT: sleep (seconds), fail_once.ID (fail once for ID), fail_always.
make_handler() {
	HANDLER=$BASE/handler
	cat > "$HANDLER" <<EOF
#!/bin/sh
d=$HOUT
id="\$PAYGUARD_EVENT_ID"
/bin/cat > "\$d/ev.\$id.\$\$"
printf '%s %s %s\n' "\$id" "\${PAYGUARD_EVENT_TYPE-unset}" "\${PAYGUARD_EVENT_LIVEMODE-unset}" >> "\$d/runs.log"
printf '%s %s %s\n' "\$id" "\${PAYGUARD_EVENT_KIND-unset}" "\${PAYGUARD_EVENT_ACCOUNT-unset}" >> "\$d/kinds.log"
printf '%s %s\n' "\$id" "\${PAYGUARD_EVENT_SOURCE-unset}" >> "\$d/sources.log"
[ -f "\$d/sleep" ] && /bin/sleep "\$(/bin/cat "\$d/sleep")"
if [ -f "\$d/fail_once.\$id" ]; then /bin/rm -f "\$d/fail_once.\$id"; exit 1; fi
[ -f "\$d/fail_always" ] && exit 3
exit 0
EOF
	chmod 0755 "$HANDLER"
}
# runs ID: how many times the handler ran for ID
runs() { if [ -f "$HOUT/runs.log" ]; then grep -c "^$1 " "$HOUT/runs.log"; else echo 0; fi; }

# ------------------------------------------------- shared server cases
# webhook_server_cases LABEL URL RID: the request-level cases every web
# server recipe must pass (test_webhook_lighttpd.sh, test_webhook_nginx.sh),
# with PAYGUARD_WEBHOOK_DELIVERY=sync, 127.0.0.1 allowed and the handler
# from make_handler: a valid event delivered inside the request, the
# security headers, X-Request-ID (RID.1) echoed, a duplicate, an old
# timestamp (audited), DELETE -> 405, a 600 KB body answered by payguard
# itself (413, so the server's body limit must be above PAYGUARD_MAX_BODY),
# a failing handler -> 500 and the retry delivered.  Sets SC_EV / SC_EVF
# (the first event, delivered once) for the caller's own checks.
webhook_server_cases() {
	local l=$1 u=$2 rid=$3.1 n
	newev; SC_EV=$EV; SC_EVF=$EVF
	post_event "$u" "$SC_EVF" "$(sign "$SC_EVF")" -H "X-Request-ID: $rid"
	expect_status 200 "$l: valid event (sync delivery)"
	check_headers "$l 200"
	is "$(hdr X-Request-ID)" "$rid" "$l: X-Request-ID echoed"
	is "$(runs "$SC_EV")" 1 "$l: handler ran once, as part of the request"
	post_event "$u" "$SC_EVF" "$(sign "$SC_EVF")"
	is "$RS/$(jb .duplicate)/$(runs "$SC_EV")" "200/true/1" "$l: repeat is a duplicate"
	n=$(audit_n)
	post_event "$u" "$SC_EVF" "$(sign "$SC_EVF" $(( $(now) - 1000 )))"
	expect_error 400 timestamp_too_old "$l: old timestamp"
	expect_audit "$n" "" "$l: old timestamp"
	http DELETE "$u"
	expect_error 405 method_not_allowed "$l: DELETE"
	is "$(hdr Allow)" POST "$l: Allow: POST"
	head -c 600000 /dev/zero | tr '\0' x > "$BASE/huge.json"
	post_event "$u" "$BASE/huge.json" "$(sign "$BASE/huge.json")"
	expect_error 413 payload_too_large "$l: 600 KB body answered by payguard"
	newev
	touch "$HOUT/fail_once.$EV"
	post_event "$u" "$EVF" "$(sign "$EVF")"
	is "$RS/$(jb .error.code)" "500/handler_failed" "$l: failing handler -> 500 (Stripe retries)"
	post_event "$u" "$EVF" "$(sign "$EVF")"
	is "$RS/$(runs "$EV")" "200/2" "$l: the retry is delivered"
}

# ------------------------------------------------------------ servers
# Each start_* sets the URL of /webhook in WH_URL and the server's error
# log in ERRLOG; the pid is tracked and stopped by pg_cleanup or stop_pid.

# _apache_head NAME PORT: $BASE/NAME layout and the common top of
# httpd.conf (event MPM, User www-data, mod_fcgid IPC under run/), plus
# the lines in $APACHE_EXTRA.
_apache_head() {
	R=$BASE/$1
	mkdir -p "$R/logs" "$R/run" "$R/htdocs"
	# NB: do not create run/fcgidsock: mod_fcgid makes it, owned by User
	# (a root-owned one leaves the workers unable to use it: every request
	# then ends in a 503 after about 64 s).
	cat > "$R/httpd.conf" <<EOF
ServerRoot "$R"
ServerName 127.0.0.1
Listen 127.0.0.1:$2
PidFile run/httpd.pid
Mutex file:run default
DefaultRuntimeDir run
ErrorLog logs/error.log
LogLevel warn
LoadModule mpm_event_module   /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module  /usr/lib/apache2/modules/mod_authz_core.so
LoadModule mime_module        /usr/lib/apache2/modules/mod_mime.so
LoadModule alias_module       /usr/lib/apache2/modules/mod_alias.so
LoadModule env_module         /usr/lib/apache2/modules/mod_env.so
LoadModule fcgid_module       /usr/lib/apache2/modules/mod_fcgid.so
# Mandatory when started as root (Apache refuses to run its children as
# root).
User $WWW
Group $WWW_GROUP
TypesConfig /etc/mime.types
CustomLog logs/access.log "%h %t \"%r\" %>s %b %D"
DocumentRoot "$R/htdocs"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
FcgidIPCDir run/fcgidsock
FcgidProcessTableFile run/fcgid_shm
${APACHE_EXTRA:-}
EOF
}
# _apache_run NAME PORT: config test, then the server in the foreground
_apache_run() {
	local out
	if ! out=$(/usr/sbin/apache2 -f "$R/httpd.conf" -t 2>&1); then
		echo "$out" | sed 's/^/# /'
		bail "$1: apache2 -t accepts the configuration"
	fi
	/usr/sbin/apache2 -f "$R/httpd.conf" -DFOREGROUND > "$R/logs/stdout.log" 2>&1 &
	APACHE_PID=$!
	track $APACHE_PID
	wait_port "$2" 10 || bail "$1: Apache listens on 127.0.0.1:$2"
	ERRLOG=$R/logs/error.log
}

# start_apache_fcgid NAME PORT INI [MAXPROCS]: the shipped site snippet
# apache-conf/payguard-fcgid.conf, included as is.  WH_URL=/webhook.
start_apache_fcgid() {
	_apache_head "$1" "$2"
	cat >> "$R/httpd.conf" <<EOF
FcgidMaxProcessesPerClass ${4:-8}
Define PAYGUARD_HOME $BIN
Define PAYGUARD_STATE_DIR $STATE
Define PAYGUARD_CONFIG $3
Include $SRC/apache-conf/payguard-fcgid.conf
EOF
	_apache_run "$1" "$2"
	WH_URL=http://127.0.0.1:$2/webhook
}

# start_apache_cgid NAME PORT INI: webhook.fcgi as plain CGI under
# mod_cgid (one process per request).  The configuration reaches CGI
# programs through SetEnv (request env).  WH_URL=/cgi/webhook.
start_apache_cgid() {
	_apache_head "$1" "$2"
	mkdir -p "$R/cgi-bin"
	cp "$BIN/webhook.fcgi" "$R/cgi-bin/webhook"
	chmod 0755 "$R/cgi-bin" "$R/cgi-bin/webhook"
	cat >> "$R/httpd.conf" <<EOF
LoadModule cgid_module /usr/lib/apache2/modules/mod_cgid.so
# Absolute: a relative ScriptSock resolves under DefaultRuntimeDir, shared
# by every Apache on the machine.
ScriptSock $R/run/cgid.sock
ScriptAlias /cgi/ $R/cgi-bin/
<Directory "$R/cgi-bin">
    SetEnv PAYGUARD_STATE_DIR $STATE
    SetEnv PAYGUARD_CONFIG $3
    CGIPassAuth On
    Require all granted
</Directory>
EOF
	_apache_run "$1" "$2"
	WH_URL=http://127.0.0.1:$2/cgi/webhook
}

# start_apache_htaccess NAME PORT KEY=VALUE...: shared hosting.  The
# server config only allows overrides; $R/htdocs/pay/ holds .htaccess
# (apache-conf/htaccess.example, as is), webhook.fcgi, payguard.ini
# (the KEY=VALUE settings plus PAYGUARD_STATE_DIR) and state/.  No
# FcgidInitialEnv, default FcgidMaxRequestLen.  Sets HT_DIR, HT_STATE,
# WH_URL=/pay/webhook.
start_apache_htaccess() {
	local name=$1 port=$2; shift 2
	_apache_head "$name" "$port"
	HT_DIR=$R/htdocs/pay
	HT_STATE=$HT_DIR/state
	mkdir -p "$HT_STATE"
	chown $WWW:$WWW "$HT_STATE"
	chmod 0700 "$HT_STATE"
	cp "$SRC/apache-conf/htaccess.example" "$HT_DIR/.htaccess"
	cp "$BIN/webhook.fcgi" "$HT_DIR/webhook.fcgi"
	chmod 0755 "$HT_DIR" "$HT_DIR/webhook.fcgi"
	chmod 0644 "$HT_DIR/.htaccess"
	write_ini "$HT_DIR/payguard.ini" PAYGUARD_STATE_DIR="$HT_STATE" "$@"
	cat >> "$R/httpd.conf" <<EOF
LoadModule rewrite_module /usr/lib/apache2/modules/mod_rewrite.so
LoadModule dir_module     /usr/lib/apache2/modules/mod_dir.so
DirectoryIndex index.html
# What a typical shared host allows in .htaccess.
<Directory "$R/htdocs">
    Options SymLinksIfOwnerMatch
    AllowOverride AuthConfig FileInfo Indexes Limit Options=ExecCGI,Indexes,SymLinksIfOwnerMatch
    Require all granted
</Directory>
EOF
	_apache_run "$name" "$port"
	WH_URL=http://127.0.0.1:$port/pay/webhook
}

# admin_htpasswd FILE: Basic-auth users for the admin pages: admin
# (adm1n-pw, the one in PAYGUARD_ADMIN_USERS) and eve (eve-pw, not an
# admin), readable by the web server's group only.
admin_htpasswd() {
	htpasswd -cbB "$1" admin 'adm1n-pw' 2>/dev/null && htpasswd -bB "$1" eve 'eve-pw' 2>/dev/null
	chown root:$WWW "$1"; chmod 0640 "$1"
}

# start_apache_audit PORT INI HTPASSWD: audit.cgi ($BIN/audit.cgi) at
# /audit under Apache + mod_cgid with the shipped Basic-auth snippet
# apache-conf/audit-basic-auth.conf, included as is.
start_apache_audit() {
	APACHE_EXTRA="LoadModule cgid_module /usr/lib/apache2/modules/mod_cgid.so
LoadModule auth_basic_module /usr/lib/apache2/modules/mod_auth_basic.so
LoadModule authn_core_module /usr/lib/apache2/modules/mod_authn_core.so
LoadModule authn_file_module /usr/lib/apache2/modules/mod_authn_file.so
LoadModule authz_user_module /usr/lib/apache2/modules/mod_authz_user.so"
	_apache_head audit "$1"
	APACHE_EXTRA=
	cat >> "$R/httpd.conf" <<EOF
ScriptSock $R/run/cgid.sock
Define PAYGUARD_HOME $BIN
Define PAYGUARD_STATE_DIR $STATE
Define PAYGUARD_CONFIG $2
Define PAYGUARD_HTPASSWD $3
<Directory "$BIN">
    Options +ExecCGI
    Require all granted
</Directory>
Include $SRC/apache-conf/audit-basic-auth.conf
EOF
	_apache_run audit "$1"
}

# _lighttpd_vars INI PROCS [STATE]: the variables the shipped lighttpd
# snippets (apache-conf/lighttpd-*.conf) read, into $L/lighttpd.conf.
_lighttpd_vars() {
	cat >> "$L/lighttpd.conf" <<EOF
var.payguard_home   = "$BIN"
var.payguard_state  = "${3:-$STATE}"
var.payguard_config = "$1"
var.payguard_run    = "$L/run"
var.payguard_procs  = $2
EOF
}

# start_lighttpd_root NAME PORT INI PROCS [SNIPPET...]: lighttpd with the
# API gateway mounted at the site root by the shipped
# apache-conf/lighttpd-payguard-api-root.conf, included as is after the
# other apache-conf/ snippets named.
start_lighttpd_root() {
	local name=$1 port=$2 s
	_lighttpd_base "$name" "$port"
	_lighttpd_vars "$3" "$4"
	shift 4
	for s in "$@" lighttpd-payguard-api-root.conf; do
		echo "include \"$SRC/apache-conf/$s\"" >> "$L/lighttpd.conf"
	done
	_lighttpd_run "$name" "$port"
}

# start_lighttpd NAME PORT INI [PROCS] [STATE]: lighttpd with the shipped
# bin-path snippet apache-conf/lighttpd-payguard.conf, included as is.
start_lighttpd() {
	_lighttpd_base "$1" "$2"
	_lighttpd_vars "$3" "${4:-2}" "${5:-}"
	cat >> "$L/lighttpd.conf" <<EOF
server.modules      += ( "mod_accesslog" )
accesslog.filename   = "$L/logs/access.log"
include "$SRC/apache-conf/lighttpd-payguard.conf"
EOF
	_lighttpd_run "$1" "$2"
}
# _lighttpd_base NAME PORT: $L = $BASE/NAME with its directories, and
# $L/lighttpd.conf started with what every test server shares.
_lighttpd_base() {
	L=$BASE/$1
	mkdir -p "$L/logs" "$L/run" "$L/htdocs"
	# lighttpd binds the bin-path sockets after dropping to www-data, so the
	# directories must be www-data's.
	chown $WWW:$WWW "$L/run" "$L/logs"
	cat > "$L/lighttpd.conf" <<EOF
server.bind          = "127.0.0.1"
server.port          = $2
server.document-root = "$L/htdocs"
server.pid-file      = "$L/run/lighttpd.pid"
server.errorlog      = "$L/logs/error.log"
server.breakagelog   = "$L/logs/breakage.log"
server.username      = "$WWW"
server.groupname     = "$WWW"
server.max-request-size = 1024
EOF
}
_lighttpd_run() {
	local out
	if ! out=$(lighttpd -tt -f "$L/lighttpd.conf" 2>&1); then
		echo "$out" | sed 's/^/# /'
		bail "$1: lighttpd -tt accepts the configuration"
	fi
	lighttpd -D -f "$L/lighttpd.conf" > "$L/logs/stdout.log" 2>&1 &
	LIGHTTPD_PID=$!
	track $LIGHTTPD_PID
	wait_port "$2" 10 || bail "$1: lighttpd listens on 127.0.0.1:$2"
	ERRLOG=$L/logs/error.log
	WH_URL=http://127.0.0.1:$2/webhook
}

# start_spawn_fcgi NAME INI [N]: N webhook.fcgi processes from spawn-fcgi
# on the unix socket $BASE/NAME/run/spawn.sock (the recipe in the comment
# of lighttpd-payguard.conf).  Sets SPAWN_SOCK, SPAWN_PIDS.
start_spawn_fcgi() {
	local d=$BASE/$1 p
	mkdir -p "$d/run" "$d/logs"
	chown $WWW:$WWW "$d/run"
	SPAWN_SOCK=$d/run/spawn.sock
	env -i PATH=/usr/bin:/bin PAYGUARD_STATE_DIR="$STATE" PAYGUARD_CONFIG="$2" \
	    spawn-fcgi -s "$SPAWN_SOCK" -M 0660 -U $WWW -G $WWW_GROUP -u $WWW -g $WWW_GROUP \
	    -F "${3:-2}" -P "$d/run/spawn.pid" -- "$BIN/webhook.fcgi" \
	    > "$d/logs/spawn.log" 2>&1 || bail "$1: spawn-fcgi starts webhook.fcgi"
	# spawn-fcgi writes one pid per line without a final newline.
	SPAWN_PIDS=$(cat "$d/run/spawn.pid"; echo)
	for p in $SPAWN_PIDS; do track "$p"; done
}
# start_lighttpd_ext NAME PORT SOCKET: lighttpd connecting to an external
# FastCGI socket (spawn-fcgi), no bin-path.
start_lighttpd_ext() {
	_lighttpd_base "$1" "$2"
	cat >> "$L/lighttpd.conf" <<EOF
server.modules      += ( "mod_fastcgi", "mod_accesslog" )
accesslog.filename   = "$L/logs/access.log"
fastcgi.server += ( "/webhook" => ((
    "socket" => "$3", "check-local" => "disable" )))
EOF
	_lighttpd_run "$1" "$2"
}

# start_fcgi_sock NAME SOCK N PROG [ARGS...]: spawn-fcgi starting N copies
# of PROG (as www-data, socket www-data 0660) on SOCK, with the
# environment in ${FCGI_ENV[@]}; the pids are tracked.  N=0: no fork (-n),
# spawn-fcgi execs PROG, whose pid is then tracked (fcgiwrap: run it
# without -c, a single process, so stopping it by pid leaves nothing).
start_fcgi_sock() {
	local name=$1 sock=$2 n=$3 prog=$4 p pidf; shift 4
	pidf=${sock%.sock}.pid
	rm -f "$sock"	# fcgiwrap will not start on a stale socket (gotcha 24)
	if [ "$n" = 0 ]; then
		env -i PATH=/usr/bin:/bin "${FCGI_ENV[@]}" \
		    spawn-fcgi -n -s "$sock" -M 0660 -U $WWW -G $WWW_GROUP -u $WWW -g $WWW_GROUP \
		    -- "$prog" "$@" > "$BASE/$name.log" 2>&1 &
		track $!
		p=100
		while [ ! -S "$sock" ] && [ $p -gt 0 ]; do sleep 0.05; p=$((p - 1)); done
		[ -S "$sock" ] || bail "$name: spawn-fcgi -n starts $prog"
		return 0
	fi
	env -i PATH=/usr/bin:/bin "${FCGI_ENV[@]}" \
	    spawn-fcgi -s "$sock" -M 0660 -U $WWW -G $WWW_GROUP -u $WWW -g $WWW_GROUP \
	    -F "$n" -P "$pidf" -- "$prog" "$@" > "$BASE/$name.log" 2>&1 ||
	    bail "$name: spawn-fcgi starts $prog"
	for p in $(cat "$pidf"; echo); do track "$p"; done
}

# nginx_dirs NAME: $N = $BASE/NAME with run/ (www-data: the sockets),
# logs/, tmp/ and etc/ (payguard.ini, audit.htpasswd)
nginx_dirs() {
	N=$BASE/$1
	mkdir -p "$N/run" "$N/logs" "$N/tmp" "$N/etc"
	chown $WWW:$WWW "$N/run"
	chmod 0755 "$N" "$N/etc"
}
# start_nginx NAME PORT: nginx (foreground, master root, workers www-data)
# with one server on 127.0.0.1:PORT that includes the shipped
# apache-conf/nginx-payguard.conf as is, with only its paths replaced:
# /run/payguard/ -> $N/run/, the cgi-bin -> $BIN/, /etc/payguard/ -> $N/etc/.
# Start webhook.sock, api.sock, fcgiwrap.sock in $N/run first.  Sets
# NGINX_PID, ERRLOG, WH_URL, API_URL, AUDIT_URL.
start_nginx() {
	local out
	[ -n "${N:-}" ] || bail "$1: nginx_dirs first"
	sed -e "s|/run/payguard/|$N/run/|g" \
	    -e "s|/usr/local/lib/payguard/cgi-bin/|$BIN/|g" \
	    -e "s|/etc/payguard/|$N/etc/|g" \
	    "$SRC/apache-conf/nginx-payguard.conf" > "$N/payguard-site.conf"
	# Every path of the shipped file was one of the three above.
	if grep -vE '^[[:space:]]*#' "$N/payguard-site.conf" | grep -qE '/run/payguard/|/etc/payguard/|/usr/local/'; then
		bail "$1: nginx-payguard.conf uses only the documented paths"
	fi
	cat > "$N/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid run/nginx.pid;
error_log logs/error.log warn;
user $WWW;
events { worker_connections 64; }
http {
    access_log logs/access.log;
    client_body_temp_path tmp/body;
    fastcgi_temp_path tmp/fastcgi;
    proxy_temp_path tmp/proxy;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    server {
        listen 127.0.0.1:$2;
        include $N/payguard-site.conf;
    }
}
EOF
	if ! out=$(nginx -t -p "$N" -c "$N/nginx.conf" 2>&1); then
		echo "$out" | sed 's/^/# /'
		bail "$1: nginx -t accepts the configuration"
	fi
	nginx -p "$N" -c "$N/nginx.conf" > "$N/logs/stdout.log" 2>&1 &
	NGINX_PID=$!
	track $NGINX_PID
	wait_port "$2" 10 || bail "$1: nginx listens on 127.0.0.1:$2"
	ERRLOG=$N/logs/error.log
	WH_URL=http://127.0.0.1:$2/webhook
	API_URL=http://127.0.0.1:$2/api
	AUDIT_URL=http://127.0.0.1:$2/audit
}
