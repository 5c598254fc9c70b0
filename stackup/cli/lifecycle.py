"""What ``start``, ``stop``, ``restart`` and ``rm`` share: one lifecycle plan on the project's
containers (with ``-p NAME`` and no stack file, on the labelled ones)."""

from __future__ import annotations


from stackup.cli.context import Globals
from stackup.cli.plan_options import finish


def run_lifecycle(g: Globals, verb: str, services: tuple[str, ...], timeout: float | None,
               **options: bool) -> None:
    """Run start/stop/restart/rm; with -p NAME and no stack file, on the labelled containers."""
    from stackup.app import containers as app
    from stackup.cli.views.progress import Progress
    from stackup.cli.selection import load_or_name

    project, name = load_or_name(g, services)
    progress = Progress(g.progress)
    with g.locked(verb, name):
        plan, outcome = app.lifecycle(verb, project, g.engine(), services=services,
                                      timeout=timeout, run=app.RunOptions(parallel=g.parallel),
                                      on_event=progress.on_event, project_name=name, **options)
    finish(g, plan, outcome, progress, verb)


