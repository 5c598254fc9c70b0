"""reconcile.plan_up: Project + ObservedState built by hand, plan compared as canonical text."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from stackup.core import labels
from stackup.core.errors import PlanError
from stackup.core.hashing import config_hash
from stackup.core.model import (Dependency, FrozenMap, Mount, Network, Project, Service,
                           ServiceNetwork, Volume)
from stackup.core.observed import ObservedContainer, ObservedNetwork, ObservedState, ObservedVolume
from stackup.core.plan import Change, Kind
from stackup.reconcile import UpOptions, plan_up
from stackup.core.render import plan_json, plan_text

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
    """Golden: cold up. Creates wait only for networks and volumes; starts wait for the create
    and for what the service depends on (db healthy), edges are direct predecessors only."""
    assert text(STACK, observed(STACK, resources=False)) == """\
#1 + network demo_default  not found
#2 + volume  demo_data     not found
#3 + create  demo-db-1     not found                    <- #1 #2
#4 > start   demo-db-1     not found                    <- #3
#5 . wait    db healthy    depends_on condition of api  <- #4
#6 + create  demo-api-1    not found                    <- #1
#7 > start   demo-api-1    not found                    <- #6 #5
#8 + create  demo-web-1    not found                    <- #1
#9 > start   demo-web-1    not found                    <- #8 #7
Plan: 3 to create, 1 to create network, 1 to create volume.
! service db has no healthcheck in the stack file: waiting for it to be healthy relies on its image's HEALTHCHECK.
"""
    plan = plan_up(STACK, observed(STACK, resources=False))
    assert plan.operation("wait_healthy:db").watch == ("demo-db-1",)
    assert plan.operation("create_container:api:1").config_hash == config_hash(
        STACK, STACK.services["api"])[0]


def test_converged_stack_gives_an_empty_plan() -> None:
    plan = plan_up(STACK, converged(STACK))
    assert plan.operations == () and plan.empty
    assert plan_text(plan) == "No changes: 3 containers up to date.\n"


def test_environment_change_is_a_replacement_with_restore_steps_and_a_field_diff() -> None:
    """Golden: one key changed."""
    old = dataclasses.replace(STACK.services["api"], environment=FrozenMap({"VERSION": "0"}))
    state = observed(STACK, container(STACK, "db"), container(STACK, "api", stale=old),
                     container(STACK, "web"))
    plan = plan_up(STACK, state)
    assert plan_text(plan, diff=True) == """\
#1 . wait   db healthy                            depends_on condition of api
#2 - stop   demo-api-1                            environment.VERSION changed
#3 ~ rename demo-api-1 → api100000000_demo-api-1  make way                     <- #2
#4 + create demo-api-1                            environment.VERSION changed  <- #3
      environment.VERSION: "0" → "1"
#5 > start  demo-api-1                            environment.VERSION changed  <- #4 #1
#6 - remove api100000000_demo-api-1               replaced                     <- #5
#7 - remove demo-api-1                            restore demo-api-1           if #4|#5 failed
#8 ~ rename api100000000_demo-api-1 → demo-api-1  restore demo-api-1           <- #7  if #4|#5 failed
#9 > start  demo-api-1                            restore demo-api-1           <- #8  if #3|#4|#5 failed
Plan: 1 to replace.
! service db has no healthcheck in the stack file: waiting for it to be healthy relies on its image's HEALTHCHECK.
"""
    create = plan.operation("create_container:api:1")
    assert create.changes == (Change("environment.VERSION", '"0"', '"1"'),)


def test_sensitive_values_are_never_in_the_changes() -> None:
    canary = "canary-8c1f"
    new = make_project(svc("api", environment=FrozenMap({"DB_PASSWORD": canary, "A": "2"})))
    old = dataclasses.replace(new.services["api"],
                              environment=FrozenMap({"DB_PASSWORD": "x", "A": "1"}))
    plan = plan_up(new, observed(new, container(new, "api", stale=old)))
    rendered = plan_text(plan, diff=True) + json.dumps(plan_json(plan))
    assert canary not in rendered
    assert "environment.DB_PASSWORD: (sensitive value changed)" in rendered
    assert 'environment.A: "1" → "2"' in rendered


def test_several_changes_and_no_stored_config() -> None:
    old = dataclasses.replace(STACK.services["web"], command=("x",), user="root")
    bare = dataclasses.replace(container(STACK, "db"), config=None, config_hash="old")
    state = observed(STACK, bare, container(STACK, "api"), container(STACK, "web", stale=old))
    plan = plan_up(STACK, state)
    causes = {op.op_id: op.cause for op in plan.operations}
    assert causes["create_container:db:1"] == "config hash changed"
    assert causes["create_container:web:1"] == "command, user changed"
    # api is up to date: nothing waits for db on its behalf
    assert "wait_healthy:db" not in causes and "service db has no healthcheck" not in \
        plan_text(plan)


def test_image_id_change() -> None:
    images = {"busybox:local": NEW_IMAGE_ID}
    project = make_project(svc("web"))
    state = observed(project, container(project, "web"), images=images)
    plan = plan_up(project, state)
    assert plan.operation("create_container:web:1").cause == \
        "image busybox:local now resolves to sha256:abc123456789"
    unknown = observed(project, container(project, "web"), images={"busybox:local": None})
    assert plan_up(project, unknown).empty


def test_scale_up_and_down() -> None:
    """Golden: scale down (and up)."""
    project = make_project(svc("worker", scale=2))
    state = observed(project, container(project, "worker", 1), container(project, "worker", 2))
    assert text(project, state, scale=FrozenMap({"worker": 3})) == """\
