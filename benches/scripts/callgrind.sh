#!/bin/sh
# Instruction counts by stage for docs/PERFORMANCE.md (valgrind callgrind; counts are
# repeatable on a loaded machine, wall time is not).
# Usage: benches/scripts/callgrind.sh SSMIX_BINARY LEVEL FILE [OUT]
# Writes OUT (default /tmp/cg.L<LEVEL>) and OUT.d (decompression), prints the top
# inclusive entries of both.
set -eu
bin=$1; level=$2; f=$3; out=${4:-/tmp/cg.L$level}
valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" -"$level" -T1 -c "$f" > "$out.z" 2> "$out.log"
valgrind --tool=callgrind --callgrind-out-file="$out.d" "$bin" -d -T1 -c "$out.z" > "$out.out" 2>> "$out.log"
cmp "$f" "$out.out"
echo "input $(wc -c < "$f") bytes, compressed $(wc -c < "$out.z") bytes"
for o in "$out" "$out.d"; do
    echo "== $o"
    callgrind_annotate --inclusive=yes "$o" 2>/dev/null | sed -n '1,60p'
done
