#!/usr/bin/env bash
# Runs the same IMAP workload against moxide localserve and Dovecot
# (Debian's dovecot-imapd, own config in a temp dir, loopback only) and
# prints a table. Run by hand, as root (Dovecot wants to setuid to the
# mail user), from the repository root or anywhere:
#
#   bench/imap-vs-dovecot/run.sh            # 50,000 messages, 5,000 IDLE
#   COUNT=5000 IDLE_N=500 bench/imap-vs-dovecot/run.sh   # quick run
#
# Environment: COUNT (messages appended, default 50000), CONNS (APPEND
# connections, 4), STORE_N (messages for STORE, 10000), REPEAT (3),
# IDLE_N (IDLE connections, 5000), IDLE_N_DOVECOT (default IDLE_N),
# IDLE_SECS (stop opening IDLE connections after this long, 300),
# DOVECOT_PREFILL=1 (write the COUNT messages straight into Dovecot's
# Maildir instead of APPENDing them: Dovecot's Maildir APPEND slows down as
# the mailbox grows, ~20/s past 15,000 messages here; its APPEND figures
# then come from DOVECOT_APPEND messages, default 5000, APPENDed into an
# empty second mailbox, 0 skips that),
# SERVERS ("moxide dovecot"), MOXIDE (binary; default: build with cargo),
# CARGO_TARGET_DIR (default /work/targets/imapbench), KEEP=1 keeps the
# temp dir, SHRINK_WAIT (seconds to wait, once the server is quiet, after
# the APPENDs and after the STOREs: moxide flushes its memtables 10 s after
# the last write, and that flush must not land in a timed command nor
# before the idle memory sample; 15). Needs `apt-get install
# dovecot-imapd` (the packaged service need not run).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
COUNT=${COUNT:-50000}
CONNS=${CONNS:-4}
STORE_N=${STORE_N:-10000}
REPEAT=${REPEAT:-3}
IDLE_N=${IDLE_N:-5000}
IDLE_N_DOVECOT=${IDLE_N_DOVECOT:-$IDLE_N}
IDLE_SECS=${IDLE_SECS:-300}
SHRINK_WAIT=${SHRINK_WAIT:-15}
DOVECOT_APPEND=${DOVECOT_APPEND:-5000}
SERVERS=${SERVERS:-moxide dovecot}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/targets/imapbench}
# .cargo/config.toml builds for the host tuple: artifacts are under it.
HOST_TUPLE=$(rustc -vV | sed -n 's/^host: //p')
MOX_PORT=${MOX_PORT:-21143}
MOX_TLS_PORT=${MOX_TLS_PORT:-21993}
DOV_PORT=${DOV_PORT:-22143}
WORD=zanzibarqua
if [ "$STORE_N" -gt "$COUNT" ]; then
  echo "STORE_N ($STORE_N) must not exceed COUNT ($COUNT)" >&2
  exit 2
fi

ulimit -n 20000 || ulimit -n "$(ulimit -Hn)"
echo "fd limit: $(ulimit -n)" >&2

(cd "$HERE/client" && cargo build --release -q)
CLIENT=$CARGO_TARGET_DIR/$HOST_TUPLE/release/imapbench
if [ -z "${MOXIDE:-}" ] && [[ " $SERVERS " == *" moxide "* ]]; then
  (cd "$ROOT" && cargo build --release -q -p moxide)
  MOXIDE=$CARGO_TARGET_DIR/$HOST_TUPLE/release/moxide
fi

T=$(mktemp -d /tmp/imapbench.XXXXXX)
chmod 755 "$T"
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  sleep 1
  [ "${KEEP:-0}" = 1 ] || rm -rf "$T"
}
trap cleanup EXIT

RES=$T/results.txt
: >"$RES"
log() { echo "[$(date -u +%T)] $*" >&2; }

wait_port() { # PORT
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.2
  done
  echo "port $1 did not open" >&2
  return 1
}

mem() { "$CLIENT" mem "$1"; } # prints rss_kb= pss_kb= procs=

# load NAME start|end: records the time and the load average (the figures
# are only comparable at a low load).
load() {
  echo "$1 load_$2 time=$(date -u +%T) loadavg=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' /)" >>"$RES"
  tail -1 "$RES" >&2
}

# settle PID: waits until the server is quiet (under 1% CPU over a second,
# at most 120 s), then SHRINK_WAIT seconds more.
settle() {
  log "waiting for the server to be quiet, then $SHRINK_WAIT s"
  "$CLIENT" quiet "$1" 120 >&2
  sleep "$SHRINK_WAIT"
}

