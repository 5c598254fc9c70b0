"""Stop requests (Ctrl-C, SIGTERM) while a plan runs, against the FakeEngine: the first lets the
replacements that began end (or restore the old container) and starts nothing new, the second
abandons; a progress reader that went away never breaks a run."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from stackup.app import containers as app
from stackup.cli.views.progress import Progress, interrupted_report
from stackup.app.container_backend import ContainerBackend
from stackup.testing.fake import FakeEngine
from stackup.run.events import Event, Outcome
from stackup.run.execute import execute
from stackup.core.model import Deploy, FrozenMap, Project, UpdateConfig
from stackup.core.plan import Plan
from stackup.reconcile import UpOptions, plan_up
from tests.test_execute import make_project, names, observe, svc, up, with_env

Trigger = Callable[[Event], int]  # how many stop requests an event sends (0: none)


def run_stopped(plan: Plan, engine: FakeEngine, trigger: Trigger,
                **kw: Any) -> tuple[Outcome, list[Event]]:
    """Run ``plan``; each event ``trigger`` picks sends that many stop requests (as the CLI's
    signal receiver does, through a stream), a tenth of a second apart."""
    events: list[Event] = []

    async def main() -> Outcome:
        send, receive = anyio.create_memory_object_stream[str](10)

        def on_event(event: Event) -> None:
            events.append(event)
            for _ in range(trigger(event)):
                send.send_nowait("SIGINT")

        async def requests() -> Any:
            async with receive:
                count = 0
                async for item in receive:
                    if count:
                        await anyio.sleep(0.1)
                    count += 1
                    yield item

        return await execute(plan, ContainerBackend(engine), poll_interval=0.01,
                             on_event=on_event, stop_requests=requests(), **kw)

    return anyio.run(main), events


def on(op_id: str, phase: str, count: int = 1) -> Trigger:
    return lambda e: count if (e.op_id, e.phase) == (op_id, phase) else 0


def env_of(engine: FakeEngine, name: str) -> dict[str, str]:
    return dict(json.loads(engine.by_name(name).config_json)["environment"])


THREE = make_project(*(svc(name, environment=FrozenMap({"V": "1"}))
                       for name in ("db", "api", "web")))


def rolling(version: str, **update: Any) -> Project:
    return make_project(svc("web", scale=3, environment=FrozenMap({"V": version}),
                            deploy=Deploy(update_config=UpdateConfig(parallelism=1, **update))))


def test_a_replacement_that_began_ends_with_its_new_container_running() -> None:
    engine = FakeEngine()
    up(engine, THREE)
    changed = with_env(THREE, "api", V="2")
    plan = plan_up(changed, observe(engine, THREE))
    outcome, events = run_stopped(plan, engine, on("stop_container:api:1", "done"))
    assert outcome.stopped_by == "SIGINT" and not outcome.abandoned
    assert [e.phase for e in events if not e.op_id] == ["planned", "stopping"]
    assert ids_of(outcome.done) == ["stop_container:api:1", "rename_container:api:1",
                                    "create_container:api:1", "start_container:api:1",
                                    "remove_container:api:1:replaced"]
    assert outcome.not_run == () and outcome.failed == ()
    assert names(engine) == ["demo-api-1", "demo-db-1", "demo-web-1"]
    assert env_of(engine, "demo-api-1") == {"V": "2"}
    assert engine.by_name("demo-api-1").state == "running"


def test_a_stop_request_starts_no_replacement_that_had_not_begun() -> None:
    """A rolling update one replica at a time: the replica being replaced ends replaced, the
    two others keep their old containers, running, under their names."""
    engine = FakeEngine()
    up(engine, rolling("1", monitor=0.0))
    plan = plan_up(rolling("2", monitor=0.0), observe(engine, rolling("1")))
    outcome, _ = run_stopped(plan, engine, on("stop_container:web:1", "done"))
    assert outcome.stopped_by == "SIGINT"
    assert names(engine) == ["demo-web-1", "demo-web-2", "demo-web-3"]
    assert [env_of(engine, f"demo-web-{n}") for n in (1, 2, 3)] == [
        {"V": "2"}, {"V": "1"}, {"V": "1"}]
    assert {c.state for c in engine.containers.values()} == {"running"}
    assert {op.number for op in outcome.not_run if op.service_name == "web"} >= {2, 3}
    assert not [op for op in outcome.done if op.number in (2, 3)]
    # the next `up` finishes the rollout
    again = plan_up(rolling("2", monitor=0.0), observe(engine, rolling("2")))
    assert {op.number for op in again.operations if op.number} == {2, 3}


def test_a_check_cut_short_by_a_stop_request_restores_the_old_container() -> None:
    """The new replica's check (running for ``monitor`` seconds) is in progress: it fails as
    interrupted at once, and the plan's restore steps give the old container its name back."""
    engine = FakeEngine()
    up(engine, rolling("1", monitor=30.0))
    old = engine.by_name("demo-web-1").container_id
    plan = plan_up(rolling("2", monitor=30.0), observe(engine, rolling("1")))
    began = time.monotonic()
    outcome, _ = run_stopped(plan, engine, on("wait_running:web:1:new", "started"))
    assert time.monotonic() - began < 5
    assert [(op.op_id, str(err)) for op, err in outcome.failed] == [
        ("wait_running:web:1:new", "interrupted (SIGINT) before it was over")]
    assert "restore:rename_container:web:1" in ids_of(outcome.done)
    assert names(engine) == ["demo-web-1", "demo-web-2", "demo-web-3"]
    assert engine.by_name("demo-web-1").container_id == old
    assert {c.state for c in engine.containers.values()} == {"running"}


