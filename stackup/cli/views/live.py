"""The terminal view of a run: one line per resource, updated in place under a ``[+] Running
N/M`` header, in Compose's words (Created, Started, Healthy, Recreated, Removed, Pulled, Built).

Pipeline position: ``views.progress`` feeds it the plan's operations and then each event, and
draws the lines it renders; nothing here writes. A resource's internal steps (the old container
renamed aside, restored, removed) fold into its one line; its cause shows only where it
explains a change (``environment.VERSION changed``), not for the obvious ``not found``; build
and pull output shows as one line under the image, replaced by each new line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stackup.core.plan import Operation
    from stackup.run.events import Event

_TEMPORARY = re.compile(r"^[0-9a-f]{12}_")  # a container renamed aside by a replacement
# kind → (what the line calls the resource, word while it runs, word once done)
WORDS = {
    "create_network": ("Network", "Creating", "Created"),
    "remove_network": ("Network", "Removing", "Removed"),
    "create_volume": ("Volume", "Creating", "Created"),
    "remove_volume": ("Volume", "Removing", "Removed"),
    "pull_image": ("Image", "Pulling", "Pulled"),
    "build_image": ("Image", "Building", "Built"),
    "push_image": ("Image", "Pushing", "Pushed"),
    "create_container": ("Container", "Creating", "Created"),
    "start_container": ("Container", "Starting", "Started"),
    "stop_container": ("Container", "Stopping", "Stopped"),
    "restart_container": ("Container", "Restarting", "Restarted"),
    "rename_container": ("Container", "Recreating", "Recreating"),
    "remove_container": ("Container", "Removing", "Removed"),
    "disconnect_network": ("Container", "Disconnecting", "Disconnected"),
    "connect_network": ("Container", "Connecting", "Connected"),
    "run_hook": ("Container", "Running hook", "Hook done"),
    "run_pre_start": ("Container", "Running pre_start hook", "Hook done"),
    "wait_healthy": ("Container", "Waiting", "Healthy"),
    "wait_running": ("Container", "Waiting", "Running"),
    "wait_completed": ("Container", "Waiting", "Exited"),
    "create_service": ("Service", "Creating", "Created"),
    "update_service": ("Service", "Updating", "Updated"),
    "remove_service": ("Service", "Removing", "Removed"),
    "wait_service": ("Service", "Waiting", "Running"),
    "wait_service_completed": ("Service", "Waiting", "Completed"),
    "create_secret": ("Secret", "Creating", "Created"),
    "remove_secret": ("Secret", "Removing", "Removed"),
    "create_config": ("Config", "Creating", "Created"),
    "remove_config": ("Config", "Removing", "Removed"),
}
_PLAIN_CAUSES = ("not found", "make way", "replaced", "restore", "depends_on", "new image",
                 "down", "--force-recreate")
_REPLACING = frozenset({"stop_container", "rename_container"})
_GREEN, _RED, _YELLOW, _DIM, _RESET = "\x1b[32m", "\x1b[31m", "\x1b[33m", "\x1b[2m", "\x1b[0m"


@dataclass
class Row:
    """One resource's line: what it is, its operations (restore steps aside), how far it got."""

    what: str  # "Container", "Network", ...
    name: str
    ops: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    cause: str = ""
    word: str = ""
    finished: set[str] = field(default_factory=set)
    running: set[str] = field(default_factory=set)
    failed: str | None = None
    seconds: float = 0.0
    output: str = ""

    @property
    def done(self) -> bool:
        return self.failed is not None or len(self.finished) == len(self.ops)

    @property
    def replaced(self) -> bool:
        return bool(_REPLACING & set(self.kinds)) and "create_container" in self.kinds


def _row_key(op: Operation) -> tuple[str, str] | None:
    kind = op.kind.value
    if kind not in WORDS:
        return None  # gates and sleeps between batches: the containers' lines say it
    what = WORDS[kind][0]
    if kind.startswith("wait_") and what == "Container":
        return None  # folded into the service's container lines (see LiveView.__init__)
    name = op.subject
    if what == "Container":
        name = _TEMPORARY.sub("", name)
    return what, name


