#!/usr/bin/env bash
# Stop what this stack started (pid files under $STACK_HOME/run), in reverse start order.
#   bash scripts/stack/down.sh [component...]
source "$(dirname "${BASH_SOURCE[0]}")/components.sh"
stack_select "$@"
for (( i=${#STACK_SELECTED[@]}-1; i>=0; i-- )); do
  "${STACK_SELECTED[$i]}_stop"
done
log "down: ${STACK_SELECTED[*]}"
