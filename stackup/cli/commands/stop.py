"""``stackup stop``: ``stackup stop``."""

from __future__ import annotations

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.lifecycle import run_lifecycle


def _simple(verb: str, help_text: str) -> click.Command:
    @click.command(verb, help=help_text)
    @click.option("-t", "--timeout", type=float, help="Stop timeout in seconds.")
    @click.argument("services", nargs=-1, shell_complete=complete.services)
    @pass_globals
    def command(g: Globals, timeout: float | None, services: tuple[str, ...]) -> None:
        run_lifecycle(g, verb, services, timeout)

    return command


stop_cmd = _simple("stop", "Stop the project's containers without removing them.")
