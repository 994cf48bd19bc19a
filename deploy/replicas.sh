#!/usr/bin/env bash
# Runs the platform as three replicas on one PostgreSQL behind HAProxy
# (issue 14), on this machine:
#
#   deploy/replicas.sh            # serve at http://127.0.0.1:8080 until Ctrl-C
#   deploy/replicas.sh load 20    # …and drive 8 virtual users through it for 20 s
#
# PostgreSQL: the server on 127.0.0.1:5432 when there is one, else a
# throwaway cluster (.ci/postgres.sh). The database `delivery_replicas` is
# created when missing and keeps its data between runs (demo data on first
# start). HAProxy (Debian's package, installed when missing) balances the
# replicas with deploy/haproxy.cfg: health checks on /readyz, WebSockets
# passed through. Each replica drains for 2 s on SIGTERM. The first replica
# prints the demo accounts.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
mode=${1:-serve}
seconds=${2:-20}

sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
if ! command -v haproxy >/dev/null; then
  echo "==> installing Debian's haproxy"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq haproxy
fi
bash .ci/tools.sh

server_url=$(bash .ci/postgres.sh)
database_url="${server_url%/*}/delivery_replicas"
if ! psql "$server_url" -Atqc "select 1 from pg_database where datname = 'delivery_replicas'" | grep -q 1; then
  psql "$server_url" -qc 'create database delivery_replicas'
fi

echo "==> building the server and the site (release)"
cargo leptos build --release --precompress --split

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

export BALANCER_PORT=8080 BALANCER_ERRORS="$PWD/deploy/haproxy-errors"
if [ "$mode" = load ]; then
  # The load generator is one client at one address: lift the per-client
  # limits (login, checkout) that would otherwise refuse most of its orders.
  export APP_LOGIN_ATTEMPTS_PER_MINUTE=1000000 APP_CHECKOUTS_PER_MINUTE=1000000
fi
for i in 1 2 3; do
  port=$((3100 + i))
  export "REPLICA_${i}_PORT=$port"
  APP_PORT=$port APP_INSTANCE_ID="replica-$i" DATABASE_URL="$database_url" \
    APP_DRAIN_MS=2000 APP_TRUSTED_PROXIES=127.0.0.1 LEPTOS_SITE_ROOT=target/site \
    RUST_LOG="${RUST_LOG:-$([ "$i" -eq 1 ] && echo info || echo warn)}" target/release/server &
  pids+=($!)
  # The first replica migrates and seeds; the others start on that.
  if [ "$i" -eq 1 ]; then
    until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do sleep 0.2; done
  fi
done
haproxy -db -f deploy/haproxy.cfg &
pids+=($!)
until curl -fsS "http://127.0.0.1:$BALANCER_PORT/readyz" >/dev/null 2>&1; do sleep 0.2; done
echo "==> three replicas behind HAProxy at http://127.0.0.1:$BALANCER_PORT (replicas on ports 3101-3103)"

if [ "$mode" = load ]; then
  cargo build --release -q -p loadgen
  LOADGEN_TARGET="http://127.0.0.1:$BALANCER_PORT" RUST_LOG=warn target/release/loadgen 8 "$seconds"
else
  echo "Ctrl-C stops everything."
  wait
fi
