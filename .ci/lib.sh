# Shared by the scripts that start private PostgreSQL 15 clusters (bench, Citus); sourced.

# Runs a command as postgres when we are root (initdb and pg_ctl refuse root).
run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# start_cluster DIR PORT [SETTINGS...]: starts the cluster in DIR on 127.0.0.1:PORT unless it
# is running, creating it first when DIR holds none; SETTINGS are `-c name=value` options.
start_cluster() {
  local dir=$1 port=$2
  shift 2
  pg_isready -q -h 127.0.0.1 -p "$port" && return 0
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    mkdir -p "$dir/data" "$dir/sock"
    [ "$(id -u)" = 0 ] && chown -R postgres: "$dir"
    run_pg /usr/lib/postgresql/15/bin/initdb -D "$dir/data" --auth=trust -U postgres >&2
  fi
  echo "starting a PostgreSQL cluster in $dir on port $port" >&2
  run_pg /usr/lib/postgresql/15/bin/pg_ctl -D "$dir/data" -l "$dir/log" -w \
    -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 $*" start >&2
}
