"""Drift: what changed on the engine behind the stack's back, and whether to heal it.

Pipeline position: beside ``reconcile``, pure (time comes in with the events). ``stackup watch``
feeds it the engine's events for the project (:func:`event_from_engine`) and, every interval,
the plan ``up`` would run; it answers with :class:`Drift` values, each reported once. Rules:

* a container stopped, killed or removed by hand (``kill``/``stop``/``destroy`` events), a
  project network or volume removed: drift, healed by converging the services concerned;
* a container that exits by itself is not drift: when its restart policy restarts it, the
  engine heals it; when it does not, it is reported (``exited``) and left alone. One that exits
  ``loop_exits`` times within ``loop_window`` seconds is reported as crash-looping, again only
  after a doubling backoff, and never healed;
* renamed, updated or paused by hand: reported, not healed (the plan cannot see it; the reason
  says what to run);
* the periodic plan: a missing or changed container, network or volume is drift to heal; a
  container that is only not running is reported (it may be a finished one-shot), not started.

Events are gathered per container until :meth:`Classifier.flush` (called once the stream has
been quiet briefly), so that ``docker rm -f`` (kill, die, destroy) is one drift, not three.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stackup import labels as L
from stackup.model import Project, Service
from stackup.plan import IMAGE_KINDS, PASSIVE, Kind, Plan


@dataclass(frozen=True, slots=True)
class EngineEvent:
    kind: str  # container | network | volume
    action: str  # kill, die, stop, destroy, start, rename, update, pause, oom ...
    actor_id: str  # container id, network id, volume name
    name: str  # container, network or volume name
    time: float  # seconds since the epoch
    service: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)


def event_from_engine(raw: Mapping[str, Any]) -> EngineEvent:
    """One event of the engine's ``/events`` stream as a value."""
    actor = raw.get("Actor") or {}
    attributes = {str(k): str(v) for k, v in (actor.get("Attributes") or {}).items()}
    kind = str(raw.get("Type") or "")
    actor_id = str(actor.get("ID") or "")
    name = attributes.get("name") or actor_id
    nanos = raw.get("timeNano")
    seconds = float(nanos) / 1e9 if nanos else float(raw.get("time") or 0)
    return EngineEvent(kind, str(raw.get("Action") or raw.get("status") or ""), actor_id, name,
                       seconds, attributes.get(L.SERVICE) if kind == "container" else None,
                       attributes)


@dataclass(frozen=True, slots=True)
class Drift:
    kind: str  # removed | stopped | killed | renamed | changed | paused | exited |
    # crash-looping | missing | differs | not-running
    resource: str  # container | network | volume | service
    subject: str  # the container, network, volume or service name
    service: str | None
    reason: str
    heal: bool

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "resource": self.resource, "subject": self.subject,
                "service": self.service, "reason": self.reason, "heal": self.heal}


def restarts_on_exit(service: Service | None, exit_code: int | None) -> bool:
    """Whether the engine restarts a container of ``service`` that exited with ``exit_code``."""
    if service is None:
        return False
    policy = service.restart or ""
    if not policy and service.deploy is not None and service.deploy.restart_policy is not None:
        policy = {"any": "always", "on-failure": "on-failure"}.get(
            service.deploy.restart_policy.condition or "", "")
    if policy in ("always", "unless-stopped"):
        return True
    return policy.startswith("on-failure") and exit_code not in (0, None)


@dataclass(slots=True)
class _Pending:
    name: str
    service: str | None
    kind: str = ""  # the strongest hand-made change seen so far
    reason: str = ""
    exit_code: int | None = None
    died: bool = False
    oom: bool = False
    last: float = 0.0  # time of its latest event


KILL_GRACE = 30.0
SETTLE = 0.5
_STRENGTH = {"": 0, "killed": 1, "stopped": 2, "removed": 3}


