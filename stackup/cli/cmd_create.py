"""``create`` and ``scale``: converge without starting, or to a number of replicas.

Pipeline position: CLI over ``app.plan_up`` and ``app.run_plan``. ``create`` runs the plan
``up`` would run with its starts and waits taken out (``reconcile.no_start``); ``scale`` is
``up --scale SERVICE=N --no-recreate`` for the named services.
"""

from __future__ import annotations

import sys

import click

from stackup.cli import complete
from stackup.cli.plan_options import up_options
from stackup.cli.context import Globals, pass_globals


def _run(g: Globals, verb: str, services: tuple[str, ...], scale: tuple[str, ...], *,
         force_recreate: bool = False, no_recreate: bool = False, remove_orphans: bool = False,
         build: bool = False, pull: str | None = None, no_start: bool = False) -> None:
    from stackup.app import containers as app
    from stackup.cli.views.progress import Progress
    from stackup.reconcile.no_start import without_starts

    loaded = g.load(services)
    project = loaded.project
    options = up_options(project, services, scale, force_recreate, no_recreate,
                          remove_orphans, None, build, pull)
    engine = g.engine()
    progress = Progress(g.progress)
    with g.locked(verb):
        plan = app.checked_plan_up(project, engine, options, tree=loaded.tree,
                                   shape=without_starts if no_start else None)
        outcome = app.run_plan(plan, project, engine, app.RunOptions(parallel=g.parallel),
                               progress.on_event, tree=loaded.tree)
    progress.summary(plan, outcome, verb=verb)
    g.show_tracebacks(outcome.failed)
    if not outcome.ok:
        sys.exit(1)


@click.command("create")
@click.option("--force-recreate", is_flag=True, help="Recreate even if unchanged.")
@click.option("--no-recreate", is_flag=True, help="Never recreate existing containers.")
@click.option("--scale", multiple=True, metavar="SERVICE=N", help="Replicas (repeatable).")
@click.option("--remove-orphans", is_flag=True, envvar="COMPOSE_REMOVE_ORPHANS",
              help="Remove containers of services no longer in the file.")
@click.option("--build", is_flag=True, help="Build images of services with build: first.")
@click.option("--pull", type=click.Choice(["always", "missing", "never"]),
              help="Pull images: always, when missing, or never (overrides pull_policy).")
@click.option("-y", "--yes", is_flag=True, help="Accepted for Compose (stackup never asks).")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def create_cmd(g: Globals, force_recreate: bool, no_recreate: bool, scale: tuple[str, ...],
               remove_orphans: bool, build: bool, pull: str | None, yes: bool,
               services: tuple[str, ...]) -> None:
    """Create the stack's containers (and networks, volumes, images) without starting them."""
    _run(g, "create", services, scale, force_recreate=force_recreate, no_recreate=no_recreate,
         remove_orphans=remove_orphans, build=build, pull=pull, no_start=True)


@click.command("scale")
@click.argument("replicas", nargs=-1, required=True, metavar="SERVICE=N...",
                shell_complete=complete.replicas)
@pass_globals
def scale_cmd(g: Globals, replicas: tuple[str, ...]) -> None:
    """Set the number of replicas of services (existing containers are not recreated)."""
    names = tuple(dict.fromkeys(r.partition("=")[0] for r in replicas))
    _run(g, "scale", names, replicas, no_recreate=True)
