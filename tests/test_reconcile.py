"""reconcile.plan_up: Project + ObservedState built by hand, plan compared as canonical text."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from stackup import labels
from stackup.errors import PlanError
from stackup.hashing import config_hash
from stackup.model import (Dependency, FrozenMap, Mount, Network, Project, Service,
                           ServiceNetwork, Volume)
from stackup.observed import ObservedContainer, ObservedNetwork, ObservedState, ObservedVolume
from stackup.plan import Kind
from stackup.reconcile import UpOptions, plan_up
from stackup.render import plan_text

IMAGE_ID = "sha256:" + "1" * 64
NEW_IMAGE_ID = "sha256:abc123456789" + "f" * 52


def svc(name: str, **kw: Any) -> Service:
    kw.setdefault("image", "busybox:local")
    kw.setdefault("networks", (ServiceNetwork("default"),))
    return Service(name, **kw)


def dep(service: str, condition: str = "service_started", **kw: Any) -> Dependency:
    return Dependency(service, condition, **kw)


def make_project(*services: Service, networks: dict[str, Network] | None = None,
                 volumes: dict[str, Volume] | None = None) -> Project:
    nets = networks if networks is not None else {"default": Network("default", "demo_default")}
    return Project("demo", "/w", services=FrozenMap({s.name: s for s in services}),
                   networks=FrozenMap(nets), volumes=FrozenMap(volumes or {}))


def container(project: Project, service: str, number: int = 1, *, state: str = "running",
              stale: Service | None = None, **kw: Any) -> ObservedContainer:
    """A container as the engine would report it, created from ``stale`` (default: current)."""
    s = stale or project.services[service]
    digest, text = config_hash(project, s)
    return ObservedContainer(
        kw.pop("container_id", f"{service}{number}".ljust(64, "0")), f"demo-{service}-{number}",
        service, number, state, config_hash=digest, config=FrozenMap(json.loads(text)),
        image_id=kw.pop("image_id", IMAGE_ID), image_ref=s.image_ref("demo"), **kw)


def observed(project: Project, *containers: ObservedContainer, resources: bool = True,
             images: dict[str, str | None] | None = None) -> ObservedState:
    """An engine that has the given containers and (by default) the project's networks/volumes."""
    nets = {n.name: ObservedNetwork(n.name, "n1", n.key, project=project.name)
            for n in project.networks.values() if resources or n.external}
    vols = {v.name: ObservedVolume(v.name, v.key, project=project.name)
            for v in project.volumes.values() if resources or v.external}
    refs = images if images is not None else {
        s.image_ref("demo"): IMAGE_ID for s in project.services.values()}
    return ObservedState("demo", tuple(containers), FrozenMap(nets), FrozenMap(vols),
                         FrozenMap(refs))


def converged(project: Project) -> ObservedState:
    return observed(project, *(container(project, s.name, n) for s in project.services.values()
                               for n in range(1, s.replicas + 1)))


def text(project: Project, state: ObservedState, **options: Any) -> str:
    return plan_text(plan_up(project, state, UpOptions(**options)))


STACK = make_project(
    svc("db", volumes=(Mount("volume", "/data", "data"),), healthcheck=None),
    svc("api", depends_on=(dep("db", "service_healthy"),),
        environment=FrozenMap({"VERSION": "1"})),
    svc("web", depends_on=(dep("api"),)),
    volumes={"data": Volume("data", "demo_data")})


def test_fresh_stack() -> None:
    assert text(STACK, observed(STACK, resources=False)) == """\
+ network  demo_default  not found
+ volume   demo_data     not found
+ create   demo-db-1     not found
. wait     db healthy    depends_on condition of api
+ create   demo-api-1    not found
+ create   demo-web-1    not found
"""
    plan = plan_up(STACK, observed(STACK, resources=False))
    deps = {op.op_id: op.depends_on for op in plan.operations}
    assert deps["create_container:db:1"] == ("create_network:default", "create_volume:data")
    assert deps["wait_healthy:db"] == ("create_container:db:1",)
    # created once its network is there, started once db is healthy
    assert deps["create_container:api:1"] == ("create_network:default",)
    assert plan.operation("create_container:api:1").start_after == ("wait_healthy:db",)
    assert deps["create_container:web:1"] == ("create_network:default",)
    assert plan.operation("create_container:web:1").start_after == ("create_container:api:1",)


