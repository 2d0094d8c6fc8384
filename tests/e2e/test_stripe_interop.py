"""Stripe-Signature interoperability with the official stripe-python
(Debian python3-stripe): headers stripe-python computes are accepted by
webhook.fcgi (plain CGI, as www-data), and headers `payguard sign` makes
pass stripe.Webhook.construct_event.  Run with /usr/bin/python3; env O, SRC.
"""
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

import stripe
from stripe.webhook import WebhookSignature

O = os.environ.get("O") or os.path.join(os.environ.get("SRC", "."), "build")
FAILED = 0
PASSED = 0


def ok(cond, desc):
    global FAILED, PASSED
    if cond:
        PASSED += 1
        print("ok - " + desc)
    else:
        FAILED += 1
        print("not ok - " + desc)
    sys.stdout.flush()


def stripe_header(payload: bytes, secret: str, t=None) -> str:
    t = int(time.time()) if t is None else t
    sig = WebhookSignature._compute_signature(
        "%d.%s" % (t, payload.decode("utf-8")), secret)
    return "t=%d,v1=%s" % (t, sig)


def payguard_sign(payload: bytes, secret: str, t=None) -> str:
    args = [os.path.join(BIN, "payguard"), "sign", "--secret", secret]
    if t is not None:
        args += ["--timestamp", str(t)]
    r = subprocess.run(args, input=payload, capture_output=True,
                       env={"PATH": "/usr/bin:/bin"}, timeout=30)
    return r.stdout.decode().strip() if r.returncode == 0 else "exit %d" % r.returncode


def cgi(payload: bytes, header: str, extra=None):
    """POST payload to webhook.fcgi as plain CGI; returns (status, body)."""
    env = {
        "PATH": "/usr/bin:/bin", "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "/webhook", "REQUEST_URI": "/webhook",
        "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(payload)), "HTTP_STRIPE_SIGNATURE": header,
        "HTTP_USER_AGENT": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        "PAYGUARD_STATE_DIR": STATE, "STRIPE_WEBHOOK_SECRET": SECRET,
        "STRIPE_WEBHOOK_ALLOWED_IPS": "127.0.0.1,::1",
        "STRIPE_API_VERSION": "2024-06-20", "PAYGUARD_SYNC": "0",
    }
    env.update(extra or {})
    www = pwd.getpwnam("www-data")
    # Without root (make check) the program runs as the caller.
    drop = ["setpriv", "--reuid=%d" % www.pw_uid, "--regid=%d" % www.pw_gid,
            "--clear-groups"] if os.getuid() == 0 else []
    r = subprocess.run(
        drop + [os.path.join(BIN, "webhook.fcgi")],
        input=payload, capture_output=True, env=env, timeout=30)
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    if not _:
        head, _, body = r.stdout.partition(b"\n\n")
    status = 200
    for line in head.decode("latin-1").splitlines():
        if line.lower().startswith("status:"):
            status = int(line.split(":", 1)[1].split()[0])
    try:
        doc = json.loads(body.decode("utf-8"))
    except ValueError:
        doc = {}
    return status, doc


def event(evid, note="plain"):
    return json.dumps({
        "id": evid, "object": "event", "api_version": "2024-06-20",
        "created": int(time.time()), "livemode": False, "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "checkout.session.completed",
        "data": {"object": {"id": "cs_test_1", "object": "checkout.session",
                            "customer_details": {"email": "interop@example.com",
                                                 "name": note}}},
    }, ensure_ascii=False).encode("utf-8")


def err_code(doc):
    return (doc.get("error") or {}).get("code")


