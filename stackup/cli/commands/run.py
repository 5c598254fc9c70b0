"""``stackup run``: run a one-off command in a new container of SERVICE (its dependencies first);
the container's exit code is passed through."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.naming import tty_flags, wants_tty
from stackup.cli.signals import forward_signals, quiet_output

if TYPE_CHECKING:
    from stackup.core.plan import Plan
    from stackup.run.events import Outcome


def _failed(g: Globals, result: tuple[Plan, Outcome] | None, verb: str) -> None:
    """Show the summary of a dependency/image plan that failed, and exit 1."""
    from stackup.cli.views.progress import Progress

    if result is None:
        return
    plan, outcome = result
    if not outcome.ok:
        Progress(g.progress).summary(plan, outcome, verb=verb)
        sys.exit(1)


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
    from stackup.cli.stdio import pump
    from stackup.cli.views.progress import Progress
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
    with forward_signals(engine, project.name, container_id, enabled=not use_tty):
        code = pump(session)
    sys.exit(code)
