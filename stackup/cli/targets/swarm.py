"""``--target swarm``: the same commands on a Docker Swarm (up, plan, down, ps, logs, config).

Pipeline position: CLI over the Swarm backend. The usual commands delegate here (one line at
their top) when the global option ``--target swarm`` (env ``STACKUP_TARGET``) is given:
load (the same loader: ``.env``, interpolation, merge) → ``swarm.check`` (refusals, located in
the tree kept from that same load) → ``SwarmPort.observe`` → ``swarm.reconcile`` →
``execute`` with the ``SwarmPort``. Output, exit codes and the plan's JSON schema are the
ones of the one-engine target.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from stackup.cli.context import Globals
from stackup.core.errors import ProjectError

if TYPE_CHECKING:
    from stackup.ports.swarm import SwarmPort
    from stackup.run.events import Outcome
    from stackup.core.model import Project
    from stackup.core.plan import Plan
    from stackup.core.swarm_observed import SwarmObserved
    from stackup.swarm.reconcile import SwarmUpOptions

COMMANDS = frozenset({"up", "plan", "apply", "down", "ps", "logs", "config", "build",
                      "version"})
"""The commands that work with ``--target swarm`` (``build`` builds locally, as usual)."""


def check_command(g: Globals, command: str | None) -> None:
    """Refuse, before anything runs, a command the Swarm target does not have, and --dry-run."""
    if g.dry_run:
        raise click.UsageError("--dry-run works with one engine (--target engine); for a "
                               "swarm, `stackup plan` shows what `up` would do")
    if command is not None and command not in COMMANDS:
        raise click.UsageError(
            f"`{command}` is not available with --target swarm (available: "
            f"{', '.join(sorted(COMMANDS))}); use `docker service` / `docker stack` commands, "
            f"or drop --target swarm for one engine.")


# --- the app's Swarm use cases, with this command's options and output -------------------


def load(g: Globals, services: tuple[str, ...] = ()) -> tuple[Project, Any]:
    """(project, located tree) from ONE load with the global options; warnings on stderr."""
    from stackup.app import swarm as app

    project, tree, warnings = app.load(g.load_options(services), services)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    g._loaded_name = project.name
    return project, tree


def backend(g: Globals) -> SwarmPort:
    from stackup.app.wiring import swarm

    return swarm(g.engine())


def observe(swarm: SwarmPort, project: Project, *, tasks: bool = False) -> SwarmObserved:
    from stackup.app import swarm as app

    return app.observe(swarm, project, tasks=tasks)


def make_plan(swarm: SwarmPort, project: Project, tree: Any, options: SwarmUpOptions
              ) -> tuple[Plan, SwarmObserved]:
    from stackup.app import swarm as app

    return app.make_plan(swarm, project, tree, options)


def run(g: Globals, plan: Plan, swarm: SwarmPort, wait_timeout: float | None,
        on_event: Any) -> Outcome:
    from stackup.app import swarm as app

    return app.run(plan, swarm, parallel=g.parallel, wait_timeout=wait_timeout,
                   on_event=on_event)


def _scale(project: Project, values: tuple[str, ...]) -> dict[str, int]:
    from stackup.app.containers import check_services
    from stackup.cli.plan_options import parse_scale

    scale = parse_scale(values)
    check_services(project, list(scale))
    return scale


def _unsupported(**flags: Any) -> None:
    for name, value in flags.items():
        if value:
            raise click.UsageError(f"--{name.replace('_', '-')} is not available with "
                                   f"--target swarm")


# --- the commands ----------------------------------------------------------------------------


def _options(project: Project, services: tuple[str, ...], scale: tuple[str, ...],
             remove_orphans: bool, build: bool, wait: bool = False) -> SwarmUpOptions:
    from stackup.app.containers import check_services
    from stackup.core.model import FrozenMap
    from stackup.swarm import SwarmUpOptions

    check_services(project, services)
    return SwarmUpOptions(services=services, scale=FrozenMap(_scale(project, scale)),
                          remove_orphans=remove_orphans, build=build, wait=wait)


def up(g: Globals, services: tuple[str, ...], force_recreate: bool, no_recreate: bool,
       scale: tuple[str, ...], remove_orphans: bool, build: bool, pull: str | None,
       wait: bool, wait_timeout: float | None, **_: Any) -> None:
    """Create and update the stack's services; with --wait until every rollout finished."""
    from stackup.cli.plan_options import finish
    from stackup.cli.views.progress import Progress

    _unsupported(force_recreate=force_recreate, no_recreate=no_recreate, pull=pull)
    project, tree = load(g, services)
    options = _options(project, services, scale, remove_orphans, build, wait)
    swarm = backend(g)
    progress = Progress(g.progress)
    with g.locked("up"):
        result = make_plan(swarm, project, tree, options)[0]
        outcome = run(g, result, swarm, wait_timeout, progress.on_event)
    finish(g, result, outcome, progress, "up")


