"""``run`` (a one-off container of a service) and ``attach`` (to a service's container).

Pipeline position: CLI over ``stackup.app.oneoff`` (dependencies, image, create) and the Engine's
streams (``cli/stdio.py`` pumps them). ``run`` exits with the container's exit code; its stdin
is forwarded (a TTY when stdin and stdout are terminals, unless ``-T``); Ctrl-C and other
signals are passed on to the container when there is no TTY (with one, the terminal's own keys
reach the container's TTY), as ``docker compose run`` does.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

import click

from stackup.cli import complete
from stackup.cli.cmd_inspect import tty_flags, wants_tty
from stackup.cli.context import Globals, pass_globals

if TYPE_CHECKING:
    from stackup.ports.engine import Engine
    from stackup.run.events import Event, Outcome
    from stackup.core.plan import Plan


@contextmanager
def _forward_signals(engine: Engine, project_name: str, container_id: str,
                     enabled: bool) -> Iterator[None]:
    """SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1/2 to stackup go to the container instead."""
    if not enabled:
        yield
        return
    names = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")

    def forward(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        # a handler must not block on the engine: one short kill call per signal, ends with it
        threading.Thread(target=_kill, args=(engine, project_name, container_id, name),
                         daemon=True).start()

    previous = {getattr(signal, n): signal.signal(getattr(signal, n), forward) for n in names}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _kill(engine: Engine, project_name: str, container_id: str, name: str) -> None:
    try:
        engine.kill_container(project_name, container_id, signal=name)
    except Exception:  # noqa: BLE001 - the container may just have exited
        pass


def _failed(g: Globals, result: tuple[Plan, Outcome] | None, verb: str) -> None:
    """Show the summary of a dependency/image plan that failed, and exit 1."""
    from stackup.cli.views.progress import Progress

    if result is None:
        return
    plan, outcome = result
    if not outcome.ok:
        Progress(g.progress).summary(plan, outcome, verb=verb)
        sys.exit(1)


def quiet_output(sink: Callable[[Event], None], kinds: Collection[str]) -> Callable[[Event], None]:
    """``--quiet-build`` / ``--quiet-pull``: the operations of ``kinds`` still show, their
    output lines (the build's steps, the pull's layers) do not."""
    if not kinds:
        return sink

    def quiet(event: Event) -> None:
        if event.phase == "output" and event.kind.value in kinds:
            return
        sink(event)

    return quiet


def quiet_kinds(quiet_build: bool, quiet_pull: bool) -> tuple[str, ...]:
    return (("build_image",) if quiet_build else ()) + (("pull_image",) if quiet_pull else ())


def _env_from_files(files: tuple[str, ...], given: Mapping[str, str]) -> dict[str, str]:
    """``--env-from-file``: each file's variables, under those of ``-e`` (which win, as in
    Compose); a relative path is relative to the current folder."""
    from stackup.loader.dotenv import parse_env_file

    out: dict[str, str] = {}
    for path in files:
        values = parse_env_file(path, {**os.environ, **out, **given})
        for key, value in values.items():
            if value is None:
                value = given.get(key, os.environ.get(key))
            if value is not None:
                out[key] = value
    return {**out, **given}


# Options end at SERVICE: what follows is the command's own (``run web ls -la``); an unknown
# option before SERVICE is a usage error naming it, never taken for the service.
@click.command("run", context_settings={"allow_interspersed_args": False})
@click.option("--rm", "remove", is_flag=True, help="Remove the container when it exits.")
@click.option("-d", "--detach", is_flag=True, help="Run in the background; print its id.")
@click.option("-e", "--env", "env", multiple=True, metavar="KEY[=VAL]",
              help="Set an environment variable (repeatable).")
@click.option("--env-from-file", "env_files", multiple=True, metavar="FILE",
              help="Set environment variables from a file (repeatable; -e wins).")
@click.option("-l", "--label", "--labels", "labels", multiple=True, metavar="KEY=VAL",
              help="Add or override a label (repeatable).")
@click.option("--entrypoint", help="Override the entrypoint (a command line, split as sh).")
@click.option("--cap-add", multiple=True, metavar="CAP", help="Add a Linux capability.")
@click.option("--cap-drop", multiple=True, metavar="CAP", help="Drop a Linux capability.")
@click.option("-p", "--publish", multiple=True, metavar="[IP:]HOST:CONTAINER",
              help="Publish a port (repeatable).")
@click.option("-P", "--service-ports", is_flag=True, help="Publish the service's own ports.")
@click.option("--no-deps", is_flag=True, help="Do not start the service's dependencies.")
@click.option("-v", "--volume", "--volumes", "volumes", multiple=True, metavar="SRC:DST[:OPTS]",
              help="Bind mount or volume (repeatable).")
@click.option("-w", "--workdir", help="Working directory inside the container.")
@click.option("-u", "--user", help="Run as this user (name or uid[:gid]).")
@click.option("-T", "--no-tty", "--no-TTY", "no_tty", is_flag=True,
              help="No TTY (by default one when stdin and stdout are terminals).")
@tty_flags
@click.option("--name", help="Container name (default <project>-<service>-run-<hex>).")
@click.option("--build", is_flag=True, help="Build the image first.")
@click.option("--pull", type=click.Choice(["always", "missing", "never", "policy"]),
              help="Pull the image: always, when missing, never, or as its pull_policy says "
                   "(policy, the default).")
@click.option("-q", "--quiet", is_flag=True,
              help="No progress output for the dependencies and the image.")
@click.option("--quiet-build", is_flag=True, help="Build without printing its output.")
@click.option("--quiet-pull", is_flag=True, help="Pull without printing progress.")
@click.option("--use-aliases", is_flag=True,
              help="Give the container the service's network aliases.")
@click.option("--remove-orphans", is_flag=True,
              help="Remove containers of services no longer in the file.")
@click.argument("service", shell_complete=complete.services)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@pass_globals
def run_cmd(g: Globals, remove: bool, detach: bool, env: tuple[str, ...],
            env_files: tuple[str, ...], labels: tuple[str, ...], entrypoint: str | None,
            cap_add: tuple[str, ...], cap_drop: tuple[str, ...], publish: tuple[str, ...],
            service_ports: bool, no_deps: bool, volumes: tuple[str, ...], workdir: str | None,
            user: str | None, no_tty: bool, interactive: bool, tty: bool, name: str | None,
            build: bool, pull: str | None, quiet: bool, quiet_build: bool, quiet_pull: bool,
            use_aliases: bool, remove_orphans: bool, service: str,
            command: tuple[str, ...]) -> None:
    """Run a one-off command in a new container of SERVICE (its dependencies first); the
    container's exit code is passed through."""
    import shlex

    from stackup.app import containers as app
    from stackup.app import oneoff
    from stackup.cli.views.progress import Progress
    from stackup.cli.stdio import pump
    from stackup.core.model import FrozenMap

    if publish and service_ports:
        raise click.UsageError("--service-ports and --publish cannot be used together")
    if pull == "policy":
        pull = None
    loaded = g.load((service,))
    project = loaded.project
    app.check_services(project, [service])
    if service not in project.services:
        raise click.UsageError(f"service {service} is not enabled (check its profiles)")
    use_tty = not detach and wants_tty(no_tty)
    try:
        entry = tuple(shlex.split(entrypoint)) if entrypoint is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--entrypoint") from None
    environment = oneoff.parse_environment(env, os.environ)
    if env_files:
        environment = FrozenMap(_env_from_files(env_files, environment))
    options = oneoff.OneoffOptions(
        command=tuple(command) or None, entrypoint=entry, environment=environment,
        labels=oneoff.parse_labels(labels), publish=oneoff.parse_publish(publish),
        service_ports=service_ports, volumes=oneoff.parse_volumes(volumes, project),
        workdir=workdir, user=user, tty=use_tty, interactive=True, detach=detach,
        remove=remove, use_aliases=use_aliases, cap_add=cap_add, cap_drop=cap_drop)
    engine = g.engine()
    progress = Progress("quiet" if quiet else g.progress)
    on_event = quiet_output(progress.on_event, quiet_kinds(quiet_build, quiet_pull))
    run = app.RunOptions(parallel=g.parallel)
    # The dependencies' `up` and the image build or pull change the project: under its lock,
    # as `up` is. The one-off container itself is not the project's converged state (Compose
    # labels it oneoff) and its session may last hours: it runs after the lock is released.
    with g.locked("run"):
        if not no_deps:
            _failed(g, oneoff.start_dependencies(project, engine, service, build=build,
                                                 pull=pull, remove_orphans=remove_orphans,
                                                 run=run, on_event=on_event,
                                                 tree=loaded.tree), "run")
        _failed(g, oneoff.ensure_resources(project, engine, service, run=run,
                                           on_event=on_event), "run")
        _failed(g, oneoff.ensure_image(project, engine, service, build=build, pull=pull,
                                       run=run, on_event=on_event), "run")
    if not no_deps:
        oneoff.wait_dependencies(project, engine, service, timeout=run.wait_timeout)
    container_id, _ = oneoff.create(project, engine, service, options, name=name)
    if detach:
        engine.start_container(project.name, container_id)
        click.echo(container_id)
        return
    watch = engine.watch_exit(container_id, removed=remove)
    session = engine.attach_container(container_id, stdin=True, watch=watch)
    engine.start_container(project.name, container_id)
    with _forward_signals(engine, project.name, container_id, enabled=not use_tty):
        code = pump(session)
    sys.exit(code)


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
    from stackup.cli.cmd_inspect import running_container
    from stackup.cli.stdio import pump

    project_name, target = running_container(g, service, index)
    engine = g.engine()
    session = engine.attach_container(target.container_id, stdin=not no_stdin,
                                      detach_keys=detach_keys)
    with _forward_signals(engine, project_name, target.container_id,
                          enabled=sig_proxy and not session.tty):
        code = pump(session, stdin=not no_stdin)
    sys.exit(code)
