#!/usr/bin/env bash
# README command 2: installs the test dependencies and runs every test —
# formatting and lints, unit tests, integration tests on SQLite and on
# PostgreSQL, and the end-to-end tests in Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# A one-off build gains nothing from incremental caches, which cost gigabytes.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi
say() { printf '\n\033[1;36m==> %s\033[0m\n' "$*"; }

bash .ci/tools.sh

sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
# Chromium, plus Korean and emoji fonts so screenshots show text, not boxes;
# HAProxy in front of the replicas of the scale-out tests.
browser_packages="chromium fonts-nanum fonts-noto-color-emoji haproxy"
if ! dpkg -s $browser_packages >/dev/null 2>&1; then
  say "installing Debian's chromium, fonts and haproxy for the browser and replica tests"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq $browser_packages
fi
if [ ! -d end2end/node_modules/@playwright/test ]; then
  say "installing Playwright (no browser download: it drives /usr/bin/chromium)"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

say "formatting and lints"
cargo fmt --all -- --check
cargo clippy --workspace --exclude frontend --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

say "deployment artefacts: Kubernetes manifests, Dockerfile, HAProxy configuration"
bash .ci/deploy-check.sh

say "unit and integration tests on SQLite"
TEST_DATABASE=sqlite cargo test --workspace --exclude frontend

say "integration tests on PostgreSQL"
TEST_POSTGRES_URL=$(bash .ci/postgres.sh)
export TEST_POSTGRES_URL
echo "using ${TEST_POSTGRES_URL}"
if command -v psql >/dev/null; then
  # Drop the databases earlier runs left behind.
  for stale in $(psql "$TEST_POSTGRES_URL" -Atqc "select datname from pg_database where datname like 'delivery_test_%'"); do
    psql "$TEST_POSTGRES_URL" -qc "drop database if exists \"$stale\"" >/dev/null
  done
fi
TEST_DATABASE=postgres cargo test --workspace --exclude frontend --exclude domain

say "three replicas on PostgreSQL behind HAProxy (short forms; RELIABILITY.md has longer runs)"
# Sockets on every replica see what the others commit; kill -9 of the lease holder.
TEST_DATABASE=postgres cargo run -q -p loadgen --bin crashtest -- 15 4000 3 3 kill
# A rolling restart (SIGTERM each replica in turn) under load: no request may fail.
TEST_DATABASE=postgres cargo run -q -p loadgen --bin crashtest -- 20 2000 3 3 term
# PostgreSQL itself stopped and started under load: quick 503s, recovery by itself.
cargo run -q -p loadgen --bin crashtest -- 20 5000 3 2 postgres

say "end-to-end tests in Chromium"
cargo leptos build --split
(cd end2end && npx playwright test)
say "crash safety: SIGKILL while orders run (short form; RELIABILITY.md has a longer run)"
cargo run -q -p loadgen --bin crashtest -- 12 2000 3

say "all tests passed"
