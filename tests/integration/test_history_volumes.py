"""History that helps choose, and anonymous volumes that are the project's, on the real engine.

- a run that changes nothing adds no revision (a finished one-shot started again included);
- ``history`` names what each revision changed, secret values masked, with the git commit;
- ``down`` keeps the revision records, ``down -v`` removes them;
- ``apply`` of an already-applied saved plan says so and exits 0;
- an anonymous volume survives ``down`` and goes with ``down -v`` after it.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path

import docker
import pytest

from stackup.app import revisions as R
from tests.integration.helpers import LOOP, STACKUP, write

STACK = f"""
services:
  web:
    image: busybox:local
    command: ["sh", "-c", "{LOOP}"]
    stop_grace_period: 1s
    environment: {{VERSION: "${{VERSION}}", API_TOKEN: "${{TOKEN}}"}}
    volumes: ["/data"]
  job:
    image: busybox:local
    command: ["true"]
"""


def stk(folder: Path, project: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([STACKUP, "-p", project, "--progress", "plain", "-f",
                           str(folder / "compose.yaml"), *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "VERSION": "1", "TOKEN": "t", **env})


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def records(client: docker.DockerClient, project: str) -> list[str]:
    return sorted(v.name for v in client.volumes.list(
        filters={"label": f"{R.PROJECT}={project}"}))


def anonymous_volume(client: docker.DockerClient, container: str) -> str:
    (mount,) = [m for m in client.api.inspect_container(container)["Mounts"]
                if m["Destination"] == "/data"]
    return str(mount["Name"])


def exists(client: docker.DockerClient, volume: str) -> bool:
    return bool(client.api.volumes(filters={"name": volume}).get("Volumes"))


def git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), "-c", "user.name=t", "-c",
                           "user.email=t@t", *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_history_shows_changes_masked_and_no_op_runs_add_nothing(
        tmp_path: Path, project_name: str, client: docker.DockerClient, history: None) -> None:
    canary = "canary-" + secrets.token_hex(8)
    write(tmp_path, STACK)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "compose.yaml")
    git(tmp_path, "commit", "-qm", "one")
    commit = git(tmp_path, "rev-parse", "HEAD")
    ok(stk(tmp_path, project_name, "up", "-d"))
    assert len(records(client, project_name)) == 1
    ok(stk(tmp_path, project_name, "up", "-d"))  # starts the finished job again: no change
    ok(stk(tmp_path, project_name, "up", "-d"))
    assert len(records(client, project_name)) == 1

    ok(stk(tmp_path, project_name, "up", "-d", VERSION="2", TOKEN=canary))
    table = ok(stk(tmp_path, project_name, "history")).stdout
    assert "CHANGES" in table.splitlines()[0]
    rows = table.splitlines()[1:]
    assert len(rows) == 2 and commit[:12] in rows[0] and "(first)" in rows[0]
    assert "web (environment.API_TOKEN, environment.VERSION)" in rows[1]
    listed = ok(stk(tmp_path, project_name, "history", "--format", "json")).stdout
    assert canary not in listed and canary not in table
    second = json.loads(listed)["revisions"][1]
    assert second["changes_from"] == 1 and second["source"]["git_commit"] == commit
    (web,) = second["changes"]
    assert [(f["path"], f["old"], f["new"], f["sensitive"]) for f in web["fields"]] == [
        ("environment.API_TOKEN", None, None, True),
        ("environment.VERSION", '"1"', '"2"', False)]


def test_down_keeps_revision_records_and_down_v_removes_them(
        tmp_path: Path, project_name: str, client: docker.DockerClient, history: None) -> None:
    write(tmp_path, STACK)
    ok(stk(tmp_path, project_name, "up", "-d"))
    ok(stk(tmp_path, project_name, "up", "-d", VERSION="2"))
    ok(stk(tmp_path, project_name, "down"))
    assert records(client, project_name) == [R.volume_name(project_name, n) for n in (1, 2)]
    assert "-v" in ok(stk(tmp_path, project_name, "down", "--help")).stdout
    done = ok(stk(tmp_path, project_name, "down", "-v"))
    assert f"Removed 2 revision records of {project_name}." in done.stderr
    assert records(client, project_name) == []
    assert "no revisions recorded" in ok(stk(tmp_path, project_name, "history")).stderr


def test_applying_an_applied_plan_again_says_so(
        tmp_path: Path, project_name: str, client: docker.DockerClient, history: None) -> None:
    write(tmp_path, STACK)
    ok(stk(tmp_path, project_name, "up", "-d"))
    plan_file = str(tmp_path / "p.json")
    ok(stk(tmp_path, project_name, "plan", "--out", plan_file, VERSION="2"))
    ok(stk(tmp_path, project_name, "apply", plan_file, VERSION="2"))
    again = stk(tmp_path, project_name, "apply", plan_file, VERSION="2")
    assert again.returncode == 0, again.stderr
    assert "already applied (revision 2)" in again.stderr and "stale" not in again.stderr
    assert len(records(client, project_name)) == 2
    ok(stk(tmp_path, project_name, "up", "-d", VERSION="3"))  # revision 3: the plan is old now
    stale = stk(tmp_path, project_name, "apply", plan_file, VERSION="2")
    assert stale.returncode == 3 and "stale" in stale.stderr


def test_anonymous_volumes_survive_down_and_go_with_down_v_after_it(
        tmp_path: Path, project_name: str, client: docker.DockerClient, history: None) -> None:
    write(tmp_path, STACK)
    ok(stk(tmp_path, project_name, "up", "-d"))
    web = f"{project_name}-web-1"
    volume = anonymous_volume(client, web)
    labels = client.api.inspect_volume(volume)["Labels"]
    assert labels["io.stackup.project"] == project_name
    assert labels["com.docker.compose.project"] == project_name
    client.containers.get(web).exec_run(["sh", "-c", "echo kept > /data/file"])
    ok(stk(tmp_path, project_name, "up", "-d", VERSION="2"))  # a replacement keeps the data
    assert anonymous_volume(client, web) == volume
    assert client.containers.get(web).exec_run(["cat", "/data/file"]).output == b"kept\n"
    assert "-web-1" not in ok(stk(tmp_path, project_name, "plan", VERSION="2")).stdout

    ok(stk(tmp_path, project_name, "down"))
    assert not client.containers.list(all=True, filters={"name": web})
    assert exists(client, volume)  # plain down keeps it
    ok(stk(tmp_path, project_name, "down"))
    assert exists(client, volume)
    ok(stk(tmp_path, project_name, "down", "-v"))
    assert not exists(client, volume)
    assert not client.volumes.list(filters={"label": f"io.stackup.project={project_name}"})


def test_a_volume_the_image_declares_goes_with_down_v_after_down(
        tmp_path: Path, project_name: str, client: docker.DockerClient, history: None) -> None:
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM busybox:local\nVOLUME /cache\n")
    write(tmp_path, f"""
        services:
          store:
            build: ./ctx
            command: ["sh", "-c", "{LOOP}"]
            stop_grace_period: 1s
        """)
    image = f"{project_name}-store"
    try:
        ok(stk(tmp_path, project_name, "up", "-d"))
        name = f"{project_name}-store-1"
        (mount,) = [m for m in client.api.inspect_container(name)["Mounts"]
                    if m["Destination"] == "/cache"]
        volume = str(mount["Name"])
        labels = client.api.inspect_volume(volume)["Labels"]
        assert labels["io.stackup.project"] == project_name
        assert labels["io.stackup.anonymous-volume"] == "store:/cache"
        ok(stk(tmp_path, project_name, "down"))
        assert exists(client, volume)
        ok(stk(tmp_path, project_name, "down", "-v"))
        assert not exists(client, volume)
    finally:
        subprocess.run(["docker", "image", "rm", "-f", image], capture_output=True)