#1 + create demo-worker-3  not found
#2 > start  demo-worker-3  not found  <- #1
Plan: 1 to create.
"""
    more = observed(project, *(container(project, "worker", n) for n in (1, 2, 3, 4)))
    assert text(project, more) == """\
#1 - stop   demo-worker-4  replica 4 above scale 2
#2 - remove demo-worker-4  replica 4 above scale 2  <- #1
#3 - stop   demo-worker-3  replica 3 above scale 2
#4 - remove demo-worker-3  replica 3 above scale 2  <- #3
Plan: 2 to remove.
"""


def test_orphans_noted_or_removed() -> None:
    """Golden: orphans."""
    project = make_project(svc("web"))
    ghost = dataclasses.replace(container(project, "web"), service="old", name="demo-old-1",
                                container_id="f" * 64)
    state = observed(project, container(project, "web"), ghost)
    assert text(project, state) == (
        "No changes: 1 container up to date.\n"
        "! Found orphan containers (demo-old-1) for this project. If you removed or renamed this "
        "service in your stack file, run with --remove-orphans to remove them.\n")
    assert text(project, state, remove_orphans=True) == """\
#1 - stop   demo-old-1  orphan
#2 - remove demo-old-1  orphan  <- #1
Plan: 1 to remove.
"""


def test_stopped_containers_are_started() -> None:
    project = make_project(svc("web"), svc("job"))
    state = observed(project, container(project, "web", state="created"),
                     container(project, "job", state="exited", exit_code=0))
    assert text(project, state) == """\
#1 > start demo-job-1  exited (0)
#2 > start demo-web-1  stopped
Plan: 2 to start.
"""


def test_a_container_left_under_a_temporary_name_is_renamed_back_not_renamed_onto_itself() -> None:
    """kill -9 between the rename and the create of a replacement leaves the old container as
    <id12>_<name>: the next plan gives it its name back (and replaces it when it must)."""
    project = make_project(svc("web"))
    left = container(project, "web", state="exited", exit_code=0)
    left = dataclasses.replace(left, name=f"{left.container_id[:12]}_demo-web-1")
    plan = plan_up(project, observed(project, left))
    assert [(op.kind, op.new_name) for op in plan.operations][:1] == \
        [(Kind.RENAME_CONTAINER, "demo-web-1")]
    assert plan.operation("start_container:web:1").depends_on == ("rename_container:web:1",)
    stale = dataclasses.replace(project.services["web"], user="x")
    old = container(project, "web", stale=stale)
    old = dataclasses.replace(old, name=f"{old.container_id[:12]}_demo-web-1", state="exited")
    replaced = plan_up(project, observed(project, old))
    kinds = [op.kind for op in replaced.operations if not op.if_failed]
    assert Kind.RENAME_CONTAINER not in kinds  # already aside: no rename onto itself
    assert replaced.operation("create_container:web:1").depends_on == ()


EXT = make_project(svc("web", networks=(ServiceNetwork("edge"),),
                       volumes=(Mount("volume", "/d", "store"),)),
                   networks={"edge": Network("edge", "edge", external=True)},
                   volumes={"store": Volume("store", "store", external=True)})


def test_external_resources_present_are_used_never_created() -> None:
    assert [op.op_id for op in plan_up(EXT, observed(EXT)).operations] == [
        "create_container:web:1", "start_container:web:1"]


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
    """Golden: depends_on restart: true."""
    old = dataclasses.replace(RESTARTS.services["db"], user="x")
    state = observed(RESTARTS, container(RESTARTS, "db", stale=old), container(RESTARTS, "api"),
                     container(RESTARTS, "web"))
    assert text(RESTARTS, state) == """\
