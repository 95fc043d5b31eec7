#!/usr/bin/env bash
# Stop the stack, then delete its data (Postgres clusters, Temporal DB, SoftHSM token, Pulsar data)
# but keep download caches (temporal CLI, Maven repository, Pulsar jars) and logs.
source "$(dirname "${BASH_SOURCE[0]}")/components.sh"
stack_select
STACK_QUIET=1 bash "$STACK_DIR/down.sh"
# Servers running on our data dirs without a pid file (e.g. pid file lost) must stop before deletion.
for d in "$PG_STANDBY_DIR" "$PG_PRIMARY_DIR"; do
  if _pg_running "$d"; then
    log "reset: stopping postgres on $d (no pid file)"
    _pg_as "$PG_BINDIR/pg_ctl" stop -D "$d" -m fast -w -t 60 >/dev/null
  fi
done
log "reset: removing $PG_HOME, $TEMPORAL_DB*, $SOFTHSM_HOME/tokens"
rm -rf "$PG_HOME" "$TEMPORAL_DB" "$TEMPORAL_DB"-wal "$TEMPORAL_DB"-shm "$TEMPORAL_DB"-journal "$SOFTHSM_HOME/tokens"
if stack_has pulsar; then
  if declare -F pulsar_reset >/dev/null; then
    pulsar_reset
  elif [[ -n "${PULSAR_DATA_DIR:-}" ]]; then
    log "reset: removing $PULSAR_DATA_DIR"; rm -rf "$PULSAR_DATA_DIR"
  else
    log "WARNING: pulsar.sh defines neither pulsar_reset nor PULSAR_DATA_DIR: Pulsar data kept"
  fi
fi
rm -f "$RUN_DIR"/*.pid
log "reset done: run scripts/stack/up.sh for a fresh stack"
