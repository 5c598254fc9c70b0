"""Progress on stderr while a plan runs: redrawn in place on a terminal, plain lines otherwise,
or one JSON object per line (``--progress json``) for pipelines.

Pipeline position: the CLI passes ``Progress.on_event`` to the executor and calls ``summary``
with the outcome at the end; ``interrupted_report`` is what the CLI says when a stop request
ended the run. A reader that went away (``stackup up -d 2>&1 | head -1``) never stops a run:
the stream is pointed at the null device and the run goes on unseen.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

from stackup.core.errors import EngineUnavailable
from stackup.run.events import VERBS  # the same words as the JSON's "verb"

if TYPE_CHECKING:
    from stackup.cli.views.live import LiveView
    from stackup.run.events import Event, Outcome
    from stackup.core.observed import ObservedContainer
    from stackup.core.plan import Plan

_DONE_WORD = {"started": "...", "done": "done", "failed": "FAILED", "skipped": "skipped"}
_HIDDEN = frozenset({"not_needed", "not_run"})  # shown in JSON only (the end says what is left)
STOPPING = {"SIGINT": "stopping after the operations in progress… press Ctrl-C again to "
                      "abandon them"}
STOPPING_OTHER = "{name}: stopping after the operations in progress… a second signal " \
                 "abandons them"
ABANDONING = "abandoning: nothing more starts; the engine calls already sent end first " \
             "(they cannot be called back)"


def describe(kind: str) -> tuple[str, str]:
    return VERBS.get(kind, ("", kind))


class Progress:
    """Turns executor events into lines on a stream. Thread-safe; cheap when quiet."""

    def __init__(self, mode: str = "auto", stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        if mode == "auto":  # --ansi / COMPOSE_ANSI decide whether lines are redrawn in place
            ansi = os.environ.get("COMPOSE_ANSI", "auto").lower()
            tty = ansi == "always" or (ansi != "never" and self.stream.isatty())
            mode = "tty" if tty else "plain"
        self.mode = mode
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._lines: dict[str, str] = {}
        self._drawn = 0
        self._view: LiveView | None = None  # the terminal view, once the plan is known

    @property
    def color(self) -> bool:
        """Colour on a terminal unless NO_COLOR is set (https://no-color.org) or --ansi never."""
        return self.mode == "tty" and not os.environ.get("NO_COLOR") and \
            os.environ.get("COMPOSE_ANSI", "auto").lower() != "never"

    def on_event(self, event: Event) -> None:
        if not event.op_id and event.phase == "planned":
            if self.mode == "tty" and event.plan is not None:
                from stackup.cli.views.live import LiveView

                self._view = LiveView(event.plan.operations, color=self.color)
            return
        if not event.op_id and event.phase in ("stopping", "abandoning"):
            self._stop_requested(event)
            return
        if self.mode == "quiet" or (event.phase in _HIDDEN and self.mode != "json"):
            return  # restore steps and conditional replacements that did not have to run
        with self._lock:
            try:
                if self.mode == "json":
                    self._write_json(event)
                elif self.mode == "tty":
                    self._redraw(event)
                else:
                    self.stream.write(f"{_clock()} {self._format(event)}\n")
                    self.stream.flush()
            except (OSError, ValueError):
                self._reader_gone()

    def _stop_requested(self, event: Event) -> None:
        """A stop request (Ctrl-C, SIGTERM): said at once, in every mode."""
        if event.phase == "abandoning":
            text = ABANDONING
        else:
            text = STOPPING.get(event.cause) or STOPPING_OTHER.format(name=event.cause)
        with self._lock:
            try:
                if self.mode == "json":
                    from stackup.run.events import rfc3339

                    self.stream.write(json.dumps({"time": rfc3339(event.at), "phase": event.phase,
                                                  "signal": event.cause, "message": text},
                                                 sort_keys=True) + "\n")
                elif self.mode == "tty":
                    self._redraw(None, text)
                else:
                    self.stream.write(text + "\n")
                self.stream.flush()
            except (OSError, ValueError):
                self._reader_gone()

    def _reader_gone(self) -> None:
        """The stream's reader went away: the rest goes to the null device, the run goes on."""
        self.mode = "quiet"
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())
        except (OSError, ValueError):
            pass

    def _format(self, event: Event) -> str:
        _, verb = describe(str(getattr(event.kind, "value", event.kind)))
        if event.phase == "output":
            return f" {'':<7} {verb:<14} {event.subject:<32} | {event.output or ''}".rstrip()
        state = _DONE_WORD.get(event.phase, event.phase)
        seconds = f"{event.seconds:5.1f}s" if event.phase != "started" else "      "
        line = f" {state:<7} {verb:<14} {event.subject:<32} {seconds}"
        if event.phase == "started" and event.cause:
            line += f"  {event.cause}"
        if event.error:
            line += f"  {event.error.splitlines()[0]}"
        return line.rstrip()

    def _write_json(self, event: Event) -> None:
        from stackup.run.events import event_json

        self.stream.write(json.dumps(event_json(event), sort_keys=True) + "\n")
        self.stream.flush()

    def _redraw(self, event: Event | None, line: str = "") -> None:
        if self._view is not None:
            self._draw_view(event, line)
            return
        self._redraw_lines(event, line)

    def _draw_view(self, event: Event | None, line: str = "", *, final: bool = False) -> None:
        """The live view: ``line`` (a stop request) scrolls up above it; the view is redrawn in
        place, cut to the terminal's height while it runs, whole at the end."""
        assert self._view is not None
        out = self.stream
        if event is not None:
            self._view.apply(event)
        size = _terminal()
        frame = self._view.render(width=size.columns)
        if not final and len(frame) > size.lines - 1:
            frame = frame[:max(2, size.lines - 2)] + [f" … {len(frame) - size.lines + 2} more"]
        if self._drawn:
            out.write(f"\x1b[{self._drawn}F\x1b[J")
        if line:
            out.write(line + "\n")
        for text in frame:
            out.write(text + "\n")
        self._drawn = 0 if final else len(frame)
        out.flush()

    def _redraw_lines(self, event: Event | None, line: str = "") -> None:
        """Finished operations (and ``line``) scroll up as plain lines; running ones stay in a
        block at the bottom, redrawn in place and cut to the terminal's height."""
        out = self.stream
        if self._drawn:
            out.write(f"\x1b[{self._drawn}F\x1b[J")
        if event is None:
            out.write(line + "\n")
        elif event.phase == "started":
            self._lines[event.op_id] = self._format(event)
        elif event.phase == "output":  # build/pull output scrolls; the operation stays active
            out.write(self._format(event)[:_terminal().columns] + "\n")
        else:
            self._lines.pop(event.op_id, None)
            out.write(self._format(event) + "\n")
        rows = max(3, _terminal().lines - 2)
        active = list(self._lines.values())
        shown = active if len(active) <= rows else active[:rows - 1] + [
            f" ...     {len(active) - rows + 1} more operations running"]
        for line in shown:
            out.write(line + "\n")
        self._drawn = len(shown)
        out.flush()

    def summary(self, plan: Plan, outcome: Outcome, *, verb: str = "up") -> None:
        """Final lines on stderr: what changed, or which service failed and why."""
        try:
            self._summary(plan, outcome, verb)
        except (OSError, ValueError):
            self._reader_gone()

    def _summary(self, plan: Plan, outcome: Outcome, verb: str) -> None:
        elapsed = time.monotonic() - self.started
        if self.mode == "json":
            from stackup.run.events import rfc3339

            record = {"summary": True, "time": rfc3339(), "ok": outcome.ok,
                      "seconds": round(elapsed, 3),
                      "done": len(outcome.done), "skipped": len(outcome.skipped),
                      "failed": [{"id": op.op_id, "service": op.service.name if op.service
                                  else None, "name": op.subject, "error": str(err)}
                                 for op, err in outcome.failed]}
            self.stream.write(json.dumps(record, sort_keys=True) + "\n")
            self.stream.flush()
            return
        if self.mode == "quiet" and outcome.ok:
            return
        if self._view is not None:  # the whole view once more, then what changed and how long
            from stackup.cli.views.live import summary_line

            view = self._view
            self._draw_view(None, final=True)
            self._view = None
            if outcome.ok and not plan.empty:
                for note in plan.notes:
                    self.stream.write(f"note: {note}\n")
                self.stream.write(summary_line(view, verb, elapsed) + "\n")
                self.stream.flush()
                return
        for note in plan.notes:
            self.stream.write(f"note: {note}\n")
        if outcome.ok:
            if plan.empty:
                self.stream.write(f"Nothing to change: {plan.project_name} is up to date.\n")
            else:
                self.stream.write(f"{verb}: {len(outcome.done)} operations done in "
                                  f"{elapsed:.1f}s.\n")
            return
        self.stream.write(f"{verb} failed: {len(outcome.failed)} operation(s) failed, "
                          f"{len(outcome.skipped)} skipped.\n")
        gone = next((e for _, e in outcome.failed if isinstance(e, EngineUnavailable)), None)
        if gone is not None:  # one cause first, then each failure
            self.stream.write(f"  the engine stopped answering: {gone.summary}\n"
                              f"  Run `{verb}` again once it answers: it picks up where this "
                              f"run stopped.\n")
        for op, error in outcome.failed:
            who = f"service {op.service.name}" if op.service is not None else op.subject
            _, action = describe(str(op.kind.value))
            text = str(error).replace("\n", "\n    ")
            self.stream.write(f"  {who}: {action} {op.subject}: {text}\n")
        self.stream.flush()


