#!/bin/sh
# make lint: banned functions, and the layers of lib/LAYERS (no include
# upward or sideways between features, no include cycle between modules).
# Prints one line per problem; exits 1 when there is any.
fail=0
if grep -nE '\b(sprintf|vsprintf|strcpy|strcat|gets|strtok|atoi|strncpy)\(' \
    lib/*.c cgi-bin/*.c tools/*.c; then
	echo "lint: banned function"
	fail=1
fi
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
for f in lib/*.c lib/*.h; do
	m=$(basename "$f"); m=${m%.[ch]}
	grep -o '^#include "[A-Za-z0-9_]*\.h"' "$f" | sed 's/.*"\(.*\)\.h"/\1/' |
	    while read -r i; do
		[ "$i" != "$m" ] && echo "$f $m $i"
	    done
done > "$edges"
awk 'NR == FNR {
	if ($1 == "allow") { allow[$2 " " $3] = 1; next }
	if ($0 ~ /^#/ || NF < 3) next
	for (i = 3; i <= NF; i++) { layer[$i] = $1; group[$i] = $2 }
	next
}
{
	f = $1; m = $2; i = $3
	if ((m " " i) in allow) next
	if (!(m in layer)) {
		if (!(m in told)) print "lint: lib/" m ": module not in lib/LAYERS"
		told[m] = 1; bad = 1; next
	}
	if (!(i in layer)) { print "lint: " f ": includes " i ".h, which is not in lib/LAYERS"; bad = 1; next }
	if (layer[i] > layer[m]) {
		print "lint: " f ": includes " i ".h, a higher layer (" group[i] " over " group[m] ")"; bad = 1
	} else if (layer[i] == layer[m] && group[i] != group[m]) {
		print "lint: " f ": includes " i ".h sideways (" group[m] " -> " group[i] ")"; bad = 1
	}
}
END { exit bad }' lib/LAYERS "$edges" || fail=1
# Module-level include cycles (x.c/x.h -> y): tsort names them.
# (allowed exceptions left out: they are the known cycles).
if ! awk 'NR == FNR { if ($1 == "allow") allow[$2 " " $3] = 1; next }
    !(($2 " " $3) in allow) { print $2, $3 }' lib/LAYERS "$edges" |
    sort -u | tsort > /dev/null 2> "$edges.cyc"; then
	sed 's/^/lint: include cycle: /' "$edges.cyc"
	fail=1
fi
rm -f "$edges.cyc"
exit $fail
