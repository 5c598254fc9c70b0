"""Preflight on the real engine: `up` finds what it can know in advance, lists every problem with
its file and line in one run, exits 1 and creates nothing; an engine error during a run still
names the service and the `ports:` entry's line.

"Nothing created" is counted on the engine: the containers, networks and volumes that carry the
project's name or label, before and after (other runs share the engine, so not its totals).
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from stackup.adapters.docker import DockerEngine
from tests.conftest import remove_project_resources
from tests.integration.helpers import LOOP, free_port, run, write

pytestmark = pytest.mark.engine


def _made(client: docker.DockerClient, project: str) -> tuple[int, int, int]:
    """(containers, networks, volumes) of the project on the engine."""
    label = {"label": f"com.docker.compose.project={project}"}
    containers = {c["Id"] for c in client.api.containers(all=True, filters=label)}
    containers |= {c["Id"] for c in client.api.containers(all=True, filters={"name": project})}
    networks = {n["Id"] for n in client.api.networks(filters={"name": project})}
    volumes = (client.api.volumes(filters={"name": project}) or {}).get("Volumes") or []
    return len(containers), len(networks), len(volumes)


@pytest.fixture()
def stranger(client: docker.DockerClient) -> Iterator[str]:
    """A container outside any project (a name another `up` must not take)."""
    name = f"stk-stranger-{uuid.uuid4().hex[:8]}"
    client.api.create_container("busybox:local", ["sleep", "60"], name=name)
    yield name
    client.api.remove_container(name, force=True)


def test_missing_image_name_conflict_and_bind_source_listed_at_once(
        tmp_path: Path, project_name: str, client: docker.DockerClient, stranger: str) -> None:
    write(tmp_path, f"""
        services:
          ok:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
          gone:
            image: stackup-preflight-missing:{project_name}
          named:
            image: busybox:local
            container_name: {stranger}
          data:
            image: busybox:local
            volumes:
              - ./created-by-compose:/short
              - type: bind
                source: ./not-there
                target: /data
                bind:
                  create_host_path: false
    """)
    before = _made(client, project_name)
    result = run(tmp_path, project_name, "up", "-d", check=False)
    assert result.returncode == 1, result.stderr
    assert _made(client, project_name) == before == (0, 0, 0)
    compose = tmp_path / "compose.yaml"
    text = result.stderr
    assert "3 problems found before starting; nothing was changed" in text
    assert f"{compose}:7: services.gone.image: image stackup-preflight-missing:{project_name} " \
           f"is not present and cannot be pulled" in text
    assert f"{compose}:10: services.named.container_name: container name {stranger} is taken " \
           f"by a container outside any project" in text
    assert f"{compose}:15: services.data.volumes[1]: bind source {tmp_path}/not-there does " \
           f"not exist (create_host_path: false)" in text
    assert "/short" not in text  # the short syntax creates its source, as Compose does
    assert not (tmp_path / "created-by-compose").exists()


def test_busy_ports_by_a_process_and_by_another_projects_container(
        tmp_path: Path, project_name: str, client: docker.DockerClient) -> None:
    other = f"stk-other-{uuid.uuid4().hex[:8]}"
    by_container, by_process = free_port(), free_port()
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    write(other_dir, f"""
        services:
          holder:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            ports: ["127.0.0.1:{by_container}:80"]
    """)
    write(tmp_path, f"""
        services:
          web:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            ports:
              - "127.0.0.1:{by_process}:80"
              - target: 81
                published: "{by_container}"
                host_ip: 127.0.0.1
          free:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
    """)
    listener = socket.socket()
    try:
        run(other_dir, other, "up", "-d")
        listener.bind(("127.0.0.1", by_process))
        listener.listen()
        before = _made(client, project_name)
        result = run(tmp_path, project_name, "up", "-d", check=False)
        assert result.returncode == 1, result.stderr
        assert _made(client, project_name) == before == (0, 0, 0)
        compose = tmp_path / "compose.yaml"
        assert "2 problems found before starting" in result.stderr
        assert f"{compose}:7: services.web.ports[0]: host port 127.0.0.1:{by_process}/tcp is " \
               f"already in use by another process on this machine" in result.stderr
        assert f"{compose}:8: services.web.ports[1]: host port 127.0.0.1:{by_container}/tcp " \
               f"is already published by container {other}-holder-1 of project {other}" \
            in result.stderr
    finally:
        listener.close()
        engine = DockerEngine.from_env()
        try:
            remove_project_resources(engine, other)
        finally:
            engine.close()
    # the port free again, the same file comes up
    run(tmp_path, project_name, "up", "-d")
    run(tmp_path, project_name, "down", "-t", "1")


def test_own_running_containers_are_no_conflict(tmp_path: Path, project_name: str) -> None:
    """A second `up` (and a recreate) of a stack whose container holds the port passes."""
    port = free_port()
    write(tmp_path, f"""
        services:
          web:
            image: busybox:local
            container_name: {project_name}-web
            command: ["sh", "-c", "{LOOP}"]
            environment: {{VERSION: "1"}}
            ports: ["127.0.0.1:{port}:80"]
    """)
    run(tmp_path, project_name, "up", "-d")
    assert "Nothing to change" in run(tmp_path, project_name, "up", "-d").stderr
    (tmp_path / "compose.yaml").write_text(
        (tmp_path / "compose.yaml").read_text().replace('"1"', '"2"'))
    run(tmp_path, project_name, "up", "-d")
    run(tmp_path, project_name, "down", "-t", "1")


def _on_one_port(port: int) -> tuple[str, str]:
    """Service a publishing ``port``, and service b (after a) publishing it too."""
    a = f"""
        services:
          a:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            ports: ["127.0.0.1:{port}:80"]
    """
    return a, a.rstrip() + f"""
          b:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            depends_on: [a]
            ports:
              - target: 81
                published: "{port}"
                host_ip: 127.0.0.1
    """


def test_two_services_on_one_host_port_are_found_before_anything_is_made(
        tmp_path: Path, project_name: str, client: docker.DockerClient) -> None:
    """Compose makes the first service's container and then fails at the second's start;
    stackup names both entries' clash at once and makes nothing."""
    port = free_port()
    write(tmp_path, _on_one_port(port)[1])
    result = run(tmp_path, project_name, "up", "-d", check=False)
    assert result.returncode == 1
    assert (f"{tmp_path / 'compose.yaml'}:12: services.b.ports[0]: host port "
            f"127.0.0.1:{port}/tcp is also published by service a") in result.stderr
    assert _made(client, project_name) == (0, 0, 0)


def test_a_port_error_during_the_run_names_the_ports_entry(
        tmp_path: Path, project_name: str) -> None:
    """A running service of the project holds the host port a new service asks for (preflight
    counts the project's own containers as no conflict, as a recreate reuses their ports): the
    engine refuses the new one, and the summary points at its `ports:` entry."""
    port = free_port()
    only_a, both = _on_one_port(port)
    write(tmp_path, only_a)
    run(tmp_path, project_name, "up", "-d")
    write(tmp_path, both)
    result = run(tmp_path, project_name, "up", "-d", check=False)
    assert result.returncode == 1
    assert "service b: start" in result.stderr
    assert f"at {tmp_path / 'compose.yaml'}:12:" in result.stderr
    assert "(services.b.ports[0])" in result.stderr
