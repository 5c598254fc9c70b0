"""Compose keys that older stacks rely on, applied on the real engine: links (aliases),
volumes_from, the HostConfig keys (runtime, cpuset, oom_score_adj, mac_address ...), GPU requests
reaching the engine, lifecycle hooks run with exec, and keys this engine is too old for refused
with the key and both API versions.
"""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from stackup.adapters.docker import DockerEngine
from stackup.adapters.docker.hooks import run_hooks
from stackup.core.errors import OperationFailed
from stackup.loader.loader import LoadOptions, load_project
from tests.integration.helpers import LOOP, run, write

pytestmark = pytest.mark.engine


def test_links_volumes_from_and_host_keys(tmp_path: Path, project_name: str,
                                          client: docker.DockerClient) -> None:
    write(tmp_path, f"""
        services:
          db:
            image: busybox:local
            command: ["sh", "-c", "echo shared-by-db > /data/from-db; {LOOP}"]
            volumes: ["/data"]
            stop_grace_period: 1s
          web:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            stop_grace_period: 1s
            links: ["db:database"]
            volumes_from: ["db:ro"]
            runtime: runc
            cpuset: "0"
            oom_score_adj: 250
            mac_address: 02:42:ac:11:00:42
    """)
    run(tmp_path, project_name, "up", "-d")
    web = client.containers.get(f"{project_name}-web-1")
    host = web.attrs["HostConfig"]
    assert (host["Runtime"], host["CpusetCpus"], host["OomScoreAdj"]) == ("runc", "0", 250)
    assert host["VolumesFrom"] == [f"{project_name}-db-1:ro"]
    networks = web.attrs["NetworkSettings"]["Networks"]
    assert networks[f"{project_name}_default"]["MacAddress"] == "02:42:ac:11:00:42"
    # volumes_from: db's anonymous volume, read-only here
    for _ in range(50):
        found = web.exec_run(["cat", "/data/from-db"])
        if found.exit_code == 0:
            break
    assert found.output == b"shared-by-db\n"
    assert web.exec_run(["sh", "-c", "echo x > /data/nope"]).exit_code != 0
    # links: the alias resolves to db's address
    db_ip = client.containers.get(f"{project_name}-db-1").attrs["NetworkSettings"]["Networks"][
        f"{project_name}_default"]["IPAddress"]
    lookup = web.exec_run(["nslookup", "database"]).output.decode()
    assert db_ip in lookup, lookup


def test_gpu_requests_reach_the_engine(tmp_path: Path, project_name: str) -> None:
    """No GPU here: the engine's own refusal proves the device request was sent."""
    write(tmp_path, f"""
        services:
          trainer:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            gpus: all
    """)
    done = run(tmp_path, project_name, "up", "-d", check=False)
    assert done.returncode == 1
    assert "trainer" in done.stderr and "device driver" in done.stderr, done.stderr


def test_a_key_needing_a_newer_engine_names_key_and_versions(
        tmp_path: Path, project_name: str, docker_engine: DockerEngine) -> None:
    if docker_engine.api_version >= "1.44":
        pytest.skip(f"this engine speaks API {docker_engine.api_version}: start_interval works")
    write(tmp_path, f"""
        services:
          app:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            healthcheck:
              test: ["CMD", "true"]
              start_interval: 1s
    """)
    done = run(tmp_path, project_name, "up", "-d", check=False)
    assert done.returncode == 1
    assert ("services.app.healthcheck.start_interval needs Docker engine API 1.44 or later; "
            f"this engine speaks API {docker_engine.api_version}") in done.stderr, done.stderr


def test_post_start_and_pre_stop_hooks_run_in_the_container(
        tmp_path: Path, project_name: str, docker_engine: DockerEngine,
        client: docker.DockerClient) -> None:
    write(tmp_path, f"""
        services:
          app:
            image: busybox:local
            command: ["sh", "-c", "mkdir -p /tmp && chmod 1777 /tmp; {LOOP}"]
            stop_grace_period: 1s
            post_start:
              - command: ["sh", "-c", "echo started as $$(id -u) in $$PWD with $$GREETING > /tmp/hook"]
                user: "1000"
                working_dir: /bin
                environment:
                  GREETING: hello
            pre_stop:
              - command: ["sh", "-c", "echo stopping; exit 3"]
    """)
    run(tmp_path, project_name, "up", "-d")
    project = load_project(LoadOptions(files=(str(tmp_path / "compose.yaml"),),
                                       project_name=project_name, cwd=str(tmp_path))).project
    service = project.services["app"]
    container = client.containers.get(f"{project_name}-app-1")
    for _ in range(50):
        if container.exec_run(["test", "-k", "/tmp"]).exit_code == 0:
            break
    lines: list[str] = []
    assert run_hooks(docker_engine, project_name, container.id, service, "post_start",
                     on_output=lines.append) == 1
    assert container.exec_run(["cat", "/tmp/hook"]).output == \
        b"started as 1000 in /bin with hello\n"
    with pytest.raises(OperationFailed) as failed:
        run_hooks(docker_engine, project_name, container.id, service, "pre_stop")
    assert "pre_stop hook of service app exited with code 3" in str(failed.value)
    assert "stopping" in failed.value.detail
    container.stop(timeout=1)
    assert run_hooks(docker_engine, project_name, container.id, service, "pre_stop") == 0
