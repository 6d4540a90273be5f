#!/usr/bin/env python3
"""Simulated cache misses of a cachegrind profile by stage of the mixing model, from the
source lines (line ranges of crates/ssmix/src/model/mix/{mod.rs,tables.rs} at a1b92fd).

Usage: cachegrind_stages.py CACHEGRIND_OUT   (recorded with
  valgrind --tool=cachegrind --cache-sim=yes --D1=49152,12,64 --LL=2097152,16,64 ...)
Inlined std helpers (clamp, indexing) keep their own file, so the split is a lower bound
per stage; the totals are valgrind's.
"""
import collections, sys


def stage(f, ln):
    if f.endswith("model/mix/mod.rs"):
        for lo, hi, name in [(584, 618, "hash_contexts"), (618, 663, "find_buckets"),
                             (663, 870, "code: decision loop"),
                             (870, 945, "code: per-token update (runs table, history)"),
                             (330, 470, "Matcher")]:
            if lo <= ln < hi:
                return name
        return "mix/mod.rs other"
    if f.endswith("model/mix/tables.rs"):
        for lo, hi, name in [(255, 300, "Apm"), (195, 255, "Mixer"), (165, 195, "Counter")]:
            if lo <= ln < hi:
                return name
        return "tables.rs other"
    if "tokenizer" in f:
        return "tokenizer"
    if "coder" in f:
        return "range coder"
    return "other: " + f.split("/")[-1]


fl = None
ll = collections.Counter()
d1 = collections.Counter()
for line in open(sys.argv[1]):
    if line.startswith("fl="):
        fl = line[3:].strip()
        continue
    p = line.split()
    if len(p) == 10 and p[0].isdigit():
        v = list(map(int, p[1:]))  # Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw
        k = stage(fl, int(p[0]))
        ll[k] += v[5] + v[8]
        d1[k] += v[4] + v[7]
print(f"{'LL misses':>12} {'D1 misses':>12}  stage")
for k, v in ll.most_common(12):
    print(f"{v:>12,} {d1[k]:>12,}  {k}")
print(f"{sum(ll.values()):>12,} {sum(d1.values()):>12,}  total")
