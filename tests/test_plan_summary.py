"""The plan JSON's ``summary`` and ``services``: what a policy check reads instead of inferring a
replacement from stop, rename, create, start and remove. Real plans from ``plan_up`` and
``plan_down`` on states built by hand."""

from __future__ import annotations

import dataclasses
from typing import Any

from stackup.core.model import BuildSpec, FrozenMap, Mount, Volume
from stackup.core.plan import Plan
from stackup.reconcile import UpOptions, plan_down, plan_up
from stackup.core.render import plan_json
from tests.test_reconcile import converged, make_project, observed, svc

ZERO = {"create": 0, "recreate": 0, "recreate_if_image_changes": 0, "remove": 0, "scale": 0,
        "start": 0, "stop": 0, "restart": 0, "update": 0, "pull": 0, "build": 0, "push": 0,
        "networks": {"create": 0, "remove": 0}, "volumes": {"create": 0, "remove": 0}}


def summary(plan: Plan, **counts: Any) -> None:
    assert plan_json(plan)["summary"] == {**ZERO, **counts}


def actions(plan: Plan) -> dict[str, str]:
    return {name: s["action"] for name, s in plan_json(plan)["services"].items()}


PROJECT = make_project(svc("web", environment=FrozenMap({"VERSION": "1"})), svc("db"))


def test_a_new_stack_creates() -> None:
    plan = plan_up(PROJECT, observed(PROJECT, resources=False))
    summary(plan, create=2, networks={"create": 1, "remove": 0})
    assert actions(plan) == {"db": "create", "web": "create"}
    web = plan_json(plan)["services"]["web"]["operations"]
    assert web == ["create_container:web:1", "start_container:web:1"]


def test_a_replacement_counts_once() -> None:
    changed = make_project(svc("web", environment=FrozenMap({"VERSION": "2"})), svc("db"))
    plan = plan_up(changed, converged(PROJECT))
    kinds = [op.kind.value for op in plan.operations if op.service_name == "web"
             and not op.if_failed]
    assert kinds == ["stop_container", "rename_container", "create_container",
                     "start_container", "remove_container"]
    summary(plan, recreate=1)
    assert actions(plan) == {"web": "recreate"}


def test_scale_up_and_down() -> None:
    up3 = plan_up(PROJECT, converged(PROJECT), UpOptions(scale=FrozenMap({"web": 3})))
    summary(up3, create=2, scale=1)
    assert actions(up3) == {"web": "scale"}
    three = dataclasses.replace(PROJECT.services["web"], scale=3)
    big = make_project(three, svc("db"))
    down1 = plan_up(PROJECT, converged(big))
    summary(down1, remove=2, stop=0, scale=1)
    assert actions(down1) == {"web": "scale"}


def test_start_stopped_and_conditional_recreate_after_a_build() -> None:
    state = converged(PROJECT)
    stopped = dataclasses.replace(state, containers=tuple(
        dataclasses.replace(c, state="exited") if c.service == "db" else c
        for c in state.containers))
    plan = plan_up(PROJECT, stopped)
    summary(plan, start=1)
    assert actions(plan) == {"db": "start"}
    built = make_project(svc("web", image=None, build=BuildSpec("/w/web")), svc("db"))
    plan = plan_up(built, converged(built), UpOptions(build=True))
    summary(plan, build=1, recreate_if_image_changes=1)
    assert actions(plan)["web"] == "recreate"


def test_down_with_volumes() -> None:
    with_data = make_project(
        svc("db", volumes=(Mount("volume", "/data", source="data"),)),
        volumes={"data": Volume("data", "demo_data")})
    plan = plan_down(with_data, converged(with_data), remove_volumes=True)
    summary(plan, remove=1, networks={"create": 0, "remove": 1},
            volumes={"create": 0, "remove": 1})
    assert actions(plan) == {"db": "remove"}
    # stopped first, which is part of its removal: no "stop" counted
    assert [op.kind.value for op in plan.operations][:2] == ["stop_container", "remove_container"]
