"""Rolling updates (deploy.update_config) as plan shapes, and what they do on the fake engine."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import anyio
import pytest

from stackup.app.containers import observe
from stackup.app.container_backend import ContainerBackend
from stackup.testing.fake import FakeEngine
from stackup.run.events import Outcome
from stackup.run.execute import execute
from stackup.core.model import Deploy, FrozenMap, Healthcheck, Port, Project, UpdateConfig
from stackup.reconcile import plan_up
from stackup.core.render import plan_text
from tests.test_reconcile import container, make_project, observed, svc

HC = Healthcheck(test=("CMD", "true"))


def web(version: str, replicas: int = 2, **update: Any) -> Project:
    config = UpdateConfig(**update) if update else None
    return make_project(svc("web", scale=replicas, healthcheck=HC,
                            environment=FrozenMap({"V": version}),
                            deploy=Deploy(update_config=config)))


def test_start_first_golden() -> None:
    """The plan shows batches and order: new beside old, healthy, then the swap; the old
    containers are kept until the last check passes (rollback)."""
    new = web("2", order="start-first", parallelism=1, delay=1.0, failure_action="rollback")
    stale = dataclasses.replace(new.services["web"], environment=FrozenMap({"V": "1"}))
    state = observed(new, *(container(new, "web", n, stale=stale) for n in (1, 2)))
    assert plan_text(plan_up(new, state)) == """\
