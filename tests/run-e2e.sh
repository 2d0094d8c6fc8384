#!/bin/sh
# Runs every tests/e2e/test_*.sh and tests/e2e/test_*.py in name order.
# Each prints TAP-style "ok - what" / "not ok - what" lines; a script that
# exits non-zero without printing "not ok" counts as one failure.  Exits 1
# when any suite failed.
# Environment given to each: O (build dir, absolute), SRC (checkout),
# PY (Debian's python3, which has stripe and cryptography).
O=${O:-build}
SRC=$(pwd)
case "$O" in /*) ;; *) O="$SRC/$O" ;; esac
export O SRC PY=/usr/bin/python3
mkdir -p "$O"
fail=0
for t in $(ls tests/e2e/test_*.sh tests/e2e/test_*.py 2>/dev/null | sort); do
	[ -n "$E2E_ONLY" ] && ! echo "$t" | grep -q "$E2E_ONLY" && continue
	# make asan: the plain-CGI and interoperability suites only (the
	# server suites repeat the same code paths, more slowly under ASan).
	[ -n "$E2E_QUICK" ] && ! echo "$t" | grep -qE "cgi|interop|api_gateway" && continue
	name=$(basename "$t")
	log="$O/e2e-$name.log"
	echo "== $name"
	case "$t" in
	*.py) timeout 600 $PY "$t" > "$log" 2>&1; rc=$? ;;
	*) timeout 600 bash "$t" > "$log" 2>&1; rc=$? ;;
	esac
	grep -E '^(not )?ok ' "$log" | sed 's/^/  /'
	grep -E '^ok ' "$log" | sed "s|^ok - |PASS e2e/$name: |" >> "$O/test-results.txt"
	grep -E '^not ok ' "$log" | sed "s|^not ok - |FAIL e2e/$name: |" >> "$O/test-results.txt"
	grep -q '^not ok ' "$log" && fail=1
	[ $rc -ne 0 ] && fail=1
	if [ $rc -ne 0 ] && ! grep -q '^not ok ' "$log"; then
		echo "FAIL e2e/$name: exited $rc" >> "$O/test-results.txt"
		echo "  not ok - $name exited $rc; last lines:"; tail -15 "$log" | sed 's/^/    /'
	elif [ $rc -ne 0 ]; then
		tail -15 "$log" | sed 's/^/    /'
	fi
done
exit $fail
