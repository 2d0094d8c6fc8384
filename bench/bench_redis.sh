#!/bin/bash
# Several web servers on Redis (issue 11): webhook throughput and latency
# against ONE local redis-server with `appendonly yes`, `appendfsync
# always`, `noeviction` (on the normal disk), all measured in this run with
# wrk -t2 -c16 and distinct pre-signed ~1.5 KB events (bench/gen_events,
# bench/wrk_events.lua, as bench_webhook.sh):
#   (r)  webhook.fcgi, PAYGUARD_STORE=redis, PAYGUARD_SYNC=1, one lighttpd
#        node with max-procs 4
#   (l)  webhook.fcgi on LMDB, PAYGUARD_SYNC=1, same node and max-procs
#   (n)  two lighttpd nodes sharing the Redis, max-procs 2 each (the same 4
#        processes on the same 2 cores), two wrk -t1 -c8 at once (one per
#        node); (r) and (n) alternate twice (r n r n) against drift
#   (p)  the Python peer (bench/peer/app.py: Flask, stripe.Webhook.
#        construct_event, redis-py sliding window, SET NX dedup) under
#        gunicorn -w 4, on the SAME redis-server (its db 1)
#   (g)  the API gateway's added latency with PAYGUARD_STORE=redis
#        (bench/bench_api.sh against the same redis-server), right after
#        the same script on LMDB as this run's baseline
# Targets: (r) >= 3x (p) req/s and (r) p99 below (p)'s; (n) >= 0.9x (r);
# (g) added p99 <= 1 ms (bench_api.sh's target).
# Environment: O (absolute build dir), SRC.  Knobs: BENCH_SECONDS (4),
# BENCH_REDIS_EVENTS (events generated per measured run, 40000).  Ports
# 19580-19583 (node a, node b, Redis, the peer); bench_api.sh gets 19586-7.
# Markdown on stdout; progress on stderr.
set -u
O=${O:-$(pwd)/build}
SRC=${SRC:-$(pwd)}
PY=${PY:-/usr/bin/python3}
SECS=${BENCH_SECONDS:-4}
P0=19580
PA=$P0 PB=$((P0 + 1)) PR=$((P0 + 2)) PP=$((P0 + 3))
N_EV=${BENCH_REDIS_EVENTS:-40000}
WWW=www-data

say() { echo "bench_redis: $*" >&2; }
die() { say "$*"; exit 1; }
for f in "$O/webhook.fcgi" "$O/payguard" "$O/api.fcgi" "$O/bench/gen_events"; do
	[ -x "$f" ] || die "$f missing (make bench)"
done
for c in lighttpd wrk redis-server redis-cli curl /usr/bin/gunicorn runuser; do
	command -v $c >/dev/null || die "$c not installed"
done
for p in $PA $PB $PR $PP; do
	! ss -Htln "sport = :$p" 2>/dev/null | grep -q . || die "port $p is busy"
done

BASE=$(mktemp -d /tmp/payguard-bench-redis.XXXXXX) || die "mktemp"
EVD=$(mktemp -d /dev/shm/payguard-bench-redis.XXXXXX 2>/dev/null || mktemp -d)
chmod 755 "$BASE"
LPA="" LPB="" RP="" GP=""
alive() {
	local st
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "${st%% *}" != Z ]
}
stop_pid() {	# PID SIGNAL: signal, wait up to 5 s, then KILL
	local n=50
	[ -n "$1" ] || return 0
	kill -"$2" "$1" 2>/dev/null
	while [ $n -gt 0 ] && alive "$1"; do sleep 0.1; n=$((n - 1)); done
	alive "$1" && kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}
