"""Carry out one batch of ``stackup watch`` actions (``app.devwatch.Actions``) on the engine.

Pipeline position: the acting half of the watch use case; ``app.devwatch`` decided, this
copies files into the service's running containers through the engine's archive endpoint
(the one ``cp`` uses), removes deleted ones with ``rm -rf`` run in the container (as Compose
does), restarts containers, runs ``sync+exec`` commands, and rebuilds: the normal ``up`` use
case with ``build`` for exactly the services that run a rebuilt image. Blocking calls: the CLI
runs them in an anyio worker thread.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field

from stackup.app.devwatch import Actions, Copy, rule_applies
from stackup.core.errors import EngineError, StackupError
from stackup.core.model import Project
from stackup.core.observed import ObservedContainer
from stackup.ports.engine import Engine

Say = Callable[[str, str], None]  # (service, what happened)


@dataclass(slots=True)
class Report:
    """What a batch did: one line per step, and the steps that failed."""

    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def running(engine: Engine, project_name: str, service: str) -> list[ObservedContainer]:
    """The service's running containers (not one-offs), by number."""
    observed = engine.observe(project_name)
    return sorted((c for c in observed.containers
                   if c.service == service and c.running and not c.oneoff),
                  key=lambda c: c.number)


def tar_of(host_path: str, container_path: str,
           keep: Callable[[str], bool] = lambda _path: True) -> bytes:
    """A tar to extract at ``/``: ``host_path`` (a file, or a folder and what it holds that
    ``keep`` accepts) under ``container_path``. Missing parent folders are made by the engine."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        name = container_path.lstrip("/")
        if os.path.isdir(host_path) and not os.path.islink(host_path):
            archive.add(host_path, arcname=name, recursive=False)
            for root, dirs, files in os.walk(host_path):
                dirs[:] = sorted(d for d in dirs if keep(os.path.join(root, d)))
                for entry in [*dirs, *sorted(files)]:
                    full = os.path.join(root, entry)
                    if entry in files and not keep(full):
                        continue
                    rel = os.path.relpath(full, host_path).replace(os.sep, "/")
                    archive.add(full, arcname=f"{name}/{rel}", recursive=False)
        else:
            archive.add(host_path, arcname=name, recursive=False)
    return buffer.getvalue()


def apply(project: Project, engine: Engine, actions: Actions, *,
          rebuild: Callable[[tuple[str, ...]], None], say: Say) -> Report:
    """Copies and removals, then restarts and commands, then the rebuild; each step said as
    it happened. ``rebuild``: runs ``up`` with build for the services named (the CLI's, as it
    holds the lock and shows the progress)."""
    report = Report()
    ids: dict[str, list[ObservedContainer]] = {}

    def containers(service: str) -> list[ObservedContainer]:
        if service not in ids:
            ids[service] = running(engine, project.name, service)
            if not ids[service]:
                say(service, "no running container: nothing synced, restarted or run")
        return ids[service]

    def step(service: str, text: str, action: Callable[..., object], *args: object) -> None:
        try:
            action(*args)
        except StackupError as error:
            line = f"{text}: {error}"
            report.failed.append(f"{service}: {line}")
            say(service, f"failed to {line}")
        else:
            report.done.append(f"{service}: {text}")
            say(service, text)

    for copy in actions.copies:
        for c in containers(copy.service):
            if os.path.lexists(copy.host_path):
                step(copy.service, f"synced {_short(project, copy.host_path)} → "
                                   f"{c.name}:{copy.container_path}",
                     _put, engine, project.name, c, copy)
            else:  # gone since the change was seen
                step(copy.service, f"removed {c.name}:{copy.container_path}",
                     _remove, engine, c, copy.container_path)
    for removal in actions.removals:
        for c in containers(removal.service):
            step(removal.service, f"removed {c.name}:{removal.container_path}",
                 _remove, engine, c, removal.container_path)
    for service in actions.restarts:
        for c in containers(service):
            step(service, f"restarted {c.name}", engine.restart_container, project.name,
                 c.container_id)
    for service, hook in actions.execs:
        for c in containers(service):
            step(service, f"ran {' '.join(hook.command)} in {c.name}", _exec, engine, c,
                 hook.command, hook.user, hook.working_dir, dict(hook.environment))
    if actions.rebuilds:
        step(", ".join(actions.rebuilds),
             f"rebuilt and recreated {', '.join(actions.recreates)}", rebuild,
             actions.recreates)
    return report


def _short(project: Project, path: str) -> str:
    rel = os.path.relpath(path, project.working_dir)
    return path if rel.startswith("..") else rel


def _put(engine: Engine, project_name: str, container: ObservedContainer, copy: Copy) -> None:
    def keep(path: str) -> bool:
        return copy.rule is None or rule_applies(copy.rule, path) is not None

    engine.put_archive(project_name, container.container_id, "/",
                       tar_of(copy.host_path, copy.container_path, keep))


def _remove(engine: Engine, container: ObservedContainer, path: str) -> None:
    _exec(engine, container, ("rm", "-rf", "--", path), None, None, {})


def _exec(engine: Engine, container: ObservedContainer, command: tuple[str, ...],
          user: str | None, workdir: str | None, environment: dict[str, str]) -> None:
    result = engine.exec(container.container_id, list(command), user=user, workdir=workdir,
                         environment=environment or None)
    if result.exit_code != 0:
        output = result.output.decode("utf-8", "replace").strip()
        raise EngineError(f"exit code {result.exit_code}" + (f" ({output})" if output else ""))
