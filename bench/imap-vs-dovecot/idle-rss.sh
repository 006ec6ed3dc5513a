#!/usr/bin/env bash
# Idle memory of moxide after issue 4's workload: starts `moxide
# localserve` on a fresh directory, APPENDs COUNT messages, runs the
# queries of run.sh (UID FETCH FLAGS, FETCH ENVELOPE, SEARCH TEXT, STORE),
# disconnects, and prints the server's RSS/PSS at fixed times after the
# last connection closed, with a breakdown of the resident memory by
# mapping (heap, anonymous mappings, the binary) and the load average.
# Run by hand (no root needed):
#
#   bench/imap-vs-dovecot/idle-rss.sh                 # 50,000 messages
#   COUNT=5000 STORE_N=1000 bench/imap-vs-dovecot/idle-rss.sh   # quick
#   RESTART=1 bench/imap-vs-dovecot/idle-rss.sh       # also restart on the store
#   FROM=/tmp/idlerss.X/moxide bench/imap-vs-dovecot/idle-rss.sh  # reuse a store
#
# Environment: COUNT (50000), CONNS (APPEND connections, 4), STORE_N
# (10000), REPEAT (3), WAITS (seconds after the workload at which memory
# is printed, "2 5 10 20 40"), FRESH_IDLE (seconds after the start at
# which the idle server is sampled a second time before any connection,
# 30; the first sample is at 2 s, before the start-up's garbage is
# trimmed), RESTART=1 (then stop the server, start it
# again on the same store and print its idle memory before and after one
# UID FETCH), FROM (a localserve directory kept by an earlier run with
# KEEP=1: copied and served instead of APPENDing, so two binaries can be
# compared on the same store in minutes), MOXIDE (a prebuilt binary; else `cargo build --release -p
# moxide`), CARGO_TARGET_DIR (/work/targets/imapbench), KEEP=1 keeps the
# temp dir. Output: one `key=value` line per sample, ending with a
# summary line `idle_after_workload_kb=`.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
COUNT=${COUNT:-50000}
CONNS=${CONNS:-4}
STORE_N=${STORE_N:-10000}
REPEAT=${REPEAT:-3}
WAITS=${WAITS:-2 5 10 20 40}
PORT=${PORT:-24143}
TLS_PORT=${TLS_PORT:-24993}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/targets/imapbench}
# .cargo/config.toml builds for the host tuple: artifacts are under it.
HOST_TUPLE=$(rustc -vV | sed -n 's/^host: //p')
WORD=zanzibarqua

(cd "$HERE/client" && cargo build --release -q)
CLIENT=$CARGO_TARGET_DIR/$HOST_TUPLE/release/imapbench
if [ -z "${MOXIDE:-}" ]; then
  (cd "$ROOT" && cargo build --release -q -p moxide)
  MOXIDE=$CARGO_TARGET_DIR/$HOST_TUPLE/release/moxide
fi

T=$(mktemp -d /tmp/idlerss.XXXXXX)
MPID=
cleanup() {
  [ -n "$MPID" ] && kill "$MPID" 2>/dev/null && wait "$MPID" 2>/dev/null || true
  [ "${KEEP:-0}" = 1 ] && echo "kept $T" >&2 || rm -rf "$T"
}
trap cleanup EXIT
log() { echo "[$(date -u +%T)] $*" >&2; }

start() {
  "$MOXIDE" localserve --dir "$T/moxide" --imap-port "$PORT" --imaps-port "$TLS_PORT" \
    --smtp-port 0 --submission-port 0 --submissions-port 0 >>"$T/moxide.log" 2>&1 &
  MPID=$!
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && return 0
    sleep 0.2
  done
  echo "port $PORT did not open; log:" >&2
  cat "$T/moxide.log" >&2
  exit 1
}

# sample LABEL: one line with RSS/PSS, the resident kB of the heap, of
# anonymous mappings, of the binary's file mappings, thread count, load.
sample() {
  local s=/proc/$MPID/smaps
  local parts
  parts=$(awk -v bin="$(readlink -f "$MOXIDE")" '
    /^[0-9a-f]+-[0-9a-f]+ / { name = $6 }
    /^Rss:/ {
      if (name == "[heap]") heap += $2
      else if (name == "") anon += $2
      else if (name == bin) exe += $2
      else other += $2
    }
    END { printf "heap_kb=%d anon_kb=%d exe_kb=%d other_kb=%d", heap, anon, exe, other }' "$s")
  # Thread names with their counts, e.g. "fjall:2,moxide:1".
  local names
  names=$(cat /proc/"$MPID"/task/*/comm 2>/dev/null | sort | uniq -c \
    | awk '{printf "%s%s:%d", (NR > 1 ? "," : ""), $2, $1}')
  echo "$1 $("$CLIENT" mem "$MPID") $parts threads=$(ls "/proc/$MPID/task" | wc -l) thread_names=$names load=$(cut -d' ' -f1 /proc/loadavg)"
}

cpu_s() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$MPID/stat"; }

mkdir -p "$T/moxide"
[ -n "${FROM:-}" ] && cp -a "$FROM/." "$T/moxide/"
start
sleep 2
sample fresh
if [ "${FRESH_IDLE:-30}" -gt 2 ]; then
  sleep $((${FRESH_IDLE:-30} - 2))
  sample "fresh_idle_${FRESH_IDLE:-30}s"
fi
ADDR=127.0.0.1:$PORT
if [ -z "${FROM:-}" ]; then
  log "APPEND $COUNT"
  "$CLIENT" append "$ADDR" mox@localhost moxmoxmox INBOX "$COUNT" "$CONNS" "$MPID"
fi
for c in "UID FETCH 1:* (FLAGS)" "FETCH 1:* (ENVELOPE)" "SEARCH TEXT $WORD"; do
  log "$c"
  "$CLIENT" cmd "$ADDR" mox@localhost moxmoxmox INBOX "$REPEAT" "$MPID" "$c"
done
log "STORE 1:$STORE_N"
"$CLIENT" cmd "$ADDR" mox@localhost moxmoxmox INBOX "$REPEAT" "$MPID" \
  "STORE 1:$STORE_N +FLAGS (\\Flagged)" "STORE 1:$STORE_N -FLAGS.SILENT (\\Flagged)"
last=0
for w in $WAITS; do
  sleep $((w - last))
  last=$w
  sample "after_workload_${w}s"
done
echo "server_cpu_s=$(cpu_s) (whole run)"
final=$("$CLIENT" mem "$MPID" | sed 's/ .*//; s/rss_kb=//')
if [ "${RESTART:-0}" = 1 ]; then
  kill "$MPID"
  wait "$MPID" 2>/dev/null || true
  start
  sleep 2
  sample restarted
  "$CLIENT" cmd "$ADDR" mox@localhost moxmoxmox INBOX 1 "$MPID" "UID FETCH 1:* (FLAGS)" >/dev/null
  sleep $last
  sample "restarted_after_fetch_${last}s"
fi
echo "idle_after_workload_kb=$final count=$COUNT load=$(cut -d' ' -f1-3 /proc/loadavg)"
