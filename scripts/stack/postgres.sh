# PostgreSQL 15 primary + streaming hot standby on loopback. Sourced after lib.sh.
# Functions: postgres_install, postgres_start, postgres_stop, postgres_status
# (plus postgres_primary_url / postgres_standby_url).
# The servers run as the `postgres` OS user (postgres refuses root); the machine's default
# cluster, pg_ctlcluster and systemd are never used.

: "${PG_BINDIR:=/usr/lib/postgresql/15/bin}"
: "${PG_REPL_USER:=replicator}"
: "${PG_REPL_PASSWORD:=replicator-local}"
: "${PG_REPL_SLOT:=standby1}"
: "${PG_OS_USER:=postgres}"
PG_HOME="$STACK_HOME/pg"
PG_SOCKDIR="$PG_HOME/sock"
PG_PRIMARY_DIR="$PG_HOME/primary"
PG_STANDBY_DIR="$PG_HOME/standby"

postgres_primary_url() { echo "postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PRIMARY_PORT/$PG_DATABASE"; }
postgres_standby_url() { echo "postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_STANDBY_PORT/$PG_DATABASE"; }

# _pg_as CMD...: run a command as the postgres OS user, from a directory it can read.
_pg_as() { (cd / && runuser -u "$PG_OS_USER" -- "$@"); }
# _pg_sql PORT SQL [DB]: run SQL as the postgres superuser over the unix socket; prints unaligned rows.
_pg_sql() { _pg_as "$PG_BINDIR/psql" -XAtq -v ON_ERROR_STOP=1 -h "$PG_SOCKDIR" -p "$1" -d "${3:-postgres}" -c "$2"; }
_pg_ready() { "$PG_BINDIR/pg_isready" -q -h 127.0.0.1 -p "$1" -t 2; }
_pg_running() { [[ -f "$1/postmaster.pid" ]] && _pg_as "$PG_BINDIR/pg_ctl" status -D "$1" >/dev/null 2>&1; }

# Every directory above the cache must be traversable by the postgres user.
_pg_ensure_traversable() {
  local d="$PG_HOME"
  while [[ "$d" != / ]]; do
    d="$(dirname "$d")"
    if ! _pg_as test -x "$d" 2>/dev/null; then
      log "postgres: granting o+x on $d so the '$PG_OS_USER' user can reach $PG_HOME"
      chmod o+x "$d"
    fi
  done
}

postgres_install() {
  if [[ ! -x "$PG_BINDIR/postgres" ]]; then
    apt_install postgresql
    [[ -x "$PG_BINDIR/postgres" ]] || die "postgres: $PG_BINDIR/postgres still missing after apt-get install postgresql"
  fi
  id "$PG_OS_USER" >/dev/null 2>&1 || die "postgres: OS user '$PG_OS_USER' missing (the Debian package creates it)"
  mkdir -p "$PG_HOME"
  chown "$PG_OS_USER:" "$PG_HOME"; chmod 700 "$PG_HOME"
  _pg_ensure_traversable
  _pg_as mkdir -p "$PG_SOCKDIR"
  if [[ ! -f "$PG_PRIMARY_DIR/PG_VERSION" ]]; then
    log "postgres: initdb $PG_PRIMARY_DIR"
    rm -rf "$PG_PRIMARY_DIR" "$PG_STANDBY_DIR"   # a standby of an older primary is useless
    _pg_as "$PG_BINDIR/initdb" -D "$PG_PRIMARY_DIR" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=peer --auth-host=scram-sha-256 >>"$LOG_DIR/pg-initdb.log" 2>&1 \
      || die "postgres: initdb failed (see $LOG_DIR/pg-initdb.log)"
    _pg_write_conf "$PG_PRIMARY_DIR" "$PG_PRIMARY_PORT" primary
    _pg_as tee "$PG_PRIMARY_DIR/pg_hba.conf" >/dev/null <<EOF
# Written by scripts/stack/postgres.sh. Unix socket: peer (the postgres OS user only).
local   all           postgres                     peer
local   replication   postgres                     peer
host    replication   $PG_REPL_USER   127.0.0.1/32   scram-sha-256
host    all           all             127.0.0.1/32   scram-sha-256
EOF
  fi
}

