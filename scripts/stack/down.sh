#!/usr/bin/env bash
# Stop what this stack started (pid files under $STACK_HOME/run), in reverse start order.
#   bash scripts/stack/down.sh [component...]
source "$(dirname "${BASH_SOURCE[0]}")/components.sh"
stack_select "$@"
# With no component named, the project's own processes stop first.
(( $# > 0 )) || bash "$PROJECT_ROOT/scripts/app.sh" down
for (( i=${#STACK_SELECTED[@]}-1; i>=0; i-- )); do
  "${STACK_SELECTED[$i]}_stop"
done
log "down: ${STACK_SELECTED[*]}"
