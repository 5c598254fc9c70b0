"""reconcile.phases: starts wait until every container the plan stops has let go of its networks
(Engine 20.10's endpoint count, docs/benchmarks.md). Plans built by hand, compared as text."""

from __future__ import annotations

from typing import Any

from stackup.core.model import Deploy, FrozenMap, UpdateConfig
from stackup.core.plan import Kind, Plan
from stackup.reconcile import UpOptions, plan_up
from stackup.reconcile.phases import GATE_ID
from stackup.core.render import plan_text
from tests.test_reconcile import container, converged, dep, make_project, observed, svc


def _env(version: str) -> Any:
    return FrozenMap({"VERSION": version})


def _check_order(plan: Plan) -> None:
    """Every operation comes after everything it waits for (the plan's order is a run order)."""
    seen: set[str] = set()
    for op in plan.operations:
        preds = (*op.depends_on, *op.after, *op.if_failed,
                 *((op.when_image[0],) if op.when_image else ()))
        assert set(preds) <= seen, (op.op_id, set(preds) - seen)
        seen.add(op.op_id)


def test_two_replacements_stop_both_then_start_both() -> None:
    old = make_project(svc("a", environment=_env("1")), svc("b", environment=_env("1")))
    new = make_project(svc("a", environment=_env("2")), svc("b", environment=_env("2")))
    plan = plan_up(new, converged(old))
    _check_order(plan)
    assert plan_text(plan) == """\
#1  - stop   demo-a-1                          environment.VERSION changed
#2  ~ rename demo-a-1 → a10000000000_demo-a-1  make way                                                         <- #1
#3  + create demo-a-1                          environment.VERSION changed                                      <- #2
#4  - stop   demo-b-1                          environment.VERSION changed
#5  ~ rename demo-b-1 → b10000000000_demo-b-1  make way                                                         <- #4
#6  + create demo-b-1                          environment.VERSION changed                                      <- #5
#7  . check  stopped containers released       no start before then (Engine 20.10 miscounts network endpoints)  after #2 #5
#8  > start  demo-a-1                          environment.VERSION changed                                      <- #3  after #7
#9  - remove a10000000000_demo-a-1             replaced                                                         <- #8
#10 - remove demo-a-1                          restore demo-a-1                                                 if #3|#8 failed
#11 ~ rename a10000000000_demo-a-1 → demo-a-1  restore demo-a-1                                                 <- #10  if #3|#8 failed
#12 > start  demo-a-1                          restore demo-a-1                                                 <- #11  if #2|#3|#8 failed
#13 > start  demo-b-1                          environment.VERSION changed                                      <- #6  after #7
#14 - remove b10000000000_demo-b-1             replaced                                                         <- #13
#15 - remove demo-b-1                          restore demo-b-1                                                 if #6|#13 failed
#16 ~ rename b10000000000_demo-b-1 → demo-b-1  restore demo-b-1                                                 <- #15  if #6|#13 failed
#17 > start  demo-b-1                          restore demo-b-1                                                 <- #16  if #5|#6|#13 failed
Plan: 2 to replace.
"""


def test_one_replacement_needs_no_gate() -> None:
    old = make_project(svc("a", environment=_env("1")))
    plan = plan_up(make_project(svc("a", environment=_env("2"))), converged(old))
    assert GATE_ID not in {op.op_id for op in plan.operations}
    assert [op.op_id for op in plan.operations][:5] == [
        "stop_container:a:1", "rename_container:a:1", "create_container:a:1",
        "start_container:a:1", "remove_container:a:1:replaced"]


def test_a_stopped_container_started_beside_a_replacement_waits_too() -> None:
    old = make_project(svc("a", environment=_env("1")), svc("b"))
    new = make_project(svc("a", environment=_env("2")), svc("b"))
    plan = plan_up(new, observed(new, container(old, "a"), container(new, "b", state="exited")))
    _check_order(plan)
    assert plan.operation("start_container:b:1").after == (GATE_ID,)
    assert plan.operation(GATE_ID).after == ("rename_container:a:1",)


def test_a_dependent_follows_the_gate_through_its_dependency() -> None:
    old = make_project(svc("api", environment=_env("1")),
                       svc("web", depends_on=(dep("api"),), environment=_env("1")))
    new = make_project(svc("api", environment=_env("2")),
                       svc("web", depends_on=(dep("api"),), environment=_env("2")))
    plan = plan_up(new, converged(old))
    _check_order(plan)
    assert plan.operation(GATE_ID).after == ("rename_container:api:1", "rename_container:web:1")
    assert plan.operation("start_container:api:1").after == (GATE_ID,)
    start_web = plan.operation("start_container:web:1")
    assert start_web.after == () and "start_container:api:1" in start_web.depends_on


def test_scale_down_beside_a_replacement_removes_before_the_starts() -> None:
    old = make_project(svc("a", environment=_env("1")), svc("b", scale=2))
    new = make_project(svc("a", environment=_env("2")), svc("b", scale=1))
    state = observed(new, container(old, "a"), container(new, "b", 1), container(new, "b", 2))
    plan = plan_up(new, state)
    _check_order(plan)
    assert plan.operation(GATE_ID).after == ("rename_container:a:1", "remove_container:b:2")


def test_rollouts_keep_their_shape_and_never_wait_for_their_own_later_stops() -> None:
    rolling = UpdateConfig(parallelism=1, order="start-first")
    batched = UpdateConfig(parallelism=1, order="stop-first")
    old = make_project(svc("z", environment=_env("1"), deploy=Deploy(replicas=2, update_config=rolling)),
                       svc("y", environment=_env("1"), deploy=Deploy(replicas=2, update_config=batched)),
                       svc("x", environment=_env("1")))
    new = make_project(svc("z", environment=_env("2"), deploy=Deploy(replicas=2, update_config=rolling)),
                       svc("y", environment=_env("2"), deploy=Deploy(replicas=2, update_config=batched)),
                       svc("x", environment=_env("2")))
    plan = plan_up(new, converged(old))
    _check_order(plan)  # also: no cycle (every operation could be placed)
    gate = plan.operation(GATE_ID)
    # the first batch of the stop-first rollout and the plain replacement; not the start-first
    # rollout's stops (they come after its new containers started) nor a later batch
    assert gate.after == ("rename_container:x:1", "rename_container:y:1")
    assert plan.operation("start_container:z:1").after == (GATE_ID,)
    start_first = [op for op in plan.operations if op.service_name == "z"]
    stop_z1 = next(op for op in start_first if op.op_id == "stop_container:z:1")
    assert [op.kind for op in start_first].index(Kind.START_CONTAINER) < \
        start_first.index(stop_z1)


def test_up_to_date_and_cold_plans_are_unchanged() -> None:
    project = make_project(svc("a"), svc("b"))
    assert plan_up(project, converged(project)).operations == ()
    cold = plan_up(project, observed(project))
    assert GATE_ID not in {op.op_id for op in cold.operations}
    assert plan_up(project, observed(project), UpOptions()).operations == cold.operations