# _pg_write_conf DATADIR PORT NAME: settings of this stack, included from postgresql.conf.
_pg_write_conf() {
  _pg_as tee "$1/stack.conf" >/dev/null <<EOF
# Written by scripts/stack/postgres.sh
listen_addresses = '127.0.0.1'
port = $2
cluster_name = '$3'
unix_socket_directories = '$PG_SOCKDIR'
password_encryption = scram-sha-256
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = '128MB'
hot_standby = on
hot_standby_feedback = on
max_connections = 200
shared_buffers = 128MB
fsync = on
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  grep -q "^include_if_exists = 'stack.conf'" "$1/postgresql.conf" \
    || echo "include_if_exists = 'stack.conf'" | _pg_as tee -a "$1/postgresql.conf" >/dev/null
}

# _pg_start_one NAME DATADIR PORT CLUSTER_NAME
_pg_start_one() {
  local name="$1" dir="$2" port="$3" cname="$4" logf="$LOG_DIR/$1.log"
  if _pg_running "$dir"; then
    head -n1 "$dir/postmaster.pid" > "$RUN_DIR/$name.pid"
    wait_for "postgres $name (already running, pid $(cat "$RUN_DIR/$name.pid"))" 60 _pg_ready "$port"
    return 0
  fi
  port_busy "$port" && die "postgres: port $port is already in use by a process this stack did not start"
  _pg_write_conf "$dir" "$port" "$cname"   # settings follow lib.sh/env on every (re)start
  touch "$logf"; chown "$PG_OS_USER:" "$logf"
  log "postgres: starting $name on 127.0.0.1:$port"
  _pg_as "$PG_BINDIR/pg_ctl" start -D "$dir" -l "$logf" -w -t 60 >/dev/null \
    || { tail -n 20 "$logf" >&2; die "postgres: $name failed to start (see $logf)"; }
  head -n1 "$dir/postmaster.pid" > "$RUN_DIR/$name.pid"
  wait_for "postgres $name" 60 _pg_ready "$port"
}

