#!/bin/bash
# api.fcgi (issue 4) idempotency under concurrency, under Apache + mod_fcgid:
#  - 16 simultaneous POSTs with one Idempotency-Key while the fake upstream
#    is slowed (delay_ms) so that they overlap: the upstream is called
#    exactly once; every other caller gets 409 idempotency_key_in_use or
#    the replay of the one result (Idempotent-Replayed: true, same object)
#  - 16 simultaneous POSTs with 16 keys: 16 upstream calls, 16 objects
#  - an in-flight record whose owner died (api.fcgi killed mid-request,
#    plain CGI) answers 409 until PAYGUARD_IDEMPOTENCY_LOCK_TIMEOUT, then
#    is taken over
# Environment: O, SRC, PY (tests/run-e2e.sh).  Ports 19830-19831.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/api_lib.sh"

need_ports 19830 19831
api_setup
start_fake 19830
TW=$(token conc write)
start_apache_api conc 19831 24
URL=$API_URL/v1/customers

# Warm-up: 16 overlapping slow GETs make mod_fcgid spawn the processes
# (it waits about 1 s before each spawn while none is idle),
# so that the burst below really runs in parallel.
fake_fault "{\"path\": \"/v1/customers\", \"method\": \"GET\", \"responses\": [$(printf '{"delay_ms": 1500},%.0s' $(seq 15)){\"delay_ms\": 1500}]}"
# curl waits longer than Apache can take to answer (mod_fcgid gives up
# on a process slot after about 64 s, FcgidIOTimeout is 120 s), so a
# failure names what Apache decided, not curl's own timeout.
warm() {
	local st rc
	st=$(curl -sS -o /dev/null -w '%{http_code} %{time_total}' --max-time 150 \
	    -H "Authorization: Bearer $TW" "$URL" 2>>"$LOGS/curl.log"); rc=$?
	echo "${st%% *}" > "$BASE/warm/$1"
	[ "${st%% *}" = 200 ] || echo "${st:-000} s curl-exit $rc" >> "$BASE/warm/fail"
}
burst "$BASE/warm" 16 warm
why=""
if [ -s "$BASE/warm/fail" ]; then
	why=" [$(sort "$BASE/warm/fail" | head -4 | tr '\n' ';') apache: $(awk '$4 ~ /GET/ { printf "%s/%.1fs ", $(NF-2), $NF / 1e6 }' "$R/logs/access.log")children crashed: $(grep -c AH00052 "$R/logs/error.log")]"
	diag "curl: $(sort -u "$LOGS/curl.log" | head -5 | tr '\n' ';')"
	grep -v AH00489 "$R/logs/error.log" | tail -n 20 | sed 's/^/# /'
fi
is "$(sort "$BASE"/warm/[0-9]* | uniq -c | awk '{print $1 "x" $2}')" "16x200" "warm-up: 16 concurrent GETs through api.fcgi$why"
fake_clear_faults
diag "api.fcgi processes after warm-up: $(pids_of_exe "$BIN/api.fcgi" | wc -l)"

# ------------------------------------------- one key, 16 callers at once
fake_mark
fake_fault '{"path": "/v1/customers", "method": "POST", "responses": [{"delay_ms": 3000}]}'
one_key() {
	local d=$BASE/same
	curl -sS -o "$d/$1.body" -D "$d/$1.hdr" -w '%{http_code}' --max-time 150 -H 'Expect:' \
	    -H "Authorization: Bearer $TW" -H 'Idempotency-Key: conc-key-1' \
	    --data 'email=concurrent%40example.com&metadata[run]=1' "$URL" > "$d/$1.status" 2>>"$LOGS/curl.log"
}
burst "$BASE/same" 16 one_key
n200=0 n409=0 nrep=0 nother=0 ids="" bad409=""
for i in $(seq 16); do
	f=$BASE/same/$i
	st=$(cat "$f.status")
	rep=$(awk 'tolower($1) == "idempotent-replayed:" { gsub(/\r/, ""); print $2 }' "$f.hdr")
	case "$st" in
	200)	ids="$ids $(jq -r .id "$f.body")"
		if [ "$rep" = true ]; then nrep=$((nrep + 1)); else n200=$((n200 + 1)); fi ;;
	409)	n409=$((n409 + 1))
		[ "$(jq -r '.error.type + " " + .error.code' "$f.body" 2>/dev/null)" = "idempotency_error idempotency_key_in_use" ] ||
		    bad409="$bad409 $(head -c 200 "$f.body")" ;;
	*)	nother=$((nother + 1)); diag "caller $i: $st $(head -c 200 "$f.body")" ;;
	esac
done
diag "one key x16: $n200 original, $nrep replayed, $n409 in use, $nother other"
is "$(fake_new '.method == "POST" and .path == "/v1/customers"')" 1 "one key x16: the upstream was called exactly once"
is "$n200" 1 "one key x16: exactly one caller got the original 200"
is "$nother" 0 "one key x16: every other caller got 409 or the replay"
is "$((n409 + nrep))" 15 "one key x16: 15 callers got 409 or the replay"
check "one key x16: the requests overlapped (at least one 409 idempotency_key_in_use)" [ "$n409" -ge 1 ]
is "$bad409" "" "one key x16: every 409 is idempotency_error / idempotency_key_in_use"
is "$(echo $ids | tr ' ' '\n' | sort -u | wc -l)" 1 "one key x16: every 200 carries the same customer ($(echo $ids | cut -d' ' -f1))"
http POST "$URL" -H "Authorization: Bearer $TW" -H 'Idempotency-Key: conc-key-1' \
    --data 'email=concurrent%40example.com&metadata[run]=1'
