#!/usr/bin/env bash
# Prints a PostgreSQL URL for the test suite. Uses the server answering on
# 127.0.0.1:5432 when there is one; otherwise installs Debian's postgresql and
# starts a throwaway cluster (trust auth, port 55432) in a temporary folder.
# Never prints nothing: the PostgreSQL suite must not be skipped silently.
set -euo pipefail

default_url="postgres://postgres@127.0.0.1:5432/postgres"
if [ -n "${TEST_POSTGRES_URL:-}" ]; then
  echo "$TEST_POSTGRES_URL"
  exit 0
fi
if command -v psql >/dev/null && psql "$default_url" -Atqc 'select 1' >/dev/null 2>&1; then
  echo "$default_url"
  exit 0
fi

echo "no PostgreSQL on 127.0.0.1:5432; starting a throwaway cluster" >&2
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq postgresql >&2
fi
bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
dir=$(mktemp -d /tmp/delivery-pg.XXXXXX)
port=55432
run_as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres "$dir"; runuser -u postgres -- "$@"; else "$@"; fi
}
run_as_postgres "$bin/initdb" -D "$dir/data" -A trust -U postgres >&2
run_as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >&2
echo "postgres://postgres@127.0.0.1:$port/postgres"
