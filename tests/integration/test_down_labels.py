"""`down -p NAME` follows NAME's labels, not the folder's file; `up` replaces a container whose
network is gone (issue 19, item 3), on the real engine.

The sequence the issue reported: `stackup -p other down -v` run in a folder whose compose.yaml
is another project's removed only other's network, left its containers as "orphans" (with two
notes that contradicted each other while they ran), and every later `up -d` of other failed with
`network … not found`.
"""

from __future__ import annotations

import subprocess
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from stackup.adapters.docker import DockerEngine
from stackup.core.errors import EngineError
from tests.conftest import remove_project_resources
from tests.integration.helpers import LOOP, STACKUP

pytestmark = pytest.mark.engine

OTHER = f"""
    services:
      a:
        image: busybox:local
        command: ["sh", "-c", "{LOOP}"]
        volumes: ["data:/data", "/scratch"]
      b:
        image: busybox:local
        command: ["sh", "-c", "{LOOP}"]
        depends_on: [a]
    volumes:
      data: {{}}
"""


def stackup(folder: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`stackup ARGS` run in ``folder``, as a user types it (no -f: the folder's file)."""
    done = subprocess.run([STACKUP, "--progress", "plain", *args], cwd=folder,
                          capture_output=True, text=True, timeout=120)
    if check and done.returncode != 0:
        raise AssertionError(f"stackup {' '.join(args)} exited {done.returncode}\n"
                             f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}")
    return done


def folder(base: Path, name: str, text: str) -> Path:
    path = base / name
    path.mkdir()
    (path / "compose.yaml").write_text(textwrap.dedent(text))
    return path


def labelled(client: docker.DockerClient, project: str) -> dict[str, list[str]]:
    """What carries the project's label: container names (with their state), network and
    volume names."""
    label = {"label": f"io.stackup.project={project}"}
    api = client.api
    return {
        "containers": sorted(f"{c['Names'][0].lstrip('/')} {c['State']}"
                             for c in api.containers(all=True, filters=label)),
        "networks": sorted(n["Name"] for n in api.networks(filters=label)),
        "volumes": sorted(v["Name"] for v in (api.volumes(filters=label) or {}).get("Volumes")
                          or []),
    }


@pytest.fixture()
def second_project(docker_engine: DockerEngine) -> Iterator[str]:
    """The name of the folder's own project (a second one), cleaned up afterwards."""
    name = f"stk-{uuid.uuid4().hex[:10]}"
    yield name
    remove_project_resources(docker_engine, name)


@pytest.mark.parametrize("stopped", [False, True], ids=["running", "stopped"])
def test_down_p_in_another_projects_folder_removes_all_of_it(
        tmp_path: Path, project_name: str, second_project: str, client: docker.DockerClient,
        stopped: bool) -> None:
    a = folder(tmp_path, "a", OTHER)
    b = folder(tmp_path, "b", f"""
        name: {second_project}
        services:
          x:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
        """)
    stackup(a, "-p", project_name, "up", "-d")
    stackup(b, "up", "-d")
    if stopped:  # stopped containers used to let the network go, leaving them cut off
        stackup(a, "-p", project_name, "stop")
    down = stackup(b, "-p", project_name, "down", "-v")
    said = down.stdout + down.stderr
    assert labelled(client, project_name) == {"containers": [], "networks": [], "volumes": []}
    assert f"does not define services a, b of project {project_name}" in said
    assert "orphan" not in said and "outside the project" not in said
    # the folder's own project is untouched
    assert labelled(client, second_project) == {
        "containers": [f"{second_project}-x-1 running"],
        "networks": [f"{second_project}_default"], "volumes": []}
    # and the project comes back up from its own folder
    stackup(a, "-p", project_name, "up", "-d")
    assert labelled(client, project_name)["containers"] == [
        f"{project_name}-a-1 running", f"{project_name}-b-1 running"]


def test_up_replaces_a_container_whose_network_was_removed(
        tmp_path: Path, project_name: str, client: docker.DockerClient) -> None:
    a = folder(tmp_path, "a", OTHER)
    stackup(a, "-p", project_name, "up", "-d")
    stackup(a, "-p", project_name, "stop")
    network = f"{project_name}_default"
    client.api.remove_network(network)  # the engine allows it: only stopped containers use it
    # --no-recreate would start them into an error: refused before anything runs
    kept = stackup(a, "-p", project_name, "up", "-d", "--no-recreate", check=False)
    assert kept.returncode == 1
    assert f"cannot start container {project_name}-a-1: network {network} it is attached " \
           f"to is gone, and --no-recreate keeps it" in kept.stderr
    assert labelled(client, project_name)["networks"] == []
    plan = stackup(a, "-p", project_name, "plan").stdout
    assert f"network {network} is gone" in plan
    assert "Plan: 2 to replace, 1 to create network." in plan
    stackup(a, "-p", project_name, "up", "-d")
    assert labelled(client, project_name)["containers"] == [
        f"{project_name}-a-1 running", f"{project_name}-b-1 running"]
    assert "No changes" in stackup(a, "-p", project_name, "plan").stdout


def test_a_network_made_again_under_its_name_is_not_the_one_the_container_had(
        tmp_path: Path, project_name: str, client: docker.DockerClient) -> None:
    """The wedge the issue saw: the old `down` had removed the network under stopped
    containers, and `up` made the network again but only started them, every run failing."""
    a = folder(tmp_path, "a", OTHER)
    stackup(a, "-p", project_name, "up", "-d", "a")
    stackup(a, "-p", project_name, "stop")
    network = f"{project_name}_default"
    client.api.remove_network(network)
    stackup(a, "-p", project_name, "up", "-d", "--no-deps", "b")  # makes the network again
    plan = stackup(a, "-p", project_name, "plan").stdout
    assert f"network {network} was removed and made again" in plan
    up = stackup(a, "-p", project_name, "up", "-d")
    assert "not found" not in up.stderr
    assert labelled(client, project_name)["containers"] == [
        f"{project_name}-a-1 running", f"{project_name}-b-1 running"]


def test_orphans_keep_their_network_and_the_notes_agree(
        tmp_path: Path, project_name: str, client: docker.DockerClient) -> None:
    """Without -p the file names the project: a service gone from it leaves an orphan, which
    down keeps with the network it uses, saying so; nothing fails, nothing contradicts."""
    a = folder(tmp_path, "a", OTHER)
    stackup(a, "-p", project_name, "up", "-d")
    text = textwrap.dedent(OTHER)
    gone = text[text.index("  b:\n"):text.index("volumes:\n  data")]
    (a / "compose.yaml").write_text(text.replace(gone, ""))  # service b is gone from the file
    down = stackup(a, "-p", project_name, "-f", "compose.yaml", "down", "-v")
    said = down.stdout + down.stderr
    assert f"Found orphan containers ({project_name}-b-1) for this project. Run with " \
           f"--remove-orphans to remove them; network {project_name}_default, which they " \
           f"use, is kept." in said
    assert "outside the project" not in said and "FAILED" not in said
    assert labelled(client, project_name) == {
        "containers": [f"{project_name}-b-1 running"],
        "networks": [f"{project_name}_default"], "volumes": []}
    stackup(a, "-p", project_name, "-f", "compose.yaml", "down", "-v", "--remove-orphans")
    assert labelled(client, project_name) == {"containers": [], "networks": [], "volumes": []}


def test_a_network_in_use_names_its_users_as_the_project_s_or_outside_it(
        tmp_path: Path, project_name: str, client: docker.DockerClient,
        docker_engine: DockerEngine) -> None:
    """The engine's refusal to remove a network in use says whose containers use it, from
    their labels: never "outside the project" for the project's own."""
    a = folder(tmp_path, "a", OTHER)
    stackup(a, "-p", project_name, "up", "-d", "a")
    network = f"{project_name}_default"
    with pytest.raises(EngineError) as ours:
        docker_engine.remove_network(project_name, network)
    assert ours.value.summary == (f"cannot remove network {network}: containers of the project "
                                  f"still use it: {project_name}-a-1")
    outsider = client.api.create_container("busybox:local", command=["sh", "-c", LOOP],
                                           name=f"{project_name}-outsider")["Id"]
    try:
        client.api.connect_container_to_network(outsider, network)
        client.api.start(outsider)
        with pytest.raises(EngineError) as both:
            docker_engine.remove_network(project_name, network)
        assert both.value.summary == (
            f"cannot remove network {network}: containers of the project still use it: "
            f"{project_name}-a-1; containers outside the project still use it: "
            f"{project_name}-outsider")
    finally:
        client.api.remove_container(outsider, force=True)
