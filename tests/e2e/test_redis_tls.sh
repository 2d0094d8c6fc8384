#!/bin/bash
# The two supported ways to reach Redis without plaintext on the network
# (hiredis 0.14 has no TLS; README: Several web servers), with
# webhook.fcgi as plain CGI on PAYGUARD_STORE=redis:
#   - TLS: a real redis-server serving TLS only (--port 0, --tls-port,
#     a certificate from a test CA, requirepass), payguard talking to a
#     local stunnel client tunnel (verifyChain, checkHost): events
#     accepted and stored, a duplicate detected; a tunnel that does not
#     trust the server's CA gets nothing through (503, nothing stored);
#     the Redis password reaches no log
#   - a unix socket (REDIS_URL=unix:///path?db=N), redis-server without
#     any TCP port, the socket readable by the web-server user only
# Ports 19574-19576.
. "$SRC/tests/harness/lib.sh"
pg_setup
make_handler
P_TLS=19574 P_TUN=19575 P_BAD=19576
need_ports $P_TLS $P_TUN $P_BAD
command -v redis-server >/dev/null || bail "redis-server is installed (tests/deps.sh)"
command -v stunnel4 >/dev/null || bail "stunnel4 is installed (tests/deps.sh)"

# ------------------------------------------------- a CA and a server cert
C=$BASE/certs
mkdir -p "$C"
(
	cd "$C" || exit 1
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt \
	    -days 2 -subj "/CN=payguard-test-ca" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key \
	    -out other-ca.crt -days 2 -subj "/CN=someone-else" &&
	openssl req -newkey rsa:2048 -nodes -keyout redis.key -out redis.csr \
	    -subj "/CN=redis.payguard.test" &&
	printf 'subjectAltName=DNS:redis.payguard.test\n' > ext &&
	openssl x509 -req -in redis.csr -CA ca.crt -CAkey ca.key \
	    -CAcreateserial -out redis.crt -days 2 -extfile ext
) > "$LOGS/openssl.log" 2>&1 || bail "openssl made a test CA and a server certificate"

RPW=pw$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
EXTRA_SECRETS=$RPW
RD=$BASE/redis-tls
mkdir -p "$RD"
redis-server --port 0 --tls-port $P_TLS --bind 127.0.0.1 \
    --tls-cert-file "$C/redis.crt" --tls-key-file "$C/redis.key" \
    --tls-ca-cert-file "$C/ca.crt" --tls-auth-clients no \
    --requirepass "$RPW" --dir "$RD" --appendonly yes --appendfsync always \
    --save '' --maxmemory-policy noeviction --logfile "$RD/redis.log" \
    --daemonize no >/dev/null 2>&1 &
TLS_PID=$!
track $TLS_PID
wait_port $P_TLS 10 || bail "redis-server serves TLS on 127.0.0.1:$P_TLS"
tcli() { REDISCLI_AUTH=$RPW redis-cli --tls --cacert "$C/ca.crt" --sni redis.payguard.test -p $P_TLS "$@" 2>/dev/null; }
n=100
until tcli ping | grep -q PONG || [ $n -eq 0 ]; do sleep 0.1; n=$((n - 1)); done
is "$(tcli ping)" PONG "redis-server answers over TLS (redis-cli --tls)"
is "$(REDISCLI_AUTH=$RPW timeout 5 redis-cli -p $P_TLS ping 2>/dev/null)" "" "the TLS port refuses plaintext clients"

# stunnel_client NAME PORT CAFILE: a client tunnel 127.0.0.1:PORT -> the
# TLS port, verifying the chain against CAFILE and the host name
stunnel_client() {
	cat > "$BASE/$1.conf" <<EOF
foreground = yes
pid =
output = $LOGS/stunnel-$1.log
[redis]
client = yes
accept = 127.0.0.1:$2
connect = 127.0.0.1:$P_TLS
CAfile = $3
verifyChain = yes
checkHost = redis.payguard.test
sni = redis.payguard.test
EOF
	stunnel4 "$BASE/$1.conf" > "$LOGS/stunnel-$1.out" 2>&1 &
	STUN_PID=$!
	track $STUN_PID
	wait_port "$2" 10 || bail "stunnel $1 listens on 127.0.0.1:$2"
}
stunnel_client tun $P_TUN "$C/ca.crt"
stunnel_client bad $P_BAD "$C/other-ca.crt"

