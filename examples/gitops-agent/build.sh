#!/usr/bin/env bash
# Build the agent image (default tag stackup-agent:local) without a container registry:
#   1. the base: a minimal Debian 12 with python3, venv, git, ssh and CA certificates, made by
#      mmdebstrap from Debian's packages and imported (skipped when the image exists);
#   2. the wheels of stackup (this checkout) and of its dependencies, with the `agent` extra;
#   3. `docker build` of the Dockerfile beside this script.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tag="${1:-stackup-agent:local}"
base="${BASE:-stackup-agent-base:bookworm}"
python="${PYTHON:-python3}"
if ! docker image inspect "$base" >/dev/null 2>&1; then
  command -v mmdebstrap >/dev/null || apt-get install -y -q mmdebstrap >/dev/null
  echo "building the base image $base with mmdebstrap" >&2
  mmdebstrap --quiet --variant=apt \
    --include=python3,python3-venv,git,openssh-client,ca-certificates \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    bookworm - | docker import - "$base" >/dev/null
fi
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
"$python" -m pip wheel -q --wheel-dir "$context/wheels" "$root[agent]"
cp "$here/Dockerfile" "$context/"
docker build -q --build-arg "BASE=$base" -t "$tag" "$context"
echo "built $tag" >&2
