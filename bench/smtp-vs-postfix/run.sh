#!/usr/bin/env bash
# Inbound SMTP speed: moxide localserve vs a private Postfix delivering
# into Dovecot over LMTP (Maildir), both started, then loaded in turn
# (runs alternate) with Postfix's smtp-source over loopback; prints a
# table of medians. Run by hand, as
# root (Postfix and Dovecot switch users), from anywhere:
#
#   bench/smtp-vs-postfix/run.sh                     # 3,000 x 10 KB, 200 x 1 MB, 3 repeats
#   N_SMALL=200 N_LARGE=20 REPEAT=1 bench/smtp-vs-postfix/run.sh   # smoke test
#
# Environment: N_SMALL (10 KB messages per run, 3000), N_LARGE (1 MB
# messages per run, 200), SESSIONS (parallel SMTP connections, 10),
# REPEAT (runs of each, 3), WARMUP (untimed 10 KB messages first, 50),
# SERVERS ("moxide postfix"), SMTP_SOURCE_OPTS (default "-d": each
# session sends its messages over one connection), MOXIDE (binary;
# default: cargo build --release -p moxide), CARGO_TARGET_DIR (default
# /work/targets/imapbench), KEEP=1 keeps the temp dir. Needs
# `apt-get install postfix dovecot-lmtpd` (the packaged services need
# not run: this starts its own instances on free loopback ports).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
N_SMALL=${N_SMALL:-3000}
N_LARGE=${N_LARGE:-200}
SESSIONS=${SESSIONS:-10}
REPEAT=${REPEAT:-3}
WARMUP=${WARMUP:-50}
SERVERS=${SERVERS:-moxide postfix}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/targets/imapbench}
# .cargo/config.toml builds for the host tuple: artifacts are under it.
HOST_TUPLE=$(rustc -vV | sed -n 's/^host: //p')
MOX_SMTP=${MOX_SMTP:-23025}
MOX_IMAP=${MOX_IMAP:-23143}
PF_PORT=${PF_PORT:-24025}

for tool in smtp-source postfix dovecot python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install postfix dovecot-lmtpd)" >&2; exit 1; }
done
if [ -z "${MOXIDE:-}" ]; then
  (cd "$ROOT" && cargo build --release -q -p moxide)
  MOXIDE=$CARGO_TARGET_DIR/$HOST_TUPLE/release/moxide
fi

T=$(mktemp -d /tmp/smtpbench.XXXXXX)
chmod 755 "$T"
MPID= DPID= PF_ETC=
cleanup() {
  [ -n "$MPID" ] && kill "$MPID" 2>/dev/null || true
  [ -n "$PF_ETC" ] && postfix -c "$PF_ETC" stop 2>/dev/null || true
  [ -n "$DPID" ] && kill "$DPID" 2>/dev/null || true
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

# measure NAME LABEL SIZE COUNT: one run against a started server.
declare -A PORT PIDS CHECK
measure() {
  local name=$1 label=$2 size=$3 count=$4
  python3 "$HERE/measure.py" "$name" "$label" "$size" "$count" "$SESSIONS" \
    "${PORT[$name]}" "${PIDS[$name]}" "${CHECK[$name]}"
}

STARTED=()
for s in $SERVERS; do
  case $s in
  moxide)
    mkdir -p "$T/moxide"
    "$MOXIDE" localserve --dir "$T/moxide" --smtp-port "$MOX_SMTP" --imap-port "$MOX_IMAP" \
      --imaps-port $((MOX_IMAP + 1)) --submission-port $((MOX_SMTP + 1)) \
      --submissions-port $((MOX_SMTP + 2)) >"$T/moxide.log" 2>&1 &
    MPID=$!
    wait_port "$MOX_SMTP"
    wait_port "$MOX_IMAP"
    PORT[moxide]=$MOX_SMTP PIDS[moxide]=$MPID CHECK[moxide]=imap:$MOX_IMAP
    ;;
  postfix)
    P=$T/postfix
    D=$P/dovecot
    mkdir -p "$P/etc" "$P/queue" "$P/data" "$D/run" "$D/state" "$D/home"
    chown mail:mail "$D/home"
    chown postfix "$P/data"
    sed -e "s#@D@#$D#g" "$HERE/dovecot.conf.in" >"$D/dovecot.conf"
    sed -e "s#@D@#$P#g" -e "s#@PORT@#$PF_PORT#g" "$HERE/main.cf.in" >"$P/etc/main.cf"
    sed -e "s#@PORT@#$PF_PORT#g" "$HERE/master.cf.in" >"$P/etc/master.cf"
    dovecot -c "$D/dovecot.conf" -F >"$D/stdout.log" 2>&1 &
    DPID=$!
    for _ in $(seq 100); do [ -S "$D/run/lmtp" ] && break; sleep 0.1; done
    PF_ETC=$P/etc
    # postfix logs its errors to $P/maillog (or syslog), not to stderr.
    postfix -c "$PF_ETC" start || { cat "$P/maillog" >&2 2>/dev/null; exit 1; }
    wait_port "$PF_PORT"
    PORT[postfix]=$PF_PORT
    PIDS[postfix]=$(tr -d ' ' <"$P/queue/pid/master.pid"),$DPID
    CHECK[postfix]=maildir:$D/home/mox/Maildir
    ;;
  *) echo "unknown server $s" >&2; exit 1 ;;
  esac
  STARTED+=("$s")
done

# Both servers run at once and their runs alternate, so that both see the
# same disk (fsync latency here moves with other writers on the machine).
export PROBE_DIR=$T/probe
for s in "${STARTED[@]}"; do
  if [ "$WARMUP" -gt 0 ]; then
    log "$s: warm-up, $WARMUP x 10 KB"
    echo "# warmup $(measure "$s" warmup 10240 "$WARMUP")" >>"$RES"
  fi
done
for spec in "10KB 10240 $N_SMALL" "1MB 1048576 $N_LARGE"; do
  read -r label size count <<<"$spec"
  for r in $(seq "$REPEAT"); do
    for s in "${STARTED[@]}"; do
      log "$s: run $r, $count x $label over $SESSIONS connections"
      measure "$s" "$label" "$size" "$count" >>"$RES"
      tail -1 "$RES" >&2
    done
  done
done

{
  echo "# $(nproc) cores; N_SMALL=$N_SMALL N_LARGE=$N_LARGE SESSIONS=$SESSIONS REPEAT=$REPEAT SMTP_SOURCE_OPTS=${SMTP_SOURCE_OPTS:--d}"
  echo "# moxide $(cd "$ROOT" && git rev-parse --short HEAD); $(postconf -d mail_version 2>/dev/null); dovecot $(dovecot --version)"
} >>"$RES"
echo
python3 "$HERE/table.py" "$RES"
cp "$RES" "$HERE/last-results.txt"
