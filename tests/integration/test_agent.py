"""`stackup agent` (issue 22) against the real engine, with a bare git repository on local disk
as the remote (``file://``) and the agent run as the user runs it: `stackup agent --config`.

Each test follows one stack named after its unique project; what a person sees is checked:
the API's state, the containers on the engine, the revision records, the notifications a
receiver got, the metrics and the status page.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import signal
import subprocess
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from stackup.app import revisions as R
from tests.integration.helpers import LOOP, STACKUP, free_port, ids

TOKEN = "agent-api-token-for-tests"
HOOK_SECRET = "webhook-secret-for-tests"


class Repo:
    """A bare repository (the remote) and a clone to commit from."""

    def __init__(self, root: Path) -> None:
        self.remote = root / "remote.git"
        self.work = root / "work"
        self.git("init", "-q", "--bare", "-b", "main", str(self.remote), cwd=root)
        self.git("clone", "-q", str(self.remote), str(self.work), cwd=root)
        self.git("checkout", "-q", "-B", "main")

    @property
    def url(self) -> str:
        return f"file://{self.remote}"

    def git(self, *args: str, cwd: Path | None = None) -> str:
        done = subprocess.run(["git", *args], cwd=cwd or self.work, capture_output=True,
                              text=True, timeout=60,
                              env={**os.environ, "GIT_AUTHOR_NAME": "Ada Tester",
                                   "GIT_AUTHOR_EMAIL": "ada@example.com",
                                   "GIT_COMMITTER_NAME": "Ada Tester",
                                   "GIT_COMMITTER_EMAIL": "ada@example.com"})
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def commit(self, message: str, files: dict[str, str]) -> str:
        for name, text in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        self.git("push", "-q", "origin", "main")
        return self.git("rev-parse", "HEAD")


class Receiver:
    """A tiny notification receiver: the JSON bodies it got (test-side, a thread is fine)."""

    def __init__(self) -> None:
        bodies: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("content-length") or 0)
                bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.bodies = bodies
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class AgentProcess:
    def __init__(self, folder: Path, config: str) -> None:
        self.folder = folder
        self.port = free_port()
        self.config = folder / "agent.yaml"
        self.config.write_text(textwrap.dedent(config).replace("PORT", str(self.port)))
        self.log = folder / "agent.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [STACKUP, "agent", "--config", str(self.config)],
            stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"),
            env={**os.environ, "T_API_TOKEN": TOKEN, "T_HOOK_SECRET": HOOK_SECRET,
                 "T_NOTIFY_URL": os.environ.get("T_NOTIFY_URL", "")})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(self.base + "/api/stacks", timeout=1)
                return
            except httpx.HTTPError:
                assert self.process.poll() is None, self.log.read_text()
                time.sleep(0.1)
        raise AssertionError("the agent did not answer:\n" + self.log.read_text())

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def status(self, stack: str) -> dict[str, Any]:
        response = httpx.get(f"{self.base}/api/stacks/{stack}", timeout=10)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_for(self, stack: str, check: Callable[[dict[str, Any]], bool],
                 timeout: float = 90) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = self.status(stack)
            if check(status):
                return status
            time.sleep(0.1)
        raise AssertionError(f"timed out; last status {json.dumps(status, indent=1)}\n"
                             f"log:\n{self.log.read_text()}")

    def at(self, stack: str, commit: str, state: str, timeout: float = 90) -> dict[str, Any]:
        return self.wait_for(stack, lambda s: s["commit"] == commit and s["state"] == state,
                             timeout)


@pytest.fixture()
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path)


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def agents_in(tmp_path: Path) -> Iterator[Callable[[str], AgentProcess]]:
    """A fixture's body: a maker of started agents, each stopped when the fixture ends."""
    started: list[AgentProcess] = []

    def make(config: str) -> AgentProcess:
        agent = AgentProcess(tmp_path, config)
        started.append(agent)
        agent.start()
        return agent

    yield make
    for agent in started:
        agent.stop()


