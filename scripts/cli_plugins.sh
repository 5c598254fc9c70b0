#!/usr/bin/env bash
# Install docker CLI plugins from Debian 13 (trixie): `compose` (Docker Compose v2) and/or
# `buildx` (BuildKit's client), into ${DOCKER_CONFIG:-~/.docker}/cli-plugins/.
#
#   scripts/cli_plugins.sh compose buildx
#
# stackup never depends on either. Tests use Compose to check that stackup takes over a project
# Compose created (and the way back), and buildx to build with BuildKit; they skip, quoting this
# script's message, when a plugin cannot be had. Idempotent: a plugin that already answers
# (`docker compose version`) is left alone.
#
# How: Debian 12 packages neither (only the Python docker-compose 1.29); trixie's
# `docker-compose` and `docker-buildx` packages hold Go binaries that run on Debian 12 too. The
# .debs are downloaded with apt-get through a throw-away sources list, package lists and cache in
# a temporary folder (the system's apt configuration is left untouched), unpacked with
# `dpkg -x`, and the plugin binary is copied into place.
#
# Exit status: 0 when every requested plugin answers, 1 otherwise (the reason on stderr).
set -uo pipefail

say() { printf 'cli_plugins.sh: %s\n' "$*" >&2; }

PLUGIN_DIR=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
MIRROR=${STACKUP_TRIXIE_MIRROR:-http://deb.debian.org/debian}
[ $# -gt 0 ] || set -- compose

missing=()
for plugin in "$@"; do
    case $plugin in
        compose | buildx) ;;
        *) say "unknown plugin '$plugin' (expected compose or buildx)"; exit 2 ;;
    esac
    if docker "$plugin" version >/dev/null 2>&1; then
        say "$plugin already installed: $(docker "$plugin" version 2>/dev/null | head -n 1)"
    else
        missing+=("$plugin")
    fi
done
[ ${#missing[@]} -gt 0 ] || exit 0

fail() { say "$*"; exit 1; }
command -v docker >/dev/null 2>&1 || fail "no docker client on PATH"
command -v apt-get >/dev/null 2>&1 || fail "apt-get not found (not Debian?)"
command -v dpkg >/dev/null 2>&1 || fail "dpkg not found"

tmp=$(mktemp -d) || fail "cannot make a temporary folder"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/parts" "$tmp/deb" "$tmp/root"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
signed=""
[ -r "$keyring" ] && signed="[signed-by=$keyring]"
printf 'deb %s %s trixie main\n' "$signed" "$MIRROR" >"$tmp/sources.list"
apt_opts=(
    -o "Dir::Etc::sourcelist=$tmp/sources.list" -o "Dir::Etc::sourceparts=$tmp/parts"
    -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache"
    -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" -o "APT::Get::List-Cleanup=0"
    -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root"
)
say "fetching the trixie package lists"
if ! apt-get "${apt_opts[@]}" update -qq >"$tmp/update.log" 2>&1; then
    tail -n 5 "$tmp/update.log" >&2
    fail "apt-get update of the trixie suite failed"
fi
mkdir -p "$PLUGIN_DIR" || fail "cannot create $PLUGIN_DIR"
status=0
for plugin in "${missing[@]}"; do
    package=docker-$plugin
    rm -rf "$tmp/deb"/* "$tmp/root"/*
    if ! (cd "$tmp/deb" && apt-get "${apt_opts[@]}" download "$package" >"$tmp/dl.log" 2>&1); then
        tail -n 5 "$tmp/dl.log" >&2
        say "apt-get download $package failed"; status=1; continue
    fi
    deb=$(ls "$tmp"/deb/"$package"_*.deb 2>/dev/null | head -n 1)
    if [ -z "$deb" ] || ! dpkg -x "$deb" "$tmp/root"; then
        say "cannot unpack $package"; status=1; continue
    fi
    binary=$tmp/root/usr/libexec/docker/cli-plugins/docker-$plugin
    if [ ! -x "$binary" ]; then
        say "$(basename "$deb") holds no usr/libexec/docker/cli-plugins/docker-$plugin"
        status=1; continue
    fi
    target=$PLUGIN_DIR/docker-$plugin
    install -m 0755 "$binary" "$target.tmp.$$" && mv -f "$target.tmp.$$" "$target" \
        || { say "cannot install $target"; status=1; continue; }
    if version=$(docker "$plugin" version 2>&1); then
        say "installed $target from $(basename "$deb"): $(printf '%s' "$version" | head -n 1)"
    else
        rm -f "$target"
        say "docker-$plugin from $(basename "$deb") does not run here: $version"; status=1
    fi
done
exit $status
