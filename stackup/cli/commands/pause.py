"""``stackup pause``: pause the running containers of SERVICE(s) (all when none)."""

from __future__ import annotations

import click

from stackup.cli import complete
from stackup.cli.container_actions import act
from stackup.cli.context import Globals, pass_globals


@click.command("pause")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def pause_cmd(g: Globals, services: tuple[str, ...]) -> None:
    """Pause the running containers of SERVICE(s) (all when none)."""
    with g.locked("pause"):
        act(g, "pause", services, ("running", "restarting"), "pause_container")
