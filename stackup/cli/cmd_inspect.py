"""``logs``, ``exec``: look at and into a running stack (``ps`` is in ``cmd_ps``).

Pipeline position: CLI over ``stackup.app`` and the Engine; output goes to stdout.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from stackup.cli.main import Globals, cli, pass_globals
from stackup.errors import NotFound, ProjectError

if TYPE_CHECKING:
    from stackup.observed import ObservedContainer


def _project_name(g: Globals, services: tuple[str, ...] = ()) -> str:
    """The project's name; with ``-p NAME`` and no stack file, that name (as Compose)."""
    from stackup.cli.target import load_or_name

    return load_or_name(g, services)[1]


def _lines(chunks: Iterator[bytes]) -> Iterator[str]:
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.decode("utf-8", "replace")
    if pending:
        yield pending.decode("utf-8", "replace")


@cli.command("logs")
@click.option("-f", "--follow", is_flag=True, help="Follow log output.")
@click.option("--tail", default="all", show_default=True, help="Lines from the end of each log.")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps.")
@click.option("--no-log-prefix", is_flag=True, help="Do not print the container prefix.")
@click.argument("services", nargs=-1)
@pass_globals
def logs_cmd(g: Globals, follow: bool, tail: str, timestamps: bool, no_log_prefix: bool,
             services: tuple[str, ...]) -> None:
    """Show the output of the project's containers, prefixed with the container's name."""
    from stackup.app import containers

    if tail != "all" and not tail.isdigit():
        raise click.BadParameter("expected a number or 'all'", param_hint="--tail")
    lines = None if tail == "all" else int(tail)
    engine = g.engine()
    found = containers(_project_name(g, services), engine, services=services)
    if not found:
        return
    width = max(len(f"{c.service}-{c.number}") for c in found)
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    lock = threading.Lock()

    def pump(index: int, container: ObservedContainer) -> None:
        label = f"{container.service}-{container.number}".ljust(width)
        prefix = "" if no_log_prefix else (
            f"\x1b[3{index % 6 + 1}m{label} |\x1b[0m " if color else f"{label} | ")
        stream = engine.logs(container.container_id, follow=follow, tail=lines,
                             timestamps=timestamps)
        for line in _lines(stream):
            with lock:
                sys.stdout.write(prefix + line + "\n")
                sys.stdout.flush()
        if follow:  # a cut connection ends the stream like a stop does: ask the engine which
            try:
                engine.inspect_container(container.container_id)
            except NotFound:
                pass  # removed meanwhile (`down`): a normal end

    if not follow:
        for index, container in enumerate(found):
            pump(index, container)
        return
    errors: list[BaseException] = []  # from the pumps, raised here: one message, exit 1

    def follow_one(index: int, container: ObservedContainer) -> None:
        try:
            pump(index, container)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=follow_one, args=(i, c), daemon=True)
               for i, c in enumerate(found)]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive() and not errors:
            thread.join(0.2)
    if errors:
        raise errors[0]


@cli.command("exec", context_settings={"ignore_unknown_options": True,
                                       "allow_interspersed_args": False})
@click.option("-T", "no_tty", is_flag=True, help="Do not allocate a TTY.")
@click.option("-u", "--user", help="Run as this user.")
@click.option("-w", "--workdir", help="Working directory inside the container.")
@click.option("-e", "--env", "env", multiple=True, metavar="KEY=VAL", help="Environment.")
@click.option("--index", type=int, default=1, show_default=True, help="Replica number.")
@click.argument("service")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@pass_globals
def exec_cmd(g: Globals, no_tty: bool, user: str | None, workdir: str | None,
             env: tuple[str, ...], index: int, service: str, command: tuple[str, ...]) -> None:
    """Run a command in a running container of SERVICE; its exit code is passed through."""
    from stackup.app import containers

    name = _project_name(g, (service,))
    matches = [c for c in containers(name, g.engine(), services=(service,)) if c.number == index]
    if not matches or not matches[0].running:
        raise ProjectError(f"service {service} has no running container number {index}",
                           detail="Run `stackup up` first, or `stackup ps -a` to see its state.")
    target = matches[0]
    interactive = not no_tty and sys.stdin.isatty() and sys.stdout.isatty()
    if interactive and shutil.which("docker"):
        args = ["docker", "exec", "-it"]
        for flag, value in (("-u", user), ("-w", workdir)):
            if value:
                args += [flag, value]
        for item in env:
            args += ["-e", item]
        os.execvp("docker", [*args, target.container_id, *command])
    environment = dict(item.partition("=")[::2] for item in env)
    result = g.engine().exec(target.container_id, list(command), tty=False, user=user,
                             workdir=workdir, environment=environment or None)
    sys.stdout.buffer.write(result.output)
    sys.stdout.flush()
    sys.exit(result.exit_code)
