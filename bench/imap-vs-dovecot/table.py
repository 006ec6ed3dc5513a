#!/usr/bin/env python3
"""Prints the moxide/Dovecot comparison table from run.sh's results file.

Usage: table.py RESULTS. Reads the raw lines `imapbench` prints (one per
operation, prefixed with the server name) and run.sh's `idle_*` and
`load_*` lines. Older results files (server CPU only in clock ticks,
`cpu_s`/`cpu_s_median`; no `secs_min`) still print: their CPU figures are
marked `~` (10 ms resolution) and missing columns are `-`.
"""
import re
import sys

SERVERS = ("moxide", "dovecot")


def parse(path):
    rows, notes = {}, []
    for line in open(path):
        line = line.rstrip("\n")
        if not line.strip():
            continue
        if line.startswith("#"):
            notes.append(line[1:].strip())
            continue
        server, rest = line.split(" ", 1)
        kv = {k: v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|\S+)', rest)}
        first = rest.split()[0]
        if first.startswith(("idle_", "load_")):
            key = first
            if key == "idle_conns":
                kv["n"] = rest.split()[2]
        else:
            key = kv["op"].replace("\\\\", "\\")
        rows.setdefault(key, {})[server] = kv
    return rows, notes


def num(kv, field):
    """The float value of `field`, or None when it is missing or not a number."""
    try:
        return float(kv[field])
    except (KeyError, ValueError, TypeError):
        return None


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}"


def ms(v, prec=1):
    return "-" if v is None else f"{v:.{prec}f}"


def cpu_ms(kv, exact, coarse):
    """(ms, label): the nanosecond-based figure when present, else the
    clock-tick one (`coarse`, in seconds) marked `~`."""
    v = num(kv, exact)
    if v is not None:
        return v, f"{v:.1f}"
    v = num(kv, coarse)
    if v is None:
        return None, "-"
    return v * 1000, f"~{v * 1000:.0f}"


