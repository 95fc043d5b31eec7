#!/usr/bin/env bash
# Apache Pulsar standalone broker for the local stack.
#
# Sourced by scripts/stack/up.sh / down.sh / status.sh, which call:
#   pulsar_install    resolve the pinned broker jars from Maven Central (idempotent, stamped)
#   pulsar_start      start the broker (RocksDB metadata + one in-process bookie) and wait for it
#   pulsar_provision  create the saludtech tenant, namespace and topics (idempotent)
#   pulsar_stop       stop the broker started by this stack
#   pulsar_status     one line: running/stopped, pid, broker health (non-zero unless healthy)
#   pulsar_reset      stop and delete the broker's data (jars are kept)
# Also runnable on its own: bash scripts/stack/pulsar.sh up|down|status|install|provision|reset
#
# Why a Maven-assembled broker: the machines reach package registries only, so the Pulsar
# binary tarball cannot be downloaded, but org.apache.pulsar:pulsar-broker on Central carries
# PulsarStandaloneStarter and all it needs (see ops/pulsar/pom.xml).

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PULSAR_OPS_DIR="$PROJECT_ROOT/ops/pulsar"
PULSAR_HOME="$STACK_HOME/pulsar"
PULSAR_LIB="$PULSAR_HOME/lib"
PULSAR_STAMP="$PULSAR_HOME/lib.stamp"
PULSAR_CONF="$PULSAR_HOME/conf/standalone.conf"
PULSAR_DATA_DIR="$PULSAR_HOME/data"
PULSAR_ADMIN_URL="http://127.0.0.1:${PULSAR_WEB_PORT}"
: "${PULSAR_BOOKIE_PORT:=3181}"
: "${PULSAR_HEAP:=768m}"
: "${PULSAR_DIRECT_MEM:=256m}"
: "${PULSAR_START_TIMEOUT:=180}"
# Java 17 runs the pinned 3.0.x LTS line; override to try another JDK.
: "${PULSAR_JAVA:=java}"

PULSAR_TENANT="saludtech"
PULSAR_NAMESPACE="saludtech/keys"
PULSAR_SEED_TOPIC="persistent://saludtech/keys/seed-events"
PULSAR_TOKEN_SUBSCRIPTION="token-service"
PULSAR_TOPICS=(
  "$PULSAR_SEED_TOPIC"
  # Dead-letter topic of the token service's subscription (Pulsar's naming: <topic>-<sub>-DLQ).
  "$PULSAR_SEED_TOPIC-$PULSAR_TOKEN_SUBSCRIPTION-DLQ"
)

# The stamp records what produced lib/: a changed pom or settings means a different jar set.
_pulsar_lib_fingerprint() {
  cat "$PULSAR_OPS_DIR/pom.xml" "$PULSAR_OPS_DIR/settings.xml" | sha256sum | cut -d' ' -f1
}

pulsar_install() {
  local want; want="$(_pulsar_lib_fingerprint)"
  if [[ -f "$PULSAR_STAMP" && "$(cat "$PULSAR_STAMP")" == "$want" ]] \
     && compgen -G "$PULSAR_LIB/pulsar-broker-*.jar" >/dev/null; then
    log "pulsar: jars already installed ($(ls "$PULSAR_LIB" | wc -l) in $PULSAR_LIB)"
    return 0
  fi
  if pid_alive pulsar; then
    # Swapping jars under a running JVM breaks classes it has not loaded yet.
    log "WARNING: pulsar: ops/pulsar changed but the broker is running; stop it and re-run to upgrade"
    return 0
  fi
  command -v mvn >/dev/null || die "pulsar: mvn not found (apt-get install maven)"
  log "pulsar: resolving broker jars with Maven (cache: $STACK_HOME/m2)"
  # Copy into a fresh directory and swap it in only on success, so an interrupted or
  # failed run never leaves a half-filled lib/ that a later start would trust.
  local staging="$PULSAR_HOME/lib.staging"
  rm -rf "$staging"
  mkdir -p "$PULSAR_HOME"
  local start=$SECONDS
  if ! mvn -B -q -s "$PULSAR_OPS_DIR/settings.xml" -f "$PULSAR_OPS_DIR/pom.xml" \
       -Dmaven.repo.local="$STACK_HOME/m2" -Dpulsar.lib.dir="$staging" \
       process-resources >"$LOG_DIR/pulsar-install.log" 2>&1; then
    tail -n 30 "$LOG_DIR/pulsar-install.log" >&2
    die "pulsar: Maven could not resolve the broker (full log: $LOG_DIR/pulsar-install.log)"
  fi
  compgen -G "$staging/pulsar-broker-*.jar" >/dev/null \
    || die "pulsar: Maven finished but no pulsar-broker jar in $staging"
  rm -rf "$PULSAR_LIB"
  mv "$staging" "$PULSAR_LIB"
  echo "$want" > "$PULSAR_STAMP"
  log "pulsar: installed $(ls "$PULSAR_LIB" | wc -l) jars in $((SECONDS - start))s"
}

