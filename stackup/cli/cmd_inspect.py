"""``logs``, ``exec``: look at and into a running stack (``ps`` is in ``cmd_ps``).

Pipeline position: CLI over ``stackup.app.containers`` and the Engine; output goes to stdout.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.core.errors import ProjectError

if TYPE_CHECKING:
    from stackup.core.observed import ObservedContainer


def project_name_of(g: Globals, services: tuple[str, ...] = ()) -> str:
    """The project's name; with ``-p NAME`` and no stack file, that name (as Compose)."""
    from stackup.cli.selection import load_or_name

    return load_or_name(g, services)[1]


def container_label(c: ObservedContainer) -> str:
    return f"{c.service}-{c.number}"


@click.command("logs")
@click.option("-f", "--follow", is_flag=True, help="Follow log output.")
@click.option("-n", "--tail", default="all", show_default=True,
              help="Lines from the end of each log: a number or 'all'.")
@click.option("--since", metavar="TIME", help="Only output since TIME: a timestamp "
              "(2024-01-02T15:04:05Z, a unix time) or a duration back from now (42m, 1h30m).")
@click.option("--until", metavar="TIME", help="Only output before TIME (as --since).")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps.")
@click.option("--no-log-prefix", is_flag=True, help="Do not print the container prefix.")
@click.option("--no-color", is_flag=True, help="Monochrome output.")
@click.option("--index", type=click.IntRange(1), help="Only this replica of each service.")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def logs_cmd(g: Globals, follow: bool, tail: str, since: str | None, until: str | None,
             timestamps: bool, no_log_prefix: bool, no_color: bool, index: int | None,
             services: tuple[str, ...]) -> None:
    """Show the output of the project's containers, prefixed with the container's name."""
    g.deploy_target().logs(**locals())


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


# Options end at SERVICE: what follows is the command's own (``exec web ls -la``); an unknown
# option before SERVICE is a usage error naming it, never taken for the service.
@click.command("exec", context_settings={"allow_interspersed_args": False})
@click.option("-T", "--no-tty", "--no-TTY", "no_tty", is_flag=True,
              help="Do not allocate a TTY (one is when stdin and stdout are terminals).")
@tty_flags
@click.option("-d", "--detach", is_flag=True,
              help="Run the command in the background (no output, exit code not waited for).")
@click.option("-u", "--user", help="Run as this user.")
@click.option("-w", "--workdir", help="Working directory inside the container.")
@click.option("-e", "--env", "env", multiple=True, metavar="KEY[=VAL]", help="Environment.")
@click.option("--privileged", is_flag=True, help="Give extended privileges to the command.")
@click.option("--index", type=click.IntRange(1), default=1, show_default=True,
              help="Replica number.")
@click.argument("service", shell_complete=complete.services)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@pass_globals
def exec_cmd(g: Globals, no_tty: bool, interactive: bool, tty: bool, detach: bool,
             user: str | None, workdir: str | None, env: tuple[str, ...], privileged: bool,
             index: int, service: str, command: tuple[str, ...]) -> None:
    """Run a command in a running container of SERVICE: stdin is sent, stdout and stderr come
    back as they are written (kept apart), the exit code is passed through. With a TTY the
    session is interactive (through the engine API: no docker CLI needed)."""
    from stackup.cli.stdio import pump
    from stackup.app.oneoff import parse_environment

    _, target = running_container(g, service, index)
    environment = dict(parse_environment(env, os.environ))
    if detach:
        g.engine().exec_detached(target.container_id, list(command), user=user,
                                 workdir=workdir, environment=environment or None,
                                 privileged=privileged)
        return
    use_tty = wants_tty(no_tty)
    session = g.engine().exec_session(target.container_id, list(command), tty=use_tty,
                                      stdin=True, user=user, workdir=workdir,
                                      environment=environment or None, privileged=privileged)
    sys.exit(pump(session))
