"""What ``logs``, ``exec`` and the one-off commands share: the project's name, a container's
label in output, the running container of a service, and the TTY flags."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from stackup.cli.context import Globals
from stackup.core.errors import ProjectError

if TYPE_CHECKING:
    from stackup.core.observed import ObservedContainer


def project_name_of(g: Globals, services: tuple[str, ...] = ()) -> str:
    """The project's name; with ``-p NAME`` and no stack file, that name (as Compose)."""
    from stackup.cli.selection import load_or_name

    return load_or_name(g, services)[1]


def container_label(c: ObservedContainer) -> str:
    return f"{c.service}-{c.number}"


def running_container(g: Globals, service: str, index: int) -> tuple[str, ObservedContainer]:
    """(project name, the running container number ``index`` of ``service``), one-offs aside."""
    from stackup.app.containers import containers

    name = project_name_of(g, (service,))
    matches = [c for c in containers(name, g.engine(), services=(service,))
               if c.number == index and not c.oneoff]
    if not matches or not matches[0].running:
        raise ProjectError(f"service {service} has no running container number {index}",
                           detail="Run `stackup up -d` first, or `stackup ps -a` to see its "
                                  "state.")
    return name, matches[0]


def tty_flags(f: Callable[..., Any]) -> Callable[..., Any]:
    """``-i``/``-t`` as the docker CLI spells them (``-it``, ``-ti``), shared by ``exec`` and
    ``run``. As in Compose both are what happens anyway: stdin is attached, and a TTY is
    allocated when stdin and stdout are terminals (``-T``: never). Forcing one on a stdin that
    is not a terminal would hang the command up at that stdin's end."""
    f = click.option("-t", "--tty", "tty", is_flag=True,
                     help="Accepted (a TTY is allocated when this is a terminal).")(f)
    return click.option("-i", "--interactive", is_flag=True,
                        help="Accepted (stdin is always kept open, as in Compose).")(f)


def wants_tty(no_tty: bool) -> bool:
    """A TTY unless ``-T``, when stdin and stdout are terminals."""
    return not no_tty and sys.stdin.isatty() and sys.stdout.isatty()


