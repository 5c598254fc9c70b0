"""What the agent knows about each stack, for the API, the status page, metrics and notices.

Pipeline position: written by ``service`` from each sync's ``SyncResult``, read by ``web``.
Values only. States: ``synced``, ``syncing``, ``waiting-approval``, ``failed`` (the stack file
does not load, the plan cannot be made, or an apply failed and stayed), ``rolled-back`` (an
apply failed and the last good revision runs again), ``drifted`` (the engine differs from the
desired state and the agent does not heal it), ``error`` (the source cannot be read). Only
``synced`` is a success. Nothing here holds a secret value: plan changes come masked from
``redact`` (through the plan's own ``changes``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stackup.core.plan import Plan

STATES = ("synced", "syncing", "waiting-approval", "failed", "rolled-back", "drifted", "error")
SUCCESS = "synced"


@dataclass(frozen=True, slots=True)
class PlanView:
    """A plan as people and scripts see it: summary line, text, field-level changes."""

    summary: str
    text: str
    operations: tuple[dict[str, Any], ...]

    def as_json(self) -> dict[str, Any]:
        return {"summary": self.summary, "text": self.text, "operations": list(self.operations)}


def plan_view(plan: Plan) -> PlanView:
    from stackup.core.redact import change_text
    from stackup.core.render import plan_text

    text = plan_text(plan, diff=True)
    lines = [line for line in text.splitlines() if line.startswith(("Plan:", "No changes"))]
    ops = tuple({"id": op.op_id, "action": op.kind.value, "subject": op.subject,
                 "service": op.service_name, "cause": op.cause,
                 "changes": [{"path": c.path, "old": c.old, "new": c.new,
                              "sensitive": c.sensitive, "text": change_text(c)}
                             for c in op.changes]}
                for op in plan.operations if not op.if_failed)
    return PlanView(lines[0] if lines else "", text, ops)


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What one sync did. ``state`` is the stack's state afterwards; ``event`` what to tell
    people (None: nothing new, e.g. a poll that found the head where it was)."""

    state: str
    event: str | None = None  # synced | failed | rolled-back | waiting-approval | drift-healed
    # | drifted | error
    commit: str | None = None
    author: str = ""
    message: str = ""
    reason: str = ""  # why it is not synced ("" when it is)
    failing_service: str | None = None
    plan: PlanView | None = None
    revision: int | None = None  # the revision recorded (the rollback's, after a rollback)
    pending_digest: str | None = None  # waiting-approval: the saved plan's digest
    applied: bool = False  # something ran on the engine


@dataclass(slots=True)
class StackStatus:
    name: str
    project: str
    target: str = "engine"  # agent.yaml's ``target``
    drift_scope: str = ""  # what drift means on that target, when it is not everything
    state: str = "syncing"
    commit: str | None = None
    author: str = ""
    message: str = ""
    reason: str = ""
    failing_service: str | None = None
    last_result: str | None = None  # the state the last finished sync ended in
    last_start: str | None = None  # RFC 3339, UTC
    last_duration: float | None = None  # seconds
    last_success: float | None = None  # unix time of the last sync that ended synced
    plan: PlanView | None = None
    pending_digest: str | None = None
    syncs: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)

    def apply(self, result: SyncResult) -> None:
        self.state = result.state
        if result.commit is not None:
            self.commit, self.author, self.message = result.commit, result.author, \
                result.message
        self.reason, self.failing_service = result.reason, result.failing_service
        if result.plan is not None:
            self.plan = result.plan
        self.pending_digest = result.pending_digest
        self.last_result = result.state

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "project": self.project, "target": self.target,
                "drift_scope": self.drift_scope or None, "state": self.state,
                "ok": self.state == SUCCESS, "commit": self.commit,
                "author": self.author, "message": self.message, "reason": self.reason,
                "failing_service": self.failing_service,
                "last_sync": {"result": self.last_result, "start": self.last_start,
                              "duration": self.last_duration},
                "plan_summary": self.plan.summary if self.plan else None,
                "pending_plan": self.pending_digest}

    def details(self) -> dict[str, Any]:
        return {**self.summary(), "plan": self.plan.as_json() if self.plan else None,
                "history": self.history}
