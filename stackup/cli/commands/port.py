"""``stackup port``: print the host address a container port of SERVICE is published on."""

from __future__ import annotations

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.selection import one_container
from stackup.core.errors import ProjectError


@click.command("port")
@click.option("--protocol", type=click.Choice(["tcp", "udp"]), default="tcp", show_default=True)
@click.option("--index", type=int, help="Replica number (default: the first).")
@click.argument("service", shell_complete=complete.services)
@click.argument("private_port", type=int)
@pass_globals
def port_cmd(g: Globals, protocol: str, index: int | None, service: str,
             private_port: int) -> None:
    """Print the host address a container port of SERVICE is published on."""
    name, container = one_container(g, service, index)
    for row in g.engine().list_containers(name):
        if row.container_id != container.container_id:
            continue
        for port in row.ports:
            if port.private == private_port and port.protocol == protocol and port.public:
                click.echo(f"{port.ip or '0.0.0.0'}:{port.public}")
                return
    raise ProjectError(f"no port {private_port}/{protocol} published for {container.name}",
                       detail="Publish it with `ports:` in the stack file.")
