#!/usr/bin/env python3
"""One timed smtp-source run against a server, with the server's CPU and memory.

    measure.py NAME LABEL SIZE COUNT SESSIONS PORT ROOT_PIDS CHECK

ROOT_PIDS is a comma-separated list of process ids; the server is each of
them with all its descendants (read from /proc). CHECK says how to count
the delivered messages: `maildir:DIR` (files in DIR/new and DIR/cur) or
`imap:PORT` (STATUS INBOX (MESSAGES) as mox@localhost over IMAP). After
the run the last stored message must be at least SIZE bytes (the newest
Maildir file; RFC822.SIZE of `*` over IMAP), else the run fails.

The clock starts when smtp-source is started and stops when the count has
grown by COUNT (polled every 20 ms; for a server that delivers before its
250 reply, such as moxide, that is when smtp-source exits). Server CPU is
utime+stime+cutime+cstime from /proc/PID/stat summed over the process
tree, sampled just before and just after (cutime/cstime keep the CPU of
children that exited and were reaped inside the tree, e.g. Postfix's
short-lived cleanup/smtpd/lmtp processes). Prints one line of key=value.
"""
import imaplib
import os
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def procs():
    """Returns {pid: (ppid, utime+stime+cutime+cstime ticks)}."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces.
        fields = s[s.rindex(")") + 2:].split()
        ppid = int(fields[1])
        ticks = sum(int(x) for x in fields[11:15])
        out[int(d)] = (ppid, ticks)
    return out


def tree(roots, table):
    children = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    seen, todo = set(), [r for r in roots if r in table]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(children.get(p, []))
    return seen


def cpu_ticks(roots):
    table = procs()
    return sum(table[p][1] for p in tree(roots, table)), len(tree(roots, table))


def mem(roots):
    table = procs()
    rss = pss = 0
    pids = tree(roots, table)
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    k, v = line.split(":", 1)
                    if k == "Rss":
                        rss += int(v.split()[0])
                    elif k == "Pss":
                        pss += int(v.split()[0])
        except (OSError, ValueError):
            continue
    return rss, pss, len(pids)


def count_maildir(d):
    n = 0
    for sub in ("new", "cur"):
        try:
            n += len(os.listdir(os.path.join(d, sub)))
        except FileNotFoundError:
            pass
    return n


def count_imap(port):
    with imaplib.IMAP4("127.0.0.1", int(port)) as m:
        m.login("mox@localhost", "moxmoxmox")
        typ, data = m.status("INBOX", "(MESSAGES)")
        if typ != "OK":
            raise RuntimeError(f"STATUS failed: {data!r}")
        text = data[0].decode()
        return int(text.rsplit("MESSAGES", 1)[1].strip(" )"))


def last_size_maildir(d):
    """Size of the newest file in DIR/new (the last delivered message),
    counting each LF as CRLF as on the wire (Maildir files end lines in LF)."""
    new = os.path.join(d, "new")
    paths = [os.path.join(new, f) for f in os.listdir(new)]
    with open(max(paths, key=os.path.getmtime), "rb") as f:
        data = f.read()
    return len(data) + data.count(b"\n")


def last_size_imap(port):
    with imaplib.IMAP4("127.0.0.1", int(port)) as m:
        m.login("mox@localhost", "moxmoxmox")
        m.select("INBOX", readonly=True)
        typ, data = m.fetch("*", "(RFC822.SIZE)")
        if typ != "OK":
            raise RuntimeError(f"FETCH failed: {data!r}")
        return int(data[0].decode().rsplit("RFC822.SIZE", 1)[1].strip(" )"))


def fsync_probe(d, n=10):
    """Median ms of (write 10 KB, fdatasync, fsync of the directory) in d:
    the disk's sync latency at the time of the run (it moves a lot with
    other writers on this machine)."""
    os.makedirs(d, exist_ok=True)
    dfd = os.open(d, os.O_RDONLY)
    times = []
    try:
        for i in range(n):
            path = os.path.join(d, f"probe{i}")
            t = time.monotonic()
            fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
            os.write(fd, b"x" * 10240)
            os.fdatasync(fd)
            os.close(fd)
            os.fsync(dfd)
            times.append(time.monotonic() - t)
            os.unlink(path)
    finally:
        os.close(dfd)
    times.sort()
    return times[len(times) // 2] * 1000


def main():
    name, label, size, count, sessions, port, roots, check = sys.argv[1:9]
    count, sessions = int(count), int(sessions)
    roots = [int(x) for x in roots.split(",")]
    kind, arg = check.split(":", 1)
    counter = (lambda: count_maildir(arg)) if kind == "maildir" else (lambda: count_imap(arg))
    last_size = last_size_maildir if kind == "maildir" else last_size_imap
    extra = os.environ.get("SMTP_SOURCE_OPTS", "-d").split()
    probe = os.environ.get("PROBE_DIR")
    fsync_ms = f"{fsync_probe(probe):.2f}" if probe else "-"
    before = counter()
    load0 = open("/proc/loadavg").read().split()[:3]
    cpu0, _ = cpu_ticks(roots)
    t0 = time.monotonic()
    cmd = ["smtp-source", *extra, "-s", str(sessions), "-m", str(count), "-l", size,
           "-M", "bench.example.org", "-f", "a@example.org", "-t", "mox@localhost",
           f"127.0.0.1:{port}"]
    src = subprocess.run(cmd, capture_output=True, text=True)
    t_accept = time.monotonic() - t0
    if src.returncode != 0:
        sys.exit(f"smtp-source failed ({src.returncode}): {src.stdout}{src.stderr}")
    deadline = time.monotonic() + float(os.environ.get("DRAIN_SECS", "600"))
    while True:
        got = counter() - before
        if got >= count or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    secs = time.monotonic() - t0
    cpu1, nprocs = cpu_ticks(roots)
    rss, pss, mprocs = mem(roots)
    load1 = open("/proc/loadavg").read().split()[:3]
    size_last = last_size(arg)
    cpu_s = (cpu1 - cpu0) / CLK_TCK
    print(f"{name} label={label} size={size} count={count} sessions={sessions} "
          f"delivered={got} last_msg_bytes={size_last} accept_secs={t_accept:.3f} secs={secs:.3f} "
          f"msgs_per_s={count / secs:.1f} cpu_s={cpu_s:.2f} "
          f"cpu_s_per_1000={cpu_s * 1000 / count:.2f} procs={nprocs} "
          f"rss_kb={rss} pss_kb={pss} fsync_ms={fsync_ms} "
          f"load_before={','.join(load0)} load_after={','.join(load1)} "
          f"utc={time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}", flush=True)
    if got != count:
        sys.exit(f"{name}: {got} of {count} messages arrived")
    if size_last < int(size):
        sys.exit(f"{name}: the last message stored has {size_last} bytes, fewer than the {size} sent")


if __name__ == "__main__":
    main()
