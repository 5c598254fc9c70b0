"""reconcile's image decisions (build / pull per pull_policy, --pull, --build): golden plan text."""

from __future__ import annotations

import pytest

from stackup.core.errors import PlanError
from stackup.core.model import BuildSpec, Dependency
from stackup.core.plan import Kind
from stackup.reconcile import UpOptions, plan_up
from stackup.reconcile.images import plan_build, plan_pull, plan_push
from stackup.core.render import plan_text
from tests.test_reconcile import IMAGE_ID, container, make_project, observed, svc, text

BUILD = BuildSpec("/w/app")


def test_missing_image_is_pulled_and_built_images_are_built() -> None:
    project = make_project(svc("web", image="nginx:1"), svc("app", image=None, build=BUILD),
                           svc("db", image="busybox:local"))
    state = observed(project, images={"busybox:local": IMAGE_ID})
    assert text(project, state) == """\
#1 + build  demo-app    image not found locally
#2 + pull   nginx:1     image not found locally
#3 + create demo-app-1  not found                <- #1
#4 > start  demo-app-1  not found                <- #3
#5 + create demo-db-1   not found
#6 > start  demo-db-1   not found                <- #5
#7 + create demo-web-1  not found                <- #2
#8 > start  demo-web-1  not found                <- #7
Plan: 3 to create, 1 to build, 1 to pull.
"""
    plan = plan_up(project, state)
    deps = {op.op_id: op.depends_on for op in plan.operations}
    assert deps["create_container:app:1"] == ("build_image:demo-app",)
    assert deps["create_container:web:1"] == ("pull_image:nginx:1",)
    assert deps["create_container:db:1"] == ()
    assert all(op.when_image is None and not op.if_failed for op in plan.operations)


def test_one_operation_per_image_and_a_build_wins_over_a_pull() -> None:
    project = make_project(svc("a", image="shared:1"), svc("b", image="shared:1", build=BUILD),
                           svc("c", image="shared:1", depends_on=(Dependency("a"),)))
    state = observed(project, images={})
    assert text(project, state) == """\
#1 + build  shared:1  image not found locally
#2 + create demo-a-1  not found                <- #1
#3 > start  demo-a-1  not found                <- #2
#4 + create demo-b-1  not found                <- #1
#5 > start  demo-b-1  not found                <- #4
#6 + create demo-c-1  not found                <- #1
#7 > start  demo-c-1  not found                <- #6 #3
Plan: 3 to create, 1 to build.
"""
    plan = plan_up(project, state)
    assert plan.operation("build_image:shared:1").service_name == "b"
    assert "build_image:shared:1" in plan.operation("create_container:c:1").depends_on


def test_pull_policy_always_and_build_even_when_present_and_converged() -> None:
    project = make_project(svc("web", image="nginx:1", pull_policy="always"),
                           svc("app", image="app:1", build=BUILD, pull_policy="build"),
                           svc("db"))
    state = observed(project, *(container(project, n) for n in ("web", "app", "db")),
                     images={"nginx:1": IMAGE_ID, "app:1": IMAGE_ID, "busybox:local": IMAGE_ID})
    # the converged containers are replaced only if the build or pull changes their image
    assert text(project, state) == """\
#1  + build  app:1                                 pull_policy: build
#2  + pull   nginx:1                               pull_policy: always
#3  - stop   demo-app-1                            recreate if app:1 changes (now sha256:111111111111)              <- #1  if #1 changes the image
#4  ~ rename demo-app-1 → app100000000_demo-app-1  make way                                                         <- #3  if #1 changes the image
#5  + create demo-app-1                            recreate if app:1 changes (now sha256:111111111111)              <- #4 #1  if #1 changes the image
#6  - stop   demo-web-1                            recreate if nginx:1 changes (now sha256:111111111111)            <- #2  if #2 changes the image
#7  ~ rename demo-web-1 → web100000000_demo-web-1  make way                                                         <- #6  if #2 changes the image
#8  + create demo-web-1                            recreate if nginx:1 changes (now sha256:111111111111)            <- #7 #2  if #2 changes the image
#9  . check  stopped containers released           no start before then (Engine 20.10 miscounts network endpoints)  after #4 #7
#10 > start  demo-app-1                            recreate if app:1 changes (now sha256:111111111111)              <- #5  after #9  if #1 changes the image
#11 - remove app100000000_demo-app-1               replaced                                                         <- #10  if #1 changes the image
#12 - remove demo-app-1                            restore demo-app-1                                               if #5|#10 failed
#13 ~ rename app100000000_demo-app-1 → demo-app-1  restore demo-app-1                                               <- #12  if #5|#10 failed
#14 > start  demo-app-1                            restore demo-app-1                                               <- #13  if #4|#5|#10 failed
#15 > start  demo-web-1                            recreate if nginx:1 changes (now sha256:111111111111)            <- #8  after #9  if #2 changes the image
#16 - remove web100000000_demo-web-1               replaced                                                         <- #15  if #2 changes the image
#17 - remove demo-web-1                            restore demo-web-1                                               if #8|#15 failed
#18 ~ rename web100000000_demo-web-1 → demo-web-1  restore demo-web-1                                               <- #17  if #8|#15 failed
#19 > start  demo-web-1                            restore demo-web-1                                               <- #18  if #7|#8|#15 failed
Plan: 2 to replace if the image changes, 1 to build, 1 to pull.
"""
    plan = plan_up(project, state)
    assert plan.operation("create_container:app:1").when_image == ("build_image:app:1", IMAGE_ID)
    assert plan.operation("start_container:web:1").when_image == ("pull_image:nginx:1", IMAGE_ID)
    assert "demo-db-1" in plan.up_to_date


