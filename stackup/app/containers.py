"""The use cases: load → observe → reconcile → execute, one function per command.

Pipeline position: the CLI (and Python callers) call these; they tie the pure core to an Engine.
Nothing here prints or exits: results and events go back to the caller. The engine and the event
loop are imported lazily so that commands which do not need them (``config``) start fast.
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stackup.core.errors import ProjectError
from stackup.core.model import Project
from stackup.core.observed import ObservedContainer, ObservedState
from stackup.core.plan import Plan

if TYPE_CHECKING:
    from stackup.ports.engine import Backend, Engine
    from stackup.run.events import Event, Outcome
    from stackup.reconcile import UpOptions
    from stackup.reconcile.preflight import HostFacts, HostPort, Wants


EventSink = Callable[["Event"], None]
Tree = Mapping[str, Any] | None
"""The loader's located tree of the same load (``Loaded.tree``): gives problems their lines."""


def _ignore(_event: Any) -> None:
    return None


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How to execute a plan (not what to do: that is the plan)."""

    parallel: int = 16
    wait_timeout: float | None = 300.0  # None: no limit


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
    """One snapshot of the engine for this project, including its external resources and the
    last pull times of the images whose pull_policy refreshes them."""
    from stackup.reconcile.images import refresh_interval

    return engine.observe(
        project.name,
        networks=sorted(n.name for n in project.networks.values()),
        volumes=sorted(v.name for v in project.volumes.values()),
        images=sorted({s.image_ref(project.name) for s in project.services.values()}),
        pulled=sorted({s.image_ref(project.name) for s in project.services.values()
                       if refresh_interval(s) is not None}),
    )


def plan_up(project: Project, engine: Engine, options: UpOptions) -> Plan:
    from stackup.reconcile import plan_up as _plan_up

    return _plan_up(project, observe(project, engine), options)


def checked_plan_up(project: Project, engine: Engine, options: UpOptions, *,
                    tree: Tree = None, shape: Callable[[Plan], Plan] | None = None) -> Plan:
    """The plan ``up`` runs (``shape``d, e.g. without its starts for ``create``), after a
    preflight: ``PreflightFailed`` lists every problem found, each with its file and line
    (``tree``: the loader's located tree), and nothing is changed."""
    from stackup.reconcile import plan_up as _plan_up
    from stackup.reconcile import preflight

    observed = observe(project, engine)
    problems = preflight.before_plan(project, observed, options, tree)
    if problems:
        wanted = preflight.wants_without_plan(project, observed, options)
        plan = None
    else:
        plan = _plan_up(project, observed, options)
        plan = shape(plan) if shape is not None else plan
        wanted = preflight.wants(project, observed, plan)
    problems += preflight.check(project, wanted, host_facts(engine, wanted), tree)
    if problems or plan is None:
        raise preflight.failure(problems, tree)
    return plan


def check_plan(plan: Plan, project: Project, observed: ObservedState, engine: Engine,
               tree: Tree = None) -> None:
    """Preflight of a plan made earlier (``apply FILE``): ``PreflightFailed`` when it finds
    problems."""
    from stackup.reconcile import preflight

    wanted = preflight.wants(project, observed, plan)
    problems = preflight.check(project, wanted, host_facts(engine, wanted), tree)
    if problems:
        raise preflight.failure(problems, tree)


def host_facts(engine: Engine, wanted: Wants) -> HostFacts:
    """What preflight asks, answered: the engine's containers (only when ports or names are to
    be checked), probes of host ports and bind sources when the engine runs on this machine (a
    unix socket), files stackup reads itself, and one registry look-up per image to pull
    that is not present."""
    import os

    from stackup.core import labels
    from stackup.core.model import FrozenMap
    from stackup.reconcile.preflight import EngineContainer, HostFacts, HostPort

    local = str(getattr(engine, "base_url", "")).startswith("unix://")
    containers: list[EngineContainer] = []
    if wanted.ports or wanted.names:
        for c in engine.all_containers():
            project = c.project or dict(c.labels).get(labels.COMPOSE_PROJECT, "")
            containers.append(EngineContainer(
                c.name, project, c.state in ("running", "restarting", "paused"),
                tuple(HostPort(p.ip, p.public, p.protocol) for p in c.ports if p.public)))
    busy = frozenset(p for p in wanted.host_ports if local and not _bindable(p))
    paths = [path for *_, path in wanted.files]
    if local:
        paths.extend(m.source for _, m in wanted.binds if m.source)
    missing = frozenset(path for path in paths if not os.path.exists(path))
    unpullable = {}
    for ref in sorted({ref for _, ref in wanted.images}):
        reason = engine.image_unpullable(ref)
        if reason is not None:
            unpullable[ref] = reason
    return HostFacts(local, busy, missing, tuple(containers), FrozenMap(unpullable))


def _bindable(port: HostPort) -> bool:
    """Whether this machine lets a socket bind ``port`` now (only "address in use" says no)."""
    import errno
    import socket

    if port.protocol not in ("tcp", "udp"):
        return True
    family = socket.AF_INET6 if ":" in port.host_ip else socket.AF_INET
    kind = socket.SOCK_STREAM if port.protocol == "tcp" else socket.SOCK_DGRAM
    with socket.socket(family, kind) as probe:
        if kind == socket.SOCK_STREAM:  # as the engine's proxy does: TIME_WAIT is no conflict
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((port.host_ip or "0.0.0.0", port.port))
        except OSError as exc:
            return exc.errno != errno.EADDRINUSE
    return True


def run_plan(plan: Plan, project: Project | None, engine: Engine, run: RunOptions,
             on_event: EventSink = _ignore, *, tree: Tree = None) -> Outcome:
    """Execute a plan on the engine's containers; returns the outcome (failures included,
    never raised; ``Interrupted`` after a stop request). ``project`` is used when the plan
    carries none. An engine error without a location gets its service's (a port error: the
    ``ports:`` entry), from ``tree``."""
    if not plan.operations:
        from stackup.run.events import Outcome

        return Outcome()  # nothing to do: no event loop, no executor
    import dataclasses

    from stackup.app.container_backend import ContainerBackend

    if plan.project is None and project is not None:
        plan = dataclasses.replace(plan, project=project)
    from stackup.app.wiring import check_engine_supports

    check_engine_supports(plan, engine)
    outcome = run_with(plan, ContainerBackend(engine), run, on_event)
    if tree is not None:
        from stackup.core.errors import EngineError
        from stackup.reconcile.preflight import locate_failure

        for op, error in outcome.failed:
            if isinstance(error, EngineError) and error.location is None:
                error.location = locate_failure(op, error.summary, tree)
    return outcome


def run_with(plan: Plan, backend: Backend, run: RunOptions,
             on_event: EventSink = _ignore) -> Outcome:
    """Execute a plan with any backend (the Swarm target's commands use it); the outcome has
    the failures, which are never raised; a stop request (Ctrl-C, SIGTERM) raises
    ``Interrupted`` once what began has ended."""
    from stackup.run.events import Event, Outcome

    if not plan.operations:
        return Outcome()
    import anyio

    from stackup.run.execute import execute

    signals = _stop_signals()  # read before the event loop installs a SIGINT handler of its own

    async def _main() -> Outcome:
        if not signals:
            return await execute(plan, backend, parallel=run.parallel,
                                 wait_timeout=run.wait_timeout, on_event=on_event)
        with anyio.open_signal_receiver(*signals) as received:
            return await execute(plan, backend, parallel=run.parallel,
                                 wait_timeout=run.wait_timeout, on_event=on_event,
                                 stop_requests=_names(received))

    outcome = anyio.run(_main)
    if outcome.stopped_by is not None:
        raise Interrupted(plan, outcome)
    return outcome


class Interrupted(KeyboardInterrupt):
    """A run that a stop request (Ctrl-C, SIGTERM) ended: the plan and what became of it.
    A ``KeyboardInterrupt``, so that whatever handles Ctrl-C handles it too."""

    def __init__(self, plan: Plan, outcome: Outcome) -> None:
        super().__init__(outcome.stopped_by)
        self.plan, self.outcome = plan, outcome


def _stop_signals() -> tuple[signal.Signals, ...]:
    """SIGINT and SIGTERM while a plan runs, in the main thread, and only those whose handler
    is still Python's default (not ignored, not a caller's own, such as ``watch``'s)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return ()
    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    return tuple(sig for sig, default in defaults.items() if signal.getsignal(sig) is default)


async def _names(received: AsyncIterable[int]) -> AsyncIterator[str]:
    async for signum in received:
        yield signal.Signals(signum).name


def up(project: Project, engine: Engine, options: UpOptions, run: RunOptions,
       on_event: EventSink = _ignore, *, wait: bool = False,
       tree: Tree = None) -> tuple[Plan, Outcome]:
    """Converge; with ``wait`` also until every selected service is running and healthy.

    One plan, run as it is, after a preflight (``checked_plan_up``): where a build or pull may
    change an image, the plan already holds the recreations that follow, each conditional on
    the image id changing."""
    if wait:
        import dataclasses

        options = dataclasses.replace(options, wait=True)
    plan = checked_plan_up(project, engine, options, tree=tree)
    return plan, run_plan(plan, project, engine, run, on_event, tree=tree)


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


@dataclass(frozen=True, slots=True)
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


def lifecycle(verb: str, project: Project | None, engine: Engine, *, services: Iterable[str],
              timeout: float | None, run: RunOptions, on_event: EventSink = _ignore,
              project_name: str = "", **options: bool) -> tuple[Plan, Outcome]:
    """start / stop / restart / rm of existing containers (never creates any). Without a
    project (``-p NAME`` and no stack file): the containers labelled ``project_name``.
    ``options``: rm's ``stop`` and ``remove_volumes``."""
    from stackup import reconcile

    planner = {"start": reconcile.plan_start, "stop": reconcile.plan_stop,
               "restart": reconcile.plan_restart, "rm": reconcile.plan_rm}[verb]
    observed = (observe(project, engine) if project is not None
                else engine.observe(project_name))
    plan = planner(project, observed, services=tuple(services), timeout=timeout,
                   **options)
    return plan, run_plan(plan, project, engine, run, on_event)


def down(project: Project | None, project_name: str, engine: Engine, *, remove_volumes: bool,
         remove_orphans: bool, timeout: float | None, run: RunOptions,
         on_event: EventSink = _ignore, ignore_orphans: bool = False,
         named: bool = False) -> tuple[Plan, Outcome]:
    """Remove what carries the project's labels. ``named`` (``-p NAME`` without ``-f``): all
    of it, and ``project`` (the folder's file) only where it is that project's (see
    ``reconcile.down``); the plan's ``project`` is the file that was used, or None."""
    from stackup.reconcile import plan_down

    observed = (observe(project, engine) if project is not None
                else engine.observe(project_name))
    plan = plan_down(project, observed, remove_volumes=remove_volumes,
                     remove_orphans=remove_orphans, timeout=timeout,
                     ignore_orphans=ignore_orphans, named=named)
    return plan, run_plan(plan, plan.project, engine, run, on_event)


def containers(project_name: str, engine: Engine, *, services: Iterable[str] = (),
               include_stopped: bool = True) -> list[ObservedContainer]:
    """The project's containers (for ps, logs, exec), sorted by service and number."""
    wanted = set(services)
    observed = engine.observe(project_name)
    return [c for c in observed.containers
            if (not wanted or c.service in wanted)
            and (include_stopped or c.running)]


# --- saved plans: plan --out, apply FILE ------------------------------------------------------
