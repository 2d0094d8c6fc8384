#!/usr/bin/python3
"""payguard <-> pyca/cryptography Fernet interoperability, both ways.

Run by tests/run-e2e.sh with Debian's /usr/bin/python3 (which ships
python3-cryptography).  Environment: O = absolute build dir (payguard,
helpers/fernet_tool), SRC = checkout.  Prints TAP-style "ok - ..." /
"not ok - ..." lines and exits non-zero when anything failed.
"""
import os
import subprocess
import sys
import time

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

O = os.environ.get("O") or os.path.join(os.getcwd(), "build")
PAYGUARD = os.path.join(O, "payguard")
TOOL = os.path.join(O, "helpers", "fernet_tool")
failed = 0


def report(ok, desc, detail=""):
    global failed
    if ok:
        print("ok - %s" % desc)
    else:
        failed += 1
        print("not ok - %s" % desc)
        if detail:
            for line in str(detail).splitlines()[:10]:
                print("#   %s" % line)
    sys.stdout.flush()


def run(args, data=b""):
    env = dict(os.environ)
    # No configured ring must leak in: every call names its key.
    env.pop("STRIPE_ENCRYPTION_KEY", None)
    p = subprocess.run(args, input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=60)
    return p.returncode, p.stdout, p.stderr


def pg_decrypt(keys, token, ttl=None):
    args = [PAYGUARD, "decrypt", "--key", keys]
    if ttl is not None:
        args += ["--ttl", str(ttl)]
    return run(args, token)


def pg_encrypt(keys, msg):
    rc, out, err = run([PAYGUARD, "encrypt", "--key", keys], msg)
    return rc, out.strip(), err


def check(desc, fn):
    try:
        ok, detail = fn()
    except Exception as e:  # a crash is a failure of this check only
        ok, detail = False, repr(e)
    report(ok, desc, detail)


k1 = Fernet.generate_key()
k2 = Fernet.generate_key()
f1, f2 = Fernet(k1), Fernet(k2)
msgs = [b"", b"x", b"hello", b"a" * 15, b"b" * 16, b"c" * 17,
        bytes(range(256)), os.urandom(4096), "\u00e9t\u00e9 \u20ac".encode()]


def py_to_c():
    for m in msgs:
        tok = f1.encrypt(m)
        rc, out, err = pg_decrypt(k1.decode(), tok)
        if rc != 0 or out != m:
            return False, "len %d rc %d %s" % (len(m), rc, err.decode())
    return True, ""


def c_to_py():
    for m in msgs:
        rc, tok, err = pg_encrypt(k1.decode(), m)
        if rc != 0:
            return False, err.decode()
        if f1.decrypt(tok) != m:
            return False, "mismatch for len %d" % len(m)
        if not tok.startswith(b"gAAAAA"):
            return False, tok
    return True, ""


def c_token_ttl_in_py():
    rc, tok, err = pg_encrypt(k1.decode(), b"ttl")
    ts = f1.extract_timestamp(tok)
    now = int(time.time())
    ok = abs(ts - now) <= 5 and f1.decrypt(tok, ttl=60) == b"ttl"
    try:
        f1.decrypt_at_time(tok, ttl=10, current_time=ts + 11)
        ok = False
    except InvalidToken:
        pass
    return ok, "ts %d now %d" % (ts, now)


def wrong_key_rejected():
    tok = f2.encrypt(b"secret")
    rc, out, err = pg_decrypt(k1.decode(), tok)
    ok = rc == 1 and out == b"" and b"invalid token" in err
    rc2, tok2, _ = pg_encrypt(k1.decode(), b"secret")
    try:
        f2.decrypt(tok2)
        ok = False
    except InvalidToken:
        pass
    return ok, err.decode()


def ring_decrypts_old():
    # MultiFernet([f1, f2]) <-> payguard --key k1,k2
    ring = "%s,%s" % (k1.decode(), k2.decode())
    rc, out, err = pg_decrypt(ring, f2.encrypt(b"old"))
    ok = rc == 0 and out == b"old"
    rc, tok, err = pg_encrypt(ring, b"new")
    ok = ok and f1.decrypt(tok) == b"new"
    return ok, err.decode()


def multifernet_rotate_readable():
    old = f2.encrypt_at_time(b"rotate me", int(time.time()) - 1000)
    mf = MultiFernet([f1, f2])
    rot = mf.rotate(old)
    rc, out, err = pg_decrypt(k1.decode(), rot)
    ok = rc == 0 and out == b"rotate me"
    ok = ok and f1.extract_timestamp(rot) == f2.extract_timestamp(old)
    return ok, err.decode()


