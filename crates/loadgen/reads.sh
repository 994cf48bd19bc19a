#!/usr/bin/env bash
# The read scenarios of issue 13, beside their baseline in the same run:
#
#   crates/loadgen/reads.sh [seconds] [connections]   # defaults: 10 s, 100
#
# Starts the release server on a fresh SQLite file with the demo data, then
# drives it with wrk (Debian's package, installed when missing) over keep-
# alive connections: `/healthz` (a handler that answers "ok": the
# baseline), `/` and `/stores/1` (server-rendered pages) and
# `POST /api/store_menu` (the JSON a hydrated page fetches). Prints one
# Markdown row per scenario: requests per second, latency p50/p99, and
# responses that were not 2xx or failed (both must be 0). Builds
# `target/release/server` when it is missing (not the wasm: the pages are
# rendered without it). `READS_SERVER=path/to/server` measures another
# build instead (an earlier commit's, for a before/after in one run).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
seconds=${1:-10}
connections=${2:-100}
port=${READS_PORT:-3290}

if ! command -v wrk >/dev/null; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "==> installing Debian's wrk" >&2
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq wrk
fi
server_bin=${READS_SERVER:-target/release/server}
if [ -z "${READS_SERVER:-}" ] && [ ! -x target/release/server ]; then
  echo "==> building the release server" >&2
  cargo build --release -p server
fi

work=$(mktemp -d)
cleanup() {
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

APP_PORT=$port DATABASE_URL="sqlite://$work/reads.db?mode=rwc" APP_DEMO=true \
  LEPTOS_SITE_ROOT=target/site RUST_LOG=warn "$server_bin" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$work/server.log" >&2; exit 1; }

cat >"$work/menu.lua" <<'EOF'
wrk.method = "POST"
wrk.body = "id=1"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
EOF
# wrk's summary in one line: requests/s, p50, p99, not-2xx, socket errors.
cat >"$work/report.lua" <<'EOF'
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %.0f %.1f %.1f %d %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status, errors))
end
EOF
cat "$work/menu.lua" "$work/report.lua" >"$work/menu-report.lua"

run() {
  local name=$1 script=$2 path=$3
  local line
  line=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$script" "http://127.0.0.1:$port$path" | grep '^RESULT')
  read -r _ rps p50 p99 status errors <<<"$line"
  printf '| %s | %s | %s / %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99" "$status" "$errors"
}

echo "| scenario ($connections connections, ${seconds} s) | req/s | latency p50 / p99 ms | not 2xx | socket errors |"
echo "|---|---:|---:|---:|---:|"
run 'GET /healthz (baseline)' "$work/report.lua" /healthz
run 'GET / (store list)' "$work/report.lua" /
run 'GET /stores/1 (menu page)' "$work/report.lua" /stores/1
run 'POST /api/store_menu (JSON)' "$work/menu-report.lua" /api/store_menu
