"""``ls``: the stackup projects on the engine, found by their containers' labels.

Pipeline position: CLI over ``Engine.list_projects``; needs no stack file. Compose's columns
(NAME STATUS CONFIG FILES), ``--format json`` (a list of ``{Name, Status, ConfigFiles}``), ``-q``.
"""

from __future__ import annotations

import json

import click

from stackup.cli.context import Globals, pass_globals
from stackup.cli.selection import table


@click.command("ls")
@click.option("-a", "--all", "show_all", is_flag=True, help="Also projects with no running "
                                                           "container.")
@click.option("--filter", "filters", multiple=True, metavar="name=NAME",
              help="Only projects whose name contains NAME (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Only project names.")
@pass_globals
def ls_cmd(g: Globals, show_all: bool, filters: tuple[str, ...], fmt: str, quiet: bool) -> None:
    """List the projects on the engine."""
    names = []
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep or key != "name":
            raise click.BadParameter(f"unsupported filter {item!r}: ls filters on name=NAME",
                                     param_hint="--filter")
        names.append(value)
    projects = [p for p in g.engine().list_projects(all_containers=show_all)
                if all(n in p.name for n in names)]
    if quiet:
        click.echo("".join(f"{p.name}\n" for p in projects), nl=False)
    elif fmt == "json":
        click.echo(json.dumps([{"Name": p.name, "Status": p.status,
                                "ConfigFiles": ",".join(p.config_files)} for p in projects]))
    else:
        click.echo(table(["NAME", "STATUS", "CONFIG FILES"],
                         [[p.name, p.status, ",".join(p.config_files)] for p in projects]),
                   nl=False)
