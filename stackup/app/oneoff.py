"""``stackup run``: one-off containers of a service, the use case behind the command.

Pipeline position: beside ``app`` (it calls ``app.up`` and ``app.run_plan``), under the CLI.
The steps, as Compose runs them: the service's dependencies come up through the normal ``up``
path (load → observe → reconcile → execute, for the dependencies only); the service's own image
is built or pulled as ``reconcile.images`` decides; the dependencies' ``depends_on`` conditions
are waited for; then a container ``<project>-<service>-run-<hex>`` labelled oneoff is created.
Starting, attaching and the exit code are the CLI's (``cli/commands/run.py``). Nothing here prints.
"""

from __future__ import annotations

import math
import os
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from stackup.app import containers as app
from stackup.ports.oneoff import OneoffOptions
from stackup.core.errors import OperationFailed, PlanError, ProjectError
from stackup.core.model import FrozenMap, Mount, Port, Project
from stackup.core.plan import Plan

if TYPE_CHECKING:
    from stackup.ports.engine import Engine
    from stackup.run.events import Outcome

__all__ = ["OneoffOptions", "create", "ensure_image", "ensure_resources", "oneoff_name", "parse_environment",
           "parse_labels", "parse_publish", "parse_volumes", "start_dependencies",
           "wait_dependencies"]


def oneoff_name(project_name: str, service_name: str) -> str:
    return f"{project_name}-{service_name}-run-{secrets.token_hex(6)}"


# --- command-line values -----------------------------------------------------------------


def parse_environment(items: Iterable[str], environ: Mapping[str, str]) -> FrozenMap[str, str]:
    """``-e KEY=VAL``, or ``-e KEY`` taking the value from ``environ`` (dropped when unset)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key:
            raise ProjectError(f"-e {item!r}: expected KEY=VALUE or KEY")
        if sep:
            out[key] = value
        elif key in environ:
            out[key] = environ[key]
    return FrozenMap(out)


def parse_labels(items: Iterable[str]) -> FrozenMap[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key or not sep:
            raise ProjectError(f"-l {item!r}: expected KEY=VALUE")
        out[key] = value
    return FrozenMap(out)


def parse_publish(items: Iterable[str]) -> tuple[Port, ...]:
    from stackup.loader.units import parse_port

    ports: list[Port] = []
    for item in items:
        try:
            ports.extend(parse_port(item))
        except ValueError as exc:
            raise ProjectError(f"-p {item!r}: {exc}") from exc
    return tuple(ports)


def parse_volumes(items: Iterable[str], project: Project) -> tuple[Mount, ...]:
    """``-v`` in the short syntax; a relative host path is relative to the project folder."""
    from stackup.loader.units import parse_volume

    mounts: list[Mount] = []
    for item in items:
        try:
            short = parse_volume(item)
        except ValueError as exc:
            raise ProjectError(f"-v {item!r}: {exc}") from exc
        source = short.source
        if short.type == "bind" and source is not None:
            source = os.path.normpath(os.path.join(project.working_dir,
                                                   os.path.expanduser(source)))
        mounts.append(Mount(type=short.type, target=short.target, source=source,
                            read_only=short.read_only, selinux=short.selinux,
                            propagation=short.propagation, consistency=short.consistency,
                            nocopy=short.nocopy))
    return tuple(mounts)


# --- the steps -----------------------------------------------------------------------------


def _dependencies(project: Project, service_name: str) -> tuple[str, ...]:
    service = project.services[service_name]
    return tuple(sorted(d.service for d in service.depends_on if d.service in project.services))


def start_dependencies(project: Project, engine: Engine, service_name: str, *,
                       build: bool, pull: str | None, remove_orphans: bool,
                       run: app.RunOptions, on_event: app.EventSink,
                       tree: app.Tree = None) -> tuple[Plan, Outcome] | None:
    """``up`` of the service's dependencies (and theirs), preflight included (``tree``: the
    loader's, for the problems' lines); None when it has none."""
    from stackup.reconcile import UpOptions

    deps = _dependencies(project, service_name)
    if not deps:
        if remove_orphans:
            _remove_orphans(project, engine)
        return None
    options = UpOptions(services=deps, build=build, pull=pull, remove_orphans=remove_orphans)
    return app.up(project, engine, options, run, on_event, tree=tree)


def _remove_orphans(project: Project, engine: Engine) -> None:
    known = {*project.services, *project.disabled_services}
    for c in app.containers(project.name, engine):
        if c.service not in known and not c.oneoff:
            if c.running:
                engine.stop_container(project.name, c.container_id)
            engine.remove_container(project.name, c.container_id)


def ensure_resources(project: Project, engine: Engine, service_name: str, *,
                     run: app.RunOptions,
                     on_event: app.EventSink) -> tuple[Plan, Outcome] | None:
    """Create the networks and volumes of the service that the engine lacks (a service with
    no dependencies, or ``--no-deps``, has had no ``up`` to make them); None when none is
    missing. Only those operations of the service's ``up`` plan run: no container."""
    import dataclasses

    from stackup.core.plan import Kind
    from stackup.reconcile import UpOptions

    plan = app.plan_up(project, engine, UpOptions(services=(service_name,), no_deps=True))
    kinds = (Kind.CREATE_NETWORK, Kind.CREATE_VOLUME)
    kept = [op for op in plan.operations if op.kind in kinds]
    if not kept:
        return None
    ids = {op.op_id for op in kept}
    plan = dataclasses.replace(plan, operations=tuple(
        dataclasses.replace(op, depends_on=tuple(d for d in op.depends_on if d in ids))
        for op in kept))
    return plan, app.run_plan(plan, project, engine, run, on_event)


