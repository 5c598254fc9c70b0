"""``stackup images``: list the image each of the project's containers runs."""

from __future__ import annotations

import json

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals


@click.command("images")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Only image ids.")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def images_cmd(g: Globals, fmt: str, quiet: bool, services: tuple[str, ...]) -> None:
    """List the image each of the project's containers runs."""
    from stackup.app import containers as app

    project = g.load(services).project
    app.check_services(project, services)
    rows = app.images(project.name, g.engine(), services=services)
    if quiet:
        click.echo("".join(f"{i}\n" for i in dict.fromkeys(r.image_id for r in rows)), nl=False)
        return
    if fmt == "json":
        click.echo(json.dumps([{"container": r.container, "service": r.service,
                                "image": r.image_ref, "image_id": r.image_id, "size": r.size}
                               for r in rows], indent=2))
        return
    table = [["CONTAINER", "SERVICE", "IMAGE", "IMAGE ID", "SIZE"]]
    table += [[r.container, r.service, r.image_ref, short_id(r.image_id),
               human_size(r.size) if r.size is not None else "(removed)"] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


def short_id(image_id: str) -> str:
    """The 12 hex characters ``docker images`` shows."""
    return image_id.partition(":")[2][:12] if ":" in image_id else image_id[:12]


def human_size(size: int) -> str:
    """Decimal units with three significant digits, as the docker CLI prints sizes."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.3g}{unit}"
        value /= 1000
    return f"{size}B"
