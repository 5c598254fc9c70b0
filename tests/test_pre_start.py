"""``pre_start`` hooks without an engine: parsed like the other hooks (plus ``image``), planned as
``run_pre_start`` steps before a service's starts only when none of its replicas stays running,
dropped by ``create`` (``--no-start``), run in order by the executor on the fake engine, and a
failing one skips the service's start."""

from __future__ import annotations

import dataclasses

import anyio
import pytest

from stackup.app.container_backend import ContainerBackend
from stackup.core.errors import OperationFailed, SpecError
from stackup.core.hashing import config_hash
from stackup.core.model import FrozenMap, Hook, Mount, Volume
from stackup.core.plan import Kind, Plan
from stackup.core.render import plan_text
from stackup.reconcile import UpOptions, plan_up
from stackup.reconcile.lifecycle import plan_start
from stackup.run.execute import execute
from stackup.testing.fake import FakeEngine
from tests.loader.test_parse import error, svc as parsed
from tests.test_reconcile import container, make_project, observed, svc

HOOKS = (Hook(("sh", "-c", "echo one > /data/f")), Hook(("migrate",), image="tools:1"))
PROJECT = make_project(
    svc("db", volumes=(Mount("volume", "/data", "data"),), pre_start=HOOKS),
    svc("api", depends_on=()), volumes={"data": Volume("data", "demo_data")})


def test_pre_start_is_parsed_with_its_own_image() -> None:
    s = parsed("image: x\npre_start:\n  - command: [init]\n    user: root\n"
               "  - command: sh -c 'echo hi'\n    image: tools:1\n    per_replica: false\n"
               "    environment: {A: b}\n")
    assert s.pre_start == (Hook(("init",), user="root"),
                           Hook(("sh", "-c", "echo hi"), environment=FrozenMap({"A": "b"}),
                                image="tools:1"))


def test_per_replica_is_refused_with_what_to_do() -> None:
    found = error("services:\n  s:\n    image: x\n"
                  "    pre_start: [{command: [init], per_replica: true}]\n")
    assert "per_replica: true is not supported" in str(found)
    with pytest.raises(SpecError):
        parsed("image: x\npre_start: [{image: y}]\n")  # a hook needs a command


def test_a_hook_changes_the_config_hash_as_in_compose() -> None:
    plain = svc("db")
    hooked = dataclasses.replace(plain, pre_start=HOOKS[:1])
    assert config_hash(PROJECT, plain)[0] != config_hash(PROJECT, hooked)[0]


def test_the_plan_runs_each_hook_in_order_before_the_first_start() -> None:
    plan = plan_up(PROJECT, observed(PROJECT, resources=False))
    assert plan_text(plan) == """\
#1 + network demo_default    not found
#2 + volume  demo_data       not found
#3 + create  demo-api-1      not found                       <- #1
#4 > start   demo-api-1      not found                       <- #3
#5 + create  demo-db-1       not found                       <- #1 #2
#6 ! hook    db pre_start 1  pre_start hook 1 of service db  <- #5
#7 ! hook    db pre_start 2  pre_start hook 2 of service db  <- #6
#8 > start   demo-db-1       not found                       <- #5 #7
Plan: 2 to create, 1 to create network, 1 to create volume.
"""
    first, second = plan.operation("run_pre_start:db:1"), plan.operation("run_pre_start:db:2")
    assert first.depends_on == ("create_container:db:1",)
    assert second.depends_on == (first.op_id,)
    assert (first.container_name, first.image, second.image) == \
        ("demo-db-1", "busybox:local", "tools:1")
    assert second.op_id in plan.operation("start_container:db:1").depends_on
    assert not any(op.kind is Kind.RUN_PRE_START and op.service_name == "api"
                   for op in plan.operations)


def test_no_hook_when_a_replica_already_runs() -> None:
    running = observed(PROJECT, container(PROJECT, "db"), container(PROJECT, "api"))
    assert plan_up(PROJECT, running).operations == ()
    scaled = plan_up(PROJECT, running, UpOptions(scale={"db": 2}))
    assert "start_container:db:2" in {op.op_id for op in scaled.operations}
    assert not any(op.kind is Kind.RUN_PRE_START for op in scaled.operations)


def test_hooks_run_again_when_the_running_replica_is_replaced_or_was_stopped() -> None:
    stale = dataclasses.replace(PROJECT.services["db"], user="x")
    replaced = plan_up(PROJECT, observed(PROJECT, container(PROJECT, "db", stale=stale),
                                         container(PROJECT, "api")))
    hook = replaced.operation("run_pre_start:db:1")
    assert "stop_container:db:1" in hook.depends_on
    stopped = observed(PROJECT, container(PROJECT, "db", state="exited"),
                       container(PROJECT, "api"))
    assert "pre_start hook 2 of service db" in plan_text(plan_up(PROJECT, stopped))
    assert "pre_start hook 1 of service db" in plan_text(plan_start(PROJECT, stopped))


def test_create_runs_no_hook() -> None:
    plan = plan_up(PROJECT, observed(PROJECT), UpOptions(no_start=True))
    assert not any(op.kind is Kind.RUN_PRE_START for op in plan.operations)


def _run(plan: Plan, engine: FakeEngine) -> tuple[list[str], list[str], list[str]]:
    outcome = anyio.run(lambda: execute(plan, ContainerBackend(engine), poll_interval=0.01))
    return ([op.op_id for op in outcome.done], [op.op_id for op, _ in outcome.failed],
            [op.op_id for op in outcome.skipped])


def test_the_fake_engine_runs_them_in_order_and_a_failure_skips_the_start() -> None:
    engine = FakeEngine()
    engine.auto_images = True
    plan = plan_up(PROJECT, engine.observe("demo", networks=["demo_default"],
                                           volumes=["demo_data"]))
    done, failed, _ = _run(plan, engine)
    assert not failed
    assert engine.hooks_run == [("demo-db-pre_start-1", "pre_start", "sh -c echo one > /data/f"),
                                ("demo-db-pre_start-2", "pre_start", "migrate")]
    assert done.index("run_pre_start:db:2") < done.index("start_container:db:1")

    engine = FakeEngine()
    engine.auto_images = True
    engine.fail_on("run_pre_start", "db:1", OperationFailed(
        "pre_start hook 1 of service db exited with code 3"))
    plan = plan_up(PROJECT, engine.observe("demo", networks=["demo_default"],
                                           volumes=["demo_data"]))
    done, failed, skipped = _run(plan, engine)
    assert failed == ["run_pre_start:db:1"]
    assert {"run_pre_start:db:2", "start_container:db:1"} <= set(skipped)
    assert "start_container:api:1" in done
    assert engine.by_name("demo-db-1").state == "created"