base = None
try:
    for f in ("webhook.fcgi", "payguard"):
        if not os.access(os.path.join(O, f), os.X_OK):
            ok(False, "%s/%s is built" % (O, f))
            sys.exit(1)
    base = tempfile.mkdtemp(prefix="pg-e2e-py.")
    os.chmod(base, 0o755)
    BIN = os.path.join(base, "bin")
    STATE = os.path.join(base, "state")
    os.mkdir(BIN)
    for f in ("webhook.fcgi", "payguard"):
        shutil.copy(os.path.join(O, f), BIN)
        os.chmod(os.path.join(BIN, f), 0o755)
    os.mkdir(STATE, 0o700)
    if os.getuid() == 0:
        www = pwd.getpwnam("www-data")
        os.chown(STATE, www.pw_uid, www.pw_gid)
    SECRET = "whsec_" + os.urandom(24).hex()
    pid = os.getpid()

    print("# stripe-python %s" % stripe.version.VERSION)

    # 1. stripe-python signs, webhook.fcgi verifies.
    p = event("evt_py%d_1" % pid)
    st, doc = cgi(p, stripe_header(p, SECRET))
    ok(st == 200 and doc.get("received") is True,
       "stripe-python header accepted by webhook.fcgi (got %d %s)" % (st, doc))

    p = event("evt_py%d_2" % pid, note="Zoë Ünïcødé ✓ 支付")
    st, doc = cgi(p, stripe_header(p, SECRET))
    ok(st == 200, "stripe-python header over a non-ASCII UTF-8 payload accepted (got %d)" % st)

    p = event("evt_py%d_3" % pid)
    h = stripe_header(p, SECRET)
    st, doc = cgi(p.replace(b"cs_test_1", b"cs_test_2"), h)
    ok(st == 400 and err_code(doc) == "signature_mismatch",
       "stripe-python header over a modified payload: signature_mismatch (got %d %s)" % (st, err_code(doc)))

    p = event("evt_py%d_4" % pid)
    st, doc = cgi(p, stripe_header(p, SECRET, int(time.time()) - 600))
    ok(st == 400 and err_code(doc) == "timestamp_too_old",
       "stripe-python header 600 s old: timestamp_too_old (got %d %s)" % (st, err_code(doc)))

    # Stripe sends one v1 per active secret during a rotation.
    other = "whsec_" + os.urandom(24).hex()
    p = event("evt_py%d_5" % pid)
    t = int(time.time())
    h = "t=%d,v1=%s,v1=%s,v0=%s" % (
        t, WebhookSignature._compute_signature("%d.%s" % (t, p.decode()), other),
        WebhookSignature._compute_signature("%d.%s" % (t, p.decode()), SECRET),
        "ab" * 32)
    st, doc = cgi(p, h)
    ok(st == 200, "rotation-style header (v1 for another secret, v1 for ours, v0) accepted (got %d)" % st)

    # 2. payguard signs, stripe-python verifies.
    p = event("evt_py%d_6" % pid, note="Zoë ✓")
    h = payguard_sign(p, SECRET)
    try:
        ev = stripe.Webhook.construct_event(p, h, SECRET)
        ok(ev["id"] == "evt_py%d_6" % pid, "payguard sign header passes stripe.Webhook.construct_event")
    except Exception as e:  # noqa: BLE001
        ok(False, "payguard sign header passes stripe.Webhook.construct_event (%r, header %r)" % (e, h))

    t = int(time.time()) - 42
    h = payguard_sign(p, SECRET, t)
    ok(h == stripe_header(p, SECRET, t),
       "payguard sign --timestamp T equals stripe-python's header byte for byte")
    try:
        stripe.Webhook.construct_event(p, h, SECRET)
        ok(True, "payguard sign --timestamp (42 s ago) passes construct_event")
    except Exception as e:  # noqa: BLE001
        ok(False, "payguard sign --timestamp (42 s ago) passes construct_event (%r)" % e)

    try:
        stripe.Webhook.construct_event(p, payguard_sign(p, other), SECRET)
        ok(False, "construct_event rejects a payguard header made with another secret")
    except stripe.error.SignatureVerificationError:
        ok(True, "construct_event rejects a payguard header made with another secret")

    try:
        stripe.Webhook.construct_event(p, payguard_sign(p, SECRET, int(time.time()) - 1000), SECRET)
        ok(False, "construct_event rejects a payguard header 1000 s old")
    except stripe.error.SignatureVerificationError:
        ok(True, "construct_event rejects a payguard header 1000 s old")

    # 3. round trip: payguard sign -> webhook.fcgi.
    p = event("evt_py%d_7" % pid)
    st, doc = cgi(p, payguard_sign(p, SECRET))
    ok(st == 200, "payguard sign header accepted by webhook.fcgi (got %d)" % st)
finally:
    if base:
        shutil.rmtree(base, ignore_errors=True)

print("# %d passed, %d failed" % (PASSED, FAILED))
sys.exit(1 if FAILED or not PASSED else 0)