def test_converged_stack_gives_an_empty_plan() -> None:
    plan = plan_up(STACK, converged(STACK))
    assert plan.operations == () and plan.empty
    assert plan_text(plan) == "No changes: 3 containers up to date.\n"


def test_environment_change_names_the_key_and_waits_for_dependency() -> None:
    old = dataclasses.replace(STACK.services["api"], environment=FrozenMap({"VERSION": "0"}))
    state = observed(STACK, container(STACK, "db"), container(STACK, "api", stale=old),
                     container(STACK, "web"))
    assert text(STACK, state) == """\
. wait     db healthy  depends_on condition of api
~ recreate demo-api-1  environment.VERSION changed
"""


def test_several_changes_and_no_stored_config() -> None:
    old = dataclasses.replace(STACK.services["web"], command=("x",), user="root")
    bare = dataclasses.replace(container(STACK, "db"), config=None, config_hash="old")
    state = observed(STACK, bare, container(STACK, "api"), container(STACK, "web", stale=old))
    assert text(STACK, state) == """\
~ recreate demo-db-1   config hash changed
~ recreate demo-web-1  command, user changed
"""


def test_image_id_change() -> None:
    images = {"busybox:local": NEW_IMAGE_ID}
    project = make_project(svc("web"))
    state = observed(project, container(project, "web"), images=images)
    assert text(project, state) == \
        "~ recreate demo-web-1  image busybox:local now resolves to sha256:abc123456789\n"
    unknown = observed(project, container(project, "web"), images={"busybox:local": None})
    assert plan_up(project, unknown).empty


def test_scale_up_and_down() -> None:
    project = make_project(svc("worker", scale=2))
    state = observed(project, container(project, "worker", 1), container(project, "worker", 2))
    assert text(project, state, scale=FrozenMap({"worker": 3})) == \
        "+ create   demo-worker-3  not found\n"
    more = observed(project, *(container(project, "worker", n) for n in (1, 2, 3, 4)))
    assert text(project, more) == """\
- remove   demo-worker-4  replica 4 above scale 2
- remove   demo-worker-3  replica 3 above scale 2
"""


def test_orphans_noted_or_removed() -> None:
    project = make_project(svc("web"))
    ghost = dataclasses.replace(container(project, "web"), service="old", name="demo-old-1",
                                container_id="f" * 64)
    state = observed(project, container(project, "web"), ghost)
    assert text(project, state) == (
        "No changes: 1 container up to date.\n"
        "! Found orphan containers (demo-old-1) for this project. If you removed or renamed this "
        "service in your stack file, run with --remove-orphans to remove them.\n")
    assert text(project, state, remove_orphans=True) == "- remove   demo-old-1  orphan\n"


def test_stopped_containers_are_started() -> None:
    project = make_project(svc("web"), svc("job"))
    state = observed(project, container(project, "web", state="created"),
                     container(project, "job", state="exited", exit_code=0))
    assert text(project, state) == """\
> start    demo-job-1  exited (0)
> start    demo-web-1  stopped
"""


EXT = make_project(svc("web", networks=(ServiceNetwork("edge"),),
                       volumes=(Mount("volume", "/d", "store"),)),
                   networks={"edge": Network("edge", "edge", external=True)},
                   volumes={"store": Volume("store", "store", external=True)})


def test_external_resources_present_are_used_never_created() -> None:
    assert text(EXT, observed(EXT)) == "+ create   demo-web-1  not found\n"


def test_external_network_missing() -> None:
    state = dataclasses.replace(observed(EXT), networks=FrozenMap())
    with pytest.raises(PlanError) as info:
        plan_up(EXT, state)
    assert info.value.summary == "external network 'edge' not found"
    assert "docker network create edge" in str(info.value)


