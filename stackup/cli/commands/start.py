"""``stackup start``: start the project's existing, stopped containers."""

from __future__ import annotations

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.lifecycle import run_lifecycle


@click.command("start")
@click.option("--wait", is_flag=True,
              help="Return when the started services are running and healthy.")
@click.option("--wait-timeout", type=float, default=None,
              help="Seconds --wait may take (default: no limit, as Compose).")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def start_cmd(g: Globals, wait: bool, wait_timeout: float | None,
              services: tuple[str, ...]) -> None:
    """Start the project's existing, stopped containers."""
    run_lifecycle(g, "start", services, None)
    if wait:
        from stackup.cli.create_scale import wait_ready

        wait_ready(g, services, wait_timeout)
