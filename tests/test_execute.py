"""execute against the in-memory FakeEngine: convergence, scheduling, failures, waits, limits,
the executor's rules (skipped, not needed) and the restore steps of a replacement."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import anyio
import pytest

from stackup.app.container_backend import ContainerBackend
from stackup.testing.fake import FakeEngine
from stackup.core.errors import EngineError
from stackup.run.execute import Event, Outcome, execute
from stackup.core.model import (
    Dependency,
    FrozenMap,
    Healthcheck,
    Mount,
    Network,
    Project,
    Service,
    ServiceNetwork,
    Volume,
)
from stackup.core.observed import ObservedState
from stackup.core.plan import Kind, Operation, Plan
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


def run(plan: Plan, engine: FakeEngine, **kw: Any) -> tuple[Outcome, list[tuple[float, Event]]]:
    events: list[tuple[float, Event]] = []
    kw.setdefault("poll_interval", 0.01)

    async def main() -> Outcome:
        return await execute(plan, ContainerBackend(engine),
                             on_event=lambda e: events.append((time.monotonic(), e)), **kw)

    return anyio.run(main), events


def when(events: list[tuple[float, Event]], op_id: str, phase: str) -> float:
    return next(t for t, e in events if e.op_id == op_id and e.phase == phase)


def ids(ops: tuple[Operation, ...]) -> list[str]:
    return [op.op_id for op in ops]


STACK = make_project(
    svc("db", volumes=(Mount("volume", "/data", "data"), Mount("volume", "/tmp/anon")),
        healthcheck=CHECK),
    svc("migrate", Dependency("db", "service_healthy")),
    svc("api", Dependency("db", "service_healthy"),
        Dependency("migrate", "service_completed_successfully"),
        environment=FrozenMap({"VERSION": "1"})),
    svc("web", Dependency("api")))


def with_env(project: Project, service: str, **env: str) -> Project:
    return dataclasses.replace(project, services=FrozenMap({
        **project.services,
        service: dataclasses.replace(project.services[service], environment=FrozenMap(env))}))


def up(engine: FakeEngine, project: Project, **options: Any) -> tuple[Plan, Outcome]:
    plan = plan_up(project, observe(engine, project), UpOptions(**options))
    outcome, _ = run(plan, engine)
    return plan, outcome


def names(engine: FakeEngine) -> list[str]:
    return sorted(c.name for c in engine.containers.values())


REPLACE_API = ["stop_container:api:1", "rename_container:api:1", "create_container:api:1",
               "start_container:api:1", "remove_container:api:1:replaced"]
RESTORE_API = ["restore:remove_container:api:1", "restore:rename_container:api:1",
               "restore:start_container:api:1"]


def test_runs_to_convergence_then_nothing_to_do_then_down() -> None:
    engine = FakeEngine()
    engine.health("db", after=2)
    engine.exit_with("migrate", 0, after=1)
    plan, outcome = up(engine, STACK)
    assert outcome.ok and len(outcome.done) == len(plan.operations) == 12
    assert engine.by_name("demo-db-1").health == "healthy"
    rerun = ["wait_healthy:db", "start_container:migrate:1"]
    again = plan_up(STACK, observe(engine, STACK))
    # a second up changes nothing but, like Compose, starts the exited one-shot again
    assert ids(again.operations) == rerun
    changed = with_env(STACK, "api", VERSION="2")
    old_id = engine.by_name("demo-api-1").container_id
    plan, outcome = up(engine, changed)
    assert outcome.ok
    # the exited one-shot starts again only once the replaced api container is stopped and
    # released (the gate), as every start does while the plan stops another container
    stop, rename, create, start, remove = REPLACE_API
    assert ids(plan.operations) == ["wait_healthy:db", stop, rename, create, "gate:stops",
                                    "start_container:migrate:1", "wait_completed:migrate",
                                    start, remove, *RESTORE_API]
    # the restore steps were not needed, and count as neither done nor failed
    assert ids(outcome.not_needed) == RESTORE_API
    assert len(outcome.done) == len(plan.operations) - 3
    new = engine.by_name("demo-api-1")
    assert new.container_id != old_id and new.state == "running"
    assert json.loads(new.config_json)["environment"] == {"VERSION": "2"}
    assert old_id not in engine.containers
    assert names(engine) == ["demo-api-1", "demo-db-1", "demo-migrate-1", "demo-web-1"]
    assert ids(plan_up(changed, observe(engine, changed)).operations) == rerun
    down = plan_down(changed, observe(engine, changed), remove_volumes=True,
                     remove_orphans=False, timeout=1)
    outcome, _ = run(down, engine)
    assert outcome.ok
    assert engine.containers == {} and engine.networks == {} and engine.volumes == {}


def test_operations_start_as_soon_as_their_dependencies_finish() -> None:
    project = make_project(svc("db", healthcheck=CHECK), svc("api", Dependency("db",
                                                                               "service_healthy")),
                           svc("cache"), svc("web", Dependency("cache")))
    engine = FakeEngine(latency=0.02)
    engine.health("db", after=15)  # a slow branch: about 15 polls before db is healthy
    plan = plan_up(project, observe(engine, project))
    outcome, events = run(plan, engine, poll_interval=0.02)
    assert outcome.ok
    healthy = when(events, "wait_healthy:db", "done")
    # web's branch does not wait for db's: it is created and started while db is unhealthy
    web_started = when(events, "start_container:web:1", "started")
    assert web_started < healthy
    assert web_started - when(events, "start_container:cache:1", "done") < 0.05
    # api's container is created while db is still unhealthy, and started only once it is
    assert when(events, "create_container:api:1", "started") < healthy
    [api_start] = [c for c in engine.calls_of("start_container") if c.subject == "demo-api-1"]
    assert api_start.start >= healthy


def test_failure_skips_dependents_but_not_independent_branches() -> None:
    project = make_project(svc("db"), svc("api", Dependency("db")), svc("web", Dependency("api")),
                           svc("cache"))
    engine = FakeEngine()
    engine.fail_on("start_container", "demo-db-1")
    plan = plan_up(project, observe(engine, project))
    outcome, events = run(plan, engine)
    assert not outcome.ok
    assert [(op.op_id, str(err)) for op, err in outcome.failed] == [
        ("start_container:db:1", "injected failure: start_container demo-db-1")]
    # dependents of a failed step are skipped, and so are theirs
    assert ids(outcome.skipped) == ["start_container:api:1", "start_container:web:1"]
    skipped = {e.op_id: e.error for _, e in events if e.phase == "skipped"}
    assert skipped == {"start_container:api:1": "dependency demo-db-1 failed",
                       "start_container:web:1": "dependency demo-api-1 was skipped"}
    assert not any(e.phase == "started" and e.op_id in skipped for _, e in events)
    # creating needs only the network: the containers exist, not started
    assert engine.by_name("demo-api-1").state == "created"
    assert engine.by_name("demo-web-1").state == "created"
    assert engine.by_name("demo-cache-1").state == "running"


def test_unhealthy_dependency_fails_the_wait() -> None:
    project = make_project(svc("db", healthcheck=CHECK), svc("api", Dependency("db",
                                                                               "service_healthy")))
    engine = FakeEngine()
    engine.health("db", after=1, final="unhealthy")
    outcome, _ = run(plan_up(project, observe(engine, project)), engine)
    assert [(op.op_id, err.summary) for op, err in outcome.failed] == [
        ("wait_healthy:db", "service db is unhealthy")]
    assert ids(outcome.skipped) == ["start_container:api:1"]


def test_wait_times_out() -> None:
    project = make_project(svc("db", healthcheck=CHECK), svc("api", Dependency("db",
                                                                               "service_healthy")))
    engine = FakeEngine()
    engine.health("db", after=10_000)
    outcome, _ = run(plan_up(project, observe(engine, project)), engine, wait_timeout=0.1)
    assert [err.summary for _, err in outcome.failed] == [
        "timed out after 0.1s waiting for service db to be healthy"]


def test_failing_one_shot_reports_exit_code_and_last_log_lines() -> None:
    project = make_project(svc("migrate"),
                           svc("app", Dependency("migrate", "service_completed_successfully")))
    engine = FakeEngine()
    engine.exit_with("migrate", 3, [f"line {i}" for i in range(15)], after=2)
    outcome, _ = run(plan_up(project, observe(engine, project)), engine)
    ((op, err),) = outcome.failed
    assert op.op_id == "wait_completed:migrate"
    assert err.summary == "service migrate exited with code 3"
    assert err.detail.splitlines() == ["last log lines of demo-migrate-1:",
                                       *(f"  line {i}" for i in range(5, 15))]
    assert ids(outcome.skipped) == ["start_container:app:1"]


def test_concurrency_is_bounded_by_parallel() -> None:
    project = make_project(*(svc(f"s{i}") for i in range(8)))
    engine = FakeEngine(latency=0.03)
    plan = plan_up(project, observe(engine, project))
    engine.max_in_flight = 0
    outcome, _ = run(plan, engine, parallel=3)
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
            await execute(plan, ContainerBackend(engine), poll_interval=0.01)

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        anyio.run(main)
    assert time.monotonic() - started < 2
    assert engine.by_name("demo-api-1").state == "created"


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
    assert outcome.ok and ids(plan.operations) == [
        "stop_container:worker:3", "remove_container:worker:3",
        "stop_container:worker:2", "remove_container:worker:2"]
    assert names(engine) == ["demo-db-1", "demo-worker-1"]
    outcome, events = run(plan_stop(project, observe(engine, project)), engine)
    assert outcome.ok
    assert when(events, "stop_container:db:1", "started") >= when(
        events, "stop_container:worker:1", "done")
    assert {c.state for c in engine.containers.values()} == {"exited"}
    outcome, _ = run(plan_start(project, observe(engine, project)), engine)
    assert outcome.ok and plan_up(project, observe(engine, project)).operations == ()


# --- a replacement whose new container cannot be made: the old one is restored ---------------

SMALL = make_project(svc("db"), svc("api", Dependency("db"), environment=FrozenMap({"V": "1"})))


def _converged() -> tuple[FakeEngine, str]:
    engine = FakeEngine()
    _, outcome = up(engine, SMALL)
    assert outcome.ok
    return engine, engine.by_name("demo-api-1").container_id


def _assert_restored(engine: FakeEngine, old_id: str, outcome: Outcome) -> None:
    assert not outcome.ok
    old = engine.containers[old_id]
    assert (old.name, old.state) == ("demo-api-1", "running")
    assert json.loads(old.config_json)["environment"] == {"V": "1"}
    # nothing is left under a temporary name, and no half-made replacement either
    assert names(engine) == ["demo-api-1", "demo-db-1"]
    # the restored container is what the next plan sees: it proposes the same replacement
    again = plan_up(with_env(SMALL, "api", V="2"), observe(engine, SMALL))
    assert ids(again.operations) == [*REPLACE_API, *RESTORE_API]


@pytest.mark.parametrize("method", ["create_container", "start_container"])
def test_failed_create_or_start_of_the_replacement_restores_the_old_container(
        method: str) -> None:
    engine, old_id = _converged()
    engine.fail_on(method, "demo-api-1")
    plan = plan_up(with_env(SMALL, "api", V="2"), observe(engine, SMALL))
    outcome, events = run(plan, engine)
    failing = f"{method}:api:1"
    assert [(op.op_id, str(err)) for op, err in outcome.failed] == [
        (failing, f"injected failure: {method} demo-api-1")]
    after = REPLACE_API[REPLACE_API.index(failing) + 1:]
    assert ids(outcome.skipped) == after
    assert set(ids(outcome.done)) >= {*RESTORE_API, "stop_container:api:1",
                                      "rename_container:api:1"}
    assert outcome.not_needed == ()
    _assert_restored(engine, old_id, outcome)
    # the restore ran in order: the half-made container went before the name came back
    assert when(events, RESTORE_API[0], "done") <= when(events, RESTORE_API[1], "started")
    assert when(events, RESTORE_API[1], "done") <= when(events, RESTORE_API[2], "started")


def test_failed_rename_leaves_the_old_container_running_under_its_name() -> None:
    engine, old_id = _converged()
    engine.fail_on("rename_container", "demo-api-1")
    plan = plan_up(with_env(SMALL, "api", V="2"), observe(engine, SMALL))
    outcome, _ = run(plan, engine)
    assert [op.op_id for op, _ in outcome.failed] == ["rename_container:api:1"]
    assert ids(outcome.skipped) == REPLACE_API[2:]
    # nothing was made, so nothing to remove or name back; the stopped old one starts again
    assert ids(outcome.not_needed) == RESTORE_API[:2]
    assert "restore:start_container:api:1" in ids(outcome.done)
    # only the cold up created an api container
    assert [c.subject for c in engine.calls_of("create_container")] == ["demo-db-1", "demo-api-1"]
    _assert_restored(engine, old_id, outcome)


def test_failed_stop_changes_nothing_else() -> None:
    engine, old_id = _converged()
    engine.fail_on("stop_container", "demo-api-1")
    outcome, _ = run(plan_up(with_env(SMALL, "api", V="2"), observe(engine, SMALL)), engine)
    assert [op.op_id for op, _ in outcome.failed] == ["stop_container:api:1"]
    assert ids(outcome.skipped) == REPLACE_API[1:]
    assert ids(outcome.not_needed) == RESTORE_API
    _assert_restored(engine, old_id, outcome)


# --- the executor's rules, on hand-made plans -------------------------------------------------

def _net(op_id: str, name: str, **kw: Any) -> Operation:
    return Operation(op_id, Kind.CREATE_NETWORK, "test", network=Network(name, name), **kw)


def _statuses(outcome: Outcome) -> dict[str, str]:
    out = {op.op_id: "done" for op in outcome.done}
    out.update({op.op_id: "skipped" for op in outcome.skipped})
    out.update({op.op_id: "not_needed" for op in outcome.not_needed})
    out.update({op.op_id: "failed" for op, _ in outcome.failed})
    return out


def test_not_needed_counts_as_done_and_skips_propagate() -> None:
    engine = FakeEngine()
    engine.fail_on("create_network", "bad")
    plan = Plan("demo", (
        _net("a", "a"),
        _net("restore-a", "ra", if_failed=("a",)),  # a did not fail: not needed
        _net("after-restore", "ar", depends_on=("restore-a",)),  # not needed counts as done
        _net("bad", "bad"),
        _net("child", "child", depends_on=("bad",)),  # its dependency failed: skipped
        _net("grandchild", "gc", depends_on=("child",)),  # its dependency was skipped
        _net("restore-bad", "rb", if_failed=("bad",)),  # bad failed: runs
        _net("after-both", "ab", depends_on=("a", "restore-bad")),
    ))
    outcome, events = run(plan, engine)
    assert _statuses(outcome) == {
        "a": "done", "restore-a": "not_needed", "after-restore": "done", "bad": "failed",
        "child": "skipped", "grandchild": "skipped", "restore-bad": "done",
        "after-both": "done"}
    assert sorted(engine.networks) == ["a", "ab", "ar", "rb"]
    errors = {e.op_id: e.error for _, e in events if e.phase == "skipped"}
    assert errors == {"child": "dependency bad failed", "grandchild": "dependency child was skipped"}
    # one terminal event per operation, and nothing started that did not have to
    terminal = [e.op_id for _, e in events if e.phase in ("done", "failed", "skipped",
                                                          "not_needed")]
    assert sorted(terminal) == sorted(op.op_id for op in plan.operations)
    assert {e.op_id for _, e in events if e.phase == "started"} == {
        "a", "after-restore", "bad", "restore-bad", "after-both"}


def test_unknown_edges_are_refused_before_anything_runs() -> None:
    engine = FakeEngine()
    plan = Plan("demo", (_net("a", "a"), _net("b", "b", depends_on=("nope",))))
    with pytest.raises(ValueError, match="operation b depends on unknown nope"):
        run(plan, engine)
    assert engine.networks == {}


def test_when_image_runs_only_if_the_image_id_changed() -> None:
    engine = FakeEngine(auto_images=False)
    engine.registry.update({"same:1": "sha256:same", "new:1": "sha256:new"})
    engine.fail_on("pull_image", "broken:1")

    def pull(ref: str) -> Operation:
        return Operation(f"pull:{ref}", Kind.PULL_IMAGE, "test", image=ref)

    plan = Plan("demo", (
        pull("same:1"), pull("new:1"), pull("broken:1"),
        _net("if-same", "s", depends_on=("pull:same:1",), when_image=("pull:same:1",
                                                                        "sha256:same")),
        _net("after-same", "as", depends_on=("if-same",)),
        _net("if-new", "n", depends_on=("pull:new:1",), when_image=("pull:new:1", "sha256:old")),
        _net("if-broken", "b", when_image=("pull:broken:1", "sha256:old")),
    ))
    outcome, _ = run(plan, engine)
    assert _statuses(outcome) == {
        "pull:same:1": "done", "pull:new:1": "done", "pull:broken:1": "failed",
        "if-same": "not_needed", "after-same": "done", "if-new": "done",
        "if-broken": "skipped"}
    assert sorted(engine.networks) == ["as", "n"]