def test_diverged_volume_is_an_error_never_removed() -> None:
    state = observed(STACK)
    vol = dataclasses.replace(state.volumes["demo_data"], driver="nfs")
    state = dataclasses.replace(state, volumes=FrozenMap({"demo_data": vol}))
    with pytest.raises(PlanError) as info:
        plan_up(STACK, state)
    assert str(info.value) == (
        "volume demo_data differs from the stack file: driver: file says 'local', engine has "
        "'nfs'\nThe volume holds data: back it up, then `docker volume rm demo_data`, or revert "
        "the file.")


def test_diverged_network_and_foreign_network() -> None:
    state = observed(STACK)
    net = state.networks["demo_default"]
    internal = dataclasses.replace(state, networks=FrozenMap(
        {"demo_default": dataclasses.replace(net, internal=True)}))
    with pytest.raises(PlanError, match="internal: file says False, engine has True") as info:
        plan_up(STACK, internal)
    assert "stackup down" in str(info.value)
    foreign = dataclasses.replace(state, networks=FrozenMap(
        {"demo_default": dataclasses.replace(net, project=None, labels=FrozenMap())}))
    with pytest.raises(PlanError, match="exists and is not owned by project demo") as info:
        plan_up(STACK, foreign)
    assert f"no {labels.PROJECT}=demo label" in str(info.value)


RESTARTS = make_project(
    svc("db"),
    svc("api", depends_on=(dep("db", restart=True),)),
    svc("web", depends_on=(dep("db"),)))


def test_recreated_dependency_restarts_only_restart_true_dependents() -> None:
    old = dataclasses.replace(RESTARTS.services["db"], user="x")
    state = observed(RESTARTS, container(RESTARTS, "db", stale=old), container(RESTARTS, "api"),
                     container(RESTARTS, "web"))
    assert text(RESTARTS, state) == """\
~ recreate demo-db-1   user changed
~ restart  demo-api-1  dependency db was recreated
"""
    plan = plan_up(RESTARTS, state)
    assert plan.operation("restart_container:api:1").depends_on == ("recreate_container:db:1",)
    # named alone, db still restarts the dependent that asked for it
    assert text(RESTARTS, state, services=("db",)) == text(RESTARTS, state)


def test_named_services_bring_their_dependencies() -> None:
    state = observed(STACK)
    assert text(STACK, state, services=("api",)) == """\
+ create   demo-db-1   not found
. wait     db healthy  depends_on condition of api
+ create   demo-api-1  not found
"""
    with pytest.raises(PlanError, match="no such service: nope"):
        plan_up(STACK, state, UpOptions(services=("nope",)))


def test_force_recreate_and_no_recreate() -> None:
    project = make_project(svc("web"), svc("job"))
    old = dataclasses.replace(project.services["web"], user="x")
    state = observed(project, container(project, "web", stale=old),
                     container(project, "job", state="exited", exit_code=0))
    assert text(project, state, force_recreate=True) == """\
~ recreate demo-job-1  --force-recreate
~ recreate demo-web-1  --force-recreate
"""
    assert text(project, state, no_recreate=True) == "> start    demo-job-1  exited (0)\n"
    with pytest.raises(PlanError):
        plan_up(project, state, UpOptions(force_recreate=True, no_recreate=True))


def test_completed_condition_and_wait_flag() -> None:
    project = make_project(svc("migrate"),
                           svc("app", depends_on=(dep("migrate",
                                                      "service_completed_successfully"),)))
    assert text(project, observed(project), wait=True) == """\
+ create   demo-migrate-1     not found
. wait     migrate completed  depends_on condition of app, --wait
+ create   demo-app-1         not found
. wait     app running        --wait
"""


def test_plan_is_deterministic() -> None:
    state = observed(STACK, resources=False)
    assert plan_up(STACK, state) == plan_up(STACK, state)


# --- down, stop, start, rm ------------------------------------------------------------------

from stackup.reconcile import plan_down, plan_rm, plan_start, plan_stop  # noqa: E402

CHAIN = make_project(svc("db"), svc("api", depends_on=(dep("db"),)),
                     svc("web", depends_on=(dep("api"),)), svc("cache"),
                     volumes={"data": Volume("data", "demo_data")})