CONF=(STRIPE_WEBHOOK_SECRET="$SECRET" STRIPE_WEBHOOK_ALLOWED_IPS=127.0.0.1
    STRIPE_API_VERSION=2024-06-20 PAYGUARD_WEBHOOK_HANDLER="$HANDLER"
    PAYGUARD_WEBHOOK_DELIVERY=sync PAYGUARD_STATE_DIR="$STATE"
    PAYGUARD_STORE=redis PAYGUARD_REDIS_TIMEOUT_MS=2000)
wh() {	# wh FILE REDIS_URL
	CGI_ENV=("${CONF[@]}" REDIS_URL="$2")
	cgi_run POST "$1" HTTP_STRIPE_SIGNATURE="$(sign "$1")"
}

# ------------------------------------------------------ through stunnel
newev
wh "$EVF" "redis://:$RPW@127.0.0.1:$P_TUN/0"
is "$RS/$(runs "$EV")" "200/1" "TLS via stunnel: event accepted and delivered"
is "$(tcli exists "pg:{ev}:e:$EV")" 1 "TLS via stunnel: the event is in the TLS-only Redis"
wh "$EVF" "redis://:$RPW@127.0.0.1:$P_TUN/0"
is "$RS/$(jb .duplicate)/$(runs "$EV")" "200/true/1" "TLS via stunnel: a second copy is a duplicate"
newev
wh "$EVF" "redis://:$RPW@127.0.0.1:$P_BAD/0"
is "$RS/$(jb .error.code)" "503/store_failure" "a tunnel that does not trust the server's CA: 503 (Stripe retries)"
is "$(tcli exists "pg:{ev}:e:$EV")/$(runs "$EV")" "0/0" "untrusted server: nothing stored, nothing delivered"
check "the untrusted tunnel refused the certificate (stunnel log)" grep -qiE 'certificate verify failed|CERT: Verification error|unable to get local issuer' "$LOGS/stunnel-bad.log"
wh "$EVF" "redis://:wrong@127.0.0.1:$P_TUN/0"
is "$RS/$(jb .error.code)/$(runs "$EV")" "503/store_failure/0" "a wrong Redis password: 503, nothing delivered"
check "the refusal is logged without the password" grep -q 'redis: authentication refused' "$LOGS/cgi.log"

# ------------------------------------------------------ a unix socket
# redis-server as the web-server user, no TCP port, the socket mode 0700:
# only that user connects.
US=$BASE/redis-unix
mkdir -p "$US"
chown $WWW:$WWW "$US"
chmod 0700 "$US"
setpriv --reuid=$WWW_UID --regid=$WWW_GID --clear-groups \
    redis-server --port 0 --unixsocket "$US/redis.sock" --unixsocketperm 700 \
    --dir "$US" --appendonly yes --appendfsync always --save '' \
    --maxmemory-policy noeviction --logfile "$US/redis.log" --daemonize no \
    >/dev/null 2>&1 &
UNIX_PID=$!
track $UNIX_PID
n=100
until [ -S "$US/redis.sock" ] || [ $n -eq 0 ]; do sleep 0.1; n=$((n - 1)); done
check "redis-server listens on a unix socket only" test -S "$US/redis.sock"
ucli() { redis-cli -s "$US/redis.sock" "$@" 2>/dev/null; }
newev
wh "$EVF" "unix://$US/redis.sock?db=3"
is "$RS/$(runs "$EV")" "200/1" "unix socket: event accepted and delivered"
is "$(ucli -n 3 exists "pg:{ev}:e:$EV")/$(ucli -n 0 exists "pg:{ev}:e:$EV")" "1/0" "unix socket: stored in db 3 as ?db=3 says"
wh "$EVF" "unix://$US/redis.sock?db=3"
is "$RS/$(jb .duplicate)/$(runs "$EV")" "200/true/1" "unix socket: a second copy is a duplicate"

scan_leaks "Redis over TLS and a socket" "$LOGS/cgi.log" "$AUDIT" "$LOGS"/stunnel-*.log
finish
