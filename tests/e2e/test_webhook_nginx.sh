#!/bin/bash
# payguard under nginx 1.22 with the shipped apache-conf/nginx-payguard.conf
# (included as is, only its paths moved into the scratch dir):
#   webhook.fcgi and api.fcgi as spawn-fcgi pools on unix sockets,
#   audit.cgi (plain CGI, copied alone: built-in templates) through
#   fcgiwrap behind auth_basic.
# The same request cases as under lighttpd (webhook_server_cases), then
# what is nginx's own: real_ip from a trusted proxy, client_max_body_size,
# REMOTE_USER never taken from a client's Basic header, the gateway and
# the audit page.  Ports 19150 (nginx), 19151 (fake Stripe).
. "$SRC/tests/harness/lib.sh"
. "$SRC/tests/harness/api_lib.sh"
P_NG=19150 P_FAKE=19151
need_ports $P_NG $P_FAKE
api_setup
make_handler
[ -x "$O/audit.cgi" ] || bail "$O/audit.cgi is built"
cp "$O/audit.cgi" "$BIN/" && chmod 0755 "$BIN/audit.cgi"
start_fake $P_FAKE
nginx_dirs ng
INI=$N/etc/payguard.ini
write_ini "$INI" PAYGUARD_STATE_DIR="$STATE" STRIPE_WEBHOOK_SECRET="$SECRET" \
    STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1,::1,198.51.100.20 STRIPE_API_VERSION=2024-06-20 \
    PAYGUARD_WEBHOOK_HANDLER="$HANDLER" PAYGUARD_WEBHOOK_DELIVERY=sync \
    PAYGUARD_RATE_LIMITS=webhook=1000 PAYGUARD_ADMIN_USERS=admin
# The gateway's own file; PAYGUARD_TRUST_REMOTE_USER on, to show that a
# client's Basic header never becomes REMOTE_USER through this config.
# (inih reads lines of up to 200 bytes: API_CONF's long rate-limit list
# is shortened here.)
conf=()
for kv in "${API_CONF[@]}"; do
	case "$kv" in PAYGUARD_RATE_LIMITS=*) kv=PAYGUARD_RATE_LIMITS=customer=100000,default=100000 ;; esac
	conf+=("$kv")
done
write_ini "$N/etc/api.ini" "${conf[@]}" PAYGUARD_TRUST_REMOTE_USER=1
CLI_ENV=(PAYGUARD_STATE_DIR="$STATE" PAYGUARD_CONFIG="$N/etc/api.ini")
HTP=$N/etc/audit.htpasswd
admin_htpasswd "$HTP"

FCGI_ENV=(PAYGUARD_CONFIG="$INI")
start_fcgi_sock webhook "$N/run/webhook.sock" 2 "$BIN/webhook.fcgi"
FCGI_ENV=(PAYGUARD_CONFIG="$N/etc/api.ini")
start_fcgi_sock api "$N/run/api.sock" 1 "$BIN/api.fcgi"
FCGI_ENV=()
start_fcgi_sock fcgiwrap "$N/run/fcgiwrap.sock" 0 /usr/sbin/fcgiwrap -f
start_nginx ng $P_NG
ok "nginx -t accepts nginx-payguard.conf; nginx, 2 webhook.fcgi, api.fcgi and fcgiwrap started"

# -------------------------------------------- the lighttpd suite's cases
webhook_server_cases nginx "$WH_URL" nginx

# ------------------------------------------------------- nginx's own
# real_ip: X-Forwarded-For from the trusted loopback proxy is the client.
newev
post_event "$WH_URL" "$EVF" "$(sign "$EVF")" -H 'X-Forwarded-For: 203.0.113.50, 198.51.100.20'
is "$RS/$(runs "$EV")" "200/1" "real_ip: XFF 198.51.100.20 (allowed) via the trusted proxy -> delivered"
is "$(audit_last webhook_validated | jq -r .source_ip)" 198.51.100.20 "real_ip: the audit record names 198.51.100.20"
n=$(audit_n)
newev
post_event "$WH_URL" "$EVF" "$(sign "$EVF")" -H 'X-Forwarded-For: 203.0.113.9'
expect_error 403 ip_not_allowed "real_ip: XFF 203.0.113.9 (not allowed) -> refused by payguard"
is "$(tail -n +$((n + 1)) "$AUDIT" | jq -r 'select(.event_type == "webhook_invalid_ip") | .source_ip' | tail -1)" 203.0.113.9 \
    "real_ip: the refusal is audited with the real client 203.0.113.9"
