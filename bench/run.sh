#!/bin/sh
# make bench: runs every bench/bench_*.sh in order; each prints a Markdown
# section of figures measured in this run (ratios against a baseline that
# the same script measures).  Collected into $O/bench-results.md.
O=${O:-build}
SRC=$(pwd)
case "$O" in /*) ;; *) O="$SRC/$O" ;; esac
export O SRC PY=/usr/bin/python3
out="$O/bench-results.md"
echo "# payguard benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores" > "$out"
for b in $(ls bench/bench_*.sh 2>/dev/null | sort); do
	[ -n "$BENCH_ONLY" ] && ! echo "$b" | grep -q "$BENCH_ONLY" && continue
	echo "== $b"
	bash "$b" 2>"$O/$(basename "$b").err" | tee -a "$out"
done
echo "results: $out"
