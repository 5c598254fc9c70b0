"""`up` flags Compose users reach for, and the global `--dry-run`, on the real engine."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from tests.integration.helpers import LOOP, run, write

STACK = f"""
    services:
      db:
        image: busybox:local
        command: ["sh", "-c", "{LOOP}"]
        volumes: ["/scratch"]
      api:
        image: busybox:local
        command: ["sh", "-c", "{LOOP}"]
        environment: {{V: "${{V:-1}}"}}
        depends_on: [db]
      app:
        build: {{context: ./app}}
"""


def states(client: docker.DockerClient, project: str) -> dict[str, str]:
    found = client.containers.list(all=True, filters={"label": f"io.stackup.project={project}"})
    return {c.name.removeprefix(f"{project}-"): c.status for c in found}


def test_no_start_no_deps_and_dry_run(tmp_path: Path, project_name: str,
                                      client: docker.DockerClient) -> None:
    write(tmp_path, STACK)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM busybox:local\n")
    # --dry-run walks the plan and changes nothing
    dry = run(tmp_path, project_name, "--dry-run", "up", "-d", "api")
    assert "create" in dry.stderr and "dry run: nothing was changed" in dry.stderr
    assert states(client, project_name) == {}
    # --no-start creates without starting
    run(tmp_path, project_name, "up", "--no-start", "api")
    assert states(client, project_name) == {"db-1": "created", "api-1": "created"}
    # --no-deps starts the named service only
    run(tmp_path, project_name, "up", "-d", "--no-deps", "api")
    assert states(client, project_name) == {"db-1": "created", "api-1": "running"}
    # --no-build: a build-only service whose image was never built is an error naming it
    # (one with an image: is pulled instead, as Compose does), and nothing is made
    failed = run(tmp_path, project_name, "up", "-d", "--no-build", "app", check=False)
    assert failed.returncode == 1
    assert f"image {project_name}-app not found locally and --no-build" in failed.stderr
    assert "app-1" not in states(client, project_name)


def test_renew_anon_volumes(tmp_path: Path, project_name: str,
                            client: docker.DockerClient) -> None:
    write(tmp_path, STACK)
    run(tmp_path, project_name, "up", "-d", "db")

    def scratch() -> str:
        mounts = client.containers.get(f"{project_name}-db-1").attrs["Mounts"]
        return next(m["Name"] for m in mounts if m["Destination"] == "/scratch")

    first = scratch()
    run(tmp_path, project_name, "up", "-d", "--force-recreate", "db")
    assert scratch() == first  # a replacement keeps the anonymous volume (as Compose)
    run(tmp_path, project_name, "up", "-d", "--force-recreate", "-V", "db")
    assert scratch() != first


def test_compose_ignore_orphans(tmp_path: Path, project_name: str,
                                client: docker.DockerClient,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """COMPOSE_IGNORE_ORPHANS=true: `up`, `plan` and `down` say nothing about orphan containers
    (and leave them; `down` then cannot remove the network they use); with --remove-orphans it
    is a usage error, as in Compose."""
    service = f"""
          {{name}}:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            stop_grace_period: 1s"""
    write(tmp_path, "services:" + service.format(name="kept") + service.format(name="gone"))
    run(tmp_path, project_name, "up", "-d")
    write(tmp_path, "services:" + service.format(name="kept"))
    orphan = f"{project_name}-gone-1"
    said = run(tmp_path, project_name, "up", "-d")
    assert "Found orphan containers" in said.stdout + said.stderr

    monkeypatch.setenv("COMPOSE_IGNORE_ORPHANS", "true")
    for args in (["up", "-d"], ["plan"]):
        quiet = run(tmp_path, project_name, *args)
        assert "orphan" not in (quiet.stdout + quiet.stderr).lower(), args
    assert client.containers.get(orphan).status == "running"  # ignored, not removed
    for args in (["up", "-d", "--remove-orphans"], ["down", "--remove-orphans"]):
        refused = run(tmp_path, project_name, *args, check=False)
        assert refused.returncode == 64, args
        assert "COMPOSE_IGNORE_ORPHANS and --remove-orphans cannot be combined" in refused.stderr
    assert client.containers.get(orphan).status == "running"
    down = run(tmp_path, project_name, "down", check=False)  # the orphan keeps the network
    assert "Found orphan containers" not in down.stdout + down.stderr
    assert client.containers.get(orphan).status == "running"
    monkeypatch.delenv("COMPOSE_IGNORE_ORPHANS")
    run(tmp_path, project_name, "down", "--remove-orphans")
    assert client.containers.list(all=True, filters={
        "label": f"io.stackup.project={project_name}"}) == []


def test_dry_run_refuses_run_exec_and_attach_and_makes_nothing(
        tmp_path: Path, project_name: str, client: docker.DockerClient) -> None:
    write(tmp_path, STACK)

    def project_containers() -> list[str]:
        every = client.api.containers(all=True)
        return sorted(c["Id"] for c in every
                      if c["Names"][0].lstrip("/").startswith(f"{project_name}-")
                      or (c.get("Labels") or {}).get("io.stackup.project") == project_name)

    assert project_containers() == []
    refused = run(tmp_path, project_name, "--dry-run", "run", "db", "echo", "x", check=False,
                  timeout=60)
    assert refused.returncode == 1, refused.stderr
    assert "not supported in dry-run mode" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert project_containers() == []  # not even the dependencies or a one-off container

    run(tmp_path, project_name, "up", "-d", "db")
    before = project_containers()
    assert len(before) == 1
    for args in (("exec", "-T", "db", "true"), ("attach", "db"), ("run", "--rm", "db", "true")):
        refused = run(tmp_path, project_name, "--dry-run", *args, check=False, timeout=60)
        assert refused.returncode == 1, (args, refused.stderr)
        assert "not supported in dry-run mode" in refused.stderr, (args, refused.stderr)
        assert project_containers() == before, args