# Renders ops/pulsar/standalone.conf with this stack's ports and paths.
_pulsar_render_conf() {
  mkdir -p "$(dirname "$PULSAR_CONF")" "$PULSAR_DATA_DIR" "$PULSAR_HOME/tmp"
  sed -e "s|@@WEB_PORT@@|${PULSAR_WEB_PORT}|g" \
      -e "s|@@BROKER_PORT@@|${PULSAR_BROKER_PORT}|g" \
      -e "s|@@PULSAR_HOME@@|${PULSAR_HOME}|g" \
      "$PULSAR_OPS_DIR/standalone.conf" > "$PULSAR_CONF.tmp"
  mv "$PULSAR_CONF.tmp" "$PULSAR_CONF"
}

# Ready means the admin API answers and standalone has registered its cluster (the
# tenant we provision must name an existing cluster). If the JVM died, stop waiting at once:
# fd 3 is the caller's stderr, since wait_for discards this function's output.
_pulsar_ready() {
  if ! pid_alive pulsar; then
    { tail -n 20 "$LOG_DIR/pulsar.out" "$LOG_DIR/pulsar.log" >&2 2>/dev/null || true
      die "pulsar: broker process exited during startup (logs: $LOG_DIR/pulsar.log, pulsar.out)"; } 2>&3
  fi
  curl -sf -m 5 "$PULSAR_ADMIN_URL/admin/v2/clusters" | grep -q '"standalone"'
}

pulsar_start() {
  if pid_alive pulsar; then
    log "pulsar: already running (pid $(cat "$RUN_DIR/pulsar.pid"))"
    return 0
  fi
  compgen -G "$PULSAR_LIB/pulsar-broker-*.jar" >/dev/null \
    || die "pulsar: broker jars missing, run pulsar_install first"
  if curl -s -o /dev/null -m 2 "$PULSAR_ADMIN_URL/admin/v2/clusters"; then
    die "pulsar: something not started by this stack already listens on $PULSAR_ADMIN_URL"
  fi
  _pulsar_render_conf
  local -a jvm=(
    "-Xms${PULSAR_HEAP}" "-Xmx${PULSAR_HEAP}" "-XX:MaxDirectMemorySize=${PULSAR_DIRECT_MEM}"
    -XX:+UseG1GC -XX:MaxGCPauseMillis=10 -XX:+ParallelRefProcEnabled
    -XX:+ExitOnOutOfMemoryError -XX:+PerfDisableSharedMem
    # Flags bin/pulsar adds (Netty and BookKeeper reach into JDK internals on Java 17).
    -Djava.net.preferIPv4Stack=true
    -Dio.netty.tryReflectionSetAccessible=true
    -Dio.netty.leakDetectionLevel=disabled
    -Dio.netty.recycler.maxCapacityPerThread=4096
    --add-opens java.base/java.io=ALL-UNNAMED
    --add-opens java.base/java.util.zip=ALL-UNNAMED
    --add-opens java.base/java.nio=ALL-UNNAMED
    --add-opens java.base/jdk.internal.misc=ALL-UNNAMED
    --add-opens java.base/sun.net=ALL-UNNAMED
    --add-opens java.management/sun.management=ALL-UNNAMED
    -Dbookkeeper.metadata.bookie.drivers=org.apache.pulsar.metadata.bookkeeper.PulsarMetadataBookieDriver
    -Dbookkeeper.metadata.client.drivers=org.apache.pulsar.metadata.bookkeeper.PulsarMetadataClientDriver
    # Logging: log4j2 writes $LOG_DIR/pulsar.log; stdout/stderr go to pulsar.out.
    "-Dlog4j.configurationFile=$PULSAR_OPS_DIR/log4j2.xml"
    "-Dpulsar.log.dir=$LOG_DIR" -Dpulsar.log.file=pulsar.log
    -Dlog4j2.formatMsgNoLookups=true
    # RocksDB's JNI library and other extractions stay inside the cache.
    "-Djava.io.tmpdir=$PULSAR_HOME/tmp"
  )
  local -a args=(
    --config "$PULSAR_CONF" -nfw -nss
    --metadata-dir "$PULSAR_DATA_DIR/metadata"
    --bookkeeper-dir "$PULSAR_DATA_DIR/bookkeeper"
    --bookkeeper-port "$PULSAR_BOOKIE_PORT"
    # Standalone falls back to ZooKeeper mode if this directory exists; keep it in our tree
    # (it never gets created) rather than relative to whatever the cwd is.
    --zookeeper-dir "$PULSAR_DATA_DIR/zookeeper"
  )
  log "pulsar: starting broker (web :$PULSAR_WEB_PORT, broker :$PULSAR_BROKER_PORT, heap $PULSAR_HEAP)"
  # Run from PULSAR_HOME so any path Pulsar still resolves relative to the cwd lands there.
  ( cd "$PULSAR_HOME" && start_bg pulsar "$LOG_DIR/pulsar.out" \
      "$PULSAR_JAVA" "${jvm[@]}" -cp "$PULSAR_LIB/*" org.apache.pulsar.PulsarStandaloneStarter "${args[@]}" )
  exec 3>&2
  wait_for "pulsar broker" "$PULSAR_START_TIMEOUT" _pulsar_ready
  exec 3>&-
}

