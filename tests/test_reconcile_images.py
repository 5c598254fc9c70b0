"""reconcile's image decisions (build / pull per pull_policy, --pull, --build): golden plan text."""

from __future__ import annotations

import pytest

from stackup.errors import PlanError
from stackup.model import BuildSpec, Dependency
from stackup.reconcile import plan_up
from stackup.reconcile.images import plan_build, plan_pull, plan_push
from stackup.render import plan_text
from tests.test_reconcile import IMAGE_ID, container, make_project, observed, svc, text

BUILD = BuildSpec("/w/app")


def test_missing_image_is_pulled_and_built_images_are_built() -> None:
    project = make_project(svc("web", image="nginx:1"), svc("app", image=None, build=BUILD),
                           svc("db", image="busybox:local"))
    state = observed(project, images={"busybox:local": IMAGE_ID})
    assert text(project, state) == """\
+ build    demo-app    image not found locally
+ pull     nginx:1     image not found locally
+ create   demo-app-1  not found
+ create   demo-db-1   not found
+ create   demo-web-1  not found
"""
    plan = plan_up(project, state)
    deps = {op.op_id: op.depends_on for op in plan.operations}
    assert deps["create_container:app:1"] == ("build_image:demo-app",)
    assert deps["create_container:web:1"] == ("pull_image:nginx:1",)
    assert deps["create_container:db:1"] == ()


def test_one_operation_per_image_and_a_build_wins_over_a_pull() -> None:
    project = make_project(svc("a", image="shared:1"), svc("b", image="shared:1", build=BUILD),
                           svc("c", image="shared:1", depends_on=(Dependency("a"),)))
    state = observed(project, images={})
    assert text(project, state) == """\
+ build    shared:1  image not found locally
+ create   demo-a-1  not found
+ create   demo-b-1  not found
+ create   demo-c-1  not found
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
    assert text(project, state) == """\
+ build    app:1    pull_policy: build
+ pull     nginx:1  pull_policy: always
"""


def test_pull_option_overrides_policy_and_build_option_builds() -> None:
    project = make_project(svc("web", image="nginx:1", pull_policy="never"),
                           svc("app", image=None, build=BUILD))
    state = observed(project, container(project, "web"), container(project, "app"),
                     images={"nginx:1": IMAGE_ID, "demo-app": IMAGE_ID})
    assert text(project, state, pull="always", build=True) == """\
+ build    demo-app  --build
+ pull     nginx:1   --pull always
"""
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
    assert "build    foo:1" in text(built, observed(built, images={}))


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
    assert "api:1" not in text(project, state, services=("web",))


def test_build_pull_and_push_commands() -> None:
    project = make_project(svc("app", image=None, build=BUILD),
                           svc("worker", image="shared:1", build=BuildSpec("/w/w", no_cache=True)),
                           svc("other", image="shared:1"), svc("web", image="nginx:1"),
                           svc("local", image="mine:1", build=BUILD, pull_policy="build"))
    build = plan_build(project)
    assert plan_text(build) == """\
+ build    demo-app  build
+ build    mine:1    build
+ build    shared:1  build
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
