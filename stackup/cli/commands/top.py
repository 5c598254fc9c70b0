"""``stackup top``: show the processes running in each container of SERVICE(s) (all when none)."""

from __future__ import annotations

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.selection import containers, table


@click.command("top")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def top_cmd(g: Globals, services: tuple[str, ...]) -> None:
    """Show the processes running in each container of SERVICE(s) (all when none)."""
    _, found = containers(g, services, running=True)
    engine = g.engine()
    for container in found:
        titles, processes = engine.top(container.container_id)
        click.echo(container.name)
        click.echo(table(titles, processes))
