#!/usr/bin/env bash
# Starts (once) a private PostgreSQL 15 cluster for `make bench`, sized for an event
# database on this machine, and prints its admin URL. Both access paths of the benchmark
# run against it in the same run, so ratios are fair; the settings are in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/ensure-postgres.sh >/dev/null   # installs PostgreSQL and ip4r when missing
port=55433
dir="$PWD/.pgbench"
source .ci/lib.sh
# IDEADB_BENCH_ZSTD_GB=N (root only): keep the cluster on a btrfs file system compressed with
# zstd, in an N GB image file (.pgbench.img), so that the scale run's 30,000,000 events
# (about 93 GB as PostgreSQL counts them) fit this disk. Sizes PostgreSQL reports are the
# same; only the disk holds fewer bytes. A cluster already in an uncompressed .pgbench is
# hidden while the image is mounted over it.
if [ -n "${IDEADB_BENCH_ZSTD_GB:-}" ] && ! mountpoint -q "$dir"; then
  command -v mkfs.btrfs >/dev/null || apt-get install -y -q btrfs-progs >/dev/null
  img="$PWD/.pgbench.img"
  [ -f "$img" ] || { truncate -s "${IDEADB_BENCH_ZSTD_GB}G" "$img" && mkfs.btrfs -q "$img"; }
  mkdir -p "$dir"
  mount -o loop,compress-force=zstd:1,noatime "$img" "$dir"
fi
# `restart`: stop the cluster and, as root, empty the kernel's page cache, so the next
# queries read from disk (the scale run's first pass after a restart).
if [ "${1:-}" = restart ]; then
  run_pg /usr/lib/postgresql/15/bin/pg_ctl -D "$dir/data" -m fast -w stop >&2
  sync
  [ "$(id -u)" = 0 ] && echo 3 > /proc/sys/vm/drop_caches
fi
start_cluster "$dir" "$port" -c shared_buffers=6GB -c effective_cache_size=16GB \
  -c maintenance_work_mem=1GB -c work_mem=64MB -c max_wal_size=16GB -c checkpoint_timeout=30min \
  -c wal_compression=on -c random_page_cost=1.1 -c effective_io_concurrency=200 \
  -c max_parallel_workers_per_gather=2
echo "postgres://postgres@127.0.0.1:$port/postgres"
