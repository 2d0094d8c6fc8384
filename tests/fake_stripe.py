#!/usr/bin/python3
"""A strict fake Stripe API upstream for payguard's api.fcgi tests.

    fake_stripe.py --port P --key sk_test_... --version 2024-06-20 [--log FILE]
                   [--quiet]

Listens on 127.0.0.1:P (HTTP/1.1, keep-alive, one thread per connection)
and prints "ready" once it accepts connections.  Stop it by pid (SIGTERM).

Strict about what a real Stripe client sends; every violation is answered
with a Stripe-shaped 400/401 AND recorded in the request log
("violations"):
  - Authorization: Bearer <exactly --key>          (else 401)
  - Stripe-Version: <exactly --version>            (else 400)
  - POST: Content-Type application/x-www-form-urlencoded, a body that parses
    as Stripe's bracket notation (a[b]=c, items[0][price]=x, expand[]=y),
    valid percent escapes and UTF-8, and an Idempotency-Key (else 400)
  - GET/DELETE: no body, parameters in the query string only
  - Stripe-Account (v1, Connect): absent, or a connected account that
    exists (seeded acct_1FakeConnectA and acct_1FakeConnectB, or made by
    POST /v2/core/accounts); else 403 (malformed: 400).  Objects, lists
    and idempotency records are per account: a customer created with
    Stripe-Account is not visible on the platform, nor on another account.
  - /v2/...: Stripe-Context instead of Stripe-Account (same rules); POST
    bodies Content-Type application/json holding a JSON object (empty
    allowed), never form-encoded; Stripe-Account on /v2 is refused.

Objects: customers (create/retrieve/update/list/delete), payment_intents
(create needs amount+currency; confirm/capture/cancel), products and prices
(minimal), events (GET retrieve and list like Stripe's Events API: newest
first, created[gt|gte|lt|lte] or created=N, type or types[] (at most 20,
"*" wildcards as Stripe's), limit 1..100, starting_after / ending_before
pagination with has_more; any other parameter is a 400 parameter_unknown;
three seeded), and a generic store for
the other resources payguard allows (subscriptions, setup_intents, refunds,
checkout/sessions, billing_portal/sessions, invoices); v2: core/accounts
(create/retrieve/list/update) and core/event_destinations (create/
retrieve/list/update/delete, enable/disable), objects "v2.core.account"
and "v2.core.event_destination" with RFC 3339 "created", lists {"data",
"next_page_url", "previous_page_url"}.  Anything else is a 404
resource_missing.

Idempotency like Stripe: a POST's Idempotency-Key with the same method,
path and parameters replays the stored status and body (header
Idempotent-Replayed: true); different parameters -> 400 idempotency_error;
the same key while the first request is still running -> 409
idempotency_error code idempotency_key_in_use.  Validation failures (400)
and injected faults are not stored (Stripe stores only requests whose
execution began).

Control API (never logged, no auth):
  POST /__fault  {"path": "/v1/customers" (prefix), "method": "POST" (opt),
                  "responses": [{"status": 500, "body": {...} (opt),
                                 "headers": {"Stripe-Should-Retry": "true"},
                                 "delay_ms": 0, "drop": false}, ...],
                  "query": "starting_after=evt_1" (opt: the raw query
                  string must contain it)}
      A queue consumed in order by matching requests, then normal
      behaviour.  A response without "status" (and not "drop") only delays
      and then behaves normally (a slow upstream).  "error": one of
      card_declined, rate_limit, api_error, lock_timeout picks a canned
      body.  Default bodies: 402 card_error/card_declined/generic_decline,
      429 rate_limit_error/rate_limit, 409 idempotency_key_in_use, other
      >= 400 api_error.
  DELETE /__fault  drop every queued fault
  GET  /__faults what is still queued
  POST /__events {"events": [{...}, ...], "replace": false}
      Adds events (each needs id and created; object/type/api_version/
      livemode/data are filled in when absent); "replace" drops the others
      (the seeded ones) first.  Or {"generate": {"n": N, "prefix": "evt_x",
      "start": T, "step": 1, "types": ["a", "b"]}}: N events with
      created = start + i*step, types taken in turn.
  GET  /__log    every recorded request, a JSON array
  POST /__reset  forget requests, faults, idempotency records and objects

Log records (one JSON object per line in --log, and in /__log): time
(float, arrival), request_id (the Request-Id answered), method, path, query, headers {authorization:
"correct"|"wrong"|"missing", stripe_version, idempotency_key, content_type,
user_agent, connection}, http_version, client_port, params ([[name, value], ...], query and body), body (raw,
first 64 KiB), status, violations ([..]), fault (null or the injected
response), replayed (bool), duration (s).  The API key itself is never
logged.
"""
import argparse
import json
import os
import random
import re
import signal
import socket
import string
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_KEY = ""
API_VERSION = ""
LOG_FILE = None
QUIET = False          # --quiet: record nothing (benchmarks)

LOCK = threading.Lock()
LOG = []              # recorded requests
FAULTS = []           # [{"path", "method", "responses": [...]}]
IDEM = {}             # key -> {"fp", "status", "body", "done", "cond"}
OBJS = {}             # resource -> {id: obj}
EVENTS = {}
ACCOUNTS = set()      # connected accounts that exist
SEED_ACCOUNTS = ("acct_1FakeConnectA", "acct_1FakeConnectB")
ACCT_RE = re.compile(r"^acct_[A-Za-z0-9]+$")
CUR = threading.local()  # .acct: the account the request acts on ("" platform)

NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]+(\[[A-Za-z0-9_.\-]*\])*$")
BAD_PCT_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
ID_CHARS = string.ascii_letters + string.digits

# resource path -> (object name, id prefix)
GENERIC = {
    "subscriptions": ("subscription", "sub"),
    "setup_intents": ("setup_intent", "seti"),
    "refunds": ("refund", "re"),
    "checkout/sessions": ("checkout.session", "cs_test"),
    "billing_portal/sessions": ("billing_portal.session", "bps"),
    "invoices": ("invoice", "in"),
}


def new_id(prefix, n=14):
    return prefix + "_" + "".join(random.choice(ID_CHARS) for _ in range(n))


class StripeError(Exception):
    def __init__(self, status, etype, message, code=None, param=None,
                 extra=None):
        Exception.__init__(self, message)
        self.status = status
        err = {"type": etype, "message": message}
        if code:
            err["code"] = code
            err["doc_url"] = "https://stripe.com/docs/error-codes/" + \
                code.replace("_", "-")
        if param:
            err["param"] = param
        if extra:
            err.update(extra)
        self.body = {"error": err}


def err_body(status, kind=None):
    """Canned error bodies for injected faults."""
    if kind == "card_declined" or (kind is None and status == 402):
        return {"error": {"type": "card_error", "code": "card_declined",
                          "decline_code": "generic_decline",
                          "message": "Your card was declined.",
                          "doc_url": "https://stripe.com/docs/error-codes/card-declined",
                          "charge": new_id("ch")}}
    if kind == "rate_limit" or (kind is None and status == 429):
        return {"error": {"type": "rate_limit_error", "code": "rate_limit",
                          "message": "Too many requests hit the API too quickly."}}
    if kind == "lock_timeout":
        return {"error": {"type": "invalid_request_error", "code": "lock_timeout",
                          "message": "This object cannot be accessed right now because another API request or Stripe process is currently accessing it."}}
    if kind is None and status == 409:
        return {"error": {"type": "idempotency_error",
                          "code": "idempotency_key_in_use",
                          "message": "The idempotency key provided is currently being used in another request."}}
    if kind is None and 400 <= status < 500:
        return {"error": {"type": "invalid_request_error",
                          "message": "Injected %d." % status}}
    return {"error": {"type": "api_error",
                      "message": "An unknown error occurred (injected %d)." % status}}


# ------------------------------------------------------------ encoding
def parse_form(raw, where):
    """Strict x-www-form-urlencoded with bracket names -> [[name, value]]."""
    out = []
    if raw == "":
        return out
    for piece in raw.split("&"):
        if piece == "":
            raise StripeError(400, "invalid_request_error",
                              "Invalid %s: empty parameter" % where,
                              code="parameter_invalid_empty")
        if "=" not in piece:
            raise StripeError(400, "invalid_request_error",
                              "Invalid %s: parameter without '='" % where)
        n, v = piece.split("=", 1)
        if BAD_PCT_RE.search(n) or BAD_PCT_RE.search(v):
            raise StripeError(400, "invalid_request_error",
                              "Invalid %s: malformed percent-encoding" % where)
        try:
            n = pct_decode(n)
            v = pct_decode(v)
        except UnicodeDecodeError:
            raise StripeError(400, "invalid_request_error",
                              "Invalid %s: not UTF-8" % where)
        if not NAME_RE.match(n):
            raise StripeError(400, "invalid_request_error",
                              "Invalid parameter name in %s" % where,
                              code="parameter_unknown", param=n[:80])
        if "\x00" in v:
            raise StripeError(400, "invalid_request_error",
                              "Invalid %s: NUL byte" % where, param=n)
        out.append([n, v])
    return out


def pct_decode(s):
    b = bytearray()
    i = 0
    s = s.replace("+", " ")
    raw = s.encode("utf-8")
    while i < len(raw):
        c = raw[i]
        if c == 0x25:
            b.append(int(raw[i + 1:i + 3], 16))
            i += 3
        else:
            b.append(c)
            i += 1
    return b.decode("utf-8", "strict")


def nest(params):
    """[[a[b][0][c], v]] -> nested dicts/lists like Stripe's decoder."""
    root = {}
    for name, value in params:
        parts = re.findall(r"\[([^\]]*)\]", name)
        head = name.split("[", 1)[0]
        keys = [head] + parts
        cur = root
        for i, k in enumerate(keys):
            last = i == len(keys) - 1
            if k == "":
                # a[] -> append (cur was made a list by the parent)
                k = str(len(cur))
            if last:
                cur[k] = value
            else:
                nxt = cur.get(k)
                if not isinstance(nxt, dict):
                    nxt = {}
                    cur[k] = nxt
                cur = nxt
    return listify(root)


def listify(d):
    if isinstance(d, dict):
        d = {k: listify(v) for k, v in d.items()}
        if d and all(k.isdigit() for k in d):
            return [d[k] for k in sorted(d, key=int)]
    return d


