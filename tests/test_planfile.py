"""planfile: a saved plan reads back to the same operations; what moved is named; a damaged file
is refused. Pure: projects and observed states built by hand."""

from __future__ import annotations

import dataclasses
import json

import pytest

from stackup.app import planfile
from stackup.core.errors import PlanFileError
from stackup.core.model import Deploy, FrozenMap, Healthcheck, Hook, Mount, UpdateConfig
from stackup.reconcile import UpOptions, plan_down, plan_up
from tests.test_reconcile import container, make_project, observed, svc

PROJECT = make_project(
    svc("db", volumes=(Mount("volume", "/scratch"),), pre_stop=(Hook(("true",)),)),
    svc("web", scale=2, healthcheck=Healthcheck(test=("CMD", "true")),
        environment=FrozenMap({"V": "2", "API_TOKEN": "canary-5e1"}),
        deploy=Deploy(update_config=UpdateConfig(order="start-first", delay=1.0,
                                                 failure_action="rollback"))))


def state():  # type: ignore[no-untyped-def]
    stale = dataclasses.replace(PROJECT.services["web"], environment=FrozenMap({"V": "1"}))
    db = dataclasses.replace(container(PROJECT, "db", stale=dataclasses.replace(
        PROJECT.services["db"], user="x")), volume_mounts=(("/scratch", "anon1"),))
    return observed(PROJECT, db, *(container(PROJECT, "web", n, stale=stale) for n in (1, 2)))


def saved(plan=None):  # type: ignore[no-untyped-def]
    plan = plan or plan_up(PROJECT, state(), UpOptions(wait=True))
    prints = planfile.fingerprints(PROJECT, state(), {"demo-app": "sha256:ctx"})
    return plan, planfile.dump(plan, prints, version="test", created="2026-12-01T00:00:00Z")


def test_a_saved_plan_reads_back_to_the_same_operations() -> None:
    plan, text = saved()
    kinds = {op.kind.value for op in plan.operations}
    assert {"gate", "sleep", "disconnect_network", "connect_network", "run_hook",
            "wait_healthy", "rename_container"} <= kinds  # every field kind is exercised
    back = planfile.to_plan(planfile.load(text, "p.json"), PROJECT)
    assert back.operations == plan.operations
    assert back.notes == plan.notes and back.up_to_date == plan.up_to_date
    down = plan_down(PROJECT, state(), remove_volumes=True)
    _, text = saved(down)
    assert planfile.to_plan(planfile.load(text, "p.json"), PROJECT).operations == \
        down.operations


def test_no_secret_value_in_the_file() -> None:
    _, text = saved()
    assert "canary-5e1" not in text
    assert "API_TOKEN" in text  # the key is named; its value is a digest


def test_nothing_moved_then_each_kind_of_move_is_named() -> None:
    _, text = saved()
    loaded = planfile.load(text, "p.json")
    now = planfile.fingerprints(PROJECT, state(), {"demo-app": "sha256:ctx"})
    assert planfile.moved(loaded, now, PROJECT) == []
    gone = dataclasses.replace(state(), containers=state().containers[1:])
    changed = dataclasses.replace(PROJECT, services=FrozenMap({
        **PROJECT.services, "web": dataclasses.replace(
            PROJECT.services["web"], environment=FrozenMap({"V": "3", "API_TOKEN": "x"}))}))
    moved = planfile.moved(loaded, planfile.fingerprints(
        changed, gone, {"demo-app": "sha256:other"}), changed)
    assert "container demo-db-1 was removed since the plan was made" in moved
    assert 'service web: environment.V: "2" → "3" (differs from the plan)' in moved
    assert "service web: environment.API_TOKEN: (sensitive value changed) (differs from the " \
           "plan)" in moved
    assert "the build context of demo-app changed since the plan was made" in moved
    assert not any("x" == m or "canary" in m for m in moved)


@pytest.mark.parametrize("damage, message", [
    (lambda t: t.replace('"make way"', '"make room"', 1), "was changed after it was written"),
    (lambda t: t[: len(t) // 3], "not complete JSON"),
    (lambda t: json.dumps({**json.loads(t), "version": 2}), "a plan of version 2"),
    (lambda t: "[]", "is not a stackup plan"),
])
def test_a_damaged_plan_is_refused(damage, message) -> None:  # type: ignore[no-untyped-def]
    _, text = saved()
    with pytest.raises(PlanFileError, match=message):
        planfile.load(damage(text), "p.json")


def test_a_config_that_differs_from_the_plan_is_refused_at_load() -> None:
    _, text = saved()
    other = dataclasses.replace(PROJECT, services=FrozenMap({
        **PROJECT.services, "web": dataclasses.replace(PROJECT.services["web"], user="y")}))
    with pytest.raises(PlanFileError, match="configuration of service web differs"):
        planfile.to_plan(planfile.load(text, "p.json"), other)
