#!/usr/bin/env bash
# Install Docker Compose v2 as a docker CLI plugin, for side-by-side benchmarks only.
#
# stackup never depends on Compose. This script exists so that bench/harness.py can time
# `docker compose` on the same machine, against the same engine. It is idempotent, and it
# exits 0 with a message when it cannot install Compose (the harness then leaves the Compose
# columns empty).
#
# How: Debian 12 only packages the old Python docker-compose 1.29; Debian 13 (trixie) packages
# Compose v2 as a Go binary that runs on Debian 12 too. We download that one .deb with apt-get
# using a throw-away sources list, package lists and cache in a temporary folder, so the
# system's apt configuration and lists are left untouched, unpack it with `dpkg -x`, and copy the
# plugin to ~/.docker/cli-plugins/.
set -uo pipefail

say() { printf 'compose_v2.sh: %s\n' "$*" >&2; }
give_up() { say "$*; the benchmark will run without Compose columns"; exit 0; }

PLUGIN_DIR=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
PLUGIN=$PLUGIN_DIR/docker-compose
MIRROR=${COMPOSE_V2_MIRROR:-http://deb.debian.org/debian}

if docker compose version >/dev/null 2>&1; then
    say "already installed: $(docker compose version 2>/dev/null)"
    exit 0
fi
command -v docker >/dev/null 2>&1 || give_up "no docker client on PATH"
command -v apt-get >/dev/null 2>&1 || give_up "apt-get not found (not Debian?)"
command -v dpkg >/dev/null 2>&1 || give_up "dpkg not found"

tmp=$(mktemp -d) || give_up "cannot make a temporary folder"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/parts" "$tmp/deb" "$tmp/root"

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
if [ -r "$keyring" ]; then
    signed="[signed-by=$keyring]"
else
    signed=""
fi
printf 'deb %s %s trixie main\n' "$signed" "$MIRROR" >"$tmp/sources.list"

apt_opts=(
    -o "Dir::Etc::sourcelist=$tmp/sources.list"
    -o "Dir::Etc::sourceparts=$tmp/parts"
    -o "Dir::State::Lists=$tmp/lists"
    -o "Dir::Cache=$tmp/cache"
    -o "Dir::Cache::pkgcache="
    -o "Dir::Cache::srcpkgcache="
    -o "APT::Get::List-Cleanup=0"
    -o "Debug::NoLocking=1"
)

say "fetching the trixie package lists into $tmp"
if ! apt-get "${apt_opts[@]}" update -qq >"$tmp/update.log" 2>&1; then
    tail -n 5 "$tmp/update.log" >&2
    give_up "apt-get update of the trixie suite failed"
fi

say "downloading the docker-compose package from trixie"
if ! (cd "$tmp/deb" && apt-get "${apt_opts[@]}" download docker-compose >"$tmp/download.log" 2>&1); then
    tail -n 5 "$tmp/download.log" >&2
    give_up "apt-get download docker-compose failed"
fi
deb=$(ls "$tmp"/deb/docker-compose_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || give_up "no docker-compose .deb was downloaded"
say "got $(basename "$deb")"

dpkg -x "$deb" "$tmp/root" || give_up "dpkg -x failed"
binary=$tmp/root/usr/libexec/docker/cli-plugins/docker-compose
[ -x "$binary" ] || give_up "the package holds no usr/libexec/docker/cli-plugins/docker-compose (not Compose v2?)"

mkdir -p "$PLUGIN_DIR" || give_up "cannot create $PLUGIN_DIR"
install -m 0755 "$binary" "$PLUGIN.tmp.$$" && mv -f "$PLUGIN.tmp.$$" "$PLUGIN" \
    || give_up "cannot install $PLUGIN"

if version=$(docker compose version 2>&1); then
    say "installed $PLUGIN: $version"
else
    rm -f "$PLUGIN"
    give_up "the plugin does not run here: $version"
fi
exit 0
