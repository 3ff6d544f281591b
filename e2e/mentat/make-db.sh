#!/usr/bin/env bash
# Fills a Mentat database with Mentat's own code: mentat-ng 2.15.4 from PyPI, installed once
# into target/mentat-venv with the pinned dependencies of ../shared/spec/mentat-peer.md.
# Usage: make-db.sh DBNAME MESSAGES.json [PORT]  (the database on 127.0.0.1, port 5432 by
# default; MESSAGES a JSON array of IDEA messages; prints how many
# Mentat stored and, on stderr, each one it refused).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dir="$root/target/mentat-venv"
if [ ! -f "$dir/.installed" ]; then
  rm -rf "$dir"
  if ! python3 -m venv "$dir" >/dev/null 2>&1; then
    rm -rf "$dir"
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get install -y -q python3-venv >/dev/null
    python3 -m venv "$dir"
  fi
  pip=("$dir/bin/pip" install -q --disable-pip-version-check)
  "${pip[@]}" --no-deps mentat-ng==2.15.4 >&2
  "${pip[@]}" -r "$root/../shared/spec/mentat-peer-requirements.txt" >&2
  touch "$dir/.installed"
fi
exec "$dir/bin/python" "$here/make_db.py" "$@"
