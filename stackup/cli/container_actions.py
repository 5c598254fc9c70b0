"""What ``kill``, ``pause`` and ``unpause`` share: one action on each of the project's
containers in the given states, reported as Compose does."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from stackup.cli.context import Globals
from stackup.cli.selection import containers, each, load_or_name

if TYPE_CHECKING:
    from stackup.core.observed import ObservedContainer


def _report(g: Globals, verb: str, name: str) -> None:
    if g.progress == "json":
        from stackup.run.events import rfc3339

        click.echo(json.dumps({"time": rfc3339(), "action": verb, "name": name,
                               "phase": "done"}), err=True)
    elif g.progress != "quiet":
        click.echo(f" {'done':<7} {verb:<14} {name}", err=True)


def act(g: Globals, verb: str, services: tuple[str, ...], states: tuple[str, ...],
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


