#!/usr/bin/env bash
# Install Docker Compose v2 (2.26, from Debian trixie) as a docker CLI plugin, for the tests that
# check stackup takes over a project Compose created and the way back. See cli_plugins.sh.
# Exit status 0 when `docker compose version` answers, 1 (with the reason on stderr) otherwise.
exec bash "$(dirname "$0")/cli_plugins.sh" compose