def to_int(p, name, required=True):
    if name not in p:
        if required:
            raise StripeError(400, "invalid_request_error",
                              "Missing required param: %s." % name,
                              code="parameter_missing", param=name)
        return None
    try:
        return int(p[name])
    except (TypeError, ValueError):
        raise StripeError(400, "invalid_request_error",
                          "Invalid integer: %s" % p[name],
                          code="parameter_invalid_integer", param=name)


def required(p, name):
    if not p.get(name):
        raise StripeError(400, "invalid_request_error",
                          "Missing required param: %s." % name,
                          code="parameter_missing", param=name)
    return p[name]


def missing(kind, oid):
    return StripeError(404, "invalid_request_error",
                       "No such %s: '%s'" % (kind, oid),
                       code="resource_missing", param="id")


def unknown_url(method, path):
    return StripeError(404, "invalid_request_error",
                       "Unrecognized request URL (%s: %s). Please see https://stripe.com/docs or we can help at https://support.stripe.com/." % (method, path),
                       code="resource_missing")


# ------------------------------------------------------------- objects
def store(res):
    return OBJS.setdefault((getattr(CUR, "acct", ""), res), {})


def as_list(res, url, q):
    objs = list(store(res).values())
    objs.sort(key=lambda o: o.get("created", 0), reverse=True)
    if "email" in q:
        objs = [o for o in objs if o.get("email") == q["email"]]
    limit = to_int(q, "limit", required=False) or 10
    if limit < 1 or limit > 100:
        raise StripeError(400, "invalid_request_error",
                          "Invalid limit: must be between 1 and 100",
                          code="parameter_invalid_integer", param="limit")
    # Cursor pagination as Stripe does it (what auto-pagination relies on).
    ids = [o["id"] for o in objs]
    if q.get("starting_after"):
        if q["starting_after"] not in ids:
            raise missing("object", q["starting_after"])
        objs = objs[ids.index(q["starting_after"]) + 1:]
    elif q.get("ending_before"):
        if q["ending_before"] not in ids:
            raise missing("object", q["ending_before"])
        objs = objs[:ids.index(q["ending_before"])][-limit:]
    return {"object": "list", "data": objs[:limit],
            "has_more": len(objs) > limit, "url": url}


def merge_meta(obj, p):
    if "metadata" in p:
        md = p["metadata"]
        if md == "":
            obj["metadata"] = {}
        elif isinstance(md, dict):
            for k, v in md.items():
                if v == "":
                    obj["metadata"].pop(k, None)
                else:
                    obj["metadata"][k] = v


def customer_new(p):
    c = {"id": new_id("cus"), "object": "customer", "created": int(time.time()),
         "livemode": False, "email": None, "name": None, "description": None,
         "phone": None, "balance": 0, "currency": None, "delinquent": False,
         "invoice_prefix": "".join(random.choice(string.ascii_uppercase) for _ in range(8)),
         "metadata": {}}
    customer_set(c, p)
    store("customers")[c["id"]] = c
    return c


def customer_set(c, p):
    for k in ("email", "name", "description", "phone"):
        if k in p:
            c[k] = p[k] or None
    merge_meta(c, p)


def pi_new(p):
    amount = to_int(p, "amount")
    cur = required(p, "currency")
    if amount < 1:
        raise StripeError(400, "invalid_request_error",
                          "This value must be greater than or equal to 1.",
                          code="parameter_invalid_integer", param="amount")
    pi = {"id": new_id("pi", 24), "object": "payment_intent", "amount": amount,
          "currency": cur.lower(), "created": int(time.time()),
          "livemode": False, "customer": p.get("customer"),
          "description": p.get("description"),
          "capture_method": p.get("capture_method", "automatic"),
          "payment_method": p.get("payment_method"),
          "payment_method_types": p.get("payment_method_types", ["card"]),
          "receipt_email": p.get("receipt_email"),
          "metadata": {}, "amount_received": 0}
    pi["client_secret"] = "%s_secret_%s" % (pi["id"], new_id("x", 24)[2:])
    pi["status"] = "requires_confirmation" if pi["payment_method"] \
        else "requires_payment_method"
    merge_meta(pi, p)
    store("payment_intents")[pi["id"]] = pi
    if str(p.get("confirm", "")).lower() == "true":
        pi_confirm(pi, {})
    return pi


def pi_confirm(pi, p):
    if p.get("payment_method"):
        pi["payment_method"] = p["payment_method"]
    if pi["status"] not in ("requires_payment_method", "requires_confirmation"):
        raise unexpected_state(pi, "confirm")
    if not pi["payment_method"]:
        raise StripeError(400, "invalid_request_error",
                          "You cannot confirm this PaymentIntent because it's missing a payment method.",
                          code="payment_intent_unexpected_state")
    if pi["payment_method"] == "pm_card_chargeDeclined":
        pi["status"] = "requires_payment_method"
        body = err_body(402)
        body["error"]["payment_intent"] = dict(pi)
        e = StripeError(402, "card_error", "Your card was declined.")
        e.body = body
        raise e
    if pi["capture_method"] == "manual":
        pi["status"] = "requires_capture"
    else:
        pi["status"] = "succeeded"
        pi["amount_received"] = pi["amount"]
    return pi


