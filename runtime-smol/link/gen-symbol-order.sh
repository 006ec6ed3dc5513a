#!/usr/bin/env bash
# Regenerates runtime-smol/link/hot-symbols.txt: the functions of the
# release `moxide` binary that run while `moxide localserve` starts, serves
# a short IMAP, IMAPS and SMTP workload and sits idle (callgrind under
# valgrind records every function that runs). build.rs hands the list to the linker (lld's
# --symbol-ordering-file) so that this code lies together at the start of
# .text instead of spread over the whole binary: the kernel maps code in
# 64 KB windows around each page fault, so scattered code made 5-7 MB of
# the binary resident although 1-3 MB runs (docs/DESIGN.md, "Code layout of
# the release binary").
#
# Run by hand after a toolchain or dependency update (symbol names carry
# hashes that change with rustc and crate versions; stale names are
# skipped by the linker, so an old list only loses its effect):
#
#   runtime-smol/link/gen-symbol-order.sh
#
# Needs valgrind (callgrind), python3 and the bench client
# (bench/imap-vs-dovecot/client). Environment: CARGO_TARGET_DIR
# (/work/targets/symorder), MOXIDE (a prebuilt release binary to profile
# instead of building one), KEEP=1 keeps the temp dir.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/targets/symorder}
PORT=${PORT:-27143}
TLS_PORT=${TLS_PORT:-27993}
SMTP_PORT=${SMTP_PORT:-27025}

command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
(cd "$ROOT/bench/imap-vs-dovecot/client" && cargo build --release -q)
CLIENT=$CARGO_TARGET_DIR/release/imapbench
if [ -z "${MOXIDE:-}" ]; then
  (cd "$ROOT" && MOXIDE_SYMBOL_ORDER=off cargo build --release -q -p moxide)
  MOXIDE=$CARGO_TARGET_DIR/release/moxide
fi

T=$(mktemp -d /tmp/symorder.XXXXXX)
VPID=
cleanup() {
  [ -n "$VPID" ] && kill "$VPID" 2>/dev/null || true
  [ "${KEEP:-0}" = 1 ] && echo "kept $T" >&2 || rm -rf "$T"
}
trap cleanup EXIT
log() { echo "[$(date -u +%T)] $*" >&2; }

valgrind --tool=callgrind --demangle=no --callgrind-out-file="$T/cg.out" \
  "$MOXIDE" localserve --dir "$T/moxide" --imap-port "$PORT" --imaps-port "$TLS_PORT" \
  --smtp-port "$SMTP_PORT" --submission-port 0 --submissions-port 0 >"$T/server.log" 2>&1 &
VPID=$!
for _ in $(seq 300); do
  (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break
  sleep 0.5
done
PID=$(pgrep -P "$VPID" || echo "$VPID")
ADDR=127.0.0.1:$PORT
log "IMAP workload"
"$CLIENT" append "$ADDR" mox@localhost moxmoxmox INBOX 300 2 "$VPID" >/dev/null
for c in "UID FETCH 1:* (FLAGS)" "FETCH 1:* (ENVELOPE)" "SEARCH TEXT zanzibarqua" \
  "FETCH 1:20 (BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)])" \
  "UID FETCH 1:10 (BODY.PEEK[] RFC822.SIZE INTERNALDATE)"; do
  "$CLIENT" cmd "$ADDR" mox@localhost moxmoxmox INBOX 1 "$VPID" "$c" >/dev/null
done
"$CLIENT" cmd "$ADDR" mox@localhost moxmoxmox INBOX 1 "$VPID" \
  "STORE 1:100 +FLAGS (\\Flagged)" "STORE 1:100 -FLAGS.SILENT (\\Flagged)" >/dev/null
log "IMAPS and SMTP"
python3 - "$TLS_PORT" "$SMTP_PORT" <<'PY'
import imaplib, smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL("127.0.0.1", int(sys.argv[1]), ssl_context=ctx, timeout=120)
m.login("mox@localhost", "moxmoxmox"); m.select("INBOX")
m.search(None, "FROM", "example"); m.fetch("1:5", "(BODY.PEEK[])")
m.create("Later"); m.copy("1:5", "Later"); m.select("Later"); m.store("1:*", "+FLAGS", "\\Deleted"); m.expunge()
m.close(); m.delete("Later"); m.logout()
s = smtplib.SMTP("127.0.0.1", int(sys.argv[2]), timeout=120); s.ehlo("client.example")
s.sendmail("someone@example.org", ["mox@localhost"], b"From: someone@example.org\r\nTo: mox@localhost\r\nSubject: order\r\n\r\nhello\r\n")
s.quit()
PY
log "idle (memtable flush after 10 s quiet)"
sleep 40
kill -TERM "$PID" 2>/dev/null || kill -TERM "$VPID"
wait "$VPID" || true
VPID=
python3 - "$T/cg.out" "$(basename "$MOXIDE")" > "$HERE/hot-symbols.txt" <<'PY'
import re, sys
names, obs, out, seen, cur = {}, {}, [], set(), None
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"^(c?fn|c?ob)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
    if not m:
        continue
    kind, i, name = m.groups()
    if kind in ("ob", "cob"):
        if name:
            obs[i] = name
        if kind == "ob":
            cur = obs.get(i, "")
        continue
    if name:
        names[i] = name
    if kind == "fn" and cur.endswith("/" + sys.argv[2]):
        n = names[i].split("'")[0]
        # Rust symbols only: with ring's C and assembly symbols in the
        # list too, the idle server's resident code was larger (5.8
        # against 4.9 MB, measured 2026-11-30).
        if n.startswith("_") and n not in seen:
            seen.add(n)
            out.append(n)
print("\n".join(out))
PY
log "$(wc -l < "$HERE/hot-symbols.txt") symbols in $HERE/hot-symbols.txt"
