#!/usr/bin/python3
"""Medians of the `cpu-profile` lines (LANDMARK_CPU_PROFILE=1) per store and
thread count: where a CPU query's time goes.
    LANDMARK_CPU_PROFILE=1 landmark bench decode ... 2>&1 | perf/cpu_profile_summary.py"""
import re
import statistics
import sys

line = re.compile(r"cpu-profile kv heads (\d+), threads (\d+): plan ([\d.]+) ms, select ([\d.]+) "
                  r"\(score ([\d.]+), choose ([\d.]+)\), attend\+fuse ([\d.]+), explain ([\d.]+), whole ([\d.]+)")
rows = {}
for text in sys.stdin:
    m = line.search(text)
    if m:
        rows.setdefault((int(m[1]), int(m[2])), []).append([float(x) for x in m.groups()[2:]])
print(f"{'kv heads':>8} {'threads':>7} {'queries':>7} {'plan':>8} {'select':>8} {'score':>8} {'choose':>8} "
      f"{'attend':>8} {'explain':>8} {'whole':>8}  (ms, medians; select = score + choose)")
for (heads, threads), samples in sorted(rows.items()):
    med = [statistics.median(col) for col in zip(*samples)]
    print(f"{heads:>8} {threads:>7} {len(samples):>7} " + " ".join(f"{x:>8.4f}" for x in med))
