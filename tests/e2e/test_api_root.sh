#!/bin/bash
# The API gateway mounted at a host's root (issue 12): the shipped
# apache-conf/payguard-api-root.conf under Apache + mod_fcgid (next to
# payguard-fcgid.conf) and apache-conf/lighttpd-payguard-api-root.conf
# under lighttpd, both included as is, serving /v1/... and /v2/... with
# the Stripe path as PATH_INFO; Debian's python3-stripe pointed at the
# bare host; nothing else on the host reaches the gateway.
# Ports 19872-19874.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/api_lib.sh"

need_ports 19872 19874
api_setup
# (The INI reader takes lines up to 200 bytes: a short rate-limit list.)
API_CONF+=(PAYGUARD_API_ROUTES="customers=customer,v2/core/accounts=account"
    PAYGUARD_RATE_LIMITS="customer=100000,account=100000,default=100000")
start_fake 19872
INI=$BASE/api.ini
write_ini "$INI" "${API_CONF[@]}"
T=$(token rootmount write)
AUTH="Authorization: Bearer $T"

# Apache: payguard-fcgid.conf at server level, the root snippet after it.
_apache_head apache_root 19873
cat >> "$R/httpd.conf" <<EOF
FcgidMaxProcessesPerClass 4
Define PAYGUARD_HOME $BIN
Define PAYGUARD_STATE_DIR $STATE
Define PAYGUARD_CONFIG $INI
Include $SRC/apache-conf/payguard-fcgid.conf
Include $SRC/apache-conf/payguard-api-root.conf
EOF
_apache_run apache_root 19873
APACHE_ERR=$ERRLOG

start_lighttpd_root lighttpd_root 19874 "$INI" 1

for srv in apache:19873 lighttpd:19874; do
	name=${srv%%:*} port=${srv#*:}
	U=http://127.0.0.1:$port
	fake_mark
	http POST "$U/v1/customers?expand[]=tax" -H "$AUTH" --data-urlencode "email=root-$name@example.com"
	is "$RS/$(jb .object)" "200/customer" "$name root mount: POST /v1/customers"
	CUS=$(jb .id)
	is "$(fake_since 'true' '[.[] | .method + " " + .path + "?" + .query]')" '["POST /v1/customers?expand%5B%5D=tax"]' \
	    "$name root mount: Stripe saw the same path and query"
	http GET "$U/v1/customers/$CUS" -H "$AUTH"
	is "$RS/$(jb .id)" "200/$CUS" "$name root mount: GET /v1/customers/ID"
	api_headers "$name root mount"
	http GET "$U/v1/customers?limit=1" -H "$AUTH"
	is "$RS/$(jb '.data | length')" "200/1" "$name root mount: the query string arrives"
	http GET "$U/v2/core/accounts" -H "$AUTH"
	is "$RS/$(jb 'has("data")')" "200/true" "$name root mount: GET /v2/core/accounts"
	http GET "$U/v1/charges" -H "$AUTH"
	is "$RS/$(jb .error.code)" "404/route_not_allowed" "$name root mount: the gateway's allowlist still applies"
	fake_mark
	# The server's own 403/404 (no Stripe-shaped body), nothing upstream.
	http GET "$U/v3/customers" -H "$AUTH"
	check "$name root mount: /v3 is not the gateway's ($RS)" bash -c '[[ "$1" =~ ^40[34]$ && ( "$2" == none || -z "$2" ) && "$3" == 0 ]]' _ "$RS" "$(jb '.error.type // "none"')" "$(fake_new)"
	http GET "$U/v1x/customers" -H "$AUTH"
	check "$name root mount: /v1x is not the gateway's ($RS)" bash -c '[[ "$1" =~ ^40[34]$ && ( "$2" == none || -z "$2" ) && "$3" == 0 ]]' _ "$RS" "$(jb '.error.type // "none"')" "$(fake_new)"
	# Debian's python3-stripe (5.0) with the bare host as api_base.
	out=$(env -i PATH=/usr/bin:/bin "$PY" - "$U" "$T" 2>&1 <<'PYEOF'
import sys, stripe
stripe.api_base, stripe.api_key = sys.argv[1], sys.argv[2]
c = stripe.Customer.create(email="py-root@example.com", idempotency_key="root-" + sys.argv[1][-5:])
r = stripe.Customer.retrieve(c.id)
print("ok" if r.id == c.id and r.email == "py-root@example.com" else "mismatch")
PYEOF
)
	is "$out" ok "$name root mount: python3-stripe with api_base = the bare host"
done
check "Apache logged no error for the root mount" bash -c '! grep -E ":error\]|refusing" "$1" | grep -v "AH01630: .*htdocs/v[13]" | grep -q .' _ "$APACHE_ERR"
secret_scan "root mount: the Stripe key is in no log or audit record" "$AUDIT" "$LOGS"/*.log "$BASE"/apache_root/logs/*.log "$BASE"/lighttpd_root/logs/*.log
finish
