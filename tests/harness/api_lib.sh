# tests/harness/api_lib.sh - sourced (bash) by tests/e2e/test_api_*.sh
# after tests/harness/lib.sh.  Helpers for the Stripe API gateway
# (api.fcgi, issue 4):
#
#   api_setup            pg_setup + $BIN/api.fcgi, a random Stripe test key
#                        ($SK), the pinned version ($SV), the cleanup trap
#                        (also reports stray api.fcgi processes)
#   start_fake PORT      tests/fake_stripe.py on 127.0.0.1:PORT ($FAKE,
#                        its log $FAKE_LOG; more arguments in $FAKE_ARGS);
#                        stopped by pid at exit
#   fake_fault JSON      queue injected responses (POST /__fault)
#   fake_clear_faults    DELETE /__fault (forget queued faults)
#   fake_reset           POST /__reset
#   fake_log             the fake's recorded requests -> $BASE/fake.json
#   fake_n [JQ-FILTER]   how many recorded requests match (select(...))
#   api_env              the gateway's configuration -> CGI_ENV
#   api_cgi METHOD PATH [BODYFILE|-] [NAME=VALUE ...]: api.fcgi as plain
#                        CGI (PATH_INFO=PATH, query after '?'); RS/RH/RB
#   token NAME SCOPE [OPS]: payguard token create, the token on stdout
#   start_apache_api NAME PORT [MAXPROCS]: Apache + mod_fcgid, api.fcgi at
#                        /api (PATH_INFO carries /v1/...); API_URL
#   start_lighttpd_api NAME PORT [PROCS]: lighttpd bin-path, API_URL
#   api_headers DESC     security + rate-limit headers on the last response
#   api_error ST TYPE CODE DESC: status and Stripe-shaped error envelope
#   audit_since N FILTER some audit record after line N matches FILTER
#   secret_scan DESC FILE...: $SK (and $EXTRA_SECRETS) in none of FILEs
#
# Configuration of the gateway: the array API_CONF (NAME=VALUE), turned
# into CGI_ENV (plain CGI) or FcgidInitialEnv / bin-environment lines.

SV=2024-06-20

api_cleanup() {
	local rc=$? p
	if [ -n "${BIN:-}" ] && [ -x "$BIN/api.fcgi" ]; then
		# Our servers are gone first: stop them, then look for strays.
		for p in $PG_PIDS; do stop_pid "$p" TERM 15; done
		for p in $(pids_of_exe "$BIN/api.fcgi"); do
			echo "not ok - no stray api.fcgi left (pid $p)"
			T_FAIL=$((T_FAIL + 1))
			kill -KILL "$p" 2>/dev/null
			rc=1
		done
	fi
	(exit $rc)
	pg_cleanup
}

api_setup() {
	[ -x "$O/api.fcgi" ] || bail "$O/api.fcgi is built"
	pg_setup
	trap api_cleanup EXIT
	cp "$O/api.fcgi" "$BIN/"
	chmod 0755 "$BIN/api.fcgi"
	SK="sk_test_51Pg$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	AUDIT=$STATE/logs/security_audit.log
	API_CONF=(
	    STRIPE_SECRET_KEY="$SK"
	    STRIPE_API_VERSION="$SV"
	    PAYGUARD_STATE_DIR="$STATE"
	    PAYGUARD_RATE_LIMITS="customer=100000,subscription=100000,payment_intent=100000,setup_intent=100000,refund=100000,checkout=100000,billing_portal=100000,invoice=100000,price=100000,product=100000,event=100000,default=100000"
	)
	CGI_PROG=$BIN/api.fcgi
}