class Classifier:
    """Turns events and periodic plans into drift, remembering what it has reported."""

    def __init__(self, project: Project, *, loop_exits: int = 3, loop_window: float = 60.0,
                 backoff: float = 30.0, max_backoff: float = 600.0) -> None:
        self.project = project
        self.loop_exits, self.loop_window = loop_exits, loop_window
        self.backoff, self.max_backoff = backoff, max_backoff
        self._pending: dict[str, _Pending] = {}
        self._resources: list[Drift] = []
        self._exits: dict[str, list[float]] = {}  # container id → times it exited by itself
        self._next_loop_report: dict[str, tuple[float, float]] = {}  # id → (when, backoff)
        self._reported: set[tuple[str, str, str]] = set()  # periodic drift already reported
        self.crash_looping: set[str] = set()  # services

    def feed(self, event: EngineEvent, received: float | None = None) -> list[Drift]:
        """Take one event (``received``: when it arrived, on the clock :meth:`flush` is given;
        default its engine time); returns drift that is complete now (crash loops)."""
        if event.kind != "container":
            if event.action == "destroy":
                self._resources.append(Drift("removed", event.kind, event.name, None,
                                             "removed by hand", True))
            return []
        pending = self._pending.setdefault(event.actor_id, _Pending(event.name, event.service))
        pending.last = max(pending.last, event.time if received is None else received)
        action = event.action
        if action == "kill":
            self._stronger(pending, "killed",
                           f"killed by hand (signal {event.attributes.get('signal', '?')})")
        elif action == "stop":
            self._stronger(pending, "stopped", "stopped by hand")
        elif action == "destroy":
            self._stronger(pending, "removed", "removed by hand")
        elif action == "oom":
            pending.oom = True
        elif action == "die":
            pending.died = True
            code = event.attributes.get("exitCode")
            pending.exit_code = int(code) if code and code.lstrip("-").isdigit() else None
            if not pending.kind:
                return self._exited(event, pending)
        elif action == "start" and pending.kind in ("killed", "stopped"):
            self._pending.pop(event.actor_id)  # started again (by hand or by its policy)
        elif action == "rename":
            old = event.attributes.get("oldName", "").lstrip("/")
            return [Drift("renamed", "container", old or event.name, event.service,
                          f"renamed by hand to {event.name} (rename it back, or run `stackup "
                          f"up --force-recreate {event.service}`)", False)]
        elif action in ("update", "pause"):
            verb = "updated (docker update)" if action == "update" else "paused"
            hint = ("run `stackup up --force-recreate " + str(event.service) + "`"
                    if action == "update" else f"run `docker unpause {event.name}`")
            return [Drift("changed" if action == "update" else "paused", "container",
                          event.name, event.service, f"{verb} by hand ({hint})", False)]
        return []

    def _stronger(self, pending: _Pending, kind: str, reason: str) -> None:
        if _STRENGTH[kind] >= _STRENGTH[pending.kind]:
            pending.kind, pending.reason = kind, reason

    def _exited(self, event: EngineEvent, pending: _Pending) -> list[Drift]:
        """A container exited by itself: not drift unless it loops or stays down."""
        self._pending.pop(event.actor_id, None)
        why = "out of memory" if pending.oom else f"exit code {pending.exit_code}"
        service = self.project.services.get(event.service or "")
        if not restarts_on_exit(service, pending.exit_code):
            return [Drift("exited", "container", event.name, event.service,
                          f"exited by itself ({why}); its restart policy does not restart it, "
                          f"so watch leaves it as it is", False)]
        times = [t for t in self._exits.get(event.actor_id, []) if t > event.time -
                 self.loop_window] + [event.time]
        self._exits[event.actor_id] = times
        if len(times) < self.loop_exits:
            return []
        when, backoff = self._next_loop_report.get(event.actor_id, (0.0, self.backoff))
        if event.time < when:
            return []
        self._next_loop_report[event.actor_id] = (event.time + backoff,
                                                  min(backoff * 2, self.max_backoff))
        if event.service:
            self.crash_looping.add(event.service)
        return [Drift("crash-looping", "container", event.name, event.service,
                      f"crash-looping: exited {len(times)} times in the last "
                      f"{self.loop_window:g} s ({why}); the engine restarts it, watch does not "
                      f"heal it (next report in {backoff:g} s at the earliest)", False)]

    def flush(self, now: float) -> list[Drift]:
        """The hand-made changes gathered so far, one drift per container: a removal at once, a
        kill or stop once the container has died and ``SETTLE`` seconds passed without its
        removal following (``rm -f`` on a busy engine); a signal it survives is no drift and is
        forgotten after ``KILL_GRACE`` seconds."""
        out = self._resources
        self._resources = []
        keep: dict[str, _Pending] = {}
        for container_id in sorted(self._pending, key=lambda c: self._pending[c].name):
            pending = self._pending[container_id]
            if pending.kind == "removed" or (pending.kind and pending.died
                                             and now - pending.last >= SETTLE):
                out.append(Drift(pending.kind, "container", pending.name, pending.service,
                                 pending.reason, True))
            elif pending.kind and (pending.died or now - pending.last < KILL_GRACE):
                keep[container_id] = pending
        self._pending = keep
        return out

    def from_plan(self, plan: Plan) -> tuple[list[Drift], list[Drift]]:
        """Drift seen by comparing the files with the engine (the plan ``up`` would run):
        (all of it, what was not reported before). Each is reported once until it is gone."""
        found: list[Drift] = []
        by_service: dict[str, list[Any]] = {}
        for op in plan.operations:
            if op.kind in PASSIVE or op.kind in IMAGE_KINDS or op.if_failed:
                continue
            if op.service_name is None:
                what = "network" if op.kind == Kind.CREATE_NETWORK else "volume"
                found.append(Drift("missing", what, op.subject, None, op.cause, True))
            else:
                by_service.setdefault(op.service_name, []).append(op)
        for service, ops in sorted(by_service.items()):
            if all(op.kind == Kind.START_CONTAINER for op in ops):
                for op in ops:
                    found.append(Drift("not-running", "container", op.subject, service,
                                       f"not running ({op.cause}); watch starts only what it "
                                       f"saw stopped by hand", False))
                continue
            creates = [op for op in ops if op.kind == Kind.CREATE_CONTAINER] or ops
            causes = "; ".join(sorted({f"{op.subject}: {op.cause}" for op in creates})[:4])
            kinds = {op.kind for op in ops}
            missing = Kind.CREATE_CONTAINER in kinds and kinds <= {Kind.CREATE_CONTAINER,
                                                                   Kind.START_CONTAINER}
            kind = "missing" if missing else "differs"
            found.append(Drift(kind, "service", service, service, causes, True))
        keys = {(d.kind, d.subject, d.reason) for d in found}
        new = [d for d in found if (d.kind, d.subject, d.reason) not in self._reported]
        self._reported = keys
        return found, new

    @property
    def pending(self) -> bool:
        """Whether :meth:`flush` has something to look at."""
        return bool(self._pending or self._resources)
