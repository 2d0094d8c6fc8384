#!/bin/bash
# payguard doctor [--json]: exit 0/1/2 from its findings, one line each
# with what to do.  A sound shared-hosting setup first, then one fault at
# a time on real files, users and stores: risky settings, an open state
# dir, world-readable and symlinked secrets, a secret the web server's
# user can read while payguard has its own user, a dead letter, a stale
# IP list, a tampered audit log.  No ports.
. "$SRC/tests/harness/lib.sh"
pg_setup
make_handler
INI=$BASE/payguard.ini
write_ini "$INI" STRIPE_WEBHOOK_SECRET="$SECRET" STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1 \
    PAYGUARD_ADMIN_USERS=admin PAYGUARD_WEBHOOK_HANDLER="$HANDLER" PAYGUARD_MAX_ATTEMPTS=1
CLI_ENV=(PAYGUARD_STATE_DIR="$STATE" PAYGUARD_CONFIG="$INI")
CGI_ENV=(PAYGUARD_STATE_DIR="$STATE" PAYGUARD_CONFIG="$INI")
for i in 1 2 3; do newev; cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")"; done
is "$RS" 200 "seed: events accepted (queued)"
pgcli inbox drain > /dev/null

# doc NAME [ENV...]: payguard doctor --json as www-data; DRC, $BASE/NAME.json
doc() {
	local n=$1; shift
	as_www env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin HOME=/nonexistent "${CLI_ENV[@]}" "$@" \
	    "$BIN/payguard" doctor --json > "$BASE/$n.json" 2>>"$LOGS/cli.log"
	DRC=$?
}
# lv NAME LEVEL AREA REGEX: a finding of that level and area whose message matches
lv() { jq -e --arg l "$2" --arg a "$3" --arg r "$4" \
    'any(.findings[]; .level == $l and .area == $a and (.message | test($r)))' "$BASE/$1.json" >/dev/null; }
# consistent NAME: exit = 2 with a problem, 1 with a warning, else 0; every
# warn/problem says what to do
consistent() {
	local want
	want=$(jq '[.findings[].level] | if index("problem") then 2 elif index("warn") then 1 else 0 end' "$BASE/$1.json")
	[ "$DRC" = "$want" ] && [ "$(jq -r .exit "$BASE/$1.json")" = "$DRC" ] &&
	    jq -e 'all(.findings[]; (.level | IN("ok","note")) or ((.do // "") | length > 0))' "$BASE/$1.json" >/dev/null
}

# ----------------------------------------------------------- sound setup
doc sound
check "sound: --json is JSON with findings" jq -e '.findings | length > 10' "$BASE/sound.json"
check "sound: exit code follows the findings ($DRC), each warning says what to do" consistent sound
check "sound: no problem and no warning except the clock's (this machine's)" \
    jq -e '[.findings[] | select(.level == "problem" or (.level == "warn" and .area != "clock"))] | length == 0' "$BASE/sound.json"
# Library versions are the ones linked, read at run time.
# lvp NAME LEVEL AREA PREFIX: ... whose message starts with PREFIX
lvp() { jq -e --arg l "$2" --arg a "$3" --arg p "$4" \
    'any(.findings[]; .level == $l and .area == $a and (.message | startswith($p)))' "$BASE/$1.json" >/dev/null; }
v=$(openssl version | cut -d' ' -f2)
check "libs: OpenSSL $v, as the linked library reports it" lvp sound ok libs "OpenSSL $v "
for l in libcurl:libcurl json-c:json-c LMDB:lmdb; do
	v=$(pkg-config --modversion "${l#*:}")
	check "libs: ${l%%:*} $v, as the linked library reports it" lvp sound ok libs "${l%%:*} $v "
done
check "libs: libfcgi from its Debian package, with the advisory" lv sound ok libs 'libfcgi0ldbl .*CVE-2025-23016'
check "libs: hiredis from its Debian package, with the advisory" lv sound ok libs 'libhiredis0.14 .*CVE-2021-32765'
check "libs: each floor names its advisory" jq -e '[.findings[] | select(.area == "libs" and (.message | test("CVE-|advisory")))] | length == 6' "$BASE/sound.json"
check "state dir: owner and mode" lv sound ok state "www-data, mode 0700"
check "the shared-hosting layout is noted" lv sound note files "web server's user www-data"
check "clock: a finding either way" jq -e 'any(.findings[]; .area == "clock")' "$BASE/sound.json"
check "inbox: backlog" lv sound ok inbox "events queued"
check "audit: the chain head" lv sound ok audit "audit chain intact: [0-9]+ records, head seq [0-9]+"
check "store: used and map size" lv sound ok store "KiB used, map [0-9]+ MiB"
check "disk: free space" lv sound ok disk "MiB free under"
as_www env -i PATH=/usr/bin:/bin "${CLI_ENV[@]}" "$BIN/payguard" doctor > "$BASE/sound.txt" 2>/dev/null
is "$?" "$DRC" "text output: the same exit code"
check "text output: one line per finding plus the verdict" test "$(wc -l < "$BASE/sound.txt")" = "$(( $(jq '.findings | length' "$BASE/sound.json") + 1 ))"