#1 - stop    demo-db-1                           user changed
#2 ~ rename  demo-db-1 → db1000000000_demo-db-1  make way                     <- #1
#3 + create  demo-db-1                           user changed                 <- #2
#4 > start   demo-db-1                           user changed                 <- #3
#5 - remove  db1000000000_demo-db-1              replaced                     <- #4
#6 - remove  demo-db-1                           restore demo-db-1            if #3|#4 failed
#7 ~ rename  db1000000000_demo-db-1 → demo-db-1  restore demo-db-1            <- #6  if #3|#4 failed
#8 > start   demo-db-1                           restore demo-db-1            <- #7  if #2|#3|#4 failed
#9 ~ restart demo-api-1                          dependency db was recreated  <- #4
Plan: 1 to replace, 1 to restart.
"""
    # named alone, db still restarts the dependent that asked for it
    assert text(RESTARTS, state, services=("db",)) == text(RESTARTS, state)


def test_build_on_a_converged_service_plans_conditional_replacements() -> None:
    """Golden: --build. The replacement (and the restart it causes) run only if the built
    image differs from the one the container runs: what `plan` shows is what `up` runs."""
    from stackup.core.model import BuildSpec

    project = make_project(svc("app", image=None, build=BuildSpec(context="/w")),
                           svc("side", depends_on=(dep("app", restart=True),)))
    state = observed(project, container(project, "app"), container(project, "side"))
    assert text(project, state, build=True) == """\
#1  + build   demo-app                              --build
#2  - stop    demo-app-1                            recreate if demo-app changes (now sha256:111111111111)  <- #1  if #1 changes the image
#3  ~ rename  demo-app-1 → app100000000_demo-app-1  make way                                                <- #2  if #1 changes the image
#4  + create  demo-app-1                            recreate if demo-app changes (now sha256:111111111111)  <- #3 #1  if #1 changes the image
#5  > start   demo-app-1                            recreate if demo-app changes (now sha256:111111111111)  <- #4  if #1 changes the image
#6  - remove  app100000000_demo-app-1               replaced                                                <- #5  if #1 changes the image
#7  - remove  demo-app-1                            restore demo-app-1                                      if #4|#5 failed
#8  ~ rename  app100000000_demo-app-1 → demo-app-1  restore demo-app-1                                      <- #7  if #4|#5 failed
#9  > start   demo-app-1                            restore demo-app-1                                      <- #8  if #3|#4|#5 failed
#10 ~ restart demo-side-1                           dependency app was recreated                            <- #5  if #1 changes the image
Plan: 1 to replace if the image changes, 1 to build, 1 to restart.
"""


def test_named_services_bring_their_dependencies() -> None:
    state = observed(STACK)
    assert [op.op_id for op in plan_up(STACK, state, UpOptions(services=("api",))).operations] \
        == ["create_container:db:1", "start_container:db:1", "wait_healthy:db",
            "create_container:api:1", "start_container:api:1"]
    with pytest.raises(PlanError, match="no such service: nope"):
        plan_up(STACK, state, UpOptions(services=("nope",)))


def test_force_recreate_and_no_recreate() -> None:
    project = make_project(svc("web"), svc("job"))
    old = dataclasses.replace(project.services["web"], user="x")
    state = observed(project, container(project, "web", stale=old),
                     container(project, "job", state="exited", exit_code=0))
    forced = plan_up(project, state, UpOptions(force_recreate=True))
    assert {op.cause for op in forced.operations if op.kind is Kind.CREATE_CONTAINER} == \
        {"--force-recreate"}
    # an exited container is renamed aside without a stop, and not started again on restore
    assert "stop_container:job:1" not in {op.op_id for op in forced.operations}
    assert "restore:start_container:job:1" not in {op.op_id for op in forced.operations}
    assert text(project, state, no_recreate=True) == """\
