"""What running a plan tells its caller: one ``Event`` per step of each operation, and an
``Outcome`` at the end.

Pipeline position: produced by ``execute``, rendered by the CLI. Pure values: importing this
module does not import the event loop (an empty plan needs no executor).
"""

from __future__ import annotations

from dataclasses import dataclass

from stackup.core.errors import StackupError
from stackup.core.plan import Kind, Operation, Plan


@dataclass(frozen=True, slots=True)
class Event:
    op_id: str
    kind: Kind
    subject: str  # container, network or volume name; service name for waits
    service: str | None
    phase: str  # "started" | "output" | "done" | "failed" | "skipped" | "not_needed" |
    # "not_run" (a stop request came first); for the whole run (``op_id`` "", ``kind`` GATE,
    # ``subject`` the project): "planned" (first, with ``plan``) | "stopping" | "abandoning"
    # (``cause``: which request, "SIGINT")
    cause: str
    seconds: float  # since the operation started (0 for started and skipped)
    error: str | None = None
    output: str | None = None  # phase "output": one line of build/pull/push output
    plan: Plan | None = None  # phase "planned" (the run's first event, ``op_id`` ""): the plan


@dataclass(frozen=True, slots=True)
class Outcome:
    failed: tuple[tuple[Operation, StackupError], ...] = ()
    skipped: tuple[Operation, ...] = ()
    done: tuple[Operation, ...] = ()
    not_needed: tuple[Operation, ...] = ()  # restore steps and conditional recreates not run
    not_run: tuple[Operation, ...] = ()  # not started because a stop request came first
    stopped_by: str | None = None  # the first stop request (e.g. "SIGINT"), if one came
    abandoned: bool = False  # a second stop request abandoned the operations in progress

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped and not self.not_run