@pytest.fixture()
def agents(tmp_path: Path, project_name: str) -> Iterator[Callable[[str], AgentProcess]]:
    """Agents, stopped before the project's resources are removed (this fixture comes after
    ``project_name``), so that none heals them back after the test."""
    yield from agents_in(tmp_path)


def service(name: str, env: str, extra: str = "", password: str | None = None) -> str:
    secret = f', DB_PASSWORD: "{password}"' if password else ""
    return textwrap.dedent(f"""\
      {name}:
        image: busybox:local
        command: ["sh", "-c", "{LOOP}"]
        stop_grace_period: 1s
        environment: {{VERSION: "{env}"{secret}}}
    """).replace("\n", "\n  ").rstrip() + extra + "\n"


def stack_file(*services: str, tail: str = "") -> str:
    return "services:\n" + "".join("  " + s for s in services) + tail


def agent_records(docker_engine: Any, project: str) -> list[R.Revision]:
    return sorted((R.from_labels(labels) for labels in docker_engine.list_revisions(project)),
                  key=lambda r: r.number)


def containers_of(client: docker.DockerClient, project: str) -> dict[str, str]:
    return {name: cid for name, cid in ids(client, project).items()}


def test_first_commit_deploys_a_change_recreates_only_that_service_a_broken_file_fails(
        repo: Repo, agents: Callable[[str], AgentProcess], project_name: str,
        client: docker.DockerClient, docker_engine: Any, history: None) -> None:
    first = repo.commit("web and db", {"deploy/compose.yaml": stack_file(
        service("web", "1", password="hunter2-old"), service("db", "1"))})
    agent = agents(f"""
        listen: 127.0.0.1:PORT
        api_token_env: T_API_TOKEN
        stacks:
          - name: {project_name}
            repo: {repo.url}
            path: deploy
            interval: 1s
          - name: unreachable
            repo: file://{repo.remote}-missing
            interval: 1s
    """)
    status = agent.at(project_name, first, "synced")
    assert status["ok"] is True and status["author"] == "Ada Tester <ada@example.com>"
    assert status["message"] == "web and db"
    # the revision record has the commit, its author and its message: `stackup history`
    shown = subprocess.run([STACKUP, "-p", project_name, "history", "--format", "json"],
                           capture_output=True, text=True, timeout=60, cwd=repo.work.parent)
    assert shown.returncode == 0, shown.stderr
    [entry] = json.loads(shown.stdout)["revisions"]
    assert entry["command"] == f"agent sync {first[:12]}"
    assert {k: entry["source"][k] for k in ("git_commit", "git_author", "git_message")} == {
        "git_commit": first, "git_author": "Ada Tester <ada@example.com>",
        "git_message": "web and db"}
    text = subprocess.run([STACKUP, "-p", project_name, "history"], capture_output=True,
                          text=True, timeout=60, cwd=repo.work.parent).stdout
    assert f"agent sync {first[:12]} by Ada Tester <ada@example.com>: web and db" in text
    before = containers_of(client, project_name)
    assert sorted(before) == [f"{project_name}-db-1", f"{project_name}-web-1"]
    # the unreachable repository is in error, the other stack went on
    other = agent.wait_for("unreachable", lambda s: s["state"] != "syncing", timeout=30)
    assert other["state"] == "error" and "git ls-remote" in other["reason"]

    second = repo.commit("web v2", {"deploy/compose.yaml": stack_file(
        service("web", "2", password="hunter2-new"), service("db", "1"))})
    status = agent.at(project_name, second, "synced")
    after = containers_of(client, project_name)
    assert after[f"{project_name}-db-1"] == before[f"{project_name}-db-1"]
    assert after[f"{project_name}-web-1"] != before[f"{project_name}-web-1"]
    changes = [c for op in status["plan"]["operations"] for c in op["changes"]]
    assert sorted((c["path"], c["text"]) for c in changes) == [
        ("environment.DB_PASSWORD", "environment.DB_PASSWORD: (sensitive value changed)"),
        ("environment.VERSION", 'environment.VERSION: "1" → "2"')]
    shown = httpx.get(f"{agent.base}/api/stacks/{project_name}", timeout=10).text + \
        httpx.get(f"{agent.base}/", timeout=10).text
    assert "hunter2" not in shown  # secrets masked in the diff, the status and the page
    records = agent_records(docker_engine, project_name)
    assert [r.commit for r in records] == [first, second]
    assert all(r.ok and r.command.startswith("agent sync") for r in records)
    assert (records[-1].author, records[-1].message) == ("Ada Tester <ada@example.com>",
                                                         "web v2")
    assert [h["commit"] for h in status["history"]] == [first, second]
    assert [h["message"] for h in status["history"]] == ["web and db", "web v2"]
    assert status["target"] == "engine" and status["drift_scope"] is None

    third = repo.commit("broken", {"deploy/compose.yaml": stack_file(
        service("web", "3", password="hunter2-new"), service("db", "1")) + "  bogus: [\n"})
    status = agent.at(project_name, third, "failed")
    assert status["reason"].startswith("the stack file does not load: deploy/compose.yaml:")
    assert containers_of(client, project_name) == after  # the running stack is untouched
    assert len(agent_records(docker_engine, project_name)) == 2

    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(agent.base + "/metrics", timeout=10).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    syncs = {(s.labels["stack"], s.labels["result"]): s.value
             for s in families["stackup_agent_syncs"].samples if s.name.endswith("_total")}
    assert syncs[(project_name, "synced")] >= 2 and syncs[(project_name, "failed")] >= 1
    assert syncs[("unreachable", "error")] >= 1
    states = {(s.labels["stack"], s.labels["state"]): s.value
              for s in families["stackup_agent_state"].samples}
    assert states[(project_name, "failed")] == 1 and states[(project_name, "synced")] == 0
    page = httpx.get(agent.base + "/", timeout=10).text
    assert project_name in page and "failed" in page and "unreachable" in page
    assert "<script" not in page
    # the command line reads the same status, and its exit code is not a success either
    shown = agent_cli(agent, "status", project_name)
    assert shown.returncode == 1 and json.loads(shown.stdout)["state"] == "failed"
    # a sync needs the API token
    refused = httpx.post(f"{agent.base}/api/stacks/{project_name}/sync", timeout=10,
                         headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401


SLOW_WEB = """
    healthcheck:
      test: ["CMD", "sh", "-c", "timeout 1 wget -q -O /dev/null http://127.0.0.1/"]
      interval: 1s
      timeout: 2s
      retries: 2
    deploy:
      update_config: {order: start-first, failure_action: rollback, monitor: 1s}
"""


def web_stack(version: str, healthy: bool = True) -> str:
    serve = ('mkdir -p /www && echo $$VERSION > /www/index.html && httpd -p 80 -h /www && '
             if healthy else "")
    return textwrap.dedent(f"""\
        services:
          web:
            image: busybox:local
            command: ["sh", "-c", "{serve}{LOOP}"]
            stop_grace_period: 1s
            environment: {{VERSION: "{version}"}}
        """) + textwrap.indent(textwrap.dedent(SLOW_WEB), "    ")


PROBE = ("trap 'exit 0' TERM; while :; do "
         "if timeout 3 wget -q -O - http://web/; then :; else echo FAIL; fi; "
         "sleep 0.1; done")


@pytest.mark.slow
def test_a_commit_that_never_becomes_healthy_is_rolled_back_and_says_so(
        repo: Repo, agents: Callable[[str], AgentProcess], project_name: str,
        client: docker.DockerClient, docker_engine: Any, history: None,
        receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_NOTIFY_URL", receiver.url)
    good = repo.commit("v1", {"compose.yaml": web_stack("v1")})
    agent = agents(f"""
        listen: 127.0.0.1:PORT
        stacks:
          - name: {project_name}
            repo: {repo.url}
            interval: 1s
            wait_timeout: 60s
        notify:
          - url_env: T_NOTIFY_URL
            timeout: 2s
    """)
    agent.at(project_name, good, "synced")
    probe = client.containers.run("busybox:local", ["sh", "-c", PROBE], detach=True,
                                  name=f"{project_name}-probe",
                                  network=f"{project_name}_default",
                                  labels={"io.stackup.project": project_name})
    try:
        time.sleep(1.0)
        bad = repo.commit("v2 never healthy", {"compose.yaml": web_stack("v2", healthy=False)})
        status = agent.at(project_name, bad, "rolled-back", timeout=120)
        time.sleep(1.0)
        served = probe.logs().decode().split()
    finally:
        probe.remove(force=True)
    assert status["ok"] is False and status["failing_service"] == "web", status
    assert "rolled back to revision 1" in status["reason"], status
    assert served.count("v1") > 20 and "FAIL" not in served and "v2" not in served, \
        (served, agent.log.read_text())
    # the old web still serves, the records say what happened
    env = client.containers.get(f"{project_name}-web-1").attrs["Config"]["Env"]
    assert "VERSION=v1" in env
    records = agent_records(docker_engine, project_name)
    assert [(r.outcome, r.commit) for r in records] == [("ok", good), ("failed", bad),
                                                       ("ok", good)], records
    assert records[-1].rollback_to == 1
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(
            b["event"] == "rolled-back" for b in receiver.bodies):
        time.sleep(0.1)
    rolled = [b for b in receiver.bodies if b["event"] == "rolled-back"]
    assert len(rolled) == 1 and rolled[0]["ok"] is False, receiver.bodies
    assert "ROLLED BACK" in rolled[0]["text"] and "web" in rolled[0]["text"]
    assert not any(b["event"] == "synced" and b["commit"] == bad for b in receiver.bodies)
    # the next polls do not try the failed commit again
    time.sleep(3)
    assert len(agent_records(docker_engine, project_name)) == 3
    assert agent.status(project_name)["state"] == "rolled-back"


def agent_cli(agent: AgentProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """`stackup agent --config FILE ARGS...`, with the environment the agent has."""
    return subprocess.run([STACKUP, "agent", "--config", str(agent.config), *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "T_API_TOKEN": TOKEN,
                               "T_HOOK_SECRET": HOOK_SECRET,
                               "T_NOTIFY_URL": os.environ.get("T_NOTIFY_URL", "")})


def approve(agent: AgentProcess, stack: str) -> subprocess.CompletedProcess[str]:
    return agent_cli(agent, "approve", stack)


def test_manual_waits_an_approval_applies_the_saved_plan_a_stale_one_is_refused(
        repo: Repo, agents: Callable[[str], AgentProcess], project_name: str,
        client: docker.DockerClient, docker_engine: Any, history: None) -> None:
    first = repo.commit("one", {"compose.yaml": stack_file(service("web", "1"))})
    agent = agents(f"""
        listen: 127.0.0.1:PORT
        api_token_env: T_API_TOKEN
        stacks:
          - name: {project_name}
            repo: {repo.url}
            interval: 1s
            approve: manual
    """)
    waiting = agent.at(project_name, first, "waiting-approval")
    assert waiting["pending_plan"].startswith("sha256:")
    time.sleep(2)  # the polls go on; nothing runs without the approval
    assert containers_of(client, project_name) == {}
    # without the token: refused
    refused = httpx.post(f"{agent.base}/api/stacks/{project_name}/approve", timeout=10)
    assert refused.status_code == 401 and containers_of(client, project_name) == {}
    done = approve(agent, project_name)
    assert done.returncode == 0, done.stderr
    assert "synced" in done.stderr
    assert list(containers_of(client, project_name)) == [f"{project_name}-web-1"]
    records = agent_records(docker_engine, project_name)
    assert records[-1].plan_digest == waiting["pending_plan"] and records[-1].commit == first
    agent.at(project_name, first, "synced")

    second = repo.commit("two", {"compose.yaml": stack_file(service("web", "2"))})
    agent.at(project_name, second, "waiting-approval")
    client.containers.get(f"{project_name}-web-1").stop(timeout=1)  # the engine moves
    before = containers_of(client, project_name)
    stale = approve(agent, project_name)
    assert stale.returncode == 3, stale.stderr
    assert "stale" in stale.stderr and "changed state" in stale.stderr
    assert containers_of(client, project_name) == before
    assert client.containers.get(f"{project_name}-web-1").attrs["Config"]["Env"].count(
        "VERSION=1") == 1
    assert len(agent_records(docker_engine, project_name)) == 1
    # a new plan waits, made against the engine as it is now
    again = agent.wait_for(project_name, lambda s: s["state"] == "waiting-approval"
                           and s["pending_plan"] not in (None, waiting["pending_plan"]))
    assert again["commit"] == second
    assert agent_cli(agent, "status", project_name).returncode == 1  # waiting is not synced
    triggered = agent_cli(agent, "sync", project_name)
    assert triggered.returncode == 0 and "sync of" in triggered.stderr


def test_non_destructive_holds_a_plan_that_touches_a_named_volume_or_removes_a_service(
        repo: Repo, agents: Callable[[str], AgentProcess], project_name: str,
        client: docker.DockerClient, docker_engine: Any, history: None) -> None:
    volume = "\n    volumes: [\"data:/data\"]"
    tail = "volumes:\n  data: {}\n"
    first = repo.commit("one", {"compose.yaml": stack_file(
        service("web", "1"), service("db", "1", volume), tail=tail)})
    agent = agents(f"""
        listen: 127.0.0.1:PORT
        api_token_env: T_API_TOKEN
        stacks:
          - name: {project_name}
            repo: {repo.url}
            interval: 1s
            approve: non-destructive
    """)
    agent.at(project_name, first, "synced")  # only creations: applied
    before = containers_of(client, project_name)
    second = repo.commit("db v2", {"compose.yaml": stack_file(
        service("web", "1"), service("db", "2", volume), tail=tail)})
    held = agent.at(project_name, second, "waiting-approval")
    assert "recreates service db, which mounts named volume data" in held["reason"]
    assert containers_of(client, project_name) == before
    third = repo.commit("no db", {"compose.yaml": stack_file(service("web", "2"))})
    held = agent.at(project_name, third, "waiting-approval")
    assert "removes service db" in held["reason"]
    time.sleep(1.5)  # later polls: the same plan, for the same reason, waits on
    again = agent.status(project_name)
    assert again["reason"] == held["reason"] and again["pending_plan"] == held["pending_plan"]
    assert containers_of(client, project_name) == before
    assert [r.commit for r in agent_records(docker_engine, project_name)] == [first]


def sign(body: bytes, secret: str = HOOK_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_webhook_with_a_wrong_signature_is_401_a_right_one_syncs_within_2_s(
        repo: Repo, agents: Callable[[str], AgentProcess], project_name: str,
        client: docker.DockerClient, docker_engine: Any, history: None) -> None:
    first = repo.commit("one", {"compose.yaml": stack_file(service("web", "1"))})
    agent = agents(f"""
        listen: 127.0.0.1:PORT
        webhook_secret_env: T_HOOK_SECRET
        stacks:
          - name: {project_name}
            repo: {repo.url}
            interval: 0
    """)
    agent.at(project_name, first, "synced")  # the start-up sync
    before = containers_of(client, project_name)
    second = repo.commit("two", {"compose.yaml": stack_file(service("web", "2"))})
    body = json.dumps({"ref": "refs/heads/main", "after": second}).encode()
    for headers in ({"X-Hub-Signature-256": sign(body, "wrong")},
                    {"X-Gitea-Signature": sign(body, "wrong")[7:]},
                    {"X-Gitlab-Token": "wrong"}, {}):
        bad = httpx.post(f"{agent.base}/hooks", content=body, headers=headers, timeout=10)
        assert bad.status_code == 401, bad.text
    huge = httpx.post(f"{agent.base}/hooks", content=b"x" * (2 << 20),
                      headers={"X-Hub-Signature-256": sign(b"x" * (2 << 20))}, timeout=10)
    assert huge.status_code == 413
    time.sleep(1.5)
    assert agent.status(project_name)["commit"] == first
    assert containers_of(client, project_name) == before
    sent = datetime.datetime.now(datetime.timezone.utc)
    good = httpx.post(f"{agent.base}/hooks", content=body,
                      headers={"X-Hub-Signature-256": sign(body),
                               "X-GitHub-Event": "push"}, timeout=10)
    assert good.status_code == 202 and good.json()["triggered"] == [project_name]
    status = agent.at(project_name, second, "synced", timeout=30)
    # the sync that applied it started within 2 s of the webhook (how long the apply itself
    # takes is the engine's: bench/agent_bench.py measures push → converged)
    start = datetime.datetime.fromisoformat(status["last_sync"]["start"].replace("Z", "+00:00"))
    assert (start - sent).total_seconds() < 2.0, (sent, status["last_sync"])
    assert containers_of(client, project_name) != before
    # GitLab's token and Gitea's signature are accepted too (nothing new to do)
    for headers in ({"X-Gitlab-Token": HOOK_SECRET}, {"X-Gitea-Signature": sign(body)[7:]}):
        assert httpx.post(f"{agent.base}/hooks", content=body, headers=headers,
                          timeout=10).status_code == 202


SLOW_READY = """
    healthcheck:
      test: ["CMD", "test", "-f", "/ready"]
      interval: 1s
      retries: 30
"""


def ready_after(seconds: int, version: str) -> str:
    return textwrap.dedent(f"""\
        services:
          fast:
            image: busybox:local
            command: ["sh", "-c", "{LOOP}"]
            stop_grace_period: 1s
            environment: {{VERSION: "{version}"}}
          slow:
            image: busybox:local
            command: ["sh", "-c", "sleep {seconds}; touch /ready; {LOOP}"]
            stop_grace_period: 1s
            environment: {{VERSION: "{version}"}}
        """) + textwrap.indent(textwrap.dedent(SLOW_READY), "    ")


@pytest.mark.slow
def test_sigkill_mid_apply_then_a_restart_converges_without_a_double_apply(
        repo: Repo, agents: Callable[[str], AgentProcess], project_name: str,
        client: docker.DockerClient, docker_engine: Any, history: None) -> None:
    first = repo.commit("one", {"compose.yaml": ready_after(0, "1")})
    agent = agents(f"""
        listen: 127.0.0.1:PORT
        stacks:
          - name: {project_name}
            repo: {repo.url}
            interval: 1s
    """)
    agent.at(project_name, first, "synced")
    second = repo.commit("two", {"compose.yaml": ready_after(8, "2")})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # both replaced, slow not yet healthy: mid-apply
        envs = {}
        for found in client.api.containers(all=True, filters={
                "label": f"io.stackup.project={project_name}"}):
            try:  # one list call, then each one (it may go away in between)
                envs[found["Id"]] = client.api.inspect_container(found["Id"])["Config"]["Env"]
            except docker.errors.NotFound:
                continue
        if envs and all("VERSION=2" in env for env in envs.values()) and len(envs) == 2:
            break
        time.sleep(0.1)
    assert agent.status(project_name)["state"] == "syncing"
    agent.stop(signal.SIGKILL)
    at_kill = containers_of(client, project_name)
    assert [r.commit for r in agent_records(docker_engine, project_name)] == [first]

    agent.start()
    agent.at(project_name, second, "synced", timeout=90)
    assert containers_of(client, project_name) == at_kill  # nothing applied twice
    records = agent_records(docker_engine, project_name)
    assert [(r.commit, r.outcome) for r in records] == [(first, "ok"), (second, "ok")]
    time.sleep(2.5)  # more polls: still one record of the second commit
    assert len(agent_records(docker_engine, project_name)) == 2


def test_drift_is_healed_and_reported(
        repo: Repo, agents: Callable[[str], AgentProcess], project_name: str,
        client: docker.DockerClient, docker_engine: Any, history: None,
        receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_NOTIFY_URL", receiver.url)
    first = repo.commit("one", {"compose.yaml": stack_file(service("web", "1"))})
    agent = agents(f"""
        listen: 127.0.0.1:PORT
        stacks:
          - name: {project_name}
            repo: {repo.url}
            interval: 1s
            heal: true
        notify:
          - url_env: T_NOTIFY_URL
    """)
    agent.at(project_name, first, "synced")
    client.containers.get(f"{project_name}-web-1").remove(force=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(
            b["event"] == "drift-healed" for b in receiver.bodies):
        time.sleep(0.1)
    healed = [b for b in receiver.bodies if b["event"] == "drift-healed"]
    assert healed and healed[0]["ok"] is True, receiver.bodies
    assert list(containers_of(client, project_name)) == [f"{project_name}-web-1"]
    assert agent.status(project_name)["state"] == "synced"


def test_drift_without_heal_is_reported_not_touched(
        repo: Repo, agents: Callable[[str], AgentProcess], project_name: str,
        client: docker.DockerClient, history: None) -> None:
    first = repo.commit("one", {"compose.yaml": stack_file(service("web", "1"))})
    agent = agents(f"""
        listen: 127.0.0.1:PORT
        stacks:
          - name: {project_name}
            repo: {repo.url}
            interval: 1s
    """)
    agent.at(project_name, first, "synced")
    client.containers.get(f"{project_name}-web-1").stop(timeout=1)
    drifted = agent.at(project_name, first, "drifted", timeout=30)
    assert drifted["ok"] is False and "differs from the desired state" in drifted["reason"]
    time.sleep(2)
    assert client.containers.get(f"{project_name}-web-1").status == "exited"  # untouched
    text = httpx.get(agent.base + "/metrics", timeout=10).text
    assert f'stackup_agent_drift{{stack="{project_name}"}} 1.0' in text


def test_a_network_remote_served_by_git_daemon(
        repo: Repo, agents: Callable[[str], AgentProcess], project_name: str,
        client: docker.DockerClient, history: None) -> None:
    port = free_port()
    daemon = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={repo.remote.parent}",
         "--listen=127.0.0.1", f"--port={port}", str(repo.remote.parent)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        first = repo.commit("one", {"compose.yaml": stack_file(service("web", "1"))})
        url = f"git://127.0.0.1:{port}/remote.git"
        deadline = time.monotonic() + 10
        while subprocess.run(["git", "ls-remote", url], capture_output=True).returncode:
            assert time.monotonic() < deadline, "git daemon did not start"
            time.sleep(0.1)
        agent = agents(f"""
            listen: 127.0.0.1:PORT
            stacks:
              - name: {project_name}
                repo: {url}
                interval: 1s
        """)
        agent.at(project_name, first, "synced")
        second = repo.commit("two", {"compose.yaml": stack_file(service("web", "2"))})
        agent.at(project_name, second, "synced")
        env = client.containers.get(f"{project_name}-web-1").attrs["Config"]["Env"]
        assert "VERSION=2" in env
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser")
                 if os.path.exists(p)), None)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                             "(apt-get install chromium)")
def test_the_status_page_in_headless_chromium_shows_every_stack_state(
        repo: Repo, agents: Callable[[str], AgentProcess], project_name: str,
        tmp_path: Path, history: None) -> None:
    first = repo.commit("one", {"compose.yaml": stack_file(service("web", "1"))})
    agent = agents(f"""
        listen: 127.0.0.1:PORT
        stacks:
          - name: {project_name}
            repo: {repo.url}
            interval: 1s
          - name: unreachable
            repo: file://{repo.remote}-missing
            interval: 1s
    """)
    agent.at(project_name, first, "synced")
    agent.wait_for("unreachable", lambda s: s["state"] == "error")
    assert CHROMIUM is not None
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--window-size=1400,600"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", agent.base + "/"],
                         capture_output=True, text=True, timeout=120).stdout
    assert f">{project_name}</a>" in dom and ">synced</span>" in dom
    assert ">unreachable</a>" in dom and ">error</span>" in dom and first[:12] in dom
    shot = tmp_path / "status.png"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", agent.base + "/"],
                   capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


class SmartHttp:
    """git's own `http-backend` behind a test-side HTTP server that wants Basic auth whose
    password is ``token`` (a thread in the test; the product starts none)."""

    def __init__(self, root: Path, token: str) -> None:
        import base64

        backend = subprocess.run(["git", "--exec-path"], capture_output=True,
                                 text=True).stdout.strip() + "/git-http-backend"
        self.seen_tokens: list[str] = []
        seen = self.seen_tokens

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                auth = self.headers.get("authorization", "")
                password = ""
                if auth.startswith("Basic "):
                    password = base64.b64decode(auth[6:]).decode().partition(":")[2]
                if password != token:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.end_headers()
                    return
                seen.append(password)
                path, _, query = self.path.partition("?")
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                env = {"GIT_PROJECT_ROOT": str(root), "GIT_HTTP_EXPORT_ALL": "1",
                       "PATH_INFO": path, "QUERY_STRING": query,
                       "REQUEST_METHOD": self.command, "REMOTE_USER": "agent",
                       "CONTENT_TYPE": self.headers.get("content-type", ""),
                       "CONTENT_LENGTH": str(len(body)),
                       "HTTP_CONTENT_ENCODING": self.headers.get("content-encoding", ""),
                       "GIT_PROTOCOL": self.headers.get("git-protocol", "")}
                out = subprocess.run([backend], input=body, capture_output=True, env=env,
                                     timeout=60).stdout
                head, _, rest = out.partition(b"\r\n\r\n")
                status = 200
                headers = []
                for line in head.decode().split("\r\n"):
                    key, _, value = line.partition(": ")
                    if key.lower() == "status":
                        status = int(value.split()[0])
                    elif key:
                        headers.append((key, value))
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(rest)))
                self.end_headers()
                self.wfile.write(rest)

            do_GET = _serve  # noqa: N815 - http.server's names
            do_POST = _serve  # noqa: N815

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_git_token_from_the_environment_reaches_an_authenticated_remote_and_no_output(
        repo: Repo, agents: Callable[[str], AgentProcess], project_name: str,
        client: docker.DockerClient, history: None, monkeypatch: pytest.MonkeyPatch) -> None:
    git_token = "git-token-" + uuid.uuid4().hex
    monkeypatch.setenv("T_GIT_TOKEN", git_token)
    first = repo.commit("one", {"compose.yaml": stack_file(service("web", "1"))})
    http = SmartHttp(repo.remote.parent, git_token)
    try:
        agent = agents(f"""
            listen: 127.0.0.1:PORT
            stacks:
              - name: {project_name}
                repo: {http.base}/remote.git
                interval: 1s
                git_token_env: T_GIT_TOKEN
              - name: no-token
                repo: {http.base}/remote.git
                interval: 1s
        """)
        agent.at(project_name, first, "synced")
        assert http.seen_tokens and list(containers_of(client, project_name))
        refused = agent.wait_for("no-token", lambda s: s["state"] != "syncing", timeout=30)
        assert refused["state"] == "error" and "git ls-remote" in refused["reason"]
        everything = (httpx.get(agent.base + "/api/stacks", timeout=10).text
                      + httpx.get(agent.base + f"/api/stacks/{project_name}", timeout=10).text
                      + httpx.get(agent.base + "/", timeout=10).text
                      + httpx.get(agent.base + "/metrics", timeout=10).text
                      + agent.log.read_text())
        assert git_token not in everything
        state = agent.folder / ".stackup-agent"
        assert not any(git_token in p.read_text(errors="replace")
                       for p in state.rglob("*") if p.is_file() and p.stat().st_size < 1 << 20)
    finally:
        http.close()