# client_max_body_size 1m: above payguard's 512 KiB (answered by payguard
# above), below 2 MB (nginx stops it; payguard never sees it).
n=$(audit_n)
head -c 2000000 /dev/zero | tr '\0' x > "$BASE/huge2.json"
post_event "$WH_URL" "$BASE/huge2.json" "$(badsig)"
is "$RS/$(audit_n)" "413/$n" "client_max_body_size: a 2 MB body is refused by nginx (413), nothing reaches payguard"

# ---------------------------------------------------------- the gateway
TW=$(token alice write)
fake_mark
http GET "$API_URL/v1/customers?limit=3" -H "Authorization: Bearer $TW"
is "$RS" 200 "gateway: GET /api/v1/customers?limit=3 through nginx"
api_headers "gateway 200"
is "$(fake_since '.path == "/v1/customers"' 'length')" 1 "gateway: one upstream call to /v1/customers (PATH_INFO split)"
http POST "$API_URL/v1/customers" -H "Authorization: Bearer $TW" -H 'Idempotency-Key: ng-1' --data 'email=ng%40example.com'
is "$RS/$(jb .object)" "200/customer" "gateway: POST a customer (Authorization and Idempotency-Key passed)"
c1=$(jb .id)
http POST "$API_URL/v1/customers" -H "Authorization: Bearer $TW" -H 'Idempotency-Key: ng-1' --data 'email=ng%40example.com'
is "$RS/$(jb .id)" "200/$c1" "gateway: the retry with the same Idempotency-Key replays the same customer"
http GET "$API_URL/v1/customers"
api_error 401 authentication_error - "gateway: no credentials"
# nginx turns any Basic header into REMOTE_USER; the snippet blanks it, so
# even with PAYGUARD_TRUST_REMOTE_USER=1 a client cannot claim a user.
http GET "$API_URL/v1/customers" -u alice:whatever
api_error 401 authentication_error - "gateway: a client's Basic header is not a trusted REMOTE_USER"

# ------------------------------------------------- the audit page (fcgiwrap)
http GET "$AUDIT_URL"
is "$RS/$(hdr WWW-Authenticate)" '401/Basic realm="payguard audit"' "audit page: Basic auth required"
http GET "$AUDIT_URL" -u eve:eve-pw
is "$RS" 403 "audit page: a valid password but not in PAYGUARD_ADMIN_USERS -> 403"
http GET "$AUDIT_URL" -u admin:adm1n-pw
is "$RS/$(hdr Content-Type | cut -d';' -f1)" "200/text/html" "audit page: admin -> 200 text/html through fcgiwrap"
check "audit page: renders the events (built-in templates, audit.cgi copied alone)" \
    grep -q 'webhook_invalid_ip' "$RB"
http GET "$AUDIT_URL?asset=css" -u admin:adm1n-pw
is "$RS/$(hdr Content-Type | cut -d';' -f1)" "200/text/css" "audit page: the stylesheet"

# ------------------------------------------------------------ shutdown
stop_pid $NGINX_PID TERM 10
for p in $PG_PIDS; do [ "$p" = "$FAKE_PID" ] || stop_pid "$p" TERM 5; done
check "every webhook.fcgi / api.fcgi / fcgiwrap stopped by pid" \
    test -z "$(pids_of_exe "$BIN/webhook.fcgi")$(pids_of_exe "$BIN/api.fcgi")$(pids_of_exe /usr/sbin/fcgiwrap | while read p; do [ "$(stat -c %U /proc/$p 2>/dev/null)" = $WWW ] && grep -qa "$N" /proc/$p/cmdline 2>/dev/null && echo $p; done)"
check "audit log is JSON lines" audit_all_json "$AUDIT"
scan_leaks "nginx" "$AUDIT" "$ERRLOG" "$N/logs/access.log" "$BASE"/*.log "$LOGS/cli.log"
secret_scan "nginx: the Stripe key is in no log" "$AUDIT" "$ERRLOG" "$N/logs/access.log" "$BASE"/*.log
finish
