#!/bin/bash
# Process hardening (issue 9): every program and the CLI disable core
# dumps (RLIMIT_CORE 0 and PR_SET_DUMPABLE 0) before loading their
# configuration, even when started with an unlimited core size; and
# `payguard config check` reveals nothing of a short secret.
# Environment: O, SRC, PY (tests/run-e2e.sh).  No ports.
. "$SRC/tests/harness/lib.sh"
pg_setup
cp "$O/api.fcgi" "$O/audit.cgi" "$BIN/" && chmod 0755 "$BIN"/*

# not_dumpable PID: /proc/PID is root's while the process runs as
# www-data (the kernel's mark of a non-dumpable process), and its core
# limit is 0/0.  Waits up to 5 s for the program to get there.
not_dumpable() {
	local pid=$1 i
	for i in $(seq 50); do
		[ "$(stat -c %U "/proc/$pid/status" 2>/dev/null)" = root ] &&
		    grep -Eq '^Max core file size +0 +0 ' "/proc/$pid/limits" && return 0
		proc_alive "$pid" || return 1
		sleep 0.1
	done
	return 1
}
# hold PROG NAME=VALUE...: starts PROG as plain CGI (www-data, core size
# unlimited) waiting for a body that never comes; sets HPID
hold() {
	local prog=$1; shift
	rm -f "$BASE/fifo"; mkfifo "$BASE/fifo"; chmod 0666 "$BASE/fifo"
	prlimit --core=unlimited:unlimited -- setpriv --reuid=$WWW_UID \
	    --regid=$WWW_GID --clear-groups env -i PATH=/usr/bin:/bin \
	    GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST CONTENT_LENGTH=100 \
	    CONTENT_TYPE=application/json REMOTE_ADDR=127.0.0.1 \
	    PAYGUARD_STATE_DIR="$STATE" "$@" "$prog" < "$BASE/fifo" \
	    > /dev/null 2>>"$LOGS/hold.log" &
	HPID=$!
	track $HPID
	exec 3> "$BASE/fifo"	# lets the program start; it then waits
}
release() { exec 3>&-; stop_pid "$HPID"; untrack "$HPID"; }

hold "$BIN/webhook.fcgi" STRIPE_WEBHOOK_SECRET="$SECRET" STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1
check "webhook.fcgi: not dumpable, core limit 0 (started unlimited)" not_dumpable $HPID
release
hold "$BIN/api.fcgi" STRIPE_SECRET_KEY=sk_test_51HardeningTestKeyThatIsLongEnough PATH_INFO=/v1/customers
check "api.fcgi: not dumpable, core limit 0" not_dumpable $HPID
release
hold "$BIN/audit.cgi" PATH_INFO=/
check "audit.cgi: not dumpable, core limit 0" not_dumpable $HPID
release
# The CLI: a long-running worker.
prlimit --core=unlimited:unlimited -- setpriv --reuid=$WWW_UID --regid=$WWW_GID \
    --clear-groups env -i PATH=/usr/bin:/bin PAYGUARD_STATE_DIR="$STATE" \
    "$BIN/payguard" worker --interval 1 > /dev/null 2>>"$LOGS/cli.log" &
WPID=$!; track $WPID
check "payguard worker: not dumpable, core limit 0" not_dumpable $WPID
stop_pid $WPID; untrack $WPID

# config check: nothing of a secret under 32 characters, at most the
# last four of a longer one.
CLI_ENV=(PAYGUARD_STATE_DIR="$STATE" STRIPE_WEBHOOK_SECRET=whsec_abcdefghijklmnop
    PAYGUARD_TOKEN_PEPPER=pepper12345678x
    STRIPE_SECRET_KEY=sk_live_51ThisIsALongerSecretKeyValue9Z8Y)
out=$(pgcli config check)
check "config check: a 22-character webhook secret shows nothing" \
    grep -q '^STRIPE_WEBHOOK_SECRET=\*\*\*\*$' <<<"$out"
check "config check: a 15-character pepper shows nothing" \
    grep -q '^PAYGUARD_TOKEN_PEPPER=\*\*\*\*$' <<<"$out"
check "config check: a long key shows its prefix and last four only" \
    grep -q '^STRIPE_SECRET_KEY=sk_live_\*\*\*\*9Z8Y$' <<<"$out"
check "config check: no fragment of the short secrets" \
    bash -c '! grep -qE "mnop|5678x|678x" <<<"$1"' _ "$out"

finish
