#!/bin/bash
# payguard ips update against a local HTTP server serving fixtures (good,
# malformed, empty, shrunk, HTML error page, oversized) and a closed port;
# every failure keeps the old list byte for byte, exits non-zero and is
# audited; a success replaces the list atomically, is audited with the
# diff, and a freshly started webhook.fcgi uses it.  Ports 19152 (fixture
# server), 19153 (closed).
. "$SRC/tests/harness/lib.sh"
pg_setup
P_FIX=19152 P_CLOSED=19153
need_ports $P_FIX $P_CLOSED
EMPTY=$BASE/share-empty
FX=$BASE/fixtures
mkdir -p "$EMPTY" "$FX"
LIST=$STATE/stripe-webhook-ips.txt
CLI_ENV=(PAYGUARD_STATE_DIR="$STATE" PAYGUARD_DATA_DIR="$EMPTY")
CGI_ENV=(PAYGUARD_STATE_DIR="$STATE" STRIPE_WEBHOOK_SECRET="$SECRET" PAYGUARD_DATA_DIR="$EMPTY")

# Fixtures: Stripe's shape.  good = the shipped list minus its first entry,
# plus two new ones; shrunk = three entries.
mapfile -t SHIP < <(grep -v '^#' "$SRC/data/stripe-webhook-ips.txt" | grep .)
GONE=${SHIP[0]}
printf '%s\n' "${SHIP[@]:1}" 192.0.2.10 2001:db8:10::/48 | jq -R . | jq -s '{WEBHOOKS: ., API: ["1.1.1.1"]}' > "$FX/good.json"
printf '{"WEBHOOKS": ["%s", "%s", "%s"]}\n' "${SHIP[1]}" "${SHIP[2]}" "${SHIP[3]}" > "$FX/shrunk.json"
printf '{"WEBHOOKS": []}\n' > "$FX/empty.json"
printf '{"WEBHOOKS": ["3.18.12.63", "3.130.192.300"]}\n' > "$FX/badentry.json"
printf '{"WEBHOOKS": ["3.18.12.63",' > "$FX/malformed.json"
printf '<html><body>Service Unavailable</body></html>\n' > "$FX/error.html"
head -c 1100000 /dev/zero | tr '\0' ' ' > "$FX/huge.json"
chmod -R a+rX "$FX"
(cd "$FX" && exec "$PY" -m http.server $P_FIX --bind 127.0.0.1) > "$LOGS/fixtures.log" 2>&1 &
track $!
wait_port $P_FIX 10 || bail "fixture server listens on :$P_FIX"
U=http://127.0.0.1:$P_FIX

pgcli ips show > "$BASE/show.txt"
is "$(head -1 "$BASE/show.txt")" "# built-in: ${#SHIP[@]} entries" "ips show: nothing on disk -> the built-in list"

# ips_run NAME ARGS...: payguard ips update as www-data; IRC, IOUT, IERR
ips_run() {
	local n=$1; shift
	IOUT=$(as_www env -i PATH=/usr/bin:/bin HOME=/nonexistent "${CLI_ENV[@]}" \
	    "$BIN/payguard" ips update "$@" 2>"$LOGS/ips-$n.err"); IRC=$?
	IERR=$(cat "$LOGS/ips-$n.err")
}
last_ips() { jq -c 'select(.event_type | startswith("ips_update"))' "$AUDIT" 2>/dev/null | tail -n 1; }

