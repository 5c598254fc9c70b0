"""``pre_start`` hooks on the real engine, as Compose runs them: each hook in a container of its
own, with the service's volumes, in order, before the service's first container starts and only
when none of its replicas runs; a failing hook keeps the service from starting, its container is
kept for inspection and ``down`` removes it.
"""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from tests.integration.helpers import LOOP, ids, run, write

pytestmark = pytest.mark.engine


def _logs(client: docker.DockerClient, name: str) -> str:
    return str(client.containers.get(name).logs().decode())


def test_hooks_run_in_order_and_the_service_sees_what_they_wrote(
        tmp_path: Path, project_name: str, client: docker.DockerClient) -> None:
    write(tmp_path, f"""
        services:
          db:
            image: busybox:local
            command: ["sh", "-c", "cat /data/steps; {LOOP}"]
            stop_grace_period: 1s
            volumes: [data:/data]
            environment: {{FROM_SERVICE: svc}}
            pre_start:
              - command: ["sh", "-c", "echo first-$$FROM_SERVICE > /data/steps"]
              - command: ["sh", "-c", "echo second-$$STEP >> /data/steps"]
                environment: {{STEP: two}}
              - command: ["sh", "-c", "echo third >> /data/steps; echo hook says hi"]
          cache:
            image: busybox:local
            command: ["sh", "-c", "cat /anon/mark; {LOOP}"]
            stop_grace_period: 1s
            volumes: ["/anon"]
            pre_start:
              - command: ["sh", "-c", "echo in-the-anonymous-volume > /anon/mark"]
        volumes:
          data: {{}}
    """)
    shown = run(tmp_path, project_name, "plan").stdout
    assert "pre_start hook 1 of service db" in shown
    assert "pre_start hook 3 of service db" in shown
    up = run(tmp_path, project_name, "up", "-d")
    assert "hook says hi" in up.stdout + up.stderr
    for _ in range(50):
        if "third" in _logs(client, f"{project_name}-db-1"):
            break
    assert _logs(client, f"{project_name}-db-1") == "first-svc\nsecond-two\nthird\n"
    # the hook shares the replica's volumes, anonymous ones too (as Compose's VolumesFrom)
    for _ in range(50):
        if "anonymous" in _logs(client, f"{project_name}-cache-1"):
            break
    assert _logs(client, f"{project_name}-cache-1") == "in-the-anonymous-volume\n"
    # the hook containers are gone once they succeeded
    assert sorted(ids(client, project_name)) == [f"{project_name}-cache-1",
                                                 f"{project_name}-db-1"]

    # a replica runs: a second up (and a scale-up) runs no hook
    again = run(tmp_path, project_name, "up", "-d", "--scale", "db=2")
    assert "pre_start" not in again.stdout + again.stderr
    db2 = client.containers.get(f"{project_name}-db-2")
    for _ in range(50):
        if "third" in db2.logs().decode():
            break
    assert db2.logs().decode() == "first-svc\nsecond-two\nthird\n"

    # a recreate (no replica left running) runs them again
    run(tmp_path, project_name, "up", "-d", "--force-recreate", "--scale", "db=1", "db")
    for _ in range(50):
        if _logs(client, f"{project_name}-db-1").count("third") == 1:
            break
    assert _logs(client, f"{project_name}-db-1") == "first-svc\nsecond-two\nthird\n"


def test_a_failing_hook_keeps_the_service_from_starting_and_down_cleans_up(
        tmp_path: Path, project_name: str, client: docker.DockerClient) -> None:
    write(tmp_path, f"""
        services:
          db:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            stop_grace_period: 1s
            pre_start:
              - command: ["sh", "-c", "echo ran > /dev/null"]
              - command: ["sh", "-c", "echo cannot migrate >&2; exit 3"]
              - command: ["sh", "-c", "echo never"]
          web:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            stop_grace_period: 1s
            depends_on: [db]
    """)
    failed = run(tmp_path, project_name, "up", "-d", check=False)
    text = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "pre_start hook 2 of service db exited with code 3" in text
    assert "cannot migrate" in text
    assert "never" not in text
    kept = f"{project_name}-db-pre_start-2"
    assert f"{kept} is kept for inspection" in text
    found = client.containers.get(kept)
    assert found.attrs["State"]["ExitCode"] == 3
    assert found.labels["io.stackup.project"] == project_name
    for name in (f"{project_name}-db-1", f"{project_name}-web-1"):
        assert client.containers.get(name).status == "created"  # never started
    assert f"{project_name}-db-pre_start-3" not in ids(client, project_name)

    # fixed: the next up removes the kept container, runs every hook and starts the services
    compose = tmp_path / "compose.yaml"
    compose.write_text(compose.read_text().replace("exit 3", "exit 0"))
    run(tmp_path, project_name, "up", "-d")
    assert sorted(ids(client, project_name)) == [f"{project_name}-db-1",
                                                 f"{project_name}-web-1"]
    assert client.containers.get(f"{project_name}-db-1").status == "running"
    compose.write_text(compose.read_text().replace("exit 0", "exit 3"))
    run(tmp_path, project_name, "up", "-d", "--force-recreate", "db", check=False)
    assert kept in ids(client, project_name)

    run(tmp_path, project_name, "down")
    assert ids(client, project_name) == {}
