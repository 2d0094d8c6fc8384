#!/bin/bash
# `make run` (tests/harness/demo.sh): the self-test mode, and the
# interactive mode driven like a user: paste the printed command, then
# Ctrl-C (SIGINT to the demo's process group); `make run STORE=redis`'s
# self-test: two nodes sharing a local redis-server, one event sent to
# both delivered once, the token working on the second node, everything
# stopped afterwards.  Ports 19450-19456.
. "$SRC/tests/harness/lib.sh"
pg_setup
need_ports 19450 19451 19452 19453 19454 19455 19456
# none_left DIR: no live process runs one of DIR/bin's programs (a
# FastCGI child busy when lighttpd stopped once outlived a demo).
none_left() {
	local x p n=30
	while [ $n -gt 0 ]; do
		p=""
		for x in /proc/[0-9]*/exe; do
			case "$(readlink "$x" 2>/dev/null)" in
			"$1"/bin/*) x=${x#/proc/}; proc_alive "${x%/exe}" && p="$p ${x%/exe}" ;;
			esac
		done
		[ -z "$p" ] && return 0
		sleep 0.1; n=$((n - 1))
	done
	echo "still running:$p" >&2
	return 1
}

# ------------------------------------------------------------ self-test
DEMO_SELFTEST=1 PORT=19450 O="$O" timeout 60 sh "$SRC/tests/harness/demo.sh" > "$BASE/self.out" 2>&1
rc=$?
is "$rc" 0 "DEMO_SELFTEST=1: exits 0"
check "DEMO_SELFTEST=1: reports a 200 and a handler run" grep -q '^selftest: ok' "$BASE/self.out"
d=$(sed -n 's/.*files in \(\/tmp\/payguard-demo\.[A-Za-z0-9]*\).*/\1/p' "$BASE/self.out")
check "DEMO_SELFTEST=1: prints its directory ($d)" test -n "$d"
check "DEMO_SELFTEST=1: removes it" test ! -e "$d"
check "DEMO_SELFTEST=1: port 19450 free afterwards" wait_port_free 19450 5
check "DEMO_SELFTEST=1: no process of the demo left" none_left "$d"

# ------------------------------------------------ self-test, STORE=redis
DEMO_SELFTEST=1 STORE=redis PORT=19453 O="$O" timeout 90 sh "$SRC/tests/harness/demo.sh" > "$BASE/redis.out" 2>&1
rc=$?
is "$rc" 0 "STORE=redis DEMO_SELFTEST=1: exits 0"
check "STORE=redis: one event sent to both nodes is delivered once, the second node answers duplicate" \
    grep -q '^selftest: one event to both nodes: delivered 1 time(s), 1 duplicate answer(s)$' "$BASE/redis.out"
check "STORE=redis: the gateway token works on the second node" grep -q '^selftest: api on node b (the token is shared): HTTP/1.1 200' "$BASE/redis.out"
check "STORE=redis: prints the second node and the Redis server" grep -q 'a second node at http://127.0.0.1:19455' "$BASE/redis.out"
d=$(sed -n 's/.*files in \(\/tmp\/payguard-demo\.[A-Za-z0-9]*\).*/\1/p' "$BASE/redis.out")
rp=$(sed -n 's/.*redis-server pid \([0-9]*\).*/\1/p' "$BASE/redis.out")
check "STORE=redis: redis-server (pid $rp) is stopped" bash -c '[ -n "$1" ] && ! kill -0 "$1" 2>/dev/null' _ "$rp"
for p in 19453 19455 19456; do
	check "STORE=redis: port $p free afterwards" wait_port_free $p 5
done
check "STORE=redis: directory removed" test -n "$d" -a ! -e "$d"
check "STORE=redis: no process of the demo left" none_left "$d"
DEMO_SELFTEST=1 STORE=bogus PORT=19453 O="$O" timeout 30 sh "$SRC/tests/harness/demo.sh" > /dev/null 2>&1
is "$?" 2 "STORE=bogus: refused (exit 2)"

# ---------------------------------------------------------- interactive
# setsid: own process group, like a terminal job; SIGINT to the group is
# what Ctrl-C does.
PORT=19451 O="$O" setsid sh "$SRC/tests/harness/demo.sh" > "$BASE/demo.out" 2>&1 &
DP=$!
track $DP
check "demo: serves on 127.0.0.1:19451" wait_port 19451 15
for i in $(seq 50); do grep -q Ctrl-C "$BASE/demo.out" && break; sleep 0.1; done
d=$(sed -n 's/.*files in \(\/tmp\/payguard-demo\.[A-Za-z0-9]*\).*/\1/p' "$BASE/demo.out")
lp=$(sed -n 's/.*lighttpd pid \([0-9]*\).*/\1/p' "$BASE/demo.out")
cmd=$(grep -m1 -E '^  sh /tmp/payguard-demo\.[A-Za-z0-9]+/send-event\.sh$' "$BASE/demo.out" | sed 's/^  //')
check "demo: prints the URL" grep -q 'http://127.0.0.1:19451/webhook' "$BASE/demo.out"
check "demo: prints a ready-to-paste command ($cmd)" test -n "$cmd"
out=$(bash -c "$cmd" 2>&1)
is "$(echo "$out" | head -1 | tr -d '\r')" "HTTP/1.1 200 OK" "demo: the pasted command gets 200"
out2=$(bash -c "$cmd" 2>&1)
is "$(echo "$out2" | head -1 | tr -d '\r')" "HTTP/1.1 200 OK" "demo: pasted again (fresh event id): 200"
check "demo: the handler recorded both events" \
    bash -c '[ "$(grep -c "^[0-9T:Z-]* evt_demo_" "$1/out/events.log")" = 2 ]' _ "$d"
check "demo: the secret never reaches the audit log" \
    bash -c '! grep -qF -- "$(cat "$1/secret")" "$1/state/logs/security_audit.log" "$1/logs/error.log"' _ "$d"
# The gateway and the audit page, as printed.
api=$(grep -m1 -E '^  sh /tmp/payguard-demo\.[A-Za-z0-9]+/call-api\.sh' "$BASE/demo.out" | awk '{print $1, $2}')
check "demo: prints the gateway command ($api)" test -n "$api"
out3=$(bash -c "$api" 2>&1)
is "$(echo "$out3" | head -1 | tr -d '\r')" "HTTP/1.1 200 OK" "demo: the gateway creates a customer (200)"
check "demo: the gateway's answer is Stripe's customer object" \
    bash -c 'echo "$1" | grep -q "\"object\": *\"customer\""' _ "$out3"
pw=$(sed -n 's/.*(user admin, password \([0-9a-f]*\)).*/\1/p' "$BASE/demo.out")
check "demo: prints the audit page's password" test -n "$pw"
is "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:19451/audit)" 401 \
    "demo: the audit page wants credentials (401)"
is "$(curl -s -o /dev/null -w '%{http_code}' -u "admin:$pw" http://127.0.0.1:19451/audit)" 200 \
    "demo: the audit page with the printed credentials (200)"
check "demo: the Stripe secret key never reaches a log or the audit page" \
    bash -c '! grep -rqF -- "$(sed -n "s/^STRIPE_SECRET_KEY = //p" "$1/payguard.ini")" "$1/state/logs" "$1/logs"' _ "$d"
kill -INT -- -"$DP" 2>/dev/null
n=0; while proc_alive $DP && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
check "demo: Ctrl-C stops it" bash -c '! kill -0 $1 2>/dev/null || grep -q "^Z" <(sed "s/^.*) //" /proc/$1/stat)' _ $DP
wait $DP 2>/dev/null
untrack $DP
check "demo: lighttpd (pid $lp) is gone" bash -c '[ -n "$1" ] && ! kill -0 "$1" 2>/dev/null' _ "$lp"
check "demo: port 19451 free" wait_port_free 19451 5
check "demo: the fake Stripe's port 19452 free" wait_port_free 19452 5
check "demo: directory removed" test -n "$d" -a ! -e "$d"
check "demo: no process of the demo left" none_left "$d"
finish
