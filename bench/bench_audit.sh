#!/bin/bash
# make bench: the audit page and `payguard audit` against 10 k and 1 M
# stored events (30 days' worth, seeded straight into the index by
# bench/audit_seed through lib/aindex).  Measures wall-clock time of
# whole processes (audit.cgi as plain CGI, rendering the last 24 h; the
# CLI listing one hour), median of RUNS runs, and prints a Markdown
# section.  Targets from issue 5: page <= 200 ms, CLI <= 50 ms at 1 M,
# and the same order of time at 10 k.
set -u
O=${O:-build}; SRC=${SRC:-$(pwd)}
RUNS=${RUNS:-15}
W=$O/bench-audit
rm -rf "$W"; mkdir -p "$W"
[ -x "$O/bench/audit_seed" ] || { echo "bench_audit: $O/bench/audit_seed missing" >&2; exit 1; }

# ms_median CMD...: runs CMD RUNS times (output discarded), prints the
# median wall time in ms with one decimal.
ms_median() {
	local i t0 t1
	for i in $(seq "$RUNS"); do
		t0=$(date +%s%N); "$@" > /dev/null 2>&1; t1=$(date +%s%N)
		echo $(( (t1 - t0) / 1000 ))
	done | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }'
}

page() {
	env -i PATH=/usr/bin:/bin GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET \
	    SCRIPT_NAME=/audit REMOTE_ADDR=127.0.0.1 REMOTE_USER=admin \
	    QUERY_STRING=hours=24 PAYGUARD_STATE_DIR="$1" PAYGUARD_ADMIN_USERS=admin \
	    PAYGUARD_TEMPLATE_DIR="$SRC/templates" PAYGUARD_SYNC=0 "$O/audit.cgi"
}
cli() {
	env -i PATH=/usr/bin:/bin PAYGUARD_STATE_DIR="$1" "$O/payguard" audit --hours 1 --limit 10000
}

declare -A P C R I SEED
for n in 10000 1000000; do
	d=$W/s$n; mkdir -p "$d"
	t0=$(date +%s%N)
	"$O/bench/audit_seed" "$d" "$n" 720 || { echo "seed $n failed" >&2; exit 1; }
	SEED[$n]=$(( ($(date +%s%N) - t0) / 1000000 ))
	page "$d" | head -1 | grep -q '200 OK' || { echo "page at $n is not 200" >&2; exit 1; }
	R[$n]=$(cli "$d" 2>/dev/null | wc -l)
	I[$n]=$(ipe "$d" "$n")
	P[$n]=$(ms_median page "$d")
	C[$n]=$(ms_median cli "$d")
done
# ipe DIR N: the audit index's bytes per event: pages in use in the
# volatile environment (mdb_stat, not the sparse file size) over N
ipe() {
	mdb_stat -e "$1/volatile" 2>/dev/null | awk -v n="$2" '
	    /Page size:/ { ps = $3 } /Number of pages used:/ { pu = $5 }
	    END { if (n > 0 && ps > 0) printf "%d", ps * pu / n; else print "?" }'
}
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t) ? "PASS" : "MISS" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }

echo
echo "## Audit page and query (issue 5)"
echo
echo "Index seeded with N events over 30 days (200 IPs, a typical event mix); medians of $RUNS whole-process runs."
echo
echo "| stored events | seed time | index per event | target | page, last 24 h (audit.cgi) | target | \`payguard audit --hours 1\` (rows) | target |"
echo "|---|---|---|---|---|---|---|---|"
for n in 10000 1000000; do
	echo "| $n | ${SEED[$n]} ms | ${I[$n]} B | <= 300 B $(verdict "${I[$n]}" 300) | ${P[$n]} ms | <= 200 ms $(verdict "${P[$n]}" 200) | ${C[$n]} ms (${R[$n]}) | <= 50 ms $(verdict "${C[$n]}" 50) |"
done
echo
echo "Scaling 10 k -> 1 M (100x the data): page x$(ratio "${P[1000000]}" "${P[10000]}"), CLI x$(ratio "${C[1000000]}" "${C[10000]}") (the CLI returns 100x the rows: one hour holds ~1.4 k of 1 M events vs ~14 of 10 k)."
echo "Database size at 1 M: $(du -sh "$W/s1000000" | cut -f1)."
rm -rf "$W"
