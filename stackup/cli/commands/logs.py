"""``stackup logs``: show the output of the project's containers, prefixed with the container's
name."""

from __future__ import annotations

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals


@click.command("logs")
@click.option("-f", "--follow", is_flag=True, help="Follow log output.")
@click.option("-n", "--tail", default="all", show_default=True,
              help="Lines from the end of each log: a number or 'all'.")
@click.option("--since", metavar="TIME", help="Only output since TIME: a timestamp "
              "(2024-01-02T15:04:05Z, a unix time) or a duration back from now (42m, 1h30m).")
@click.option("--until", metavar="TIME", help="Only output before TIME (as --since).")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps.")
@click.option("--no-log-prefix", is_flag=True, help="Do not print the container prefix.")
@click.option("--no-color", is_flag=True, help="Monochrome output.")
@click.option("--index", type=click.IntRange(1), help="Only this replica of each service.")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def logs_cmd(g: Globals, follow: bool, tail: str, since: str | None, until: str | None,
             timestamps: bool, no_log_prefix: bool, no_color: bool, index: int | None,
             services: tuple[str, ...]) -> None:
    """Show the output of the project's containers, prefixed with the container's name."""
    g.deploy_target().logs(**locals())
