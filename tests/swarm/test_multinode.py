"""Three swarm nodes on this one machine (scripts/swarm_nodes.sh: one dockerd per network
namespace): a built image is pushed to the registry its name names and every node pulls and
serves it; a service on a worker reaches it by name over the overlay; a rebuilt image rolls out
to all nodes. The machine's own engine is not touched. Skipped, with the reason, where the
harness cannot run (not root, no network namespaces or VXLAN)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.integration.helpers import STACKUP
from tests.registry_server import _Handler, _Store

pytestmark = [pytest.mark.slow, pytest.mark.swarm]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "swarm_nodes.sh"
BRIDGE_IP = "10.213.0.1"
MANAGER = "unix:///run/stackup-nodes/node1.sock"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def nodes(docker_engine: object) -> Iterator[str]:
    """(registry address) with three nodes up; torn down afterwards if this fixture made them."""
    if os.geteuid() != 0 or sys.platform != "linux":
        pytest.skip("the multi-node harness needs root on Linux (network namespaces)")
    ours = subprocess.run(["bash", str(SCRIPT), "status"], capture_output=True).returncode != 0
    registry = f"{BRIDGE_IP}:{_free_port()}"
    if ours:
        done = subprocess.run(["bash", str(SCRIPT), "up", "3"], capture_output=True, text=True,
                              timeout=240, env={**os.environ, "SWARM_NODE_REGISTRY": registry})
        if done.returncode != 0:
            subprocess.run(["bash", str(SCRIPT), "down"], capture_output=True, timeout=120)
            message = f"the multi-node harness did not start:\n{done.stdout}{done.stderr}"[-2000:]
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
    else:
        pytest.skip("swarm nodes from an earlier run are up (scripts/swarm_nodes.sh down)")
    try:
        yield registry
    finally:
        subprocess.run(["bash", str(SCRIPT), "down"], capture_output=True, timeout=120)


@pytest.fixture()
def registry(nodes: str) -> Iterator[str]:
    host, port = nodes.split(":")
    httpd = ThreadingHTTPServer((host, int(port)), _Handler)
    httpd.daemon_threads = True
    httpd.store = _Store()  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield nodes
    finally:
        httpd.shutdown()
        httpd.server_close()


def run(folder: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STACKUP_TARGET": "swarm", "DOCKER_HOST": MANAGER}
    done = subprocess.run([STACKUP, "-p", "multi", "--progress", "plain", *args], cwd=folder,
                          capture_output=True, text=True, env=env, timeout=150)
    if check and done.returncode != 0:
        raise AssertionError(f"stackup {' '.join(args)} exited {done.returncode}\n"
                             f"{done.stdout}\n{done.stderr}")
    return done


def get(url: str) -> str:
    deadline = time.monotonic() + 10
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                return reply.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_a_built_image_reaches_every_node(tmp_path: Path, registry: str) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("version one\n")
    (tmp_path / "Dockerfile").write_text("FROM busybox:local\nCOPY site /www\n")
    port = _free_port()
    image = f"{registry}/multi/site:1"
    loop = ("trap 'exit 0' TERM; while :; do timeout 2 wget -q -O - http://site/; "
            "sleep 1 & wait $$!; done")
    (tmp_path / "compose.yaml").write_text(f"""
services:
  site:
    image: {image}
    build: .
    command: ["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 80 -h /www & wait"]
    ports: [{{target: 80, published: {port}, mode: host}}]
    deploy: {{mode: global, endpoint_mode: dnsrr, update_config: {{monitor: 1s}}}}
  probe:
    image: {image}
    command: ["sh", "-c", "{loop}"]
    deploy:
      endpoint_mode: dnsrr
      placement: {{constraints: ["node.role == worker"]}}
    depends_on: [site]
""")
    plan = run(tmp_path, "plan").stdout
    assert f"^ push    {image}  3 nodes pull it" in plan
    try:
        run(tmp_path, "up", "--wait")
        for node in (1, 2, 3):  # each node pulled the pushed image and serves it
            assert get(f"http://10.213.0.1{node}:{port}/") == "version one\n"
        # the probe runs on a worker and reaches site by its name over the overlay network
        deadline = time.monotonic() + 10
        while "version one" not in (logs := run(tmp_path, "logs", "probe").stdout):
            assert time.monotonic() < deadline, logs
            time.sleep(0.5)
        assert run(tmp_path, "plan", "--exit-code", check=False).returncode == 0
        (tmp_path / "site" / "index.html").write_text("version two\n")
        run(tmp_path, "up", "--build", "--wait")
        for node in (1, 2, 3):
            assert get(f"http://10.213.0.1{node}:{port}/") == "version two\n"
        assert run(tmp_path, "plan", "--exit-code", check=False).returncode == 0
    finally:
        run(tmp_path, "down", check=False)
