# bench/peer/peer.sh - start and stop the Python peer (app.py under
# gunicorn, with its own redis-server).  Source it from a bench script:
#
#   . "$SRC/bench/peer/peer.sh"
#   peer_start DIR HTTP_PORT REDIS_PORT WORKERS SECRET   # returns when both answer
#   ...  wrk http://127.0.0.1:HTTP_PORT/webhook ...
#   peer_stop                                          # by pid, waits
#
# DIR is a scratch directory (logs, redis dir); ports are the caller's
# (bench_webhook.sh uses its own range).  Extra app settings (PEER_RATE_LIMIT
# and friends, see app.py) pass through the environment.  Uses Debian's
# /usr/bin/gunicorn and /usr/bin/python3 (python3-flask, python3-redis,
# python3-stripe) and redis-server.  Sets PEER_GUNICORN_PID and
# PEER_REDIS_PID; peer_stop clears them.

PEER_GUNICORN_PID=""
PEER_REDIS_PID=""
PEER_DIR_=""

_peer_alive() {	# PID: running and not a zombie
	local st
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "${st%% *}" != Z ]
}
_peer_kill() {	# PID: TERM, wait up to 5 s, then KILL
	local n=50
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	while [ $n -gt 0 ] && _peer_alive "$1"; do sleep 0.1; n=$((n - 1)); done
	_peer_alive "$1" && kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

peer_stop() {
	# gunicorn's master stops its workers on TERM (graceful, then killed
	# after --graceful-timeout); redis-server exits on TERM.
	_peer_kill "$PEER_GUNICORN_PID"
	_peer_kill "$PEER_REDIS_PID"
	PEER_GUNICORN_PID=""
	PEER_REDIS_PID=""
}

peer_start() {	# DIR HTTP_PORT REDIS_PORT WORKERS SECRET
	local dir=$1 hport=$2 rport=$3 workers=$4 secret=$5 here n
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	PEER_DIR_=$dir
	mkdir -p "$dir/redis"
	for c in /usr/bin/gunicorn redis-server redis-cli; do
		command -v $c >/dev/null || { echo "peer: $c not installed" >&2; return 1; }
	done
	# Redis as a site would run it for this: no AOF, no snapshots (the
	# dedup keys are the only state and expire anyway).
	redis-server --bind 127.0.0.1 --port "$rport" --dir "$dir/redis" \
	    --save '' --appendonly no --daemonize no \
	    --logfile "$dir/redis.log" &
	PEER_REDIS_PID=$!
	n=100
	until redis-cli -p "$rport" ping >/dev/null 2>&1; do
		n=$((n - 1))
		if [ $n -le 0 ] || ! _peer_alive "$PEER_REDIS_PID"; then
			echo "peer: redis-server did not start: $(tail -3 "$dir/redis.log")" >&2
			peer_stop; return 1
		fi
		sleep 0.05
	done
	# Sync workers, as gunicorn's own docs start a Flask app; one per
	# FastCGI process the C side gets.  No access log (neither side logs
	# each request to a file in the benchmark).
	env STRIPE_WEBHOOK_SECRET="$secret" \
	    PEER_REDIS_URL="redis://127.0.0.1:$rport/0" \
	    /usr/bin/gunicorn --chdir "$here" -w "$workers" \
	    -b "127.0.0.1:$hport" --error-logfile "$dir/gunicorn.log" \
	    --log-level warning app:app &
	PEER_GUNICORN_PID=$!
	n=200
	until curl -s -o /dev/null "http://127.0.0.1:$hport/"; do
		n=$((n - 1))
		if [ $n -le 0 ] || ! _peer_alive "$PEER_GUNICORN_PID"; then
			echo "peer: gunicorn did not start: $(tail -5 "$dir/gunicorn.log")" >&2
			peer_stop; return 1
		fi
		sleep 0.05
	done
	return 0
}
