"""``ps``: the project's containers, in Compose's columns and JSON shape.

Pipeline position: CLI over the engine's container list (``Engine.list_containers``, filtered by
the project's label). Works with ``-p NAME`` and no stack file. Output on stdout:
a table (NAME IMAGE COMMAND SERVICE CREATED STATUS PORTS), one JSON object per line
(``--format json``, Compose's keys), or a ``{{.Field}}`` template.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.views.formatting import displayable_ports, human_duration, quote_command

if TYPE_CHECKING:
    from stackup.ports.engine import ContainerSummary

STATES = ("paused", "restarting", "removing", "running", "dead", "created", "exited")
HEADERS = {"ID": "CONTAINER ID", "Name": "NAME", "Names": "NAMES", "Image": "IMAGE",
           "Command": "COMMAND", "Service": "SERVICE", "RunningFor": "CREATED",
           "CreatedAt": "CREATED AT", "Status": "STATUS", "Ports": "PORTS", "State": "STATE",
           "Health": "HEALTH", "ExitCode": "EXIT CODE", "Project": "PROJECT",
           "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS",
           "LocalVolumes": "LOCAL VOLUMES", "Size": "SIZE", "Publishers": "PUBLISHERS"}


def record(c: ContainerSummary, *, truncate: bool = True,
           now: float | None = None) -> dict[str, Any]:
    """One container in the shape of ``docker compose ps --format json``."""
    now = time.time() if now is None else now
    created = time.localtime(c.created)
    return {
        "Command": quote_command(c.command, truncate),
        "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S %z %Z", created),
        "ExitCode": c.exit_code, "Health": c.health,
        "ID": c.container_id[:12] if truncate else c.container_id,
        "Image": c.image, "Labels": ",".join(f"{k}={v}" for k, v in c.labels),
        "LocalVolumes": str(c.local_volumes), "Mounts": ",".join(c.mounts), "Name": c.name,
        "Names": c.name, "Networks": ",".join(c.networks),
        "Ports": displayable_ports(c.ports), "Project": c.project,
        "Publishers": [{"URL": p.ip, "TargetPort": p.private, "PublishedPort": p.public,
                        "Protocol": p.protocol} for p in c.ports],
        "RunningFor": f"{human_duration(max(0.0, now - c.created))} ago",
        "Service": c.service, "Size": "0B", "State": c.state, "Status": c.status,
    }


def statuses(filters: tuple[str, ...], status: tuple[str, ...]) -> list[str]:
    wanted = list(status)
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep or key != "status":
            raise click.BadParameter(f"unsupported filter {item!r}: ps filters on status=STATE",
                                     param_hint="--filter")
        wanted.append(value)
    for value in wanted:
        if value not in STATES:
            raise click.BadParameter(f"invalid status {value!r}: expected one of "
                                     f"{', '.join(STATES)}", param_hint="--status")
    return wanted


@click.command("ps")
@click.option("-a", "--all", "show_all", is_flag=True, help="Include stopped containers.")
@click.option("--filter", "filters", multiple=True, metavar="status=STATE",
              help="Only containers in this state (repeatable).")
@click.option("--status", multiple=True, type=click.Choice(STATES),
              help="Only containers in this state (repeatable).")
@click.option("--format", "fmt", default="table", show_default=True,
              help="table, json, or a template such as '{{.Name}} {{.Status}}'.")
@click.option("-q", "--quiet", is_flag=True, help="Only container ids.")
@click.option("--services", "only_services", is_flag=True, help="Only service names.")
@click.option("--no-trunc", is_flag=True, help="Do not shorten ids and commands.")
@click.option("--orphans/--no-orphans", default=True, show_default=True,
              help="Include containers of services no longer in the stack file.")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def ps_cmd(g: Globals, show_all: bool, filters: tuple[str, ...], status: tuple[str, ...],
           fmt: str, quiet: bool, only_services: bool, no_trunc: bool, orphans: bool,
           services: tuple[str, ...]) -> None:
    """List the project's containers (running ones unless -a or --status)."""
    g.deploy_target().ps(**locals())


