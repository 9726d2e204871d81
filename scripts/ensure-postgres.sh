#!/usr/bin/env bash
# Make sure a PostgreSQL server answers for the tests, and print its URL.
#
# 1. The machine's own server on 127.0.0.1:5432 (trust auth), when one answers.
# 2. Otherwise: install Debian's postgresql (if missing) and start a throw-away cluster
#    under .pgtest/ on port 54329, owned by the postgres user, trust auth, loopback only.
# The URL printed on the last line is what the tests use (TEST_DATABASE_URL).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

if [ -n "${TEST_DATABASE_URL:-}" ]; then
  echo "$TEST_DATABASE_URL"; exit 0
fi
probe_port=${PG_PROBE_PORT:-5432}  # set to an unused port to exercise the fallback
if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p "$probe_port" -t 3; then
  echo "postgresql://postgres@127.0.0.1:$probe_port/test"; exit 0
fi

echo "no PostgreSQL on 127.0.0.1:5432: starting a throw-away cluster" >&2
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
data="$here/.pgtest/data"
port=54329
if ! [ -f "$data/PG_VERSION" ]; then
  mkdir -p "$data"
  chown -R postgres "$here/.pgtest" 2>/dev/null || true
  runuser -u postgres -- "$bin/initdb" -D "$data" -A trust -U postgres >&2
fi
if ! "$bin/pg_isready" -q -h 127.0.0.1 -p $port; then
  runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$here/.pgtest/log" -w \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" start >&2
fi
runuser -u postgres -- "$bin/psql" -h 127.0.0.1 -p $port -U postgres -tAc \
  "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 \
  || runuser -u postgres -- "$bin/createdb" -h 127.0.0.1 -p $port -U postgres test
echo "postgresql://postgres@127.0.0.1:$port/test"
