"""The attached session of ``up`` (see ``cli.attach``): one thread per attached container
follows its output and waits for its exit; the main thread prints and decides when to stop.

Pipeline position: the CLI, after ``app.up``; created by ``AttachOptions.follow``.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from typing import TYPE_CHECKING, Any

import click

from stackup.cli.views.logprint import LogPrinter, split_lines, use_color
from stackup.core.errors import EngineError

if TYPE_CHECKING:
    from stackup.cli.attach import AttachOptions
    from stackup.cli.context import Globals
    from stackup.ports.engine import Engine
    from stackup.core.model import Project
    from stackup.core.observed import ObservedContainer
    from stackup.reconcile import UpOptions


def _label(c: ObservedContainer) -> str:
    return f"{c.service}-{c.number}"


class Session:
    """One attached ``up``: reader threads feed ``events``; the main thread prints and
    decides (abort, Ctrl-C, done)."""

    def __init__(self, opts: AttachOptions, g: Globals, project: Project, engine: Engine,
                 options: UpOptions) -> None:
        self.opts, self.g, self.project, self.engine, self.options = (
            opts, g, project, engine, options)
        self.events: queue.Queue[tuple[str, ObservedContainer, Any]] = queue.Queue()
        self.interrupts = 0
        self.stopping: threading.Thread | None = None

    # --- who is attached, who is watched ----------------------------------------------------
    def _services(self) -> tuple[set[str], set[str]]:
        """(attached services, watched services) as Compose picks them."""
        from stackup.reconcile._select import with_dependencies

        named = set(self.options.services)
        if self.opts.attach:
            attached = set(self.opts.attach)
        elif named and self.opts.attach_dependencies:
            attached = with_dependencies(self.project, named)
        else:
            attached = named or set(self.project.services)
        if not self.opts.attach:  # `attach: false` in the file: not streamed unless --attach
            attached -= {s.name for s in self.project.services.values() if not s.attach}
        attached -= set(self.opts.no_attach)
        watched = set(named or attached)
        if self.opts.exit_code_from:
            watched.add(self.opts.exit_code_from)
        return attached, watched

    def run(self) -> int:
        from stackup.app.containers import containers

        attached, watched = self._services()
        found = [c for c in containers(self.project.name, self.engine)
                 if not c.oneoff and c.state != "created"
                 and (c.service in attached or c.service in watched)]
        shown = [c for c in found if c.service in attached]
        pending = {c.container_id for c in found if c.service in watched}
        if not pending:
            return 0
        self.printer = LogPrinter([(_label(c), c.service) for c in shown],
                                  color=use_color(self.opts.no_color),
                                  prefix=not self.opts.no_log_prefix)
        if shown:
            click.echo(f"Attaching to {', '.join(_label(c) for c in shown)}")
        for c in found:
            # one reader per container: its log stream, then its exit; ends when it exits
            threading.Thread(target=self._watch, args=(c, c.service in attached,
                                                       c.container_id in pending),
                             daemon=True).start()
        previous = {s: signal.signal(s, self._interrupted) for s in (signal.SIGINT,
                                                                    signal.SIGTERM)}
        try:
            return self._loop(pending)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _interrupted(self, _signum: int, _frame: object) -> None:
        self.interrupts += 1  # acted on by the main loop (a handler must not take locks)

    # --- reader threads -----------------------------------------------------------------------
    def _watch(self, c: ObservedContainer, show: bool, watch: bool) -> None:
        since = self.opts.started
        try:
            while True:
                if show:
                    try:
                        stream = self.engine.logs(c.container_id, follow=True, since=since,
                                                  timestamps=self.opts.timestamps)
                        for batch in split_lines(stream):
                            self.events.put(("lines", c, batch))
                    except EngineError as exc:  # e.g. logging driver none: still wait for it
                        self.events.put(("warning", c, exc))
                        show = False
                if not watch:
                    return
                code = self.engine.wait_container(c.container_id)
                since = time.time()
                if self.stopping is None and self._restarting(c):
                    self.events.put(("restart", c, code))
                    continue
                self.events.put(("exit", c, code))
                return
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            self.events.put(("error", c, exc))

    def _restarting(self, c: ObservedContainer) -> bool:
        try:
            return self.engine.inspect_container(c.container_id).state in ("restarting",
                                                                           "running")
        except Exception:  # noqa: BLE001 - gone: not restarting
            return False

    # --- the main thread ------------------------------------------------------------------------
    def _loop(self, pending: set[str]) -> int:
        exit_code: int | None = None
        code_from_seen = False
        handled = 0
        stopped_at: float | None = None
        while pending:
            if self.interrupts > handled:
                handled = self.interrupts
                if handled == 1:
                    click.echo("Gracefully stopping... (press Ctrl+C again to force)", err=True)
                    self._stop()
                else:
                    click.echo("Killing...", err=True)
                    self._stop(kill=True)
            if self.stopping is not None and not self.stopping.is_alive():
                stopped_at = stopped_at or time.monotonic()
                if time.monotonic() - stopped_at > 3:
                    break  # the stop is done: do not wait for containers outside it
            try:
                kind, c, value = self.events.get(timeout=0.1)
            except queue.Empty:
                continue
            if kind == "lines":
                self.printer.lines(_label(c), value)
            elif kind == "restart":
                self.printer.status(_label(c), f"exited with code {value} (restarting)")
            elif kind == "warning":
                click.echo(f"warning: {_label(c)}: {value}", err=True)
            elif kind == "error":
                pending.discard(c.container_id)
                click.echo(f"error: {_label(c)}: {value}", err=True)
            elif kind == "exit":
                pending.discard(c.container_id)
                self.printer.status(_label(c), f"exited with code {value}")
                if c.service == self.opts.exit_code_from and not code_from_seen:
                    code_from_seen, exit_code = True, value
                abort = self.opts.abort_on_exit or (self.opts.abort_on_failure and value)
                if abort and self.stopping is None:
                    if exit_code is None:
                        exit_code = value
                    click.echo("Aborting on container exit...")
                    self._stop()
        if self.stopping is not None:
            self.stopping.join()
        if handled:
            return 130
        return exit_code or 0

    def _stop(self, *, kill: bool = False) -> None:
        """Stop the services ``up`` was asked for (all when none named) in the background;
        ``kill``: at once (a second Ctrl-C)."""
        from stackup.app import containers as app
        from stackup.cli.views.progress import Progress

        mode = self.g.progress if self.g.progress in ("quiet", "json") else "plain"
        progress = Progress(mode)

        def stop() -> None:
            try:
                app.lifecycle("stop", self.project, self.engine,
                              services=tuple(self.options.services),
                              timeout=0 if kill else self.options.timeout,
                              run=app.RunOptions(parallel=self.g.parallel),
                              on_event=progress.on_event)
            except Exception as exc:  # noqa: BLE001 - the stop is best effort; say why
                click.echo(f"error: {exc}", err=True)

        # the stop runs while the main loop keeps printing and counting Ctrl-C; ends with it
        thread = threading.Thread(target=stop, daemon=True)
        thread.start()
        if self.stopping is None or kill:
            self.stopping = thread