is "$RS $(hdr Idempotent-Replayed) $(jb .id)" "200 true $(echo $ids | cut -d' ' -f1)" "one key, afterwards: the stored result replayed"
http POST "$URL" -H "Authorization: Bearer $TW" -H 'Idempotency-Key: conc-key-1' \
    --data 'email=different%40example.com'
is "$RS $(jb .error.type)" "400 idempotency_error" "one key, afterwards, other params: 400 idempotency_error"
is "$(fake_new '.method == "POST" and .path == "/v1/customers"')" 1 "one key: still one upstream call"

# ------------------------------------------- 16 keys at once
fake_mark
fake_fault "{\"path\": \"/v1/customers\", \"method\": \"POST\", \"responses\": [$(printf '{"delay_ms": 500},%.0s' $(seq 15)){\"delay_ms\": 500}]}"
many_keys() {
	local d=$BASE/many
	curl -sS -o "$d/$1.body" -w '%{http_code}' --max-time 150 -H 'Expect:' \
	    -H "Authorization: Bearer $TW" -H "Idempotency-Key: conc-many-$1" \
	    --data "email=many$1%40example.com" "$URL" > "$d/$1.status" 2>>"$LOGS/curl.log"
}
burst "$BASE/many" 16 many_keys
is "$(cat "$BASE"/many/*.status | tr -d '\n' | sed 's/200//g')" "" "16 keys at once: all 200"
is "$(for i in $(seq 16); do jq -r .id "$BASE/many/$i.body"; done | grep -c '^cus_' )" 16 "16 keys at once: 16 customers"
is "$(for i in $(seq 16); do jq -r .id "$BASE/many/$i.body"; done | sort -u | wc -l)" 16 "16 keys at once: all distinct"
is "$(fake_new '.method == "POST" and .path == "/v1/customers"')" 16 "16 keys at once: 16 upstream calls"
is "$(fake_since '.method == "POST"' '[.[].headers.idempotency_key] | unique | length')" 16 "16 keys at once: 16 distinct upstream keys"

# ------------------------------------------- owner died: lock timeout
# Plain CGI from a copy with its own name (the fcgid processes run api.fcgi).
cp "$BIN/api.fcgi" "$BIN/api-cgi.fcgi"
CGI_PROG=$BIN/api-cgi.fcgi
API_CONF+=(PAYGUARD_IDEMPOTENCY_LOCK_TIMEOUT=3 PAYGUARD_TIMEOUT=30 PAYGUARD_MAX_NETWORK_RETRIES=0)
fake_fault '{"path": "/v1/customers", "method": "POST", "responses": [{"delay_ms": 10000}]}'
( RH=$BASE/dead.h RB=$BASE/dead.b; api_cgi POST /v1/customers "$(form 'email=dead%40example.com')" \
    "HTTP_AUTHORIZATION=Bearer $TW" HTTP_IDEMPOTENCY_KEY=conc-dead ) > /dev/null 2>&1 &
bg=$!
victim=""
for i in $(seq 50); do
	victim=$(pids_of_exe "$BIN/api-cgi.fcgi" | head -1)
	# the slow fault consumed = the request is being served upstream
	[ -n "$victim" ] && [ "$(curl -sS --max-time 5 "$FAKE/__faults" | jq '[.[].responses[]] | length')" = 0 ] && break
	sleep 0.1
done
check "owner died: the first request is in flight upstream (pid ${victim:-none})" [ -n "$victim" ]
t0=$(date +%s.%N)
[ -n "$victim" ] && kill -KILL "$victim"
wait "$bg" 2>/dev/null
api_cgi POST /v1/customers "$(form 'email=dead%40example.com')" "HTTP_AUTHORIZATION=Bearer $TW" HTTP_IDEMPOTENCY_KEY=conc-dead
is "$RS $(jb .error.code)" "409 idempotency_key_in_use" "owner died: before the lock timeout the key is still in use (409)"
sleep 3.5
api_cgi POST /v1/customers "$(form 'email=dead%40example.com')" "HTTP_AUTHORIZATION=Bearer $TW" HTTP_IDEMPOTENCY_KEY=conc-dead
is "$RS $(jb .email)" "200 dead@example.com" "owner died: after PAYGUARD_IDEMPOTENCY_LOCK_TIMEOUT=3 the record is taken over (200)"
api_cgi POST /v1/customers "$(form 'email=dead%40example.com')" "HTTP_AUTHORIZATION=Bearer $TW" HTTP_IDEMPOTENCY_KEY=conc-dead
is "$RS $(hdr Idempotent-Replayed)" "200 true" "owner died: the takeover's result is stored and replayed"

# ------------------------------------------- leftovers
fake_log
check "fake upstream: no strictness violation" jqc 'all(.[]; (.violations | length) == 0)' "$BASE/fake.json"
secret_scan "no Stripe secret key in the Apache logs, the audit log or the responses" \
    "$R/logs/error.log" "$R/logs/access.log" "$AUDIT" "$BASE"/same/* "$BASE"/many/* "$LOGS/cgi.log"
finish