stop_node() {	# PID of a lighttpd: it, then the FastCGI children it left
	local kids p
	[ -n "$1" ] || return 0
	kids=$(ps -o pid= --ppid "$1" 2>/dev/null)
	stop_pid "$1" INT
	for p in $kids; do
		[ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$O/webhook.fcgi" ] &&
		    stop_pid "$p" TERM
	done
	return 0
}
cleanup() {
	stop_pid "$GP" TERM
	stop_node "$LPA"
	stop_node "$LPB"
	stop_pid "$RP" TERM
	rm -rf "$BASE" "$EVD"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# --------------------------------------------------------------- Redis
mkdir -p "$BASE/redis"
redis-server --bind 127.0.0.1 --port $PR --dir "$BASE/redis" \
    --appendonly yes --appendfsync always --save '' \
    --maxmemory 1gb --maxmemory-policy noeviction \
    --logfile "$BASE/redis.log" --daemonize no >/dev/null 2>&1 &
RP=$!
n=100
until redis-cli -p $PR ping 2>/dev/null | grep -q PONG; do
	n=$((n - 1)); [ $n -gt 0 ] && alive $RP || die "redis-server did not start"
	sleep 0.05
done
REDIS_URL=redis://127.0.0.1:$PR/0

# ---------------------------------------------------- lighttpd, two nodes
SECRET=whsec_bench_$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
KEY=$("$O/payguard" keygen) || die "payguard keygen failed"
for d in a b l n1 n2; do
	mkdir -p "$BASE/state-$d"
	chown $WWW:$WWW "$BASE/state-$d"
	chmod 700 "$BASE/state-$d"
done
wh_env() {	# STATE STORE NODE
	cat <<EOF
        "PAYGUARD_STATE_DIR" => "$BASE/state-$1",
        "PAYGUARD_STORE" => "$2",
        "PAYGUARD_NODE" => "$3",
        "REDIS_URL" => "$REDIS_URL",
        "PAYGUARD_SYNC" => "1",
        "STRIPE_WEBHOOK_SECRET" => "$SECRET",
        "STRIPE_WEBHOOK_ALLOWED_IPS" => "127.0.0.1",
        "PAYGUARD_RATE_LIMITS" => "webhook=100000000",
        "STRIPE_ENCRYPTION_KEY" => "$KEY",
EOF
}
wh_path() {	# PATH SOCK PROCS STATE STORE NODE
	cat <<EOF
  "$1" => ((
    "socket" => "\$L/run/$2.sock", "bin-path" => "$O/webhook.fcgi",
    "check-local" => "disable", "max-procs" => $3,
    "bin-environment" => (
$(wh_env "$4" "$5" "$6")
    ),
    "bin-copy-environment" => ( "PATH" ) )),
EOF
}
lighttpd_conf() {	# NAME PORT PATHS...
	local name=$1 port=$2 L=$BASE/lighttpd-$1
	shift 2
	mkdir -p "$L/run" "$L/logs" "$L/htdocs"
	chown $WWW:$WWW "$L/run" "$L/logs"
	{
		cat <<EOF
server.bind          = "127.0.0.1"
server.port          = $port
server.document-root = "$L/htdocs"
server.errorlog      = "$L/logs/error.log"
server.username      = "$WWW"
server.groupname     = "$WWW"
server.max-request-size = 1024
server.modules      += ( "mod_fastcgi" )
fastcgi.server += (
EOF
		printf '%s\n' "$@" | sed "s|\\\$L|$L|g"
		echo ")"
	} > "$L/lighttpd.conf"
	lighttpd -tt -f "$L/lighttpd.conf" >/dev/null 2>"$L/tt.log" ||
	    die "lighttpd -tt ($name): $(cat "$L/tt.log")"
}
lighttpd_conf a $PA "$(wh_path /wh-redis redis 4 a redis bench-a)" \
    "$(wh_path /wh-lmdb lmdb 4 l lmdb bench-l)" \
    "$(wh_path /wh-node node 2 n1 redis bench-n1)"
lighttpd_conf b $PB "$(wh_path /wh-node node 2 n2 redis bench-n2)"
start_lighttpd() {	# NAME PORT: its pid in LPID (a child of this shell)
	local L=$BASE/lighttpd-$1 n=100
	lighttpd -D -f "$L/lighttpd.conf" >"$L/logs/stdout.log" 2>&1 &
	LPID=$!
	until (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; do
		n=$((n - 1))
		[ $n -gt 0 ] && alive $LPID || die "lighttpd $1 did not start: $(cat "$L/logs/error.log")"
		sleep 0.05
	done
}
start_lighttpd a $PA
LPA=$LPID
start_lighttpd b $PB
LPB=$LPID

# ------------------------------------------------------------ wrk runs
# gen NAME PORT PATH FILES COUNT PREFIX (FILES: one per wrk thread)
gen() {
	"$O/bench/gen_events" "$SECRET" "$5" "$4" "$EVD/$1" "127.0.0.1:$2" \
	    "$3" "$6" 1500 >/dev/null || die "gen_events failed"
}
# wrk1 NAME PORT PATH THREADS CONNS SECONDS: the BENCH line on stdout
wrk1() {
	local out line
	out=$(BENCH_EVENTS="$EVD/$1" BENCH_CHECK=1 wrk -t"$4" -c"$5" -d"$6"s \
	    --timeout 5s -s "$SRC/bench/wrk_events.lua" "http://127.0.0.1:$2$3" 2>&1) ||
	    die "wrk failed: $out"
	line=$(echo "$out" | grep '^BENCH ' | tail -1)
	[ -n "$line" ] || die "wrk printed no BENCH line: $out"
	rm -f "$EVD/$1".*
	echo "$line"
}
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# one NAME PATH: warm-up, then a measured run on node a; R_<NAME> = line
one() {
	gen "w$1" $PA "$2" 2 4000 "w$1" >/dev/null
	wrk1 "w$1" $PA "$2" 2 16 1 >/dev/null
	gen "$1" $PA "$2" 2 "$N_EV" "$1"
	eval "R_$1=\"\$(wrk1 \"$1\" $PA \"$2\" 2 16 $SECS)\""
	say "$1: $(eval echo "\$R_$1")"
}
# two NAME: both nodes at once, one wrk -t1 -c8 each; sums in R_<NAME>
two() {
	local la lb
	gen "w$1a" $PA /wh-node 1 2000 "w$1a"; gen "w$1b" $PB /wh-node 1 2000 "w$1b"
	wrk1 "w$1a" $PA /wh-node 1 8 1 >/dev/null &
	local wp=$!
	wrk1 "w$1b" $PB /wh-node 1 8 1 >/dev/null
	wait $wp
	gen "$1a" $PA /wh-node 1 $((N_EV / 2)) "$1a"; gen "$1b" $PB /wh-node 1 $((N_EV / 2)) "$1b"
	wrk1 "$1a" $PA /wh-node 1 8 "$SECS" > "$BASE/$1a.line" &
	wp=$!
	wrk1 "$1b" $PB /wh-node 1 8 "$SECS" > "$BASE/$1b.line"
	wait $wp
	la=$(cat "$BASE/$1a.line") lb=$(cat "$BASE/$1b.line")
	say "$1 (node a): $la"
	say "$1 (node b): $lb"
	eval "R_$1=\"requests=$(( $(field "$la" requests) + $(field "$lb" requests) )) rps=$(( $(field "$la" rps) + $(field "$lb" rps) )) p50_us=$(( ($(field "$la" p50_us) + $(field "$lb" p50_us)) / 2 )) p99_us=$(( $(field "$la" p99_us) > $(field "$lb" p99_us) ? $(field "$la" p99_us) : $(field "$lb" p99_us) )) non2xx=$(( $(field "$la" non2xx) + $(field "$lb" non2xx) )) dup=$(( $(field "$la" dup) + $(field "$lb" dup) ))\""
}
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
say "load: $LOAD0"
say "(r) one node on Redis, round 1"; one r1 /wh-redis
say "(n) two nodes on Redis, round 1"; two n1
say "(r) one node on Redis, round 2"; one r2 /wh-redis
say "(n) two nodes on Redis, round 2"; two n2
say "(l) one node on LMDB"; one l /wh-lmdb
LOAD1=$(cut -d' ' -f1 /proc/loadavg)
# Every 200 is a new event: Redis must hold at least that many.
ok200=0
for v in r1 r2 n1 n2; do
	ok200=$(( ok200 + $(field "$(eval echo "\$R_$v")" requests) - $(field "$(eval echo "\$R_$v")" non2xx) ))
done
in_redis=$(redis-cli -p $PR --scan --pattern 'pg:{ev}:e:*' | wc -l)
stop_node "$LPA"; LPA=""
stop_node "$LPB"; LPB=""

# ------------------------------------------------------ (p) Python peer
say "(p) Python peer under gunicorn -w 4 on the same redis-server (db 1)"
env STRIPE_WEBHOOK_SECRET="$SECRET" PEER_REDIS_URL="redis://127.0.0.1:$PR/1" \
    PEER_RATE_LIMIT=100000000 PEER_ALLOWED_IPS=127.0.0.1 \
    /usr/bin/gunicorn --chdir "$SRC/bench/peer" -w 4 -b "127.0.0.1:$PP" \
    --error-logfile "$BASE/gunicorn.log" --log-level warning app:app &
GP=$!
n=200
until curl -s -o /dev/null "http://127.0.0.1:$PP/"; do
	n=$((n - 1)); [ $n -gt 0 ] && alive $GP || die "gunicorn did not start: $(tail -5 "$BASE/gunicorn.log")"
	sleep 0.05
done
gen wp $PP /webhook 2 2000 wp >/dev/null
wrk1 wp $PP /webhook 2 16 1 >/dev/null
gen p $PP /webhook 2 20000 p
R_p=$(wrk1 p $PP /webhook 2 16 "$SECS")
say "p: $R_p"
stop_pid "$GP" TERM; GP=""

# --------------------------------------------- (g) the gateway on Redis
# bench_api.sh twice in a row: on LMDB (the baseline of this run), then
# on the same redis-server.
redis-cli -p $PR flushdb >/dev/null
gw() {	# extra settings, title: bench_api.sh's Markdown on stdout
	BENCH_API_PORT=$((P0 + 6)) BENCH_API_CONF="$1" BENCH_API_TITLE="$2" \
	    BENCH_SECONDS=$SECS bash "$SRC/bench/bench_api.sh" 2>>"$BASE/api.err" ||
	    say "bench_api.sh failed: $(tail -5 "$BASE/api.err")"
}
say "(g) bench_api.sh on LMDB"
G_L=$(gw "" " on LMDB (baseline for the next)")
say "(g) bench_api.sh with PAYGUARD_STORE=redis"
G=$(gw "PAYGUARD_STORE=redis REDIS_URL=$REDIS_URL" " with PAYGUARD_STORE=redis (one local redis-server, AOF always)")
# added p50/p99 at 8 connections, then at 1, from bench_api.sh's text
g_fig() {	# MARKDOWN -> "p50_8 p99_8 p50_1 p99_1"
	echo "$1" | awk '
	    /^Added by the gateway at 8/ { s = $0; gsub(/\*/, "", s);
		match(s, /p50 [-0-9.]+/); a = substr(s, RSTART + 4, RLENGTH - 4);
		match(s, /p99 [-0-9.]+/); b = substr(s, RSTART + 4, RLENGTH - 4) }
	    /At 1 connection:/ { s = $0;
		match(s, /p50 [-0-9.]+/); c = substr(s, RSTART + 4, RLENGTH - 4);
		match(s, /p99 [-0-9.]+/); d = substr(s, RSTART + 4, RLENGTH - 4) }
	    END { print (a == "" ? "?" : a), (b == "" ? "?" : b), (c == "" ? "?" : c), (d == "" ? "?" : d) }'
}
set -- $(g_fig "$G_L"); gl50=$1 gl99=$2 gl50c1=$3 gl99c1=$4
set -- $(g_fig "$G"); gr50=$1 g_add99=$2 gr50c1=$3 gr99c1=$4
[ "$g_add99" = "?" ] && g_add99=""

# -------------------------------------------------------------- report
avg2() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (a + b) / 2 }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
f() { field "$(eval echo "\$R_$1")" "$2"; }
r_rps=$(avg2 "$(f r1 rps)" "$(f r2 rps)")
r_p99=$(avg2 "$(f r1 p99_us)" "$(f r2 p99_us)")
n_rps=$(avg2 "$(f n1 rps)" "$(f n2 rps)")
p_rps=$(f p rps) p_p99=$(f p p99_us)
x_peer=$(awk -v a="$r_rps" -v b="$p_rps" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')
x_nodes=$(awk -v a="$n_rps" -v b="$r_rps" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
x_lmdb=$(awk -v a="$r_rps" -v b="$(f l rps)" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
t_peer=$(awk -v x="$x_peer" 'BEGIN { print (x >= 3 ? "PASS" : "MISSED") }')
t_p99=$(awk -v a="$r_p99" -v b="$p_p99" 'BEGIN { print (a < b ? "PASS" : "ABOVE") }')
t_nodes=$(awk -v x="$x_nodes" 'BEGIN { print (x >= 0.9 ? "PASS" : "MISSED") }')
t_gw=$(awk -v a="${g_add99:-x}" 'BEGIN { if (a == "x") print "MISSED (no figure)"; else print (a + 0 <= 1.0 ? "PASS" : "ABOVE") }')
row() {	# NAME LABEL
	echo "| $2 | $(f "$1" rps) | $(ms "$(f "$1" p50_us)") | $(ms "$(f "$1" p99_us)") | $(f "$1" requests) | $(f "$1" non2xx) | $(f "$1" dup) |"
}
cat <<MD

## Several web servers: webhook.fcgi on Redis (wrk, ${SECS} s per run, one redis-server with AOF always)

One local redis-server 7.0 (\`appendonly yes\`, \`appendfsync always\`, \`noeviction\`, on
$(df -T "$BASE" | awk 'NR == 2 { print $2 }')), PAYGUARD_SYNC=1 everywhere, rate limiter on (set high), queue delivery,
distinct ~1.5 KB signed events; load average $LOAD0 before, $LOAD1 after; $(nproc) cores shared by wrk,
lighttpd, the FastCGI processes and Redis.

| run | req/s | p50 ms | p99 ms | responses | non-2xx | "duplicate" |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
$(row r1 "(r) one node on Redis, max-procs 4, round 1")
$(row r2 "(r) one node on Redis, max-procs 4, round 2")
$(row n1 "(n) two nodes on one Redis, max-procs 2 each, round 1 (sum; p50 mean, p99 max)")
$(row n2 "(n) two nodes on one Redis, max-procs 2 each, round 2")
$(row l "(l) one node on LMDB, max-procs 4")
$(row p "(p) Python peer: Flask + stripe-python + redis-py, gunicorn -w 4, same Redis")

Every accepted event is in Redis: $in_redis event records after the runs (including warm-ups), $ok200 200s in the
measured Redis runs. Redis vs LMDB on the same node: ${x_lmdb}x the throughput.

| target | measured | result |
| --- | --- | --- |
| (r) >= 3x the peer's req/s | ${x_peer}x ($r_rps vs $p_rps req/s) | $t_peer |
| (r) p99 below the peer's | $(ms "$r_p99") ms vs $(ms "$p_p99") ms | $t_p99 |
| (n) two nodes >= 0.9x one node | ${x_nodes}x ($n_rps vs $r_rps req/s, means of two rounds) | $t_nodes |
| (g) gateway's added p99 on Redis <= 1 ms (8 connections) | ${g_add99:-?} ms | $t_gw |

The gateway's added latency (through api.fcgi minus straight to the fake, GET /v1/customers/<id>), the
same run, LMDB first, then Redis (token lookup and rate window on Redis: one script call each, two round trips per request):

| store | added p50, 8 conns | added p99, 8 conns | added p50, 1 conn | added p99, 1 conn |
| --- | ---: | ---: | ---: | ---: |
| LMDB | $gl50 ms | $gl99 ms | $gl50c1 ms | $gl99c1 ms |
| Redis | $gr50 ms | ${g_add99:-?} ms | $gr50c1 ms | $gr99c1 ms |

What scales with nodes and what with Redis: signature checks, JSON validation, encryption and the
audit log are per node (CPU of the web servers: more nodes, more of it); every accepted event costs
one script call and one fsynced AOF append on the one Redis primary, shared by all nodes (Redis
batches the fsync of concurrent clients, so it is one fsync per event-loop round, not per event).
On 2 cores the two-node run can only show that coordination through Redis does not collapse
throughput; beyond the web servers' CPU, the ceiling is the primary's fsync rate.
${G}
MD
