#!/usr/bin/env bash
# Shared helpers for the local stack scripts. Sourced, never executed.
# Everything the stack writes lives under $STACK_HOME (git-ignored), so
# `stack:down` can find exactly the processes it started through pid files.
set -euo pipefail

PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK_HOME="${STACK_HOME:-$PROJECT_ROOT/.cache}"
RUN_DIR="$STACK_HOME/run"
LOG_DIR="$STACK_HOME/logs"
mkdir -p "$RUN_DIR" "$LOG_DIR"

# Local defaults; the same names are read by the TypeScript config.
: "${TEMPORAL_ADDRESS:=127.0.0.1:7233}"
: "${TEMPORAL_UI_PORT:=8233}"
: "${TEMPORAL_NAMESPACE:=default}"
: "${PULSAR_WEB_PORT:=8080}"
: "${PULSAR_BROKER_PORT:=6650}"
: "${PG_PRIMARY_PORT:=15432}"
: "${PG_STANDBY_PORT:=15433}"
: "${PG_USER:=saludtech}"
: "${PG_PASSWORD:=saludtech-local}"
: "${PG_DATABASE:=saludtech}"
: "${HSM_TOKEN_LABEL:=saludtech}"
: "${HSM_PIN:=1234}"
: "${HSM_SO_PIN:=12345678}"

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

# proc_live PID -> 0 if PID is a running process. A zombie is not: this machine's init reaps
# orphans lazily, so `kill -0` alone reports a dead daemon as alive for a while.
proc_live() {
  local pid="$1" st
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  st="$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null)" || return 1
  [[ "$st" != Z && "$st" != X ]]
}

# pid_alive NAME -> 0 if the pid recorded for NAME is a live process.
pid_alive() {
  local f="$RUN_DIR/$1.pid"
  [[ -f "$f" ]] || return 1
  local pid; pid="$(cat "$f")"
  [[ -n "$pid" ]] && proc_live "$pid"
}

# start_bg NAME LOGFILE CMD... : start CMD detached in its own session, record its pid.
start_bg() {
  local name="$1" logfile="$2"; shift 2
  setsid "$@" >>"$logfile" 2>&1 < /dev/null &
  echo $! > "$RUN_DIR/$name.pid"
}

# stop_pid NAME [TIMEOUT_S]: TERM the recorded process group, KILL after timeout.
stop_pid() {
  local name="$1" timeout="${2:-20}" f="$RUN_DIR/$1.pid"
  [[ -f "$f" ]] || { log "$name: not started by this stack"; return 0; }
  local pid; pid="$(cat "$f")"
  if proc_live "$pid"; then
    log "$name: stopping pid $pid"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local i=0
    while proc_live "$pid" && (( i < timeout * 10 )); do sleep 0.1; i=$((i+1)); done
    if proc_live "$pid"; then
      log "$name: still alive after ${timeout}s, sending KILL"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$f"
}

# wait_for DESCRIPTION TIMEOUT_S CMD... : poll CMD until it succeeds or time runs out.
wait_for() {
  local what="$1" timeout="$2"; shift 2
  local start=$SECONDS
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS - start >= timeout )); then
      die "$what not ready after ${timeout}s (see logs in $LOG_DIR)"
    fi
    sleep 0.5
  done
  log "$what ready in $((SECONDS - start))s"
}

# --- additions for the component scripts (temporal.sh, postgres.sh, softhsm.sh, up.sh) ---

# apt_install PKG... : install Debian packages non-interactively. `apt-get update` runs once
# per process; waits for the dpkg lock (another component may be installing in parallel).
_STACK_APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* by hand"
  local -a opts=(-y -q -o DPkg::Lock::Timeout=600)
  if (( _STACK_APT_UPDATED == 0 )); then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 update >>"$LOG_DIR/apt.log" 2>&1 \
      || die "apt-get update failed (see $LOG_DIR/apt.log)"
    _STACK_APT_UPDATED=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" install --no-install-recommends "$@" >>"$LOG_DIR/apt.log" 2>&1 \
    || die "apt-get install $* failed (see $LOG_DIR/apt.log)"
}

# port_busy PORT [HOST]: 0 if something accepts TCP connections on HOST:PORT (default 127.0.0.1).
port_busy() {
  local port="$1" host="${2:-127.0.0.1}"
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}
