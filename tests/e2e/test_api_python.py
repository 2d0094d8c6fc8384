#!/usr/bin/python3
"""Debian's python3-stripe (5.0.0) as a real client of api.fcgi (issue 4).

api.fcgi runs under Apache 2.4 + mod_fcgid (Alias /api -> api.fcgi, the
Stripe path as PATH_INFO, FcgidInitialEnv configuration, FcgidPassHeader
Authorization); the upstream is tests/fake_stripe.py.  The client changes
only its API base (http://127.0.0.1:PORT/api) and uses a gateway token as
its API key.  Covered: customers (create, retrieve, modify, list, delete),
PaymentIntents (create, confirm, capture, cancel), replay with an
idempotency key (same id, one upstream call), every error as the right
stripe.error class (AuthenticationError, PermissionError,
InvalidRequestError for route_not_allowed / pci_raw_card_data / upstream
400 with param, IdempotencyError, RateLimitError, CardError, APIError for a
502), token scopes and ops, the pinned Stripe-Version whatever the client
sends, and a scan for the Stripe secret key and the tokens.

Run by tests/run-e2e.sh with /usr/bin/python3.  Environment: O, SRC.
Ports 19820-19821.  Prints TAP lines; exits non-zero on failure.
"""
import grp
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

import stripe

SRC = os.environ.get("SRC") or os.getcwd()
O = os.environ.get("O") or os.path.join(SRC, "build")
FAKE_PORT, APACHE_PORT = 19820, 19821
SV = "2024-06-20"
# Root drops to www-data; without root (make check) everything runs as
# the caller, who owns every file already.
ROOT = os.getuid() == 0
WWW = pwd.getpwnam("www-data") if ROOT else pwd.getpwuid(os.getuid())
failed = 0
passed = 0
procs = []


def report(ok, desc, detail=""):
    global failed, passed
    if ok:
        passed += 1
        print("ok - %s" % desc)
    else:
        failed += 1
        print("not ok - %s" % desc)
        for line in str(detail).splitlines()[:12]:
            print("#   %s" % line)
    sys.stdout.flush()


def check(desc, fn):
    try:
        r = fn()
        ok, detail = (r if isinstance(r, tuple) else (bool(r), ""))
    except Exception as e:
        ok, detail = False, "%r\n%s" % (e, traceback.format_exc())
    report(ok, desc, detail)


def raises(cls, fn, **want):
    """fn() raises exactly cls (not a subclass or parent) with attributes."""
    try:
        r = fn()
    except stripe.error.StripeError as e:
        if type(e) is not cls:
            return False, "raised %s(%r) status %s body %s" % (
                type(e).__name__, str(e), e.http_status, e.http_body)
        for k, v in want.items():
            got = err_field(e, k)
            if got != v:
                return False, "%s: %s = %r, want %r; body %s" % (
                    cls.__name__, k, got, v, e.http_body)
        return True, ""
    return False, "no exception; returned %r" % (r,)


def err_field(e, k):
    if k == "http_status":
        return e.http_status
    body = e.json_body or {}
    return (body.get("error") or {}).get(k)


def port_free(p):
    """Nothing listens on 127.0.0.1:p (TIME_WAIT leftovers do not count)."""
    try:
        socket.create_connection(("127.0.0.1", p), 0.5).close()
        return False
    except OSError:
        return True


def wait_port(p, secs=10):
    end = time.time() + secs
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", p), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def as_www(args, **kw):
    def drop():
        if ROOT:
            os.setgroups([])
            os.setgid(WWW.pw_gid)
            os.setuid(WWW.pw_uid)
    return subprocess.run(args, preexec_fn=drop, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=30, **kw)


