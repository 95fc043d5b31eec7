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
: "${PG_PRIMARY_PORT:=55432}"
: "${PG_STANDBY_PORT:=55433}"
: "${PG_USER:=saludtech}"
: "${PG_PASSWORD:=saludtech-local}"
: "${PG_DATABASE:=saludtech}"
: "${HSM_TOKEN_LABEL:=saludtech}"
: "${HSM_PIN:=1234}"
: "${HSM_SO_PIN:=12345678}"

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

# pid_alive NAME -> 0 if the pid recorded for NAME is a live process.
pid_alive() {
  local f="$RUN_DIR/$1.pid"
  [[ -f "$f" ]] || return 1
  local pid; pid="$(cat "$f")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
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
  if kill -0 "$pid" 2>/dev/null; then
    log "$name: stopping pid $pid"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local i=0
    while kill -0 "$pid" 2>/dev/null && (( i < timeout * 10 )); do sleep 0.1; i=$((i+1)); done
    if kill -0 "$pid" 2>/dev/null; then
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
