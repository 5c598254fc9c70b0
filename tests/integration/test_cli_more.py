"""End to end on the real engine, through the `stackup` command: `include:` with a depends_on on
an included service, ps in Compose's shape, cp both ways, kill -s, pause/unpause, ls, top, port,
events --json while a container starts, and commands with -p NAME and no stack file.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import docker
import pytest

from tests.integration.helpers import LOOP, STACKUP, run, write

pytestmark = pytest.mark.engine


def _plain(folder: Path, *args: str, check: bool = True,
           stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """stackup run in ``folder`` without -f: the stack file is discovered."""
    done = subprocess.run([STACKUP, "--progress", "plain", *args], cwd=folder,
                          capture_output=True, text=True, timeout=120, input=stdin)
    if check and done.returncode != 0:
        raise AssertionError(f"stackup {' '.join(args)} exited {done.returncode}\n"
                             f"{done.stdout}\n{done.stderr}")
    return done


def test_include_cp_kill_pause_ps_ls(tmp_path: Path, project_name: str,
                                     client: docker.DockerClient) -> None:
    write(tmp_path, f"""
        name: {project_name}
        include:
          - db/compose.yaml
        services:
          web:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            depends_on: [db]
            ports: ["127.0.0.1::80"]
    """)
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "db.env").write_text("ROLE=database\n")
    (tmp_path / "db" / "compose.yaml").write_text(
        "services:\n  db:\n    image: busybox:local\n    env_file: db.env\n"
        "    command: [\"sh\", \"-c\", \"trap 'exit 3' USR1; trap 'exit 0' TERM; "
        "while :; do sleep 0.2; done\"]\n")
    nested = tmp_path / "src" / "deep"
    nested.mkdir(parents=True)
    _plain(nested, "up", "-d")  # found by walking up from a subdirectory
    db = client.containers.get(f"{project_name}-db-1")
    assert db.status == "running" and "ROLE=database" in db.attrs["Config"]["Env"]
    assert client.containers.get(f"{project_name}-web-1").status == "running"

    rows = [json.loads(line) for line in _plain(tmp_path, "ps", "--format", "json")
            .stdout.splitlines()]
    assert [(r["Name"], r["Service"], r["State"]) for r in rows] == [
        (f"{project_name}-db-1", "db", "running"), (f"{project_name}-web-1", "web", "running")]
    assert rows[1]["Publishers"][0]["TargetPort"] == 80 and rows[1]["Status"].startswith("Up")
    assert _plain(tmp_path, "ps", "--services").stdout == "db\nweb\n"
    published = _plain(tmp_path, "port", "web", "80").stdout.strip()
    assert published == f"127.0.0.1:{rows[1]['Publishers'][0]['PublishedPort']}"
    assert "sleep" in _plain(tmp_path, "top", "db").stdout

    # cp, both ways: a file and a folder in, a folder out, a tar to stdout
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "in" / "a.txt").write_text("alpha\n")
    (tmp_path / "in" / "sub" / "b.txt").write_text("beta\n")
    _plain(tmp_path, "cp", "in/a.txt", "db:/a.txt")
    _plain(tmp_path, "cp", "in", "db:/copied")
    seen = _plain(tmp_path, "exec", "-T", "db", "cat", "/a.txt", "/copied/sub/b.txt").stdout
    assert seen == "alpha\nbeta\n"
    _plain(tmp_path, "exec", "-T", "db", "sh", "-c", "mkdir /made; echo gamma > /made/c.txt")
    _plain(tmp_path, "cp", "db:/made", "out")
    assert (tmp_path / "out" / "c.txt").read_text() == "gamma\n"
    missing = _plain(tmp_path, "cp", "db:/nothing", "x", check=False)
    assert missing.returncode == 1 and "no such file or directory: /nothing" in missing.stderr

    # pause / unpause, then kill -s delivers the signal (the trap exits 3)
    _plain(tmp_path, "pause", "db")
    assert client.containers.get(f"{project_name}-db-1").status == "paused"
    assert _plain(tmp_path, "ps", "--status", "paused", "--services").stdout == "db\n"
    _plain(tmp_path, "unpause", "db")
    assert client.containers.get(f"{project_name}-db-1").status == "running"
    _plain(tmp_path, "kill", "-s", "SIGUSR1", "db")
    deadline = time.monotonic() + 10
    while client.containers.get(f"{project_name}-db-1").status != "exited":
        assert time.monotonic() < deadline, "db did not exit on SIGUSR1"
        time.sleep(0.1)
    assert client.containers.get(f"{project_name}-db-1").attrs["State"]["ExitCode"] == 3
    exited = [json.loads(line) for line in _plain(
        tmp_path, "ps", "--status", "exited", "--format", "json").stdout.splitlines()]
    assert [(r["Service"], r["ExitCode"]) for r in exited] == [("db", 3)]

    # ls: the project with its state counts and stack file; -a also lists stopped ones
    listed = {p["Name"]: p for p in json.loads(_plain(tmp_path, "ls", "--format", "json").stdout)}
    assert listed[project_name]["Status"] == "exited(1), running(1)"
    assert listed[project_name]["ConfigFiles"] == str(tmp_path / "compose.yaml")
    assert project_name in _plain(tmp_path, "ls", "-q").stdout.split()

    # -p NAME and no stack file: ps, stop, ls and down find the project by its labels
    empty = Path("/")  # no stack file here, nor above
    assert _plain(empty, "-p", project_name, "ps", "--services").stdout == "web\n"
    _plain(empty, "-p", project_name, "stop")
    assert project_name not in _plain(empty, "ls", "-q").stdout.split()
    assert project_name in _plain(empty, "ls", "-a", "-q").stdout.split()
    _plain(empty, "-p", project_name, "down")
    assert not client.containers.list(all=True, filters={
        "label": f"io.stackup.project={project_name}"})


def test_create_events_json_scale(tmp_path: Path, project_name: str,
                                  client: docker.DockerClient) -> None:
    write(tmp_path, f"""
        services:
          app:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
    """)
    run(tmp_path, project_name, "create")  # up without starting
    app = client.containers.get(f"{project_name}-app-1")
    assert app.status == "created"
    since = str(int(time.time()) - 1)
    listener = subprocess.Popen([STACKUP, "-p", project_name, "-f", str(tmp_path / "compose.yaml"),
                                 "events", "--json", "--since", since],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)  # --since replays what happened before the subscription was made
        run(tmp_path, project_name, "start", "app")
        found = None
        deadline = time.monotonic() + 20
        assert listener.stdout is not None
        while found is None and time.monotonic() < deadline:
            line = listener.stdout.readline()
            if not line:
                break
            record = json.loads(line)
            if record["action"] == "start":
                found = record
    finally:
        listener.terminate()
        listener.wait(10)
    assert found is not None, "no start event seen"
    assert found["id"] == app.id and found["service"] == "app" and found["type"] == "container"
    assert found["attributes"]["name"] == f"{project_name}-app-1"
    assert not any(k.startswith("io.stackup.") for k in found["attributes"])

    run(tmp_path, project_name, "scale", "app=3")
    running = client.containers.list(filters={"label": f"io.stackup.project={project_name}"})
    assert sorted(c.name for c in running) == [f"{project_name}-app-{n}" for n in (1, 2, 3)]
    assert client.containers.get(f"{project_name}-app-1").id == app.id  # not recreated
    run(tmp_path, project_name, "scale", "app=1")
    assert [c.name for c in client.containers.list(
        all=True, filters={"label": f"io.stackup.project={project_name}"})] == [
        f"{project_name}-app-1"]
    bad = run(tmp_path, project_name, "scale", "nope=2", check=False)
    assert bad.returncode == 1 and "no such service: nope" in bad.stderr


def test_docker_context_chooses_the_engine(tmp_path: Path, docker_engine: object) -> None:
    import hashlib
    import os

    socket = (os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock")
    config = tmp_path / "docker-config"
    meta = config / "contexts" / "meta" / hashlib.sha256(b"here").hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps(
        {"Name": "here", "Endpoints": {"docker": {"Host": socket}}}))
    (config / "config.json").write_text(json.dumps({"currentContext": "here"}))
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")}
    env["DOCKER_CONFIG"] = str(config)

    def ls(**more: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([STACKUP, "ls", "-a", "-q"], capture_output=True, text=True,
                              timeout=60, env={**env, **more}, cwd=tmp_path)

    assert ls().returncode == 0  # currentContext "here" reaches the engine
    wrong = ls(DOCKER_CONTEXT="elsewhere")
    assert wrong.returncode == 1
    assert "docker context 'elsewhere' not found (from DOCKER_CONTEXT)" in wrong.stderr
