#!/usr/bin/env bash
# The whole test suite, from a fresh machine: packages, Docker engine, test images, tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/venv.sh
bash scripts/engine.sh
exec .venv/bin/python -m pytest -q "$@"