def unexpected_state(pi, action):
    return StripeError(400, "invalid_request_error",
                       "This PaymentIntent's %s could not be performed because it has a status of %s." % (action, pi["status"]),
                       code="payment_intent_unexpected_state",
                       extra={"payment_intent": dict(pi)})


def pi_action(pi, action, p):
    if action == "confirm":
        return pi_confirm(pi, p)
    if action == "capture":
        if pi["status"] != "requires_capture":
            raise unexpected_state(pi, "capture")
        pi["status"] = "succeeded"
        pi["amount_received"] = to_int(p, "amount_to_capture", False) or pi["amount"]
        return pi
    if action == "cancel":
        if pi["status"] in ("succeeded", "canceled"):
            raise unexpected_state(pi, "cancel")
        pi["status"] = "canceled"
        pi["cancellation_reason"] = p.get("cancellation_reason")
        return pi
    return None


def product_new(p):
    pr = {"id": new_id("prod"), "object": "product", "active": True,
          "name": required(p, "name"), "description": p.get("description"),
          "created": int(time.time()), "livemode": False, "metadata": {}}
    merge_meta(pr, p)
    store("products")[pr["id"]] = pr
    return pr


def price_new(p):
    cur = required(p, "currency")
    prod = p.get("product")
    if not prod and isinstance(p.get("product_data"), dict):
        prod = product_new(p["product_data"])["id"]
    if not prod:
        raise StripeError(400, "invalid_request_error",
                          "Missing required param: product.",
                          code="parameter_missing", param="product")
    pr = {"id": new_id("price"), "object": "price", "active": True,
          "currency": cur.lower(), "product": prod,
          "unit_amount": to_int(p, "unit_amount"),
          "recurring": p.get("recurring"),
          "type": "recurring" if p.get("recurring") else "one_time",
          "created": int(time.time()), "livemode": False, "metadata": {}}
    merge_meta(pr, p)
    store("prices")[pr["id"]] = pr
    return pr


def generic_new(res, p):
    objname, prefix = GENERIC[res]
    o = dict(p) if isinstance(p, dict) else {}
    o.update({"id": new_id(prefix), "object": objname,
              "created": int(time.time()), "livemode": False})
    o.setdefault("metadata", {})
    store(res)[o["id"]] = o
    return o


def seed_events():
    EVENTS.clear()
    t = int(time.time())
    for i, typ in enumerate(("customer.created", "payment_intent.succeeded",
                             "payment_intent.payment_failed")):
        eid = "evt_fake%08d" % (i + 1)
        EVENTS[eid] = {"id": eid, "object": "event", "type": typ,
                       "api_version": API_VERSION, "created": t - 100 + i,
                       "livemode": False, "pending_webhooks": 0,
                       "request": {"id": None, "idempotency_key": None},
                       "data": {"object": {"id": "obj_%d" % i}}}


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))


V2_RE = re.compile(r"^/v2/core/(accounts|event_destinations)(?:/([A-Za-z0-9_]+))?(?:/([a-z_]+))?$")


def route_v2(method, path, p, q):
    """v2 core resources: JSON in (p is the parsed object), JSON out."""
    m = V2_RE.match(path)
    if not m:
        raise unknown_url(method, path)
    res, oid, action = m.group(1), m.group(2), m.group(3)
    objname = {"accounts": "v2.core.account",
               "event_destinations": "v2.core.event_destination"}[res]
    if oid is None:
        if method == "POST":
            if res == "accounts":
                o = {"id": new_id("acct_1", 14).replace("acct_1_", "acct_1"),
                     "object": objname, "created": rfc3339(time.time()),
                     "livemode": False,
                     "display_name": p.get("display_name"),
                     "contact_email": p.get("contact_email"),
                     "metadata": p.get("metadata") or {}}
                ACCOUNTS.add(o["id"])
            else:
                for k in ("name", "type", "event_payload", "enabled_events"):
                    if k not in p:
                        raise StripeError(400, "invalid_request_error",
                                          "Missing required param: %s." % k,
                                          code="parameter_missing", param=k)
                if not isinstance(p["enabled_events"], list):
                    raise StripeError(400, "invalid_request_error",
                                      "enabled_events must be an array.",
                                      code="parameter_invalid", param="enabled_events")
                o = dict(p)
                o.update({"id": new_id("ed_test"), "object": objname,
                          "created": rfc3339(time.time()), "livemode": False,
                          "status": "enabled"})
                o.setdefault("metadata", {})
            o["_t"] = time.time()
            store("v2/" + res)[o["id"]] = o
            return 200, {k: v for k, v in o.items() if k != "_t"}
        if method == "GET":
            objs = sorted(store("v2/" + res).values(), key=lambda o: o["_t"],
                          reverse=True)
            limit = to_int(q, "limit", required=False) or 10
            return 200, {"data": [{k: v for k, v in o.items() if k != "_t"}
                                  for o in objs[:limit]],
                         "next_page_url": None, "previous_page_url": None}
        raise unknown_url(method, path)
    obj = store("v2/" + res).get(oid)
    if obj is None:
        raise missing(objname, oid)
    out = lambda: {k: v for k, v in obj.items() if k != "_t"}
    if action:
        if method != "POST" or res != "event_destinations" or \
                action not in ("enable", "disable"):
            raise unknown_url(method, path)
        obj["status"] = action + "d"
        return 200, out()
    if method == "GET":
        return 200, out()
    if method == "POST":
        for k, v in p.items():
            if k not in ("id", "object", "created"):
                obj[k] = v
        return 200, out()
    if method == "DELETE" and res == "event_destinations":
        del store("v2/" + res)[oid]
        return 200, {"id": oid, "object": objname, "deleted": True}
    raise unknown_url(method, path)


