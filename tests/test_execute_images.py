"""Image operations through the executor and app.up's two phases, against the FakeEngine."""

from __future__ import annotations

from typing import Any

from stackup import app
from stackup.engine.fake import FakeEngine
from stackup.errors import OperationFailed
from stackup.execute import Event
from stackup.model import BuildSpec, Dependency, FrozenMap, Network, Project, Service, ServiceNetwork
from stackup.plan import Kind
from stackup.reconcile import UpOptions

BUSYBOX = "sha256:" + "b" * 64


def svc(name: str, *deps: str, **kw: Any) -> Service:
    kw.setdefault("image", "busybox:local")
    return Service(name, networks=(ServiceNetwork("default"),),
                   depends_on=tuple(Dependency(d) for d in deps), **kw)


def make_project(*services: Service) -> Project:
    return Project("demo", "/w", services=FrozenMap({s.name: s for s in services}),
                   networks=FrozenMap({"default": Network("default", "demo_default")}))


def engine() -> FakeEngine:
    return FakeEngine(images={"busybox:local": BUSYBOX}, auto_images=False)


STACK = make_project(svc("app", image=None, build=BuildSpec("/w/app")), svc("api", "app"),
                     svc("web"))


def up(e: FakeEngine, project: Project, **options: Any) -> tuple[Any, Any, list[Event]]:
    events: list[Event] = []
    plan, outcome = app.up(project, e, UpOptions(**options), app.RunOptions(),
                           events.append)
    return plan, outcome, events


def test_build_then_create_and_build_output_streams_as_events() -> None:
    e = engine()
    plan, outcome, events = up(e, STACK)
    assert outcome.ok
    assert [op.op_id for op in plan.operations][:2] == ["build_image:demo-app",
                                                        "create_network:default"]
    assert e.builds[0][:3] == ("app", BuildSpec("/w/app"), "demo-app")
    assert e.by_name("demo-app-1").image_id == e.images["demo-app"]
    output = [ev for ev in events if ev.phase == "output"]
    assert output and output[0].op_id == "build_image:demo-app" and output[0].output
    # converged: a second up neither builds nor changes anything
    plan, outcome, _ = up(e, STACK)
    assert outcome.ok and plan.empty and len(e.builds) == 1


def test_rebuild_recreates_exactly_the_services_on_that_image() -> None:
    e = engine()
    up(e, STACK)
    before = {n: e.by_name(f"demo-{n}-1").container_id for n in ("app", "api", "web")}
    plan, outcome, _ = up(e, STACK, build=True)
    assert outcome.ok
    after = {n: e.by_name(f"demo-{n}-1").container_id for n in ("app", "api", "web")}
    assert after["app"] != before["app"]
    assert after["api"] == before["api"] and after["web"] == before["web"]
    kinds = {op.op_id: op.kind for op in plan.operations}
    assert kinds == {"build_image:demo-app": Kind.BUILD_IMAGE,
                     "recreate_container:app:1": Kind.RECREATE_CONTAINER}
    assert plan.operation("recreate_container:app:1").cause.startswith(
        "image demo-app now resolves to sha256:")


def test_failed_pull_skips_the_services_on_it_and_their_dependents() -> None:
    e = engine()
    e.fail_on("pull_image", "nginx:1", OperationFailed("cannot pull image nginx:1: refused"))
    project = make_project(svc("web", image="nginx:1"), svc("front", "web"), svc("db"))
    plan, outcome, _ = up(e, project)
    assert [(op.op_id, op.service_name, str(err)) for op, err in outcome.failed] == [
        ("pull_image:nginx:1", "web", "cannot pull image nginx:1: refused")]
    assert sorted(op.op_id for op in outcome.skipped) == ["create_container:front:1",
                                                          "create_container:web:1"]
    assert e.by_name("demo-db-1").state == "running"
    assert len(e.calls_of("pull_image")) == 1  # not retried by the second phase


def test_failed_build_skips_dependents() -> None:
    e = engine()
    e.fail_on("build_image", "demo-app", OperationFailed("cannot build image demo-app for "
                                                         "service app at Step 2/2 : RUN false"))
    _, outcome, _ = up(e, STACK)
    assert [op.op_id for op, _ in outcome.failed] == ["build_image:demo-app"]
    assert sorted(op.op_id for op in outcome.skipped) == ["create_container:api:1",
                                                          "create_container:app:1"]
    assert e.by_name("demo-web-1").state == "running"


def test_build_and_pull_commands_run_in_parallel() -> None:
    e = engine()
    e.registry["nginx:1"] = "sha256:" + "n" * 64
    e.latency = 0.05
    project = make_project(svc("app", image=None, build=BuildSpec("/w/app")),
                           svc("web", image="nginx:1"), svc("cache", image="redis:7"))
    e.registry["redis:7"] = "sha256:" + "r" * 64
    outcome = app.run_plan(app.images_plan("pull", project), project, e, app.RunOptions())
    assert outcome.ok and e.images["nginx:1"] == "sha256:" + "n" * 64
    assert e.max_in_flight == 2
    outcome = app.run_plan(app.images_plan("build", project, no_cache=True), project, e,
                           app.RunOptions())
    assert outcome.ok and e.builds[-1][2:] == ("demo-app", True, False)
    outcome = app.run_plan(app.images_plan("push", project, ("web",)), project, e,
                           app.RunOptions())
    assert outcome.ok and e.pushed == {"nginx:1": "sha256:" + "n" * 64}


def test_images_lists_what_each_container_runs() -> None:
    e = engine()
    up(e, STACK)
    rows = app.images("demo", e)
    assert [(r.container, r.image_ref, r.image_id) for r in rows] == [
        ("demo-api-1", "busybox:local", BUSYBOX),
        ("demo-app-1", "demo-app", e.images["demo-app"]),
        ("demo-web-1", "busybox:local", BUSYBOX)]
    assert all(r.size == 1000 for r in rows)
