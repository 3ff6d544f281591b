#!/usr/bin/env bash
# Builds and installs Citus 13.2.2 from ../shared/vendor/citus once (skipped while the
# installed version matches), starts (once) a coordinator and two workers on this machine
# (three PostgreSQL 15 clusters with ip4r on ports 55441-55443, in .citus/), joins them, and
# prints the coordinator's admin URL and, on a second line, the workers'. The node list is
# per database: the tests join the workers in each database they create (harness.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/ensure-postgres.sh >/dev/null   # PostgreSQL 15 and ip4r
version=13.2.2
vendor="$PWD/../shared/vendor/citus"
sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
source .ci/lib.sh

marker=/usr/share/postgresql/15/extension/citus.ideadb-build
if [ "$(cat "$marker" 2>/dev/null)" != "$version" ] || [ ! -f /usr/lib/postgresql/15/lib/citus.so ]; then
  echo "ensure-citus: building Citus $version from $vendor (2-3 minutes)" >&2
  sudo_ apt-get install -y -q --no-install-recommends postgresql-server-dev-15 liblz4-dev libzstd-dev libkrb5-dev \
    libselinux1-dev libssl-dev libicu-dev libreadline-dev libpam0g-dev uuid-dev autoconf flex >&2
  build=$(mktemp -d)
  tar xzf "$vendor/citus-$version.tar.gz" -C "$build"
  src="$build"   # the archive holds the tree itself, no top directory
  (cd "$src" && patch -p1 < "$vendor/pg15.20-have_createdb_privilege.patch" >&2 \
    && ./configure --without-libcurl >&2 && make -j2 with_llvm=no >&2 && sudo_ make install with_llvm=no >&2)
  echo "$version" | sudo_ tee "$marker" >/dev/null
  rm -rf "$build"
fi

dir="$PWD/.citus"
ports=(55441 55442 55443)
# Citus runs a maintenance daemon per database (each test makes one), a background worker:
# with PostgreSQL's 8 they ran out, and citus_update_node crashed the coordinator.
workers=64
for i in 0 1 2; do
  port=${ports[$i]}
  if pg_isready -q -h 127.0.0.1 -p "$port" &&
     [ "$(psql -qAt "postgres://postgres@127.0.0.1:$port/postgres" -c 'SHOW max_worker_processes')" != "$workers" ]; then
    echo "ensure-citus: restarting node $i with the current settings" >&2
    run_pg /usr/lib/postgresql/15/bin/pg_ctl -D "$dir/node$i/data" -w stop -m fast >&2
  fi
  start_cluster "$dir/node$i" "$port" -c shared_preload_libraries=citus -c max_connections=300 \
    -c max_worker_processes=$workers -c shared_buffers=512MB -c max_wal_size=4GB \
    -c citus.enable_create_database_propagation=on -c citus.shard_count=4
done
# The workers get ip4r and pg_trgm from the coordinator when they join (and refuse a
# CREATE EXTENSION of their own once they have the cluster's metadata).
for port in "${ports[@]}"; do
  psql -qAt "postgres://postgres@127.0.0.1:$port/postgres" -c "CREATE EXTENSION IF NOT EXISTS citus" >&2
done
coordinator="postgres://postgres@127.0.0.1:${ports[0]}/postgres"
psql -qAt "$coordinator" -c "CREATE EXTENSION IF NOT EXISTS ip4r; CREATE EXTENSION IF NOT EXISTS pg_trgm" >&2
psql -qAt "$coordinator" -c "SELECT citus_set_coordinator_host('127.0.0.1', ${ports[0]})" >/dev/null
for port in "${ports[@]:1}"; do
  psql -qAt "$coordinator" -c "SELECT citus_add_node('127.0.0.1', $port)" >/dev/null
done
# The coordinator's admin URL, then the workers' (space-separated).
echo "$coordinator"
echo "${ports[@]:1}" | sed 's|\([0-9]*\)|postgres://postgres@127.0.0.1:\1/postgres|g'

