"""``stackup watch [SERVICES] [--no-up] [--prune] [--quiet]``: Compose's development loop.

Pipeline position: CLI over ``app.devwatch`` (a batch of file changes + the ``develop.watch``
rules → actions, pure) and ``app.devwatch_sync`` (those actions on the engine). First ``up``
(unless ``--no-up``), then the rules' paths are watched with ``watchfiles`` on one anyio event
loop; changes are gathered until none came for ``QUIET_MS`` (Compose waits for a quiet period
too), then handled as one batch in a worker thread. ``up --watch`` runs the same loop after its
``up``. SIGINT or SIGTERM ends the loop after the batch in progress: exit 130 (143 for
SIGTERM) with ``interrupted``, as Compose exits 130 when cancelled.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import TYPE_CHECKING

import click

from stackup.cli import complete
from stackup.cli.context import Globals, pass_globals

if TYPE_CHECKING:
    from collections.abc import Callable

    from stackup.app.devwatch import Actions
    from stackup.cli.views.progress import Progress
    from stackup.run.events import Event
    from stackup.core.model import Project
    from stackup.ports.engine import Engine

QUIET_MS = 300  # a batch ends when no change came for this long
MAX_BATCH_MS = 3000  # ... or when it has been gathering this long


def _say(service: str, text: str) -> None:
    click.echo(f"{service}: {text}")
    sys.stdout.flush()


def _dockerignore(project: Project, services: tuple[str, ...]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Service → (its local build context, its ``.dockerignore`` patterns), for rebuild rules."""
    out = {}
    for name, service in project.services.items():
        build = service.build
        if build is None or (services and name not in services) or \
                "://" in (build.context or ""):
            continue
        try:
            with open(os.path.join(build.context, ".dockerignore"), encoding="utf-8") as handle:
                patterns = tuple(line.strip() for line in handle if line.strip()
                                 and not line.lstrip().startswith("#"))
        except OSError:
            continue
        out[name] = (build.context, patterns)
    return out


def _roots(paths: list[str]) -> list[str]:
    """What to give the file watcher: each existing folder, a file's folder (editors replace
    files, which ends a watch on the file itself), without folders inside another."""
    roots = set()
    for path in paths:
        folder = path if os.path.isdir(path) else os.path.dirname(path)
        while folder and not os.path.isdir(folder):
            folder = os.path.dirname(folder)
        roots.add(folder)
    return sorted(r for r in roots
                  if not any(r != o and r.startswith(o.rstrip(os.sep) + os.sep) for o in roots))


class DevWatch:
    """One ``stackup watch`` run: the project, its engine, and the batches."""

    def __init__(self, g: Globals, project: Project, services: tuple[str, ...], *,
                 prune: bool, quiet: bool) -> None:
        self.g, self.project, self.services = g, project, services
        self.prune, self.quiet = prune, quiet
        self.engine: Engine = g.engine()
        self.stopped_by: str | None = None
        self.failures = 0

    def up(self) -> None:
        """``up -d`` of the watched services (their dependencies too), as ``up`` does it."""
        from stackup.app import containers as app
        from stackup.cli.cmd_history import after_up
        from stackup.cli.plan_options import finish, up_options
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

        report = apply(self.project, self.engine, actions, rebuild=self.rebuild, say=_say)
        self.failures += len(report.failed)

    async def loop(self) -> None:
        import anyio
        import watchfiles

        from stackup.app.devwatch import DELETED, decide, watched_paths

        paths = watched_paths(self.project, self.services)
        ignore = _dockerignore(self.project, self.services)
        stop = anyio.Event()
        kinds = {watchfiles.Change.added: "added", watchfiles.Change.modified: "modified",
                 watchfiles.Change.deleted: DELETED}

        async def signals() -> None:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
                async for signum in received:
                    self.stopped_by = signal.Signals(signum).name
                    stop.set()
                    return

        async with anyio.create_task_group() as group:
            group.start_soon(signals)
            click.echo(f"watching {', '.join(_short(self.project, p) for p in paths)} "
                       f"(Ctrl-C to stop)")
            sys.stdout.flush()
            async for changes in watchfiles.awatch(
                    *_roots(paths), stop_event=stop, debounce=MAX_BATCH_MS, step=QUIET_MS,
                    watch_filter=watchfiles.DefaultFilter(), recursive=True):
                batch = sorted((kinds[kind], path) for kind, path in changes)
                actions = decide(self.project, batch, services=self.services,
                                 dockerignore=ignore)
                if actions.empty:
                    continue
                await anyio.to_thread.run_sync(self.handle, actions)
            group.cancel_scope.cancel()


def _short(project: Project, path: str) -> str:
    rel = os.path.relpath(path, project.working_dir)
    return path if rel.startswith("..") else rel


def run_watch(g: Globals, services: tuple[str, ...], *, up: bool, prune: bool = True,
              quiet: bool = False, project: Project | None = None) -> None:
    """The whole command: ``up`` unless told not to, the initial syncs, then the loop until a
    signal. ``project``: already loaded (``up --watch``)."""
    import anyio

    from stackup.app.devwatch import initial_syncs, services_with_rules
    from stackup.app.containers import check_services
    from stackup.core.errors import ProjectError

    if project is None:
        project = g.load(services).project
    check_services(project, services)
    ruled = [s.name for s in services_with_rules(project)
             if not services or s.name in services]
    if not ruled:
        raise ProjectError("none of the selected services has develop.watch rules",
                           detail="Add a 'develop: {watch: [...]}' section to a service.")
    session = DevWatch(g, project, tuple(services), prune=prune, quiet=quiet)
    if up:
        session.up()
    first = initial_syncs(project, session.services)
    if first.copies:
        session.handle(first)
    anyio.run(session.loop)
    if session.stopped_by is not None:
        code = 130 if session.stopped_by == "SIGINT" else 143
        click.echo(f"interrupted ({session.stopped_by}): watch stopped", err=True)
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
