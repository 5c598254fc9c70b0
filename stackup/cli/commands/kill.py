"""``stackup kill``: send a signal to the running containers of SERVICE(s) (all when none)."""

from __future__ import annotations

import click

from stackup.cli import complete
from stackup.cli.container_actions import act
from stackup.cli.context import Globals, pass_globals


@click.command("kill")
@click.option("-s", "--signal", "signal_name", default="SIGKILL", show_default=True,
              help="Signal to send (name or number).")
@click.option("--remove-orphans", is_flag=True, envvar="COMPOSE_REMOVE_ORPHANS",
              help="Also kill the containers of services no longer in the file (as Compose, "
                   "which names the flag so: they are killed, not removed).")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def kill_cmd(g: Globals, signal_name: str, remove_orphans: bool,
             services: tuple[str, ...]) -> None:
    """Send a signal to the running containers of SERVICE(s) (all when none)."""
    with g.locked("kill"):
        act(g, "kill", services, ("running", "restarting", "paused"), "kill_container",
             orphans=remove_orphans, signal=signal_name)