def c_rotate_readable_by_py():
    ts0 = int(time.time()) - 5000
    old = f2.encrypt_at_time(b"payload", ts0)
    ring = "%s,%s" % (k1.decode(), k2.decode())
    rc, out, err = run([TOOL, "rotate", ring], old)
    rot = out.strip()
    if rc != 0:
        return False, err.decode()
    ok = f1.decrypt(rot) == b"payload"
    ok = ok and f1.extract_timestamp(rot) == ts0
    ok = ok and rot != old
    # The kept timestamp still counts for TTLs, as with MultiFernet.
    try:
        f1.decrypt(rot, ttl=60)
        ok = False
    except InvalidToken:
        pass
    # Python's own rotate of the same token agrees on the timestamp.
    ok = ok and MultiFernet([f1, f2]).rotate(old) and \
        f1.extract_timestamp(MultiFernet([f1, f2]).rotate(old)) == ts0
    return ok, rot


def c_rotate_expired():
    old = f2.encrypt_at_time(b"ancient", 1000)
    ring = "%s,%s" % (k1.decode(), k2.decode())
    rc, out, err = run([TOOL, "rotate", ring], old)
    rot = out.strip()
    ok = rc == 0 and f1.decrypt(rot) == b"ancient"
    ok = ok and f1.extract_timestamp(rot) == 1000
    return ok, err.decode()


def ttl_matches():
    """Same verdicts as pyca at the TTL and skew edges."""
    base = 1700000000
    tok = f1.encrypt_at_time(b"edge", base)
    cases = [(10, base + 10), (10, base + 11), (0, base), (10, base - 60),
             (10, base - 61), (100000, base + 50000)]
    for ttl, now in cases:
        try:
            f1.decrypt_at_time(tok, ttl, now)
            py = True
        except InvalidToken:
            py = False
        rc, out, err = run([TOOL, "decrypt-at", k1.decode(), str(ttl),
                            str(now)], tok)
        c = rc == 0 and out == b"edge"
        if c != py:
            return False, "ttl %d now %d: py %s c %s" % (ttl, now, py, c)
    return True, ""


def c_encrypt_at_readable():
    rc, out, err = run([TOOL, "encrypt-at", k1.decode(), "499162800"],
                       b"hello")
    tok = out.strip()
    ok = rc == 0 and f1.extract_timestamp(tok) == 499162800
    ok = ok and f1.decrypt_at_time(tok, 60, 499162801) == b"hello"
    return ok, err.decode()


def cli_ttl():
    old = f1.encrypt_at_time(b"old", int(time.time()) - 120)
    rc, out, err = pg_decrypt(k1.decode(), old, ttl=60)
    ok = rc == 1 and b"expired" in err
    rc, out, err2 = pg_decrypt(k1.decode(), old, ttl=3600)
    ok = ok and rc == 0 and out == b"old"
    rc, out, err3 = pg_decrypt(k1.decode(), old)
    ok = ok and rc == 0
    future = f1.encrypt_at_time(b"f", int(time.time()) + 3600)
    rc, out, err4 = pg_decrypt(k1.decode(), future, ttl=60)
    ok = ok and rc == 1
    return ok, (err + err2 + err3 + err4).decode()


def strictness():
    tok = f1.encrypt(b"x")
    bad = [tok + b"A", tok[:-2], tok.replace(b"-", b"+").replace(b"_", b"/")
           if (b"-" in tok or b"_" in tok) else b"+" + tok[1:],
           b"", b"not a token"]
    for t in bad:
        rc, out, err = pg_decrypt(k1.decode(), t)
        if rc != 1:
            return False, t
    return True, ""


def key_formats():
    rc, out, err = run([PAYGUARD, "keygen"])
    key = out.strip()
    ok = rc == 0 and len(key) == 44
    Fernet(key)  # pyca accepts our keys
    rc, out, err = run([PAYGUARD, "encrypt", "--key", "short"], b"x")
    ok = ok and rc == 1 and b"short" not in err
    return ok, err.decode()


check("python encrypt -> payguard decrypt", py_to_c)
check("payguard encrypt -> python decrypt", c_to_py)
check("payguard token timestamp and TTL as seen by python", c_token_ttl_in_py)
check("wrong key rejected both ways", wrong_key_rejected)
check("payguard ring decrypts old-key tokens, encrypts under the first",
      ring_decrypts_old)
check("MultiFernet.rotate tokens readable by payguard", multifernet_rotate_readable)
check("keyring_rotate tokens readable by python, timestamp kept",
      c_rotate_readable_by_py)
check("expired tokens rotate, as MultiFernet.rotate", c_rotate_expired)
check("TTL and clock-skew verdicts match pyca", ttl_matches)
check("fernet_encrypt_at tokens verify in python at that time",
      c_encrypt_at_readable)
check("payguard decrypt --ttl", cli_ttl)
check("payguard rejects non-canonical tokens", strictness)
check("payguard keygen keys are accepted by pyca", key_formats)

sys.exit(1 if failed else 0)
