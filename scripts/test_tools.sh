#!/usr/bin/env bash
# The programs some engine tests drive, from Debian's packages when missing: tmux (the progress
# view and `exec -it` seen on a terminal), git (the GitOps agent's repositories), jq (the plan
# policy example) and chromium (the agent's status page, opened headless). Needs root on
# Debian to install; otherwise it says what is missing and the tests that need it skip.
set -euo pipefail
missing=()
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v jq >/dev/null 2>&1 || missing+=(jq)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "test_tools.sh: missing ${missing[*]} (need root on Debian to install them)" >&2
    exit 0
fi
echo "test_tools.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq "${missing[@]}" >&2