def plan(g: Globals, services: tuple[str, ...], force_recreate: bool, no_recreate: bool,
         scale: tuple[str, ...], remove_orphans: bool, build: bool, pull: str | None,
         fmt: str, exit_code: bool, diff: bool = False, out: str | None = None,
         **_: Any) -> None:
    """What ``up`` would do on the swarm: the same text and JSON as on one engine; ``--out``
    saves it for ``apply``."""
    from stackup.cli.plan_options import show_plan
    from stackup.core.render import plan_json

    _unsupported(force_recreate=force_recreate, no_recreate=no_recreate, pull=pull)
    project, tree = load(g, services)
    options = _options(project, services, scale, remove_orphans, build)
    result, observed = make_plan(backend(g), project, tree, options)
    if out is not None:
        import datetime

        from stackup import __version__
        from stackup.cli.plan_options import write_plan
        from stackup.swarm import saved

        created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        text = saved.dump(result, plan_json(result), observed, options, version=__version__,
                          created=created)
        if out == "-":
            click.echo(text, nl=False)
            return
        write_plan(out, text)
    show_plan(result, fmt, diff=diff, exit_code=exit_code)


def apply(g: Globals, plan_file: str, wait_timeout: float | None = None, **_: Any) -> None:
    """Run a swarm plan saved by ``plan --out FILE``, or nothing (exit 3) if anything it was
    made from moved: the plan made now from the files and the swarm must be the saved one."""
    from stackup.cli.plan_options import finish
    from stackup.cli.views.progress import Progress
    from stackup.core.errors import StalePlan
    from stackup.swarm import saved

    source = "stdin" if plan_file == "-" else plan_file
    from stackup.cli.plan_options import read_plan_file

    text = read_plan_file(plan_file)
    body = saved.load(text, source)
    options = saved.options_of(body)
    project, tree = load(g, options.services)
    swarm = backend(g)
    progress = Progress(g.progress)
    with g.locked("apply"):  # checked under the lock: nobody moves things in between
        result, observed = make_plan(swarm, project, tree, options)
        moved = saved.moved(body, result, observed)
        if moved:
            raise StalePlan(f"the plan in {source} is stale: nothing was changed", tuple(moved))
        outcome = run(g, result, swarm, wait_timeout, progress.on_event)
    finish(g, result, outcome, progress, "apply")


def down(g: Globals, volumes: bool, remove_orphans: bool = False, timeout: float | None = None,
         **_: Any) -> None:
    """Remove the stack's services, networks, secrets and configs (volumes with -v)."""
    from stackup.cli.plan_options import finish
    from stackup.cli.views.progress import Progress
    from stackup.swarm import plan_down

    project, name = _load_or_name(g)
    swarm = backend(g)
    progress = Progress(g.progress)
    with g.locked("down", name):
        observed = observe(swarm, project) if project is not None else swarm.observe(name)
        result = plan_down(name, observed, remove_volumes=volumes, project=project)
        outcome = run(g, result, swarm, 300.0, progress.on_event)
    finish(g, result, outcome, progress, "down")


