#!/bin/bash
# Webhook receiver throughput (issue 2): wrk -t2 -c16 against lighttpd on
# 127.0.0.1, distinct signed ~1.5 KB Stripe-like events, all in this run:
#   (a) bench/bare_fcgi: FastCGI responder that only reads the body -- the
#       ceiling under the same lighttpd configuration
#   (b) webhook.fcgi, PAYGUARD_SYNC=1 (every accepted event fsynced)
#   (c) webhook.fcgi, PAYGUARD_SYNC=0
#   (d) bench/lmdb_commit: raw LMDB synced single-put commits, same disk
#   (e) the Python peer (bench/peer: Flask + stripe-python + Redis under
#       gunicorn, as many sync workers as max-procs), wrk straight at it
# plus the callgrind instruction count of one plain-CGI request, next to
# the OpenSSL 3 floor (bench/openssl_floor) measured the same way.
# Targets: (c) >= 60% of (a) req/s with p99 <= 2 ms; (b) >= 80% of (d);
# one CGI request <= 5 M instructions.
# Environment: O (absolute build dir), SRC (checkout).  Knobs:
# BENCH_SECONDS (4), BENCH_PROCS (lighttpd max-procs, 4), BENCH_PORT (19540),
# BENCH_EVENTS_{A,B,C} (events generated per run), BENCH_CHECK (1: wrk
# looks at every response body for "duplicate"; 0 makes wrk lighter).
# Prints a Markdown section on stdout; progress goes to stderr.
# max-procs 4 (per program): the box has 2 cores, and wrk and lighttpd use
# about half of them; with 4 processes one process's CPU work overlaps
# another's wait for the LMDB write lock (and, with PAYGUARD_SYNC=1, for
# fsync), which 2 processes cannot do.  Measured while writing this: bare
# 21.5k vs 16.5k req/s, webhook SYNC=0 8.4k vs 6.2k req/s for 4 vs 2; SYNC=1
# the same within noise.  The same setting applies to all three programs.
set -u
O=${O:-$(pwd)/build}
SRC=${SRC:-$(pwd)}
SECS=${BENCH_SECONDS:-4}
PROCS=${BENCH_PROCS:-4}
PORT=${BENCH_PORT:-19540}
N_A=${BENCH_EVENTS_A:-120000}
N_B=${BENCH_EVENTS_B:-40000}
N_C=${BENCH_EVENTS_C:-80000}
N_WARM=${BENCH_EVENTS_WARM:-12000}
CHECK=${BENCH_CHECK:-1}
WWW=www-data
CONNS=16
THREADS=2

say() { echo "bench_webhook: $*" >&2; }
die() { say "$*"; exit 1; }

for f in "$O/webhook.fcgi" "$O/payguard" "$O/bench/bare_fcgi" \
    "$O/bench/lmdb_commit" "$O/bench/gen_events" "$O/bench/openssl_floor"; do
	[ -x "$f" ] || die "$f missing (make bench)"
done
for c in lighttpd wrk valgrind callgrind_annotate runuser redis-server \
    redis-cli curl /usr/bin/gunicorn; do
	command -v $c >/dev/null || die "$c not installed"
done
[ "$PORT" -ge 19500 ] && [ "$PORT" -le 19599 ] || die "BENCH_PORT must be in 19500-19599"
if ss -Htln "sport = :$PORT" 2>/dev/null | grep -q .; then
	die "port $PORT is busy"
fi

