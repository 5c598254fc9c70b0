"""``create`` (``up`` without starting anything): a converge plan with its starts taken out.

Pipeline position: reconcile, after ``plan_up``. Pure: Plan in, Plan out. Dropped: starts and
restarts of containers (a restore step that restarts the old container when its replacement
could not be made stays), and waits. Every edge to a dropped operation is replaced by that
operation's own predecessors, so the order of what is left does not change: a replaced
container is removed once its successor is created, as Compose's ``create`` does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from stackup.core.plan import Kind, Operation, Plan

_STARTS = frozenset({Kind.START_CONTAINER, Kind.RESTART_CONTAINER, Kind.RUN_PRE_START, Kind.WAIT_HEALTHY,
                     Kind.WAIT_COMPLETED, Kind.WAIT_RUNNING})


def _dropped(op: Operation) -> bool:
    return op.kind in _STARTS and not op.if_failed


def without_starts(plan: Plan) -> Plan:
    """``plan`` minus its starts and waits, edges rewired through what was dropped."""
    dropped = {op.op_id: op for op in plan.operations if _dropped(op)}
    if not dropped:
        return plan

    def through(ids: Iterable[str]) -> tuple[str, ...]:
        out: list[str] = []
        for op_id in ids:
            if op_id in dropped:
                out.extend(through(dropped[op_id].depends_on))
            else:
                out.append(op_id)
        return tuple(dict.fromkeys(out))

    kept = []
    for op in plan.operations:
        if op.op_id in dropped:
            continue
        kept.append(dataclasses.replace(
            op, depends_on=through(op.depends_on),
            if_failed=tuple(i for i in op.if_failed if i not in dropped)))
    return dataclasses.replace(plan, operations=tuple(kept))