def test_a_second_stop_request_abandons_what_is_in_progress() -> None:
    engine = FakeEngine(latency=0.3)
    up(engine, THREE)
    engine.latency = 0.3
    plan = plan_up(with_env(THREE, "api", V="2"), observe(engine, THREE))
    began = time.monotonic()
    outcome, events = run_stopped(plan, engine, on("stop_container:api:1", "started", 2))
    assert outcome.abandoned and outcome.stopped_by == "SIGINT"
    assert [e.phase for e in events if not e.op_id] == ["planned", "stopping", "abandoning"]
    # the call already sent ended and is reported; nothing after it started
    assert ids_of(outcome.done) == ["stop_container:api:1"]
    assert "rename_container:api:1" in ids_of(outcome.not_run)
    assert time.monotonic() - began < 0.3 * 2
    assert not outcome.ok


def test_sigint_to_the_process_while_a_plan_runs_raises_interrupted_after_it() -> None:
    """`app.run_plan` listens to SIGINT and SIGTERM while it runs (the main thread, Python's
    default handlers), and raises ``Interrupted`` with the outcome once what began ended."""
    engine = FakeEngine(latency=0.05)
    up(engine, THREE)
    plan = plan_up(with_env(THREE, "api", V="2"), observe(engine, THREE))

    def on_event(event: Event) -> None:
        if (event.op_id, event.phase) == ("stop_container:api:1", "started"):
            os.kill(os.getpid(), signal.SIGINT)

    try:
        app.run_plan(plan, THREE, engine, app.RunOptions(), on_event)
    except app.Interrupted as interrupted:
        outcome = interrupted.outcome
    except KeyboardInterrupt:
        pytest.fail("a plain KeyboardInterrupt: the run did not listen to SIGINT")
    else:
        pytest.fail("the run ended as if no signal had come")
    assert outcome.stopped_by == "SIGINT" and outcome.failed == ()
    assert env_of(engine, "demo-api-1") == {"V": "2"}
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # as it was


