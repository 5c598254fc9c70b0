"""``stackup scale``: set the number of replicas of services (existing containers are not
recreated)."""

from __future__ import annotations

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.create_scale import create_or_scale


@click.command("scale")
@click.option("--no-deps", is_flag=True, help="Don't start the services' dependencies.")
@click.argument("replicas", nargs=-1, required=True, metavar="SERVICE=N...",
                shell_complete=complete.replicas)
@pass_globals
def scale_cmd(g: Globals, no_deps: bool, replicas: tuple[str, ...]) -> None:
    """Set the number of replicas of services (existing containers are not recreated)."""
    names = tuple(dict.fromkeys(r.partition("=")[0] for r in replicas))
    create_or_scale(g, "scale", names, replicas, no_recreate=True, no_deps=no_deps)
