"""``stackup volumes``: list the project's volumes (those SERVICE(s) mount, when named)."""

from __future__ import annotations

import json

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.selection import load_or_name, table


@click.command("volumes")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Only volume names.")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def volumes_cmd(g: Globals, fmt: str, quiet: bool, services: tuple[str, ...]) -> None:
    """List the project's volumes (those SERVICE(s) mount, when named)."""
    project, name = load_or_name(g, services)
    observed = g.engine().observe(name)
    wanted = None
    if project is not None and services:
        keys = {m.source for s in services for m in project.services[s].volumes
                if m.type == "volume" and m.source}
        wanted = {project.volumes[k].name for k in keys if k in project.volumes}
    rows = [v for n, v in sorted(observed.volumes.items()) if wanted is None or n in wanted]
    if quiet:
        click.echo("".join(f"{v.name}\n" for v in rows), nl=False)
    elif fmt == "json":
        for v in rows:
            click.echo(json.dumps({"Driver": v.driver, "Labels": ",".join(
                f"{k}={val}" for k, val in sorted(v.labels.items())), "Name": v.name,
                "Scope": "local"}))
    else:
        click.echo(table(["DRIVER", "VOLUME NAME"], [[v.driver, v.name] for v in rows]),
                   nl=False)
