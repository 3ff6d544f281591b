#!/usr/bin/env bash
# Starts (once) a private PostgreSQL 15 cluster for `make bench`, sized for an event
# database on this machine, and prints its admin URL. Both access paths of the benchmark
# run against it in the same run, so ratios are fair; the settings are in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/ensure-postgres.sh >/dev/null   # installs PostgreSQL and ip4r when missing
port=55433
dir="$PWD/.pgbench"
run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if ! pg_isready -q -h 127.0.0.1 -p "$port"; then
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    mkdir -p "$dir/data" "$dir/sock"
    [ "$(id -u)" = 0 ] && chown -R postgres: "$dir"
    run_pg /usr/lib/postgresql/15/bin/initdb -D "$dir/data" --auth=trust -U postgres >&2
  fi
  echo "bench-postgres: starting a tuned PostgreSQL cluster in $dir on port $port" >&2
  run_pg /usr/lib/postgresql/15/bin/pg_ctl -D "$dir/data" -l "$dir/log" -w -o "-p $port -k $dir/sock \
    -c listen_addresses=127.0.0.1 -c shared_buffers=6GB -c effective_cache_size=16GB \
    -c maintenance_work_mem=1GB -c work_mem=64MB -c max_wal_size=16GB -c checkpoint_timeout=30min \
    -c wal_compression=on -c random_page_cost=1.1 -c effective_io_concurrency=200 \
    -c max_parallel_workers_per_gather=2" start >&2
fi
echo "postgres://postgres@127.0.0.1:$port/postgres"