# run_workload NAME PORT PID USER PASS APPEND_COUNT [APPEND_MAILBOX]
run_workload() {
  local name=$1 port=$2 pid=$3 user=$4 pass=$5 addr=127.0.0.1:$2 count=$6 box=${7:-INBOX}
  sleep 2
  echo "$name idle_fresh $(mem "$pid")" >>"$RES"
  if [ "$count" -gt 0 ]; then
    log "$name: APPEND $count to $box"
    echo "$name $("$CLIENT" append "$addr" "$user" "$pass" "$box" "$count" "$CONNS" "$pid")" >>"$RES"
    tail -1 "$RES" >&2
    settle "$pid"
  fi
  run_cmd() {
    log "$name: $1"
    echo "$name $("$CLIENT" cmd "$addr" "$user" "$pass" INBOX "$REPEAT" "$pid" "$1" "${2:-}")" >>"$RES"
    tail -1 "$RES" >&2
  }
  run_cmd "UID FETCH 1:* (FLAGS)"
  run_cmd "FETCH 1:* (ENVELOPE)"
  run_cmd "SEARCH TEXT $WORD"
  run_cmd "STORE 1:$STORE_N +FLAGS (\\Flagged)" "STORE 1:$STORE_N -FLAGS.SILENT (\\Flagged)"
  settle "$pid"
  echo "$name idle_loaded $(mem "$pid")" >>"$RES"
  local n=$IDLE_N
  [ "$name" = dovecot ] && n=$IDLE_N_DOVECOT
  log "$name: $n connections in IDLE"
  local fifo=$T/idle.fifo
  rm -f "$fifo"; mkfifo "$fifo"
  "$CLIENT" idle "$addr" "$user" "$pass" INBOX "$n" 8 "$IDLE_SECS" <"$fifo" >"$T/idle.out" &
  local cpid=$!
  exec 4>"$fifo"
  for _ in $(seq $((IDLE_SECS * 2 + 120))); do grep -q READY "$T/idle.out" 2>/dev/null && break; sleep 0.5; done
  sleep 3
  echo "$name idle_conns $(cat "$T/idle.out") $(mem "$pid")" >>"$RES"
  tail -1 "$RES" >&2
  exec 4>&-
  wait "$cpid" || true
}

echo "# run $(date -u +%FT%TZ) $(nproc) cores; COUNT=$COUNT CONNS=$CONNS STORE_N=$STORE_N REPEAT=$REPEAT IDLE_N=$IDLE_N IDLE_N_DOVECOT=$IDLE_N_DOVECOT DOVECOT_PREFILL=${DOVECOT_PREFILL:-0}" >>"$RES"
[ -n "${MOXIDE:-}" ] && echo "# moxide $MOXIDE $(stat -c '%y' "$(readlink -f "$MOXIDE")" | cut -d. -f1); tree $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" >>"$RES"
echo "# $(dovecot --version 2>/dev/null | sed 's/^/dovecot /' || echo 'dovecot not installed')" >>"$RES"

for s in $SERVERS; do
  load "$s" start
  case $s in
  moxide)
    mkdir -p "$T/moxide"
    "$MOXIDE" localserve --dir "$T/moxide" --imap-port "$MOX_PORT" --imaps-port "$MOX_TLS_PORT" \
      --smtp-port 0 --submission-port 0 --submissions-port 0 >"$T/moxide.log" 2>&1 &
    MPID=$!; PIDS+=("$MPID")
    wait_port "$MOX_PORT"
    run_workload moxide "$MOX_PORT" "$MPID" mox@localhost moxmoxmox "$COUNT"
    kill "$MPID"; wait "$MPID" 2>/dev/null || true
    ;;
  dovecot)
    D=$T/dovecot
    mkdir -p "$D/run" "$D/state" "$D/home"
    chown mail:mail "$D/home"
    echo "bench:{PLAIN}benchpass" >"$D/users"
    sed -e "s#@D@#$D#g" -e "s#@PORT@#$DOV_PORT#g" "$HERE/dovecot.conf.in" >"$D/dovecot.conf"
    dovecot -c "$D/dovecot.conf" -F >"$D/stdout.log" 2>&1 &
    DPID=$!; PIDS+=("$DPID")
    wait_port "$DOV_PORT"
    dcount=$COUNT dbox=INBOX
    if [ "${DOVECOT_PREFILL:-0}" = 1 ]; then
      log "dovecot: writing $COUNT messages into the Maildir"
      "$CLIENT" maildir "$D/home/bench/Maildir" "$COUNT"
      # APPEND rate and CPU still measured, into an empty second mailbox.
      dcount=$((DOVECOT_APPEND < COUNT ? DOVECOT_APPEND : COUNT)) dbox=Appended
      "$CLIENT" maildir "$D/home/bench/Maildir/.$dbox" 0
      chown -R mail:mail "$D/home"
    fi
    run_workload dovecot "$DOV_PORT" "$DPID" bench benchpass "$dcount" "$dbox"
    kill "$DPID"; wait "$DPID" 2>/dev/null || true
    ;;
  *)
    echo "unknown server $s (SERVERS: moxide, dovecot)" >&2
    exit 2
    ;;
  esac
  load "$s" end
done

echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; COUNT=$COUNT CONNS=$CONNS STORE_N=$STORE_N REPEAT=$REPEAT"
python3 "$HERE/table.py" "$RES"
cp "$RES" "$HERE/last-results.txt"
