"""The use cases: load → observe → reconcile → execute, one function per command.

Pipeline position: the CLI (and Python callers) call these; they tie the pure core to an Engine.
Nothing here prints or exits: results and events go back to the caller. The engine and the event
loop are imported lazily so that commands which do not need them (``config``) start fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stackup.errors import ProjectError, StackupError
from stackup.model import Project
from stackup.observed import ObservedContainer, ObservedState
from stackup.plan import Plan

if TYPE_CHECKING:
    from stackup.engine.base import Engine
    from stackup.events import Event, Outcome
    from stackup.reconcile import UpOptions


EventSink = Callable[["Event"], None]


def _ignore(_event: Any) -> None:
    return None


@dataclass(frozen=True)
class RunOptions:
    """How to execute a plan (not what to do: that is the plan)."""

    parallel: int = 16
    wait_timeout: float = 300.0


def connect(environ: Mapping[str, str] | None = None) -> Engine:
    """The Docker engine from the environment: ``DOCKER_HOST``, else the docker context
    (``DOCKER_CONTEXT`` or the docker CLI's current one)."""
    import os

    from stackup.engine.context import engine_environ
    from stackup.engine.docker import DockerEngine

    return DockerEngine.from_env(engine_environ(os.environ if environ is None else environ))


def check_services(project: Project, names: Iterable[str]) -> None:
    """Fail naming the first service the stack file does not define."""
    known = set(project.services) | set(project.disabled_services)
    for name in names:
        if name not in known:
            import difflib

            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ProjectError(
                f"no such service: {name}",
                detail=f"The stack file defines: {', '.join(sorted(known)) or 'no services'}.{hint}",
            )


def observe(project: Project, engine: Engine) -> ObservedState:
    """One snapshot of the engine for this project, including its external resources."""
    return engine.observe(
        project.name,
        networks=sorted(n.name for n in project.networks.values()),
        volumes=sorted(v.name for v in project.volumes.values()),
        images=sorted({s.image_ref(project.name) for s in project.services.values()}),
    )


def plan_up(project: Project, engine: Engine, options: UpOptions) -> Plan:
    from stackup.reconcile import plan_up as _plan_up

    return _plan_up(project, observe(project, engine), options)


def run_plan(plan: Plan, project: Project | None, engine: Engine, run: RunOptions,
             on_event: EventSink = _ignore, *,
             settled: Mapping[str, StackupError | None] | None = None) -> Outcome:
    """Execute a plan on the engine; returns the outcome (failures included, never raised)."""
    if not plan.operations and not settled:
        from stackup.events import Outcome

        return Outcome()  # nothing to do: no event loop, no executor
    import anyio

    from stackup.execute import execute

    async def _main() -> Outcome:
        return await execute(plan, engine, project, parallel=run.parallel,
                             wait_timeout=run.wait_timeout, on_event=on_event, settled=settled)

    return anyio.run(_main)


def up(project: Project, engine: Engine, options: UpOptions, run: RunOptions,
       on_event: EventSink = _ignore, *, wait: bool = False) -> tuple[Plan, Outcome]:
    """Converge; with ``wait`` also until every selected service is running and healthy.

    Two phases when images change: the plan's build/pull operations run first; then the engine
    is observed again and the containers are reconciled against the new image ids (a rebuilt
    image recreates exactly the services running it). The image operations keep their ids in
    the second plan, so that failures there skip the dependent containers."""
    from stackup.plan import IMAGE_KINDS

    if wait:
        import dataclasses

        options = dataclasses.replace(options, wait=True)
    plan = plan_up(project, engine, options)
    image_ops = tuple(op for op in plan.operations if op.kind in IMAGE_KINDS)
    if not image_ops:
        return plan, run_plan(plan, project, engine, run, on_event)
    first = run_plan(Plan(plan.project_name, image_ops), project, engine, run, on_event)
    settled: dict[str, Any] = {op.op_id: None for op in first.done}
    settled.update({op.op_id: error for op, error in first.failed})
    second_plan = plan_up(project, engine, options)
    second = run_plan(second_plan, project, engine, run, on_event, settled=settled)
    return _combine(image_ops, first, second_plan, second)


def _combine(image_ops: tuple[Any, ...], first: Outcome, plan: Plan,
             second: Outcome) -> tuple[Plan, Outcome]:
    """One plan and outcome for people: the image operations, then the container plan."""
    from stackup.events import Outcome

    ids = {op.op_id for op in image_ops}
    ops = (*image_ops, *(op for op in plan.operations if op.op_id not in ids))
    combined = Plan(plan.project_name, ops, plan.notes, plan.up_to_date)
    return combined, Outcome(
        failed=first.failed + tuple(f for f in second.failed if f[0].op_id not in ids),
        skipped=first.skipped + tuple(op for op in second.skipped if op.op_id not in ids),
        done=first.done + tuple(op for op in second.done if op.op_id not in ids))


def images_plan(verb: str, project: Project, services: Iterable[str] = (), *,
                no_cache: bool = False, pull: bool = False) -> Plan:
    """The plan of ``build``, ``pull`` or ``push`` (no engine needed to decide)."""
    from stackup.reconcile import images as reconcile_images

    if verb == "build":
        return reconcile_images.plan_build(project, services, no_cache=no_cache, pull=pull)
    if verb == "pull":
        return reconcile_images.plan_pull(project, services)
    if verb == "push":
        return reconcile_images.plan_push(project, services)
    raise ValueError(f"unknown image command {verb}")


@dataclass(frozen=True)
class ImageRow:
    """``stackup images``: the image one container runs."""

    container: str
    service: str
    image_ref: str
    image_id: str
    size: int | None  # bytes; None when the engine no longer has the image


def images(project_name: str, engine: Engine, *, services: Iterable[str] = ()) -> list[ImageRow]:
    """Which image each of the project's containers runs, sorted by service and number."""
    found = containers(project_name, engine, services=services)
    details = engine.image_details(sorted({c.image_id for c in found if c.image_id}))
    rows = []
    for c in found:
        info = details.get(c.image_id)
        rows.append(ImageRow(c.name, c.service, c.image_ref, c.image_id,
                             info.size if info is not None else None))
    return rows


def lifecycle(verb: str, project: Project, engine: Engine, *, services: Iterable[str],
              timeout: float | None, run: RunOptions,
              on_event: EventSink = _ignore) -> tuple[Plan, Outcome]:
    """start / stop / restart / rm of existing containers (never creates any)."""
    from stackup import reconcile

    planner = {"start": reconcile.plan_start, "stop": reconcile.plan_stop,
               "restart": reconcile.plan_restart, "rm": reconcile.plan_rm}[verb]
    plan = planner(project, observe(project, engine), services=tuple(services),
                   timeout=timeout)
    return plan, run_plan(plan, project, engine, run, on_event)


def down(project: Project | None, project_name: str, engine: Engine, *, remove_volumes: bool,
         remove_orphans: bool, timeout: float | None, run: RunOptions,
         on_event: EventSink = _ignore) -> tuple[Plan, Outcome]:
    from stackup.reconcile import plan_down

    observed = (observe(project, engine) if project is not None
                else engine.observe(project_name))
    plan = plan_down(project, observed, remove_volumes=remove_volumes,
                     remove_orphans=remove_orphans, timeout=timeout)
    return plan, run_plan(plan, project, engine, run, on_event)


def containers(project_name: str, engine: Engine, *, services: Iterable[str] = (),
               include_stopped: bool = True) -> list[ObservedContainer]:
    """The project's containers (for ps, logs, exec), sorted by service and number."""
    wanted = set(services)
    observed = engine.observe(project_name)
    return [c for c in observed.containers
            if (not wanted or c.service in wanted)
            and (include_stopped or c.running)]

