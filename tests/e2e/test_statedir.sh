#!/bin/bash
# The state directory belongs to the web user, which also runs the site's
# own code.  What that user plants there (symlinks to root's files) must
# never redirect a write of payguard's, above all of the admin CLI run as
# root; a state directory others can write to is refused with one line;
# --help and usage errors never create or touch state.
. "$SRC/tests/harness/lib.sh"
pg_setup

CGI_ENV=(PAYGUARD_STATE_DIR="$STATE" STRIPE_WEBHOOK_SECRET="$SECRET"
    STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1)
# rootcli ARGS...: the CLI as root (an administrator), clean environment
rootcli() {
	env -i PATH=/usr/bin:/bin HOME=/root PAYGUARD_STATE_DIR="${RSTATE:-$STATE}" \
	    "$BIN/payguard" "$@" 2>>"$LOGS/rootcli.log"
}
# victim NAME: a root-owned 0644 file outside the state, path on stdout
victim() {
	local f=$BASE/victim-$1
	echo "root's precious $1" > "$f"; chown root:root "$f"; chmod 0644 "$f"
	echo "$f"
}
untouched() { [ "$(cat "$1")" = "root's precious $(basename "$1" | sed 's/^victim-//')" ]; }

# 1. A working state made by the programs (as www-data).
newev; CGI_PROG=$BIN/webhook.fcgi cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")"
is "$RS" 200 "an event is accepted (state initialised as the web user)"

# 2. Root runs the CLI on it: nothing root-owned appears, even where the
# CLI creates files (the volatile environment, as after a reboot).
as_www rm -rf "$STATE/volatile"
rootcli inbox list > "$BASE/list.out"
check "root's payguard inbox list works on the web user's state" grep -q "$EV" "$BASE/list.out"
rootcli token list > /dev/null
rootcli audit --hours 1 > /dev/null
is "$(find "$STATE" -uid 0 | wc -l)" 0 "nothing under the state directory is root-owned after root's CLI runs"

# 3. The web user plants symlinks to root's files; root's CLI follows none.
V1=$(victim boot_id) V2=$(victim lock)
as_www sh -c "rm -f '$STATE/volatile/boot_id' && ln -s '$V1' '$STATE/volatile/boot_id'"
rootcli token list > /dev/null; rc=$?
check "root's CLI refuses a state whose volatile/boot_id is a symlink (exit $rc)" test "$rc" != 0
check "the symlinked boot_id target (root's file) is untouched" untouched "$V1"
as_www sh -c "rm -f '$STATE/volatile/boot_id'"
as_www sh -c "rm -f '$STATE/lock.mdb' && ln -s '$V2' '$STATE/lock.mdb'"
rootcli token list > /dev/null; rc=$?
check "root's CLI refuses a state whose lock.mdb is a symlink (exit $rc)" test "$rc" != 0
check "the refusal names the problem" grep -q 'lock.mdb: not a regular file' "$LOGS/rootcli.log"
check "the symlinked lock.mdb target (root's file) is untouched" untouched "$V2"
rootcli inbox list > /dev/null 2>&1
rootcli worker --once > /dev/null 2>&1
check "...also after inbox list and worker --once" untouched "$V2"
# The programs themselves, as the web user, refuse too.
newev; CGI_PROG=$BIN/webhook.fcgi cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")"
check "webhook.fcgi refuses the symlinked lock.mdb (status $RS)" test "$RS" != 200
as_www sh -c "rm -f '$STATE/lock.mdb' '$STATE/volatile/boot_id'"

# 4. The audit log planted as a symlink (to a file the web user may
# write: its own): never followed, nothing written through it.
W=$HOUT/not-the-log; echo keep > "$W"; chown $WWW "$W"
as_www sh -c "rm -f '$AUDIT' && ln -s '$W' '$AUDIT'"
newev; CGI_PROG=$BIN/webhook.fcgi cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")"
is "$(cat "$W")" keep "the audit log symlink is not followed"
as_www rm -f "$AUDIT"

