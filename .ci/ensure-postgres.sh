#!/usr/bin/env bash
# Makes sure a PostgreSQL server with ip4r is reachable and prints an admin URL for it
# (a database where the caller may CREATE DATABASE). In order of preference:
#   1. $DATABASE_URL, if set;
#   2. the server on 127.0.0.1:5432;
#   3. a private cluster under .pgtmp/ (installing PostgreSQL 15 if it is missing).
# Installs postgresql-15-ip4r (and PostgreSQL itself) when missing. Messages go to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "ensure-postgres: $*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root to run: $*"; exit 1; fi
}

apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -q "${missing[@]}" >&2 || { as_root apt-get update -q >&2 && as_root apt-get install -y -q "${missing[@]}" >&2; }
}

apt_install postgresql-15-ip4r postgresql-client-15

if [ -n "${DATABASE_URL:-}" ]; then
  echo "$DATABASE_URL"; exit 0
fi
if pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "postgres://postgres@127.0.0.1:5432/postgres"; exit 0
fi

# A private cluster: initdb and postgres refuse to run as root, so it belongs to postgres.
apt_install postgresql-15
port=55432
dir="$PWD/.pgtmp"
if ! pg_isready -q -h 127.0.0.1 -p "$port"; then
  say "starting a private PostgreSQL cluster in $dir on port $port"
  run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    mkdir -p "$dir/data" "$dir/sock"
    [ "$(id -u)" = 0 ] && chown -R postgres: "$dir"
    run_pg /usr/lib/postgresql/15/bin/initdb -D "$dir/data" --auth=trust -U postgres >&2
  fi
  run_pg /usr/lib/postgresql/15/bin/pg_ctl -D "$dir/data" -l "$dir/log" -w \
    -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1" start >&2
fi
echo "postgres://postgres@127.0.0.1:$port/postgres"