# ------------------------------------------------------------ fake upstream
start_fake() {
	local port=$1 i
	FAKE=http://127.0.0.1:$port
	FAKE_LOG=$BASE/fake-$port.log
	"$PY" "$SRC/tests/fake_stripe.py" --port "$port" --key "$SK" \
	    --version "$SV" --log "$FAKE_LOG" ${FAKE_ARGS:-} > "$BASE/fake-$port.out" 2>&1 &
	FAKE_PID=$!
	track $FAKE_PID
	for i in $(seq 100); do
		grep -q '^ready' "$BASE/fake-$port.out" 2>/dev/null && break
		sleep 0.05
	done
	grep -q '^ready' "$BASE/fake-$port.out" || bail "fake Stripe upstream listens on :$port"
	API_CONF+=(STRIPE_API_BASE="$FAKE")
}
fake_fault() {
	curl -sS -f --max-time 5 -X POST -H 'Content-Type: application/json' \
	    --data-binary "$1" "$FAKE/__fault" > /dev/null 2>>"$LOGS/curl.log" ||
	    not_ok "fake accepts the fault $1"
}
fake_clear_faults() { curl -sS -f --max-time 5 -X DELETE "$FAKE/__fault" > /dev/null 2>>"$LOGS/curl.log"; }
fake_reset() { curl -sS -f --max-time 5 -X POST "$FAKE/__reset" > /dev/null 2>>"$LOGS/curl.log"; }
fake_log() { curl -sS -f --max-time 10 "$FAKE/__log" > "$BASE/fake.json" 2>>"$LOGS/curl.log" || echo '[]' > "$BASE/fake.json"; }
# fake_n [FILTER]: number of recorded requests for which FILTER is true
# (fetches the log first)
fake_n() { fake_log; jq "[.[] | select(${1:-true})] | length" "$BASE/fake.json"; }
# fake_mark: remember how many requests the fake has seen; fake_new
# [FILTER] counts those after the mark
fake_mark() { FAKE_MARK=$(fake_n); }
fake_new() { fake_log; jq "[.[${FAKE_MARK:-0}:][] | select(${1:-true})] | length" "$BASE/fake.json"; }
# fake_since FILTER JQ: JQ over the array of the matching requests since the mark
fake_since() { fake_log; jq -c "[.[${FAKE_MARK:-0}:][] | select($1)] | $2" "$BASE/fake.json"; }

