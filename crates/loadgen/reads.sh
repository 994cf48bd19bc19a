#!/usr/bin/env bash
# The read scenarios of issue 13, beside their baseline in the same run:
#
#   crates/loadgen/reads.sh [seconds] [connections]   # defaults: 10 s, 100
#   crates/loadgen/reads.sh 600 100 every-page        # the soak run below
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
#
# With `siege` it runs seed 001's test instead: `siege -b --no-parser` (no
# think time, a new connection per request, only the page: siege's HTML
# parser would also fetch the CSS it links) at `connections` concurrent
# users on `/stores/1` for `seconds`, then on `/healthz` (the baseline) for
# at most 30 s; one Markdown row each (Debian's siege, installed when
# missing). The published run: `crates/loadgen/reads.sh 120 100 siege`.
#
# With `every-page` it runs one scenario instead, for the whole time: every
# kind of page in turn, each as the person who may see it (anonymous: the
# store list, filtered and searched, all ten stores, login, sign-up; a
# customer: checkout, orders, notifications; owners: the dashboard list,
# a store's dashboard, the canteen's payroll statement; a rider; an admin),
# logged in as the demo accounts. A render cut off by the server's response
# timeout is a 503: it shows under "not 2xx" (wrk waits 20 s per request,
# longer than the server's 15 s, so the server's verdict is what counts).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
seconds=${1:-10}
connections=${2:-100}
port=${READS_PORT:-3290}

tool=wrk
[ "${3:-}" = siege ] && tool=siege
if ! command -v "$tool" >/dev/null; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "==> installing Debian's $tool" >&2
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$tool"
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

if [ "${3:-}" = siege ]; then
  # siege's JSON summary, one row: transactions, availability, rate, longest, failed.
  siege_row() {
    local name=$1 secs=$2 path=$3
    siege -q -b --no-parser -c"$connections" -t"${secs}S" "http://127.0.0.1:$port$path" 2>&1 |
      tr -d ' \t,"{}' | awk -F: -v name="$name" '
        $1 == "transactions" { t = $2 } $1 == "availability" { a = $2 }
        $1 == "transaction_rate" { r = $2 } $1 == "longest_transaction" { l = $2 }
        $1 == "failed_transactions" { f = $2 }
        END { printf "| %s | %s | %s %% | %s | %s s | %s |\n", name, t, a, r, l, f }'
  }
  echo "| siege, $connections concurrent, no delay | transactions | availability | tx/s | longest | failed |"
  echo "|---|---:|---:|---:|---:|---:|"
  siege_row "GET /stores/1 (menu page), ${seconds} s" "$seconds" /stores/1
  baseline=$((seconds < 30 ? seconds : 30))
  siege_row "GET /healthz (baseline), ${baseline} s" "$baseline" /healthz
  exit 0
fi

if [ "${3:-}" = every-page ]; then
  # A demo account's session cookie (`name=value`).
  session_of() {
    curl -s -o /dev/null -D - --data-urlencode "email=$1" --data-urlencode "password=demo1234" \
      "http://127.0.0.1:$port/api/login" | awk 'tolower($1) == "set-cookie:" { sub(/;.*/, "", $2); print $2; exit }'
  }
  customer=$(session_of minjun@demo.delivery)
  owner=$(session_of owner.chicken@demo.delivery)
  canteen=$(session_of owner.canteen@demo.delivery)
  rider=$(session_of rider.moto@demo.delivery)
  admin=$(session_of admin@demo.delivery)
  for who in customer owner canteen rider admin; do
    [ -n "${!who}" ] || { echo "cannot log in the demo $who" >&2; exit 1; }
  done
  {
    echo 'local pages = {'
    for path in / "/?kind=restaurant" "/?q=%EC%B9%98%ED%82%A8" /login /signup; do echo "  {\"$path\", \"\"},"; done
    for id in 1 2 3 4 5 6 7 8 9 10; do echo "  {\"/stores/$id\", \"\"},"; done
    for path in "/checkout?store=1" /orders /notifications /stores/1; do echo "  {\"$path\", \"$customer\"},"; done
    for path in /owner /owner/stores/1; do echo "  {\"$path\", \"$owner\"},"; done
    echo "  {\"/owner/stores/9/payroll\", \"$canteen\"},"
    echo "  {\"/rider\", \"$rider\"},"
    echo "  {\"/admin\", \"$admin\"},"
    echo '}'
    cat <<'EOF'
local i = 0
request = function()
  i = i % #pages + 1
  local page = pages[i]
  local headers = { ["Accept-Language"] = "ko-KR,ko" }
  if page[2] ~= "" then headers["Cookie"] = page[2] end
  return wrk.format("GET", page[1], headers)
end
EOF
    cat "$work/report.lua"
  } >"$work/pages.lua"
  echo "| scenario ($connections connections, ${seconds} s) | req/s | latency p50 / p99 ms | not 2xx | socket errors |"
  echo "|---|---:|---:|---:|---:|"
  line=$(wrk -t2 -c"$connections" -d"${seconds}s" --timeout 20s --latency -s "$work/pages.lua" "http://127.0.0.1:$port/" | grep '^RESULT')
  read -r _ rps p50 p99 status errors <<<"$line"
  printf '| every page kind, as its people (%s paths) | %s | %s / %s | %s | %s |\n' "$(grep -c '^  {' "$work/pages.lua")" "$rps" "$p50" "$p99" "$status" "$errors"
  echo "server log lines saying \"timed out\" or \"panicked\": $(grep -ciE 'timed out|panicked' "$work/server.log" || true)"
  exit 0
fi

echo "| scenario ($connections connections, ${seconds} s) | req/s | latency p50 / p99 ms | not 2xx | socket errors |"
echo "|---|---:|---:|---:|---:|"
run 'GET /healthz (baseline)' "$work/report.lua" /healthz
run 'GET / (store list)' "$work/report.lua" /
run 'GET /stores/1 (menu page)' "$work/report.lua" /stores/1
run 'POST /api/store_menu (JSON)' "$work/menu-report.lua" /api/store_menu