#1 > start demo-job-1  exited (0)
Plan: 1 to start.
"""
    with pytest.raises(PlanError):
        plan_up(project, state, UpOptions(force_recreate=True, no_recreate=True))


def test_completed_condition_and_wait_flag() -> None:
    project = make_project(svc("migrate"),
                           svc("app", depends_on=(dep("migrate",
                                                      "service_completed_successfully"),)))
    assert text(project, observed(project), wait=True) == """\
#1 + create demo-migrate-1     not found
#2 > start  demo-migrate-1     not found                            <- #1
#3 . wait   migrate completed  depends_on condition of app, --wait  <- #2
#4 + create demo-app-1         not found
#5 > start  demo-app-1         not found                            <- #4 #3
#6 . wait   app running        --wait                               <- #5
Plan: 2 to create.
"""


def test_a_disabled_healthcheck_cannot_be_waited_for() -> None:
    from stackup.core.model import Healthcheck

    project = make_project(svc("db", healthcheck=Healthcheck(disable=True)),
                           svc("api", depends_on=(dep("db", "service_healthy"),)))
    with pytest.raises(PlanError, match="healthcheck is disabled"):
        plan_up(project, observed(project))


def test_plan_is_deterministic() -> None:
    state = observed(STACK, resources=False)
    assert plan_up(STACK, state) == plan_up(STACK, state)


# --- down, stop, start, rm ------------------------------------------------------------------

from stackup.reconcile import plan_down, plan_rm, plan_start, plan_stop  # noqa: E402

CHAIN = make_project(svc("db"), svc("api", depends_on=(dep("db"),)),
                     svc("web", depends_on=(dep("api"),)), svc("cache"),
                     volumes={"data": Volume("data", "demo_data")})


def test_plan_down_stops_dependents_first_and_removes_each_once_stopped() -> None:
    """Golden: down -v. Direct edges only: db's stop waits for api's, not for web's."""
    state = observed(CHAIN, *(container(CHAIN, s) for s in ("cache", "db", "api", "web")),
                     container(CHAIN, "web", 2))
    plan = plan_down(CHAIN, state, remove_volumes=True, remove_orphans=False, timeout=None)
    assert plan_text(plan) == """\
#1  - stop    demo-cache-1  down
#2  - stop    demo-web-2    down
#3  - stop    demo-web-1    down
#4  - stop    demo-api-1    down  <- #3 #2
#5  - stop    demo-db-1     down  <- #4
#6  - remove  demo-cache-1  down  <- #1
#7  - remove  demo-web-2    down  <- #2
#8  - remove  demo-web-1    down  <- #3
#9  - remove  demo-api-1    down  <- #4
#10 - remove  demo-db-1     down  <- #5
#11 - network demo_default  down  <- #6 #7 #8 #9 #10
#12 - volume  demo_data     down  <- #6 #7 #8 #9 #10
Plan: 5 to remove, 1 to remove network, 1 to remove volume.
"""
    assert all(op.remove_volumes and op.force for op in plan.operations
               if op.kind is Kind.REMOVE_CONTAINER)
    kept = plan_down(CHAIN, state, remove_volumes=False, remove_orphans=False, timeout=None)
    assert [op.op_id for op in kept.operations][-1] == "remove_network:demo_default"


def test_plan_down_passes_edges_through_a_service_without_containers() -> None:
    state = observed(CHAIN, container(CHAIN, "db"), container(CHAIN, "web"))  # no api
    plan = plan_down(CHAIN, state)
    assert plan.operation("stop_container:db:1").depends_on == ("stop_container:web:1",)


def test_plan_down_edges_grow_linearly() -> None:
    layers, width = 30, 10
    services = []
    for layer in range(layers):
        for i in range(width):
            below = tuple(dep(f"s{layer - 1}x{j}") for j in range(width)) if layer else ()
            services.append(svc(f"s{layer}x{i}", depends_on=below))
    project = make_project(*services)
    state = converged(project)
    plan = plan_down(project, state)
    dependency_edges = (layers - 1) * width * width
    # stops: one edge per dependency edge; removes: one each; the network: one per container
    assert plan.edge_count() == dependency_edges + 2 * len(services)