RES_RE = re.compile(r"^/v1/(checkout/sessions|billing_portal/sessions|[a-z_]+)(?:/([A-Za-z0-9_]+))?(?:/([a-z_]+))?$")


EVENT_LIST_PARAMS = {"created", "created[gt]", "created[gte]", "created[lt]",
                     "created[lte]", "type", "types[]", "limit",
                     "starting_after", "ending_before", "delivery_success",
                     "expand[]"}


def type_match(pattern, typ):
    if pattern.endswith(".*"):
        return typ.startswith(pattern[:-1])
    return pattern == "*" or pattern == typ


def events_list(params):
    """GET /v1/events exactly as strict as Stripe's list endpoint."""
    for n, _ in params:
        if n not in EVENT_LIST_PARAMS:
            raise StripeError(400, "invalid_request_error",
                              "Received unknown parameter: %s" % n,
                              code="parameter_unknown", param=n)
    q = {}
    types = []
    for n, v in params:
        if n == "types[]":
            types.append(v)
        elif n in q:
            raise StripeError(400, "invalid_request_error",
                              "Duplicate parameter: %s" % n, param=n)
        else:
            q[n] = v
    if types and "type" in q:
        raise StripeError(400, "invalid_request_error",
                          "You may only specify one of these parameters: type, types.",
                          param="types")
    if len(types) > 20:
        raise StripeError(400, "invalid_request_error",
                          "types may contain at most 20 entries", param="types")
    if "starting_after" in q and "ending_before" in q:
        raise StripeError(400, "invalid_request_error",
                          "You may only specify one of these parameters: ending_before, starting_after.",
                          param="starting_after")
    bounds = {}
    for op in ("gt", "gte", "lt", "lte"):
        v = to_int(q, "created[%s]" % op, required=False)
        if v is not None:
            bounds[op] = v
    eq = to_int(q, "created", required=False)
    limit = to_int(q, "limit", required=False)
    if limit is None:
        limit = 10
    if limit < 1 or limit > 100:
        raise StripeError(400, "invalid_request_error",
                          "Invalid limit: must be between 1 and 100",
                          code="parameter_invalid_integer", param="limit")
    pats = types or ([q["type"]] if "type" in q else [])

    def keep(e):
        c = e["created"]
        if eq is not None and c != eq:
            return False
        if "gt" in bounds and not c > bounds["gt"]:
            return False
        if "gte" in bounds and not c >= bounds["gte"]:
            return False
        if "lt" in bounds and not c < bounds["lt"]:
            return False
        if "lte" in bounds and not c <= bounds["lte"]:
            return False
        return not pats or any(type_match(p, e["type"]) for p in pats)

    # Newest first; ties broken by id, so that pages never overlap.
    objs = sorted((e for e in EVENTS.values() if keep(e)),
                  key=lambda e: (e["created"], e["id"]), reverse=True)
    if "starting_after" in q or "ending_before" in q:
        cur = q.get("starting_after") or q.get("ending_before")
        ids = [e["id"] for e in objs]
        if cur not in EVENTS:
            raise StripeError(400, "invalid_request_error",
                              "No such event: '%s'" % cur,
                              code="resource_missing",
                              param="starting_after" if "starting_after" in q else "ending_before")
        if cur not in ids:
            objs = []
        elif "starting_after" in q:
            objs = objs[ids.index(cur) + 1:]
        else:
            objs = objs[:ids.index(cur)][-limit:]
            return {"object": "list", "data": objs,
                    "has_more": ids.index(cur) > len(objs), "url": "/v1/events"}
    return {"object": "list", "data": objs[:limit],
            "has_more": len(objs) > limit, "url": "/v1/events"}


def add_events(spec):
    """POST /__events (see the module docstring)."""
    if spec.get("replace"):
        EVENTS.clear()
    evs = list(spec.get("events") or [])
    g = spec.get("generate")
    if g:
        types = g.get("types") or ["payment_intent.succeeded"]
        for i in range(int(g["n"])):
            evs.append({"id": "%s%06d" % (g.get("prefix", "evt_gen"), i + 1),
                        "created": int(g["start"]) + i * int(g.get("step", 1)),
                        "type": types[i % len(types)]})
    for e in evs:
        if not isinstance(e, dict) or not isinstance(e.get("id"), str) or \
                not isinstance(e.get("created"), int):
            raise ValueError("an event needs a string id and an integer created")
        e.setdefault("object", "event")
        e.setdefault("type", "payment_intent.succeeded")
        e.setdefault("api_version", API_VERSION)
        e.setdefault("livemode", False)
        e.setdefault("pending_webhooks", 0)
        e.setdefault("request", {"id": None, "idempotency_key": None})
        e.setdefault("data", {"object": {"id": "obj_" + e["id"][4:],
                                         "object": "payment_intent",
                                         "amount": 2000, "currency": "eur"}})
        EVENTS[e["id"]] = e
    return len(evs)


