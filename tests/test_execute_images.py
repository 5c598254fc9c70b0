"""Image operations through the executor and app.up, against the FakeEngine: one plan holds the
builds and pulls and, for converged services, replacements conditional on the image id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stackup.app import containers as app
from stackup.testing.fake import FakeEngine
from stackup.core.errors import OperationFailed
from stackup.run.execute import Event
from stackup.core.model import (
    BuildSpec,
    Dependency,
    FrozenMap,
    Network,
    Project,
    Service,
    ServiceNetwork,
)
from stackup.core.plan import Kind
from stackup.reconcile import UpOptions

BUSYBOX = "sha256:" + "b" * 64


def svc(name: str, *deps: str, **kw: Any) -> Service:
    kw.setdefault("image", "busybox:local")
    return Service(name, networks=(ServiceNetwork("default"),),
                   depends_on=tuple(Dependency(d) for d in deps), **kw)


def make_project(*services: Service) -> Project:
    return Project("demo", "/w", services=FrozenMap({s.name: s for s in services}),
                   networks=FrozenMap({"default": Network("default", "demo_default")}))


class ReproducibleBuilds(FakeEngine):
    """A fake whose builds give the same image id every time (a fully cached build)."""

    def build_image(self, service_name: str, build: BuildSpec, tag: str, *,
                    no_cache: bool = False, pull: bool = False,
                    on_output: Callable[[str], None] | None = None) -> str:
        known = self.images.get(tag)
        built = super().build_image(service_name, build, tag, no_cache=no_cache, pull=pull,
                                    on_output=on_output)
        if known is not None:
            self.images[tag] = known
            return known
        return built


def engine(cls: type[FakeEngine] = FakeEngine) -> FakeEngine:
    return cls(images={"busybox:local": BUSYBOX}, auto_images=False)


STACK = make_project(svc("app", image=None, build=BuildSpec("/w/app")), svc("api", "app"),
                     svc("web"))

REPLACE_APP = ["stop_container:app:1", "rename_container:app:1", "create_container:app:1",
               "start_container:app:1", "remove_container:app:1:replaced"]
RESTORE_APP = ["restore:remove_container:app:1", "restore:rename_container:app:1",
               "restore:start_container:app:1"]


def up(e: FakeEngine, project: Project, **options: Any) -> tuple[Any, Any, list[Event]]:
    events: list[Event] = []
    plan, outcome = app.up(project, e, UpOptions(**options), app.RunOptions(),
                           events.append)
    return plan, outcome, events


def container_ids(e: FakeEngine) -> dict[str, str]:
    return {n: e.by_name(f"demo-{n}-1").container_id for n in ("app", "api", "web")}


def test_build_then_create_and_build_output_streams_as_events() -> None:
    e = engine()
    plan, outcome, events = up(e, STACK)
    assert outcome.ok
    assert [op.op_id for op in plan.operations][:2] == ["build_image:demo-app",
                                                        "create_network:default"]
    assert plan.operation("create_container:app:1").depends_on == ("build_image:demo-app",
                                                                   "create_network:default")
    assert e.builds[0][:3] == ("app", BuildSpec("/w/app"), "demo-app")
    assert e.by_name("demo-app-1").image_id == e.images["demo-app"]
    output = [ev for ev in events if ev.phase == "output"]
    assert output and output[0].op_id == "build_image:demo-app" and output[0].output
    # converged: a second up neither builds nor changes anything
    plan, outcome, _ = up(e, STACK)
    assert outcome.ok and plan.operations == () and len(e.builds) == 1


def _conditional_plan(plan: Any) -> None:
    """--build on a converged stack: the build, and app's replacement if its image changes."""
    assert [op.op_id for op in plan.operations] == ["build_image:demo-app", *REPLACE_APP,
                                                    *RESTORE_APP]
    for op_id in REPLACE_APP:
        op = plan.operation(op_id)
        assert op.when_image is not None and op.when_image[0] == "build_image:demo-app"
    assert plan.operation("create_container:app:1").cause.startswith(
        "recreate if demo-app changes (now sha256:")
    assert plan.operation("build_image:demo-app").kind is Kind.BUILD_IMAGE


