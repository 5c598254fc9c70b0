"""``stackup wait``: block until every container of SERVICE(s) has stopped; exit with the last exit
code."""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.selection import containers, each, load_or_name
from stackup.core.errors import ProjectError

if TYPE_CHECKING:
    from stackup.core.observed import ObservedContainer


@click.command("wait")
@click.option("--down-project", is_flag=True, help="Take the project down once they stopped.")
@click.argument("services", nargs=-1, required=True,
                shell_complete=complete.services)
@pass_globals
def wait_cmd(g: Globals, down_project: bool, services: tuple[str, ...]) -> None:
    """Block until every container of SERVICE(s) has stopped; exit with the last exit code."""
    name, found = containers(g, services)
    if not found:
        raise ProjectError(f"no containers for project {name}",
                           detail="Run `stackup up` first, or `stackup ps -a` to see them.")
    engine = g.engine()
    lock = threading.Lock()
    codes: list[int] = []

    def wait(container: ObservedContainer) -> None:
        code = engine.wait_container(container.container_id)
        with lock:
            codes.append(code)
            click.echo(f"container {container.name} exited with status code {code}")

    failures = each(found, wait, max(len(found), 1))
    for container, error in failures:
        click.echo(f"error: {container.name}: {error}", err=True)
    if failures:
        sys.exit(1)
    if down_project:
        from stackup.app import containers as app
        from stackup.cli.views.progress import Progress

        project, _ = load_or_name(g)
        progress = Progress(g.progress)
        with g.locked("down", name):
            plan, outcome = app.down(project, name, engine, remove_volumes=False,
                                     remove_orphans=True, timeout=None,
                                     run=app.RunOptions(parallel=g.parallel),
                                     on_event=progress.on_event)
        progress.summary(plan, outcome, verb="down")
    sys.exit(codes[-1] if codes else 0)
