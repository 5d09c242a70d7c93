#!/usr/bin/env bash
# realname developer entry point.
#   ./dev.sh serve   run the whole service (database, worker, web) and print the URL
#   ./dev.sh test    lint, type-check and run the full test suite
# It finds Python 3.12+, installs uv if missing, syncs the locked dependencies into .venv, then
# hands over to devstack/stack.py.
set -euo pipefail
cd "$(dirname "$0")"

find_python() {
  local candidate
  # Newest first among the pyenv versions, so a machine with several picks the latest.
  for candidate in "${REALNAME_PYTHON:-}" python3.14 python3.13 python3.12 python3 python \
      "$HOME"/.pyenv/versions/3.14*/bin/python3 "$HOME"/.pyenv/versions/3.13*/bin/python3 \
      "$HOME"/.pyenv/versions/3.12*/bin/python3 /opt/homebrew/bin/python3.1[234]; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || [ -x "$candidate" ] || continue
    if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
      command -v "$candidate" 2>/dev/null || echo "$candidate"
      return 0
    fi
  done
  return 1
}

if ! PYTHON=$(find_python); then
  cat >&2 <<'MSG'
realname needs Python 3.12 or newer (Django 6 does not run on older versions), and none was found.
Install one, then run this again:
  Debian/Ubuntu: sudo apt install python3.12      macOS: brew install python@3.13
  pyenv:         pyenv install 3.13
Or point to an installed interpreter: REALNAME_PYTHON=/path/to/python3.13 ./dev.sh ...
MSG
  exit 2
fi

UV=$(command -v uv || true)
if [ -z "$UV" ] && [ -x "$HOME/.local/bin/uv" ]; then UV="$HOME/.local/bin/uv"; fi
if [ -z "$UV" ]; then
  echo "[realname] installing uv into .local/bootstrap (one time)" >&2
  "$PYTHON" -m venv .local/bootstrap
  .local/bootstrap/bin/python -m pip install --quiet --disable-pip-version-check uv
  UV=.local/bootstrap/bin/uv
fi

export UV_PYTHON="$PYTHON" UV_PYTHON_DOWNLOADS=never
"$UV" sync --frozen --quiet
exec .venv/bin/python -m devstack.stack "$@"