def _clock() -> str:
    """The time of a plain progress line, UTC to the millisecond: ``19:55:01.123Z``."""
    now = time.time()
    return time.strftime("%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


def _terminal() -> os.terminal_size:
    """The terminal's size (80x24 when unknown); shutil is imported only on a terminal."""
    import shutil

    return shutil.get_terminal_size((80, 24))


_TEMPORARY = re.compile(r"^[0-9a-f]{12}_")  # a container renamed aside by a replacement
_BRINGS_UP = frozenset({"create_container", "start_container", "restart_container"})


def interrupted_report(plan: Plan, outcome: Outcome,
                       containers: Sequence[ObservedContainer] | None, rerun: str) -> list[str]:
    """What to say when a stop request ended a run: how far it got, what is left (from
    ``containers``, the project's containers read after the run; None when they could not be
    read), and the command that converges it."""
    how = "abandoned what was in progress" if outcome.abandoned else \
        "stopped once what was in progress ended"
    waiting = [op for op in outcome.not_run if not op.if_failed]  # restore steps aside
    lines = [f"interrupted ({outcome.stopped_by}): {how}; {len(outcome.done)} operations done, "
             f"{len(waiting)} not started"
             + (f", {len(outcome.failed)} failed" if outcome.failed else "")]
    unfinished = [op for op in (*outcome.not_run, *outcome.skipped,
                                *(op for op, _ in outcome.failed)) if not op.if_failed]
    brings_up = any(op.kind.value in _BRINGS_UP and not op.if_failed for op in plan.operations)
    services = sorted({op.service_name for op in plan.operations if op.service_name})
    if brings_up and containers is not None:
        stopped, aside = [], {}
        for name in services:
            mine = [c for c in containers if c.service == name and not c.oneoff]
            if not any(c.running for c in mine):
                stopped.append(name)
            kept = sorted(c.name for c in mine if _TEMPORARY.match(c.name))
            if kept:
                aside[name] = kept
        for name in services:
            if name in stopped:
                lines.append(f"  service {name}: no running container")
            if name in aside:
                lines.append(f"  service {name}: half replaced, its previous container is "
                             f"left as {', '.join(aside[name])}")
        if not stopped and not aside:
            lines.append("  every service has a running container")
        untouched = sorted({op.service_name for op in unfinished if op.service_name}
                           - set(stopped) - set(aside))
        if untouched:
            lines.append(f"  not changed yet (the containers from before still run): "
                         f"{', '.join(untouched)}")
    elif unfinished:
        shown = [f"{describe(op.kind.value)[1]} {op.subject}" for op in unfinished[:8]]
        more = f" and {len(unfinished) - 8} more" if len(unfinished) > 8 else ""
        lines.append(f"  not done: {', '.join(shown)}{more}")
    if unfinished or outcome.failed:
        lines.append(f"Run `{rerun}` to {'converge' if brings_up else 'finish'}.")
    return lines
