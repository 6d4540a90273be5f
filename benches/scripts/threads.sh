#!/bin/sh
# Thread speed-up for docs/PERFORMANCE.md: compress and decompress FILE with -T1 and -T2
# at LEVEL, print wall/user time, peak RSS and the load average; the two outputs must be
# byte-identical and both round trips exact.
# Usage: benches/scripts/threads.sh SSMIX_BINARY LEVEL FILE
set -eu
bin=$1; level=$2; f=$3
tmp=${TMPDIR:-/tmp}/ssmix-threads.$$
trap 'rm -f "$tmp".*' EXIT
for t in 1 2; do
    echo "load: $(uptime | sed 's/.*load/load/')"
    /usr/bin/time -f "compress -T$t: %e s wall %U s user %M KB" "$bin" -"$level" -T$t -c "$f" > "$tmp.T$t"
done
cmp "$tmp.T1" "$tmp.T2" && echo "-T1 and -T2 outputs identical ($(wc -c < "$tmp.T1") bytes)"
for t in 1 2; do
    echo "load: $(uptime | sed 's/.*load/load/')"
    /usr/bin/time -f "decompress -T$t: %e s wall %U s user %M KB" "$bin" -d -T$t -c "$tmp.T1" > "$tmp.out"
    cmp "$tmp.out" "$f" && echo "round trip ok"
done
