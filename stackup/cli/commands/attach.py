"""``stackup attach``: attach this terminal's input and output to a running container of SERVICE;
exits with the container's exit code when it stops, 0 when detached with the detach keys."""

from __future__ import annotations

import sys

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.signals import forward_signals


@click.command("attach")
@click.option("--index", type=click.IntRange(1), default=1, show_default=True,
              help="Replica number.")
@click.option("--no-stdin", is_flag=True, help="Do not attach stdin.")
@click.option("--sig-proxy/--no-sig-proxy", default=True, show_default=True,
              help="Pass signals stackup receives on to the container.")
@click.option("--detach-keys", metavar="KEYS",
              help="Keys that detach, leaving the container running (the engine's default: "
                   "ctrl-p,ctrl-q).")
@click.argument("service", shell_complete=complete.services)
@pass_globals
def attach_cmd(g: Globals, index: int, no_stdin: bool, sig_proxy: bool,
               detach_keys: str | None, service: str) -> None:
    """Attach this terminal's input and output to a running container of SERVICE; exits with
    the container's exit code when it stops, 0 when detached with the detach keys."""
    from stackup.cli.naming import running_container
    from stackup.cli.stdio import pump

    project_name, target = running_container(g, service, index)
    engine = g.engine()
    session = engine.attach_container(target.container_id, stdin=not no_stdin,
                                      detach_keys=detach_keys)
    with forward_signals(engine, project_name, target.container_id,
                          enabled=sig_proxy and not session.tty):
        code = pump(session, stdin=not no_stdin)
    sys.exit(code)