def main():
    rows, notes = parse(sys.argv[1])
    for n in notes:
        print(f"# {n}")
    for s in SERVERS:
        a, b = rows.get("load_start", {}).get(s), rows.get("load_end", {}).get(s)
        if a and b:
            print(f"# {s}: {a['time']}-{b['time']} UTC, load average (1/5/15 min) "
                  f"{a['loadavg']} at the start, {b['loadavg']} at the end")
    print()
    print("Wall time: median (min) of the repetitions, ms. Server CPU: median over the")
    print("repetitions of the CPU time of all processes of the server's process tree, ms")
    print("(each process's CPU-time clock, ns); in brackets the same from utime+stime in")
    print("10 ms clock ticks; ~ marks a figure known only in ticks (older results).")
    print("ratio = moxide/dovecot: under 1, moxide is faster or uses less CPU (for")
    print("messages/s: over 1); APPEND totals compare only for equal message counts.")
    print()
    hdr = (f"{'operation':34} {'moxide wall':>16} {'dovecot wall':>16} {'ratio':>6}"
           f" {'moxide CPU':>14} {'dovecot CPU':>14} {'ratio':>6}")
    print(hdr)
    for key, r in rows.items():
        if key.startswith(("idle_", "load_")):
            continue
        if key == "APPEND":
            continue
        wall, cpu, wall_v, cpu_v = {}, {}, {}, {}
        for s in SERVERS:
            kv = r.get(s)
            if kv is None:
                wall[s], cpu[s], wall_v[s], cpu_v[s] = "-", "-", None, None
                continue
            med, lo = num(kv, "secs_median"), num(kv, "secs_min")
            if lo is None and kv.get("secs_all"):
                lo = min(float(x) for x in kv["secs_all"].split(","))
            wall_v[s] = None if med is None else med * 1000
            wall[s] = f"{ms(wall_v[s])} ({ms(None if lo is None else lo * 1000)})"
            cpu_v[s], label = cpu_ms(kv, "cpu_ms_median", "cpu_s_median")
            tick = num(kv, "cpu_tick_ms_median")
            cpu[s] = label if tick is None else f"{label} ({tick:.0f})"
        print(f"{key:34} {wall['moxide']:>16} {wall['dovecot']:>16}"
              f" {ratio(wall_v['moxide'], wall_v['dovecot']):>6}"
              f" {cpu['moxide']:>14} {cpu['dovecot']:>14}"
              f" {ratio(cpu_v['moxide'], cpu_v['dovecot']):>6}")

    r = rows.get("APPEND")
    if r:
        print()
        print(f"{'APPEND':34} {'moxide':>16} {'dovecot':>16} {'ratio':>6}")
        # Totals compare only when both APPENDed as many messages (with
        # DOVECOT_PREFILL=1 Dovecot APPENDs fewer); rates always do.
        counts = {kv.get("count") for kv in r.values()}
        same = len(r) == 2 and len(counts) == 1
        lines = [
            ("messages (connections)", lambda kv: f"{kv['count']} ({kv['conns']})", None),
            ("wall time, s", lambda kv: f"{float(kv['secs']):.2f}", same and (lambda kv: num(kv, "secs"))),
            ("messages/s", lambda kv: f"{float(kv['msgs_per_s']):.0f}", lambda kv: num(kv, "msgs_per_s")),
            ("server CPU, ms", lambda kv: cpu_ms(kv, "cpu_ms", "cpu_s")[1],
             same and (lambda kv: cpu_ms(kv, "cpu_ms", "cpu_s")[0])),
            ("  same from ticks, ms", lambda kv: f"{float(kv['cpu_tick_ms']):.0f}",
             same and (lambda kv: num(kv, "cpu_tick_ms"))),
            ("server CPU per message, ms", lambda kv: per_msg(kv)[1], lambda kv: per_msg(kv)[0]),
        ]
        for label, fmt, val in lines:
            cells, vals = {}, {}
            for s in SERVERS:
                kv = r.get(s)
                try:
                    cells[s] = fmt(kv) if kv else "-"
                except (KeyError, ValueError):
                    cells[s] = "-"
                vals[s] = val(kv) if (val and kv) else None
            rt = ratio(vals["moxide"], vals["dovecot"]) if val else ("" if val is None else "-")
            print(f"{label:34} {cells['moxide']:>16} {cells['dovecot']:>16} {rt:>6}")

    print()
    print(f"{'memory':40} {'moxide':>12} {'dovecot':>12}")

    def g(key, s, f):
        try:
            return f(rows[key][s])
        except (KeyError, ValueError, ZeroDivisionError):
            return "-"

    for key, label in [("idle_fresh", "idle, fresh start, RSS kB (procs)"),
                       ("idle_loaded", "idle after workload, RSS kB (procs)")]:
        cells = [g(key, s, lambda kv: f"{kv['rss_kb']} ({kv['procs']})") for s in SERVERS]
        print(f"{label:40} {cells[0]:>12} {cells[1]:>12}")
        cells = [g(key, s, lambda kv: kv['pss_kb']) for s in SERVERS]
        print(f"{'  same, PSS kB':40} {cells[0]:>12} {cells[1]:>12}")
    cells = [g("idle_conns", s, lambda kv: kv["n"]) for s in SERVERS]
    print(f"{'IDLE connections held':40} {cells[0]:>12} {cells[1]:>12}")
    for field, label in [("rss_kb", "RSS"), ("pss_kb", "PSS")]:
        cells = [g("idle_conns", s, lambda kv: f"{(int(kv[field]) - int(rows['idle_loaded'][s][field])) / int(kv['n']):.1f}")
                 for s in SERVERS]
        print(f"{'  added ' + label + ' per IDLE conn, KB':40} {cells[0]:>12} {cells[1]:>12}")


def per_msg(kv):
    """(ms, label) of server CPU per APPENDed message."""
    v = num(kv, "cpu_ms_per_msg")
    if v is not None:
        return v, f"{v:.3f}"
    total, _ = cpu_ms(kv, "cpu_ms", "cpu_s")
    n = num(kv, "count")
    if total is None or not n:
        return None, "-"
    return total / n, f"~{total / n:.3f}"


if __name__ == "__main__":
    main()
