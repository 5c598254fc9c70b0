"""`stackup agent` with ``target: swarm`` on a real single-node swarm (issue 22): a first commit
deploys the stack's services; each of two commits whose service never becomes healthy is rolled
back (once by the Swarm's own ``failure_action: rollback``, once by the agent after the Swarm
paused the update; both converge to the last good revision), the old task serves all along, and
the status, the revision records and the notification say rolled back, never "synced" (doco-cd
issue #1616: such a rollback notified as "Deployment completed"). Drift the swarm's plan sees (a
replica count changed by hand) is healed. The remote is a bare git repository on local disk
(``file://``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from stackup.app import revisions as R
from tests.integration.test_agent import AgentProcess, Receiver, Repo, agents_in

pytestmark = [pytest.mark.slow, pytest.mark.swarm]

STACK = """\
services:
  app:
    image: busybox:local
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"]
    stop_grace_period: 1s
    environment: {MODE: "%s"}
    healthcheck:
      test: ["CMD", "sh", "-c", "test \\"$$MODE\\" = good"]
      interval: 1s
      retries: 1
    deploy:
      update_config: {order: start-first, failure_action: rollback, monitor: 2s}
      rollback_config: {order: start-first, monitor: 1s}
      restart_policy: {condition: any, delay: 1s}
"""


@pytest.fixture()
def agents(tmp_path: Path, swarm_project: str, docker_engine: Any
           ) -> Iterator[Callable[[str], AgentProcess]]:
    """Agents, stopped before the project's services are removed (this fixture comes after
    ``swarm_project``); the project's revision records removed last."""
    yield from agents_in(tmp_path)
    numbers = [int(x[R.NUMBER]) for x in docker_engine.list_revisions(swarm_project)]
    docker_engine.remove_revisions(swarm_project, numbers)


def running(api: docker.APIClient, project: str) -> list[str]:
    tasks = api.tasks(filters={"service": f"{project}_app", "desired-state": "running"})
    return sorted(t["ID"] for t in tasks if t["Status"]["State"] == "running")


