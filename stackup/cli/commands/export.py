"""``export``: a service container's filesystem as a tar archive, as ``docker compose export``.

Pipeline position: CLI over one ownership-filtered observe (``cli.selection``) and one engine
read (``adapters/docker/extra``). Writes to ``-o FILE``, or to standard output when that is not
a terminal (a tar on a terminal is refused, as ``docker export`` refuses it). A failed export
leaves no partial file behind.
"""

from __future__ import annotations

import os
import sys

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.selection import one_container


@click.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write to a file instead of standard output.")
@click.option("--index", type=int, help="Replica number (default: the first).")
@click.argument("service", shell_complete=complete.services)
@pass_globals
def export_cmd(g: Globals, output: str | None, index: int | None, service: str) -> None:
    """Export a service container's filesystem as a tar archive."""
    if output is None and sys.stdout.isatty():
        raise click.UsageError("refusing to write a tar archive to a terminal: use -o FILE or "
                               "redirect the output")
    _, container = one_container(g, service, index)
    chunks = g.engine().export_container(container.container_id)
    if output is None:
        for chunk in chunks:
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return
    partial = f"{output}.part"
    try:
        with open(partial, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
        os.replace(partial, output)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
