#!/usr/bin/env bash
# Installs, when missing, what building and testing the browser app needs: the wasm32 target,
# trunk, wasm-bindgen-cli (the version Cargo.lock pins), wasm-opt from npm's binaryen (never
# Debian's: its output fails in the browser), and Debian's Chromium with ChromeDriver.
# Prints the directory to put first on PATH (wasm-opt). Messages go to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "ensure-frontend: $*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
has_version() { command -v "$1" >/dev/null && "$1" --version 2>/dev/null | grep -qF "$2"; }

rustup target list --installed | grep -qx wasm32-unknown-unknown || { say "adding the wasm32 target"; rustup target add wasm32-unknown-unknown >&2; }
has_version trunk 0.21.14 || { say "installing trunk (about 9 min)"; cargo install trunk --version 0.21.14 --locked >&2; }
wb=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
# Without --locked: one of its locked dependencies is missing from the registry mirror.
has_version wasm-bindgen "$wb" || { say "installing wasm-bindgen-cli $wb"; cargo install wasm-bindgen-cli --version "=$wb" >&2; }
tools="$PWD/target/tools"
if ! [ -x "$tools/node_modules/.bin/wasm-opt" ]; then
  say "installing wasm-opt (npm binaryen@132)"
  mkdir -p "$tools" && npm install --prefix "$tools" --no-save --no-audit --no-fund binaryen@132 >&2
fi
missing=()
for p in chromium chromium-driver; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -q "${missing[@]}" >&2 || { as_root apt-get update -q >&2 && as_root apt-get install -y -q "${missing[@]}" >&2; }
fi
echo "$tools/node_modules/.bin"
