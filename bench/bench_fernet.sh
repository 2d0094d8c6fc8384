#!/bin/bash
# Fernet throughput: payguard (C, bench/fernet_bench.c) against Python's
# pyca/cryptography Fernet, both measured in this run on 1 KB messages.
# Environment: O (absolute build dir), PY (Debian's python3).
# Prints a Markdown section; the target is C >= 5x Python.
set -u
O=${O:-$(pwd)/build}
PY=${PY:-/usr/bin/python3}
SECS=${FERNET_BENCH_SECONDS:-2}
bin="$O/bench/fernet_bench"
if [ ! -x "$bin" ]; then
	echo "bench_fernet: $bin missing (make $O/bench/fernet_bench)" >&2
	exit 1
fi
c=$("$bin" "$SECS") || { echo "bench_fernet: fernet_bench failed" >&2; exit 1; }
c_enc=$(echo "$c" | awk '$1 == "encrypt" { print $2 }')
c_dec=$(echo "$c" | awk '$1 == "decrypt" { print $2 }')
py=$("$PY" - "$SECS" <<'PYEOF'
import sys, timeit
from cryptography.fernet import Fernet
secs = float(sys.argv[1])
f = Fernet(Fernet.generate_key())
msg = b"a" * 1024
tok = f.encrypt(msg)
def rate(stmt):
    t = timeit.Timer(stmt, globals={"f": f, "msg": msg, "tok": tok})
    n, _ = t.autorange()          # calls that take >= 0.2 s
    reps = max(1, int(secs / 0.2))
    best = min(t.repeat(repeat=reps, number=n))
    return n / best
print("encrypt %.0f" % rate("f.encrypt(msg)"))
print("decrypt %.0f" % rate("f.decrypt(tok, ttl=60)"))
PYEOF
) || { echo "bench_fernet: python failed" >&2; exit 1; }
py_enc=$(echo "$py" | awk '$1 == "encrypt" { print $2 }')
py_dec=$(echo "$py" | awk '$1 == "decrypt" { print $2 }')
pyver=$("$PY" -c 'import cryptography, sys; print("Python %d.%d, cryptography %s" % (sys.version_info[0], sys.version_info[1], cryptography.__version__))')
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
enc_r=$(ratio "$c_enc" "$py_enc")
dec_r=$(ratio "$c_dec" "$py_dec")
verdict() { awk -v r="$1" 'BEGIN { print (r >= 5 ? "meets" : "BELOW") }'; }
cat <<MD

## Fernet, 1 KB messages (one core, ${SECS} s per measurement)

| operation | payguard C (ops/s) | $pyver (ops/s) | ratio | target >= 5x |
| --- | ---: | ---: | ---: | --- |
| encrypt | $c_enc | $py_enc | ${enc_r}x | $(verdict "$enc_r") |
| decrypt (ttl 60) | $c_dec | $py_dec | ${dec_r}x | $(verdict "$dec_r") |
MD