def test_plan_down_never_touches_external_or_foreign_resources_and_notes_orphans() -> None:
    state = observed(EXT, container(EXT, "web"))
    foreign = ObservedNetwork("other", "n9", project=None)
    ghost = dataclasses.replace(container(EXT, "web"), service="old", name="demo-old-1",
                                container_id="e" * 64)
    state = dataclasses.replace(state, containers=(*state.containers, ghost), networks=FrozenMap(
        {**state.networks, "other": foreign}))
    plan = plan_down(EXT, state, remove_volumes=True, remove_orphans=False, timeout=None)
    assert plan_text(plan) == (
        "#1 - stop   demo-web-1  down\n"
        "#2 - remove demo-web-1  down  <- #1\n"
        "Plan: 1 to remove.\n"
        "! Found orphan containers (demo-old-1) for this project. Run with --remove-orphans to "
        "remove them.\n")
    with_orphans = plan_down(EXT, state, remove_volumes=False, remove_orphans=True, timeout=3)
    assert [op.op_id for op in with_orphans.operations] == [
        "stop_container:web:1", "stop_container:old:1", "remove_container:web:1",
        "remove_container:old:1"]
    assert {op.timeout for op in with_orphans.operations} == {3}


def test_plan_down_without_a_stack_file_goes_by_labels() -> None:
    state = observed(CHAIN, container(CHAIN, "db"), container(CHAIN, "web"))
    plan = plan_down(None, state, remove_volumes=False, remove_orphans=False, timeout=None)
    assert plan_text(plan) == """\
#1 - stop    demo-db-1     down
#2 - stop    demo-web-1    down
#3 - remove  demo-db-1     down  <- #1
#4 - remove  demo-web-1    down  <- #2
#5 - network demo_default  down  <- #3 #4
Plan: 2 to remove, 1 to remove network.
"""


def test_stop_start_rm() -> None:
    state = observed(CHAIN, container(CHAIN, "db"), container(CHAIN, "api"),
                     container(CHAIN, "web", state="exited", exit_code=1))
    stop = plan_stop(CHAIN, state)
    assert plan_text(stop) == """\
#1 - stop demo-api-1  running
#2 - stop demo-db-1   running  <- #1
Plan: 2 to stop.
"""
    assert [op.op_id for op in plan_start(CHAIN, state, ("web",)).operations] == [
        "start_container:web:1"]
    rm = plan_rm(CHAIN, state)
    assert plan_text(rm) == (
        "#1 - remove demo-web-1  exited (1)\n"
        "Plan: 1 to remove.\n"
        "! Not removing running containers (demo-api-1, demo-db-1): stop them first or use "
        "-s/--stop.\n")
    with pytest.raises(PlanError, match="no such service: nope"):
        plan_stop(CHAIN, state, ("nope",))


def test_a_network_mode_follower_is_replaced_with_the_container_it_joins() -> None:
    project = make_project(svc("api"), svc("sidecar", network_mode="service:api", networks=(),
                                           depends_on=(dep("api"),)))
    old = dataclasses.replace(project.services["api"], user="x")
    plan = plan_up(project, observed(project, container(project, "api", stale=old),
                                     container(project, "sidecar")))
    create = plan.operation("create_container:sidecar:1")
    assert create.cause == "network_mode service:api is replaced"
    assert create.network_mode_container == "demo-api-1"
    # created only once the new api container runs
    assert "start_container:api:1" in create.depends_on


def test_post_start_and_pre_stop_hooks_are_operations_in_the_graph() -> None:
    from stackup.core.model import Hook

    project = make_project(svc("db", post_start=(Hook(("sh", "-c", "echo ready")),),
                               pre_stop=(Hook(("sh", "-c", "echo bye")),)),
                           svc("api", depends_on=(dep("db"),)))
    cold = plan_up(project, observed(project))
    hook = cold.operation("run_hook:post_start:db:1")
    assert hook.depends_on == ("start_container:db:1",) and hook.hook == "post_start"
    # db counts as up once its hook ran
    assert "run_hook:post_start:db:1" in cold.operation("start_container:api:1").depends_on
    old = dataclasses.replace(project.services["db"], user="x")
    changed = plan_up(project, observed(project, container(project, "db", stale=old),
                                        container(project, "api")))
    assert changed.operation("stop_container:db:1").depends_on == ("run_hook:pre_stop:db:1",)
    assert changed.operation("run_hook:pre_stop:db:1").container_id == \
        container(project, "db").container_id
    down = plan_down(project, observed(project, container(project, "db"),
                                       container(project, "api")))
    assert down.operation("stop_container:db:1").depends_on == ("run_hook:pre_stop:db:1",)
    assert down.operation("run_hook:pre_stop:db:1").depends_on == ("stop_container:api:1",)
