#!/bin/bash
# webhook.fcgi under lighttpd 1.4:
#   1. bin-path, the shipped apache-conf/lighttpd-payguard.conf included as is
#   2. a spawn-fcgi pool (the recipe in that file's comment) + lighttpd
#      connecting to its socket
# Both share one state dir: an event received by one is a duplicate for
# the other.  Ports 19120-19121.
. "$SRC/tests/harness/lib.sh"
pg_setup
make_handler
P_BIN=19120 P_EXT=19121
need_ports $P_BIN $P_EXT

INI=$BASE/payguard.ini
write_ini "$INI" STRIPE_WEBHOOK_SECRET="$SECRET" STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1,::1 \
    STRIPE_API_VERSION=2024-06-20 PAYGUARD_WEBHOOK_HANDLER="$HANDLER" \
    PAYGUARD_WEBHOOK_DELIVERY=sync PAYGUARD_RATE_LIMITS=webhook=1000
CLI_ENV=(PAYGUARD_STATE_DIR="$STATE" PAYGUARD_CONFIG="$INI")

# ------------------------------------------------------------ 1. bin-path
start_lighttpd lt $P_BIN "$INI" 2
LT_ERR=$ERRLOG
LT_URL=$WH_URL
LT_PID=$LIGHTTPD_PID
for i in $(seq 30); do	# lighttpd may still be spawning the second one
	workers=$(pids_of_exe "$BIN/webhook.fcgi")
	[ "$(echo $workers | wc -w)" -ge 2 ] && break
	sleep 0.1
done
is "$(echo $workers | wc -w)" 2 "bin-path: max-procs 2 -> two webhook.fcgi processes"
# ps, not the owner of /proc/PID: a process that is not dumpable (core
# dumps off, issue 9) has its /proc directory owned by root.
is "$(for p in $workers; do ps -o user= -p $p; done | sort -u)" "$WWW" "bin-path: they run as www-data"
check "bin-path: they got the bin-environment" \
    bash -c 'tr "\0" "\n" < "/proc/$1/environ" | grep -qx "PAYGUARD_CONFIG=$2"' _ "$(echo $workers | cut -d" " -f1)" "$INI"

webhook_server_cases bin-path "$LT_URL" lighttpd
A=$SC_EV AF=$SC_EVF

# ------------------------------------------------- 2. spawn-fcgi pool
start_spawn_fcgi sp "$INI" 2
is "$(for p in $SPAWN_PIDS; do ps -o user= -p $p; done | sort -u)" "$WWW" "spawn-fcgi: two processes, as www-data"
start_lighttpd_ext lx $P_EXT "$SPAWN_SOCK"
LX_ERR=$ERRLOG
post_event "$WH_URL" "$AF" "$(sign "$AF")"
is "$RS/$(jb .duplicate)/$(runs "$A")" "200/true/1" "spawn-fcgi: an event received via bin-path is a duplicate"
newev; B=$EV
post_event "$WH_URL" "$EVF" "$(sign "$EVF")"
is "$RS/$(jb .received)/$(runs "$B")" "200/true/1" "spawn-fcgi: valid event delivered"
check_headers "spawn-fcgi 200"
post_event "$LT_URL" "$EVF" "$(sign "$EVF")"
is "$RS/$(jb .duplicate)/$(runs "$B")" "200/true/1" "bin-path: an event received via spawn-fcgi is a duplicate"
http GET "$WH_URL"
expect_error 405 method_not_allowed "spawn-fcgi: GET"
inbox_json
is "$(inbox_field "$A" state)/$(inbox_field "$B" state)" "delivered/delivered" "inbox: both delivered"
# A FastCGI process removes the accept markers it owes in batches of 64
# (app.h): after 140 new events through the two pool processes at most
# 2 x 63 are left for the settling - before, every one was (unless the
# 10 s settling timer came round meanwhile, which can only lower this).
for i in $(seq 140); do
	newev
	post_event "$WH_URL" "$EVF" "$(sign "$EVF")"
	[ "$RS" = 200 ] || break
done
is "$RS/$i" "200/140" "spawn-fcgi: 140 more events accepted"
out=$(pgcli audit verify)
left=$(sed -n 's/^pending accept records: 0 appended, \([0-9]*\) already.*/\1/p' <<<"$out")
check "the processes removed their own accept markers in batches (${left:-0} of 140 left)" \
    test "${left:-0}" -le 126

# ------------------------------------------------------------- shutdown
stop_pid $LT_PID INT 10
left=$(pids_of_exe "$BIN/webhook.fcgi" | sort)
is "$left" "$(echo $SPAWN_PIDS | tr ' ' '\n' | sort)" "lighttpd stopped: only the spawn-fcgi processes remain"
for p in $SPAWN_PIDS; do stop_pid "$p" TERM 5; done
check "spawn-fcgi processes stopped by pid" test -z "$(pids_of_exe "$BIN/webhook.fcgi")"

check "audit log is JSON lines" audit_all_json "$AUDIT"
scan_leaks "lighttpd" "$AUDIT" "$LT_ERR" "$LX_ERR" "$BASE"/*/logs/*.log "$LOGS/cli.log"
finish
