"""The Swarm backend on a real single-node swarm: examples/swarm deployed, reached on its
published ports, updated one variable at a time (a rolling update that touches no other
service), scaled, its secret rotated, a failing update rolled back, a built image deployed, and
torn down without leaving anything. ``plan --exit-code`` is 0 after each step."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path

import docker
import pytest

from tests.integration.helpers import STACKUP, free_port

pytestmark = [pytest.mark.slow, pytest.mark.swarm]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "swarm" / "compose.yaml"


class Stack:
    """Runs ``stackup --target swarm`` on one stack file with one environment."""

    def __init__(self, project: str, file: Path, **env: str) -> None:
        self.project, self.file, self.env = project, file, dict(env)

    def run(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        import os

        full = {**os.environ, "STACKUP_TARGET": "swarm", **self.env, **env}
        done = subprocess.run([STACKUP, "-p", self.project, "--progress", "plain", "-f",
                               str(self.file), *args], capture_output=True, text=True,
                              env=full, timeout=150)
        if check and done.returncode != 0:
            raise AssertionError(f"stackup {' '.join(args)} exited {done.returncode}\n"
                                 f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}")
        return done

    def converged(self) -> None:
        done = self.run("plan", "--exit-code", check=False)
        assert done.returncode == 0, done.stdout + done.stderr

    def plan_lines(self, *args: str, **env: str) -> list[str]:
        out = self.run("plan", *args, **env).stdout
        return [" ".join(line.split()[1:]) for line in out.splitlines() if line.startswith("#")]


def versions(api: docker.APIClient, project: str) -> dict[str, int]:
    found = api.services(filters={"label": f"io.stackup.project={project}"})
    return {s["Spec"]["Labels"]["io.stackup.service"]: s["Version"]["Index"] for s in found}


def running_tasks(api: docker.APIClient, project: str, service: str) -> list[dict]:
    tasks = api.tasks(filters={"service": f"{project}_{service}", "desired-state": "running"})
    return [t for t in tasks if t["Status"]["State"] == "running"]


def task_exec(api: docker.APIClient, project: str, service: str, *cmd: str) -> str:
    [task] = running_tasks(api, project, service)
    container = task["Status"]["ContainerStatus"]["ContainerID"]
    run = api.exec_create(container, list(cmd))
    return api.exec_start(run["Id"]).decode()


def get(port: int, path: str = "/") -> str:
    deadline = time.monotonic() + 10
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as reply:
                return reply.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def leftovers(api: docker.APIClient, project: str) -> list[str]:
    label = {"label": f"io.stackup.project={project}"}
    return ([s["Spec"]["Name"] for s in api.services(filters=label)]
            + [n["Name"] for n in api.networks(filters=label)]
            + [s["Spec"]["Name"] for s in api.secrets(filters=label)]
            + [c["Spec"]["Name"] for c in api.configs(filters=label)]
            + [v["Name"] for v in (api.volumes(filters=label) or {}).get("Volumes") or []])


def test_deploy_update_scale_rotate_and_down(swarm: docker.APIClient,
                                             swarm_project: str) -> None:
    api, project = swarm, swarm_project
    api_port, web_port = free_port(), free_port()
    stack = Stack(project, EXAMPLE, API_PORT=str(api_port), WEB_PORT=str(web_port),
                  API_TOKEN="t0k3n-one", GREETING="hello")

    stack.run("up", "--wait")
    assert json.loads(get(api_port, "/items.json")) == {"schema": 1, "items": ["apples",
                                                                                "pears"]}
    assert "<h1>three-tier on a swarm</h1>" in get(web_port)
    assert task_exec(api, project, "api", "cat", "/run/secrets/api_token") == "t0k3n-one"
    assert "fetched" in stack.run("logs", "worker").stdout  # api resolved by name (dnsrr)
    stack.converged()
    # the stack namespace label: the docker CLI sees the services as one stack
    listed = subprocess.run(["docker", "stack", "services", project, "--format", "{{.Name}}"],
                            capture_output=True, text=True, check=True, timeout=30).stdout
    assert sorted(listed.split()) == sorted(f"{project}_{name}" for name in (
        "store", "migrate", "api", "web", "worker"))

    # one variable: one service updated by the engine's rolling update, no other touched
    before = versions(api, project)
    assert stack.plan_lines(GREETING="hi") == [
        f'~ update {project}_api environment.GREETING: "hello" → "hi"']
    old_task = running_tasks(api, project, "api")[0]["ID"]
    stack.env["GREETING"] = "hi"
    stack.run("up", "--wait")
    after = versions(api, project)
    assert after["api"] > before["api"]
    assert {k: v for k, v in after.items() if k != "api"} == \
        {k: v for k, v in before.items() if k != "api"}
    assert running_tasks(api, project, "api")[0]["ID"] != old_task
    assert "GREETING=hi" in task_exec(api, project, "api", "env")
    update = api.inspect_service(f"{project}_api")["UpdateStatus"]
    assert update["State"] == "completed"
    stack.converged()

    # scale
    assert stack.plan_lines(WORKER_REPLICAS="3") == [
        f"~ update {project}_worker deploy.replicas: 2 → 3"]
    stack.env["WORKER_REPLICAS"] = "3"
    saved = Path(f"/tmp/{project}.plan")
    stack.run("plan", "--out", str(saved))  # reviewed, then applied as it is
    stack.run("apply", str(saved))
    stale = stack.run("apply", str(saved), check=False)
    assert stale.returncode == 3 and f"service:{project}_worker changed on the swarm" \
        in stale.stderr, stale.stderr
    saved.unlink()
    stack.run("up", "--wait")  # nothing to change: waits until the third task runs
    assert len(running_tasks(api, project, "worker")) == 3
    stack.converged()

    # rotate the secret: a new object, the service moved to it, the old one gone
    [old_secret] = [s["Spec"]["Name"] for s in api.secrets(
        filters={"label": f"io.stackup.project={project}"})]
    lines = stack.plan_lines(API_TOKEN="t0k3n-two")
    assert lines[1] == f"~ update {project}_api secrets.api_token: (sensitive value changed) <- #1"
    assert lines[3].startswith(f"- secret {old_secret} replaced by {project}_api_token-")
    stack.env["API_TOKEN"] = "t0k3n-two"
    stack.run("up")
    [new_secret] = [s["Spec"]["Name"] for s in api.secrets(
        filters={"label": f"io.stackup.project={project}"})]
    assert new_secret != old_secret
    assert task_exec(api, project, "api", "cat", "/run/secrets/api_token") == "t0k3n-two"
    stack.converged()

    # ps shows the tasks
    rows = json.loads(stack.run("ps", "--format", "json").stdout)
    assert sorted(r["name"] for r in rows if r["service"] == "worker") == [
        f"{project}_worker.{i}" for i in (1, 2, 3)]
    assert all(r["state"] in ("running", "complete") for r in rows)

    stack.run("down")
    assert leftovers(api, project) == [f"{project}_data"]  # the volume stays without -v
    stack.run("down", "-v")
    assert leftovers(api, project) == []
    assert not api.containers(all=True, filters={"label": f"com.docker.stack.namespace={project}"})


FAILING = """
name: unused
services:
  app:
    image: busybox:local
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"]
    environment: {MODE: "${MODE:-good}"}
    healthcheck:
      test: ["CMD", "sh", "-c", "test \\"$$MODE\\" = good"]
      interval: 1s
      retries: 1
    deploy:
      update_config: {failure_action: rollback, monitor: 2s}
      rollback_config: {monitor: 1s}
      restart_policy: {condition: any, delay: 1s}