def _load_or_name(g: Globals) -> tuple[Project | None, str]:
    try:
        project, _ = load(g)
    except ProjectError:
        if g.project_name:
            return None, g.project_name
        raise
    return project, project.name


def ps(g: Globals, fmt: str = "table", show_all: bool = False, quiet: bool = False,
       only_services: bool = False, services: tuple[str, ...] = (), **_: Any) -> None:
    """The stack's tasks: name (service.slot), image, node, desired and current state, error,
    ports. Without --all only the tasks meant to run."""
    from stackup.app.containers import check_services

    project, _ = load(g, services)
    check_services(project, services)
    observed = observe(backend(g), project, tasks=True)
    tasks = [t for t in observed.tasks if (not services or t.service in services)
             and (show_all or t.desired_state in ("running", "ready", "complete"))]
    if quiet:
        click.echo("".join(f"{t.task_id}\n" for t in tasks), nl=False)
        return
    if only_services:
        click.echo("".join(f"{s}\n" for s in sorted({t.service for t in tasks})), nl=False)
        return
    rows: list[dict[str, Any]] = [
        {"id": t.task_id, "name": f"{project.name}_{t.service}."
         f"{t.slot if t.slot is not None else t.node}", "service": t.service,
         "slot": t.slot, "image": t.image, "node": t.node, "desired_state": t.desired_state,
         "state": t.state, "error": t.error, "exit_code": t.exit_code, "ports": list(t.ports)}
        for t in tasks]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    table = [["NAME", "IMAGE", "NODE", "DESIRED", "CURRENT", "ERROR", "PORTS"]] + [
        [r["name"], r["image"], r["node"], r["desired_state"], r["state"], r["error"],
         ", ".join(r["ports"])] for r in rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(table[0]))]
    for row in table:
        click.echo("  ".join(str(c).ljust(widths[i]) for i, c in enumerate(row)).rstrip())


def logs(g: Globals, follow: bool = False, tail: str = "all", timestamps: bool = False,
         no_log_prefix: bool = False, services: tuple[str, ...] = (), **_: Any) -> None:
    """The output of the stack's services, each line prefixed with its task (``web.2 |``)."""
    import threading

    from stackup.app.containers import check_services

    if tail != "all" and not tail.isdigit():
        raise click.BadParameter("expected a number or 'all'", param_hint="--tail")
    project, _ = load(g, services)
    check_services(project, services)
    swarm = backend(g)
    observed = observe(swarm, project, tasks=True)
    chosen = [s for s in observed.services if not services or s.key in services]
    slots = {t.task_id: f"{t.service}.{t.slot if t.slot is not None else t.node}"
             for t in observed.tasks}
    width = max((len(v) for v in slots.values()), default=0)
    lock = threading.Lock()

    def pump(service_id: str, key: str) -> None:
        for task_id, line in swarm.logs(service_id, follow=follow, timestamps=timestamps,
                                        tail=None if tail == "all" else int(tail)):
            label = slots.get(task_id, key).ljust(width)
            text = line.decode("utf-8", "replace")
            with lock:
                sys.stdout.write(text + "\n" if no_log_prefix else f"{label} | {text}\n")
                sys.stdout.flush()

    if not follow:
        for svc in chosen:
            pump(svc.service_id, svc.key)
        return
    # `logs -f`: one reader per service stream; each ends with its stream, all with the process
    threads = [threading.Thread(target=pump, args=(s.service_id, s.key), daemon=True)
               for s in chosen]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)


def check_config(g: Globals, services: tuple[str, ...] = ()) -> None:
    """``config`` with --target swarm: refuse what a swarm cannot do (then print as usual)."""
    from stackup.swarm import refuse

    project, tree = load(g, services)
    refuse(project, tree)