# 4b. The walks over the audit log (verify, reindex) and the IP list in the
# state directory read nothing through a symlink either: the web user
# would otherwise have root's CLI read (and report on) a file of its
# choosing.  The link targets are the web user's own, valid files, so only
# the refusal tells the fixed code from the old.
newev; CGI_PROG=$BIN/webhook.fcgi cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")"
is "$RS" 200 "an event is accepted (the audit log exists again)"
C=$HOUT/log-copy; cp "$AUDIT" "$C"; chown $WWW "$C"
as_www sh -c "mv '$AUDIT' '$AUDIT.real' && ln -s '$C' '$AUDIT'"
: > "$LOGS/rootcli.log"
rootcli audit verify > "$BASE/verify.out"; rc=$?
check "root's audit verify refuses a symlinked audit log (exit $rc)" test "$rc" != 0
check "...with a line naming the symlink" grep -q 'security_audit.log: a symlink.*refused' "$LOGS/rootcli.log"
check "...and reports no verdict on the linked file" test ! -s "$BASE/verify.out"
: > "$LOGS/rootcli.log"
rootcli audit reindex > /dev/null; rc=$?
check "root's audit reindex refuses a symlinked audit log (exit $rc)" test "$rc" != 0
check "...with a line naming the symlink" grep -q 'security_audit.log: a symlink.*refused' "$LOGS/rootcli.log"
as_www sh -c "rm -f '$AUDIT' && mv '$AUDIT.real' '$AUDIT'"
rootcli audit verify > "$BASE/verify.out"; rc=$?
is "$rc" 0 "audit verify works again on the real log ($(cat "$BASE/verify.out"))"
L=$HOUT/ips-elsewhere; echo 192.0.2.99 > "$L"; chown $WWW "$L"
as_www ln -s "$L" "$STATE/stripe-webhook-ips.txt"
: > "$LOGS/rootcli.log"
rootcli ips show > "$BASE/ips.out"; rc=$?
check "root's ips show refuses a symlinked IP list in the state (exit $rc)" test "$rc" != 0
check "...prints nothing of the linked file" bash -c "! grep -q 192.0.2.99 '$BASE/ips.out'"
check "...with a line naming the symlink" grep -q 'stripe-webhook-ips.txt: a symlink.*refused' "$LOGS/rootcli.log"
as_www rm -f "$STATE/stripe-webhook-ips.txt"

# 5. A group- or world-writable state directory is refused, one clear line.
chmod 0777 "$STATE"
newev; CGI_PROG=$BIN/webhook.fcgi cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")"
check "webhook.fcgi refuses a world-writable state directory (status $RS)" test "$RS" -ge 500
check "its log names the problem" grep -q 'world-writable' "$CGI_ERR"
out=$(rootcli inbox list 2>&1 >/dev/null; tail -3 "$LOGS/rootcli.log")
check "the CLI refuses it too" bash -c "echo '$out' | grep -q 'world-writable'"
chmod 0700 "$STATE"
# ... and one owned by someone else than the running user.
O2=$(new_state other); chown nobody "$O2"
newev; CGI_PROG=$BIN/webhook.fcgi cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" PAYGUARD_STATE_DIR="$O2"
check "webhook.fcgi refuses a state directory of another user (status $RS)" test "$RS" -ge 500
check "its log names the owner problem" grep -q 'not by the running user' "$CGI_ERR"
# ... and a state directory that is itself a symlink.
ln -s "$STATE" "$BASE/state-link"
newev; CGI_PROG=$BIN/webhook.fcgi cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(sign "$EVF")" PAYGUARD_STATE_DIR="$BASE/state-link"
check "a symlinked state directory is refused (status $RS)" test "$RS" -ge 500

# 6. Help, usage errors and unknown subcommands never create state.
RSTATE=$BASE/never
for args in "inbox list --help" "inbox -h" "--help" "token list --help" \
    "inbox bogus" "inbox show" "token create --name x --bogus" "token" \
    "bogus" "audit --help" "worker --bogus" "rotate-keys --bogus"; do
	rm -rf "$RSTATE"
	rootcli $args > /dev/null 2>&1
	check "payguard $args creates no state" test ! -e "$RSTATE"
done
RSTATE=
rootcli inbox list --help > "$BASE/help.out" 2>/dev/null; rc=$?
is "$rc" 0 "payguard inbox list --help exits 0"
check "...and prints the inbox usage" grep -q 'usage: payguard inbox' "$BASE/help.out"

finish
