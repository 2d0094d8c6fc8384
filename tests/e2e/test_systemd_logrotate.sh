#!/bin/bash
# Deployment files, checked with the real tools (no ports):
#   systemd/  every unit through `systemd-analyze verify` (which works
#             without systemd as PID 1) with only the install paths moved
#             to the built programs; any output fails (servers.md part 2:
#             unknown keys only warn, rc 0); `systemd-analyze security
#             --offline` exposure; what the units promise (hardening, own
#             user, timers for sweep/alerts/ips update, sockets matching
#             nginx-payguard.conf).
#   logrotate/payguard  a forced rotation of a real audit log under
#             logrotate 3.21, then `payguard audit verify` on the archive
#             and on the new file: the chain continues across rotation.
. "$SRC/tests/harness/lib.sh"
pg_setup
for t in systemd-analyze logrotate; do command -v $t >/dev/null || bail "$t is installed"; done
cp "$O/api.fcgi" "$BIN/" && chmod 0755 "$BIN/api.fcgi"
U=$BASE/units
mkdir -p "$U"
for f in "$SRC"/systemd/*; do
	sed -e "s|/usr/local/bin/|$BIN/|g" -e "s|/usr/local/lib/payguard/cgi-bin/|$BIN/|g" "$f" > "$U/${f##*/}"
done
check "units name no path but the install paths (/usr/local/bin, /usr/local/lib/payguard/cgi-bin)" \
    bash -c "! grep -h '^Exec' '$U'/* | grep -q /usr/local/"
# sa_verify UNIT...: rc 0 AND no output at all
sa_verify() {
	local out
	out=$(cd "$U" && systemd-analyze verify "$@" 2>&1)
	[ $? = 0 ] && [ -z "$out" ] || { echo "$out" | sed 's/^/# /'; return 1; }
}
units=$(cd "$U" && ls *.service *.socket *.timer | sed 's|^|./|')
check "systemd-analyze verify: all $(echo $units | wc -w) units, rc 0, no output" sa_verify $units
# The check can fail: a misspelt directive only warns (rc 0), and is caught.
sed 's/^NoNewPrivileges=yes/NoNewPrivilege=yes/' "$U/payguard-worker.service" > "$U/typo-worker.service"
if sa_verify ./typo-worker.service > /dev/null; then
	not_ok "control: systemd-analyze verify output catches a misspelt directive"
else
	ok "control: systemd-analyze verify output catches a misspelt directive"
