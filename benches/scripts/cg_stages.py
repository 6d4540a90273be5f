#!/usr/bin/env python3
"""Self instruction counts of a callgrind profile attributed to source functions through
the inline chain, so code that LLVM inlined into one big loop still splits by stage.

Usage: cg_stages.py BINARY CALLGRIND_OUT   (profile recorded with
  valgrind --tool=callgrind --dump-instr=yes --compress-pos=no --compress-strings=no)
Each instruction's cost goes to the innermost inlined frame that belongs to the ssmix
crates (std helpers such as clamp, bounds checks and iterators count to their caller).
"""
import collections, re, subprocess, sys

binary, prof = sys.argv[1], sys.argv[2]
# Line ranges of MixModel::code (crates/ssmix/src/model/mix/mod.rs, format version 3) by
# stage; update them when that function moves.
SECTIONS = [(0, "per-token setup"), (773, "decision loop, skipped decisions"),
            (794, "order inputs (state, det, run)"), (824, "order-0, match, SSM inputs"),
            (856, "mixer contexts, final mixer"), (882, "APM contexts, final p"),
            (900, "code_bit call"), (902, "learn (counters, runs, mixers, APMs)"),
            (943, "token update (history, words, run table)"), (999, "context hashes, run lookups"),
            (1021, "matcher, SSM observe")]
cost = collections.Counter()
in_call = False
ob_main = False
for line in open(prof):
    if line.startswith("ob="):
        ob_main = line.strip().endswith(binary.split("/")[-1])
    elif line.startswith("calls="):
        in_call = True  # the next cost line is a call's inclusive cost
    elif line.startswith("0x"):
        if in_call:
            in_call = False
            continue
        parts = line.split()
        if ob_main and len(parts) >= 3:
            cost[int(parts[0], 16)] += int(parts[2])
        elif not ob_main and len(parts) >= 3:
            cost[-1] += int(parts[2])
total = sum(cost.values())
addrs = sorted(a for a in cost if a >= 0)
# PIE binaries are loaded at 0x108000 by valgrind's default layout; find the base from
# the ELF entry of `main` if that guess fails.
nm = subprocess.run(["nm", binary], capture_output=True, text=True).stdout
base = 0
for cand in (0, 0x108000):
    base = cand
    out = subprocess.run(["addr2line", "-f", "-e", binary, hex(addrs[len(addrs)//2] - cand)],
                         capture_output=True, text=True).stdout
    if "??" not in out.split("\n")[0]:
        break
p = subprocess.run(["addr2line", "-i", "-f", "-C", "-a", "-e", binary],
                   input="\n".join(hex(a - base) for a in addrs) + "\n",
                   capture_output=True, text=True).stdout.split("\n")
owner = {}
i = 0
cur = None
frames = []
def flush():
    if cur is None:
        return
    # Not inlined into our code: name it by its outermost frame (std, core_arch, wide).
    name = "not ours: " + (re.sub(r"<.*?>", "", frames[-1][0])[:60] if frames else "?")
    for fn, loc in frames:
        if "/crates/ssmix" in loc:
            m = re.sub(r"<.*?>", "", fn)
            name = m.split("::")[-2] + "::" + m.split("::")[-1] if "::" in m else m
            path = loc.split('/crates/')[1].split(':')[0]
            name = f"{name} ({path})"
            if name.startswith("::code (ssmix/src/model/mix/mod.rs") and SECTIONS:
                try:
                    ln = int(loc.rsplit(":", 1)[1].split()[0])
                except ValueError:
                    ln = 0
                for start, label in reversed(SECTIONS):
                    if ln >= start:
                        name = f"MixModel::code: {label}"
                        break
            break
    owner[cur] = name
while i < len(p):
    l = p[i]
    if l.startswith("0x"):
        flush()
        cur = int(l, 16) + base
        frames = []
        i += 1
    elif l == "":
        i += 1
    else:
        frames.append((l, p[i + 1] if i + 1 < len(p) else ""))
        i += 2
flush()
by = collections.Counter()
for a, c in cost.items():
    by[owner.get(a, "other (libraries)")] += c
print(f"total {total}")
for name, c in by.most_common():
    print(f"{c:>14,} {100*c/total:6.2f}%  {name}")

# Stage summary (the table of docs/PERFORMANCE.md).
STAGES = [
    ("tokenizer (train + encode)", ("tokenizer/",)),
    ("range coder", ("coder/range.rs",)),
    ("SSM input (forward, softmax, BPTT)", ("model/ssm/", "ssm_input.rs", "SsmInput", "kernels", "detmath", "::ssm::")),
    ("not inlined std / wide / libc functions", ("not ours", "other (libraries)")),
    ("mixers (dot products, updates, final mixer)", ("Mixer::", "mix/hw.rs", "mixer contexts", "Logistic::squash")),
    ("APMs", ("Apm::", "APM contexts")),
    ("bucket lookup + context hashing", ("find_buckets", "hash_contexts", "context hashes")),
    ("inputs: counters, stretch, run/match/order-0", ("order inputs", "Counter::p", "Logistic::stretch", "order-0, match")),
    ("learning: counters, states, run/match", ("Counter::update", "States::next", "learn (")),
    ("per-token update: history, words, matcher", ("token update", "Matcher::")),
]
stage = collections.Counter()
for name, c in by.items():
    for label, keys in STAGES:
        if any(k in name for k in keys):
            stage[label] += c
            break
    else:
        stage["rest (loop control, setup, code_bit call, I/O)"] += c
print("\nstage summary")
for label, c in stage.most_common():
    print(f"{c:>14,} {100*c/total:6.2f}%  {label}")
