"""The Python peer for bench/bench_webhook.sh (issue 14): a Stripe webhook
receiver written the way the seed's users would write one with Flask,
stripe-python and Redis, so payguard's figures have a side-by-side baseline.

Per request: the source-IP allowlist, an exact sliding-window rate limit
per client IP (a Redis ZSET of admission times, one MULTI per request),
stripe.Webhook.construct_event (signature with tolerance, JSON parse),
SET NX EX dedup on the event id, and the event's id pushed onto a Redis
list for the site to handle.  It does less than webhook.fcgi: no inbox body,
no encryption, no audit record, no fsync (Redis without AOF).

Environment (all read once at import, before gunicorn forks):
  STRIPE_WEBHOOK_SECRET   whsec_... (required)
  PEER_REDIS_URL          redis://127.0.0.1:6379/0
  PEER_ALLOWED_IPS        comma-separated exact addresses (127.0.0.1)
  PEER_RATE_LIMIT         admissions per window per IP (1000)
  PEER_RATE_WINDOW        window, seconds (60)
  PEER_DEDUP_TTL          seconds an event id is remembered (259200)
"""
import os
import time
import uuid

import redis
import stripe
from flask import Flask, jsonify, request

SECRET = os.environ["STRIPE_WEBHOOK_SECRET"]
ALLOWED = {a.strip() for a in
           os.environ.get("PEER_ALLOWED_IPS", "127.0.0.1").split(",")
           if a.strip()}
LIMIT = int(os.environ.get("PEER_RATE_LIMIT", "1000"))
WINDOW = int(os.environ.get("PEER_RATE_WINDOW", "60"))
DEDUP_TTL = int(os.environ.get("PEER_DEDUP_TTL", str(3 * 86400)))

app = Flask(__name__)
r = redis.Redis.from_url(os.environ.get("PEER_REDIS_URL",
                                        "redis://127.0.0.1:6379/0"))


def error(status, code, message):
    return jsonify(error={"type": "invalid_request_error", "code": code,
                          "message": message}), status


def rate_limited(ip):
    """Exact sliding window: drop admissions older than WINDOW, count what
    is left, and add this one; a refused request is taken back out so it
    does not count against the client."""
    key = "rl:webhook:" + ip
    now = time.time()
    member = "%.6f:%s" % (now, uuid.uuid4().hex)
    pipe = r.pipeline(transaction=True)
    pipe.zremrangebyscore(key, 0, now - WINDOW)
    pipe.zadd(key, {member: now})
    pipe.zcard(key)
    pipe.expire(key, WINDOW)
    _, _, count, _ = pipe.execute()
    if count > LIMIT:
        r.zrem(key, member)
        return True
    return False


@app.post("/webhook")
def webhook():
    ip = request.remote_addr or ""
    if ip not in ALLOWED:
        return error(403, "ip_not_allowed", "source address not allowed")
    if rate_limited(ip):
        return error(429, "rate_limited", "too many requests")
    payload = request.get_data()
    sig = request.headers.get("Stripe-Signature", "")
    try:
        event = stripe.Webhook.construct_event(payload, sig, SECRET)
    except ValueError:
        return error(400, "invalid_payload", "body is not a JSON event")
    except stripe.error.SignatureVerificationError:
        return error(400, "invalid_signature", "signature check failed")
    if not r.set("evt:" + event["id"], "1", nx=True, ex=DEDUP_TTL):
        return jsonify(received=True, duplicate=True)
    r.rpush("events", event["id"])
    return jsonify(received=True)
