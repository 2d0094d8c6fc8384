#!/bin/sh
# Prints the closing line and fails when anything failed.
O=${O:-build}
r="$O/test-results.txt"
[ -f "$r" ] || { echo "0 passed, 1 failed"; exit 1; }
p=$(grep -c '^PASS ' "$r"); f=$(grep -c '^FAIL ' "$r")
grep '^FAIL ' "$r"
echo "$p passed, $f failed"
[ "$f" -eq 0 ] && [ "$p" -gt 0 ]