fi
rm -f "$U/typo-worker.service"
for s in "$U"/*.service; do
	n=${s##*/}
	lvl=$(cd "$U" && systemd-analyze security --offline=yes "./$n" 2>/dev/null | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
	check "$n: systemd-analyze security exposure ${lvl:-?} <= 2.5" awk -v l="${lvl:-99}" 'BEGIN { exit !(l <= 2.5) }'
done
W=$U/payguard-worker.service
for d in NoNewPrivileges=yes ProtectSystem=strict ReadWritePaths=/var/lib/payguard User=payguard \
    Group=payguard CapabilityBoundingSet= LimitCORE=0 "ExecStart=$BIN/payguard worker"; do
	check "payguard-worker.service: $d" grep -qxF "$d" "$W"
done
for t in audit-sweep:"audit sweep" alerts:alerts ips-update:"ips update"; do
	n=${t%%:*} cmd=${t#*:}
	check "payguard-$n.timer exists with OnCalendar and Persistent" grep -q '^OnCalendar=' "$U/payguard-$n.timer"
	check "payguard-$n.service runs payguard $cmd" grep -qxF "ExecStart=$BIN/payguard $cmd" "$U/payguard-$n.service"
	cal=$(sed -n 's/^OnCalendar=//p' "$U/payguard-$n.timer")
	check "payguard-$n.timer: '$cal' is a valid calendar spec" systemd-analyze calendar "$cal" >/dev/null 2>&1
done
for p in webhook api; do
	sock=$(sed -n 's/^ListenStream=//p' "$U/payguard-$p.socket")
	check "payguard-$p.socket listens where nginx-payguard.conf connects ($sock)" \
	    grep -qF "fastcgi_pass unix:$sock;" "$SRC/apache-conf/nginx-payguard.conf"
	check "payguard-$p.service takes the socket as fd 0 (StandardInput=socket)" grep -qx 'StandardInput=socket' "$U/payguard-$p.service"
done
sock=$(sed -n 's/^ListenStream=//p' "$U/payguard-audit.socket")
check "payguard-audit.socket is nginx-payguard.conf's fcgiwrap socket" grep -qF "fastcgi_pass unix:$sock;" "$SRC/apache-conf/nginx-payguard.conf"

# ------------------------------------------------------------- logrotate
LR=$BASE/logrotate.conf
sed "s|/var/lib/payguard/|$STATE/|" "$SRC/logrotate/payguard" > "$LR"
chmod 0644 "$LR"	# root-owned, not group-writable, or logrotate ignores it
check "logrotate file: monthly" grep -qE '^[[:space:]]*monthly$' "$LR"
keep=$(sed -n 's/^[[:space:]]*rotate \([0-9]*\)$/\1/p' "$LR")
check "logrotate file: keeps ${keep:-?} archives (>= 12)" test "${keep:-0}" -ge 12
check "logrotate file: never copytruncate (records written meanwhile would be lost)" bash -c "! grep -qE '^[[:space:]]*copytruncate' '$LR'"
logrotate -d -s "$BASE/lr.state" "$LR" > "$LOGS/lr-debug.log" 2>&1
check "logrotate -d reads it: monthly, $keep rotations" grep -q "monthly ($keep rotations)" "$LOGS/lr-debug.log"

CGI_ENV=(PAYGUARD_STATE_DIR="$STATE" STRIPE_WEBHOOK_SECRET="$SECRET" STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1)
for i in 1 2 3; do newev; cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(badsig)"; done
before=$(audit_n)
check "three audit records before the rotation" test "$before" -ge 3
logrotate -f -s "$BASE/lr.state" "$LR" > "$LOGS/lr.log" 2>&1
is "$?" 0 "logrotate -f: rc 0"
check "the log was renamed to .1 (same records)" test "$(wc -l < "$AUDIT.1" 2>/dev/null)" = "$before"
for i in 1 2; do newev; cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(badsig)"; done
is "$(audit_n)" 2 "payguard writes a fresh file after the rotation"
is "$(stat -c '%U %a' "$AUDIT")" "$WWW 600" "the fresh file: the writer's user, mode 0600"
out=$(pgcli audit verify --file "$AUDIT.1"); rc=$?
is "$rc" 0 "payguard audit verify --file security_audit.log.1: OK ($out)"
out=$(pgcli audit verify --file "$AUDIT"); rc=$?
is "$rc" 0 "payguard audit verify --file security_audit.log (new file): OK ($out)"
out=$(pgcli audit verify); rc=$?
is "$rc" 0 "payguard audit verify (new file against the store's head): OK ($out)"
last=$(tail -n 1 "$AUDIT.1") first=$(head -n 1 "$AUDIT")
is "$(echo "$first" | jq -r .prev)" "$(echo "$last" | jq -r .hash)" "the chain continues: the new file's first record links to the archive's last"
is "$(echo "$first" | jq -r .seq)" "$(( $(echo "$last" | jq -r .seq) + 1 ))" "the chain continues: sequence numbers follow on"
# A second rotation: .1 is compressed to .2.gz (delaycompress), and still verifies.
logrotate -f -s "$BASE/lr.state" "$LR" >> "$LOGS/lr.log" 2>&1
newev; cgi_run POST "$EVF" HTTP_STRIPE_SIGNATURE="$(badsig)"
check "second rotation: .2.gz and .1" test -f "$AUDIT.2.gz" -a -f "$AUDIT.1"
zcat "$AUDIT.2.gz" > "$BASE/a2.log" && chmod 0644 "$BASE/a2.log"
out=$(pgcli audit verify --file "$BASE/a2.log"); rc=$?
is "$rc" 0 "payguard audit verify on the uncompressed .2.gz: OK ($out)"
out=$(pgcli audit verify); rc=$?
is "$rc" 0 "payguard audit verify after the second rotation: OK ($out)"
# The verdict is real: the 3-record archive with its middle record removed.
sed '2d' "$BASE/a2.log" > "$BASE/cut.log"; chmod 0644 "$BASE/cut.log"
out=$(pgcli audit verify --file "$BASE/cut.log"); rc=$?
is "$rc" 1 "control: an archive with a record removed FAILS verify ($out)"
finish