def test_a_swarm_stack_deploys_and_a_commit_that_never_becomes_healthy_is_rolled_back(
        tmp_path: Path, swarm: docker.APIClient, swarm_project: str, docker_engine: Any,
        agents: Callable[[str], AgentProcess], monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Repo(tmp_path)
    receiver = Receiver()
    try:
        monkeypatch.setenv("T_NOTIFY_URL", receiver.url)
        good = repo.commit("app, healthy", {"compose.yaml": STACK % "good"})
        agent = agents(f"""
            listen: 127.0.0.1:PORT
            stacks:
              - name: {swarm_project}
                repo: {repo.url}
                target: swarm
                interval: 1s
                wait_timeout: 60s
                heal: true
            notify:
              - url_env: T_NOTIFY_URL
                timeout: 2s
        """)
        status = agent.at(swarm_project, good, "synced")
        assert status["target"] == "swarm" and "replica count" in status["drift_scope"]
        [old] = running(swarm, swarm_project)

        def rolled_back(message: str, text: str) -> tuple[str, dict[str, Any]]:
            """Commit ``text``; the state it ends in, with the old task running all along."""
            seen: list[list[str]] = []  # the running tasks, sampled during the rollout
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    seen.append(running(swarm, swarm_project))
                    time.sleep(0.2)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            commit = repo.commit(message, {"compose.yaml": text})
            try:
                status = agent.at(swarm_project, commit, "rolled-back", timeout=120)
            finally:
                done.set()
                sampler.join()
            assert seen and all(old in tasks for tasks in seen)  # the old task served
            assert running(swarm, swarm_project) == [old]
            spec = swarm.inspect_service(f"{swarm_project}_app")["Spec"]
            assert "MODE=good" in spec["TaskTemplate"]["ContainerSpec"]["Env"]
            assert spec["UpdateConfig"]["FailureAction"] == "rollback"
            assert status["ok"] is False and status["failing_service"] == "app"
            return commit, status

        # the Swarm rolls the update back itself (failure_action: rollback): a failed sync
        bad, status = rolled_back("app, never healthy", STACK % "bad")
        assert f"the update of service {swarm_project}_app was rolled back" in status["reason"]
        assert status["reason"].endswith(f"rolled back to revision 1 (commit {good[:12]})")

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
                b.get("event") == "rolled-back" for b in receiver.bodies):
            time.sleep(0.1)
        events = [(b.get("event"), b.get("ok")) for b in receiver.bodies]
        assert events == [("synced", True), ("rolled-back", False)], receiver.bodies
        told = receiver.bodies[-1]
        assert "ROLLED BACK" in told["text"] and "synced" not in told["text"].lower()

        # the Swarm only pauses the update (its default): the agent converges back itself
        worse, status = rolled_back("pause instead", (STACK % "worse").replace(
            "failure_action: rollback", "failure_action: pause"))
        assert f"the update of service {swarm_project}_app paused" in status["reason"]
        assert status["reason"].endswith(f"rolled back to revision 3 (commit {good[:12]})")

        records = sorted((R.from_labels(labels)
                          for labels in docker_engine.list_revisions(swarm_project)),
                         key=lambda r: r.number)
        assert [(r.outcome, r.commit, r.rollback_to) for r in records] == [
            ("ok", good, None), ("failed", bad, None), ("ok", good, 1),
            ("failed", worse, None), ("ok", good, 3)]
        assert (records[1].author, records[1].message) == ("Ada Tester <ada@example.com>",
                                                           "app, never healthy")
        assert [h["outcome"] for h in status["history"]] == ["ok", "failed", "ok", "failed",
                                                             "ok"]
        # the next polls find the swarm where the rollback left it: rolled back, not synced
        time.sleep(2.5)
        again = agent.status(swarm_project)
        assert (again["state"], again["commit"]) == ("rolled-back", worse)
        assert [b.get("event") for b in receiver.bodies].count("synced") == 1

        # drift a swarm's plan sees (a replica count changed by hand) is healed and reported
        service = swarm.inspect_service(f"{swarm_project}_app")
        swarm.update_service(service["ID"], service["Version"]["Index"],
                             mode=docker.types.ServiceMode("replicated", replicas=2),
                             fetch_current_spec=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and receiver.bodies[-1].get("event") != \
                "drift-healed":
            time.sleep(0.2)
        assert receiver.bodies[-1]["event"] == "drift-healed", receiver.bodies
        spec = swarm.inspect_service(f"{swarm_project}_app")["Spec"]
        assert spec["Mode"]["Replicated"]["Replicas"] == 1
        assert agent.status(swarm_project)["state"] == "rolled-back"  # still, and says so
    finally:
        receiver.close()


def test_manual_on_a_swarm_applies_the_saved_swarm_plan_and_refuses_a_stale_one(
        tmp_path: Path, swarm: docker.APIClient, swarm_project: str, docker_engine: Any,
        agents: Callable[[str], AgentProcess]) -> None:
    from tests.integration.test_agent import approve

    repo = Repo(tmp_path)
    first = repo.commit("one", {"compose.yaml": STACK % "good"})
    agent = agents(f"""
        listen: 127.0.0.1:PORT
        api_token_env: T_API_TOKEN
        stacks:
          - name: {swarm_project}
            repo: {repo.url}
            target: swarm
            interval: 1s
            approve: manual
    """)
    waiting = agent.at(swarm_project, first, "waiting-approval")
    assert waiting["pending_plan"].startswith("sha256:")
    assert swarm.services(filters={"name": f"{swarm_project}_app"}) == []  # nothing ran
    done = approve(agent, swarm_project)
    assert done.returncode == 0 and "synced" in done.stderr, done.stderr
    assert len(running(swarm, swarm_project)) == 1
    records = [R.from_labels(labels) for labels in docker_engine.list_revisions(swarm_project)]
    assert [(r.plan_digest, r.commit) for r in records] == [(waiting["pending_plan"], first)]

    second = repo.commit("two", {"compose.yaml": STACK % "two"})
    agent.at(swarm_project, second, "waiting-approval")
    service = swarm.inspect_service(f"{swarm_project}_app")  # the swarm moves
    swarm.update_service(service["ID"], service["Version"]["Index"],
                         mode=docker.types.ServiceMode("replicated", replicas=2),
                         fetch_current_spec=True)
    stale = approve(agent, swarm_project)
    assert stale.returncode == 3 and "stale" in stale.stderr, stale.stderr
    spec = swarm.inspect_service(f"{swarm_project}_app")["Spec"]
    assert "MODE=good" in spec["TaskTemplate"]["ContainerSpec"]["Env"]
    assert len(docker_engine.list_revisions(swarm_project)) == 1
