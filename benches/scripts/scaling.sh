#!/bin/sh
# Scaling study for docs/PERFORMANCE.md: bits per byte, CPU speed (size / user time) and
# peak RSS of `ssmix -LEVEL -T1` against input size, with a verified round trip.
# Usage: benches/scripts/scaling.sh SSMIX_BINARY LEVEL FILE...
# Prints one markdown row per file: level | bytes | compressed | bpb | c KB/s | d KB/s | c RSS KB | d RSS KB
set -eu
bin=$1; level=$2; shift 2
tmp=${TMPDIR:-/tmp}/ssmix-scaling.$$
trap 'rm -f "$tmp".*' EXIT
for f in "$@"; do
    n=$(wc -c < "$f")
    /usr/bin/time -f "%M %U" -o "$tmp.ct" "$bin" -"$level" -T1 -c "$f" > "$tmp.z"
    /usr/bin/time -f "%M %U" -o "$tmp.dt" "$bin" -d -T1 -c "$tmp.z" > "$tmp.out"
    cmp "$f" "$tmp.out" || { echo "ROUND TRIP FAILED: $f" >&2; exit 1; }
    z=$(wc -c < "$tmp.z")
    read -r crss cu < "$tmp.ct"
    read -r drss du < "$tmp.dt"
    awk -v l="$level" -v n="$n" -v z="$z" -v cu="$cu" -v du="$du" -v cr="$crss" -v dr="$drss" 'BEGIN {
        cs = (cu > 0) ? sprintf("%.0f", n / 1000 / cu) : "n/a";
        ds = (du > 0) ? sprintf("%.0f", n / 1000 / du) : "n/a";
        printf "| %s | %d | %d | %.3f | %s | %s | %.1f | %.1f |\n", l, n, z, 8 * z / n, cs, ds, cr / 1024, dr / 1024 }'
done
