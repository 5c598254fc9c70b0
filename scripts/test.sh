#!/usr/bin/env bash
# The whole test suite, from a fresh machine: packages, Docker engine, test images, tests.
#
# A Docker engine is made ready (installed and started if need be, by scripts/engine.sh) unless
# the selected tests leave the engine out: a `-m` expression containing "not engine" and no
# "or" (e.g. `scripts/test.sh -m "not engine and not slow"`, the unit tests) runs without one and
# installs and starts nothing. The engine tests are the ones marked `engine` (see tests/conftest.py).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

needs_engine=1
previous=""
for arg in "$@"; do
    expression=""
    if [ "$previous" = "-m" ]; then
        expression="$arg"
    elif [[ "$arg" == -m?* ]]; then
        expression="${arg#-m}"
        expression="${expression#=}"
    fi
    if [[ "$expression" == *"not engine"* && "$expression" != *" or "* ]]; then
        needs_engine=0
    fi
    previous="$arg"
done

bash scripts/venv.sh
if [ "$needs_engine" = 1 ]; then
    bash scripts/engine.sh
    bash scripts/test_tools.sh
fi
exec .venv/bin/python -m pytest -q --durations=15 "$@"