def fake(path, data=None, method=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (FAKE_PORT, path),
                                 data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def fake_log():
    return fake("/__log")


def fault(spec):
    fake("/__fault", json.dumps(spec).encode())


def stop(p, secs=15):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(secs)
        except subprocess.TimeoutExpired:
            print("# pid %d ignored SIGTERM; killing" % p.pid)
            p.kill()
            p.wait()


def pids_of_exe(path):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.readlink("/proc/%s/exe" % d) == path:
                    out.append(int(d))
            except OSError:
                pass
    return out


def main():
    for b in ("api.fcgi", "payguard"):
        if not os.access(os.path.join(O, b), os.X_OK):
            report(False, "%s/%s is built" % (O, b))
            return
    for p in (FAKE_PORT, APACHE_PORT):
        if not port_free(p):
            report(False, "port %d is free" % p)
            return
    base = tempfile.mkdtemp(prefix="pg-e2e-py.")
    os.chmod(base, 0o755)
    try:
        run(base)
    finally:
        for p in procs:
            stop(p)
        stray = pids_of_exe(os.path.join(base, "bin", "api.fcgi"))
        for pid in stray:
            report(False, "no stray api.fcgi left (pid %d)" % pid)
            os.kill(pid, signal.SIGKILL)
        if failed:
            for f in ("apache/logs/error.log", "fake.out"):
                fp = os.path.join(base, f)
                if os.path.exists(fp):
                    print("# --- tail %s" % f)
                    for line in open(fp, errors="replace").read().splitlines()[-15:]:
                        print("#   %s" % line)
        if os.environ.get("PG_KEEP") == "1":
            print("# kept %s" % base)
        else:
            shutil.rmtree(base, ignore_errors=True)


def run(base):
    binp = os.path.join(base, "bin")
    state = os.path.join(base, "state")
    R = os.path.join(base, "apache")
    os.makedirs(binp)
    os.makedirs(state)
    for d in ("logs", "run", "htdocs"):
        os.makedirs(os.path.join(R, d))
    for b in ("api.fcgi", "payguard"):
        shutil.copy(os.path.join(O, b), binp)
        os.chmod(os.path.join(binp, b), 0o755)
    os.chmod(binp, 0o755)
    os.chown(state, WWW.pw_uid, WWW.pw_gid)
    os.chmod(state, 0o700)
    sk = "sk_test_51Py" + os.urandom(18).hex()
    audit = os.path.join(state, "logs", "security_audit.log")

    # --- fake upstream
    fake_out = open(os.path.join(base, "fake.out"), "w")
    fp = subprocess.Popen([sys.executable, os.path.join(SRC, "tests", "fake_stripe.py"),
                           "--port", str(FAKE_PORT), "--key", sk, "--version", SV,
                           "--log", os.path.join(base, "fake.log")],
                          stdout=fake_out, stderr=subprocess.STDOUT)
    procs.append(fp)
    if not wait_port(FAKE_PORT):
        report(False, "fake upstream listens on %d" % FAKE_PORT)
        return

    # --- tokens (the CLI as www-data on the server's state dir)
    def cli(*args):
        return as_www([os.path.join(binp, "payguard")] + list(args),
                      env={"PATH": "/usr/bin:/bin", "PAYGUARD_STATE_DIR": state})
    tokens = {}
    for name, scope, ops in (("shop", "write", None), ("report", "read", None),
                             ("pionly", "write", "payment_intent"),
                             ("rl", "write", None), ("gone", "write", None)):
        args = ["token", "create", "--name", name, "--scope", scope]
        if ops:
            args += ["--ops", ops]
        r = cli(*args)
        tokens[name] = r.stdout.decode().strip()
    report(all(t.startswith("pgk_") and "\n" not in t for t in tokens.values()),
           "payguard token create (as www-data) printed five pgk_ tokens",
           {k: v[:8] for k, v in tokens.items()})
    r = cli("token", "revoke", "gone")
    report(r.returncode == 0, "payguard token revoke gone", r.stderr)

    # --- Apache + mod_fcgid
    conf = {
        "STRIPE_SECRET_KEY": sk,
        "STRIPE_API_BASE": "http://127.0.0.1:%d" % FAKE_PORT,
        "STRIPE_API_VERSION": SV,
        "PAYGUARD_STATE_DIR": state,
        "PAYGUARD_RATE_LIMITS": "customer=100000,payment_intent=100000,refund=3,"
                                "event=100000,product=100000,price=100000,default=100000",
        "PAYGUARD_MAX_NETWORK_RETRIES": "2",
    }
    env_lines = "\n".join('FcgidInitialEnv %s "%s"' % kv for kv in conf.items())
    with open(os.path.join(R, "httpd.conf"), "w") as f:
        f.write("""ServerRoot "{R}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile run/httpd.pid
Mutex file:run default
DefaultRuntimeDir run
ErrorLog logs/error.log
LogLevel warn
LoadModule mpm_event_module   /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module  /usr/lib/apache2/modules/mod_authz_core.so
LoadModule mime_module        /usr/lib/apache2/modules/mod_mime.so
LoadModule alias_module       /usr/lib/apache2/modules/mod_alias.so
LoadModule env_module         /usr/lib/apache2/modules/mod_env.so
LoadModule fcgid_module       /usr/lib/apache2/modules/mod_fcgid.so
User {www}
Group {wwwgroup}
TypesConfig /etc/mime.types
CustomLog logs/access.log "%h %t \\"%r\\" %>s %b %D"
DocumentRoot "{R}/htdocs"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
# empty; allowed so that the PATH_TRANSLATED lookup of /v1/... logs no AH01630
<Directory "{R}/htdocs">
    Require all granted
</Directory>
FcgidIPCDir run/fcgidsock
FcgidProcessTableFile run/fcgid_shm
FcgidMaxProcessesPerClass 8
FcgidMaxRequestLen 1048576
FcgidIOTimeout 120
# without it mod_fcgid drops the header: the app never sees HTTP_AUTHORIZATION
FcgidPassHeader Authorization
{env}
Alias /api {bin}/api.fcgi
<Directory "{bin}">
    <FilesMatch "\\.fcgi$">
        SetHandler fcgid-script
        Options +ExecCGI
        AcceptPathInfo On
        Require all granted
    </FilesMatch>
</Directory>
""".format(R=R, port=APACHE_PORT, env=env_lines, bin=binp,
           www=WWW.pw_name, wwwgroup=grp.getgrgid(WWW.pw_gid).gr_name))
    t = subprocess.run(["/usr/sbin/apache2", "-f", os.path.join(R, "httpd.conf"), "-t"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if t.returncode != 0:
        report(False, "apache2 -t accepts the configuration", t.stdout.decode())
        return
    ap = subprocess.Popen(["/usr/sbin/apache2", "-f", os.path.join(R, "httpd.conf"),
                           "-DFOREGROUND"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    procs.insert(0, ap)
    if not wait_port(APACHE_PORT):
        report(False, "Apache listens on %d" % APACHE_PORT)
        return

    # --- the client: only the API base changes
    stripe.api_base = "http://127.0.0.1:%d/api" % APACHE_PORT
    stripe.api_key = tokens["shop"]
    stripe.max_network_retries = 0
    # An old version on purpose: the gateway must send its pinned one.
    stripe.api_version = "2020-08-27"
    seen = []   # response bodies, for the secret scan

    def keep(o):
        seen.append(str(o))
        return o

    def mark():
        return len(fake_log())

    def since(m, pred=lambda r: True):
        return [r for r in fake_log()[m:] if pred(r)]

    # customers
    st = {}

    def create_customer():
        c = keep(stripe.Customer.create(email="jenny.rosen@example.com",
                                        name="Jenny Rosen", metadata={"order": "6735"}))
        st["cus"] = c
        return (c.id.startswith("cus_") and c.object == "customer" and
                c.email == "jenny.rosen@example.com" and c.metadata["order"] == "6735",
                repr(c))
    check("Customer.create through api.fcgi under Apache + mod_fcgid", create_customer)
    if "cus" not in st:
        report(False, "cannot go on without a customer")
        return
    cid = st["cus"].id
    check("Customer.retrieve returns the same customer",
          lambda: (lambda c: (c.id == cid and c.email == "jenny.rosen@example.com", repr(c)))(
              keep(stripe.Customer.retrieve(cid))))
    check("Customer.modify updates metadata",
          lambda: keep(stripe.Customer.modify(cid, metadata={"tier": "gold"})).metadata.to_dict()
          == {"order": "6735", "tier": "gold"})
    check("Customer.list(email=...) finds it",
          lambda: [c.id for c in keep(stripe.Customer.list(email="jenny.rosen@example.com", limit=5)).data] == [cid])

    # payment intents
    def pi_flow():
        pi = keep(stripe.PaymentIntent.create(amount=2000, currency="eur",
                                              customer=cid, metadata={"order": "6735"}))
        ok1 = pi.id.startswith("pi_") and pi.status == "requires_payment_method" and \
            pi.amount == 2000 and pi.client_secret.startswith(pi.id + "_secret_")
        pi2 = keep(stripe.PaymentIntent.create(amount=1500, currency="usd",
                                               payment_method="pm_card_visa",
                                               capture_method="manual"))
        pi2 = keep(pi2.confirm())
        s1 = pi2.status
        pi2 = keep(pi2.capture())
        pi3 = keep(stripe.PaymentIntent.cancel(pi.id))
        return (ok1 and s1 == "requires_capture" and pi2.status == "succeeded" and
                pi3.status == "canceled", "%s %s %s %s" % (pi.status, s1, pi2.status, pi3.status))
    check("PaymentIntent create, confirm, capture, cancel", pi_flow)

    # idempotency
    def replay():
        m = mark()
        a = keep(stripe.Customer.create(email="idem@example.com", idempotency_key="k1"))
        b = keep(stripe.Customer.create(email="idem@example.com", idempotency_key="k1"))
        ups = since(m, lambda r: r["method"] == "POST" and r["path"] == "/v1/customers")
        rep = b.last_response.headers.get("Idempotent-Replayed")
        return (a.id == b.id and len(ups) == 1 and rep == "true" and
                ups[0]["headers"]["idempotency_key"],
                "ids %s %s, upstream calls %d, Idempotent-Replayed %r" % (a.id, b.id, len(ups), rep))
    check("Customer.create(idempotency_key='k1') twice: same id, one upstream call, Idempotent-Replayed: true", replay)
    check("same idempotency key, different params -> stripe.error.IdempotencyError",
          lambda: raises(stripe.error.IdempotencyError,
                         lambda: stripe.Customer.create(email="other@example.com", idempotency_key="k1"),
                         type="idempotency_error", http_status=400))

    def auto_key():
        m = mark()
        keep(stripe.Customer.create(email="auto@example.com"))
        ups = since(m)
        return (len(ups) == 1 and ups[0]["headers"]["idempotency_key"], repr(ups))
    check("a POST reaches the upstream with an Idempotency-Key", auto_key)

    # errors as stripe.error classes
    check("bogus token -> AuthenticationError (401 invalid_token)",
          lambda: raises(stripe.error.AuthenticationError,
                         lambda: stripe.Customer.list(api_key="pgk_" + "A" * 43),
                         type="authentication_error", code="invalid_token", http_status=401))
    check("revoked token -> AuthenticationError",
          lambda: raises(stripe.error.AuthenticationError,
                         lambda: stripe.Customer.list(api_key=tokens["gone"]),
                         type="authentication_error", http_status=401))
    check("the Stripe secret key is not a gateway token -> AuthenticationError",
          lambda: raises(stripe.error.AuthenticationError,
                         lambda: stripe.Customer.list(api_key=sk), http_status=401))
    check("read token: Customer.list works",
          lambda: keep(stripe.Customer.list(api_key=tokens["report"])).object == "list")
    m = mark()
    check("read token: Customer.create -> PermissionError (403 insufficient_scope)",
          lambda: raises(stripe.error.PermissionError,
                         lambda: stripe.Customer.create(email="r@example.com", api_key=tokens["report"]),
                         type="permission_error", code="insufficient_scope", http_status=403))
    check("ops=payment_intent token: Customer.list -> PermissionError",
          lambda: raises(stripe.error.PermissionError,
                         lambda: stripe.Customer.list(api_key=tokens["pionly"]),
                         code="insufficient_scope", http_status=403))
    check("ops=payment_intent token: PaymentIntent.create works",
          lambda: keep(stripe.PaymentIntent.create(amount=500, currency="eur",
                                                   api_key=tokens["pionly"])).id.startswith("pi_"))
    check("route not allowlisted: Charge.list -> InvalidRequestError (404 route_not_allowed)",
          lambda: raises(stripe.error.InvalidRequestError, lambda: stripe.Charge.list(),
                         type="invalid_request_error", code="route_not_allowed", http_status=404))
    check("route not allowlisted: Balance.retrieve -> InvalidRequestError",
          lambda: raises(stripe.error.InvalidRequestError, lambda: stripe.Balance.retrieve(),
                         code="route_not_allowed", http_status=404))
    check("events are read-only but listable: Event.list",
          lambda: len(keep(stripe.Event.list()).data) >= 1)
    check("refused requests never reached the upstream",
          lambda: (lambda u: (u == [], repr(u)))(
              since(m, lambda r: r["path"] in ("/v1/charges", "/v1/balance") or
                    (r["method"] == "POST" and r["params"] == [["email", "r@example.com"]]))))
    check("upstream 400 -> InvalidRequestError with param amount",
          lambda: raises(stripe.error.InvalidRequestError,
                         lambda: stripe.PaymentIntent.create(currency="eur"),
                         code="parameter_missing", param="amount", http_status=400))
    check("upstream 404 -> InvalidRequestError resource_missing",
          lambda: raises(stripe.error.InvalidRequestError,
                         lambda: stripe.Customer.retrieve("cus_doesnotexist"),
                         code="resource_missing", http_status=404))

    def card_error():
        try:
            stripe.PaymentIntent.create(amount=2000, currency="eur",
                                        payment_method="pm_card_chargeDeclined", confirm=True)
        except stripe.error.CardError as e:
            return (e.code == "card_declined" and e.http_status == 402 and
                    e.json_body["error"].get("decline_code") == "generic_decline",
                    "%r %r" % (e.code, e.json_body))
        except Exception as e:
            return False, repr(e)
        return False, "no exception"
    check("declined card -> CardError code card_declined, decline_code generic_decline", card_error)

    def injected_402():
        fault({"path": "/v1/customers", "method": "POST", "responses": [{"status": 402}]})
        return raises(stripe.error.CardError,
                      lambda: stripe.Customer.create(email="x402@example.com"),
                      type="card_error", code="card_declined", http_status=402)
    check("injected upstream 402 -> CardError", injected_402)

    def pci():
        m = mark()
        r = raises(stripe.error.InvalidRequestError,
                   lambda: stripe.Customer.create(email="pci@example.com",
                                                  metadata={"note": "4242 4242 4242 4242"}),
                   code="pci_raw_card_data", param="metadata[note]", http_status=400)
        ups = since(m)
        if r[0] and ups:
            return False, "the request reached the upstream: %r" % ups
        return r
    check("card number in metadata -> InvalidRequestError pci_raw_card_data, never upstream", pci)

    def rate_limit():
        out = []
        for i in range(4):
            try:
                keep(stripe.Refund.list(api_key=tokens["rl"]))
                out.append("ok")
            except stripe.error.RateLimitError as e:
                out.append("RateLimitError %s %s" % (e.http_status, err_field(e, "code")))
            except Exception as e:
                out.append(repr(e))
        return out == ["ok", "ok", "ok", "RateLimitError 429 rate_limit"], repr(out)
    check("refund=3: fourth Refund.list -> RateLimitError (429 rate_limit)", rate_limit)

    def bad_gateway():
        # Under FastCGI the gateway's upstream connection is reused, so
        # this also covers libcurl's own silent reconnect on a dead reused
        # connection: it must not add attempts beyond the retry budget.
        fault({"path": "/v1/customers", "method": "GET",
               "responses": [{"drop": True}, {"drop": True}, {"drop": True}]})
        m = mark()
        r = raises(stripe.error.APIError, lambda: stripe.Customer.list(limit=1),
                   type="api_error", code="api_connection_error", http_status=502)
        ups = since(m)
        gaps = ["%.3f" % (b["time"] - a["time"]) for a, b in zip(ups, ups[1:])]
        detail = "upstream attempts %d (want 3), gaps %s s, statuses %s" % (
            len(ups), gaps, [u["status"] for u in ups])
        if not r[0]:
            return False, detail + "\n" + r[1][:200]
        if len(ups) != 3 or any(float(g) < 0.45 for g in gaps):
            return False, detail
        return True, ""
    check("upstream connection dropped 3 times -> APIError (502 api_connection_error; "
          "python3-stripe 5.0.0 maps any other status to APIError), 3 attempts", bad_gateway)

    def retried():
        fault({"path": "/v1/customers", "method": "POST",
               "responses": [{"status": 500}, {"status": 503}]})
        m = mark()
        c = keep(stripe.Customer.create(email="retry@example.com"))
        ups = since(m)
        keys = set(r["headers"]["idempotency_key"] for r in ups)
        gaps = [b["time"] - a["time"] for a, b in zip(ups, ups[1:])]
        return (c.id.startswith("cus_") and len(ups) == 3 and len(keys) == 1 and
                all(g >= 0.45 for g in gaps), "calls %d keys %r gaps %r" % (len(ups), keys, gaps))
    check("500, 503 then 200: the gateway retries (3 calls, one key, >= 0.5 s apart); the client sees success", retried)

    check("Customer.delete", lambda: keep(stripe.Customer.delete(cid)).deleted is True)

    # --- what the upstream saw
    log = fake_log()
    check("upstream: every request had the right key and the pinned version %s (client sent 2020-08-27)" % SV,
          lambda: (all(r["headers"]["authorization"] == "correct" and
                       r["headers"]["stripe_version"] == SV for r in log),
                   [r["headers"] for r in log if r["headers"]["stripe_version"] != SV][:3]))
    check("upstream: no strictness violation",
          lambda: (all(not r["violations"] for r in log),
                   [(r["path"], r["violations"]) for r in log if r["violations"]][:5]))
    check("upstream: every POST carried an Idempotency-Key",
          lambda: all(r["headers"]["idempotency_key"] for r in log if r["method"] == "POST"))

    # --- audit and secrets
    def audit_ok():
        recs = [json.loads(l) for l in open(audit)]
        want = {("api_request_processed", "LOW", "shop"),
                ("permission_denied", "HIGH", "report"),
                ("pci_compliance_violation", "HIGH", "shop"),
                ("api_rate_limit_exceeded", "MEDIUM", "rl")}
        have = set((r.get("event_type"), r.get("severity"), r.get("identity")) for r in recs)
        types = set(r.get("event_type") for r in recs)
        return (want <= have and "authentication_failed" in types,
                "missing %r" % (want - have))
    check("audit: api_request_processed, permission_denied, pci_compliance_violation, "
          "api_rate_limit_exceeded, authentication_failed with token names", audit_ok)

    def scan():
        files = [audit, os.path.join(R, "logs", "error.log"), os.path.join(R, "logs", "access.log"),
                 os.path.join(base, "fake.log")]
        hits = []
        blob = "\n".join(seen)
        if sk in blob:
            hits.append("responses: secret key")
        for f in files:
            if not os.path.exists(f):
                continue
            data = open(f, errors="replace").read()
            if sk in data:
                hits.append("%s: secret key" % f)
            if "4242 4242 4242 4242" in data:
                hits.append("%s: PAN" % f)
            if f != os.path.join(base, "fake.log"):
                for n, t in tokens.items():
                    if t and t in data:
                        hits.append("%s: token %s" % (f, n))
        return not hits, "\n".join(hits)
    check("no Stripe secret key in any response, audit record or log; no token or PAN in audit/server logs", scan)


if __name__ == "__main__":
    try:
        main()
    finally:
        print("# %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not passed else 0)
