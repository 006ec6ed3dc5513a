#!/usr/bin/env python3
"""Prints the moxide/Postfix+Dovecot table (medians of the repeats) from
run.sh's results file, with the ratios issue 5 asks for."""
import re
import statistics
import sys

runs = {}
for line in open(sys.argv[1]):
    if line.startswith("#") or not line.strip():
        continue
    server, rest = line.split(" ", 1)
    kv = dict(re.findall(r"(\w+)=(\S+)", rest))
    runs.setdefault((kv["label"], server), []).append(kv)


def med(label, server, field):
    rows = runs.get((label, server))
    if not rows:
        return None
    return statistics.median(float(r[field]) for r in rows)


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


print(f"{'workload':24} {'server':8} {'runs':>4} {'msgs/s':>8} {'CPU s/1000':>11} "
      f"{'RSS MB':>7} {'PSS MB':>7} {'fsync ms':>8}  load (1-min, per run)")
for label in ("10KB", "1MB"):
    for server in ("moxide", "postfix"):
        rows = runs.get((label, server))
        if not rows:
            continue
        n = rows[0]["count"]
        loads = " ".join(r["load_after"].split(",")[0] for r in rows)
        try:
            fsync = statistics.median(float(r["fsync_ms"]) for r in rows)
        except (KeyError, ValueError):
            fsync = None
        print(f"{label + ' x ' + n:24} {server:8} {len(rows):>4} "
              f"{fmt(med(label, server, 'msgs_per_s'), '.1f'):>8} "
              f"{fmt(med(label, server, 'cpu_s_per_1000'), '.2f'):>11} "
              f"{fmt(med(label, server, 'rss_kb') / 1024, '.1f'):>7} "
              f"{fmt(med(label, server, 'pss_kb') / 1024, '.1f'):>7} "
              f"{fmt(fsync, '.1f'):>8}  {loads}")
print()
for label in ("10KB", "1MB"):
    m, p = med(label, "moxide", "msgs_per_s"), med(label, "postfix", "msgs_per_s")
    mc, pc = med(label, "moxide", "cpu_s_per_1000"), med(label, "postfix", "cpu_s_per_1000")
    if None in (m, p, mc, pc):
        continue
    cpu = f"{mc / pc:.2f}" if pc else "-"
    print(f"{label}: moxide/postfix msgs/s = {m / p:.2f}, CPU per 1000 = {cpu}")