_pg_provision_primary() {
  local pw_sql; pw_sql="$(printf "%s" "$PG_PASSWORD" | sed "s/'/''/g")"
  local rpw_sql; rpw_sql="$(printf "%s" "$PG_REPL_PASSWORD" | sed "s/'/''/g")"
  _pg_sql "$PG_PRIMARY_PORT" "
    DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
        CREATE ROLE \"$PG_USER\" LOGIN CREATEDB PASSWORD '$pw_sql';
      ELSIF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER' AND rolcanlogin AND rolcreatedb) THEN
        ALTER ROLE \"$PG_USER\" LOGIN CREATEDB;
      END IF;
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_REPL_USER') THEN
        CREATE ROLE \"$PG_REPL_USER\" LOGIN REPLICATION PASSWORD '$rpw_sql';
      END IF;
    END \$\$;" || die "postgres: could not create roles"
  if [[ -z "$(_pg_sql "$PG_PRIMARY_PORT" "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" ]]; then
    log "postgres: creating database $PG_DATABASE"
    _pg_sql "$PG_PRIMARY_PORT" "CREATE DATABASE \"$PG_DATABASE\" OWNER \"$PG_USER\"" || die "postgres: CREATE DATABASE failed"
  fi
  _pg_sql "$PG_PRIMARY_PORT" "SELECT pg_create_physical_replication_slot('$PG_REPL_SLOT')
    WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = '$PG_REPL_SLOT')" >/dev/null \
    || die "postgres: could not create replication slot $PG_REPL_SLOT"
}

_pg_sysid() { _pg_as "$PG_BINDIR/pg_controldata" "$1" 2>/dev/null | awk -F: '/Database system identifier/ {gsub(/ /,"",$2); print $2}'; }

_pg_make_standby() {
  if [[ -f "$PG_STANDBY_DIR/PG_VERSION" ]]; then
    [[ "$(_pg_sysid "$PG_STANDBY_DIR")" == "$(_pg_sysid "$PG_PRIMARY_DIR")" ]] && return 0
    _pg_running "$PG_STANDBY_DIR" && _pg_as "$PG_BINDIR/pg_ctl" stop -D "$PG_STANDBY_DIR" -m fast -w >/dev/null
    log "postgres: standby belongs to another primary; rebuilding it"
  fi
  rm -rf "$PG_STANDBY_DIR"
  log "postgres: pg_basebackup -R into $PG_STANDBY_DIR (slot $PG_REPL_SLOT)"
  _pg_as env PGPASSWORD="$PG_REPL_PASSWORD" "$PG_BINDIR/pg_basebackup" \
      -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U "$PG_REPL_USER" -D "$PG_STANDBY_DIR" \
      -R -S "$PG_REPL_SLOT" -X stream -c fast >>"$LOG_DIR/pg-basebackup.log" 2>&1 \
    || { rm -rf "$PG_STANDBY_DIR"; die "postgres: pg_basebackup failed (see $LOG_DIR/pg-basebackup.log)"; }
  _pg_write_conf "$PG_STANDBY_DIR" "$PG_STANDBY_PORT" "$PG_REPL_SLOT"
  [[ -f "$PG_STANDBY_DIR/standby.signal" ]] || die "postgres: pg_basebackup -R wrote no standby.signal"
}

postgres_start() {
  [[ -f "$PG_PRIMARY_DIR/PG_VERSION" ]] || postgres_install
  _pg_start_one pg-primary "$PG_PRIMARY_DIR" "$PG_PRIMARY_PORT" primary
  _pg_provision_primary
  _pg_make_standby
  _pg_start_one pg-standby "$PG_STANDBY_DIR" "$PG_STANDBY_PORT" "$PG_REPL_SLOT"
  [[ "$(_pg_sql "$PG_STANDBY_PORT" 'SELECT pg_is_in_recovery()')" == t ]] \
    || die "postgres: the standby on port $PG_STANDBY_PORT is not in recovery (promoted?); run scripts/stack/reset.sh"
}

# _pg_stop_one NAME DATADIR: stop a server this stack started (pid file present) with pg_ctl -m fast.
_pg_stop_one() {
  local name="$1" dir="$2" f="$RUN_DIR/$1.pid"
  [[ -f "$f" ]] || { log "$name: not started by this stack"; return 0; }
  if _pg_running "$dir"; then
    log "$name: pg_ctl stop -m fast (pid $(cat "$f"))"
    _pg_as "$PG_BINDIR/pg_ctl" stop -D "$dir" -m fast -w -t 60 >/dev/null \
      || die "postgres: pg_ctl stop failed for $name (see $LOG_DIR/$name.log)"
  fi
  rm -f "$f"
}

postgres_stop() {
  _pg_stop_one pg-standby "$PG_STANDBY_DIR"
  _pg_stop_one pg-primary "$PG_PRIMARY_DIR"
}

postgres_status() {
  local rc=0 p s line
  if _pg_ready "$PG_PRIMARY_PORT"; then
    local rec; rec="$(_pg_sql "$PG_PRIMARY_PORT" 'SELECT pg_is_in_recovery()' 2>/dev/null || echo '?')"
    p="primary :$PG_PRIMARY_PORT UP (pid $(head -n1 "$PG_PRIMARY_DIR/postmaster.pid" 2>/dev/null), $([[ $rec == f ]] && echo read-write || echo "in recovery=$rec"))"
  else
    p="primary :$PG_PRIMARY_PORT DOWN"; rc=1
  fi
  if _pg_ready "$PG_STANDBY_PORT"; then
    local rec; rec="$(_pg_sql "$PG_STANDBY_PORT" 'SELECT pg_is_in_recovery()' 2>/dev/null || echo '?')"
    s="standby :$PG_STANDBY_PORT UP (pid $(head -n1 "$PG_STANDBY_DIR/postmaster.pid" 2>/dev/null), $([[ $rec == t ]] && echo in recovery || echo "NOT in recovery"))"
    [[ $rec == t ]] || rc=1
  else
    s="standby :$PG_STANDBY_PORT DOWN"; rc=1
  fi
  line="postgres: $p; $s"
  if (( rc == 0 )) || [[ "$p" == *UP* ]]; then
    local repl
    repl="$(_pg_sql "$PG_PRIMARY_PORT" "SELECT coalesce(string_agg(format('%s %s, %s bytes behind, replay lag %ss',
               coalesce(nullif(application_name,''), 'walreceiver'), state,
               pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn),
               coalesce(round(extract(epoch FROM replay_lag)::numeric, 3)::text, '0')), '; '), 'no standby streaming')
             FROM pg_stat_replication" 2>/dev/null || true)"
    [[ -n "$repl" ]] && line+="; replication: $repl"
    [[ "$repl" == "no standby streaming" ]] && rc=1
  fi
  echo "$line"
  return $rc
}
