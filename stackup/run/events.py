"""What running a plan tells its caller: one ``Event`` per step of each operation, and an
``Outcome`` at the end.

Pipeline position: produced by ``execute``, rendered by the CLI. Pure values: importing this
module does not import the event loop (an empty plan needs no executor).
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass, field
from typing import Any

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
    at: float = field(default_factory=time.time, compare=False)  # wall clock, seconds (epoch)


# the progress JSON's resource and verb for each action (``stackup/schemas/progress-event.json``)
VERBS: dict[str, tuple[str, str]] = {
    "create_network": ("network", "create"), "create_volume": ("volume", "create"),
    "pull_image": ("image", "pull"), "build_image": ("image", "build"),
    "push_image": ("image", "push"),
    "create_container": ("container", "create"), "rename_container": ("container", "rename"),
    "start_container": ("container", "start"), "stop_container": ("container", "stop"),
    "restart_container": ("container", "restart"), "remove_container": ("container", "remove"),
    "remove_network": ("network", "remove"), "remove_volume": ("volume", "remove"),
    "wait_healthy": ("service", "wait healthy"), "wait_completed": ("service", "wait completed"),
    "wait_running": ("service", "wait running"),
    "create_service": ("service", "create"), "update_service": ("service", "update"),
    "remove_service": ("service", "remove"), "create_secret": ("secret", "create"),
    "remove_secret": ("secret", "remove"), "create_config": ("config", "create"),
    "remove_config": ("config", "remove"), "wait_service": ("service", "wait converged"),
    "wait_service_completed": ("service", "wait completed"),
}


def rfc3339(seconds: float | None = None) -> str:
    """A wall-clock time (now when None) as RFC 3339 in UTC, to the millisecond:
    ``2026-12-06T19:20:01.123Z``."""
    moment = datetime.datetime.fromtimestamp(time.time() if seconds is None else seconds,
                                             datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def event_json(event: Event) -> dict[str, Any]:
    """One event as the progress JSON object (``--progress json``; schema:
    ``stackup/schemas/progress-event.json``)."""
    action = str(getattr(event.kind, "value", event.kind))
    resource, verb = VERBS.get(action, ("", action))
    record: dict[str, Any] = {
        "time": rfc3339(event.at), "id": event.op_id, "action": action, "resource": resource,
        "verb": verb, "name": event.subject, "service": event.service, "phase": event.phase,
        "cause": event.cause, "seconds": round(event.seconds, 3), "error": event.error}
    if event.phase == "output":
        record["output"] = event.output
    return record


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
