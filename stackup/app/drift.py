"""Drift: what changed on the engine behind the stack's back, and whether to heal it.

Pipeline position: beside ``reconcile``, pure (time comes in with the events). ``stackup drift``
feeds it the engine's events for the project (:func:`event_from_engine`) and, every interval,
the plan ``up`` would run with the engine's state it was made from; it answers with
:class:`Drift` values, each reported once.

The desired state of a service's containers is *running*, as ``up`` leaves them, except for a
one-shot that finished (:func:`finished_one_shot`). So:

* a container stopped, killed or removed (``stop``/``kill``/``destroy`` events, or found not
  running by the periodic plan), whatever did it, a project network or volume removed, a
  container whose config-hash label or networks differ from the files: drift, healed by
  converging the services concerned;
* a container that exits by itself is drift only when nothing restarts it: its restart policy
  (``always``, ``unless-stopped``, ``on-failure`` with a non-zero code) lets the engine heal it;
  one that exits ``loop_exits`` times within ``loop_window`` seconds is reported as
  crash-looping, again only after a doubling backoff, and no longer healed;
* a finished one-shot is reported, not started again: it exited with code 0 without being
  stopped by hand, and its restart policy does not restart it (unset, ``no``, ``on-failure``);
  or another service waits for it to complete (``service_completed_successfully``);
* renamed, updated or paused by hand: reported, not healed (the plan cannot see it; the reason
  says what to run).

Events are gathered per container until :meth:`Classifier.flush` (called once the stream has
been quiet briefly), so that ``docker rm -f`` (kill, die, destroy) is one drift, not three.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stackup.core import labels as L
from stackup.core.model import Project, Service
from stackup.core.observed import ObservedState
from stackup.core.plan import IMAGE_KINDS, PASSIVE, Kind, Plan


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


def restart_policy(service: Service | None) -> str:
    """The service's restart policy as the engine applies it ("" when none)."""
    if service is None:
        return ""
    policy = service.restart or ""
    if not policy and service.deploy is not None and service.deploy.restart_policy is not None:
        policy = {"any": "always", "on-failure": "on-failure"}.get(
            service.deploy.restart_policy.condition or "", "")
    return "" if policy == "no" else policy


def restarts_on_exit(service: Service | None, exit_code: int | None) -> bool:
    """Whether the engine restarts a container of ``service`` that exited with ``exit_code``."""
    policy = restart_policy(service)
    if policy in ("always", "unless-stopped"):
        return True
    return policy.startswith("on-failure") and exit_code not in (0, None)


def awaited_completion(project: Project, service_name: str) -> bool:
    """Whether another service waits for ``service_name`` to complete: a one-shot."""
    return any(dep.service == service_name and dep.condition == "service_completed_successfully"
               for s in project.services.values() for dep in s.depends_on)


def finished_one_shot(project: Project, service_name: str | None, exit_code: int | None) -> str:
    """Why a stopped container of ``service_name`` is a one-shot that finished and is left as
    it is ("" when its desired state is running). Not for one seen stopped by hand."""
    service = project.services.get(service_name or "")
    if service is None:
        return ""
    if awaited_completion(project, service.name):
        return "a one-shot: another service waits for it to complete"
    policy = restart_policy(service)
    if exit_code == 0 and policy not in ("always", "unless-stopped"):
        return (f"finished: exited 0 and its restart policy ({policy or 'no'}) does not restart "
                f"it")
    return ""


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
    signals: list[str] = field(default_factory=list)  # the kill events' signals, in order