def route(method, path, p, q, params=None):
    """Returns (status, body) or raises StripeError."""
    m = RES_RE.match(path)
    if not m:
        raise unknown_url(method, path)
    res, oid, action = m.group(1), m.group(2), m.group(3)
    if res == "events":
        if method != "GET" or action:
            raise unknown_url(method, path)
        if oid is None:
            return 200, events_list(params or [])
        if oid not in EVENTS:
            raise missing("event", oid)
        return 200, EVENTS[oid]
    creators = {"customers": customer_new, "payment_intents": pi_new,
                "products": product_new, "prices": price_new}
    if res not in creators and res not in GENERIC:
        raise unknown_url(method, path)
    kind = {"customers": "customer", "payment_intents": "payment_intent",
            "products": "product", "prices": "price"}.get(res) or GENERIC[res][0]
    if oid is None:
        if method == "POST":
            if res in creators:
                return 200, creators[res](p)
            return 200, generic_new(res, p)
        if method == "GET":
            return 200, as_list(res, "/v1/" + res, q)
        raise unknown_url(method, path)
    obj = store(res).get(oid)
    if obj is None:
        raise missing(kind, oid)
    if action:
        if method != "POST":
            raise unknown_url(method, path)
        if res == "payment_intents":
            r = pi_action(obj, action, p)
            if r is not None:
                return 200, r
        if action == "cancel" and res in GENERIC:
            obj["status"] = "canceled"
            return 200, obj
        raise unknown_url(method, path)
    if method == "GET":
        return 200, obj
    if method == "POST":
        if res == "customers":
            customer_set(obj, p)
        else:
            merge_meta(obj, p)
            for k, v in p.items():
                if k != "metadata" and k not in ("id", "object", "created"):
                    obj[k] = v
        return 200, obj
    if method == "DELETE":
        if res not in ("customers", "products", "prices"):
            raise unknown_url(method, path)
        del store(res)[oid]
        return 200, {"id": oid, "object": obj["object"], "deleted": True}
    raise unknown_url(method, path)


# ------------------------------------------------------------- server
def take_fault(method, path, query=""):
    with LOCK:
        for f in FAULTS:
            if not f["responses"]:
                continue
            if not path.startswith(f.get("path", "/")):
                continue
            if f.get("query") and f["query"] not in query:
                continue
            if f.get("method") and f["method"].upper() != method:
                continue
            return f["responses"].pop(0)
    return None


