"""``stackup create``: create the stack's containers (and networks, volumes, images) without
starting them."""

from __future__ import annotations

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.create_scale import create_or_scale


@click.command("create")
@click.option("--force-recreate", is_flag=True, help="Recreate even if unchanged.")
@click.option("--no-recreate", is_flag=True, help="Never recreate existing containers.")
@click.option("--scale", multiple=True, metavar="SERVICE=N", help="Replicas (repeatable).")
@click.option("--remove-orphans", is_flag=True, envvar="COMPOSE_REMOVE_ORPHANS",
              help="Remove containers of services no longer in the file.")
@click.option("--build", is_flag=True, help="Build images of services with build: first.")
@click.option("--no-build", is_flag=True, help="Never build images (a missing one is an error).")
@click.option("--pull", type=click.Choice(["always", "missing", "never"]),
              help="Pull images: always, when missing, or never (overrides pull_policy).")
@click.option("--quiet-pull", is_flag=True, help="Pull without printing progress.")
@click.option("-y", "--yes", is_flag=True, help="Accepted for Compose (stackup never asks).")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def create_cmd(g: Globals, force_recreate: bool, no_recreate: bool, scale: tuple[str, ...],
               remove_orphans: bool, build: bool, no_build: bool, pull: str | None,
               quiet_pull: bool, yes: bool, services: tuple[str, ...]) -> None:
    """Create the stack's containers (and networks, volumes, images) without starting them."""
    create_or_scale(g, "create", services, scale, force_recreate=force_recreate, no_recreate=no_recreate,
         remove_orphans=remove_orphans, build=build, pull=pull, no_start=True,
         no_build=no_build, quiet=("pull_image",) if quiet_pull else ())
