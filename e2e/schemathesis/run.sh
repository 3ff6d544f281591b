#!/usr/bin/env bash
# schemathesis (from PyPI) against a live server: every operation and method of the served
# OpenAPI document, with all of its checks, once per key given.
#   usage: run.sh BASE_URL MAX_EXAMPLES EVENT_ID KEY [KEY ...]
# EVENT_ID names a stored event for the show and download operations.
# Prints one line per key, "<key's index> <requests sent>", and exits non-zero when any
# check failed or any request errored; schemathesis' own report goes to stderr.
# It is installed once into target/schemathesis-venv.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../venv.sh"
venv=$(venv schemathesis st "schemathesis==4.32.5")
base=$1 examples=$2
export IDEADB_EVENT_ID=$3
shift 3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# schemathesis keeps a cache in its working directory; it goes with the rest.
cd "$out"
status=0
i=0
for key in "$@"; do
  i=$((i + 1))
  if ! SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$here" "$venv/bin/st" --config-file "$here/schemathesis.toml" run "$base/api/openapi.json" --url "$base" -H "Authorization: $key" \
      --checks all --max-examples "$examples" --seed 1 --workers 2 --no-color \
      --report ndjson --report-ndjson-path "$out/events-$i.ndjson" >&2; then
    status=1
  fi
  requests=$(grep -o '"request": *{' "$out/events-$i.ndjson" | wc -l)
  echo "$i $requests"
done
exit $status