def test_plan_down_stops_dependents_first_and_removes_each_once_stopped() -> None:
    state = observed(CHAIN, *(container(CHAIN, s) for s in ("cache", "db", "api", "web")),
                     container(CHAIN, "web", 2))
    plan = plan_down(CHAIN, state, remove_volumes=True, remove_orphans=False, timeout=None)
    assert plan_text(plan) == """\
- stop     demo-cache-1  down
- stop     demo-web-2    down
- stop     demo-web-1    down
- stop     demo-api-1    down
- stop     demo-db-1     down
- remove   demo-cache-1  down
- remove   demo-web-2    down
- remove   demo-web-1    down
- remove   demo-api-1    down
- remove   demo-db-1     down
- network  demo_default  down
- volume   demo_data     down
"""
    deps = {op.op_id: op.depends_on for op in plan.operations}
    assert deps["stop_container:web:1"] == ()
    assert deps["stop_container:cache:1"] == ()
    assert deps["stop_container:api:1"] == ("stop_container:web:1", "stop_container:web:2")
    assert deps["stop_container:db:1"] == ("stop_container:api:1", "stop_container:web:1",
                                           "stop_container:web:2")
    # a container goes as soon as it has stopped, not after its dependents are removed
    assert deps["remove_container:api:1"] == ("stop_container:api:1",)
    assert len(deps["remove_network:demo_default"]) == 5
    assert all(op.remove_volumes for op in plan.operations if op.kind is Kind.REMOVE_CONTAINER)
    kept = plan_down(CHAIN, state, remove_volumes=False, remove_orphans=False, timeout=None)
    assert [op.op_id for op in kept.operations][-1] == "remove_network:demo_default"


def test_plan_down_never_touches_external_or_foreign_resources_and_notes_orphans() -> None:
    state = observed(EXT, container(EXT, "web"))
    foreign = ObservedNetwork("other", "n9", project=None)
    ghost = dataclasses.replace(container(EXT, "web"), service="old", name="demo-old-1",
                                container_id="e" * 64)
    state = dataclasses.replace(state, containers=(*state.containers, ghost), networks=FrozenMap(
        {**state.networks, "other": foreign}))
    plan = plan_down(EXT, state, remove_volumes=True, remove_orphans=False, timeout=None)
    assert plan_text(plan) == (
        "- stop     demo-web-1  down\n"
        "- remove   demo-web-1  down\n"
        "! Found orphan containers (demo-old-1) for this project. Run with --remove-orphans to "
        "remove them (the project's networks cannot be removed while they use them).\n")
    with_orphans = plan_down(EXT, state, remove_volumes=False, remove_orphans=True, timeout=3)
    assert plan_text(with_orphans) == (
        "- stop     demo-web-1  down\n- stop     demo-old-1  orphan\n"
        "- remove   demo-web-1  down\n- remove   demo-old-1  orphan\n")
    assert {op.timeout for op in with_orphans.operations} == {3}


def test_plan_down_without_a_stack_file_goes_by_labels() -> None:
    state = observed(CHAIN, container(CHAIN, "db"), container(CHAIN, "web"))
    plan = plan_down(None, state, remove_volumes=False, remove_orphans=False, timeout=None)
    assert plan_text(plan) == """\
- stop     demo-db-1     down
- stop     demo-web-1    down
- remove   demo-db-1     down
- remove   demo-web-1    down
- network  demo_default  down
"""
    assert plan.operations[0].depends_on == plan.operations[1].depends_on == ()


def test_stop_start_rm() -> None:
    state = observed(CHAIN, container(CHAIN, "db"), container(CHAIN, "api"),
                     container(CHAIN, "web", state="exited", exit_code=1))
    stop = plan_stop(CHAIN, state)
    assert plan_text(stop) == "- stop     demo-api-1  running\n- stop     demo-db-1   running\n"
    assert stop.operation("stop_container:db:1").depends_on == ("stop_container:api:1",)
    assert plan_text(plan_start(CHAIN, state, ("web",))) == "> start    demo-web-1  exited (1)\n"
    rm = plan_rm(CHAIN, state)
    assert plan_text(rm) == (
        "- remove   demo-web-1  exited (1)\n"
        "! Not removing running containers (demo-api-1, demo-db-1): stop them first or use "
        "--stop.\n")
    with pytest.raises(PlanError, match="no such service: nope"):
        plan_stop(CHAIN, state, ("nope",))