def ensure_image(project: Project, engine: Engine, service_name: str, *, build: bool,
                 pull: str | None, run: app.RunOptions,
                 on_event: app.EventSink) -> tuple[Plan, Outcome] | None:
    """Build or pull the service's image when ``--build``/``--pull``/its pull_policy or a
    missing image asks for it; None when nothing is needed."""
    from stackup.reconcile.images import image_needs

    service = project.services[service_name]
    ref = service.image_ref(project.name)
    observed = engine.observe(project.name, images=[ref], all_containers=False)
    need = image_needs(project, observed, [service_name], build=build, pull=pull).get(ref)
    if need is None:
        return None
    if need.op is None:
        raise need.error or PlanError(f"image {ref} of service {service_name} is missing")
    plan = Plan(project.name, (need.op,))
    return plan, app.run_plan(plan, project, engine, run, on_event)


def wait_dependencies(project: Project, engine: Engine, service_name: str, *,
                      timeout: float | None) -> None:
    """Wait for the service's ``depends_on`` conditions (healthy, completed successfully);
    ``timeout`` None: no limit."""
    service = project.services[service_name]
    limit = math.inf if timeout is None else timeout
    deadline = time.monotonic() + limit
    for dep in service.depends_on:
        if dep.condition == "service_started" or dep.service not in project.services:
            continue
        found = [c for c in app.containers(project.name, engine, services=(dep.service,))
                 if not c.oneoff]
        if not found:
            if dep.required:
                raise OperationFailed(f"service {service_name}: dependency {dep.service} has "
                                      f"no container")
            continue
        for container in found:
            _wait_condition(engine, service_name, dep.service, dep.condition,
                            container.container_id, deadline, limit)


def _wait_condition(engine: Engine, service_name: str, dep: str, condition: str,
                    container_id: str, deadline: float, timeout: float) -> None:
    while True:
        c = engine.inspect_container(container_id)
        if condition == "service_healthy":
            if c.health is None:
                raise OperationFailed(f"service {service_name}: dependency {dep} has no "
                                      f"healthcheck (depends_on condition service_healthy)")
            if c.health == "healthy":
                return
            if c.health == "unhealthy" or not c.running:
                detail = "\n".join(c.health_log)
                raise OperationFailed(f"service {service_name}: dependency {c.name} is "
                                      f"{c.health if c.running else c.state}", detail=detail)
        elif not c.running and c.state != "created":  # service_completed_successfully
            if c.exit_code == 0:
                return
            raise OperationFailed(f"service {service_name}: dependency {c.name} exited with "
                                  f"code {c.exit_code}")
        if time.monotonic() > deadline:
            raise OperationFailed(f"service {service_name}: dependency {c.name} did not "
                                  f"reach {condition} in {timeout:.0f}s")
        time.sleep(0.25)


def create(project: Project, engine: Engine, service_name: str, options: OneoffOptions, *,
           name: str | None = None) -> tuple[str, str]:
    """Create (not start) the one-off container; (container id, name)."""
    service = project.services[service_name]
    name = name or oneoff_name(project.name, service_name)
    container_id = engine.create_oneoff(project, service, name=name,
                                        image=service.image_ref(project.name), options=options)
    return container_id, name
