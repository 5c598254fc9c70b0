"""Issue 12, "measured, not claimed": a client requests http://web/ every 100 ms while `up`
replaces a changed 3-replica web, start-first (examples/rolling-update): no failed request.
The stop-first and Compose counts are measured by bench/rollout_downtime.py (a benchmark, not a
test: how many requests fail during a downtime depends on the machine's speed)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import docker
import pytest

from tests.integration.helpers import STACKUP

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "rolling-update" / "compose.yaml"
PROBE = ("trap 'exit 0' TERM; while :; do "
         "if timeout 3 wget -q -O /dev/null http://web/; then echo ok; else echo FAIL; fi; "
         "sleep 0.1; done")


def failed_requests(tmp_path: Path, project: str, client: docker.DockerClient,
                    stack: str) -> tuple[int, int]:
    path = tmp_path / "compose.yaml"
    path.write_text(stack)

    def up(version: str) -> None:
        done = subprocess.run([STACKUP, "-p", project, "-f", str(path), "up", "-d", "--wait",
                               "--wait-timeout", "120"], capture_output=True, text=True,
                              timeout=300, env={**os.environ, "VERSION": version})
        assert done.returncode == 0, done.stderr

    up("v1")
    probe = client.containers.run("busybox:local", ["sh", "-c", PROBE], detach=True,
                                  name=f"{project}-probe", network=f"{project}_default",
                                  labels={"io.stackup.project": project})
    try:
        time.sleep(1.5)
        up("v2")
        time.sleep(1.0)
        lines = probe.logs().decode().split()
    finally:
        probe.remove(force=True)
    served = {c.attrs["Config"]["Env"][0] for c in client.containers.list(
        filters={"label": [f"io.stackup.project={project}", "io.stackup.service=web"]})}
    assert len(served) == 1 and "VERSION=v2" in served.pop()
    return lines.count("FAIL"), len(lines)


def example_without_client() -> str:
    text = EXAMPLE.read_text().replace("name: rolling\n", "")
    return text[: text.index("  client:")]


@pytest.mark.slow
def test_start_first_replaces_three_replicas_without_a_failed_request(
        tmp_path: Path, project_name: str, client: docker.DockerClient) -> None:
    failed, total = failed_requests(tmp_path, project_name, client, example_without_client())
    assert total > 50
    assert failed == 0, f"{failed} of {total} requests failed during a start-first rollout"
