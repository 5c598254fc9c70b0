"""What ``create`` and ``scale`` share: converge the selected services (without starting, or to
a number of replicas), and wait until they are ready."""

from __future__ import annotations

import sys

import click

from stackup.cli.plan_options import up_options
from stackup.cli.context import Globals


def create_or_scale(g: Globals, verb: str, services: tuple[str, ...], scale: tuple[str, ...], *,
         force_recreate: bool = False, no_recreate: bool = False, remove_orphans: bool = False,
         build: bool = False, pull: str | None = None, no_start: bool = False,
         no_build: bool = False, no_deps: bool = False,
         quiet: tuple[str, ...] = ()) -> None:
    from stackup.app import containers as app
    from stackup.cli.signals import quiet_output
    from stackup.cli.views.progress import Progress
    from stackup.reconcile.no_start import without_starts

    if build and no_build:
        raise click.UsageError("--build and --no-build cannot be used together")
    loaded = g.load(services)
    project = loaded.project
    options = up_options(project, services, scale, force_recreate, no_recreate,
                         remove_orphans, None, build, pull, no_build=no_build, no_deps=no_deps,
                         all_resources=g.all_resources)
    engine = g.engine()
    progress = Progress(g.progress)
    with g.locked(verb):
        plan = app.checked_plan_up(project, engine, options, tree=loaded.tree,
                                   shape=without_starts if no_start else None)
        outcome = app.run_plan(plan, project, engine, app.RunOptions(parallel=g.parallel),
                               quiet_output(progress.on_event, quiet), tree=loaded.tree)
    progress.summary(plan, outcome, verb=verb)
    g.show_tracebacks(outcome.failed)
    if not outcome.ok:
        sys.exit(1)


def wait_ready(g: Globals, services: tuple[str, ...], timeout: float | None) -> None:
    """``start --wait``: wait until the services' containers are healthy (those with a
    healthcheck) or running, as ``up --wait`` does; exit 1 when one is not in time."""
    from stackup.app import containers as app
    from stackup.cli.views.progress import Progress
    from stackup.core.plan import Kind, Operation, Plan

    project = g.load(services).project
    app.check_services(project, list(services))
    found = app.containers(project.name, g.engine(), services=services)
    ops = []
    for name in sorted({c.service for c in found if not c.oneoff}):
        service = project.services.get(name)
        if service is None:
            continue
        watch = tuple(sorted(c.name for c in found if c.service == name and not c.oneoff))
        hc = service.healthcheck
        checked = hc is not None and not hc.disable and hc.test[:1] != ("NONE",)
        kind = Kind.WAIT_HEALTHY if checked else Kind.WAIT_RUNNING
        ops.append(Operation(f"{kind.value}:{name}", kind, "--wait", service=service,
                             watch=watch, timeout=timeout))
    plan = Plan(project.name, tuple(ops))
    progress = Progress(g.progress)
    outcome = app.run_plan(plan, project, g.engine(),
                           app.RunOptions(parallel=g.parallel, wait_timeout=timeout),
                           progress.on_event)
    if not outcome.ok:  # (done: the wait lines said so; the summary would say "nothing to
        progress.summary(plan, outcome, verb="start --wait")  # change", waits not being changes)
        sys.exit(1)


