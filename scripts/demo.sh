#!/usr/bin/env bash
# The demo, from a fresh machine: packages, Docker engine, images, then a real stack up.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/venv.sh
bash scripts/engine.sh
stackup=".venv/bin/stackup"
file="examples/hello/compose.yaml"
port="${HELLO_PORT:-8080}"
export HELLO_PORT="$port"
echo "\$ stackup -f $file plan"
"$stackup" -f "$file" plan
echo "\$ stackup -f $file up --wait"
"$stackup" -f "$file" up --wait
echo "\$ curl http://127.0.0.1:$port/"
if command -v curl >/dev/null; then curl -fsS "http://127.0.0.1:$port/"
else .venv/bin/python -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$port/').read().decode())"; fi
echo "\$ stackup -f $file ps"
"$stackup" -f "$file" ps
echo
echo "Stop it with: $stackup -f $file down"