# ------------------------------------------------------------------ good
n=$(audit_n)
ips_run good --url "$U/good.json"
is "$IRC" 0 "good: exit 0 ($IOUT)"
check "good: the list file is written, mode 0644" test "$(stat -c %a "$LIST" 2>/dev/null)" = 644
is "$(grep -v '^#' "$LIST" | grep -c .)" "$(( ${#SHIP[@]} + 1 ))" "good: $(( ${#SHIP[@]} + 1 )) entries (the API list ignored)"
rec=$(last_ips)
is "$(echo "$rec" | jq -r '.event_type + " " + .details.outcome')" "ips_updated updated" "good: audited (ips_updated)"
is "$(echo "$rec" | jq -c '.details.added | sort')" '["192.0.2.10","2001:db8:10::/48"]' "good: the audit record names what was added"
is "$(echo "$rec" | jq -c '.details.removed')" "[\"$GONE\"]" "good: ... and what was removed"
is "$(echo "$rec" | jq -r '.details.previous')" built-in "good: ... and what it replaced"
is "$(( $(audit_n) - n ))" 1 "good: exactly one audit record"
newev
cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" REMOTE_ADDR=192.0.2.10
is "$RS" 200 "a webhook.fcgi started afterwards accepts a new address (192.0.2.10)"
cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" REMOTE_ADDR=2001:db8:10::7
is "$RS" 200 "... and the new IPv6 range"
cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" REMOTE_ADDR="$GONE"
expect_error 403 ip_not_allowed "... and refuses the removed one ($GONE)"
pgcli ips show > "$BASE/show.txt"
is "$(head -1 "$BASE/show.txt")" "# $LIST: $(( ${#SHIP[@]} + 1 )) entries" "ips show: the updated list is in effect"
cp -p "$LIST" "$BASE/list.saved"
ino=$(stat -c %i "$LIST")
ips_run again --url "$U/good.json"
is "$IRC/$(stat -c %i "$LIST")" "0/$ino" "the same list again: exit 0, file untouched"
is "$(last_ips | jq -r .details.outcome)" unchanged "... audited as unchanged"

# --------------------------------------------------------------- failures
# fail_case NAME URL WHAT: exit 1, the list byte for byte as before, an
# ips_update_failed record, a one-line reason on stderr
fail_case() {
	local n=$1 url=$2 what=$3 before
	before=$(audit_n)
	ips_run "$n" --url "$url"
	is "$IRC" 1 "$what: exit 1"
	check "$what: the list is unchanged" cmp -s "$LIST" "$BASE/list.saved"
	is "$(last_ips | jq -r .event_type)/$(( $(audit_n) - before ))" "ips_update_failed/1" "$what: audited (ips_update_failed)"
	check "$what: says why on stderr ($IERR)" test -n "$IERR"
}
fail_case malformed "$U/malformed.json" "malformed JSON"
fail_case empty "$U/empty.json" "empty WEBHOOKS"
fail_case badentry "$U/badentry.json" "an entry that is not an address"
fail_case html "$U/error.html" "an HTML error page"
fail_case notfound "$U/missing.json" "HTTP 404"
fail_case huge "$U/huge.json" "a 1.1 MB answer"
fail_case unreachable "http://127.0.0.1:$P_CLOSED/ips.json" "unreachable server"
fail_case scheme "file://$FX/good.json" "a file:// URL (http and https only)"
fail_case shrunk "$U/shrunk.json" "shrinking by more than half"
is "$(last_ips | jq -r .details.outcome)" refused "shrunk: audited as refused"
check "shrunk: stderr suggests --force" grep -q -- --force "$LOGS/ips-shrunk.err"
ips_run force --url "$U/shrunk.json" --force
is "$IRC/$(grep -v '^#' "$LIST" | grep -c .)" "0/3" "shrunk with --force: exit 0, three entries"
is "$(last_ips | jq -c '.details.removed | length')" "$(( ${#SHIP[@]} - 2 ))" "--force: the audit record lists every removed entry"

# ---------------------------------------------------------------- --file
ips_run file --url "$U/good.json" --file "$STATE/other-list.txt"
is "$IRC" 0 "--file F: exit 0"
is "$(grep -v '^#' "$STATE/other-list.txt" | grep -c .)" "$(( ${#SHIP[@]} + 1 ))" "--file F: F written"
is "$(grep -v '^#' "$LIST" | grep -c .)" 3 "--file F: the default list untouched"
ips_run usage --bogus
is "$IRC" 2 "an unknown option: usage, exit 2"
check "no temporary file left behind" bash -c "! ls '$STATE' | grep -q '\.tmp\.'"
check "audit log is JSON lines" audit_all_json "$AUDIT"
out=$(pgcli audit verify); rc=$?
is "$rc" 0 "the audit chain holds ($out)"
finish
