#!/usr/bin/env bash
# Install what is missing and start the local stack on loopback (idempotent).
#   bash scripts/stack/up.sh                 # everything
#   bash scripts/stack/up.sh temporal [...]  # only the named components (softhsm postgres temporal pulsar)
source "$(dirname "${BASH_SOURCE[0]}")/components.sh"
stack_select "$@"
T0="${EPOCHREALTIME/./}"
log "up: ${STACK_SELECTED[*]} (STACK_HOME=$STACK_HOME)"

# Slow installs run in the background in their own session (so they can be ended as a group);
# output goes to a log, which is shown when they fail.
declare -A BG_PIDS=()
bg_run() {  # bg_run NAME FUNCTION
  local name="$1" fn="$2" logf="$LOG_DIR/$1.log"
  : > "$logf"
  log "$name: running $fn in the background (log $logf)"
  setsid bash -c 'source "$1/components.sh"; "$2"' \
    _ "$STACK_DIR" "$fn" >>"$logf" 2>&1 < /dev/null &
  BG_PIDS[$name]=$!
}
bg_wait() {  # bg_wait NAME
  local name="$1" pid="${BG_PIDS[$1]}" rc=0
  wait "$pid" || rc=$?
  unset "BG_PIDS[$name]"
  if (( rc != 0 )); then
    log "$name failed (exit $rc); last lines of $LOG_DIR/$name.log:"
    tail -n 30 "$LOG_DIR/$name.log" | sed 's/^/    /' >&2
    die "$name failed"
  fi
  log "$name done"
}
_up_cleanup() {
  local n
  for n in "${!BG_PIDS[@]}"; do
    kill -0 "${BG_PIDS[$n]}" 2>/dev/null && { log "stopping background $n (pid ${BG_PIDS[$n]})"; kill -TERM -- "-${BG_PIDS[$n]}" 2>/dev/null || true; }
  done
}
trap _up_cleanup EXIT

stack_selected pulsar && bg_run pulsar-install pulsar_install

TIMINGS=()
timed() {  # timed LABEL CMD...: run CMD, remember how long it took
  local label="$1" t="${EPOCHREALTIME/./}"; shift
  "$@"
  local ms=$(( (${EPOCHREALTIME/./} - t) / 1000 ))
  TIMINGS+=("$label $((ms / 1000)).$(printf '%01d' $((ms % 1000 / 100)))s")
}
if stack_selected softhsm; then timed softhsm eval 'softhsm_install; softhsm_start'; fi
if stack_selected postgres; then timed postgres eval 'postgres_install; postgres_start'; fi
if stack_selected temporal; then timed temporal eval 'temporal_install; temporal_start'; fi
if stack_selected pulsar; then
  timed pulsar-install-wait bg_wait pulsar-install
  timed pulsar eval 'pulsar_start; pulsar_provision'
fi

if stack_selected postgres && [[ -f "$PROJECT_ROOT/scripts/prisma/migrate.sh" ]]; then
  log "db:migrate against the primary"
  timed migrate eval '(cd "$PROJECT_ROOT" && DATABASE_URL="${DATABASE_URL:-$(postgres_primary_url)}" npm run --silent db:migrate) \
    || die "db:migrate failed"' 
elif stack_selected postgres; then
  log "scripts/prisma/migrate.sh not present: migrations skipped"
fi

{
  T_MS=$(( (${EPOCHREALTIME/./} - T0) / 1000 ))
  echo "stack up in $((T_MS / 1000)).$((T_MS % 1000 / 100))s: ${STACK_SELECTED[*]} (${TIMINGS[*]:-nothing})"
  if stack_selected temporal; then
    echo "  Temporal      grpc $TEMPORAL_ADDRESS  namespace $TEMPORAL_NAMESPACE  UI http://${TEMPORAL_ADDRESS%:*}:$TEMPORAL_UI_PORT"
    echo "                CLI $(temporal_bin)"
  fi
  if stack_selected postgres; then
    echo "  Postgres      primary 127.0.0.1:$PG_PRIMARY_PORT (read-write)  standby 127.0.0.1:$PG_STANDBY_PORT (hot standby, read-only)"
    echo "                DATABASE_URL=$(postgres_primary_url)"
  fi
  stack_selected pulsar && echo "  Pulsar        admin http://127.0.0.1:$PULSAR_WEB_PORT  broker pulsar://127.0.0.1:$PULSAR_BROKER_PORT"
  stack_selected softhsm && echo "  SoftHSM       token '$HSM_TOKEN_LABEL'  SOFTHSM2_CONF=$SOFTHSM2_CONF  module $PKCS11_MODULE"
  stack_has pulsar || echo "  (Pulsar skipped: scripts/stack/pulsar.sh not present)"
} >&2
