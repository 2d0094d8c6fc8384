#!/bin/sh
# Runs each libFuzzer target for $1 seconds from its seed corpus
# (tests/fuzz/in/<target>/), recording PASS/FAIL in $O/test-results.txt;
# exits 1 when any target failed.
O=${O:-build}
secs=$1; shift
mkdir -p "$O"
fail=0
for f in "$@"; do
	name=$(basename "$f")
	seeds="tests/fuzz/in/$name"
	work=$(mktemp -d /tmp/pg-fuzz.XXXXXX)
	[ -d "$seeds" ] && cp -r "$seeds"/. "$work"/ 2>/dev/null
	dict=""
	[ -f "tests/fuzz/$name.dict" ] && dict="-dict=tests/fuzz/$name.dict"
	if "$f" -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
	    $dict -artifact_prefix="$O/" "$work" > "$O/fuzz-$name.log" 2>&1; then
		echo "PASS fuzz/$name" >> "$O/test-results.txt"
		echo "  fuzz $name: $(grep -o 'Done [0-9]* runs' "$O/fuzz-$name.log" | tail -1)"
	else
		echo "FAIL fuzz/$name" >> "$O/test-results.txt"
		fail=1
		echo "  fuzz $name FAILED:"; tail -30 "$O/fuzz-$name.log"
	fi
	rm -rf "$work"
done
exit $fail