# ------------------------------------------------------------ scratch space
# State dirs on the normal disk (/tmp is ext4 here, not tmpfs) so fsync
# costs are real; the pre-signed requests on tmpfs so that writing them
# adds no disk writeback to the measurement.
BASE=$(mktemp -d /tmp/payguard-bench.XXXXXX) || die "mktemp"
EVD=$(mktemp -d /dev/shm/payguard-bench-ev.XXXXXX 2>/dev/null || mktemp -d)
chmod 755 "$BASE"
LP=""
KIDS=""
alive() {	# PID: running and not a zombie (PID 1 reaps late)
	local st
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "${st%% *}" != Z ]
}
mine() {	# PID: one of the FastCGI programs this script had lighttpd start
	case "$(readlink "/proc/$1/exe" 2>/dev/null)" in
	"$O/webhook.fcgi"|"$O/bench/bare_fcgi") return 0 ;;
	esac
	return 1
}
stop_lighttpd() {
	local p n
	[ -n "$LP" ] || return 0
	kill -INT "$LP" 2>/dev/null
	n=50
	while [ $n -gt 0 ] && alive "$LP"; do sleep 0.1; n=$((n - 1)); done
	alive "$LP" && kill -KILL "$LP" 2>/dev/null
	wait "$LP" 2>/dev/null
	LP=""
	# The bin-path children leave after a graceful stop; make sure, by pid.
	for p in $KIDS; do
		n=30
		while [ $n -gt 0 ] && alive "$p" && mine "$p"; do sleep 0.1; n=$((n - 1)); done
		alive "$p" && mine "$p" && kill -TERM "$p" 2>/dev/null
	done
	KIDS=""
}
. "$SRC/bench/peer/peer.sh"
cleanup() {
	stop_lighttpd
	peer_stop
	rm -rf "$BASE" "$EVD"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

SECRET=whsec_bench_$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
KEY=$("$O/payguard" keygen) || die "payguard keygen failed"
L=$BASE/lighttpd
mkdir -p "$L/run" "$L/logs" "$L/htdocs" "$BASE/state-sync" "$BASE/state-nosync"
chown $WWW:$WWW "$L/run" "$L/logs" "$BASE/state-sync" "$BASE/state-nosync"
chmod 700 "$BASE/state-sync" "$BASE/state-nosync"

wh_env() {	# lighttpd bin-environment entries for state dir $1, sync $2
	cat <<EOF
        "PAYGUARD_STATE_DIR" => "$1",
        "PAYGUARD_SYNC" => "$2",
        "STRIPE_WEBHOOK_SECRET" => "$SECRET",
        "STRIPE_WEBHOOK_ALLOWED_IPS" => "127.0.0.1",
        "PAYGUARD_RATE_LIMITS" => "webhook=100000000",
        "STRIPE_ENCRYPTION_KEY" => "$KEY",
EOF
}
cat > "$L/lighttpd.conf" <<EOF
server.bind          = "127.0.0.1"
server.port          = $PORT
server.document-root = "$L/htdocs"
server.pid-file      = "$L/run/lighttpd.pid"
server.errorlog      = "$L/logs/error.log"
server.username      = "$WWW"
server.groupname     = "$WWW"
server.max-request-size = 1024
server.modules      += ( "mod_fastcgi" )
fastcgi.server += (
  "/bare" => ((
    "socket" => "$L/run/bare.sock", "bin-path" => "$O/bench/bare_fcgi",
    "check-local" => "disable", "max-procs" => $PROCS )),
  "/wh-sync" => ((
    "socket" => "$L/run/sync.sock", "bin-path" => "$O/webhook.fcgi",
    "check-local" => "disable", "max-procs" => $PROCS,
    "bin-environment" => (
$(wh_env "$BASE/state-sync" 1)
    ),
    "bin-copy-environment" => ( "PATH" ) )),
  "/wh-nosync" => ((
    "socket" => "$L/run/nosync.sock", "bin-path" => "$O/webhook.fcgi",
    "check-local" => "disable", "max-procs" => $PROCS,
    "bin-environment" => (
$(wh_env "$BASE/state-nosync" 0)
    ),
    "bin-copy-environment" => ( "PATH" ) )),
)
EOF
lighttpd -tt -f "$L/lighttpd.conf" >/dev/null 2>"$L/logs/tt.log" ||
    die "lighttpd -tt: $(cat "$L/logs/tt.log")"

# payguard CLI as www-data with the webhook's environment for state dir $1
cli() {
	local st=$1 sync=$2
	shift 2
	runuser -u $WWW -- env -i PATH=/usr/bin:/bin PAYGUARD_STATE_DIR="$st" \
	    PAYGUARD_SYNC="$sync" STRIPE_WEBHOOK_SECRET="$SECRET" \
	    STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1 \
	    PAYGUARD_RATE_LIMITS=webhook=100000000 STRIPE_ENCRYPTION_KEY="$KEY" \
	    "$O/payguard" "$@"
}
inbox_count() {
	cli "$1" "$2" inbox list --json | ${PY:-/usr/bin/python3} -c \
	    'import json,sys; print(len(json.load(sys.stdin)))'
}

# gen NAME PATH COUNT IDPREFIX: pre-signed requests, fresh timestamp
gen() {
	"$O/bench/gen_events" "$SECRET" "$3" $THREADS "$EVD/$1" \
	    "127.0.0.1:$PORT" "$2" "$4" 1500 || die "gen_events failed"
}
# run NAME PATH SECONDS: wrk; sets R_<field> from the script's BENCH line
run() {
	local out line kv
	out=$(BENCH_EVENTS="$EVD/$1" BENCH_CHECK=$CHECK wrk -t$THREADS \
	    -c$CONNS -d"$3"s --timeout 5s -s "$SRC/bench/wrk_events.lua" \
	    "http://127.0.0.1:$PORT$2" 2>&1) || die "wrk failed: $out"
	line=$(echo "$out" | grep '^BENCH ' | tail -1)
	[ -n "$line" ] || die "wrk printed no BENCH line: $out"
	say "$1: $line"
	for kv in ${line#BENCH }; do
		eval "R_${kv%%=*}=${kv#*=}"
	done
	rm -f "$EVD/$1".*
}
# keep NAME: copy the R_ figures to NAME_<field>
keep() {
	local v
	for v in requests rps p50_us p99_us non2xx sent overflow non200 dup \
	    connect read write timeout; do
		eval "$1_$v=\$R_$v"
	done
}

# --------------------------------------------------- (d) raw LMDB commits
say "load: $(cut -d' ' -f1-3 /proc/loadavg)"
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
# (d) runs twice, before and after the server runs, single process: the
# disk's flush latency drifts with whatever else the machine does.
lmdb_raw() {	# sets d<N>_rate, d<N>_p50, d<N>_p99, d<N>_mean
	local out
	say "(d) lmdb_commit, run $1"
	out=$("$O/bench/lmdb_commit" "$BASE/lmdb-raw" 100000 2200 "$SECS") ||
	    die "lmdb_commit failed"
	rm -rf "$BASE/lmdb-raw"
	eval "d$1_rate=$(echo "$out" | awk '$1 == "commits_per_s" { print $2 }')"
	eval "d$1_p50=$(echo "$out" | awk '$1 == "p50_us" { print $2 }')"
	eval "d$1_p99=$(echo "$out" | awk '$1 == "p99_us" { print $2 }')"
	eval "d$1_mean=$(echo "$out" | awk '$1 == "mean_us" { print $2 }')"
}
lmdb_raw 1

# ------------------------------------------------------------- lighttpd up
lighttpd -D -f "$L/lighttpd.conf" >"$L/logs/stdout.log" 2>&1 &
LP=$!
n=100
until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
	n=$((n - 1))
	[ $n -gt 0 ] && kill -0 $LP 2>/dev/null || die "lighttpd did not start: $(cat "$L/logs/error.log")"
	sleep 0.05
done
# lighttpd starts max-procs processes per program at start-up.
n=50
while [ "$(ps -o pid= --ppid "$LP" | wc -l)" -lt $((3 * PROCS)) ] && [ $n -gt 0 ]; do
	sleep 0.1; n=$((n - 1))
done
KIDS=$(ps -o pid= --ppid "$LP")

# NAME PATH N PREFIX: 1 s warm-up with its own events, then the run
measure() {
	gen "w$1" "$2" "$N_WARM" "w$4"
	run "w$1" "$2" 1
	keep "w$1"
	gen "$1" "$2" "$3" "$4"
	run "$1" "$2" "$SECS"
	keep "$1"
}
say "(a) bare_fcgi"
measure a /bare "$N_A" a
say "(b) webhook.fcgi PAYGUARD_SYNC=1"
measure b /wh-sync "$N_B" b
say "(c) webhook.fcgi PAYGUARD_SYNC=0"
measure c /wh-nosync "$N_C" c
LOAD1=$(cut -d' ' -f1 /proc/loadavg)

# Inbox check: every 200 is a new event (no duplicates), so the inbox
# holds at least the 200s and at most the requests wrk generated (the
# last ones may have been in flight when wrk stopped; the count of
# generated ones includes one that wrk's start-up check never sends).
b_inbox=$(inbox_count "$BASE/state-sync" 1)
c_inbox=$(inbox_count "$BASE/state-nosync" 0)
verdict_inbox() {	# NAME INBOX
	local ok=$(( $1_requests + w$1_requests - $1_non2xx - w$1_non2xx ))
	local gen=$(( $1_sent + w$1_sent ))
	if [ "$2" -ge "$ok" ] && [ "$2" -le "$gen" ]; then
		echo "ok: $2 events in the inbox, $ok 200s, $gen requests generated"
	else
		echo "MISMATCH: $2 events in the inbox, $ok 200s, $gen requests generated"
	fi
}
b_check=$(verdict_inbox b "$b_inbox")
c_check=$(verdict_inbox c "$c_inbox")
errlines=$(grep -vc 'server started\|server stopped\|graceful shutdown' "$L/logs/error.log" 2>/dev/null)
errlines=${errlines:-0}
stop_lighttpd

# (e) the Python peer on the next two ports of the range, same events
# shape, same rate limit, after lighttpd is gone (nothing else running).
say "(e) Python peer (Flask + stripe-python + Redis, gunicorn -w $PROCS)"
PEER_RATE_LIMIT=100000000 PEER_ALLOWED_IPS=127.0.0.1 \
    peer_start "$BASE/peer" $((PORT + 1)) $((PORT + 2)) "$PROCS" "$SECRET" ||
    die "the Python peer did not start"
pgen() {	# NAME COUNT PREFIX: as gen, for the peer's port
	"$O/bench/gen_events" "$SECRET" "$2" $THREADS "$EVD/$1" \
	    "127.0.0.1:$((PORT + 1))" /webhook "$3" 1500 || die "gen_events failed"
}
runp() {	# NAME SECONDS
	local out line kv
	out=$(BENCH_EVENTS="$EVD/$1" BENCH_CHECK=$CHECK wrk -t$THREADS \
	    -c$CONNS -d"$2"s --timeout 5s -s "$SRC/bench/wrk_events.lua" \
	    "http://127.0.0.1:$((PORT + 1))/webhook" 2>&1) || die "wrk failed: $out"
	line=$(echo "$out" | grep '^BENCH ' | tail -1)
	[ -n "$line" ] || die "wrk printed no BENCH line: $out"
	say "$1: $line"
	for kv in ${line#BENCH }; do
		eval "R_${kv%%=*}=${kv#*=}"
	done
	rm -f "$EVD/$1".*
}
pgen we 4000 we
runp we 1
keep we
pgen e 20000 e
runp e "$SECS"
keep e
e_list=$(redis-cli -p $((PORT + 2)) llen events)
peer_stop

lmdb_raw 2
avg() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (a + b) / 2 }'; }
d_rate=$(avg "$d1_rate" "$d2_rate")
d_p50=$(avg "$d1_p50" "$d2_p50")
d_p99=$(avg "$d1_p99" "$d2_p99")
d_mean=$(avg "$d1_mean" "$d2_mean")

# ---------------------------------------------------- callgrind, one CGI
say "callgrind"
CG=$BASE/cg
mkdir -p "$CG"
gen cg /webhook 1 cg
body=$(tr '\0' '\n' < "$EVD/cg.0" | sed -n '/^\r$/,$p' | sed 1d | head -1)
printf '%s' "$body" > "$CG/body.json"
sig=$(tr -d '\r' < "$EVD/cg.0" | sed -n 's/^Stripe-Signature: //p')
(cd "$CG" && env -i PATH=/usr/bin:/bin REQUEST_METHOD=POST \
    CONTENT_LENGTH=$(stat -c %s "$CG/body.json") CONTENT_TYPE=application/json \
    REMOTE_ADDR=127.0.0.1 SCRIPT_NAME=/webhook HTTP_STRIPE_SIGNATURE="$sig" \
    PAYGUARD_STATE_DIR="$CG/state" STRIPE_WEBHOOK_SECRET="$SECRET" \
    STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1 PAYGUARD_RATE_LIMITS=webhook=100000000 \
    STRIPE_ENCRYPTION_KEY="$KEY" \
    valgrind --tool=callgrind --callgrind-out-file="$CG/cg.out" \
    "$O/webhook.fcgi" < "$CG/body.json" > "$CG/resp.txt" 2> "$CG/vg.log")
cg_status=$(sed -n 's/^Status: \([0-9]*\).*/\1/p' "$CG/resp.txt" | head -1)
cg_resp=$(tail -1 "$CG/resp.txt" | tr -d '\r')
cg_total=$(callgrind_annotate "$CG/cg.out" 2>/dev/null |
    awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
# The OpenSSL 3 floor: a program that does only the request's unavoidable
# cryptography (HMAC-SHA256 and AES-128-CBC of 1.5 KB, via EVP) and exits.
floor_ir() {
	(cd "$CG" && valgrind --tool=callgrind --callgrind-out-file="$CG/floor$1.out" \
	    "$O/bench/openssl_floor" $1 > /dev/null 2>&1) &&
	    callgrind_annotate "$CG/floor$1.out" 2>/dev/null |
	    awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }'
}
floor=$(floor_ir "")
floor_nc=$(floor_ir noconfig)
# Inclusive cost of the phases, and self cost per shared object.
callgrind_annotate --inclusive=yes --threshold=100 "$CG/cg.out" > "$CG/incl.txt" 2>/dev/null
callgrind_annotate --threshold=100 "$CG/cg.out" > "$CG/self.txt" 2>/dev/null
incl() {	# FUNCTION -> inclusive Ir (largest entry whose name is FUNCTION)
	awk -v f="$1" '{ n = $0; sub(/^ *[0-9,]+ +(\([^)]*\) +)?/, "", n);
	    sub(/ \[.*$/, "", n); sub(/^.*:/, "", n);
	    if (n == f) { v = $1; gsub(",", "", v); if (v + 0 > best) best = v + 0 } }
	    END { print best + 0 }' "$CG/incl.txt"
}
by_object() {	# self Ir grouped by shared object, top 8
	awk '/^ *[0-9,]+ +\(/ && /\[\/.*\]$/ { v = $1; gsub(",", "", v);
	    o = $0; sub(/^.*\[/, "", o); sub(/\].*$/, "", o); sub(/^.*\//, "", o);
	    s[o] += v } END { for (o in s) printf "%d %s\n", s[o], o }' "$CG/self.txt" |
	    sort -rn | head -8
}

# ------------------------------------------------------------------ report
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b > 0 ? 100 * a / b : 0) }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
mi() { awk -v i="$1" 'BEGIN { printf "%.2f M", i / 1e6 }'; }
c_a=$(ratio "$c_rps" "$a_rps")
c_e=$(awk -v a="$c_rps" -v b="$e_rps" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')
b_d=$(ratio "$b_rps" "$d_rate")
t1=$(awk -v r="$c_a" -v p="$c_p99_us" 'BEGIN { print (r >= 60 && p <= 2000 ? "PASS" : "MISS") }')
t2=$(awk -v r="$b_d" 'BEGIN { print (r >= 80 ? "PASS" : "MISS") }')
t4=$(awk -v r="$c_e" 'BEGIN { print (r >= 5 ? "PASS" : "MISS") }')
t3=$(awk -v i="$cg_total" 'BEGIN { print (i > 0 && i <= 5000000 ? "PASS" : "MISS") }')
row() {	# NAME LABEL
	local n=$1 rps p50 p99 req bad dup ovf
	eval "rps=\$${n}_rps p50=\$${n}_p50_us p99=\$${n}_p99_us req=\$${n}_requests"
	eval "bad=\$${n}_non2xx dup=\$${n}_dup ovf=\$${n}_overflow"
	echo "| $2 | $rps | $(ms "$p50") | $(ms "$p99") | $req | $bad | $dup | $ovf |"
}
cat <<MD

## Webhook receiver under lighttpd (wrk -t$THREADS -c$CONNS, ${SECS} s per run, max-procs $PROCS)

max-procs $PROCS per program (2 cores: 4 lets CPU work overlap the waits for the LMDB write lock and fsync).
Distinct ~1.5 KB signed events (pre-signed by bench/gen_events, one use each), rate limiter on
(webhook=100000000), queue delivery, state on $(df -T "$BASE" | awk 'NR == 2 { print $2 }'); load average $LOAD0 before, $LOAD1 after.

| run | req/s | p50 ms | p99 ms | responses | non-2xx | "duplicate" | reused requests |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
$(row a "(a) bare_fcgi (ceiling)")
$(row b "(b) webhook.fcgi, PAYGUARD_SYNC=1")
$(row c "(c) webhook.fcgi, PAYGUARD_SYNC=0")
$(row e "(e) Python peer: Flask + stripe-python + Redis, gunicorn")
| (d) raw LMDB synced commit, 1 process (mean of $d1_rate before and $d2_rate after the server runs) | $d_rate commits/s | $(ms "$d_p50") | $(ms "$d_p99") | mean $(ms "$d_mean") ms | | | |

Socket errors (connect/read/write/timeout): a $a_connect/$a_read/$a_write/$a_timeout,
b $b_connect/$b_read/$b_write/$b_timeout, c $c_connect/$c_read/$c_write/$c_timeout;
lighttpd error-log lines: $errlines. "duplicate" counts responses whose body said so
$( [ "$CHECK" = 1 ] && echo "(every body checked)" || echo "(not checked: BENCH_CHECK=0)").

Inbox after the runs (\`payguard inbox list --json\` as $WWW; includes the 1 s warm-up):
(b) $b_check; (c) $c_check. The peer's Redis list after its runs: $e_list event ids.

| target | measured | result |
| --- | --- | --- |
| (c) >= 60% of (a) req/s, p99 <= 2 ms | ${c_a}%, p99 $(ms "$c_p99_us") ms | $t1 |
| (b) >= 80% of (d) | ${b_d}% | $t2 |
| (c) >= 5x (e), the Python peer | ${c_e}x | $t4 |
| one plain-CGI request <= 5 M Ir | $(mi "$cg_total") (status $cg_status) | $t3 |

The OpenSSL 3 floor under that last target, same run: bench/openssl_floor, which only loads libcrypto,
HMACs 1.5 KB with SHA-256 and AES-128-CBC-encrypts 1.5 KB through EVP (the cryptography a webhook request
cannot skip) and exits, costs **$(mi "$floor")** ($(mi "$floor_nc") without reading openssl.cnf). Whatever
payguard does, a plain-CGI request built on OpenSSL 3's EVP API cannot come under that; the webhook's
own work is the difference, $(mi "$(awk -v a="$cg_total" -v b="$floor" 'BEGIN { print a - b }')").

Callgrind, one CGI request (fresh state dir, fixed key), inclusive Ir of the phases (rows overlap: a one-time
OpenSSL cost lands in whichever phase first needs it, e.g. the DRBG in http_accept's request id):

| phase | Ir |
| --- | ---: |
| total | $(mi "$cg_total") |
| dynamic loader before main (_dl_start) | $(mi "$(incl _dl_start)") |
| main (setup + the request) | $(mi "$(incl main)") |
| setup: config_load | $(mi "$(incl config_load)") |
| setup: keyring_load | $(mi "$(incl keyring_load)") |
| setup: store_open (LMDB env + 8 dbs) | $(mi "$(incl store_open)") |
| setup: sig_ctx_new (first EVP_MAC_fetch: OpenSSL init, config file, provider) | $(mi "$(incl sig_ctx_new)") |
| of which OPENSSL_init_crypto | $(mi "$(incl OPENSSL_init_crypto)") |
| first EVP_CIPHER_fetch (Fernet AES) | $(mi "$(incl EVP_CIPHER_fetch)") |
| RAND_bytes (first call instantiates the DRBG) | $(mi "$(incl RAND_bytes)") |
| http_accept (incl. request id) | $(mi "$(incl http_accept)") |
| rl_check | $(mi "$(incl rl_check)") |
| sig_verify | $(mi "$(incl sig_verify)") |
| event_validate (json-c) | $(mi "$(incl event_validate)") |
| inbox_accept (seal + LMDB txn) | $(mi "$(incl inbox_accept)") |
| audit_emit | $(mi "$(incl audit_emit)") |
| http_send | $(mi "$(incl http_send)") |

Self Ir by shared object: $(by_object | awk '{ printf "%s%s %.2f M", (NR > 1 ? ", " : ""), $2, $1 / 1e6 }').
MD
