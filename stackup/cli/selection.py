"""What a command acts on: the project (from the stack file, or only its name with ``-p`` and no
file), its containers, and the docker-style table the commands print.

Pipeline position: CLI helpers shared by ps, kill, pause, top, port, cp, wait, stats, events,
volumes. Containers come from one ownership-filtered observe of the project (label filter).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, TypeVar

from stackup.cli.context import Globals
from stackup.core.errors import ProjectError, StackupError

if TYPE_CHECKING:
    from stackup.core.model import Project
    from stackup.core.observed import ObservedContainer

T = TypeVar("T")


def load_or_name(g: Globals, services: Sequence[str] = ()) -> tuple[Project | None, str]:
    """The project from its stack file; with ``-p NAME`` and no stack file, only its name (the
    engine's labels then say what the project has), as Compose allows."""
    try:
        project = g.load(tuple(services)).project
    except ProjectError as error:
        if g.project_name and not g.files and error.summary.startswith("no stack file found"):
            return None, g.project_name
        raise
    if services:
        from stackup.app.containers import check_services

        check_services(project, services)
    return project, project.name


def containers(g: Globals, services: Sequence[str] = (), *, index: int | None = None,
               running: bool = False, oneoff: bool = False) -> tuple[str, list[ObservedContainer]]:
    """(project name, its containers of ``services`` (all when empty)), sorted by service and
    number; ``index`` picks one replica, ``running`` only running ones; one-off containers only
    with ``oneoff``."""
    from stackup.app.containers import containers as observed

    project, name = load_or_name(g, services)
    found = [c for c in observed(name, g.engine(), services=services)
             if (oneoff or not c.oneoff) and (index is None or c.number == index)
             and (not running or c.running)]
    if project is None and services:
        present = {c.service for c in found}
        missing = [s for s in services if s not in present]
        if missing:
            raise ProjectError(f"no such service: {missing[0]}",
                               detail=f"Project {name} has no containers of {missing[0]}.")
    return name, found


def one_container(g: Globals, service: str, index: int | None,
                  *, running: bool = False) -> tuple[str, ObservedContainer]:
    """The container of ``service`` number ``index`` (default: the first), for port, cp, top."""
    name, found = containers(g, (service,), running=running)
    if index is not None:
        found = [c for c in found if c.number == index]
    if not found:
        which = f" number {index}" if index is not None else ""
        state = "running " if running else ""
        raise ProjectError(f"service {service} has no {state}container{which}",
                           detail="Run `stackup up` first, or `stackup ps -a` to see its state.")
    return name, found[0]


def each(items: Iterable[T], action: Callable[[T], None],
         parallel: int) -> list[tuple[T, StackupError]]:
    """Run ``action`` on every item, ``parallel`` at once; the failures, in item order."""
    items = list(items)
    failures: dict[int, StackupError] = {}

    def run(pair: tuple[int, T]) -> None:
        try:
            action(pair[1])
        except StackupError as error:
            failures[pair[0]] = error

    if len(items) <= 1:
        for pair in enumerate(items):
            run(pair)
    else:  # `ps` imports this module: concurrent.futures (and logging) only when needed
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(items)))) as pool:
            list(pool.map(run, enumerate(items)))
    return [(items[i], failures[i]) for i in sorted(failures)]


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Columns as the docker CLI aligns them (tabwriter: min width 10, padding 3)."""
    body = [list(headers)] + [list(r) for r in rows]
    widths = [max(10, max(len(r[i]) for r in body) + 3) for i in range(len(headers))]
    lines = []
    for row in body:
        cells = [cell.ljust(widths[i]) if i < len(row) - 1 else cell
                 for i, cell in enumerate(row)]
        lines.append("".join(cells).rstrip())
    return "\n".join(lines) + "\n"