#1  + create demo-web-1-next                       environment.V changed (batch 1/2, start-first)
#2  > start  demo-web-1-next                       environment.V changed (batch 1/2, start-first)                         <- #1
#3  . wait   demo-web-1-next healthy               update_config: healthy                                                 <- #2
#4  - detach demo-web-1-next demo_default          publish                                                                <- #3
#5  + attach demo-web-1-next default               publish                                                                <- #4
#6  - detach demo-web-1 demo_default               drain                                                                  <- #5
#7  - stop   demo-web-1                            replaced                                                               <- #6
#8  ~ rename demo-web-1 → web100000000_demo-web-1  make way                                                               <- #7
#9  ~ rename demo-web-1-next → demo-web-1          environment.V changed (batch 1/2, start-first)                         <- #8
#10 - remove demo-web-1-next                       restore demo-web-1                                                     if #1|#2|#3|#4|#5 failed
#11 . check  web rollout                           batch 1/2: at most 0 of 2 replicas may fail (failure_action rollback)  after #9
#12 . delay  1s                                    update_config.delay between batches                                    <- #11
#13 + create demo-web-2-next                       environment.V changed (batch 2/2, start-first)                         <- #12
#14 > start  demo-web-2-next                       environment.V changed (batch 2/2, start-first)                         <- #13
#15 . wait   demo-web-2-next healthy               update_config: healthy                                                 <- #14
#16 - detach demo-web-2-next demo_default          publish                                                                <- #15
#17 + attach demo-web-2-next default               publish                                                                <- #16
#18 - detach demo-web-2 demo_default               drain                                                                  <- #17
#19 - stop   demo-web-2                            replaced                                                               <- #18
#20 ~ rename demo-web-2 → web200000000_demo-web-2  make way                                                               <- #19
#21 ~ rename demo-web-2-next → demo-web-2          environment.V changed (batch 2/2, start-first)                         <- #20
#22 - remove demo-web-2-next                       restore demo-web-2                                                     if #13|#14|#15|#16|#17 failed
#23 . check  web rollout                           batch 2/2: at most 0 of 2 replicas may fail (failure_action rollback)  after #21
#24 - remove web100000000_demo-web-1               replaced                                                               <- #9 #23
#25 - remove web200000000_demo-web-2               replaced                                                               <- #21 #23
#26 - remove demo-web-1                            rollback demo-web-1                                                    <- #9  if #11|#23 failed
#27 ~ rename web100000000_demo-web-1 → demo-web-1  rollback demo-web-1                                                    <- #26  if #11|#23 failed
#28 + attach demo-web-1 default                    rollback demo-web-1                                                    <- #27  if #11|#23 failed
#29 > start  demo-web-1                            rollback demo-web-1                                                    <- #28  if #11|#23 failed
#30 - remove demo-web-2                            rollback demo-web-2                                                    <- #21  if #11|#23 failed
#31 ~ rename web200000000_demo-web-2 → demo-web-2  rollback demo-web-2                                                    <- #30  if #11|#23 failed
#32 + attach demo-web-2 default                    rollback demo-web-2                                                    <- #31  if #11|#23 failed
#33 > start  demo-web-2                            rollback demo-web-2                                                    <- #32  if #11|#23 failed
Plan: 2 to replace.
"""


def test_start_first_falls_back_to_stop_first_and_says_why() -> None:
    project = make_project(svc("web", ports=(Port(80, "8080"),), deploy=Deploy(
        update_config=UpdateConfig(order="start-first")), environment=FrozenMap({"V": "2"})))
    stale = dataclasses.replace(project.services["web"], environment=FrozenMap({"V": "1"}))
    plan = plan_up(project, observed(project, container(project, "web", stale=stale)))
    assert plan.notes == ("service web: update_config.order start-first is not possible (host "
                          "port 8080 can be bound by one container only); replacing stop-first",)
    assert plan.operations[0].op_id == "stop_container:web:1"
    named = make_project(svc("db", container_name="db", deploy=Deploy(
        update_config=UpdateConfig(order="start-first"))))
    assert "container_name" in plan_up(named, observed(named, dataclasses.replace(
        container(named, "db"), name="db", config_hash="old"))).notes[0]


def test_the_rollout_strategy_is_not_part_of_the_config_hash() -> None:
    from stackup.core.hashing import config_hash

    plain, rolled = web("1"), web("1", order="start-first", parallelism=3)
    assert config_hash(plain, plain.services["web"]) == \
        config_hash(rolled, rolled.services["web"])


# --- on the fake engine ------------------------------------------------------------------------


def converge(engine: FakeEngine, project: Project) -> tuple[Outcome, list[Any]]:
    plan = plan_up(project, observe(project, engine))
    events: list[Any] = []
    outcome = anyio.run(lambda: execute(plan, ContainerBackend(engine), poll_interval=0.001,
                                        on_event=events.append))
    return outcome, events


def running(engine: FakeEngine) -> dict[str, tuple[str, str]]:
    """name → (container id, V) of the running containers."""
    import json

    return {c.name: (c.container_id, json.loads(c.config_json)["environment"]["V"])
            for c in engine.containers.values() if c.state == "running"}


@pytest.fixture()
def engine() -> FakeEngine:
    fake = FakeEngine()
    outcome, _ = converge(fake, web("1", replicas=3))
    assert outcome.ok
    return fake


def test_start_first_keeps_a_replica_serving_at_every_step(engine: FakeEngine) -> None:
    before = running(engine)
    outcome, events = converge(engine, web("2", replicas=3, order="start-first"))
    assert outcome.ok, outcome.failed
    after = running(engine)
    assert sorted(after) == ["demo-web-1", "demo-web-2", "demo-web-3"]
    assert {v for _, v in after.values()} == {"2"}
    assert not set(i for i, _ in after.values()) & set(i for i, _ in before.values())
    assert len(engine.containers) == 3  # no -next, no old ones aside
    # each new container was started (and healthy) before its old one was stopped
    order = [e.op_id for e in events if e.phase == "done"]
    for n in (1, 2, 3):
        assert order.index(f"wait_healthy:web:{n}:new") < order.index(f"stop_container:web:{n}")
    assert converge(engine, web("2", replicas=3, order="start-first"))[0].done == ()


def test_rollback_restores_every_replica_when_a_batch_fails(engine: FakeEngine) -> None:
    before = running(engine)
    engine.fail_on("start_container", "demo-web-2-next")
    outcome, _ = converge(engine, web("2", replicas=3, order="start-first",
                                      failure_action="rollback"))
    assert not outcome.ok
    assert any("rollout of service web stopped" in str(e) for _, e in outcome.failed)
    assert running(engine) == before  # replica 1 rolled back, 2 restored, 3 never touched
    assert len(engine.containers) == 3


def test_pause_stops_after_the_failed_batch_and_continue_goes_on(engine: FakeEngine) -> None:
    engine.fail_on("start_container", "demo-web-1-next")
    outcome, _ = converge(engine, web("2", replicas=3, order="start-first"))  # pause
    assert not outcome.ok
    assert {name: v for name, (_, v) in running(engine).items()} == {
        "demo-web-1": "1", "demo-web-2": "1", "demo-web-3": "1"}
    engine.fail_on("start_container", "demo-web-1-next")
    outcome, _ = converge(engine, web("2", replicas=3, order="start-first",
                                      failure_action="continue"))
    assert not outcome.ok
    assert {name: v for name, (_, v) in running(engine).items()} == {
        "demo-web-1": "1", "demo-web-2": "2", "demo-web-3": "2"}
    assert len(engine.containers) == 3


def test_max_failure_ratio_tolerates_failures(engine: FakeEngine) -> None:
    engine.fail_on("start_container", "demo-web-1-next")
    outcome, _ = converge(engine, web("2", replicas=3, order="start-first",
                                      max_failure_ratio=0.34))
    assert [op.op_id for op, _ in outcome.failed] == ["start_container:web:1"]
    assert {name: v for name, (_, v) in running(engine).items()} == {
        "demo-web-1": "1", "demo-web-2": "2", "demo-web-3": "2"}


def test_stop_first_batches_with_a_delay(engine: FakeEngine) -> None:
    started = time.monotonic()
    outcome, events = converge(engine, web("2", replicas=3, parallelism=2, delay=0.3,
                                           monitor=0.05))
    assert outcome.ok, outcome.failed
    assert time.monotonic() - started >= 0.3
    done = [e.subject for e in events if e.phase == "done" and e.kind.value == "stop_container"]
    assert done[-1] == "demo-web-3"  # the second batch comes after the delay
    assert {v for _, v in running(engine).values()} == {"2"}


def test_an_unhealthy_replacement_is_removed_and_the_old_one_keeps_running(
        engine: FakeEngine) -> None:
    before = running(engine)
    engine.health("web", final="unhealthy")
    outcome, _ = converge(engine, web("2", replicas=3, order="start-first"))
    assert any("unhealthy" in str(e) for _, e in outcome.failed)
    assert running(engine) == before