"""


def test_a_failing_update_is_rolled_back_and_reported(tmp_path: Path, swarm: docker.APIClient,
                                                      swarm_project: str) -> None:
    file = tmp_path / "compose.yaml"
    file.write_text(FAILING)
    stack = Stack(swarm_project, file)
    stack.run("up", "--wait")
    done = stack.run("up", "--wait", check=False, MODE="bad")
    assert done.returncode == 1
    assert f"the update of service {swarm_project}_app was rolled back" in done.stderr
    assert "(the failed task)" in done.stderr and "unhealthy" in done.stderr, done.stderr
    spec = swarm.inspect_service(f"{swarm_project}_app")["Spec"]
    assert "MODE=good" in spec["TaskTemplate"]["ContainerSpec"]["Env"]
    # the engine put the old spec back, labels included: the plan still wants the update
    assert stack.plan_lines(MODE="bad")[0] == \
        f'~ update {swarm_project}_app environment.MODE: "good" → "bad"'
    stack.converged()


def test_a_built_image_is_deployed_and_rebuilt_images_roll(tmp_path: Path,
                                                           swarm: docker.APIClient,
                                                           swarm_project: str) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("version one\n")
    (tmp_path / "Dockerfile").write_text("FROM busybox:local\nCOPY site /www\n")
    port = free_port()
    (tmp_path / "compose.yaml").write_text(f"""
name: unused
services:
  site:
    build: .
    command: ["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 80 -h /www & wait"]
    ports: [{{target: 80, published: {port}, mode: host}}]
    deploy: {{endpoint_mode: dnsrr, update_config: {{monitor: 1s}}}}
""")
    stack = Stack(swarm_project, tmp_path / "compose.yaml")
    image = f"{swarm_project}-site"
    try:
        lines = stack.plan_lines()
        assert lines[1] == f"+ build {image} image not found"
        stack.run("up", "--wait")
        assert get(port) == "version one\n"
        stack.converged()
        (tmp_path / "site" / "index.html").write_text("version two\n")
        assert stack.plan_lines() == []  # a changed build context: nothing until asked
        assert any(line.startswith(f"+ build {image} ") for line in stack.plan_lines("--build"))
        stack.run("up", "--build", "--wait")
        assert get(port) == "version two\n"
        stack.converged()
        stack.run("down")
    finally:
        subprocess.run(["docker", "rmi", "-f", image], capture_output=True)


def test_what_a_swarm_cannot_do_is_refused_with_its_line(tmp_path: Path,
                                                         swarm: docker.APIClient,
                                                         swarm_project: str) -> None:
    file = tmp_path / "compose.yaml"
    file.write_text("services:\n  web:\n    image: busybox:local\n"
                    "    container_name: web1\n    ports: ['127.0.0.1:8080:80']\n")
    stack = Stack(swarm_project, file)
    done = stack.run("plan", check=False)
    assert done.returncode == 1
    assert "2 settings cannot be deployed to a swarm" in done.stderr
    assert f"services.web.container_name ({file}:4)" in done.stderr
    assert f"services.web.ports[0] ({file}:5)" in done.stderr
    assert leftovers(swarm, swarm_project) == []
    config = stack.run("config", "-q", check=False)
    assert config.returncode == 1 and "container_name" in config.stderr
    other = stack.run("stop", check=False)
    assert other.returncode != 0 and "not available with --target swarm" in other.stderr
