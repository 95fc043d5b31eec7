#!/usr/bin/env bash
# One line per component; exits non-zero when an expected component is down.
#   bash scripts/stack/status.sh [component...]
STACK_QUIET=1 source "$(dirname "${BASH_SOURCE[0]}")/components.sh"
stack_select "$@"
rc=0
for c in "${STACK_SELECTED[@]}"; do
  "${c}_status" || rc=1
done
stack_has pulsar || echo "pulsar: not configured (scripts/stack/pulsar.sh missing)"
exit $rc
