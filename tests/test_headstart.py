"""The head start (``stackup.headstart``): a plan's first operations begin before the executor
runs, the executor then finds them done (never calling the engine twice), their failures are
the executor's, and plans whose first operations the executor would not start together get no
head start."""

from __future__ import annotations

import dataclasses
import json
import threading

import anyio

from stackup import app
from stackup.engine.container_backend import ContainerBackend
from stackup.engine.fake import FakeEngine
from stackup.execute import execute
from stackup.headstart import HeadStart, first_operations
from stackup.model import FrozenMap
from stackup.plan import Kind, Operation, Plan
from stackup.reconcile import UpOptions, plan_up
from tests.test_execute import make_project, observe, svc


def converged() -> tuple[FakeEngine, Plan]:
    """A converged one-service project, then the plan that replaces its container after its
    environment changed: stop → rename → create → start → remove."""
    engine = FakeEngine()
    project = make_project(svc("web"))
    app.run_plan(plan_up(project, observe(engine, project)), project, engine, app.RunOptions())
    changed = make_project(svc("web", environment=FrozenMap({"V": "2"})))
    return engine, plan_up(changed, observe(engine, changed), UpOptions())


def test_the_first_operation_runs_before_the_executor_and_only_once() -> None:
    engine, plan = converged()
    [first] = first_operations(plan, parallel=16)
    assert first.kind is Kind.STOP_CONTAINER
    old = engine.by_name("demo-web-1")
    assert old.state == "running"

    backend = HeadStart(ContainerBackend(engine), plan, 16)
    backend.join()  # no executor yet: the stop has happened anyway
    assert engine.by_name(old.name).state == "exited"

    outcome = anyio.run(lambda: execute(plan, backend, poll_interval=0.01))
    assert outcome.ok, outcome.failed
    assert len(engine.calls_of("stop_container")) == 1  # the executor did not stop it again
    [new] = [c for c in engine.containers.values() if c.name == "demo-web-1"]
    assert new.container_id != old.container_id and new.state == "running"
    assert json.loads(new.config_json)["environment"] == {"V": "2"}


def test_a_head_started_failure_is_the_executors_failure() -> None:
    engine, plan = converged()
    engine.fail_on("stop_container", "demo-web-1")
    outcome = app.run_plan(plan, None, engine, app.RunOptions())
    assert [(op.kind, str(err)) for op, err in outcome.failed] == [
        (Kind.STOP_CONTAINER, "injected failure: stop_container demo-web-1")]
    # what depends on the stop is skipped: the old container keeps its name and keeps running
    assert Kind.CREATE_CONTAINER in {op.kind for op in outcome.skipped}
    assert engine.by_name("demo-web-1").state == "running"


def _op(op_id: str, kind: Kind, **kw: object) -> Operation:
    return Operation(op_id, kind, "test", **kw)  # type: ignore[arg-type]


def test_plans_the_executor_would_not_start_together_get_no_head_start() -> None:
    stop = _op("stop_container:a:1", Kind.STOP_CONTAINER)
    remove = _op("remove_container:b:1", Kind.REMOVE_CONTAINER)  # both: no import on first use
    create = _op("create_network:default", Kind.CREATE_NETWORK)
    wait = _op("wait_healthy:a", Kind.WAIT_HEALTHY)
    build = _op("build_image:a", Kind.BUILD_IMAGE)
    later = _op("start_container:a:1", Kind.START_CONTAINER, depends_on=(stop.op_id,))

    def first(*ops: Operation, parallel: int = 16) -> list[str]:
        return [op.op_id for op in first_operations(Plan("demo", operations=ops), parallel)]

    assert first(stop, later) == [stop.op_id]  # only those without predecessors
    rename = _op("rename_container:c:1", Kind.RENAME_CONTAINER)
    assert first(rename, remove) == [rename.op_id, remove.op_id]
    assert first(stop, remove) == []  # stops and removals take turns in the executor
    # the first call of these imports code (the SDK, the container spec): not beside the
    # main thread's imports, which Ctrl-C may interrupt
    assert first(create) == []
    assert first(_op("create_container:a:1", Kind.CREATE_CONTAINER)) == []
    assert first(stop, wait) == []  # a wait is the executor's own
    assert first(build) == []  # image operations print their output
    assert first(stop, rename, parallel=1) == []  # more than the executor would start
    conditional = dataclasses.replace(stop, when_image=(build.op_id, "sha256:x"))
    assert first(conditional) == []
    assert first() == []


def test_the_executor_waits_for_a_head_started_operation_it_depends_on() -> None:
    """An operation after the head-started one starts only once it has finished."""
    release = threading.Event()
    order: list[str] = []

    class Slow(ContainerBackend):
        def perform(self, plan: Plan, op: Operation, on_output):  # type: ignore[no-untyped-def]
            if op.kind is Kind.STOP_CONTAINER:
                release.wait(5)
            order.append(op.kind.value)
            return super().perform(plan, op, on_output)

    engine, plan = converged()
    backend = HeadStart(Slow(engine), plan, 16)
    threading.Timer(0.2, release.set).start()
    outcome = anyio.run(lambda: execute(plan, backend, poll_interval=0.01))
    assert outcome.ok, outcome.failed
    assert order == ["stop_container", "rename_container", "create_container",
                     "start_container", "remove_container"]
