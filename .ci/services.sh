#!/usr/bin/env bash
# Runs a command with the storage test servers up, then stops them:
#
#   .ci/services.sh go test ./host/internal/storage/...
#
# It starts, on loopback and unusual ports (SMSPLUS_SERVICES_PORT_BASE, default 16390):
#   base+0       Redis, single server            SMSPLUS_TEST_REDIS_URL
#   base+1, +2   Redis primary and one Sentinel  SMSPLUS_TEST_REDIS_SENTINEL_ADDRS, _MASTER
#   base+3..+5   Redis Cluster, three primaries  SMSPLUS_TEST_REDIS_CLUSTER_ADDRS
#   base+7       FerretDB v1 (MongoDB wire)      SMSPLUS_TEST_MONGO_URL
#   base+8       Google's Firestore emulator     SMSPLUS_TEST_FIRESTORE_EMULATOR
# and exports those variables for the command. A variable already set is kept and
# its server is not started (point the tests at your own servers that way).
#
# Redis comes from Debian's redis-server package (installed when missing, as root; the
# Redis tests also start servers of their own with it, so it is installed whenever it
# is missing, even if every Redis variable is set).
# FerretDB is built from the Go module proxy by the tool module in .ci/ferretdb and
# cached in .cache/bin (rebuilt when that module changes). Its SQLite handler is the
# default; SMSPLUS_FERRETDB_HANDLER=postgresql uses the local PostgreSQL instead (see
# docs/storage.md for why SQLite is kept). The Firestore emulator is the one shipped
# with the Google Cloud CLI (google-cloud-cli-firestore-emulator, Java 17+), which
# these machines' image has. Without it the Firestore tests skip on a laptop and the
# script fails in CI: the npm stand-in (@firestore-emulator/server) lacks the write
# transforms and full-document replacement the Firestore store relies on.
#
# Every server must answer within 30 s, or the script fails and shows its log.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache="$root/.cache"
base=${SMSPLUS_SERVICES_PORT_BASE:-16390}
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/smsplus-services.XXXXXX")
pids=()
stop() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap stop EXIT
trap 'exit 130' INT TERM