KILL_GRACE = 30.0
SETTLE = 0.5
STOP_WAIT = 5.0  # after a death by a catchable signal: docker stop's own event may follow
_KILL = ("9", "SIGKILL", "KILL")
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
        self.by_hand: set[str] = set()  # containers seen stopped or killed, until they run

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
            pending.signals.append(event.attributes.get("signal", "?"))
            if len(pending.signals) > 1 and pending.signals[-1] in _KILL:
                # docker stop: its stop signal, then SIGKILL once the grace period is over
                self._stronger(pending, "stopped", f"stopped by hand (signal "
                               f"{pending.signals[0]}, then 9 after the grace period)")
            else:
                self._stronger(pending, "killed", f"killed by hand (signal {pending.signals[-1]})")
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
        elif action == "start":
            self.by_hand.discard(event.name)
            if pending.kind in ("killed", "stopped"):
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
        """A container exited by itself: drift to heal unless its restart policy restarts it
        or it is a finished one-shot; reported as crash-looping when it keeps exiting."""
        self._pending.pop(event.actor_id, None)
        why = "out of memory" if pending.oom else f"exit code {pending.exit_code}"
        service = self.project.services.get(event.service or "")
        finished = finished_one_shot(self.project, event.service, pending.exit_code)
        if finished:
            return [Drift("exited", "container", event.name, event.service,
                          f"exited by itself ({why}), {finished}: drift leaves it as it is",
                          False)]
        times = [t for t in self._exits.get(event.actor_id, []) if t > event.time -
                 self.loop_window] + [event.time]
        self._exits[event.actor_id] = times
        if len(times) >= self.loop_exits:
            when, backoff = self._next_loop_report.get(event.actor_id, (0.0, self.backoff))
            if event.time < when:
                return []
            self._next_loop_report[event.actor_id] = (event.time + backoff,
                                                      min(backoff * 2, self.max_backoff))
            if event.service:
                self.crash_looping.add(event.service)
            who = "the engine restarts it, " if restarts_on_exit(service, pending.exit_code) \
                else ""
            return [Drift("crash-looping", "container", event.name, event.service,
                          f"crash-looping: exited {len(times)} times in the last "
                          f"{self.loop_window:g} s ({why}); {who}drift no longer heals it "
                          f"(next report in {backoff:g} s at the earliest)", False)]
        if restarts_on_exit(service, pending.exit_code):
            return []  # the engine restarts it
        policy = restart_policy(service) or "no"
        return [Drift("exited", "container", event.name, event.service,
                      f"exited by itself ({why}) and its restart policy ({policy}) does not "
                      f"restart it; its desired state is running", True)]

    def flush(self, now: float) -> list[Drift]:
        """The hand-made changes gathered so far, one drift per container: a removal at once, a
        kill or stop once the container has died and ``SETTLE`` seconds passed without its
        removal following (``rm -f`` on a busy engine), ``STOP_WAIT`` seconds after a death by
        a catchable signal (``docker stop``'s ``stop`` event comes only once the engine has
        cleaned up); a signal it survives is no drift and is forgotten after ``KILL_GRACE``
        seconds."""
        out = self._resources
        self._resources = []
        keep: dict[str, _Pending] = {}
        for container_id in sorted(self._pending, key=lambda c: self._pending[c].name):
            pending = self._pending[container_id]
            caught = pending.kind == "killed" and pending.signals[-1] not in _KILL
            quiet = STOP_WAIT if caught else SETTLE
            if pending.kind == "removed" or (pending.kind and pending.died
                                             and now - pending.last >= quiet):
                out.append(Drift(pending.kind, "container", pending.name, pending.service,
                                 pending.reason, True))
                if pending.kind != "removed":
                    self.by_hand.add(pending.name)
            elif pending.kind and (pending.died or now - pending.last < KILL_GRACE):
                keep[container_id] = pending
        self._pending = keep
        return out

    def from_plan(self, plan: Plan, observed: ObservedState | None = None
                  ) -> tuple[list[Drift], list[Drift]]:
        """Drift seen by comparing the desired state with the engine (the plan ``up`` would
        run, and the state it was made from): (all of it, what was not reported before).
        Each is reported once until it is gone."""
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
        exit_codes = {c.name: c.exit_code for c in observed.containers} if observed else {}
        stopped: set[str] = set()
        for service, ops in sorted(by_service.items()):
            if all(op.kind == Kind.START_CONTAINER for op in ops):
                for op in ops:
                    stopped.add(op.subject)
                    found.append(self._not_running(service, op.subject, op.cause,
                                                   exit_codes.get(op.subject)))
                continue
            creates = [op for op in ops if op.kind == Kind.CREATE_CONTAINER] or ops
            causes = "; ".join(sorted({f"{op.subject}: {op.cause}" for op in creates})[:4])
            kinds = {op.kind for op in ops}
            missing = Kind.CREATE_CONTAINER in kinds and kinds <= {Kind.CREATE_CONTAINER,
                                                                   Kind.START_CONTAINER}
            kind = "missing" if missing else "differs"
            found.append(Drift(kind, "service", service, service, causes, True))
        self.by_hand &= stopped  # the others run again (or are gone)
        keys = {(d.kind, d.subject, d.reason) for d in found}
        new = [d for d in found if (d.kind, d.subject, d.reason) not in self._reported]
        self._reported = keys
        return found, new

    def _not_running(self, service: str, container: str, cause: str,
                     exit_code: int | None) -> Drift:
        """A container the plan would start: healed unless it is a finished one-shot (and
        was not seen stopped by hand) or its service crash-loops."""
        if service in self.crash_looping:
            return Drift("not-running", "container", container, service,
                         f"not running ({cause}); crash-looping, so drift does not start it",
                         False)
        finished = "" if container in self.by_hand else \
            finished_one_shot(self.project, service, exit_code)
        if finished:
            return Drift("not-running", "container", container, service,
                         f"not running ({cause}), {finished}: drift leaves it (`stackup up` "
                         f"runs it again)", False)
        return Drift("not-running", "container", container, service,
                     f"not running ({cause}); its desired state is running", True)

    @property
    def pending(self) -> bool:
        """Whether :meth:`flush` has something to look at."""
        return bool(self._pending or self._resources)
