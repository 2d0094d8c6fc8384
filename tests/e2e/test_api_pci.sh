#!/bin/bash
# Card data outside the body and screen bypasses (issue 9), api.fcgi as
# plain CGI against the fake upstream: a PAN in the URL path or the query
# string is refused before anything leaves and recorded as data_exposure;
# one in a header is recorded as data_exposure and masked wherever it is
# written; the separator rule (dots, slashes, tabs, several spaces, NBSP,
# en/em dashes); card-data field names refused whatever their value; a
# forged Fernet-looking value is not exempt; the data_exposure alert
# fires; no PAN reaches the audit log, the error log or the upstream.
# Environment: O, SRC, PY (tests/run-e2e.sh).  Port 19840.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/api_lib.sh"

need_ports 19840
api_setup
start_fake 19840
TW=$(token pci write)
AW="HTTP_AUTHORIZATION=Bearer $TW"

# refused DESC METHOD PATH BODY|- [CONTENT_TYPE]: 400 pci_raw_card_data,
# nothing upstream
refused() {
	local d=$1
	fake_mark
	if [ "$4" = - ]; then api_cgi "$2" "$3" - "$AW"
	else api_cgi "$2" "$3" "$(form "$4")" "$AW" ${5:+CONTENT_TYPE=$5}; fi
	api_error 400 invalid_request_error pci_raw_card_data "$d"
	is "$(fake_new)" 0 "$d: never reaches the upstream"
}
# passed DESC METHOD PATH BODY: proxied (200)
passed() {
	fake_mark
	api_cgi "$2" "$3" "$(form "$4")" "$AW"
	is "$RS $(fake_new)" "200 1" "$1: proxied"
}

# 1. The URL: path and query string.
n=$(audit_n)
refused "PAN in the path" GET /v1/customers/4242424242424242 -
check "PAN in the path: audit data_exposure HIGH (where url)" \
    audit_since $n '.event_type == "data_exposure" and .severity == "HIGH" and .details.where == "url"'
check "PAN in the path: the refusal is a pci_compliance_violation too" \
    audit_since $n '.event_type == "pci_compliance_violation"'
check "PAN in the path: the record's resource is masked" \
    audit_since $n '.event_type == "data_exposure" and (.resource | test("\\*{12}4242"))'
refused "dotted PAN in the path" GET /v1/customers/4242.4242.4242.4242 -
n=$(audit_n)
refused "PAN in a POST query string" POST '/v1/customers?metadata%5Bx%5D=5555-5555-5555-4444' 'email=a%40b.c'
check "PAN in the query string: audit data_exposure" \
    audit_since $n '.event_type == "data_exposure" and .details.where == "url"'

# 2. A header: recorded, masked, not refused (nothing of it leaves).
n=$(audit_n)
fake_mark
api_cgi POST /v1/customers "$(form 'email=ua%40example.com')" "$AW" \
    HTTP_USER_AGENT="curl/8 card 4111 1111 1111 1111" HTTP_X_NOTE="ref 6011-1111-1111-1117"
is "$RS" 200 "PAN in headers: the request itself is served"
check "PAN in a header: audit data_exposure HIGH naming the header" \
    audit_since $n '.event_type == "data_exposure" and .severity == "HIGH" and .details.where == "header"'
check "PAN in the User-Agent: masked in every record's user_agent" \
    bash -c "tail -n +$((n + 1)) '$AUDIT' | jq -e -s 'all(.[]; .user_agent | test(\"\\\\*{12}1111\"))' >/dev/null"

# 3. The separator rule, in the body.
refused "PAN with dots" POST /v1/customers 'metadata[n]=4242.4242.4242.4242'
refused "PAN with slashes" POST /v1/customers 'metadata[n]=4242/4242/4242/4242'
refused "PAN with tabs" POST /v1/customers 'metadata[n]=4242%094242%094242%094242'
refused "PAN with several spaces" POST /v1/customers 'metadata[n]=4242++4242+++4242++4242'
refused "PAN with NBSP" POST /v1/customers 'metadata[n]=4242%C2%A04242%C2%A04242%C2%A04242'
refused "PAN with en dashes" POST /v1/customers 'metadata[n]=4242%E2%80%934242%E2%80%934242%E2%80%934242'
refused "PAN with em dashes in JSON" POST /v1/customers '{"metadata":{"n":"4242\u20144242\u20144242\u20144242"}}' application/json
passed "ordinary text with numbers" POST /v1/customers 'description=Order+1234+of+2024%2F06%2F20%2C+v1.2.3%2C+10.30+EUR%2C+tel.+030+1234+5678'

# 4. Card-data field names, whatever the value.
refused "card[exp_month] alone" POST /v1/customers 'card[exp_month]=12'
is "$(jb .error.param)" "card[exp_month]" "card[exp_month]: param names the field"
refused "card[number] holding no PAN" POST /v1/customers 'card[number]=tok_visa'
refused "source[number]" POST /v1/customers 'source[object]=card&source[number]=x'
refused "payment_method_data[card][cvc]" POST /v1/payment_intents 'amount=100&currency=usd&payment_method_data[card][cvc]=abc'
refused "JSON card.exp_year" POST /v1/customers '{"card":{"exp_year":2030}}' application/json
passed "source as a token id" POST /v1/customers 'source=tok_visa'

# 5. A forged Fernet-looking value with a PAN inside is not exempt; a
# genuine token under payguard's own key is.
FORGED=$("$PY" - <<'EOF'
import base64, os, struct, time
raw = b"\x80" + struct.pack(">Q", int(time.time())) + os.urandom(16 + 16 + 32)
t = base64.urlsafe_b64encode(raw).decode()
# Letters around it: a longer digit run would not be a PAN at all.
print(t[:39] + "x4242424242424242y" + t[57:])
EOF
)
refused "forged Fernet framing hiding a PAN" POST /v1/customers "metadata[n]=$FORGED"
GENUINE=$(printf '4242424242424242' | pgcli encrypt)
check "payguard encrypt made a token" bash -c "echo '$GENUINE' | grep -q '^gAAAAA'"
passed "a token that verifies under the key ring" POST /v1/customers "metadata[n]=$GENUINE"

# 6. The alert fires; no PAN anywhere it must not be.
pgcli alerts > "$BASE/alerts.txt"; rc=$?
is "$rc" 2 "payguard alerts exits 2"
check "the data_exposure alert fired" grep -q 'ALERT data_exposure' "$BASE/alerts.txt"
fake_log
check "no PAN in the audit log, the error log, the responses or upstream" bash -c \
    "! grep -qaE '4242424242424242|4242.4242.4242.4242|5555.5555.5555.4444|4111.1111.1111.1111|6011.1111.1111.1117' '$AUDIT' '$LOGS/cgi.log' '$BASE/responses.all' '$BASE/fake.json'"

finish
