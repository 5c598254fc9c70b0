#!/usr/bin/env bash
# Make .venv with stackup and its test tools installed; fast when it is already current.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "stackup: creating .venv" >&2
  "$python" -m venv .venv
fi
stamp=".venv/.stackup-installed"
want="$(cat pyproject.toml scripts/venv.sh | sha256sum | cut -d" " -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "stackup: installing packages into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  # compat mode: a plain path entry, not an import hook that costs ~20 ms at every start
  .venv/bin/python -m pip install -q -e '.[test,agent]' --config-settings editable_mode=compat
  echo "$want" > "$stamp"
fi
