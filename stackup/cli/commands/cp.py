"""``cp``: copy files and folders between a service container and the host, both ways.

Pipeline position: CLI over ``app.archive`` (the engine's archive endpoints, so it works on
a remote engine too). ``SERVICE:PATH`` names the container side; ``--index`` picks a replica.
"""

from __future__ import annotations

import io
import sys
from typing import TYPE_CHECKING

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.selection import containers, one_container
from stackup.core.errors import ProjectError

if TYPE_CHECKING:
    from stackup.core.observed import ObservedContainer


def _split(value: str) -> tuple[str | None, str]:
    """``service:path`` → (service, path); a local path (``./a:b``, ``/x``, ``-``) → (None, it)."""
    if value.startswith((".", "/", "~")) or value == "-":
        return None, value
    service, sep, path = value.partition(":")
    if not sep or not service:
        return None, value
    return service, path or "/"


@click.command("cp")
@click.option("--index", type=int, help="Replica number (default: every replica when copying "
                                        "to the service, the first when copying from it).")
@click.option("--all", "all_", is_flag=True,
              help="Include the service's one-off containers (`stackup run`).")
@click.option("-a", "--archive", is_flag=True, help="Keep uid/gid of the files copied in.")
@click.option("-L", "--follow-link", is_flag=True, help="Follow symbolic links in the source.")
@click.argument("source", shell_complete=complete.container_path)
@click.argument("destination", shell_complete=complete.container_path)
@pass_globals
def cp_cmd(g: Globals, index: int | None, all_: bool, archive: bool, follow_link: bool,
           source: str, destination: str) -> None:
    """Copy between a container and the host: `cp SERVICE:SRC DEST` or `cp SRC SERVICE:DEST`
    (`-` as DEST writes a tar to stdout; as SRC reads one from stdin). As in Compose, a copy
    to a service goes to each of its containers unless --index names one."""
    from stackup.app.archive import copy_from_container, copy_to_container

    src_service, src_path = _split(source)
    dst_service, dst_path = _split(destination)
    if src_service is None and dst_service is None:
        raise click.UsageError("one of SOURCE and DESTINATION must be SERVICE:PATH")
    if src_service is not None and dst_service is not None:
        raise click.UsageError("copying between two containers is not supported: copy to the "
                               "host first")
    if src_service is not None:
        _, container = _targets(g, src_service, index, all_)[0]
        copy_from_container(g.engine(), container.container_id, src_path, dst_path,
                            follow_link=follow_link, stdout=sys.stdout.buffer)
        return
    assert dst_service is not None
    targets = _targets(g, dst_service, index, all_)
    data = sys.stdin.buffer.read() if src_path == "-" and len(targets) > 1 else None
    for name, container in targets:
        copy_to_container(g.engine(), name, container.container_id, src_path, dst_path,
                          follow_link=follow_link, keep_owner=archive,
                          stdin=sys.stdin.buffer if data is None else io.BytesIO(data))


def _targets(g: Globals, service: str, index: int | None,
             all_: bool) -> list[tuple[str, ObservedContainer]]:
    """(project name, container) for each container of ``service`` a copy goes to: number
    ``index``, else all of them (one-offs too with ``--all``), service containers first."""
    if index is not None:
        return [one_container(g, service, index)]
    name, found = containers(g, (service,), oneoff=all_)
    if not found:
        raise ProjectError(f"service {service} has no container",
                           detail="Run `stackup up` first, or `stackup ps -a` to see its state.")
    found.sort(key=lambda c: (c.oneoff, c.number, c.name))
    return [(name, c) for c in found]