say() { echo "services: $*" >&2; }
fail() {
  say "$1"
  [ -n "${2:-}" ] && [ -f "$2" ] && tail -n 30 "$2" | sed 's/^/    /' >&2
  exit 1
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
need_ports() {
  local p
  for p in "$@"; do
    port_free "$p" || fail "port $p is in use: stop what listens there or set SMSPLUS_SERVICES_PORT_BASE"
  done
}
# wait_port PORT PID LOG: until PORT accepts connections, for 30 s, while PID lives.
wait_port() {
  local deadline=$((SECONDS + 30))
  until ! port_free "$1"; do
    kill -0 "$2" 2>/dev/null || fail "the server for port $1 exited" "$3"
    [ $SECONDS -lt $deadline ] || fail "nothing listens on port $1 after 30 s" "$3"
    sleep 0.1
  done
}
# wait_for DESCRIPTION LOG COMMAND...: until COMMAND succeeds, for 30 s.
wait_for() {
  local what=$1 log=$2 deadline=$((SECONDS + 30))
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "$what: not ready after 30 s" "$log"
    sleep 0.2
  done
}

# ---- Redis: single server, Sentinel, Cluster -------------------------------------
# Each Redis keeps its data as production must (the Redis store refuses a server that
# does not, see docs/storage.md): an append-only file in its temporary directory,
# fsynced every second, and no eviction. Tests that need a volatile Redis start their
# own (storagetest.StartRedis).
redis_server() { # PORT [ARGS...]: start redis-server in the foreground, in the background
  local port=$1 dir="$work/redis-$1"
  shift
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --logfile "$dir/log" \
    --save '' --appendonly yes --appendfsync everysec --maxmemory-policy noeviction "$@" &
  pids+=($!)
  wait_port "$port" $! "$dir/log"
}

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing redis-server (Debian)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    fail "redis-server is missing: install Debian's redis-server (or Redis 6.2+)"
  fi
fi

if [ -z "${SMSPLUS_TEST_REDIS_URL:-}" ]; then
  need_ports "$base"
  redis_server "$base"
  export SMSPLUS_TEST_REDIS_URL="redis://127.0.0.1:$base/0"
fi

if [ -z "${SMSPLUS_TEST_REDIS_SENTINEL_ADDRS:-}" ]; then
  primary=$((base + 1)) sentinel=$((base + 2))
  need_ports "$primary" "$sentinel"
  redis_server "$primary"
  mkdir -p "$work/sentinel"
  cat >"$work/sentinel/sentinel.conf" <<EOF
port $sentinel
bind 127.0.0.1
dir $work/sentinel
logfile $work/sentinel/log
sentinel monitor smsplus-test 127.0.0.1 $primary 1
sentinel down-after-milliseconds smsplus-test 5000
EOF
  redis-server "$work/sentinel/sentinel.conf" --sentinel &
  pids+=($!)
  wait_port "$sentinel" $! "$work/sentinel/log"
  wait_for "Redis Sentinel" "$work/sentinel/log" \
    bash -c "redis-cli -p $sentinel sentinel get-master-addr-by-name smsplus-test | grep -q $primary"
  export SMSPLUS_TEST_REDIS_SENTINEL_ADDRS="127.0.0.1:$sentinel" SMSPLUS_TEST_REDIS_SENTINEL_MASTER=smsplus-test
fi

if [ -z "${SMSPLUS_TEST_REDIS_CLUSTER_ADDRS:-}" ]; then
  nodes=()
  for p in $((base + 3)) $((base + 4)) $((base + 5)); do
    need_ports "$p" $((p + 10000)) # the cluster bus listens on port+10000
    redis_server "$p" --cluster-enabled yes --cluster-config-file "$work/redis-$p/nodes.conf" --cluster-node-timeout 5000
    nodes+=("127.0.0.1:$p")
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$work/cluster-create.log" 2>&1 ||
    fail "redis-cli --cluster create failed" "$work/cluster-create.log"
  for n in "${nodes[@]}"; do
    wait_for "Redis Cluster node $n" "$work/cluster-create.log" \
      bash -c "redis-cli -p ${n##*:} cluster info | grep -q 'cluster_state:ok'"
  done
  export SMSPLUS_TEST_REDIS_CLUSTER_ADDRS=$(IFS=,; echo "${nodes[*]}")
fi

# ---- FerretDB (MongoDB wire protocol) --------------------------------------------
if [ -z "${SMSPLUS_TEST_MONGO_URL:-}" ]; then
  port=$((base + 7))
  need_ports "$port"
  bin="$cache/bin/ferretdb"
  stamp=$(cat "$root"/.ci/ferretdb/go.mod "$root"/.ci/ferretdb/go.sum "$root"/.ci/ferretdb/*.go | sha256sum | cut -c1-16)
  if [ ! -x "$bin" ] || [ "$(cat "$bin.stamp" 2>/dev/null)" != "$stamp" ]; then
    say "building FerretDB from the Go module proxy (about 2 min the first time, then cached in .cache/bin)"
    mkdir -p "$cache/bin"
    (cd "$root/.ci/ferretdb" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$bin" .)
    echo "$stamp" >"$bin.stamp"
  fi
  handler=${SMSPLUS_FERRETDB_HANDLER:-sqlite}
  mkdir -p "$work/ferretdb"
  case "$handler" in
    sqlite) args=(--handler=sqlite "--sqlite-url=file:$work/ferretdb/") ;;
    postgresql)
      pg=${SMSPLUS_FERRETDB_POSTGRESQL_URL:-postgres://postgres@127.0.0.1:5432/smsplus_ferretdb_test}
      pg_isready -q -d "${pg%/*}/postgres" || fail "PostgreSQL is not ready for the postgresql handler ($pg)"
      PGOPTIONS='--client-min-messages=warning' psql -q -d "${pg%/*}/postgres" -c "DROP DATABASE IF EXISTS ${pg##*/}" -c "CREATE DATABASE ${pg##*/}" >/dev/null
      args=(--handler=postgresql "--postgresql-url=$pg") ;;
    *) fail "SMSPLUS_FERRETDB_HANDLER must be sqlite or postgresql, not $handler" ;;
  esac
  "$bin" --listen-addr="127.0.0.1:$port" "${args[@]}" >"$work/ferretdb/log" 2>&1 &
  pids+=($!)
  wait_port "$port" $! "$work/ferretdb/log"
  export SMSPLUS_TEST_MONGO_URL="mongodb://127.0.0.1:$port/"
fi

# ---- Firestore emulator ----------------------------------------------------------
firestore_jar() {
  local sdk
  for sdk in "${CLOUDSDK_ROOT_DIR:-}" "$(dirname "$(readlink -f "$(command -v gcloud 2>/dev/null || echo /nonexistent)")")/.." \
    /usr/lib/google-cloud-sdk /usr/share/google-cloud-sdk /opt/google-cloud-sdk; do
    [ -n "$sdk" ] && [ -f "$sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar" ] &&
      { echo "$sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"; return 0; }
  done
  return 1
}
if [ -z "${SMSPLUS_TEST_FIRESTORE_EMULATOR:-}" ]; then
  port=$((base + 8))
  need_ports "$port"
  mkdir -p "$work/firestore"
  if jar=$(firestore_jar) && java -version >/dev/null 2>&1; then
    # The launcher script does not exec java; run java directly so that stop() ends it.
    java -Duser.language=en -cp "$jar" com.google.cloud.datastore.emulator.firestore.CloudFirestore \
      start --host=127.0.0.1 --port="$port" >"$work/firestore/log" 2>&1 &
    pids+=($!)
    wait_port "$port" $! "$work/firestore/log"
    export SMSPLUS_TEST_FIRESTORE_EMULATOR="127.0.0.1:$port"
  elif [ "${CI:-}" = true ]; then
    fail "Google's Firestore emulator (google-cloud-cli-firestore-emulator) or Java 17+ is missing"
  else
    say "Google's Firestore emulator (or Java) is missing: the Firestore tests will skip"
  fi
fi

say "ready: redis $SMSPLUS_TEST_REDIS_URL, sentinel $SMSPLUS_TEST_REDIS_SENTINEL_ADDRS, cluster $SMSPLUS_TEST_REDIS_CLUSTER_ADDRS, mongo $SMSPLUS_TEST_MONGO_URL, firestore ${SMSPLUS_TEST_FIRESTORE_EMULATOR:-none} after ${SECONDS}s"
status=0
"$@" || status=$?
exit "$status"
