#!/usr/bin/env python3
"""Prints the moxide/Dovecot comparison table from run.sh's results file."""
import re, sys

rows = {}
for line in open(sys.argv[1]):
    if line.startswith("#"):
        continue
    server, rest = line.split(" ", 1)
    kv = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', rest))
    if rest.startswith("idle_"):
        key = rest.split()[0]
        if key == "idle_conns":
            kv["n"] = rest.split()[2]
    else:
        key = kv["op"].strip('"')
    rows.setdefault(key, {})[server] = kv

def g(key, server, f):
    try:
        return f(rows[key][server])
    except (KeyError, ValueError, ZeroDivisionError):
        return "-"

print(f"{'operation':40} {'moxide':>12} {'dovecot':>12} {'moxide CPU s':>13} {'dovecot CPU s':>14}")
for key, r in rows.items():
    if key.startswith("idle_"):
        continue
    if key == "APPEND":
        t = lambda s: f"{float(r[s]['secs']):.2f}s {float(r[s]['msgs_per_s']):.0f}/s"
        name = f"APPEND {r[next(iter(r))]['count']} msgs ({r[next(iter(r))]['conns']} conns)"
        cpu = lambda s: r[s]["cpu_s"]
    else:
        t = lambda s: f"{float(r[s]['secs_median'])*1000:.0f} ms"
        name = key
        cpu = lambda s: r[s]["cpu_s_median"]
    m = t("moxide") if "moxide" in r else "-"
    d = t("dovecot") if "dovecot" in r else "-"
    print(f"{name:40} {m:>12} {d:>12} {cpu('moxide') if 'moxide' in r else '-':>13} {cpu('dovecot') if 'dovecot' in r else '-':>14}")
print()
print(f"{'memory':40} {'moxide':>12} {'dovecot':>12}")
for key, label in [("idle_fresh", "idle, fresh start, RSS kB (procs)"),
                   ("idle_loaded", "idle after workload, RSS kB (procs)")]:
    cells = [g(key, s, lambda kv: f"{kv['rss_kb']} ({kv['procs']})") for s in ("moxide", "dovecot")]
    print(f"{label:40} {cells[0]:>12} {cells[1]:>12}")
    cells = [g(key, s, lambda kv: kv['pss_kb']) for s in ("moxide", "dovecot")]
    print(f"{'  same, PSS kB':40} {cells[0]:>12} {cells[1]:>12}")
cells = [g("idle_conns", s, lambda kv: kv["n"]) for s in ("moxide", "dovecot")]
print(f"{'IDLE connections held':40} {cells[0]:>12} {cells[1]:>12}")
for field, label in [("rss_kb", "RSS"), ("pss_kb", "PSS")]:
    cells = [g("idle_conns", s, lambda kv: f"{(int(kv[field]) - int(rows['idle_loaded'][s][field])) * 1024 / int(kv['n']) / 1024:.1f}") for s in ("moxide", "dovecot")]
    print(f"{'  added ' + label + ' per IDLE conn, KB':40} {cells[0]:>12} {cells[1]:>12}")
