"""``stackup plan``: show what `up` would change: every operation, its cause and what it waits for."""

from __future__ import annotations

import click

from stackup.cli.context import Globals, pass_globals
from stackup.cli.plan_options import up_flags


@click.command("plan")
@up_flags
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--exit-code", is_flag=True,
              help="Exit 0 when nothing would change, 2 when something would, 1 on error.")
@click.option("--diff", is_flag=True, help="Show each changed field with its old and new value.")
@click.option("--out", "out", type=click.Path(dir_okay=False), metavar="FILE",
              help="Save the plan for `stackup apply FILE` ('-' for stdout).")
@click.option("--revision", type=int, metavar="N",
              help="What `stackup rollback N` would do: plan revision N's recorded model.")
@pass_globals
def plan_cmd(g: Globals, services: tuple[str, ...], force_recreate: bool, no_recreate: bool,
             scale: tuple[str, ...], remove_orphans: bool, timeout: float | None, build: bool,
             pull: str | None, fmt: str, exit_code: bool, diff: bool, out: str | None,
             revision: int | None) -> None:
    """Show what `up` would change: every operation, its cause and what it waits for."""
    g.deploy_target().plan(**locals())