class LiveView:
    """Rows for a plan's operations; ``apply`` each event, then ``render`` the lines."""

    def __init__(self, operations: Iterable[Operation], *, color: bool = False) -> None:
        self.color = color
        self.rows: dict[tuple[str, str], Row] = {}
        self.by_op: dict[str, list[Row]] = {}
        waits: list[Operation] = []
        for op in operations:
            if op.if_failed:
                continue  # a restore step shows only if it runs (as its resource's line)
            if op.kind.value.startswith("wait_") and op.kind.value in WORDS \
                    and WORDS[op.kind.value][0] == "Container":
                waits.append(op)
                continue
            key = _row_key(op)
            if key is None:
                continue
            row = self.rows.setdefault(key, Row(*key))
            self._add(row, op)
        for op in waits:  # a wait belongs to every line of the containers it watches
            watched = [self.rows[("Container", n)] for n in op.watch
                       if ("Container", n) in self.rows]
            if not watched:
                watched = [self.rows.setdefault(("Container", n), Row("Container", n))
                           for n in op.watch] or [
                    self.rows.setdefault(("Service", op.subject), Row("Service", op.subject))]
            for row in watched:
                self._add(row, op)

    def _add(self, row: Row, op: Operation) -> None:
        row.ops.append(op.op_id)
        row.kinds.append(op.kind.value)
        if not row.cause and op.cause and not op.cause.startswith(_PLAIN_CAUSES):
            row.cause = op.cause
        self.by_op.setdefault(op.op_id, []).append(row)

    def apply(self, event: Event) -> None:
        kind = str(getattr(event.kind, "value", event.kind))
        rows = self.by_op.get(event.op_id)
        if rows is None:  # a restore step that runs: it joins its resource's line
            key = None if kind not in WORDS else (
                WORDS[kind][0], _TEMPORARY.sub("", event.subject))
            if key is None or key not in self.rows:
                return
            rows = [self.rows[key]]
            for row in rows:
                row.ops.append(event.op_id)
                row.kinds.append(kind)
            self.by_op[event.op_id] = rows
        running_word, done_word = WORDS.get(kind, ("", kind, kind))[1:]
        for row in rows:
            if event.phase == "started":
                row.running.add(event.op_id)
                row.word = "Recreating" if row.replaced and kind != "wait_healthy" \
                    else running_word
            elif event.phase == "output":
                row.output = (event.output or "").strip()
            elif event.phase == "failed":
                row.running.discard(event.op_id)
                row.failed = (event.error or "failed").splitlines()[0]
                row.word = "Error"
            else:  # done, skipped, not_needed, not_run
                row.running.discard(event.op_id)
                row.finished.add(event.op_id)
                row.seconds += event.seconds
                if event.phase == "done" and row.failed is None:
                    row.word = done_word
                    row.output = ""
                if row.done and row.failed is None:
                    row.word = self._final(row, done_word)

    @staticmethod
    def _final(row: Row, last: str) -> str:
        if row.replaced and last in ("Started", "Removed", "Created", "Connected"):
            return "Recreated"
        if row.word in ("", "Recreating"):
            return last
        return row.word

    def counts(self) -> tuple[int, int]:
        return sum(1 for r in self.rows.values() if r.done), len(self.rows)

    def render(self, width: int = 80) -> list[str]:
        done, total = self.counts()
        verb = "Running" if done < total else "Running"
        lines = [self._paint(f"[+] {verb} {done}/{total}", _DIM if done < total else "")]
        name_width = min(max((len(r.name) + len(r.what) + 1 for r in self.rows.values()),
                             default=10), max(20, width // 2))
        for row in self.rows.values():
            lines.extend(self._row_lines(row, name_width, width))
        return lines

    def _row_lines(self, row: Row, name_width: int, width: int) -> list[str]:
        if row.failed is not None:
            mark, color = "✘", _RED
        elif row.done:
            mark, color = "✔", _GREEN
        elif row.running:
            mark, color = "⠿", _YELLOW
        else:
            mark, color = " ", ""
        label = f"{row.what} {row.name}".ljust(name_width)
        word = row.word or "Waiting"
        line = f" {self._paint(mark, color)} {label} {self._paint(word.ljust(10), color)}"
        tail = []
        if row.done and row.failed is None:
            tail.append(f"{row.seconds:.1f}s")
        if row.cause and (row.replaced or "remove_container" in row.kinds):
            tail.append(row.cause)
        text = line + ("  " + "  ".join(tail) if tail else "")
        out = [_cut(text, width, self.color)]
        if row.failed is not None:
            out.append(_cut(f"     {self._paint(row.failed, _RED)}", width, self.color))
        elif row.output and not row.done:
            out.append(_cut(f"     {self._paint(row.output, _DIM)}", width, self.color))
        return out

    def _paint(self, text: str, color: str) -> str:
        return f"{color}{text}{_RESET}" if self.color and color else text

    def changed(self) -> dict[str, list[str]]:
        """Final word → the resources that ended with it, for the closing summary."""
        out: dict[str, list[str]] = {}
        for row in self.rows.values():
            out.setdefault(row.word or "Waiting", []).append(row.name)
        return out


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _cut(text: str, width: int, color: bool) -> str:
    """``text`` cut to ``width`` visible columns (colour codes do not count)."""
    visible = _ANSI.sub("", text)
    if len(visible) <= width:
        return text
    if not color:
        return visible[:width - 1] + "…"
    return visible[:width - 1] + "…"  # cut lines lose their colour rather than break it


def summary_line(view: LiveView, verb: str, seconds: float) -> str:
    """``up: 3 created, 2 recreated, 1 removed in 4.2s`` (what changed and how long it took)."""
    changed = view.changed()
    parts = [f"{len(names)} {word.lower()}" for word, names in sorted(
        changed.items(), key=lambda kv: -len(kv[1])) if word not in ("Waiting",)]
    return f"{verb}: {', '.join(parts) or 'nothing changed'} in {seconds:.1f}s"


def frame_height(lines: Sequence[str]) -> int:
    return len(lines)