def test_a_gone_reader_does_not_stop_the_run() -> None:
    """Progress on a pipe whose reader closed: no error reaches the executor; the run ends."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    stream = open(write_end, "w", encoding="utf-8")
    try:
        engine = FakeEngine()
        up(engine, THREE)
        plan = plan_up(with_env(THREE, "api", V="2"), observe(engine, THREE))
        progress = Progress("plain", stream)
        outcome = app.run_plan(plan, THREE, engine, app.RunOptions(), progress.on_event)
        progress.summary(plan, outcome)
        assert outcome.ok and env_of(engine, "demo-api-1") == {"V": "2"}
        assert progress.mode == "quiet"
    finally:
        stream.close()


def test_the_report_names_what_is_left_and_the_command() -> None:
    engine = FakeEngine()
    up(engine, THREE)
    engine.latency = 0.3
    changed = with_env(with_env(THREE, "api", V="2"), "web", V="2")
    plan = plan_up(changed, observe(engine, THREE), UpOptions())
    # the stops begin one after another (the endpoint gap): the signals come once the second
    # began, so both were in flight when the run was abandoned: they ended, nothing after them
    outcome, _ = run_stopped(plan, engine, on("stop_container:web:1", "started", 2))
    lines = interrupted_report(plan, outcome, observe(engine, THREE).containers,
                               "stackup -p demo up -d")
    assert lines == [
        "interrupted (SIGINT): abandoned what was in progress; 2 operations done, "
        f"{len([op for op in plan.operations if not op.if_failed]) - 2} not started",
        "  service api: no running container",
        "  service web: no running container",
        "Run `stackup -p demo up -d` to converge."]
    assert engine.by_name("demo-db-1").state == "running"


def ids_of(ops: tuple[Any, ...]) -> list[str]:
    return [op.op_id for op in ops]


def test_the_stops_gate_of_a_replacement_that_began_still_runs() -> None:
    """Two replacements: their starts follow the gate that waits for every stopped container
    to be released; a stop request does not leave that gate out of what still runs."""
    engine = FakeEngine()
    up(engine, THREE)
    changed = with_env(with_env(THREE, "api", V="2"), "web", V="2")
    plan = plan_up(changed, observe(engine, THREE))
    assert "gate:stops" in [op.op_id for op in plan.operations]
    outcome, _ = run_stopped(plan, engine, on("stop_container:api:1", "done"))
    assert outcome.stopped_by == "SIGINT"
    assert "gate:stops" in ids_of(outcome.done)
    assert env_of(engine, "demo-api-1") == {"V": "2"}
    assert engine.by_name("demo-api-1").state == "running"


def test_the_command_that_converges_keeps_the_options_given() -> None:
    from stackup.cli.main import _rerun

    assert _rerun(["-p", "shop", "-f", "a b.yaml", "up", "-d", "--force-recreate"]) == \
        "stackup -p shop -f 'a b.yaml' up -d --force-recreate"
    # a saved plan that ran in part is stale: `up -d` converges to the same files
    assert _rerun(["--progress", "json", "apply", "plan.json"]) == \
        "stackup --progress json up -d"


def test_an_operation_still_waiting_for_its_place_has_not_begun() -> None:
    """With ``--parallel 1`` the other creates queue for the one place: a stop request while
    the first runs lets that container be made and started, and nothing else."""
    engine = FakeEngine()
    five = make_project(*(svc(f"s{i}") for i in range(5)))
    plan = plan_up(five, observe(engine, five))
    outcome, events = run_stopped(plan, engine, on("create_container:s0:1", "started"),
                                  parallel=1)
    assert outcome.stopped_by == "SIGINT"
    assert names(engine) == ["demo-s0-1"]
    assert {op.op_id for op in outcome.not_run} >= {f"create_container:s{i}:1"
                                                     for i in range(1, 5)}
    started = {e.op_id for e in events if e.phase == "started"}
    assert not any(f"create_container:s{i}:1" in started for i in range(1, 5))
