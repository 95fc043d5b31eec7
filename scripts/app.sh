#!/usr/bin/env bash
# The project's own processes (HTTP API, HSM worker, token worker), run in the
# background against the local stack, with pid files and logs under .cache.
#   bash scripts/app.sh up|down|status
source "$(dirname "${BASH_SOURCE[0]}")/stack/lib.sh"
: "${PORT:=3000}"
APPS=(api hsm-worker token-worker)

app_entry() {
  case "$1" in
    api) echo api/main.ts ;;
    hsm-worker) echo workers/hsmWorker.ts ;;
    token-worker) echo workers/tokenWorker.ts ;;
  esac
}
app_ready_pattern() {
  case "$1" in
    api) echo 'Server listening' ;;
    hsm-worker) echo 'hsm worker ready' ;;
    token-worker) echo 'token worker ready' ;;
  esac
}

app_up() {
  local name logf
  for name in "${APPS[@]}"; do
    logf="$LOG_DIR/$name.log"
    if pid_alive "$name"; then log "$name: already running (pid $(cat "$RUN_DIR/$name.pid"))"; continue; fi
    : > "$logf"
    (cd "$PROJECT_ROOT" && PORT="$PORT" start_bg "$name" "$logf" node --import tsx "$(app_entry "$name")")
    log "$name: starting (log $logf)"
  done
  for name in "${APPS[@]}"; do
    # shellcheck disable=SC2016
    wait_for "$name" 120 bash -c 'grep -q "$1" "$2" || { pid=$(cat "$3"); kill -0 "$pid" || { tail -5 "$2" >&2; exit 2; }; exit 1; }' _ \
      "$(app_ready_pattern "$name")" "$LOG_DIR/$name.log" "$RUN_DIR/$name.pid"
  done
  log "API on http://127.0.0.1:$PORT"
}

app_down() {
  local i
  for (( i=${#APPS[@]}-1; i>=0; i-- )); do stop_pid "${APPS[$i]}" 15; done
}

app_status() {
  local name rc=0
  for name in "${APPS[@]}"; do
    if pid_alive "$name"; then echo "$name: running (pid $(cat "$RUN_DIR/$name.pid"))"; else echo "$name: stopped"; rc=1; fi
  done
  return $rc
}

case "${1:-}" in
  up) app_up ;;
  down) app_down ;;
  status) app_status ;;
  *) die "usage: scripts/app.sh up|down|status" ;;
esac
