"""Engine 20.10 lets two racing creates give two networks one name; after that every call by the
name fails as ambiguous. Observe keeps one (the one in use, else the oldest) and reports the
others; `down` removes every one of the project's; `up` removes an empty duplicate."""

from __future__ import annotations

import threading
from pathlib import Path

import docker
import pytest

from stackup.adapters.docker import DockerEngine
from stackup.adapters.docker.resource_specs import network_create_args
from stackup.core.model import Network
from stackup.core.observed import DuplicateNetwork
from tests.integration.helpers import LOOP, run, write

pytestmark = pytest.mark.engine


def _stack(folder: Path) -> None:
    write(folder, f"""
        services:
          web:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            stop_grace_period: 1s
    """)


def _race(api: docker.APIClient, project: str, creates: int = 2) -> list[str]:
    """Create the project's default network from several threads at once, as racing runs do
    (the engine's duplicate check is not atomic; skip it to get the pair every time)."""
    args = network_create_args(project, Network("default", f"{project}_default"))
    args["check_duplicate"] = False
    ids: list[str] = []
    barrier = threading.Barrier(creates)

    def create() -> None:
        barrier.wait()
        ids.append(api.create_network(**args)["Id"])

    threads = [threading.Thread(target=create) for _ in range(creates)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return ids


def _named(client: docker.DockerClient, name: str) -> list[str]:
    return sorted(n.id for n in client.networks.list(names=[name]) if n.name == name)


def test_observe_keeps_the_network_in_use_and_down_removes_both(
        tmp_path: Path, project_name: str, client: docker.DockerClient,
        docker_engine: DockerEngine) -> None:
    _stack(tmp_path)
    run(tmp_path, project_name, "up", "-d")
    name = f"{project_name}_default"
    (used,) = _named(client, name)
    args = network_create_args(project_name, Network("default", name))
    args["check_duplicate"] = False
    extra = client.api.create_network(**args)["Id"]
    assert len(_named(client, name)) == 2

    observed = docker_engine.observe(project_name, networks=[name])
    assert observed.networks[name].network_id == used
    assert observed.duplicate_networks == (
        DuplicateNetwork(name, extra, kept_id=used, project=project_name, containers=()),)
    assert run(tmp_path, project_name, "ps").returncode == 0

    run(tmp_path, project_name, "down")
    assert _named(client, name) == []


def test_down_removes_both_twins_of_a_race(
        tmp_path: Path, project_name: str, client: docker.DockerClient) -> None:
    """The state two racing `up`s used to leave: two empty networks of the project's name."""
    _stack(tmp_path)
    _race(client.api, project_name)
    name = f"{project_name}_default"
    assert len(_named(client, name)) == 2
    done = run(tmp_path, project_name, "down")
    assert "ambiguous" not in done.stderr
    assert _named(client, name) == []


def test_up_heals_a_duplicate_then_converges(
        tmp_path: Path, project_name: str, client: docker.DockerClient) -> None:
    _stack(tmp_path)
    _race(client.api, project_name)
    name = f"{project_name}_default"
    up = run(tmp_path, project_name, "up", "-d", check=False)
    assert up.returncode == 0, up.stderr
    assert "duplicate" in up.stderr  # the note says what was removed and why
    (kept,) = _named(client, name)
    container = client.containers.get(f"{project_name}-web-1")
    assert container.status == "running"
    assert container.attrs["NetworkSettings"]["Networks"][name]["NetworkID"] == kept
    assert run(tmp_path, project_name, "plan", "--exit-code").returncode == 0  # converged
    run(tmp_path, project_name, "down")
    assert _named(client, name) == []
