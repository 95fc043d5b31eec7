# Loads lib.sh and every component file; parses component arguments. Sourced by up/down/status/reset.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
STACK_DIR="$PROJECT_ROOT/scripts/stack"

# Start order; stop order is the reverse. Postgres comes before Temporal on purpose: the Temporal dev
# server binds some internal services to random ephemeral ports (32768-60999); our ports stay below that range.
STACK_ORDER=(softhsm postgres temporal pulsar)
STACK_AVAILABLE=()

for _c in softhsm postgres temporal; do
  # shellcheck disable=SC1090
  source "$STACK_DIR/$_c.sh"
  STACK_AVAILABLE+=("$_c")
done
if [[ -f "$STACK_DIR/pulsar.sh" ]]; then
  # shellcheck source=/dev/null
  source "$STACK_DIR/pulsar.sh"
  _missing=()
  for _f in pulsar_install pulsar_start pulsar_provision pulsar_stop pulsar_status; do
    declare -F "$_f" >/dev/null || _missing+=("$_f")
  done
  (( ${#_missing[@]} == 0 )) || die "scripts/stack/pulsar.sh does not define: ${_missing[*]}"
  STACK_AVAILABLE+=(pulsar)
else
  [[ -n "${STACK_QUIET:-}" ]] || log "WARNING: scripts/stack/pulsar.sh not present yet: Pulsar is skipped"
fi
unset _c _f _missing

stack_has() { local x; for x in "${STACK_AVAILABLE[@]}"; do [[ "$x" == "$1" ]] && return 0; done; return 1; }

# stack_select ARGS... : sets STACK_SELECTED to the named components (all available when none),
# in start order. Dies on an unknown or unavailable name.
stack_select() {
  STACK_SELECTED=()
  local a c
  for a in "$@"; do
    case "$a" in
      softhsm|hsm) ;; postgres|pg) ;; temporal) ;; pulsar) ;;
      *) die "unknown component '$a' (choose from: ${STACK_ORDER[*]})" ;;
    esac
  done
  for c in "${STACK_ORDER[@]}"; do
    if (( $# == 0 )); then
      stack_has "$c" && STACK_SELECTED+=("$c")
      continue
    fi
    for a in "$@"; do
      [[ "$a" == hsm ]] && a=softhsm
      [[ "$a" == pg ]] && a=postgres
      if [[ "$a" == "$c" ]]; then
        stack_has "$c" || die "component '$c' is not available (scripts/stack/$c.sh missing)"
        STACK_SELECTED+=("$c")
        break
      fi
    done
  done
}

stack_selected() { local x; for x in "${STACK_SELECTED[@]}"; do [[ "$x" == "$1" ]] && return 0; done; return 1; }
