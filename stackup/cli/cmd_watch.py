"""``stackup watch [--heal]``: report drift as it happens and, with ``--heal``, converge it.

Pipeline position: CLI over ``stackup.drift`` (what is drift, pure) and the engine's event
stream (``engine.docker.events``). One thread reads the stream into a queue; the main thread
classifies, re-reads the stack files when they change and every interval, compares them with
the engine (the plan ``up`` would run) and heals through ``stackup.app.up`` with exactly the
drifted services, under the project lock. SIGTERM and SIGINT end it within a second: no new
operation starts after one, and a heal in flight is interrupted.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import queue
import signal
import sys
import threading
import time
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

import click

from stackup.cli.context import Globals, pass_globals
from stackup.drift import Classifier, Drift, event_from_engine
from stackup.errors import StackupError

if TYPE_CHECKING:
    from stackup.model import Project

QUIET = 0.12  # seconds without events before gathered ones are judged (rm -f: kill, die, destroy)
FILE_POLL = 0.5  # seconds between looks at the stack files' modification times
OWN_GRACE = 0.3  # events arriving this long after our own heal are its echo


class _Stop(BaseException):
    """Raised by the signal handler to cut short what the main thread is waiting for."""


class Watcher:
    def __init__(self, g: Globals, *, heal: bool, interval: float, fmt: str) -> None:
        self.g, self.heal_on, self.interval, self.fmt = g, heal, interval, fmt
        self.warned: set[str] = set()  # loader warnings already printed
        self.project: Project = self._load()
        self.engine = g.engine()
        self.classifier = Classifier(self.project)
        self.networks: set[str] = set()
        self.volumes: set[str] = set()
        self._names()
        self.events: queue.Queue[tuple[float, Any]] = queue.Queue()
        self.stop_signal: int | None = None
        self.interruptible = False  # a signal raises _Stop (set while nothing must finish)
        self.own_until = 0.0  # events arriving before this are our own heal's
        self.own_from = float("inf")
        self.last_event = 0.0
        self.retry_at: dict[str, tuple[float, float]] = {}  # service → (when, delay)
        self.said: set[str] = set()  # errors and notes already printed
        self.mtimes = self._mtimes()

    # --- output -----------------------------------------------------------------------------
    def emit(self, event: str, text: str, **fields: Any) -> None:
        interruptible, self.interruptible = self.interruptible, False  # whole lines only
        try:
            self._emit(event, text, **fields)
        finally:
            self.interruptible = interruptible

    def _emit(self, event: str, text: str, **fields: Any) -> None:
        now = datetime.datetime.now(datetime.timezone.utc)
        if self.fmt == "json":
            record = {"time": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                      "project": self.project.name, "event": event, **fields}
            click.echo(json.dumps(record, sort_keys=False))
        else:
            click.echo(f"{now.strftime('%H:%M:%S')} {event:<11} {text}")
        sys.stdout.flush()

    def drift(self, drifts: list[Drift]) -> None:
        for d in drifts:
            where = f"{d.subject} ({d.service})" if d.service and d.service != d.subject \
                else d.subject if d.resource in ("container", "service") \
                else f"{d.resource} {d.subject}"
            self.emit("drift", f"{where}: {d.reason}", **d.as_json())

    def once(self, key: str, event: str, text: str, **fields: Any) -> None:
        if key not in self.said:
            self.said.add(key)
            self.emit(event, text, **fields)

    # --- the stack files ----------------------------------------------------------------------
    def _names(self) -> None:
        self.networks.clear()
        self.networks.update(n.name for n in self.project.networks.values() if not n.external)
        self.volumes.clear()
        self.volumes.update(v.name for v in self.project.volumes.values() if not v.external)

    def _mtimes(self) -> dict[str, float]:
        paths = [p for p in self.project.config_files if p != "-"]
        paths += [os.path.join(self.project.working_dir, ".env"), *self.g.env_files]
        out = {}
        for path in paths:
            try:
                out[path] = os.stat(path).st_mtime
            except OSError:
                out[path] = -1.0
        return out

    def _load(self) -> Project:
        """The stack files as they are now; each loader warning is printed once, not on every
        re-read."""
        captured = io.StringIO()
        try:
            with contextlib.redirect_stderr(captured):
                return self.g.load().project
        finally:
            for line in captured.getvalue().splitlines():
                if line not in self.warned:
                    self.warned.add(line)
                    click.echo(line, err=True)

    def reload(self, why: str) -> None:
        if "-" in self.g.files:
            return  # stdin was read once
        try:
            project = self._load()
        except StackupError as error:
            self.once(f"load:{error}", "error", f"cannot re-read the stack files, keeping the "
                      f"last good ones: {error}", error=str(error))
            return
        self.said = {k for k in self.said if not k.startswith("load:")}
        if project != self.project:
            self.project = project
            self.classifier.project = project
            self._names()
            if why:
                self.emit("reloaded", why, reason=why)

    # --- the event stream ---------------------------------------------------------------------
    def _read_events(self) -> None:
        """Thread: the engine's events into the queue; errors too, then reconnect."""
        delay = 0.5
        while True:
            try:
                for raw in self.engine.project_events(  # type: ignore[attr-defined]
                        self.project.name, networks=self.networks, volumes=self.volumes):
                    self.events.put((time.monotonic(), raw))
                    delay = 0.5
            except StackupError as error:
                self.events.put((time.monotonic(), error))
            except Exception as error:  # noqa: BLE001 - a dropped stream: reconnect
                self.events.put((time.monotonic(), StackupError(f"event stream: {error}")))
            time.sleep(delay)
            delay = min(delay * 2, 10.0)
            self.events.put((time.monotonic(), "reconnected"))

    # --- checks and heals ---------------------------------------------------------------------
    def check(self) -> None:
        """Compare the files with the engine; report new drift, heal what may be healed."""
        from stackup import app
        from stackup.reconcile import UpOptions

        try:
            plan = app.plan_up(self.project, self.engine, UpOptions())
        except StackupError as error:
            self.once(f"check:{error}", "error", str(error), error=str(error))
            return
        current, new = self.classifier.from_plan(plan)
        self.drift(new)
        self.heal([d for d in current if d.heal])

    def heal(self, drifts: list[Drift]) -> None:
        if not self.heal_on or not drifts or self.stop_signal is not None:
            return
        services = {d.service for d in drifts if d.service}
        for d in drifts:
            if d.service is None:  # a network or volume: the services that use it
                services.update(s.name for s in self.project.services.values()
                                if any(self.project.networks.get(n.name) is not None
                                       and self.project.networks[n.name].name == d.subject
                                       for n in s.networks)
                                or any(m.source in self.project.volumes
                                       and self.project.volumes[m.source].name == d.subject
                                       for m in s.volumes))
        now = time.monotonic()
        services = {s for s in services if s in self.project.services
                    and s not in self.classifier.crash_looping
                    and self.retry_at.get(s, (0.0, 0.0))[0] <= now}
        if not services or self._taken_down():
            return
        self._converge(sorted(services))

    def _taken_down(self) -> bool:
        """Everything gone, networks included: a `down`, which watch does not undo."""
        from stackup import app

        observed = app.observe(self.project, self.engine)
        own = [n for n in self.project.networks.values() if not n.external]
        gone = not observed.containers and own and not any(n.name in observed.networks
                                                           for n in own)
        if gone:
            self.once("down", "note", "the project's containers and networks are all gone (a "
                      "`down`?): watch does not bring the project back; run `stackup up`")
        else:
            self.said.discard("down")
        return bool(gone)

    def _converge(self, services: list[str]) -> None:
        """``app.up`` of ``services`` under the project lock. It runs in a daemon thread so
        that a signal ends watch at once: the operations already sent finish on the engine,
        none starts after it (the next ``up`` or heal completes the convergence)."""
        started = time.monotonic()
        self.own_from = started
        result: dict[str, Any] = {}
        try:
            locked = getattr(self.g, "locked", None)
            with (locked("watch --heal", self.project.name) if locked else nullcontext()):
                self.interruptible = False  # held: released on every way out
                if self.stop_signal is not None:
                    return
                # so that a signal ends watch at once: ends with the up, or abandoned (daemon)
                worker = threading.Thread(target=self._up, args=(services, result),
                                          name="stackup-heal", daemon=True)
                worker.start()
                while worker.is_alive() and self.stop_signal is None:
                    worker.join(0.05)
                if worker.is_alive():
                    self.emit("abandoned", f"{', '.join(services)}: heal interrupted; the "
                              f"operations in flight finish on the engine",
                              services=services)
                    return
        except StackupError as error:
            self._failed(services, str(error))
            return
        finally:
            self.interruptible = True
            self.own_until = time.monotonic() + OWN_GRACE
        if "error" in result:
            self._failed(services, str(result["error"]))
            return
        outcome = result["outcome"]
        seconds = round(time.monotonic() - started, 3)
        if not outcome.ok:
            op, error = outcome.failed[0] if outcome.failed else (None, None)
            self._failed(services, f"{op.subject}: {error}" if op else "operations skipped")
            return
        for name in services:
            self.retry_at.pop(name, None)
        done = [f"{op.kind.value} {op.subject}" for op in outcome.done
                if not op.kind.value.startswith("wait")]
        self.emit("healed", f"{', '.join(services)}: {'; '.join(done) or 'nothing to do'} "
                  f"({seconds:g} s)", services=services, operations=done, seconds=seconds)

    def _up(self, services: list[str], result: dict[str, Any]) -> None:
        from stackup import app
        from stackup.reconcile import UpOptions

        try:
            _, result["outcome"] = app.up(self.project, self.engine,
                                          UpOptions(services=tuple(services)),
                                          app.RunOptions(parallel=self.g.parallel))
        except StackupError as error:
            result["error"] = error
        except Exception as error:  # noqa: BLE001 - reported like an engine failure
            result["error"] = StackupError(f"{type(error).__name__}: {error}")

    def _failed(self, services: list[str], reason: str) -> None:
        now = time.monotonic()
        delays = []
        for name in services:
            _, delay = self.retry_at.get(name, (0.0, 0.25))
            delay = min(delay * 2, 600.0)
            self.retry_at[name] = (now + delay, delay)
            delays.append(delay)
        self.emit("heal_failed", f"{', '.join(services)}: {reason} (next try in "
                  f"{min(delays):g} s at the earliest)", services=services, reason=reason,
                  retry_in=min(delays))

    # --- the loop -----------------------------------------------------------------------------
    def _on_signal(self, signum: int, _frame: Any) -> None:
        """No operation starts after a signal; reads and waits in progress are cut short."""
        self.stop_signal = signum
        if self.interruptible:
            self.interruptible = False
            raise _Stop()

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        # the engine's event stream → the queue; reconnects for as long as watch runs (daemon)
        threading.Thread(target=self._read_events, name="stackup-events", daemon=True).start()
        state = "on" if self.heal_on else "off"
        self.emit("watching", f"project {self.project.name} (heal {state}, every "
                  f"{self.interval:g} s)", heal=self.heal_on, interval=self.interval)
        try:
            self.interruptible = True
            self._loop()
        except _Stop:
            pass
        self.interruptible = False
        name = signal.Signals(self.stop_signal or signal.SIGTERM).name
        self.emit("stopped", f"on {name}", signal=name)
        return 130 if self.stop_signal == signal.SIGINT else 0

    def _loop(self) -> None:
        next_check = time.monotonic()
        next_poll = time.monotonic() + FILE_POLL
        while self.stop_signal is None:
            try:
                arrived, item = self.events.get(timeout=0.1)
            except queue.Empty:
                item = None
            now = time.monotonic()
            if isinstance(item, StackupError):
                self.once(f"stream:{item}", "error", f"{item} (reconnecting)", error=str(item))
            elif item == "reconnected":
                self.said = {k for k in self.said if not k.startswith("stream:")}
                next_check = now
            elif item is not None and not self.own_from <= arrived <= self.own_until:
                self.last_event = now
                self.drift(self.classifier.feed(event_from_engine(item), time.time()))
            if self.stop_signal is not None:
                break
            if self.classifier.pending and now - self.last_event >= QUIET:
                found = self.classifier.flush(time.time())
                self.drift(found)
                self.heal([d for d in found if d.heal])
                if any(d.heal for d in found) and self.heal_on:
                    next_check = time.monotonic()  # verify, and catch what the heal hid
            if now >= next_poll:
                next_poll = now + FILE_POLL
                mtimes = self._mtimes()
                if mtimes != self.mtimes:
                    self.mtimes = mtimes
                    self.reload("stack files changed")
                    next_check = now
            if now >= next_check and self.stop_signal is None:
                self.reload("")
                self.check()
                next_check = time.monotonic() + self.interval


@click.command("watch")
@click.option("--heal", is_flag=True,
              help="Converge drifted services back to the stack files (through `up`).")
@click.option("--interval", type=click.FloatRange(min=0.2), default=10.0, show_default=True,
              metavar="SECONDS", help="How often to re-read the files and compare with the "
                                      "engine (events are followed as they come).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: one JSON object per line (for log shippers).")
@pass_globals
def watch_cmd(g: Globals, heal: bool, interval: float, fmt: str) -> None:
    """Report drift (containers stopped, killed or removed by hand; networks and volumes
    removed; files changed) as it happens; with --heal converge it back."""
    from stackup.cli.cmd_history import refuse_swarm

    refuse_swarm(g, "watch")
    code = Watcher(g, heal=heal, interval=interval, fmt=fmt).run()
    if code:
        sys.exit(code)