def record(rec):
    if QUIET:
        return
    line = json.dumps(rec, separators=(",", ":"))
    with LOCK:
        LOG.append(rec)
        if LOG_FILE:
            LOG_FILE.write(line + "\n")
            LOG_FILE.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "fake-stripe/1.0"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet
        pass

    def send_json(self, status, body, extra=None, idem=None):
        data = json.dumps(body, indent=2).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", self.req_id)
        self.send_header("Stripe-Version", API_VERSION)
        if idem:
            self.send_header("Idempotency-Key", idem)
        for k, v in (extra or {}).items():
            self.send_header(k, str(v))
        # Headers and body in one write, and TCP_NODELAY (class attribute
        # below): two small writes would meet the peer's delayed ACK (40 ms
        # per response on keep-alive connections).
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(data)
        self.flush_headers()
        return status

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            chunks = []
            while True:
                ln = self.rfile.readline().strip()
                n = int(ln.split(b";")[0], 16)
                if n == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(n))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_DELETE(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def do_PATCH(self):
        self.handle_any()

    def do_HEAD(self):
        self.handle_any()

    def control(self, path, body):
        if path == "/__log" and self.command == "GET":
            with LOCK:
                data = list(LOG)
            return self.send_json(200, data)
        if path == "/__reset" and self.command == "POST":
            with LOCK:
                LOG.clear()
                FAULTS.clear()
                IDEM.clear()
                OBJS.clear()
                ACCOUNTS.clear()
                ACCOUNTS.update(SEED_ACCOUNTS)
                seed_events()
                if LOG_FILE:
                    LOG_FILE.truncate(0)
                    LOG_FILE.seek(0)
            return self.send_json(200, {"reset": True})
        if path == "/__fault" and self.command == "POST":
            try:
                f = json.loads(body or b"{}")
                assert isinstance(f.get("responses"), list)
            except Exception as e:
                return self.send_json(400, {"error": "bad fault: %r" % e})
            f.setdefault("path", "/")
            with LOCK:
                FAULTS.append(f)
            return self.send_json(200, {"queued": len(f["responses"])})
        if path == "/__fault" and self.command == "DELETE":
            with LOCK:
                FAULTS.clear()
            return self.send_json(200, {"cleared": True})
        if path == "/__events" and self.command == "POST":
            try:
                with LOCK:
                    n = add_events(json.loads(body or b"{}"))
            except Exception as e:
                return self.send_json(400, {"error": "bad events: %r" % e})
            return self.send_json(200, {"added": n, "total": len(EVENTS)})
        if path == "/__faults" and self.command == "GET":
            with LOCK:
                data = [dict(f) for f in FAULTS]
            return self.send_json(200, data)
        return self.send_json(404, {"error": "unknown control path"})

    def handle_any(self):
        t0 = time.time()
        self.req_id = new_id("req")
        raw_path = self.path
        path, _, query = raw_path.partition("?")
        try:
            body = self.read_body()
        except Exception:
            self.close_connection = True
            return
        if path.startswith("/__"):
            self.control(path, body)
            return
        method = self.command
        h = self.headers
        auth = h.get("Authorization")
        if auth is None:
            auth_state = "missing"
        elif auth == "Bearer " + API_KEY:
            auth_state = "correct"
        else:
            auth_state = "wrong"
        idem = h.get("Idempotency-Key")
        rec = {"time": t0, "method": method, "path": path, "query": query,
               "headers": {"authorization": auth_state,
                           "stripe_version": h.get("Stripe-Version"),
                           "idempotency_key": idem,
                           "content_type": h.get("Content-Type"),
                           "user_agent": h.get("User-Agent"),
                           "stripe_account": h.get("Stripe-Account"),
                           "stripe_context": h.get("Stripe-Context"),
                           "connection": h.get("Connection")},
               "http_version": self.request_version,
               "client_port": self.client_address[1],
               "request_id": self.req_id,
               "params": [], "body": body[:65536].decode("utf-8", "replace"),
               "status": None, "violations": [], "fault": None,
               "replayed": False}
        status = self.process(rec, method, path, query, body, h, auth_state, idem)
        rec["status"] = status
        rec["duration"] = round(time.time() - t0, 6)
        record(rec)

    def violation(self, rec, what, status, etype, message, code=None,
                  param=None):
        rec["violations"].append(what)
        e = StripeError(status, etype, message, code=code, param=param)
        return self.send_json(status, e.body)

    def process(self, rec, method, path, query, body, h, auth_state, idem):
        # --- what a real client must send
        if auth_state == "missing":
            return self.violation(rec, "authorization missing", 401,
                                  "invalid_request_error",
                                  "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').")
        if auth_state == "wrong":
            shown = (h.get("Authorization") or "")[-4:]
            return self.violation(rec, "authorization wrong", 401,
                                  "invalid_request_error",
                                  "Invalid API Key provided: ****%s" % shown)
        ver = h.get("Stripe-Version")
        if ver != API_VERSION:
            return self.violation(rec, "stripe-version %r" % ver, 400,
                                  "invalid_request_error",
                                  "Stripe-Version must be %s (got %r)" % (API_VERSION, ver),
                                  code="api_version_invalid")
        v2 = path.startswith("/v2/")
        acct = h.get("Stripe-Context" if v2 else "Stripe-Account")
        other = h.get("Stripe-Account" if v2 else "Stripe-Context")
        if other is not None:
            return self.violation(rec, "%s on %s" % (
                "Stripe-Account" if v2 else "Stripe-Context", path[:3]), 400,
                "invalid_request_error",
                "Use Stripe-Context on v2 and Stripe-Account on v1 requests.")
        if acct is not None:
            # A v2 context may be a path of accounts: the last one acts.
            parts = acct.split("/") if v2 else [acct]
            if not all(ACCT_RE.match(x) for x in parts):
                return self.violation(rec, "account header %r" % acct, 400,
                                      "invalid_request_error",
                                      "Invalid Stripe-Account/Stripe-Context header.")
            if any(x not in ACCOUNTS for x in parts):
                return self.violation(rec, "unknown account %r" % acct, 403,
                                      "permission_error",
                                      "The provided key does not have access to account '%s' (or that account does not exist). Application access may have been revoked." % acct,
                                      code="account_invalid")
            CUR.acct = parts[-1]
        else:
            CUR.acct = ""
        if v2:
            return self.process_v2(rec, method, path, query, body, h, idem)
        try:
            qparams = parse_form(query, "query string")
        except StripeError as e:
            rec["violations"].append("query: " + str(e))
            return self.send_json(e.status, e.body)
        params = list(qparams)
        if method == "POST":
            ct = (h.get("Content-Type") or "").split(";")[0].strip().lower()
            if body and ct != "application/x-www-form-urlencoded":
                return self.violation(rec, "content-type %r" % h.get("Content-Type"),
                                      400, "invalid_request_error",
                                      "Invalid request: POST bodies must be application/x-www-form-urlencoded")
            try:
                text = body.decode("utf-8", "strict")
            except UnicodeDecodeError:
                return self.violation(rec, "body not UTF-8", 400,
                                      "invalid_request_error",
                                      "Invalid request body: not UTF-8")
            try:
                params += parse_form(text, "request body")
            except StripeError as e:
                rec["violations"].append("body: " + str(e))
                rec["params"] = params
                return self.send_json(e.status, e.body)
            if not idem:
                rec["params"] = params
                return self.violation(rec, "idempotency-key missing", 400,
                                      "invalid_request_error",
                                      "POST requests must carry an Idempotency-Key (payguard contract)")
            if len(idem) > 255:
                rec["params"] = params
                return self.violation(rec, "idempotency-key too long", 400,
                                      "invalid_request_error",
                                      "Idempotency-Key is longer than 255 characters")
        elif body:
            return self.violation(rec, "%s with a body" % method, 400,
                                  "invalid_request_error",
                                  "%s requests take no body" % method)
        rec["params"] = params
        if method not in ("GET", "POST", "DELETE"):
            return self.violation(rec, "method %s" % method, 405,
                                  "invalid_request_error",
                                  "Unsupported method %s" % method)

        # --- injected faults
        fault = take_fault(method, path, query)
        if fault is not None:
            rec["fault"] = fault
            d = fault.get("delay_ms") or 0
            if d:
                time.sleep(d / 1000.0)
            if fault.get("drop"):
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return 0
            if "status" in fault:
                st = int(fault["status"])
                b = fault.get("body") or err_body(st, fault.get("error"))
                return self.send_json(st, b, fault.get("headers") or {}, idem)

        # --- idempotency (POST)
        p = nest(params)
        entry = None
        if method == "POST":
            fp = json.dumps([method, path, sorted(params)])
            ikey = (CUR.acct, idem)   # Stripe scopes keys per account
            with LOCK:
                entry = IDEM.get(ikey)
                if entry is None:
                    entry = {"fp": fp, "done": False}
                    IDEM[ikey] = entry
                    owner = True
                else:
                    owner = False
            if not owner:
                if entry["fp"] != fp:
                    return self.send_json(400, {"error": {
                        "type": "idempotency_error",
                        "message": "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '%s' if you meant to execute a different request." % idem}},
                        idem=idem)
                if not entry["done"]:
                    return self.send_json(409, err_body(409), idem=idem)
                rec["replayed"] = True
                return self.send_json(entry["status"], entry["body"],
                                      {"Idempotent-Replayed": "true",
                                       "Original-Request": entry["req"]}, idem)
        try:
            with LOCK:
                status, out = route(method, path, p, dict(params), params)
        except StripeError as e:
            status, out = e.status, e.body
        if entry is not None:
            with LOCK:
                if status == 400 or status == 404:
                    # validation failure: nothing saved, the key may be reused
                    IDEM.pop(ikey, None)
                else:
                    entry.update(done=True, status=status, body=out,
                                 req=self.req_id)
        return self.send_json(status, out, idem=idem)


    def process_v2(self, rec, method, path, query, body, h, idem):
        try:
            q = dict(parse_form(query, "query string"))
        except StripeError as e:
            rec["violations"].append("query: " + str(e))
            return self.send_json(e.status, e.body)
        p = {}
        if method == "POST":
            ct = (h.get("Content-Type") or "").split(";")[0].strip().lower()
            if body and ct != "application/json":
                return self.violation(rec, "v2 content-type %r" % h.get("Content-Type"),
                                      400, "invalid_request_error",
                                      "v2 requests take application/json bodies")
            try:
                p = json.loads(body.decode("utf-8", "strict")) if body else {}
            except (UnicodeDecodeError, ValueError):
                return self.violation(rec, "v2 body not JSON", 400,
                                      "invalid_request_error",
                                      "Invalid JSON body")
            if not isinstance(p, dict):
                return self.violation(rec, "v2 body not an object", 400,
                                      "invalid_request_error",
                                      "The JSON body must be an object")
            if not idem:
                return self.violation(rec, "idempotency-key missing", 400,
                                      "invalid_request_error",
                                      "POST requests must carry an Idempotency-Key (payguard contract)")
        elif body:
            return self.violation(rec, "%s with a body" % method, 400,
                                  "invalid_request_error",
                                  "%s requests take no body" % method)
        rec["params"] = [[k, json.dumps(v)] for k, v in sorted(p.items())]
        fault = take_fault(method, path)
        if fault is not None and "status" in fault:
            rec["fault"] = fault
            st = int(fault["status"])
            return self.send_json(st, fault.get("body") or
                                  err_body(st, fault.get("error")),
                                  fault.get("headers") or {}, idem)
        entry = None
        if method == "POST":
            fp = json.dumps([method, path, p], sort_keys=True)
            ikey = (CUR.acct, idem)
            with LOCK:
                entry = IDEM.get(ikey)
                if entry is None:
                    entry = {"fp": fp, "done": False}
                    IDEM[ikey] = entry
                    owner = True
                else:
                    owner = False
            if not owner:
                if entry["fp"] != fp:
                    return self.send_json(400, {"error": {
                        "type": "idempotency_error",
                        "code": "idempotency_key_reused",
                        "message": "Keys for idempotent requests can only be used with the same parameters they were first used with."}},
                        idem=idem)
                if not entry["done"]:
                    return self.send_json(409, err_body(409), idem=idem)
                rec["replayed"] = True
                return self.send_json(entry["status"], entry["body"],
                                      {"Idempotent-Replayed": "true"}, idem)
        try:
            with LOCK:
                status, out = route_v2(method, path, p, q)
        except StripeError as e:
            status, out = e.status, e.body
        if entry is not None:
            with LOCK:
                if status in (400, 404):
                    IDEM.pop(ikey, None)
                else:
                    entry.update(done=True, status=status, body=out)
        return self.send_json(status, out, idem=idem)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    global API_KEY, API_VERSION, LOG_FILE, QUIET
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--log")
    ap.add_argument("--quiet", action="store_true",
                    help="record no requests (benchmarks: no log growth)")
    a = ap.parse_args()
    API_KEY, API_VERSION, QUIET = a.key, a.version, a.quiet
    if a.log:
        LOG_FILE = open(a.log, "a")
    seed_events()
    ACCOUNTS.update(SEED_ACCOUNTS)
    srv = Server(("127.0.0.1", a.port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print("ready", flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
