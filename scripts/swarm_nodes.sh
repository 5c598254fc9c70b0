#!/usr/bin/env bash
# Several swarm nodes on one machine: one dockerd per network namespace, joined into one swarm.
#
#   bash scripts/swarm_nodes.sh up [N]   # N nodes (default 3): node1 manager, the others workers
#   bash scripts/swarm_nodes.sh env      # prints DOCKER_HOST for the manager
#   bash scripts/swarm_nodes.sh status   # the swarm's nodes (fails when it is not up)
#   bash scripts/swarm_nodes.sh down     # leaves, stops and removes everything it made
#
# Each node is a network namespace stk-nodeI with one veth on the bridge stkswarm0
# (10.213.0.1/24 on the host, 10.213.0.1I in the namespace) and its own dockerd (own data root,
# exec root, socket, containerd, iptables) started in it with nsenter --net (not `ip netns exec`,
# which remounts /sys and hides the cgroup mounts dockerd needs). The machine's own engine is not
# touched: no swarm mode on it, no change to its networks. Images reach the nodes with
# `docker save | docker load` (no registry needed); busybox:local is loaded on each node.
# See docs/swarm-testing.md for the design, its limits and the figures measured here.
set -euo pipefail

BRIDGE=stkswarm0
NET=10.213.0
STATE=/var/lib/stackup-nodes
RUN=/run/stackup-nodes
REGISTRY=${SWARM_NODE_REGISTRY:-$NET.1:5000}  # an http registry on the bridge the nodes may use
IMAGES=(${SWARM_NODE_IMAGES:-busybox:local})

sock() { echo "unix://$RUN/node$1.sock"; }
node_docker() { local i=$1; shift; docker -H "$(sock "$i")" "$@"; }

up() {
  local n=${1:-3}
  mkdir -p "$STATE" "$RUN"
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$NET.1/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
  fi
  # bridged traffic between the nodes passes the host's FORWARD chain (policy DROP under docker)
  iptables -C DOCKER-USER -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null ||
    iptables -I DOCKER-USER -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
  for i in $(seq 1 "$n"); do
    local ns=stk-node$i
    if ! ip netns list | grep -qw "$ns"; then
      ip netns add "$ns"
      ip link add "stkn$i" type veth peer name eth0 netns "$ns"
      ip link set "stkn$i" master "$BRIDGE" up
      ip -n "$ns" addr add "$NET.1$i/24" dev eth0
      ip -n "$ns" link set eth0 up
      ip -n "$ns" link set lo up
      ip -n "$ns" route add default via "$NET.1"
      # no name server is reachable from a node: refuse DNS at once, so that a node's pull
      # attempt for a local-only image fails fast (else ~20 s per task start)
      ip netns exec "$ns" iptables -I OUTPUT -p udp --dport 53 -j REJECT
      ip netns exec "$ns" iptables -I OUTPUT -p tcp --dport 53 -j REJECT --reject-with tcp-reset
    fi
    if ! node_docker "$i" info >/dev/null 2>&1; then
      mkdir -p "$STATE/node$i" "$RUN/node$i"
      # its own UTS namespace too, so that each node has its own hostname (node ls, ps)
      nsenter --net="/var/run/netns/$ns" unshare --uts sh -c "hostname $ns && exec setsid \
        dockerd --data-root '$STATE/node$i' --exec-root '$RUN/node$i' \
        --pidfile '$RUN/node$i.pid' -H '$(sock "$i")' --cgroup-parent 'stackup-node$i' \
        --insecure-registry '$REGISTRY'" >"$RUN/node$i.log" 2>&1 </dev/null &
    fi
  done
  for i in $(seq 1 "$n"); do
    for _ in $(seq 1 150); do node_docker "$i" info >/dev/null 2>&1 && break; sleep 0.2; done
    node_docker "$i" info >/dev/null || { tail -20 "$RUN/node$i.log"; exit 1; }
  done
  if [ "$(node_docker 1 info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
    node_docker 1 swarm init --advertise-addr "$NET.11" --listen-addr "$NET.11:2377" >/dev/null
  fi
  local token
  token=$(node_docker 1 swarm join-token -q worker)
  for i in $(seq 2 "$n"); do
    if [ "$(node_docker "$i" info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
      node_docker "$i" swarm join --token "$token" --advertise-addr "$NET.1$i" "$NET.11:2377" >/dev/null
    fi
  done
  for image in "${IMAGES[@]}"; do
    for i in $(seq 1 "$n"); do
      node_docker "$i" image inspect "$image" >/dev/null 2>&1 || docker save "$image" | node_docker "$i" load -q >/dev/null
    done
  done
  node_docker 1 node ls
}

down() {
  for pidfile in "$RUN"/node*.pid; do
    [ -e "$pidfile" ] || continue
    local i=${pidfile##*/node}; i=${i%.pid}
    node_docker "$i" swarm leave --force >/dev/null 2>&1 || true
    kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  for pidfile in "$RUN"/node*.pid; do
    [ -e "$pidfile" ] || continue  # dockerd removes it when it exits
    local pid
    pid=$(cat "$pidfile" 2>/dev/null) || continue
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  for ns in $(ip netns list | awk '/^stk-node/ {print $1}'); do ip netns del "$ns"; done
  iptables -D DOCKER-USER -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null || true
  ip link del "$BRIDGE" 2>/dev/null || true
  # a stopped dockerd leaves its overlay2 and netns mounts behind only if it crashed
  grep -o " $STATE[^ ]*\| $RUN[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$STATE" "$RUN"
}

case "${1:-}" in
  up) up "${2:-3}" ;;
  down) down ;;
  env) echo "export DOCKER_HOST=$(sock 1)" ;;
  status) node_docker 1 node ls ;;
  *) echo "usage: $0 up [N] | env | status | down" >&2; exit 64 ;;
esac
