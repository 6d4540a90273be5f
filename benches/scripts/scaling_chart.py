#!/usr/bin/env python3
"""Draws docs/PERFORMANCE-scaling.svg from the rows printed by scaling.sh.

Usage: scaling_chart.py ROWS.md OUT.svg
ROWS.md holds `| level | bytes | compressed | bpb | c KB/s | d KB/s | c MiB | d MiB |`
rows (other lines are ignored). Left panel: bits per byte; right panel: compression CPU
speed (log scale); x: input size (log scale); one line per level.
"""
import math, sys

rows = {}
for line in open(sys.argv[1]):
    cells = [c.strip().replace(",", "") for c in line.strip().strip("|").split("|")]
    if len(cells) != 8 or not cells[0].isdigit():
        continue
    level, size, _, bpb, cs = int(cells[0]), int(cells[1]), cells[2], float(cells[3]), cells[4]
    rows.setdefault(level, []).append((size, bpb, float(cs) if cs != "n/a" else None))

colors = {1: "#1f77b4", 5: "#ff7f0e", 9: "#2ca02c"}
W, H, top, h = 760, 300, 30, 220
sizes = sorted({s for r in rows.values() for s, _, _ in r})
lx0, lx1 = math.log10(min(sizes)), math.log10(max(sizes))
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
       f'<rect width="{W}" height="{H}" fill="white"/>']

def panel(x0, title, ymin, ymax, ticks, value, log=False):
    w = 305.0
    f = (lambda v: math.log10(v)) if log else (lambda v: v)
    ys = lambda v: top + h - (f(v) - f(ymin)) / (f(ymax) - f(ymin)) * h
    xs = lambda s: x0 + (math.log10(s) - lx0) / (lx1 - lx0) * w
    out.append(f'<text x="{x0}" y="18">{title}</text>')
    out.append(f'<rect x="{x0}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#888"/>')
    for t in ticks:
        out.append(f'<line x1="{x0}" x2="{x0 + w}" y1="{ys(t):.1f}" y2="{ys(t):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{x0 - 4}" y="{ys(t) + 4:.1f}" text-anchor="end">{t:g}</text>')
    for s in sizes:
        label = f"{s // 1000} KB" if s < 1_000_000 else f"{s // 1_000_000} MB"
        out.append(f'<text x="{xs(s):.1f}" y="{top + h + 14}" text-anchor="middle">{label}</text>')
    for level, r in sorted(rows.items()):
        pts = [(xs(s), ys(value(b, c))) for s, b, c in sorted(r) if value(b, c) is not None]
        out.append('<polyline points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
                   + f'" fill="none" stroke="{colors.get(level, "#000")}" stroke-width="2"/>')
        for x, y in pts:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colors.get(level, "#000")}"/>')

panel(50.0, "bits per byte (12 MB = 4 × enwik8_3M, repetitive)", 0.8, 2.7, [1.0, 1.5, 2.0, 2.5],
      lambda b, c: b)
panel(430.0, "compression KB/s (CPU time, log scale)", 30, 3000, [50, 100, 200, 500, 1000, 2000],
      lambda b, c: c, log=True)
for i, level in enumerate(sorted(rows)):
    out.append(f'<rect x="{50 + 90 * i}" y="{H - 22}" width="12" height="4" fill="{colors.get(level, "#000")}"/>')
    out.append(f'<text x="{66 + 90 * i}" y="{H - 16}">level {level}</text>')
out.append("</svg>")
open(sys.argv[2], "w").write("\n".join(out) + "\n")
