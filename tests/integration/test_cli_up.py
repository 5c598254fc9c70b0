"""End to end on the real engine: the `stackup` command converging stacks the way users run it.

Each test writes a stack file into a temporary folder, runs the installed `stackup` command with a
unique project name (the `project_name` fixture removes everything labelled with it afterwards)
and checks what the engine really has.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from pathlib import Path

import docker
import pytest

from tests.integration.helpers import LOOP, free_port, ids, run, write

pytestmark = pytest.mark.engine


def test_up_dns_ports_and_idempotent_second_up(tmp_path: Path, project_name: str,
                                                client: docker.DockerClient) -> None:
    port = free_port()
    write(tmp_path, f"""
        services:
          web:
            image: busybox:local
            command: ["sh", "-c", "echo hello-from-web > /index.html; exec httpd -f -p 80 -h /"]
            ports: ["127.0.0.1:{port}:80"]
            stop_grace_period: 1s
          client:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            environment:
              TARGET: web
    """)
    first = run(tmp_path, project_name, "up", "-d")
    before = ids(client, project_name)
    assert sorted(before) == [f"{project_name}-client-1", f"{project_name}-web-1"]

    body = _fetch(f"http://127.0.0.1:{port}/")
    assert body.strip() == "hello-from-web"
    fetched = run(tmp_path, project_name, "exec", "-T", "client",
                  "wget", "-q", "-O", "-", "http://web/index.html")
    assert fetched.stdout.strip() == "hello-from-web"
    env = client.containers.get(f"{project_name}-client-1").attrs["Config"]["Env"]
    assert "TARGET=web" in env
    assert "create" in first.stderr

    second = run(tmp_path, project_name, "up", "-d")
    assert ids(client, project_name) == before
    assert "Nothing to change" in second.stderr
    plan = run(tmp_path, project_name, "plan", "--exit-code")
    assert plan.returncode == 0


def _fetch(url: str, attempts: int = 50) -> str:
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def test_env_change_recreates_only_that_service_and_plan_says_why(
        tmp_path: Path, project_name: str, client: docker.DockerClient) -> None:
    text = """
        services:
          api:
            image: busybox:local
            command: ["sh", "-c", "{loop}"]
            environment: {{VERSION: "{version}"}}
          cache:
            image: busybox:local
            command: ["sh", "-c", "{loop}"]
    """
    write(tmp_path, text.format(loop=LOOP, version="1"))
    run(tmp_path, project_name, "up", "-d")
    before = ids(client, project_name)
    write(tmp_path, text.format(loop=LOOP, version="2"))

    planned = run(tmp_path, project_name, "plan", "--exit-code", check=False)
    assert planned.returncode == 2
    assert "environment.VERSION changed" in planned.stdout
    as_json = json.loads(run(tmp_path, project_name, "plan", "--format", "json").stdout)
    creates = [op for op in as_json["operations"] if op["action"] == "create_container"]
    assert [(op["service"], op["cause"]) for op in creates] == [
        ("api", "environment.VERSION changed")]
    assert creates[0]["changes"] == [{"path": "environment.VERSION", "old": '"1"', "new": '"2"',
                                      "sensitive": False}]
    assert {op["service"] for op in as_json["operations"]} == {"api"}

    run(tmp_path, project_name, "up", "-d")
    after = ids(client, project_name)
    assert after[f"{project_name}-cache-1"] == before[f"{project_name}-cache-1"]
    assert after[f"{project_name}-api-1"] != before[f"{project_name}-api-1"]
    env = client.containers.get(f"{project_name}-api-1").attrs["Config"]["Env"]
    assert "VERSION=2" in env


def test_named_volume_data_survives_recreate_and_down(tmp_path: Path, project_name: str,
                                                      client: docker.DockerClient) -> None:
    text = """
        services:
          db:
            image: busybox:local
            command: ["sh", "-c", "{loop}"]
            environment: {{GEN: "{gen}"}}
            volumes: ["data:/data"]
        volumes:
          data: {{}}
    """
    write(tmp_path, text.format(loop=LOOP, gen="1"))
    run(tmp_path, project_name, "up", "-d")
    run(tmp_path, project_name, "exec", "-T", "db", "sh", "-c", "echo precious > /data/file")
    write(tmp_path, text.format(loop=LOOP, gen="2"))
    run(tmp_path, project_name, "up", "-d")  # recreates db
    read = run(tmp_path, project_name, "exec", "-T", "db", "cat", "/data/file")
    assert read.stdout.strip() == "precious"

    run(tmp_path, project_name, "down")
    assert client.volumes.get(f"{project_name}_data") is not None
    run(tmp_path, project_name, "up", "-d")
    read = run(tmp_path, project_name, "exec", "-T", "db", "cat", "/data/file")
    assert read.stdout.strip() == "precious"

    run(tmp_path, project_name, "down", "-v")
    with pytest.raises(docker.errors.NotFound):
        client.volumes.get(f"{project_name}_data")


def test_healthy_ordering_and_failing_one_shot(tmp_path: Path, project_name: str,
                                               client: docker.DockerClient) -> None:
    write(tmp_path, f"""
        services:
          db:
            image: busybox:local
            command: ["sh", "-c", "sleep 1; touch /ready; {LOOP}"]
            healthcheck:
              test: ["CMD", "test", "-f", "/ready"]
              interval: 0.3s
              retries: 30
          api:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            depends_on:
              db: {{condition: service_healthy}}
          migrate:
            image: busybox:local
            command: ["sh", "-c", "echo migration broke >&2; exit 3"]
          app:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            depends_on:
              migrate: {{condition: service_completed_successfully}}
    """)
    result = run(tmp_path, project_name, "up", "-d", check=False)
    assert result.returncode == 1
    assert "migrate" in result.stderr and "3" in result.stderr
    assert "migration broke" in result.stderr
    # the dependent of the failed job was created (as Compose does) but never started
    app = client.containers.get(f"{project_name}-app-1")
    assert app.status == "created"
    assert any(line.split()[1:4] == ["skipped", "start", f"{project_name}-app-1"]
               for line in result.stderr.splitlines())
    api = client.containers.get(f"{project_name}-api-1")
    db = client.containers.get(f"{project_name}-db-1")
    assert api.status == "running"
    assert db.attrs["State"]["Health"]["Status"] == "healthy"
    # api was started only after db's first passing healthcheck
    api_started = _timestamp(api.attrs["State"]["StartedAt"])
    db_log = db.attrs["State"]["Health"]["Log"]
    first_healthy = min(_timestamp(entry["End"]) for entry in db_log if entry["ExitCode"] == 0)
    assert api_started >= first_healthy


def _timestamp(text: str) -> float:
    """Engine RFC 3339 times with nanoseconds and Z or an offset, as epoch seconds."""
    import datetime
    import re

    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", text)
    assert match, text
    base, fraction, zone = match.groups()
    zone = "+00:00" if zone == "Z" else zone
    moment = datetime.datetime.fromisoformat(base + zone)
    return moment.timestamp() + float(fraction or 0)


def test_foreign_container_survives_down(tmp_path: Path, project_name: str,
                                         client: docker.DockerClient) -> None:
    write(tmp_path, f"""
        services:
          web:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
    """)
    foreign = client.containers.run("busybox:local", ["sh", "-c", LOOP], detach=True,
                                    name=f"{project_name}-web-2")
    try:
        run(tmp_path, project_name, "up", "-d")
        run(tmp_path, project_name, "down", "-v", "--remove-orphans")
        foreign.reload()
        assert foreign.status == "running"
        assert f"{project_name}-web-1" not in ids(client, project_name)
    finally:
        foreign.remove(force=True)


def test_port_in_use_names_port_and_service(tmp_path: Path, project_name: str) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        write(tmp_path, f"""
            services:
              web:
                image: busybox:local
                command: ["sh", "-c", "{LOOP}"]
                ports: ["127.0.0.1:{port}:80"]
        """)
        result = run(tmp_path, project_name, "up", "-d", check=False)
        assert result.returncode == 1
        assert "web" in result.stderr
        assert str(port) in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        holder.close()


def test_scale_up_down_and_orphans(tmp_path: Path, project_name: str,
                                   client: docker.DockerClient) -> None:
    text = """
        services:
          worker:
            image: busybox:local
            command: ["sh", "-c", "{loop}"]
            scale: {n}
    {extra}
    """
    extra = f"""      old:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]"""
    write(tmp_path, text.format(loop=LOOP, n=3, extra=extra))
    run(tmp_path, project_name, "up", "-d")
    assert sorted(ids(client, project_name)) == sorted(
        [f"{project_name}-worker-{i}" for i in (1, 2, 3)] + [f"{project_name}-old-1"])
    write(tmp_path, text.format(loop=LOOP, n=1, extra=""))
    plan = run(tmp_path, project_name, "plan").stdout
    assert "replica 3 above scale 1" in plan
    result = run(tmp_path, project_name, "up", "-d")
    assert "orphan" in result.stderr
    assert f"{project_name}-old-1" in ids(client, project_name)  # kept without the flag
    run(tmp_path, project_name, "up", "-d", "--remove-orphans")
    assert sorted(ids(client, project_name)) == [f"{project_name}-worker-1"]


def test_bad_file_is_a_clear_error_and_creates_nothing(tmp_path: Path, project_name: str,
                                                       client: docker.DockerClient) -> None:
    write(tmp_path, """
        services:
          web:
            image: busybox:local
            portz: ["80"]
    """)
    result = run(tmp_path, project_name, "up", "-d", check=False)
    assert result.returncode == 1
    assert "compose.yaml:5" in result.stderr
    assert "ports" in result.stderr  # the suggestion
    assert "Traceback" not in result.stderr
    assert ids(client, project_name) == {}
    assert client.networks.list(filters={"label": f"io.stackup.project={project_name}"}) == []


def test_container_detached_from_its_network_is_replaced_and_reachable_again(
        tmp_path: Path, project_name: str, client: docker.DockerClient) -> None:
    """A container taken off its network (`docker network disconnect`, or a run killed between
    detaching and replacing it) does not count as converged: `plan` says so, `up` replaces it
    (as Compose does), and its name resolves on the network again."""
    write(tmp_path, f"""
        services:
          api:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
          probe:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
        """)
    run(tmp_path, project_name, "up", "-d")
    before = ids(client, project_name)
    network = f"{project_name}_default"
    client.networks.get(network).disconnect(f"{project_name}-api-1")
    probe = client.containers.get(f"{project_name}-probe-1")
    assert probe.exec_run(["nslookup", "api"]).exit_code != 0  # unreachable now

    planned = run(tmp_path, project_name, "plan", "--exit-code", check=False)
    assert planned.returncode == 2, planned.stdout
    assert f"not attached to network {network}" in planned.stdout
    assert "probe" not in planned.stdout  # the attached one is left alone

    run(tmp_path, project_name, "up", "-d")
    after = ids(client, project_name)
    assert after[f"{project_name}-api-1"] != before[f"{project_name}-api-1"]
    assert after[f"{project_name}-probe-1"] == before[f"{project_name}-probe-1"]
    api = client.containers.get(f"{project_name}-api-1")
    assert network in api.attrs["NetworkSettings"]["Networks"]
    assert probe.exec_run(["nslookup", "api"]).exit_code == 0
    assert run(tmp_path, project_name, "plan", "--exit-code", check=False).returncode == 0
