#!/bin/bash
# Idempotency and identity (issue 9), as plain CGI against the fake
# upstream: a POST's query string is part of the idempotency fingerprint;
# a web user (REMOTE_USER), a token of the same name and a token
# re-created under a revoked token's name share neither idempotency
# records nor rate windows; IPv6 clients are rate-limited per /64
# (PAYGUARD_IPV6_PREFIX), so rotating addresses inside it does not help.
# Environment: O, SRC, PY (tests/run-e2e.sh).  Port 19841.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/api_lib.sh"

need_ports 19841
api_setup
start_fake 19841
TW=$(token writer write)
AW="HTTP_AUTHORIZATION=Bearer $TW"

# 1. The query string of a POST is fingerprinted.
fake_mark
api_cgi POST '/v1/customers?expand%5B%5D=sources' "$(form 'email=q%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=id-q1
is "$RS" 200 "POST with a query string and a key: 200"
api_cgi POST '/v1/customers?expand%5B%5D=sources' "$(form 'email=q%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=id-q1
is "$RS $(hdr Idempotent-Replayed)" "200 true" "same key, same query and body: replayed"
api_cgi POST '/v1/customers?expand%5B%5D=tax' "$(form 'email=q%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=id-q1
is "$RS $(jb .error.type)" "400 idempotency_error" "same key, other query string: 400 idempotency_error"
api_cgi POST '/v1/customers' "$(form 'email=q%40example.com')" "$AW" HTTP_IDEMPOTENCY_KEY=id-q1
is "$RS $(jb .error.type)" "400 idempotency_error" "same key, query string dropped: 400 idempotency_error"
is "$(fake_new)" 1 "one upstream call for the key"

# 2. A web user and a token named like it are different identities.
TSHOP=$(token shop write)
RU=(REMOTE_USER=shop PAYGUARD_TRUST_REMOTE_USER=1)
api_cgi POST /v1/customers "$(form 'email=shop%40example.com')" "${RU[@]}" HTTP_IDEMPOTENCY_KEY=id-shop
is "$RS" 200 "web user shop: 200"
fake_mark
api_cgi POST /v1/customers "$(form 'email=shop%40example.com')" "HTTP_AUTHORIZATION=Bearer $TSHOP" \
    PAYGUARD_TRUST_REMOTE_USER=1 HTTP_IDEMPOTENCY_KEY=id-shop
is "$RS $(hdr Idempotent-Replayed)" "200 " "token named shop, same key: not the web user's replay"
is "$(fake_new)" 1 "token named shop: its own upstream call"

# 3. A token re-created under a revoked token's name starts afresh.
TRE=$(token recycled write)
api_cgi POST /v1/customers "$(form 'email=old%40example.com')" "HTTP_AUTHORIZATION=Bearer $TRE" HTTP_IDEMPOTENCY_KEY=id-re
is "$RS" 200 "first token 'recycled': 200"
pgcli token revoke recycled > /dev/null
TRE2=$(token recycled write)
check "a new token under the revoked name" test -n "$TRE2"
fake_mark
api_cgi POST /v1/customers "$(form 'email=old%40example.com')" "HTTP_AUTHORIZATION=Bearer $TRE2" HTTP_IDEMPOTENCY_KEY=id-re
is "$RS $(hdr Idempotent-Replayed)" "200 " "the new token does not replay the revoked one's stored response"
is "$(fake_new)" 1 "the new token: its own upstream call"

# 4. Rate windows: the web user's exhausted window is not the token's.
LIM=(PAYGUARD_RATE_LIMITS="customer=2,default=100000")
api_cgi GET /v1/customers - REMOTE_USER=rl PAYGUARD_TRUST_REMOTE_USER=1 "${LIM[@]}"
api_cgi GET /v1/customers - REMOTE_USER=rl PAYGUARD_TRUST_REMOTE_USER=1 "${LIM[@]}"
api_cgi GET /v1/customers - REMOTE_USER=rl PAYGUARD_TRUST_REMOTE_USER=1 "${LIM[@]}"
is "$RS" 429 "web user rl: the third request in the window is refused"
TRL=$(token rl write)
api_cgi GET /v1/customers - "HTTP_AUTHORIZATION=Bearer $TRL" PAYGUARD_TRUST_REMOTE_USER=1 "${LIM[@]}"
is "$RS" 200 "token named rl: its own window"

# 5. IPv6: one /64 is one client for the rate limiter.
CGI_PROG=$BIN/webhook.fcgi
CGI_ENV=(PAYGUARD_STATE_DIR="$STATE" STRIPE_WEBHOOK_SECRET="$SECRET"
    STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1 PAYGUARD_RATE_LIMITS=webhook=3)
cp "$O/webhook.fcgi" "$BIN/" 2>/dev/null; chmod 0755 "$BIN/webhook.fcgi"
for i in 1 2 3; do
	newev; cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" REMOTE_ADDR=2001:db8:77:1::$i
done
is "$RS" 403 "IPv6 clients in one /64, not allowlisted: 403 until the limit"
newev; cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" REMOTE_ADDR=2001:db8:77:1:ffff::9
is "$RS" 429 "a fourth address in the same /64 is rate-limited"
newev; cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" REMOTE_ADDR=2001:db8:77:2::1
is "$RS" 403 "another /64 has its own window"
newev; cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" REMOTE_ADDR=2001:db8:77:2::2 PAYGUARD_IPV6_PREFIX=128
is "$RS" 403 "PAYGUARD_IPV6_PREFIX=128 keys the full address"

finish
