"""``stackup rm``: remove the project's stopped containers (running ones too with -s)."""

from __future__ import annotations

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.lifecycle import run_lifecycle


@click.command("rm")
@click.option("-f", "--force", is_flag=True,
              help="Do not ask for confirmation (stackup never asks: accepted for Compose).")
@click.option("-s", "--stop", is_flag=True, help="Stop the running containers first.")
@click.option("-v", "--volumes", is_flag=True, help="Also remove their anonymous volumes.")
@click.option("-t", "--timeout", type=float, help="Stop timeout in seconds (with -s).")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def rm_cmd(g: Globals, force: bool, stop: bool, volumes: bool, timeout: float | None,
           services: tuple[str, ...]) -> None:
    """Remove the project's stopped containers (running ones too with -s)."""
    run_lifecycle(g, "rm", services, timeout, stop=stop, remove_volumes=volumes)
