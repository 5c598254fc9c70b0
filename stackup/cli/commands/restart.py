"""``stackup restart``: restart the project's containers."""

from __future__ import annotations

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.lifecycle import run_lifecycle


@click.command("restart")
@click.option("-t", "--timeout", type=float, help="Stop timeout in seconds.")
@click.option("--no-deps", is_flag=True,
              help="Accepted for Compose: only the named services are restarted anyway.")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def restart_cmd(g: Globals, timeout: float | None, no_deps: bool,
                services: tuple[str, ...]) -> None:
    """Restart the project's containers."""
    run_lifecycle(g, "restart", services, timeout)
