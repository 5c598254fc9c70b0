"""``stackup apply``: run a plan saved by `plan --out FILE` exactly, or nothing if anything moved
(exit 3)."""

from __future__ import annotations

import click

from stackup.cli.context import Globals, pass_globals


@click.command("apply")
@click.argument("plan_file", metavar="FILE")
@click.option("--wait-timeout", type=float, default=None,
              help="Seconds a wait may take (default: no limit).")
@pass_globals
def apply_cmd(g: Globals, plan_file: str, wait_timeout: float | None) -> None:
    """Run a plan saved by `plan --out FILE` exactly, or nothing if anything moved (exit 3)."""
    g.deploy_target().apply(**locals())
