"""``stackup drift [--heal] [--once]``: report drift as it happens and, with ``--heal``, converge it.

Named ``drift`` so that ``watch`` is Compose's file-sync loop (``cli.commands.watch``).

Pipeline position: CLI over ``stackup.app.drift`` (what is drift, pure) and the engine's event
stream (``adapters.docker.events``). One thread reads the stream into a queue; the main thread
classifies, re-reads the stack files when they change and every interval, compares the desired
state with the engine (the plan ``up`` would run) and heals the drifted services, under the
project lock. The desired state is the stack files, or the revision a ``rollback`` restored
until the next ``up`` or ``apply`` (``cmd_history.desired_state``).

A heal is one plan for exactly the drifted services, run, then checked by planning again: it is
reported ``healed`` with the operations that ran only when that second plan is empty; otherwise
``heal_failed`` (what ran, what failed or still differs) or ``not_healed`` (the engine shows
nothing to change). ``--once`` does one check (and heal) and exits. SIGTERM and SIGINT end it
within a second: no new operation starts after one, and a heal in flight is interrupted.
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

from stackup.app.drift import Classifier, Drift, event_from_engine
from stackup.cli.context import Globals, pass_globals
from stackup.core.errors import StackupError

if TYPE_CHECKING:
    from stackup.app.revisions import Revision
    from stackup.core.model import Project
    from stackup.core.plan import Operation, Plan

QUIET = 0.12  # seconds without events before gathered ones are judged (rm -f: kill, die, destroy)
FILE_POLL = 0.5  # seconds between looks at the stack files' modification times
OWN_GRACE = 0.3  # events arriving this long after our own heal are its echo
VISIBLE = 5.0  # seconds a heal waits for the engine to show what its events already said


class _Stop(BaseException):
    """Raised by the signal handler to cut short what the main thread is waiting for."""


class Watcher:
    def __init__(self, g: Globals, *, heal: bool, interval: float, fmt: str,
                 once: bool = False) -> None:
        self.g, self.heal_on, self.interval, self.fmt = g, heal, interval, fmt
        self.single = once  # --once: one check (and heal), then exit
        self.warned: set[str] = set()  # loader warnings already printed
        self.environ: dict[str, str] = {}
        self.project: Project = self._load()  # the stack files
        self.desired: Project = self.project  # what heals converge to (files or a revision)
        self.toward: Revision | None = None  # the revision a rollback made desired
        self.desire_error: str | None = None  # why the desired state cannot be known now
        self.said_desired: tuple[Any, ...] = ()
        self.left: set[str] = set()  # --once: drift to heal that is still there
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
        project = self.desired
        self.networks.clear()
        self.networks.update(n.name for n in project.networks.values() if not n.external)
        self.volumes.clear()
        self.volumes.update(v.name for v in project.volumes.values() if not v.external)

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
                loaded = self.g.load()
            self.environ = {**loaded.environment, **os.environ}
            return loaded.project
        finally:
            for line in captured.getvalue().splitlines():
                if line not in self.warned:
                    self.warned.add(line)
                    click.echo(line, err=True)

    def reload(self, why: str) -> None:
        """Re-read the stack files (not stdin: read once), then the desired state."""
        if "-" not in self.g.files:
            try:
                project = self._load()
            except StackupError as error:
                self.once(f"load:{error}", "error", f"cannot re-read the stack files, keeping "
                          f"the last good ones: {error}", error=str(error))
                project = self.project
            else:
                self.said = {k for k in self.said if not k.startswith("load:")}
            if project != self.project:
                self.project = project
                if why:
                    self.emit("reloaded", why, reason=why)
        self.desire()

    def desire(self) -> None:
        """The desired state: the revision a rollback made desired (read from the engine's
        revision records), else the stack files. Said whenever it changes."""
        from stackup.app.revisions import differences
        from stackup.cli.revision_records import desired_state

        try:
            target, restored = desired_state(self.engine, self.project.name, self.project,
                                             self.environ)
        except StackupError as error:
            self.desire_error = f"cannot tell the desired state: {error}"
            self.once(f"desire:{error}", "error", f"{self.desire_error}; drift heals nothing "
                      f"until it can", error=str(error))
            return
        self.desire_error = None
        self.said = {k for k in self.said if not k.startswith("desire:")}
        verb = "healing toward" if self.heal_on else "comparing with"
        if target is None or restored is None:
            self.desired = self.project
            if self.toward is not None:
                self.emit("desired", f"{verb} the stack files (revision {self.toward.number}, "
                          f"rolled back to, was replaced by an `up` or `apply`)",
                          toward="files")
            self.toward, self.said_desired = None, ()
        else:
            self.desired, self.toward = restored, target
            differ = differences(self.project, restored)
            key = (target.number, tuple(differ))
            if key != self.said_desired:
                self.said_desired = key
                files = (f"the stack files differ: {'; '.join(differ)}" if differ
                         else "the stack files match it")
                self.emit("desired", f"{verb} revision {target.rollback_to} (rolled back; "
                          f"{files}); the next `stackup up` or `apply` returns to the files",
                          toward="revision", revision=target.rollback_to,
                          record=target.number, differences=differ)
        self.classifier.project = self.desired
        self._names()

    # --- the event stream ---------------------------------------------------------------------
    def _read_events(self) -> None:
        """Thread: the engine's events into the queue; errors too, then reconnect."""
        delay = 0.5
        while True:
            try:
                for raw in self.engine.project_events(
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
        """Compare the desired state with the engine; report new drift, heal what may be
        healed."""
        from stackup.app import containers as app
        from stackup.reconcile import UpOptions, plan_up

        if self.desire_error is not None:
            return
        try:
            observed = app.observe(self.desired, self.engine)
            plan = plan_up(self.desired, observed, UpOptions())
        except StackupError as error:
            self.once(f"check:{error}", "error", str(error), error=str(error))
            return
        current, new = self.classifier.from_plan(plan, observed)
        self.drift(new)
        to_heal = [d for d in current if d.heal]
        if self.single and not self.heal_on:
            self.left.update(d.subject for d in to_heal)
        self.heal(to_heal)

    def heal(self, drifts: list[Drift]) -> None:
        if not self.heal_on or not drifts or self.stop_signal is not None:
            return
        if self.desire_error is not None:
            self.left.update(d.subject for d in drifts)
            return
        project = self.desired
        services = {d.service for d in drifts if d.service}
        for d in drifts:
            if d.service is None:  # a network or volume: the services that use it
                services.update(s.name for s in project.services.values()
                                if any(project.networks.get(n.name) is not None
                                       and project.networks[n.name].name == d.subject
                                       for n in s.networks)
                                or any(m.source is not None and m.source in project.volumes
                                       and project.volumes[m.source].name == d.subject
                                       for m in s.volumes))
        now = time.monotonic()
        services = {s for s in services if s in project.services
                    and s not in self.classifier.crash_looping
                    and self.retry_at.get(s, (0.0, 0.0))[0] <= now}
        if not services:
            return
        if self._taken_down():
            self.left.update(services)
            return
        self._converge(sorted(services))

    def _taken_down(self) -> bool:
        """Everything gone, networks included: a `down`, which drift does not undo."""
        from stackup.app import containers as app

        observed = app.observe(self.desired, self.engine)
        own = [n for n in self.desired.networks.values() if not n.external]
        gone = not observed.containers and own and not any(n.name in observed.networks
                                                           for n in own)
        if gone:
            why = ("the project's containers and networks are all gone (a `down`?): drift does "
                   "not bring the project back; run `stackup up`")
            self.once("down", "note", why, reason=why)
        else:
            self.said.discard("down")
        return bool(gone)

    def _converge(self, services: list[str]) -> None:
        """One heal of ``services`` under the project lock (see :meth:`_heal`), reported as
        what happened. It runs in a daemon thread so that a signal ends drift at once: the
        operations already sent finish on the engine, none starts after it (the next ``up``
        or heal completes the convergence)."""
        started = time.monotonic()
        self.own_from = started
        result: dict[str, Any] = {}
        project = self.desired
        try:
            locked = getattr(self.g, "locked", None)
            with (locked("drift --heal", self.project.name) if locked else nullcontext()):
                self.interruptible = False  # held: released on every way out
                if self.stop_signal is not None:
                    return
                # so that a signal ends drift at once: ends with the heal, or abandoned (daemon)
                worker = threading.Thread(target=self._heal, args=(project, services, result),
                                          name="stackup-heal", daemon=True)
                worker.start()
                while worker.is_alive() and self.stop_signal is None:
                    worker.join(0.05)
                if worker.is_alive():
                    planned = [_describe(op) for op in result.get("running", ())]
                    self.emit("abandoned", f"{', '.join(services)}: heal interrupted; the "
                              f"operations in flight finish on the engine",
                              services=services, planned=planned)
                    return
        except StackupError as error:
            self._failed(services, str(error), [])
            return
        finally:
            self.interruptible = True
            self.own_until = time.monotonic() + OWN_GRACE
        if "error" in result:
            self._failed(services, str(result["error"]), [])
            return
        seconds = round(time.monotonic() - started, 3)
        toward = self._toward()
        if "outcome" not in result:  # the plan had nothing to change
            reason = (f"the engine shows nothing to change for {', '.join(services)} after "
                      f"{VISIBLE:g} s (someone put it back, or the engine has not caught up); "
                      f"drift looks again at the next check")
            self.emit("not_healed", f"{', '.join(services)}: {reason}", services=services,
                      reason=reason, operations=[], **toward)
            return
        outcome = result["outcome"]
        done = [_describe(op) for op in outcome.done]
        failed = [{"operation": _describe(op), "error": str(error)}
                  for op, error in outcome.failed]
        skipped = [_describe(op) for op in outcome.skipped]
        if not outcome.ok:
            first = failed[0] if failed else None
            reason = (f"{first['operation']} failed: {first['error']}" if first
                      else f"{len(skipped)} operation(s) skipped")
            self._failed(services, reason, done, failed=failed, skipped=skipped)
            return
        left = [_describe(op) + f" ({op.cause})" for op in result["left"]]
        if left:
            self._failed(services, "the engine still differs after the heal: "
                         + "; ".join(left), done, left=left)
            return
        for name in services:
            self.retry_at.pop(name, None)
        where = f" toward revision {self.toward.rollback_to}" if self.toward else ""
        self.emit("healed", f"{', '.join(services)}{where}: ran {'; '.join(done)} "
                  f"({seconds:g} s)", services=services, operations=done, seconds=seconds,
                  **toward)

    def _toward(self) -> dict[str, Any]:
        if self.toward is None:
            return {"toward": "files"}
        return {"toward": "revision", "revision": self.toward.rollback_to}

    def _heal(self, project: Project, services: list[str], result: dict[str, Any]) -> None:
        """Thread: plan ``up`` of exactly ``services`` (not their dependencies: a finished
        one-shot is not run again), run it, plan again to check. The engine's container list
        can lag behind its events for a moment (a container that died is still listed as
        running): an empty plan is made again for up to ``VISIBLE`` seconds first."""
        from stackup.app import containers as app
        from stackup.reconcile import UpOptions

        options = UpOptions(services=tuple(services), no_deps=True)
        try:
            deadline = time.monotonic() + VISIBLE
            while True:
                plan = app.plan_up(project, self.engine, options)
                if _acting(plan) or time.monotonic() >= deadline or \
                        self.stop_signal is not None:
                    break
                time.sleep(0.2)
            if not _acting(plan) or self.stop_signal is not None:
                return
            result["running"] = _acting(plan)
            result["outcome"] = app.run_plan(plan, project, self.engine,
                                             app.RunOptions(parallel=self.g.parallel))
            result["left"] = _acting(app.plan_up(project, self.engine, options))
        except StackupError as error:
            result["error"] = error
        except Exception as error:  # noqa: BLE001 - reported like an engine failure
            result["error"] = StackupError(f"{type(error).__name__}: {error}")

    def _failed(self, services: list[str], reason: str, done: list[str],
                **more: Any) -> None:
        now = time.monotonic()
        delays = []
        for name in services:
            _, delay = self.retry_at.get(name, (0.0, 0.25))
            delay = min(delay * 2, 600.0)
            self.retry_at[name] = (now + delay, delay)
            delays.append(delay)
        self.left.update(services)
        ran = f" (ran: {'; '.join(done)})" if done else " (ran nothing)"
        self.emit("heal_failed", f"{', '.join(services)}: {reason}{ran}; next try in "
                  f"{min(delays):g} s at the earliest", services=services, reason=reason,
                  operations=done, retry_in=min(delays), **more, **self._toward())

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
        if not self.single:
            # the engine's event stream → the queue; reconnects for as long as drift runs
            # (daemon)
            threading.Thread(target=self._read_events, name="stackup-events",
                             daemon=True).start()
        state = "on" if self.heal_on else "off"
        every = "once" if self.single else f"every {self.interval:g} s"
        self.emit("watching", f"project {self.project.name} (heal {state}, {every})",
                  heal=self.heal_on, interval=self.interval, once=self.single)
        try:
            self.interruptible = True
            if self.single:
                self.reload("")
                self.check()
            else:
                self._loop()
        except _Stop:
            pass
        self.interruptible = False
        if self.single and self.stop_signal is None:
            left = sorted(self.left)
            text = (f"drift left: {', '.join(left)}" if left else
                    "nothing left to heal" if self.heal_on else "no drift to heal")
            self.emit("done", text, left=left)
            return 1 if left else 0
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
                fed = self.classifier.feed(event_from_engine(item), time.time())
                self.drift(fed)
                self.heal([d for d in fed if d.heal])  # exited by itself, nothing restarts it
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


def _passive(op: Operation) -> bool:
    from stackup.core.plan import IMAGE_KINDS, PASSIVE

    return op.kind in PASSIVE or op.kind in IMAGE_KINDS or bool(op.if_failed) or \
        op.when_image is not None


def _acting(plan: Plan) -> list[Operation]:
    """The operations of ``plan`` that change something whatever happens (not waits, not
    image pulls a pull policy repeats, not restore steps or recreates that depend on an image
    changing)."""
    return [op for op in plan.operations if not _passive(op)]


def _describe(op: Operation) -> str:
    """``start demo-web-1``, ``create network demo_default``."""
    verb = op.kind.value.replace("_container", "").replace("_", " ")
    return f"{verb} {op.subject}"


@click.command("drift")
@click.option("--heal", is_flag=True,
              help="Converge drifted services back to the desired state: the stack files, or "
                   "the revision a `rollback` restored until the next `up` or `apply`.")
@click.option("--interval", type=click.FloatRange(min=0.2), default=10.0, show_default=True,
              metavar="SECONDS", help="How often to re-read the files and compare with the "
                                      "engine (events are followed as they come).")
@click.option("--once", is_flag=True,
              help="Compare once (and heal, with --heal), then exit: 0 when no drift to heal "
                   "is left, 1 when some is.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: one JSON object per line (for log shippers).")
@pass_globals
def drift_cmd(g: Globals, heal: bool, interval: float, once: bool, fmt: str) -> None:
    """Report drift (containers stopped, killed or removed, networks and volumes removed,
    files changed) as it happens; with --heal converge it back."""
    code = Watcher(g, heal=heal, interval=interval, fmt=fmt, once=once).run()
    if code:
        sys.exit(code)
