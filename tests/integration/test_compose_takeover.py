"""Moving between Docker Compose 2.26 and stackup on the real engine, both ways.

A project Docker Compose created is taken over by ``stackup up``: its named volume (with the
user's data) and its network are reused in place, its containers replaced, and the plan says
why. The way back: what stackup creates carries Compose's labels, so ``docker compose ps`` lists
it and ``docker compose down`` removes it. Compose itself comes from Debian trixie through
``scripts/compose.sh``; without it these tests skip and quote why.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.conftest import ROOT
from tests.integration.helpers import LOOP, run, write

pytestmark = pytest.mark.engine

STACK = f"""
    services:
      app:
        image: busybox:local
        command: ["sh", "-c", "{LOOP}"]
        stop_grace_period: 1s
        volumes:
          - data:/data
      side:
        image: busybox:local
        command: ["sh", "-c", "{LOOP}"]
        stop_grace_period: 1s
    volumes:
      data: {{}}
"""


def _compose_answers() -> bool:
    try:
        return subprocess.run(["docker", "compose", "version"], capture_output=True,
                              timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def compose_cli(docker_engine: object) -> str:
    """``docker compose`` answers (installed by scripts/compose.sh if needed), or skip."""
    if not _compose_answers():
        done = subprocess.run(["bash", str(ROOT / "scripts" / "compose.sh")],
                              capture_output=True, text=True, timeout=300)
        if not _compose_answers():
            pytest.skip("Docker Compose v2 is not available and scripts/compose.sh could not "
                        f"install it: {(done.stdout + done.stderr).strip()[-800:]}")
    return "docker compose"


def compose(folder: Path, project: str, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["docker", "compose", "-p", project, *args], cwd=folder,
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"docker compose {' '.join(args)} exited {result.returncode}\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture()
def compose_project(project_name: str, client: docker.DockerClient) -> Iterator[str]:
    """The project name; afterwards whatever still carries Compose's label for it is removed
    too (the ``project_name`` fixture only knows stackup's label)."""
    yield project_name
    label = {"label": f"com.docker.compose.project={project_name}"}
    for container in client.containers.list(all=True, filters=label):
        container.remove(force=True, v=True)
    for network in client.networks.list(filters=label):
        network.remove()
    for volume in client.volumes.list(filters=label):
        volume.remove(force=True)


def _container(client: docker.DockerClient, name: str) -> docker.models.containers.Container:
    return client.containers.get(name)


def test_stackup_takes_over_a_compose_project_and_keeps_the_volume_data(
        tmp_path: Path, compose_cli: str, compose_project: str,
        client: docker.DockerClient) -> None:
    project = compose_project
    write(tmp_path, STACK)
    compose(tmp_path, project, "up", "-d")
    app = f"{project}-app-1"
    before = {c.name: c.id for c in client.containers.list(
        all=True, filters={"label": f"com.docker.compose.project={project}"})}
    assert set(before) == {app, f"{project}-side-1"}
    network_id = client.networks.get(f"{project}_default").id
    assert _container(client, app).exec_run(
        ["sh", "-c", "echo precious > /data/keep.txt"]).exit_code == 0

    plan = run(tmp_path, project, "plan").stdout
    assert "created by Docker Compose" in plan, plan
    assert f"volume {project}_data taken over from Docker Compose" in plan, plan
    assert f"network {project}_default taken over from Docker Compose" in plan, plan

    run(tmp_path, project, "up", "-d")
    after = {c.name: c for c in client.containers.list(
        all=True, filters={"label": f"io.stackup.project={project}"})}
    assert set(after) == set(before)  # same names, now stackup's
    for name, container in after.items():
        assert container.id != before[name], f"{name} was not replaced"
        assert container.status == "running"
    assert not [c for c in client.containers.list(all=True, filters={
        "label": f"com.docker.compose.project={project}"}) if c.name not in after]
    # The data survived, in the same volume, which still carries only Compose's labels.
    result = after[app].exec_run(["cat", "/data/keep.txt"])
    assert (result.exit_code, result.output) == (0, b"precious\n")
    volume = client.volumes.get(f"{project}_data")
    assert volume.attrs["Labels"]["com.docker.compose.project"] == project
    assert client.networks.get(f"{project}_default").id == network_id

    again = run(tmp_path, project, "plan", "--exit-code", check=False)
    assert again.returncode == 0, again.stdout + again.stderr  # converged: nothing to do

    run(tmp_path, project, "down")  # the taken-over network is the project's: removed
    assert not client.containers.list(all=True, filters={
        "label": f"com.docker.compose.project={project}"})
    assert not client.networks.list(names=[f"{project}_default"])
    assert client.volumes.get(f"{project}_data")  # volumes only with -v


def test_compose_ps_logs_and_down_work_on_a_stackup_project(
        tmp_path: Path, compose_cli: str, compose_project: str,
        client: docker.DockerClient) -> None:
    project = compose_project
    write(tmp_path, STACK.replace(LOOP, f"echo hello-from-$$HOSTNAME; {LOOP}"))
    run(tmp_path, project, "up", "-d")
    created = {c.name for c in client.containers.list(
        all=True, filters={"label": f"io.stackup.project={project}"})}
    assert created == {f"{project}-app-1", f"{project}-side-1"}

    listed = compose(tmp_path, project, "ps", "--format", "json").stdout
    rows = [json.loads(line) for line in listed.splitlines() if line.strip()]
    if len(rows) == 1 and isinstance(rows[0], list):
        rows = rows[0]
    assert {r["Name"] for r in rows} == created
    assert {r["Service"] for r in rows} == {"app", "side"}
    assert {r["State"] for r in rows} == {"running"}
    logs = compose(tmp_path, project, "logs", "--no-color", "app").stdout
    assert "hello-from-" in logs

    compose(tmp_path, project, "down")
    assert not client.containers.list(all=True, filters={
        "label": f"io.stackup.project={project}"})
    assert not client.networks.list(names=[f"{project}_default"])
    volume = client.volumes.get(f"{project}_data")  # Compose keeps volumes without -v
    assert volume.attrs["Labels"]["io.stackup.project"] == project
