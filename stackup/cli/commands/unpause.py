"""``stackup unpause``: resume the paused containers of SERVICE(s) (all when none)."""

from __future__ import annotations

import click

from stackup.cli import complete
from stackup.cli.container_actions import act
from stackup.cli.context import Globals, pass_globals


@click.command("unpause")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def unpause_cmd(g: Globals, services: tuple[str, ...]) -> None:
    """Resume the paused containers of SERVICE(s) (all when none)."""
    with g.locked("unpause"):
        act(g, "unpause", services, ("paused",), "unpause_container")