def test_pull_option_overrides_policy_and_build_option_builds() -> None:
    project = make_project(svc("web", image="nginx:1", pull_policy="never"),
                           svc("app", image=None, build=BUILD))
    state = observed(project, container(project, "web"), container(project, "app"),
                     images={"nginx:1": IMAGE_ID, "demo-app": IMAGE_ID})
    plan = plan_up(project, state, UpOptions(pull="always", build=True))
    # (the gate that holds the starts until the stopped containers are released changes nothing)
    assert [op.op_id for op in plan.operations if not op.conditional] == [
        "build_image:demo-app", "pull_image:nginx:1", "gate:stops"]
    assert {op.cause for op in plan.operations if op.kind is Kind.CREATE_CONTAINER} == {
        "recreate if demo-app changes (now sha256:111111111111)",
        "recreate if nginx:1 changes (now sha256:111111111111)"}
    assert plan.operation("build_image:demo-app").cause == "--build"
    assert plan.operation("pull_image:nginx:1").cause == "--pull always"
    # every container step waits for its image operation, and runs only if it changes the id
    for op in plan.operations:
        if op.kind in (Kind.BUILD_IMAGE, Kind.PULL_IMAGE, Kind.GATE) or op.if_failed:
            continue
        image_op = "build_image:demo-app" if op.service_name == "app" else "pull_image:nginx:1"
        assert op.when_image == (image_op, IMAGE_ID), op.op_id
    # --no-recreate: built and pulled, nothing replaced
    plan = plan_up(project, state, UpOptions(pull="always", build=True, no_recreate=True))
    assert [op.op_id for op in plan.operations] == ["build_image:demo-app",
                                                    "pull_image:nginx:1"]
    assert text(project, state, pull="missing") == "No changes: 2 containers up to date.\n"


def test_never_with_a_missing_image_names_image_and_service() -> None:
    project = make_project(svc("web", image="foo:1", pull_policy="never"))
    with pytest.raises(PlanError, match=r"image foo:1 not found locally and pull_policy is "
                                        r"never \(service web\)"):
        plan_up(project, observed(project, images={}))
    ok = make_project(svc("web", image="foo:1"))
    with pytest.raises(PlanError, match=r"--pull is never \(service web\)"):
        text(ok, observed(ok, images={}), pull="never")
    built = make_project(svc("web", image="foo:1", build=BUILD, pull_policy="never"))
    assert "#1 + build  foo:1  " in text(built, observed(built, images={}))


def test_missing_image_of_a_converged_service_changes_nothing() -> None:
    project = make_project(svc("web", image="foo:1", pull_policy="never"))
    state = observed(project, container(project, "web"), images={"foo:1": None})
    assert plan_up(project, state).empty


def test_policy_build_without_build_section_is_an_error() -> None:
    project = make_project(svc("web", image="foo:1", pull_policy="build"))
    with pytest.raises(PlanError, match="pull_policy build but no build section"):
        plan_up(project, observed(project))


def test_unselected_services_get_no_image_operations() -> None:
    project = make_project(svc("web", image="nginx:1"), svc("api", image="api:1"))
    state = observed(project, images={})
    assert text(project, state, services=("web",)) == """\
#1 + pull   nginx:1     image not found locally
#2 + create demo-web-1  not found                <- #1
#3 > start  demo-web-1  not found                <- #2
Plan: 1 to create, 1 to pull.
"""
    assert "+ pull   api:1" in text(project, state)  # selected, it is pulled


def test_build_pull_and_push_commands() -> None:
    project = make_project(svc("app", image=None, build=BUILD),
                           svc("worker", image="shared:1", build=BuildSpec("/w/w", no_cache=True)),
                           svc("other", image="shared:1"), svc("web", image="nginx:1"),
                           svc("local", image="mine:1", build=BUILD, pull_policy="build"))
    build = plan_build(project)
    assert plan_text(build) == """\
#1 + build demo-app  build
#2 + build mine:1    build
#3 + build shared:1  build
Plan: 3 to build.
"""
    assert build.operation("build_image:shared:1").no_cache
    assert not build.operation("build_image:demo-app").no_cache
    assert plan_build(project, ("app",), no_cache=True, pull=True).operations[0].pull
    pull = plan_pull(project)
    assert [op.op_id for op in pull.operations] == ["pull_image:nginx:1", "pull_image:shared:1"]
    assert pull.notes == ("service local: pull_policy is build, not pulled",)
    assert [op.image for op in plan_push(project, ("web", "other")).operations] == [
        "nginx:1", "shared:1"]
    with pytest.raises(PlanError, match="no such service: nope"):
        plan_pull(project, ("nope",))