def test_rebuild_with_a_new_image_replaces_exactly_the_services_on_it() -> None:
    e = engine()
    up(e, STACK)
    before = container_ids(e)
    old_image = e.images["demo-app"]
    plan, outcome, _ = up(e, STACK, build=True)
    _conditional_plan(plan)
    assert plan.operation("create_container:app:1").when_image == ("build_image:demo-app",
                                                                   old_image)
    assert outcome.ok
    assert [op.op_id for op in outcome.done] == ["build_image:demo-app", *REPLACE_APP]
    assert [op.op_id for op in outcome.not_needed] == RESTORE_APP
    after = container_ids(e)
    assert after["app"] != before["app"]
    assert after["api"] == before["api"] and after["web"] == before["web"]
    new = e.by_name("demo-app-1")
    assert new.image_id == e.images["demo-app"] != old_image and new.state == "running"
    assert sorted(c.name for c in e.containers.values()) == ["demo-api-1", "demo-app-1",
                                                             "demo-web-1"]
    plan, outcome, _ = up(e, STACK)
    assert outcome.ok and plan.operations == ()


def test_rebuild_with_the_same_image_leaves_the_container_untouched() -> None:
    e = engine(ReproducibleBuilds)
    up(e, STACK)
    before = container_ids(e)
    calls = len(e.calls)
    plan, outcome, events = up(e, STACK, build=True)
    _conditional_plan(plan)
    assert outcome.ok
    assert len(e.builds) == 2  # it was built again ...
    assert [op.op_id for op in outcome.done] == ["build_image:demo-app"]
    # ... and the replacement, with its restore steps, was not needed
    assert [op.op_id for op in outcome.not_needed] == [*REPLACE_APP, *RESTORE_APP]
    assert container_ids(e) == before and e.by_name("demo-app-1").state == "running"
    touched = {c.method for c in e.calls[calls:]}
    assert touched <= {"observe", "build_image"}, touched
    assert {ev.op_id for ev in events if ev.phase == "started"} == {"build_image:demo-app"}


def test_failed_build_of_a_converged_service_keeps_its_container() -> None:
    e = engine()
    up(e, STACK)
    before = container_ids(e)
    e.fail_on("build_image", "demo-app", OperationFailed("cannot build image demo-app"))
    _, outcome, _ = up(e, STACK, build=True)
    assert [op.op_id for op, _ in outcome.failed] == ["build_image:demo-app"]
    assert [op.op_id for op in outcome.skipped] == REPLACE_APP
    assert container_ids(e) == before and e.by_name("demo-app-1").state == "running"


def test_failed_pull_skips_the_services_on_it_and_their_dependents() -> None:
    e = engine()
    e.fail_on("pull_image", "nginx:1", OperationFailed("cannot pull image nginx:1: refused"))
    project = make_project(svc("web", image="nginx:1"), svc("front", "web"), svc("db"))
    _, outcome, _ = up(e, project)
    assert [(op.op_id, op.service_name, str(err)) for op, err in outcome.failed] == [
        ("pull_image:nginx:1", "web", "cannot pull image nginx:1: refused")]
    assert sorted(op.op_id for op in outcome.skipped) == [
        "create_container:web:1", "start_container:front:1", "start_container:web:1"]
    assert e.by_name("demo-db-1").state == "running"
    assert e.by_name("demo-front-1").state == "created"  # created, never started
    assert len(e.calls_of("pull_image")) == 1  # one plan: pulled once, not retried


def test_failed_build_skips_dependents() -> None:
    e = engine()
    e.fail_on("build_image", "demo-app", OperationFailed("cannot build image demo-app for "
                                                         "service app at Step 2/2 : RUN false"))
    _, outcome, _ = up(e, STACK)
    assert [op.op_id for op, _ in outcome.failed] == ["build_image:demo-app"]
    assert sorted(op.op_id for op in outcome.skipped) == [
        "create_container:app:1", "start_container:api:1", "start_container:app:1"]
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
