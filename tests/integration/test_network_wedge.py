"""Recreating 50 services and taking them down never wedges the project's network.

Docker Engine 20.10 keeps a count of each network's endpoints and sometimes loses track of it
when containers start while others stop: the network then cannot be removed ("has active
endpoints", no container attached) until dockerd restarts (docs/benchmarks.md, "`down` and the
"has active endpoints" network"). Each cycle here is the sequence that showed it, on a stack of
50 services (wide and layered in turn), each cycle a new project:

    up -d → up -d with every service changed (recreate all) → down -v

and counts the cycles whose network outlived ``down`` (at most one in ten may: the race is the
engine's, and Compose meets it too. With stops and starts begun one after another stackup ran
64 cycles without one, quiet and loaded, where the turns alone wedged 4 of 24 loaded cycles and
the code before them 4 of 6; docs/benchmarks.md). It runs against a dockerd of the test's
own (``own_engine.py``), never the shared engine: a wedged network stays until that dockerd
restarts, so after a wedge the test restarts it (and removes the network) before the next
cycle, and one wedge cannot cascade into the next. ``STACKUP_WEDGE_CYCLES`` sets the number of
cycles (default 10).
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from stackup.adapters.docker import DockerEngine
from tests.integration.helpers import LOOP, STACKUP
from tests.integration.own_engine import OwnEngine, own_engine_for

pytestmark = [pytest.mark.slow, pytest.mark.engine]

CYCLES = int(os.environ.get("STACKUP_WEDGE_CYCLES") or 10)
SERVICES = 50
LAYER = 10


@pytest.fixture()
def own_engine(docker_engine: DockerEngine, client: docker.DockerClient) -> Iterator[OwnEngine]:
    yield from own_engine_for(client, prefix="stk-wedge-")


def _stack(folder: Path, shape: str, generation: int) -> None:
    """50 services; ``layered``: each service of a layer of 10 depends on every one of the
    layer below. ``generation`` is in every service's environment (a change recreates all)."""
    lines = ["services:"]
    for i in range(SERVICES):
        lines += [f"  s{i:03d}:", "    image: busybox:local", "    pull_policy: never",
                  f"    command: [\"sh\", \"-c\", \"{LOOP}\"]",
                  "    stop_grace_period: 2s",
                  f"    environment: {{GEN: \"{generation}\"}}"]
        layer = i // LAYER
        if shape == "layered" and layer > 0:
            lines.append("    depends_on: [" + ", ".join(
                f"s{j:03d}" for j in range((layer - 1) * LAYER, layer * LAYER)) + "]")
    (folder / "compose.yaml").write_text("\n".join(lines) + "\n")


def _networks(own: docker.DockerClient, project: str) -> list[str]:
    return sorted(n.name for n in own.networks.list(filters={
        "label": f"io.stackup.project={project}"}))


def test_recreate_all_then_down_never_wedges_the_network(own_engine: OwnEngine,
                                                         tmp_path: Path) -> None:
    # projects on the test's own engine only (which goes with everything on it): no clean-up
    # on the shared engine, whose answers may be slow while this runs
    project_name = f"stk-wedge-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DOCKER_HOST": own_engine.host}
    own = docker.DockerClient(base_url=own_engine.host, timeout=120)
    wedged: list[str] = []
    seconds: dict[str, float] = {"up": 0.0, "recreate": 0.0, "down": 0.0}
    try:
        for cycle in range(CYCLES):
            shape = ("wide", "layered")[cycle % 2]
            project = f"{project_name}-{cycle}"

            def stackup(*args: str, project: str = project) -> subprocess.CompletedProcess[str]:
                return subprocess.run([STACKUP, "-p", project, "-f",
                                       str(tmp_path / "compose.yaml"), "--progress", "quiet",
                                       *args], env=env, capture_output=True, text=True,
                                      timeout=300, check=False)

            for phase, generation, args in (("up", 1, ("up", "-d")),
                                            ("recreate", 2, ("up", "-d")),
                                            ("down", None, ("down", "-v"))):
                if generation is not None:
                    _stack(tmp_path, shape, generation)
                start = time.monotonic()
                done = stackup(*args)
                seconds[phase] += time.monotonic() - start
                if phase != "down":
                    assert done.returncode == 0, (cycle, phase, done.stdout + done.stderr)
            left = _networks(own, project)
            assert not own.containers.list(all=True, filters={
                "label": f"io.stackup.project={project}"}), (cycle, "containers left")
            assert not own.volumes.list(filters={"label": f"io.stackup.project={project}"})
            if not left:
                assert done.returncode == 0, (cycle, done.stdout + done.stderr)
                continue
            output = done.stdout + done.stderr
            wedged.append(f"cycle {cycle} ({shape}): {', '.join(left)}: {output[-600:]}")
            # what `down` says about it: the network, the engine's lost count, the cure
            assert done.returncode == 1, output
            assert left[0] in output and "lost count of its endpoints" in output, output
            assert "Restarting dockerd" in output, output
            own.close()
            own_engine.restart()  # clears the count: the network can go, and no wedge cascades
            own = docker.DockerClient(base_url=own_engine.host, timeout=120)
            again = stackup("down", "-v")
            assert again.returncode == 0 and not _networks(own, project), again.stderr
    finally:
        own.close()
    timing = ", ".join(f"{phase} {total / CYCLES:.1f}s" for phase, total in seconds.items())
    # Before the turns 4 of 6 cycles wedged; with the turns alone 4 of 24 under heavy load; with
    # stops and starts paced 0 of 64, quiet and loaded (Compose 2.26 in the same runs: 2 of 64;
    # docs/benchmarks.md). One wedge in ten is the engine's rare race, and `down`'s handling of
    # it is checked above; two or more is the old pattern back.
    assert len(wedged) <= CYCLES // 10, \
        f"{len(wedged)} of {CYCLES} cycles wedged the network (mean {timing}):\n" \
        + "\n".join(wedged)
