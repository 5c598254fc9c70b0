"""``stackup exec``: run a command in a running container of SERVICE: stdin is sent, stdout and
stderr come back as they are written (kept apart), the exit code is passed through. With a TTY
the session is interactive (through the engine API: no docker CLI needed)."""

from __future__ import annotations

import os
import sys

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.naming import running_container, tty_flags, wants_tty


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
    from stackup.app.oneoff import parse_environment
    from stackup.cli.stdio import pump

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
