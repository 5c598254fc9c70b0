"""``stackup watch [SERVICES] [--no-up] [--prune] [--quiet]``: Compose's development loop.

Pipeline position: CLI over ``app.devwatch`` (a batch of file changes + the ``develop.watch``
rules → actions, pure) and ``app.devwatch_sync`` (those actions on the engine). First ``up``
(unless ``--no-up``), then ``app.devwatch_loop`` follows the rules' paths and hands each batch
of changes here. ``up --watch`` runs the same loop after its ``up``. SIGINT or SIGTERM ends the
loop after the batch in progress: exit 130 (143 for SIGTERM) with ``interrupted``, as Compose
exits 130 when cancelled.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals

if TYPE_CHECKING:
    from collections.abc import Callable

    from stackup.app.devwatch import Actions
    from stackup.cli.views.progress import Progress
    from stackup.core.model import Project
    from stackup.ports.engine import Engine
    from stackup.run.events import Event


def _say(service: str, text: str) -> None:
    click.echo(f"{service}: {text}")
    sys.stdout.flush()


class DevWatch:
    """One ``stackup watch`` run: the project, its engine, and the batches."""

    def __init__(self, g: Globals, project: Project, services: tuple[str, ...], *,
                 prune: bool, quiet: bool) -> None:
        self.g, self.project, self.services = g, project, services
        self.prune, self.quiet = prune, quiet
        self.engine: Engine = g.engine()

    def up(self) -> None:
        """``up -d`` of the watched services (their dependencies too), as ``up`` does it."""
        from stackup.app import containers as app
        from stackup.cli.plan_options import finish, up_options
        from stackup.cli.revision_records import after_up
        from stackup.cli.views.progress import Progress

        options = up_options(self.project, self.services, (), False, False, False, None)
        progress = Progress(self.g.progress)
        run = app.RunOptions(parallel=self.g.parallel)
        with self.g.locked("watch", self.project.name):
            plan, outcome = app.up(self.project, self.engine, options, run,
                                   self._sink(progress))
            after_up(self.g, self.project, self.services, plan, outcome, progress, False)
        finish(self.g, plan, outcome, progress, "up")

    def _sink(self, progress: Progress) -> Callable[[Event], None]:
        on_event = progress.on_event
        if not self.quiet:
            return on_event

        def quiet(event: Event) -> None:  # --quiet: build and pull output hidden
            if event.phase != "output":
                on_event(event)

        return quiet

    def rebuild(self, services: tuple[str, ...]) -> None:
        """Build the images and recreate exactly ``services`` (those running a rebuilt image),
        through the normal ``up`` use case; with ``--prune``, remove the images they ran
        before when nothing names them any more."""
        from stackup.app import containers as app
        from stackup.app.devwatch_sync import running
        from stackup.cli.views.progress import Progress
        from stackup.core.errors import StackupError
        from stackup.reconcile import UpOptions

        before = {c.image_id for name in services
                  for c in running(self.engine, self.project.name, name) if c.image_id}
        options = UpOptions(services=services, build=True, no_deps=True)
        progress = Progress(self.g.progress)
        with self.g.locked("watch", self.project.name):
            plan, outcome = app.up(self.project, self.engine, options,
                                   app.RunOptions(parallel=self.g.parallel),
                                   self._sink(progress))
        progress.summary(plan, outcome, verb="up")
        if not outcome.ok:
            raise StackupError("; ".join(f"{op.subject}: {error}" for op, error in
                                         outcome.failed) or "not every operation ran")
        if self.prune:
            self._prune(before)

    def _prune(self, image_ids: set[str]) -> None:
        """Remove the replaced images that no tag names now (dangling): the engine refuses
        one a container still uses, which is then kept."""
        from stackup.core.errors import StackupError

        details = self.engine.image_details(sorted(image_ids))
        for image_id, info in sorted(details.items()):
            if info.tags:
                continue
            try:
                if self.engine.remove_image(image_id):
                    _say("watch", f"removed the replaced image {image_id[:19]}")
            except StackupError:
                pass  # still used by a container: kept

    def handle(self, actions: Actions) -> None:
        from stackup.app.devwatch_sync import apply

        apply(self.project, self.engine, actions, rebuild=self.rebuild, say=_say)


def _short(project: Project, path: str) -> str:
    rel = os.path.relpath(path, project.working_dir)
    return path if rel.startswith("..") else rel


def run_watch(g: Globals, services: tuple[str, ...], *, up: bool, prune: bool = True,
              quiet: bool = False, project: Project | None = None) -> None:
    """The whole command: ``up`` unless told not to, the initial syncs, then the loop until a
    signal. ``project``: already loaded (``up --watch``)."""
    from stackup.app.containers import check_services
    from stackup.app.devwatch import initial_syncs, services_with_rules
    from stackup.app.devwatch_loop import follow
    from stackup.core.errors import ProjectError

    if project is None:
        project = g.load(services).project
    check_services(project, services)
    ruled = [s.name for s in services_with_rules(project)
             if not services or s.name in services]
    if not ruled:
        raise ProjectError("none of the selected services has develop.watch rules",
                           detail="Add a 'develop: {watch: [...]}' section to a service.")
    for name in ruled:
        develop = project.services[name].develop
        if project.services[name].build is None and develop is not None and \
                any(rule.action == "rebuild" for rule in develop.watch):
            raise ProjectError(f"service {name} has a 'rebuild' watch rule but no 'build' "
                               f"section", detail="A rebuild builds the service's image: add "
                               "'build:' or use another action.")
    session = DevWatch(g, project, tuple(services), prune=prune, quiet=quiet)
    if up:
        session.up()
    first = initial_syncs(project, session.services)
    if first.copies:
        session.handle(first)

    def ready(paths: list[str]) -> None:
        click.echo(f"watching {', '.join(_short(project, p) for p in paths)} (Ctrl-C to stop)")
        sys.stdout.flush()

    stopped_by = follow(project, session.services, session.handle, ready)
    if stopped_by is None:
        return
    code = 130 if stopped_by == "SIGINT" else 143
    click.echo(f"interrupted ({stopped_by}): watch stopped", err=True)
    sys.exit(code)


@click.command("watch")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@click.option("--no-up", is_flag=True, help="Do not build and start the services first.")
@click.option("--prune/--no-prune", default=True, show_default=True,
              help="After a rebuild, remove the image it replaced when no tag names it.")
@click.option("--quiet", is_flag=True, help="Hide build and pull output.")
@pass_globals
def watch_cmd(g: Globals, services: tuple[str, ...], no_up: bool, prune: bool,
              quiet: bool) -> None:
    """Keep services up to date as their files change: sync files into the containers,
    restart them, run a command, or rebuild, as each service's develop.watch says."""
    run_watch(g, services, up=not no_up, prune=prune, quiet=quiet)
