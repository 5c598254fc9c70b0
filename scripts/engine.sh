#!/usr/bin/env bash
# Make sure a Docker engine answers and the local test images exist.
#
# Idempotent: uses an engine that already answers (honours DOCKER_HOST); otherwise, as root on
# Debian, installs docker.io + busybox-static when missing and starts dockerd in the background.
# Then builds the images tests and examples use (no registry is reachable on these machines).
set -euo pipefail

DOCKERD_LOG=${STACKUP_DOCKERD_LOG:-/tmp/stackup-dockerd.log}
DOCKERD_PID=/var/run/docker.pid
SOCKET=unix:///var/run/docker.sock

say() { printf 'engine.sh: %s\n' "$*" >&2; }

engine_answers() { docker info >/dev/null 2>&1; }

install_packages() {
    if command -v dockerd >/dev/null 2>&1 && [ -x /bin/busybox ]; then
        return 0
    fi
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        say "no Docker engine answers and cannot install one (need root on Debian)"
        exit 1
    fi
    say "installing docker.io, busybox-static, iptables"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq docker.io busybox-static iptables >&2
}

clear_stale_pidfile() {
    [ -f "$DOCKERD_PID" ] || return 0
    local pid
    pid=$(cat "$DOCKERD_PID" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
        && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = dockerd ]; then
        return 0  # a live dockerd owns it; it may still be starting up
    fi
    say "removing stale $DOCKERD_PID (pid ${pid:-?} is gone)"
    rm -f "$DOCKERD_PID"
}

dockerd_alive() {
    local pid
    pid=$(cat "$DOCKERD_PID" 2>/dev/null || true)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
        && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = dockerd ]
}

start_engine() {
    if [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST}" != "$SOCKET" ]; then
        say "DOCKER_HOST=$DOCKER_HOST does not answer; not starting a local dockerd for it"
        exit 1
    fi
    install_packages
    clear_stale_pidfile
    if ! dockerd_alive; then
        say "starting dockerd (log: $DOCKERD_LOG)"
        setsid dockerd --host "$SOCKET" >"$DOCKERD_LOG" 2>&1 </dev/null &
    else
        say "dockerd is running but not answering yet; waiting"
    fi
    local i
    for i in $(seq 1 120); do
        if engine_answers; then
            say "engine answers after ~$((i / 2)) s"
            return 0
        fi
        sleep 0.5
    done
    say "dockerd did not answer within 60 s; last log lines:"
    tail -n 30 "$DOCKERD_LOG" >&2 || true
    exit 1
}

# build_static_image NAME:TAG BINARY [EXTRA DOCKERFILE LINES...]
# Builds an image FROM scratch holding one static busybox-like binary, unless it exists.
build_static_image() {
    local ref=$1 binary=$2
    shift 2
    if docker image inspect "$ref" >/dev/null 2>&1; then
        say "image $ref present"
        return 0
    fi
    if [ ! -x "$binary" ]; then
        say "cannot build $ref: $binary is missing (apt-get install busybox-static)"
        exit 1
    fi
    local ctx out
    ctx=$(mktemp -d)
    cp "$binary" "$ctx/busybox"
    {
        printf 'FROM scratch\n'
        printf 'COPY busybox /bin/busybox\n'
        printf 'RUN ["/bin/busybox", "--install", "-s", "/bin"]\n'
        local line
        for line in "$@"; do printf '%s\n' "$line"; done
        printf 'CMD ["/bin/sh"]\n'
    } >"$ctx/Dockerfile"
    say "building $ref"
    if ! out=$(DOCKER_BUILDKIT=0 docker build -q -t "$ref" "$ctx" 2>&1); then
        printf '%s\n' "$out" >&2
        rm -rf "$ctx"
        say "building $ref failed"
        exit 1
    fi
    rm -rf "$ctx"
}

main() {
    if engine_answers; then
        say "engine answers${DOCKER_HOST:+ at $DOCKER_HOST}"
    else
        start_engine
    fi
    build_static_image busybox:local /bin/busybox
}

main "$@"
