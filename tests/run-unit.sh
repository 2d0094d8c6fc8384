#!/bin/sh
# Runs cmocka test programs, each with a fresh scratch state directory.
# Results are appended to $O/test-results.txt as "PASS name"/"FAIL name";
# exits 1 when any program failed.
O=${O:-build}
mkdir -p "$O"
fail=0
for t in "$@"; do
	d=$(mktemp -d /tmp/pg-unit.XXXXXX)
	name=$(basename "$t")
	if PAYGUARD_STATE_DIR=$d PAYGUARD_SRCDIR=$(pwd) CMOCKA_MESSAGE_OUTPUT=stdout \
	    "$t" > "$d.log" 2>&1; then
		echo "PASS unit/$name" >> "$O/test-results.txt"
		grep -E '^\[  PASSED  \]' "$d.log" | sed "s|^|  $name |"
	else
		echo "FAIL unit/$name" >> "$O/test-results.txt"
		echo "--- $name failed:"; cat "$d.log"
		fail=1
	fi
	rm -rf "$d" "$d.log"
done
exit $fail