# ------------------------------------------------------------ plain CGI
api_env() { CGI_ENV=("${API_CONF[@]}"); }
# api_cgi METHOD PATH[?QUERY] [BODYFILE|-] [NAME=VALUE | -NAME ...]
# Request headers as HTTP_* values, e.g. HTTP_AUTHORIZATION="Bearer $T".
api_cgi() {
	local m=$1 p=$2 b=${3:--} q=""
	shift 2; [ $# -gt 0 ] && shift
	case "$p" in *\?*) q=${p#*\?}; p=${p%%\?*} ;; esac
	api_env
	local ct=application/x-www-form-urlencoded
	[ "$b" = - ] && ct=
	cgi_run "$m" "$b" SCRIPT_NAME=/api PATH_INFO="$p" REQUEST_URI="/api$p${q:+?$q}" \
	    QUERY_STRING="$q" CONTENT_TYPE="$ct" HTTP_USER_AGENT="payguard-e2e/1.0" \
	    SERVER_PORT=443 HTTPS=on "$@"
	cat "$RB" >> "$BASE/responses.all"
	cat "$RH" >> "$BASE/responses.all"
}
# form STRING: a body file holding STRING (no newline); path on stdout
FORM_N=0
form() {
	FORM_N=$((FORM_N + 1))
	printf '%s' "$1" > "$BASE/form.$FORM_N"
	echo "$BASE/form.$FORM_N"
}

# ------------------------------------------------------------ tokens
token() {
	local t
	t=$(pgcli token create --name "$1" --scope "$2" ${3:+--ops "$3"})
	echo "$t" >> "$BASE/tokens"
	echo "$t"
}

# ------------------------------------------------------------ servers
# Gateway configuration as FcgidInitialEnv lines
_fcgid_env() {
	local kv
	for kv in "${API_CONF[@]}" "$@"; do
		echo "FcgidInitialEnv ${kv%%=*} \"${kv#*=}\""
	done
}
start_apache_api() {
	_apache_head "$1" "$2"
	cat >> "$R/httpd.conf" <<EOF
FcgidMaxProcessesPerClass ${3:-24}
FcgidMaxRequestLen 1048576
FcgidIOTimeout 120
FcgidSpawnScoreUpLimit 256
FcgidPassHeader Authorization
$(_fcgid_env)
# empty; allowed so that the PATH_TRANSLATED lookup of /v1/... logs no AH01630
<Directory "$R/htdocs">
    Require all granted
</Directory>
Alias /api $BIN/api.fcgi
<Directory "$BIN">
    <FilesMatch "\.fcgi\$">
        SetHandler fcgid-script
        Options +ExecCGI
        AcceptPathInfo On
        Require all granted
    </FilesMatch>
</Directory>
EOF
	_apache_run "$1" "$2"
	API_URL=http://127.0.0.1:$2/api
}
start_lighttpd_api() {
	local kv env=""
	_lighttpd_base "$1" "$2"
	for kv in "${API_CONF[@]}"; do env="$env        \"${kv%%=*}\" => \"${kv#*=}\",
"; done
	cat >> "$L/lighttpd.conf" <<EOF
server.max-keep-alive-requests = 100000
server.modules      += ( "mod_fastcgi" )
fastcgi.server += ( "/api" => ((
    "socket"          => "$L/run/api.sock",
    "bin-path"        => "$BIN/api.fcgi",
    "check-local"     => "disable",
    "max-procs"       => ${3:-2},
    "bin-environment" => (
$env    ),
    "bin-copy-environment" => ( "PATH" ),
)))
EOF
	_lighttpd_run "$1" "$2"
	API_URL=http://127.0.0.1:$2/api
}

# ------------------------------------------------------------ assertions
# api_headers DESC: the security headers and the rate-limit headers
api_headers() {
	local d=$1 bad="" v
	[ "$(hdr X-Content-Type-Options)" = nosniff ] || bad="$bad X-Content-Type-Options"
	hdr Strict-Transport-Security | grep -q '^max-age=[0-9]' || bad="$bad Strict-Transport-Security"
	hdr Content-Security-Policy | grep -q "default-src 'none'" || bad="$bad Content-Security-Policy"
	[ "$(hdr X-Frame-Options)" = DENY ] || bad="$bad X-Frame-Options"
	[ "$(hdr Referrer-Policy)" = no-referrer ] || bad="$bad Referrer-Policy"
	hdr Cache-Control | grep -q no-store || bad="$bad Cache-Control"
	hdr Content-Type | grep -Eq '^application/json( *;.*)?$' || bad="$bad Content-Type"
	hdr X-RateLimit-Limit | grep -Eq '^[0-9]+$' || bad="$bad X-RateLimit-Limit"
	hdr X-RateLimit-Remaining | grep -Eq '^[0-9]+$' || bad="$bad X-RateLimit-Remaining"
	v=$(hdr X-RateLimit-Reset)
	echo "$v" | grep -Eq '^[0-9]+$' || bad="$bad X-RateLimit-Reset($v)"
	hdr RateLimit-Policy | grep -Eq '^"?[A-Za-z0-9_.-]+"?;q=[0-9]+;w=[0-9]+' || bad="$bad RateLimit-Policy($(hdr RateLimit-Policy))"
	hdr RateLimit | grep -Eq '^"?[A-Za-z0-9_.-]+"?;r=[0-9]+;t=[0-9]+' || bad="$bad RateLimit($(hdr RateLimit))"
	if [ -z "$bad" ]; then ok "$d: security and rate-limit headers"
	else not_ok "$d: security and rate-limit headers (wrong/missing:$bad)"; fi
}
# api_error STATUS TYPE CODE DESC (CODE "-" = no code required)
api_error() {
	local got
	got="$RS $(jb '.error.type // "-"') $(jb '.error.code // "-"') $(jb '.error.message | type')"
	if [ "$3" = "-" ]; then got="$RS $(jb '.error.type // "-"') - $(jb '.error.message | type')"; fi
	is "$got" "$1 $2 $3 string" "$4: $1 $2 $3"
}
# secret_scan DESC FILE...: the Stripe secret key (and EXTRA_SECRETS) in none
secret_scan() {
	local d=$1 f s hit=""; shift
	for f in "$@"; do
		[ -f "$f" ] || continue
		for s in "$SK" ${EXTRA_SECRETS:-}; do
			grep -qaF -- "$s" "$f" && hit="$hit ${f#$BASE/}"
		done
	done
	if [ -z "$hit" ]; then ok "$d"; else not_ok "$d (found in:$hit)"; fi
}
# jqc FILTER FILE: jq -e, quietly (for check)
jqc() { jq -e "$@" >/dev/null 2>&1; }
# audit_since N FILTER: some audit record after line N matches the jq FILTER
audit_since() {
	[ -f "$AUDIT" ] || return 1
	tail -n +$(($1 + 1)) "$AUDIT" | jq -s -e "any(.[]; $2)" >/dev/null 2>&1
}
# audit_last TYPE: the last audit record of event_type TYPE (compact JSON)
audit_last() {
	[ -f "$AUDIT" ] || { echo '{}'; return; }
	jq -c --arg t "$1" 'select(.event_type == $t)' "$AUDIT" 2>/dev/null | tail -n 1
}
