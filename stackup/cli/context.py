"""What every command shares: the global options (``Globals``), loading the stack files, the
engine connection, the project lock.

Pipeline position: the CLI, below the root group (``cli.main``) and beside the command modules,
which import it; it imports neither. ``main`` fills a ``Globals`` from the global options and
click hands it to each command (``@pass_globals``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from stackup.core.errors import LockHeld, StackupError

if TYPE_CHECKING:
    from stackup.cli.targets import Target
    from stackup.ports.engine import Engine
    from stackup.app.locking import ProjectLock
    from stackup.ports.lock import LockHolder
    from stackup.loader.loader import Loaded, LoadOptions
    from stackup.core.model import Project


@dataclass(slots=True)
class Globals:
    files: tuple[str, ...] = ()
    project_name: str | None = None
    project_directory: str | None = None
    env_files: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    parallel: int = 16
    progress: str = "auto"
    lock_timeout: float = 300.0
    debug: bool = False
    target: str = "engine"  # --target: "engine" (one engine's containers) or "swarm"
    dry_run: bool = False  # --dry-run: plan and walk the plan, change nothing
    all_resources: bool = False  # --all-resources: unused networks and volumes are made too
    _engine: Any = field(default=None, repr=False)
    _loaded_name: str | None = field(default=None, repr=False)
    _stdin: str | None = field(default=None, repr=False)  # `-f -`: read once, loaded as often
    # called with each project ``load`` loads (``up``'s attach flags name services to check)
    check_loaded: Callable[[Project], None] | None = field(default=None, repr=False)

    def load_options(self, services: tuple[str, ...] = (), **more: Any) -> LoadOptions:
        """The loader's options from the global options (``more``: e.g. interpolate=False)."""
        from stackup.loader.loader import LoadOptions

        if "-" in self.files and self._stdin is None:
            self._stdin = sys.stdin.read()
        stdin = self._stdin if "-" in self.files else None
        return LoadOptions(
            files=self.files, project_name=self.project_name,
            project_directory=self.project_directory, env_files=self.env_files,
            profiles=self.profiles, services=services, environ=dict(os.environ),
            stdin=stdin, cwd=os.getcwd(), **more)

    def load(self, services: tuple[str, ...] = (), **more: Any) -> Loaded:
        """Load the stack files the way the global options say; warnings go to stderr."""
        from stackup.loader.loader import load_project

        loaded = load_project(self.load_options(services, **more))
        for warning in loaded.warnings:
            click.echo(f"warning: {warning}", err=True)
        self._loaded_name = loaded.project.name
        if self.check_loaded is not None:
            self.check_loaded(loaded.project)
        return loaded

    def deploy_target(self) -> Target:
        """What runs the stack (``--target``): its module of the target-dependent commands."""
        from stackup.cli.targets import target_of

        return target_of(self.target)

    def engine(self) -> Engine:
        if self._engine is None:
            from stackup.app.wiring import connect

            self._engine = connect(dry_run=self.dry_run)
        return self._engine

    def show_tracebacks(self, failed: Iterable[tuple[object, BaseException]]) -> None:
        """With ``--debug``: the traceback of each failed operation that was a bug in stackup
        (an ``InternalError`` keeping its ``cause``), after the summary."""
        if not self.debug:
            return
        for op, error in failed:
            cause = getattr(error, "cause", None)
            if isinstance(cause, BaseException):
                click.echo(f"traceback of {getattr(op, 'subject', op)}:", err=True)
                import traceback

                traceback.print_exception(type(cause), cause, cause.__traceback__,
                                          file=sys.stderr)

    def _new_lock(self, command: str, name: str) -> ProjectLock:
        from stackup.app.locking import ProjectLock, lease_from

        def waiting(holder: LockHolder) -> None:
            click.echo(f"waiting for the lock of project {name}: held by {holder.describe()} "
                       f"(up to {self.lock_timeout:g} s, --lock-timeout)", err=True)

        def note(text: str) -> None:
            click.echo(f"note: {text}", err=True)

        def lost(text: str) -> None:
            click.echo(f"warning: {text}", err=True)

        return ProjectLock(self.engine().lock_store(),
                           name, f"stackup {command}", timeout=self.lock_timeout,
                           lease=lease_from(os.environ), on_wait=waiting, on_note=note,
                           on_lost=lost)

    @contextmanager
    def locked(self, command: str, project_name: str | None = None) -> Iterator[None]:
        """Hold the project's lock on the engine (one writer per project) for the block.

        The project is ``project_name``, else the one ``load`` loaded, else ``-p``, else the
        stack file's (loaded here). Waits up to
        ``--lock-timeout`` seconds for another run's lock, saying once who holds it; then
        ``LockHeld`` names the holder. A lock lost while held (``unlock --force``, or a takeover
        after the engine was unreachable for a whole lease) fails the command afterwards."""
        name = project_name or self._loaded_name or self.project_name or self.load().project.name
        lock = self._new_lock(command, name)
        lock.acquire()
        try:
            yield
        finally:
            try:
                lock.release()
            except StackupError as error:
                click.echo(f"warning: could not release the lock of project {name} (it goes "
                           f"stale by itself): {error.summary}", err=True)
        if lock.lost is not None:
            raise LockHeld(lock.lost, detail="Another run may have changed the project at the "
                                             "same time: check with `stackup plan`.")


pass_globals = click.make_pass_decorator(Globals)
