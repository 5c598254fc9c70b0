"""``build``, ``pull``, ``push``, ``images``: the stack's images.

Pipeline position: CLI over ``stackup.app``. ``build``/``pull``/``push`` run a plan of image
operations (from ``reconcile.images``) through the executor, in parallel, with progress on
stderr; ``images`` prints which image each container runs, on stdout.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from stackup.cli.main import Globals, cli, pass_globals

if TYPE_CHECKING:
    from stackup.events import Outcome
    from stackup.plan import Plan


def _run(g: Globals, verb: str, services: tuple[str, ...], *, quiet: bool = False,
         no_cache: bool = False, pull: bool = False) -> tuple[Plan, Outcome | None, object]:
    from stackup import app
    from stackup.cli.progress import Progress

    project = g.load(services).project
    app.check_services(project, services)
    plan = app.images_plan(verb, project, services, no_cache=no_cache, pull=pull)
    progress = Progress("quiet" if quiet else g.progress)
    if not quiet:
        for note in plan.notes:
            click.echo(f"note: {note}", err=True)
    if not plan.operations:
        if not quiet:
            click.echo(f"No images to {verb}.", err=True)
        return plan, None, progress
    if verb == "push":  # reads the engine's images, changes nothing there: no lock
        outcome = app.run_plan(plan, project, g.engine(), app.RunOptions(parallel=g.parallel),
                               progress.on_event)
        return plan, outcome, progress
    with g.locked(verb):  # build and pull retag images the project's containers run
        outcome = app.run_plan(plan, project, g.engine(), app.RunOptions(parallel=g.parallel),
                               progress.on_event)
    return plan, outcome, progress


def _finish(g: Globals, verb: str, plan: Plan, outcome: Outcome | None, progress: object,
            quiet: bool = False) -> None:
    if outcome is None or (quiet and outcome.ok):
        return
    progress.summary(plan, outcome, verb=verb)  # type: ignore[attr-defined]
    g.show_tracebacks(outcome.failed)
    if not outcome.ok:
        sys.exit(1)


@cli.command("build")
@click.option("--no-cache", is_flag=True, help="Do not use the build cache.")
@click.option("--pull", is_flag=True, help="Always try to pull newer base images.")
@click.argument("services", nargs=-1)
@pass_globals
def build_cmd(g: Globals, no_cache: bool, pull: bool, services: tuple[str, ...]) -> None:
    """Build the images of services that have a build section."""
    plan, outcome, progress = _run(g, "build", services, no_cache=no_cache, pull=pull)
    _finish(g, "build", plan, outcome, progress)


@cli.command("pull")
@click.option("--ignore-pull-failures", is_flag=True,
              help="Warn about images that cannot be pulled, and exit 0.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.argument("services", nargs=-1)
@pass_globals
def pull_cmd(g: Globals, ignore_pull_failures: bool, quiet: bool,
             services: tuple[str, ...]) -> None:
    """Pull the images of services that name one, in parallel."""
    plan, outcome, progress = _run(g, "pull", services, quiet=quiet)
    if outcome is not None and ignore_pull_failures and not outcome.ok:
        for op, error in outcome.failed:
            who = f"service {op.service_name}: " if op.service_name else ""
            first, _, rest = str(error).partition("\n")
            click.echo(f"warning: {who}{first}" + (f"\n  {rest}" if rest else ""), err=True)
        return
    _finish(g, "pull", plan, outcome, progress, quiet)


@cli.command("push")
@click.argument("services", nargs=-1)
@pass_globals
def push_cmd(g: Globals, services: tuple[str, ...]) -> None:
    """Push the images of services that name one to their registries."""
    plan, outcome, progress = _run(g, "push", services)
    _finish(g, "push", plan, outcome, progress)


@cli.command("images")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Only image ids.")
@click.argument("services", nargs=-1)
@pass_globals
def images_cmd(g: Globals, fmt: str, quiet: bool, services: tuple[str, ...]) -> None:
    """List the image each of the project's containers runs."""
    from stackup import app

    project = g.load(services).project
    app.check_services(project, services)
    rows = app.images(project.name, g.engine(), services=services)
    if quiet:
        click.echo("".join(f"{i}\n" for i in dict.fromkeys(r.image_id for r in rows)), nl=False)
        return
    if fmt == "json":
        click.echo(json.dumps([{"container": r.container, "service": r.service,
                                "image": r.image_ref, "image_id": r.image_id, "size": r.size}
                               for r in rows], indent=2))
        return
    table = [["CONTAINER", "SERVICE", "IMAGE", "IMAGE ID", "SIZE"]]
    table += [[r.container, r.service, r.image_ref, short_id(r.image_id),
               human_size(r.size) if r.size is not None else "(removed)"] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


def short_id(image_id: str) -> str:
    """The 12 hex characters ``docker images`` shows."""
    return image_id.partition(":")[2][:12] if ":" in image_id else image_id[:12]


def human_size(size: int) -> str:
    """Decimal units with three significant digits, as the docker CLI prints sizes."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.3g}{unit}"
        value /= 1000
    return f"{size}B"
