"""reconcile.plan_up after a run killed with kill -9 in the middle (pure; found by the fault
trials of tests/integration/test_faults.py): what it leaves, and what the next plan makes of it.

* a start-first rollout killed between the create of ``<name>-next`` and its final rename leaves
  that container beside the old one: the next plan removes it as a duplicate (it may lack its
  DNS aliases), and the new ``<name>-next`` it creates waits for that removal (else: "name
  already in use");
* the engine finishes the requests of a dead client: a container the killed run was starting
  may be running by the time the next run removes it, though observed stopped: removals of
  containers the plan discards are forced.
"""

from __future__ import annotations

import dataclasses

from stackup.core.model import Deploy, FrozenMap, Healthcheck, UpdateConfig
from stackup.core.plan import Kind
from stackup.reconcile import UpOptions, plan_up
from tests.test_reconcile import container, make_project, observed, svc

HC = Healthcheck(test=("CMD", "true"))


def _web(version: str, replicas: int = 1) -> tuple:
    project = make_project(svc("web", scale=replicas, healthcheck=HC,
                               environment=FrozenMap({"V": version}),
                               deploy=Deploy(update_config=UpdateConfig(order="start-first"))))
    return project, dataclasses.replace(project.services["web"],
                                        environment=FrozenMap({"V": "0"}))


def test_a_left_next_is_removed_before_the_new_next_is_created() -> None:
    project, stale = _web("2")
    old = container(project, "web", stale=stale)  # demo-web-1, the old config, running
    left = dataclasses.replace(container(project, "web", state="created"),
                               container_id="f" * 64, name="demo-web-1-next")
    plan = plan_up(project, observed(project, old, left))
    removal = [op for op in plan.operations
               if op.kind is Kind.REMOVE_CONTAINER and op.container_id == left.container_id]
    assert len(removal) == 1 and removal[0].cause == "duplicate replica 1"
    assert removal[0].force  # observed created: a start still in flight may have run it
    create = plan.operation("create_container:web:1")
    assert create.container_name == "demo-web-1-next"
    assert removal[0].op_id in create.depends_on


def test_a_left_next_with_the_wanted_config_is_still_not_adopted() -> None:
    """Killed before its DNS aliases were published: a ``-next`` is never renamed into place,
    even when its config is the wanted one; the old one (aside) is replaced."""
    project, stale = _web("2")
    old = container(project, "web", stale=stale, state="exited", exit_code=0)
    old = dataclasses.replace(old, name=f"{old.container_id[:12]}_demo-web-1")
    left = dataclasses.replace(container(project, "web"), container_id="f" * 64,
                               name="demo-web-1-next")
    plan = plan_up(project, observed(project, old, left))
    assert not [op for op in plan.operations if op.kind is Kind.RENAME_CONTAINER
                and op.container_id == left.container_id]
    removal = [op for op in plan.operations if op.kind is Kind.REMOVE_CONTAINER
               and op.container_id == left.container_id and not op.if_failed]
    assert len(removal) == 1
    assert removal[0].op_id in plan.operation("create_container:web:1").depends_on


def test_discarded_containers_are_removed_by_force_even_when_seen_stopped() -> None:
    project, _ = _web("1", replicas=1)
    surplus = container(project, "web", 2, state="created")
    plan = plan_up(project, observed(project, container(project, "web"), surplus))
    assert [(op.kind, op.force) for op in plan.operations] == [(Kind.REMOVE_CONTAINER, True)]
    replaced = plan_up(project, observed(project, container(project, "web", state="created")),
                       UpOptions(force_recreate=True))
    assert [op.force for op in replaced.operations if op.op_id.endswith(":replaced")] == [True]
