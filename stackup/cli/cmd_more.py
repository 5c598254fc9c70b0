"""``kill``, ``pause``, ``unpause``, ``top``, ``port``, ``wait``, ``volumes``, ``version``: the
smaller commands on a project's existing containers.

Pipeline position: CLI over one ownership-filtered observe (``cli.target``) and single engine
calls (``adapters/docker/extra``); they change no configuration, so they need no plan. Each works
with ``-p NAME`` and no stack file, as in Compose.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import TYPE_CHECKING

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals
from stackup.cli.selection import containers, each, load_or_name, one_container, table
from stackup.core.errors import ProjectError

if TYPE_CHECKING:
    from stackup.core.observed import ObservedContainer


def _report(g: Globals, verb: str, name: str) -> None:
    if g.progress == "json":
        from stackup.run.events import rfc3339

        click.echo(json.dumps({"time": rfc3339(), "action": verb, "name": name,
                               "phase": "done"}), err=True)
    elif g.progress != "quiet":
        click.echo(f" {'done':<7} {verb:<14} {name}", err=True)


def _act(g: Globals, verb: str, services: tuple[str, ...], states: tuple[str, ...],
         call: str, *, orphans: bool = True, **kwargs: object) -> None:
    """Run one engine call on each container of ``services`` in one of ``states``;
    ``orphans`` False: not on containers of services the stack file no longer has."""
    name, found = containers(g, services)
    if not orphans:
        project = load_or_name(g, services)[0]
        if project is not None:
            known = {*project.services, *project.disabled_services}
            found = [c for c in found if c.service in known]
    targets = [c for c in found if c.state in states]
    if not targets:
        click.echo(f"No {' or '.join(states)} containers to {verb} in project {name}.", err=True)
        return
    engine = g.engine()

    def act(container: ObservedContainer) -> None:
        getattr(engine, call)(name, container.container_id, **kwargs)
        _report(g, verb, container.name)

    failures = each(targets, act, g.parallel)
    for container, error in failures:
        text = str(error).replace("\n", "\n    ")
        click.echo(f"error: service {container.service}: {verb} {container.name}: {text}",
                   err=True)
    if failures:
        sys.exit(1)


@click.command("kill")
@click.option("-s", "--signal", "signal_name", default="SIGKILL", show_default=True,
              help="Signal to send (name or number).")
@click.option("--remove-orphans", is_flag=True, envvar="COMPOSE_REMOVE_ORPHANS",
              help="Also kill the containers of services no longer in the file (as Compose, "
                   "which names the flag so: they are killed, not removed).")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def kill_cmd(g: Globals, signal_name: str, remove_orphans: bool,
             services: tuple[str, ...]) -> None:
    """Send a signal to the running containers of SERVICE(s) (all when none)."""
    with g.locked("kill"):
        _act(g, "kill", services, ("running", "restarting", "paused"), "kill_container",
             orphans=remove_orphans, signal=signal_name)


@click.command("pause")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def pause_cmd(g: Globals, services: tuple[str, ...]) -> None:
    """Pause the running containers of SERVICE(s) (all when none)."""
    with g.locked("pause"):
        _act(g, "pause", services, ("running", "restarting"), "pause_container")


@click.command("unpause")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def unpause_cmd(g: Globals, services: tuple[str, ...]) -> None:
    """Resume the paused containers of SERVICE(s) (all when none)."""
    with g.locked("unpause"):
        _act(g, "unpause", services, ("paused",), "unpause_container")


@click.command("top")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def top_cmd(g: Globals, services: tuple[str, ...]) -> None:
    """Show the processes running in each container of SERVICE(s) (all when none)."""
    _, found = containers(g, services, running=True)
    engine = g.engine()
    for container in found:
        titles, processes = engine.top(container.container_id)
        click.echo(container.name)
        click.echo(table(titles, processes))


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


@click.command("wait")
@click.option("--down-project", is_flag=True, help="Take the project down once they stopped.")
@click.argument("services", nargs=-1, required=True,
                shell_complete=complete.services)
@pass_globals
def wait_cmd(g: Globals, down_project: bool, services: tuple[str, ...]) -> None:
    """Block until every container of SERVICE(s) has stopped; exit with the last exit code."""
    name, found = containers(g, services)
    if not found:
        raise ProjectError(f"no containers for project {name}",
                           detail="Run `stackup up` first, or `stackup ps -a` to see them.")
    engine = g.engine()
    lock = threading.Lock()
    codes: list[int] = []

    def wait(container: ObservedContainer) -> None:
        code = engine.wait_container(container.container_id)
        with lock:
            codes.append(code)
            click.echo(f"container {container.name} exited with status code {code}")

    failures = each(found, wait, max(len(found), 1))
    for container, error in failures:
        click.echo(f"error: {container.name}: {error}", err=True)
    if failures:
        sys.exit(1)
    if down_project:
        from stackup.app import containers as app
        from stackup.cli.views.progress import Progress

        project, _ = load_or_name(g)
        progress = Progress(g.progress)
        with g.locked("down", name):
            plan, outcome = app.down(project, name, engine, remove_volumes=False,
                                     remove_orphans=True, timeout=None,
                                     run=app.RunOptions(parallel=g.parallel),
                                     on_event=progress.on_event)
        progress.summary(plan, outcome, verb="down")
    sys.exit(codes[-1] if codes else 0)


@click.command("volumes")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Only volume names.")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def volumes_cmd(g: Globals, fmt: str, quiet: bool, services: tuple[str, ...]) -> None:
    """List the project's volumes (those SERVICE(s) mount, when named)."""
    project, name = load_or_name(g, services)
    observed = g.engine().observe(name)
    wanted = None
    if project is not None and services:
        keys = {m.source for s in services for m in project.services[s].volumes
                if m.type == "volume" and m.source}
        wanted = {project.volumes[k].name for k in keys if k in project.volumes}
    rows = [v for n, v in sorted(observed.volumes.items()) if wanted is None or n in wanted]
    if quiet:
        click.echo("".join(f"{v.name}\n" for v in rows), nl=False)
    elif fmt == "json":
        for v in rows:
            click.echo(json.dumps({"Driver": v.driver, "Labels": ",".join(
                f"{k}={val}" for k, val in sorted(v.labels.items())), "Name": v.name,
                "Scope": "local"}))
    else:
        click.echo(table(["DRIVER", "VOLUME NAME"], [[v.driver, v.name] for v in rows]),
                   nl=False)


@click.command("version")
@click.option("--short", is_flag=True, help="Only the version number.")
@click.option("-f", "--format", "fmt", type=click.Choice(["pretty", "json"]), default="pretty",
              show_default=True)
def version_cmd(short: bool, fmt: str) -> None:
    """Show stackup's version."""
    from stackup import __version__

    if short:
        click.echo(__version__)
    elif fmt == "json":
        click.echo(json.dumps({"version": __version__}))
    else:
        click.echo(f"stackup version {__version__}")
