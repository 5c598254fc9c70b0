"""execute against the in-memory FakeEngine: convergence, scheduling, failures, waits, limits."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import anyio
import pytest

from stackup.engine.fake import FakeEngine
from stackup.errors import EngineError
from stackup.execute import Event, Outcome, execute
from stackup.model import (Dependency, FrozenMap, Healthcheck, Mount, Network, Project, Service,
                           ServiceNetwork, Volume)
from stackup.observed import ObservedState
from stackup.plan import Plan
from stackup.reconcile import UpOptions, plan_down, plan_up

CHECK = Healthcheck(test=("CMD", "true"))


def svc(name: str, *deps: Dependency, **kw: Any) -> Service:
    return Service(name, image="busybox:local", networks=(ServiceNetwork("default"),),
                   depends_on=deps, **kw)


def make_project(*services: Service) -> Project:
    return Project("demo", "/w", services=FrozenMap({s.name: s for s in services}),
                   networks=FrozenMap({"default": Network("default", "demo_default")}),
                   volumes=FrozenMap({"data": Volume("data", "demo_data")}))


def observe(engine: FakeEngine, project: Project) -> ObservedState:
    return engine.observe(project.name,
                          networks=[n.name for n in project.networks.values()],
                          volumes=[v.name for v in project.volumes.values()],
                          images=[s.image_ref(project.name) for s in project.services.values()])


def run(plan: Plan, engine: FakeEngine, project: Project | None, **kw: Any
        ) -> tuple[Outcome, list[tuple[float, Event]]]:
    events: list[tuple[float, Event]] = []
    kw.setdefault("poll_interval", 0.01)

    async def main() -> Outcome:
        return await execute(plan, engine, project,
                             on_event=lambda e: events.append((time.monotonic(), e)), **kw)

    return anyio.run(main), events


def when(events: list[tuple[float, Event]], op_id: str, phase: str) -> float:
    return next(t for t, e in events if e.op_id == op_id and e.phase == phase)


STACK = make_project(
    svc("db", volumes=(Mount("volume", "/data", "data"), Mount("volume", "/tmp/anon")),
        healthcheck=CHECK),
    svc("migrate", Dependency("db", "service_healthy")),
    svc("api", Dependency("db", "service_healthy"),
        Dependency("migrate", "service_completed_successfully"),
        environment=FrozenMap({"VERSION": "1"})),
    svc("web", Dependency("api")))


def up(engine: FakeEngine, project: Project, **options: Any) -> tuple[Plan, Outcome]:
    plan = plan_up(project, observe(engine, project), UpOptions(**options))
    outcome, _ = run(plan, engine, project)
    return plan, outcome


def test_runs_to_convergence_then_nothing_to_do_then_down() -> None:
    engine = FakeEngine()
    engine.health("db", after=2)
    engine.exit_with("migrate", 0, after=1)
    plan, outcome = up(engine, STACK)
    assert outcome.ok and len(outcome.done) == len(plan.operations) == 8
    assert engine.by_name("demo-db-1").health == "healthy"
    rerun = ["wait_healthy:db", "start_container:migrate:1"]
    again = plan_up(STACK, observe(engine, STACK))
    # a second up changes nothing but, like Compose, starts the exited one-shot again
    assert [op.op_id for op in again.operations] == rerun
    changed = dataclasses.replace(
        STACK, services=FrozenMap({**STACK.services, "api": dataclasses.replace(
            STACK.services["api"], environment=FrozenMap({"VERSION": "2"}))}))
    old_id = engine.by_name("demo-api-1").container_id
    plan, outcome = up(engine, changed)
    assert outcome.ok
    assert [op.op_id for op in plan.operations] == [*rerun, "wait_completed:migrate",
                                                    "recreate_container:api:1"]
    assert engine.by_name("demo-api-1").container_id != old_id
    assert old_id not in engine.containers
    assert [op.op_id for op in plan_up(changed, observe(engine, changed)).operations] == rerun
    down = plan_down(changed, observe(engine, changed), remove_volumes=True,
                     remove_orphans=False, timeout=1)
    outcome, _ = run(down, engine, changed)
    assert outcome.ok
    assert engine.containers == {} and engine.networks == {} and engine.volumes == {}


def test_operations_start_as_soon_as_their_dependencies_finish() -> None:
    project = make_project(svc("db", healthcheck=CHECK), svc("api", Dependency("db",
                                                                               "service_healthy")),
                           svc("cache"), svc("web", Dependency("cache")))
    engine = FakeEngine(latency=0.02)
    engine.health("db", after=15)  # a slow branch: about 15 polls before db is healthy
    plan = plan_up(project, observe(engine, project))
    outcome, events = run(plan, engine, project, poll_interval=0.02)
    assert outcome.ok
    web_started = when(events, "create_container:web:1", "started")
    assert web_started < when(events, "wait_healthy:db", "done")
    assert web_started - when(events, "create_container:cache:1", "done") < 0.05
    # api's container is created while db is still unhealthy, and started only once it is
    healthy = when(events, "wait_healthy:db", "done")
    assert when(events, "create_container:api:1", "started") < healthy
    [api_start] = [c for c in engine.calls_of("start_container") if c.subject == "demo-api-1"]
    assert api_start.start >= healthy


def test_failure_skips_dependents_but_not_independent_branches() -> None:
    project = make_project(svc("db"), svc("api", Dependency("db")), svc("web", Dependency("api")),
                           svc("cache"))
    engine = FakeEngine()
    engine.fail_on("start_container", "demo-db-1")
    plan = plan_up(project, observe(engine, project))
    outcome, events = run(plan, engine, project)
    assert not outcome.ok
    assert [(op.op_id, str(err)) for op, err in outcome.failed] == [
        ("create_container:db:1", "injected failure: start_container demo-db-1")]
    assert [op.op_id for op in outcome.skipped] == ["create_container:api:1",
                                                    "create_container:web:1"]
    skipped = {e.op_id: e.error for _, e in events if e.phase == "skipped"}
    assert skipped == {
        "create_container:api:1": "dependency demo-db-1 failed; demo-api-1 was created, "
                                  "not started",
        "create_container:web:1": "dependency demo-api-1 was skipped; demo-web-1 was created, "
                                  "not started"}
    assert engine.by_name("demo-api-1").state == "created"
    assert engine.by_name("demo-cache-1").state == "running"


def test_unhealthy_dependency_fails_the_wait() -> None:
    project = make_project(svc("db", healthcheck=CHECK), svc("api", Dependency("db",
                                                                               "service_healthy")))
    engine = FakeEngine()
    engine.health("db", after=1, final="unhealthy")
    outcome, _ = run(plan_up(project, observe(engine, project)), engine, project)
    assert [(op.op_id, err.summary) for op, err in outcome.failed] == [
        ("wait_healthy:db", "service db is unhealthy")]
    assert [op.op_id for op in outcome.skipped] == ["create_container:api:1"]


def test_wait_times_out() -> None:
    project = make_project(svc("db", healthcheck=CHECK), svc("api", Dependency("db",
                                                                               "service_healthy")))
    engine = FakeEngine()
    engine.health("db", after=10_000)
    outcome, _ = run(plan_up(project, observe(engine, project)), engine, project,
                     wait_timeout=0.1)
    assert [err.summary for _, err in outcome.failed] == [
        "timed out after 0.1s waiting for service db to be healthy"]


def test_failing_one_shot_reports_exit_code_and_last_log_lines() -> None:
    project = make_project(svc("migrate"),
                           svc("app", Dependency("migrate", "service_completed_successfully")))
    engine = FakeEngine()
    engine.exit_with("migrate", 3, [f"line {i}" for i in range(15)], after=2)
    outcome, _ = run(plan_up(project, observe(engine, project)), engine, project)
    ((op, err),) = outcome.failed
    assert op.op_id == "wait_completed:migrate"
    assert err.summary == "service migrate exited with code 3"
    assert err.detail.splitlines() == ["last log lines of demo-migrate-1:",
                                       *(f"  line {i}" for i in range(5, 15))]
    assert [op.op_id for op in outcome.skipped] == ["create_container:app:1"]


def test_concurrency_is_bounded_by_parallel() -> None:
    project = make_project(*(svc(f"s{i}") for i in range(8)))
    engine = FakeEngine(latency=0.03)
    plan = plan_up(project, observe(engine, project))
    engine.max_in_flight = 0
    outcome, _ = run(plan, engine, project, parallel=3)
    assert outcome.ok
    assert engine.max_in_flight == 3


def test_cancellation_propagates_cleanly() -> None:
    project = make_project(svc("db", healthcheck=CHECK), svc("api", Dependency("db",
                                                                               "service_healthy")))
    engine = FakeEngine()
    engine.health("db", after=10_000)
    plan = plan_up(project, observe(engine, project))

    async def main() -> None:
        with anyio.fail_after(0.2):
            await execute(plan, engine, project, poll_interval=0.01)

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        anyio.run(main)
    assert time.monotonic() - started < 2
    assert all(c.state == "created" for c in engine.containers.values() if c.name == "demo-api-1")


def test_fake_engine_refuses_what_the_project_does_not_own() -> None:
    engine = FakeEngine()
    engine.add_network("shared")
    project = make_project(svc("web"))
    up(engine, project)
    container_id = engine.by_name("demo-web-1").container_id
    with pytest.raises(EngineError, match="does not belong to project other"):
        engine.remove_container("other", container_id)
    with pytest.raises(EngineError, match="refusing to remove network shared"):
        engine.remove_network("demo", "shared")
    with pytest.raises(EngineError, match="in use by demo-web-1"):
        engine.remove_network("demo", "demo_default")


def test_scale_down_stop_and_start_through_the_executor() -> None:
    from stackup.reconcile import plan_start, plan_stop

    project = make_project(svc("db"), svc("worker", Dependency("db")))
    engine = FakeEngine()
    _, outcome = up(engine, project, scale=FrozenMap({"worker": 3}))
    assert outcome.ok and len(engine.containers) == 4
    plan, outcome = up(engine, project)
    assert outcome.ok and [op.op_id for op in plan.operations] == [
        "remove_container:worker:3", "remove_container:worker:2"]
    assert sorted(c.name for c in engine.containers.values()) == ["demo-db-1", "demo-worker-1"]
    outcome, events = run(plan_stop(project, observe(engine, project)), engine, project)
    assert outcome.ok
    assert when(events, "stop_container:db:1", "started") >= when(
        events, "stop_container:worker:1", "done")
    assert {c.state for c in engine.containers.values()} == {"exited"}
    outcome, _ = run(plan_start(project, observe(engine, project)), engine, project)
    assert outcome.ok and plan_up(project, observe(engine, project)).operations == ()
