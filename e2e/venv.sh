# Sourced by the e2e scripts: `venv NAME TOOL REQUIREMENT` makes (once) a Python venv
# target/NAME-venv with REQUIREMENT from PyPI installed, installing python3-venv if Debian
# lacks it, and prints the venv's path. TOOL is the program that shows the install is done.
venv() {
  local root dir
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  dir="$root/target/$1-venv"
  if [ ! -x "$dir/bin/$2" ]; then
    if ! python3 -m venv "$dir" >/dev/null 2>&1; then
      rm -rf "$dir"
      local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
      $sudo apt-get install -y -q python3-venv >/dev/null
      python3 -m venv "$dir"
    fi
    "$dir/bin/pip" install -q --disable-pip-version-check "$3" >&2
  fi
  echo "$dir"
}