# ----------------------------------------------------------- risky config
doc risky STRIPE_WEBHOOK_TOLERANCE=900 STRIPE_RATE_LIMIT_ENABLED=false PAYGUARD_SYNC=0 \
    STRIPE_WEBHOOK_ALLOWED_IPS=1.2.3.4,0.0.0.0/0 PAYGUARD_ADMIN_USERS=
is "$DRC" 2 "risky: exit 2"
check "risky: tolerance above 600 s" lv risky warn config "TOLERANCE is 900"
check "risky: rate limiting off" lv risky warn config "rate limiting is off"
check "risky: PAYGUARD_SYNC=0" lv risky warn config "PAYGUARD_SYNC=0"
check "risky: allowlist of 0.0.0.0/0 is a problem" lv risky problem config "allows every address"
check "risky: no admin users" lv risky warn config "no admin users"
check "risky: consistent" consistent risky

# ------------------------------------------------------------ files
chmod 0755 "$STATE"
doc open
chmod 0700 "$STATE"
check "state dir 0755: a problem" lv open problem state "open to group or others \\(mode 0755\\)"
is "$DRC" 2 "state dir 0755: exit 2"
printf '%s' "$SECRET" > "$BASE/whsec"; chmod 0644 "$BASE/whsec"
ln -s "$BASE/whsec" "$BASE/whsec.link"
doc secrets STRIPE_WEBHOOK_SECRET_FILE="$BASE/whsec.link"
check "a secret file readable by everyone: a problem" lv secrets problem files "STRIPE_WEBHOOK_SECRET_FILE .* readable by every user"
check "a secret file behind a symlink: a warning" lv secrets warn files "STRIPE_WEBHOOK_SECRET_FILE .* symbolic link"
check "secrets: consistent" consistent secrets

# payguard with its own user (nobody here): the web server must not read.
OWN=$BASE/own
mkdir -p "$OWN" && chown nobody:nogroup "$OWN" && chmod 0700 "$OWN"
OINI=$BASE/own.ini
write_ini "$OINI" STRIPE_WEBHOOK_SECRET="$SECRET" PAYGUARD_ADMIN_USERS=admin
chown nobody:nogroup "$OINI"; chmod 0600 "$OINI"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin \
    PAYGUARD_STATE_DIR="$OWN" PAYGUARD_CONFIG="$OINI" "$BIN/payguard" "$@"; }
as_nobody inbox list > /dev/null 2>&1
as_nobody doctor --json > "$BASE/own1.json" 2>>"$LOGS/cli.log"; DRC=$?
check "own user: payguard runs as nobody, not as www-data" lv own1 ok files "runs as nobody, not as the web server's user www-data"
check "own user: nothing readable by www-data" bash -c "! jq -e 'any(.findings[]; .message | test(\"readable by the web server\"))' '$BASE/own1.json' >/dev/null"
chmod 0644 "$OINI"; chmod 0711 "$OWN"; chmod 0644 "$OWN/data.mdb"
as_nobody doctor --json > "$BASE/own2.json" 2>>"$LOGS/cli.log"; DRC=$?
chmod 0600 "$OINI" "$OWN/data.mdb"; chmod 0700 "$OWN"
check "own user: the INI readable by www-data is a problem" lv own2 problem files "PAYGUARD_CONFIG .* readable by the web server's user www-data, but only payguard \\(nobody\\)"
check "own user: the store readable by www-data is a problem" lv own2 problem files "data.mdb is readable by the web server's user www-data"
is "$DRC" 2 "own user: exit 2"

# ------------------------------------------------------ inbox, list, audit
touch "$HOUT/fail_always"
newev; cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")"
pgcli inbox drain > /dev/null
doc dead
check "a dead letter: a warning saying how to retry" lv dead warn inbox "1 dead letters"
check "dead: consistent" consistent dead
cp "$SRC/data/stripe-webhook-ips.txt" "$STATE/stripe-webhook-ips.txt"; chown $WWW "$STATE/stripe-webhook-ips.txt"
touch -d '100 days ago' "$STATE/stripe-webhook-ips.txt"
doc stale STRIPE_WEBHOOK_ALLOWED_IPS=
check "an IP list 100 days old: a warning to run ips update" jq -e 'any(.findings[]; .level == "warn" and .area == "config" and (.message | test("IP list .* 100 days old")) and (.do | test("ips update")))' "$BASE/stale.json"
# One record altered in the middle of the log.
sed -i '2s/"severity":"[A-Z]*"/"severity":"LOW"/; 2s/"source_ip":"[^"]*"/"source_ip":"10.9.9.9"/' "$AUDIT"
doc tampered
check "a tampered audit log: a problem" lv tampered problem audit "chain is broken \\(altered\\)"
is "$DRC" 2 "tampered: exit 2"
check "every run: consistent" consistent tampered
as_www env -i PATH=/usr/bin:/bin "$BIN/payguard" doctor --bogus > /dev/null 2>&1
is "$?" 2 "doctor --bogus: usage, exit 2"
finish
