"""``stackup down``: stop and remove the project's containers and networks (and volumes with -v)."""

from __future__ import annotations

import click

from stackup.cli.context import Globals, pass_globals


@click.command("down")
@click.option("-v", "--volumes", is_flag=True,
              help="Also remove the project's volumes (anonymous ones included) and its "
                   "revision records (`stackup history`); without -v both are kept.")
@click.option("--remove-orphans", is_flag=True, envvar="COMPOSE_REMOVE_ORPHANS",
              help="Also remove orphan containers (env: COMPOSE_REMOVE_ORPHANS).")
@click.option("-t", "--timeout", type=float, help="Stop timeout in seconds.")
@click.option("--rmi", type=click.Choice(["local", "all"]),
              help="Also remove images: local (built ones without an image: name) or all.")
@pass_globals
def down_cmd(g: Globals, volumes: bool, remove_orphans: bool, timeout: float | None,
             rmi: str | None) -> None:
    """Stop and remove the project's containers and networks (and volumes with -v)."""
    g.deploy_target().down(**locals())
