"""``down -p NAME`` goes by NAME's labels; ``up`` replaces a container whose network is gone.

Fast tests with the fake engine (which reports ``gone_networks`` as the Docker engine does: the
contract tests in tests/engine/test_contract.py hold it to that); the same on the real engine is
in tests/integration/test_down_labels.py.
"""

from __future__ import annotations

import pytest

from stackup.app import containers as app
from stackup.testing.fake import FakeEngine
from stackup.core.errors import PlanError
from stackup.core.model import FrozenMap, Network, Project, Service, ServiceNetwork
from stackup.reconcile import UpOptions

RUN = app.RunOptions(parallel=4)


def stack(name: str, *services: str) -> Project:
    return Project(name, "/w", services=FrozenMap({
        s: Service(s, image="busybox:local", networks=(ServiceNetwork("default"),))
        for s in services}),
        networks=FrozenMap({"default": Network("default", f"{name}_default")}))


def states(engine: FakeEngine) -> dict[str, str]:
    return {c.name: c.state for c in engine.containers.values()}


def test_down_named_from_another_projects_folder_removes_all_of_it() -> None:
    engine = FakeEngine()
    other, here = stack("other", "a", "b"), stack("here", "x")
    app.up(other, engine, UpOptions(), RUN)
    app.up(here, engine, UpOptions(), RUN)
    # `stackup -p other down` in here's folder: the loader names here's file "other"
    folder_file = stack("other", "x")
    plan, outcome = app.down(folder_file, "other", engine, remove_volumes=True,
                             remove_orphans=False, timeout=None, run=RUN, named=True)
    assert outcome.ok
    assert plan.project is None  # the folder's file was not used
    assert states(engine) == {"here-x-1": "running"}
    assert sorted(engine.networks) == ["here_default"]
    assert not any("orphan" in note for note in plan.notes)
    assert plan.notes == ("The stack file here does not define services a, b of project "
                          "other: down does not use it, and removes everything labelled other.",)


def test_down_without_p_keeps_orphans_with_their_network_and_says_so() -> None:
    engine = FakeEngine()
    app.up(stack("demo", "web", "old"), engine, UpOptions(), RUN)
    plan, outcome = app.down(stack("demo", "web"), "demo", engine, remove_volumes=True,
                             remove_orphans=False, timeout=None, run=RUN)
    assert outcome.ok  # nothing was attempted that must fail
    assert states(engine) == {"demo-old-1": "running"}
    assert sorted(engine.networks) == ["demo_default"]
    assert plan.notes == ("Found orphan containers (demo-old-1) for this project. Run with "
                          "--remove-orphans to remove them; network demo_default, which they "
                          "use, is kept.",)


def test_up_replaces_a_stopped_container_whose_network_was_removed() -> None:
    engine = FakeEngine()
    project = stack("demo", "web")
    app.up(project, engine, UpOptions(), RUN)
    old = engine.by_name("demo-web-1").container_id
    engine.stop_container("demo", old)
    engine.remove_network("demo", "demo_default")  # allowed: only a stopped container uses it
    assert app.observe(project, engine).containers[0].gone_networks == ("demo_default",)
    with pytest.raises(PlanError, match="--no-recreate keeps it"):
        app.plan_up(project, engine, UpOptions(no_recreate=True))
    plan, outcome = app.up(project, engine, UpOptions(), RUN)
    assert outcome.ok
    assert {op.cause for op in plan.operations if op.service is not None
            and op.kind.value in ("create_container", "start_container")} == {
        "network demo_default is gone"}
    assert states(engine) == {"demo-web-1": "running"}
    assert engine.by_name("demo-web-1").container_id != old
    assert app.plan_up(project, engine, UpOptions()).empty


def test_a_network_made_again_under_the_same_name_is_still_gone_for_the_container() -> None:
    engine = FakeEngine()
    project = stack("demo", "web")
    app.up(project, engine, UpOptions(), RUN)
    engine.stop_container("demo", engine.by_name("demo-web-1").container_id)
    engine.remove_network("demo", "demo_default")
    engine.create_network("demo", project.networks["default"])
    plan = app.plan_up(project, engine, UpOptions())
    assert "network demo_default was removed and made again" in {
        op.cause for op in plan.operations}
    assert app.up(project, engine, UpOptions(), RUN)[1].ok
    assert states(engine) == {"demo-web-1": "running"}


@pytest.mark.parametrize("verb", ["start", "restart"])
def test_start_of_a_container_whose_network_is_gone_is_refused_naming_up(verb: str) -> None:
    """The engine would refuse it (it knows the network by its old id) after starting the
    others; stackup starts nothing and says that `up` mends it."""
    engine = FakeEngine()
    project = stack("demo", "web", "db")
    app.up(project, engine, UpOptions(), RUN)
    for name in ("demo-web-1", "demo-db-1"):
        engine.stop_container("demo", engine.by_name(name).container_id)
    engine.remove_network("demo", "demo_default")
    with pytest.raises(PlanError) as refused:
        app.lifecycle(verb, project, engine, services=(), timeout=None, run=RUN)
    assert str(refused.value).splitlines()[0] == (f"cannot {verb} demo-db-1, demo-web-1: network demo_default "
                                  f"they were attached to is gone; nothing was started")
    assert "Run `stackup up`: it makes the network again" in str(refused.value)
    assert states(engine) == {"demo-web-1": "exited", "demo-db-1": "exited"}
    assert app.up(project, engine, UpOptions(), RUN)[1].ok
    assert states(engine) == {"demo-web-1": "running", "demo-db-1": "running"}