# Creates an admin resource unless a GET shows it already exists (the broker logs every 409 as
# an ERROR, which would make each `stack:up` look broken); a 409 from a race is still success.
_pulsar_ensure() {
  local get_path="$1" method="$2" path="$3" body="${4:-}"
  if [[ -n "$get_path" ]] && curl -sf -o /dev/null -m 10 "$PULSAR_ADMIN_URL$get_path"; then
    return 0
  fi
  local code
  local -a data=()
  [[ -n "$body" ]] && data=(-H 'Content-Type: application/json' --data "$body")
  code="$(curl -s -o "$PULSAR_HOME/admin-response" -w '%{http_code}' -m 30 \
           -X "$method" "${data[@]}" "$PULSAR_ADMIN_URL$path")" || code=000
  case "$code" in
    2??|409) return 0 ;;
    *) die "pulsar: $method $path -> HTTP $code: $(head -c 500 "$PULSAR_HOME/admin-response" 2>/dev/null)" ;;
  esac
}

pulsar_provision() {
  local ns="/admin/v2/namespaces/$PULSAR_NAMESPACE"
  _pulsar_ensure "/admin/v2/tenants/$PULSAR_TENANT" PUT "/admin/v2/tenants/$PULSAR_TENANT" \
    '{"allowedClusters":["standalone"],"adminRoles":[]}'
  _pulsar_ensure "$ns/retention" PUT "$ns"
  # Retention keeps acknowledged seed events for 7 days / 1 GiB so a rebuilt token service
  # (or an auditor) can replay them. Always POSTed: it overwrites, so re-running is harmless
  # and a changed policy here reaches existing stacks.
  _pulsar_ensure "" POST "$ns/retention" '{"retentionTimeInMinutes":10080,"retentionSizeInMB":1024}'
  # The namespace's topic list comes from metadata; it does not load (open ledgers for) topics.
  local existing topic
  existing="$(curl -sf -m 10 "$PULSAR_ADMIN_URL/admin/v2/persistent/$PULSAR_NAMESPACE" || true)"
  for topic in "${PULSAR_TOPICS[@]}"; do
    [[ "$existing" == *"\"$topic\""* ]] && continue
    _pulsar_ensure "" PUT "/admin/v2/persistent/${topic#persistent://}"
  done
  # WebSocket consumers subscribe at the latest position, so events published before the
  # token service first connects would be skipped; a durable subscription made now keeps them.
  local sub_path="/admin/v2/persistent/${PULSAR_SEED_TOPIC#persistent://}/subscription/$PULSAR_TOKEN_SUBSCRIPTION"
  if ! curl -sf -m 10 "$PULSAR_ADMIN_URL/admin/v2/persistent/${PULSAR_SEED_TOPIC#persistent://}/subscriptions" \
       | grep -q "\"$PULSAR_TOKEN_SUBSCRIPTION\""; then
    _pulsar_ensure "" PUT "$sub_path"
  fi
  log "pulsar: provisioned $PULSAR_NAMESPACE (${#PULSAR_TOPICS[@]} topics, subscription $PULSAR_TOKEN_SUBSCRIPTION)"
}

pulsar_stop() {
  stop_pid pulsar 30
}

# Exit status 0 only when running and healthy (status.sh turns that into its own exit code).
pulsar_status() {
  if pid_alive pulsar; then
    local health
    # The health check round-trips a message through the broker's own health-check topic.
    health="$(curl -s -m 10 "$PULSAR_ADMIN_URL/admin/v2/brokers/health" 2>/dev/null || true)"
    printf 'pulsar: running pid=%s admin=%s health=%s\n' \
      "$(cat "$RUN_DIR/pulsar.pid")" "$PULSAR_ADMIN_URL" "${health:-unreachable}"
    [[ "$health" == ok ]]
  else
    printf 'pulsar: stopped\n'
    return 1
  fi
}

# Deletes topics, subscriptions and metadata (not the jars): used by scripts/stack/reset.sh.
pulsar_reset() {
  pulsar_stop
  log "pulsar: removing $PULSAR_DATA_DIR"
  rm -rf "$PULSAR_DATA_DIR" "$(dirname "$PULSAR_CONF")"
}

# Direct use for development; sourcing the file only defines the functions above.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  case "${1:-}" in
    install) pulsar_install ;;
    up) pulsar_install; pulsar_start; pulsar_provision ;;
    start) pulsar_start ;;
    provision) pulsar_provision ;;
    down|stop) pulsar_stop ;;
    status) pulsar_status ;;
    reset) pulsar_reset ;;
    *) echo "usage: $0 install|up|start|provision|down|status|reset" >&2; exit 2 ;;
  esac
fi
