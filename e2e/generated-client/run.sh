#!/usr/bin/env bash
# A client generated from openapi/openapi.json by a standard generator (openapi-python-client,
# from PyPI) runs a search and a show against a live server.
#   usage: run.sh BASE_URL API_KEY
# The generator is installed once into target/pyclient-venv; the client is generated afresh
# on every run, so it always matches the committed document.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$here/../venv.sh"
venv=$(venv pyclient openapi-python-client "openapi-python-client==0.29.1")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$venv/bin/openapi-python-client" generate --path "$root/openapi/openapi.json" \
  --output-path "$out/ideadb_client" --meta none >"$out/generate.log" 2>&1 \
  || { cat "$out/generate.log" >&2; exit 1; }
PYTHONPATH="$out" "$venv/bin/python" "$here/search_and_show.py" "$1" "$2"
