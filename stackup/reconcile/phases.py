"""Starts wait until every stopped container has let go of its networks. Pure.

Pipeline position: reconcile, the last step of ``plan_up`` (after ``no_start``): Plan in, Plan
out.

Docker Engine 20.10 keeps a count of each network's endpoints; a container start adds one, the
clean-up after a container stops takes one off. When starts and those clean-ups run at the same
time the engine sometimes miscounts, and a count too high leaves the network impossible to
remove ("has active endpoints" with no container attached) until dockerd restarts. The clean-up
is not over when the stop call returns: the engine answers as soon as the process has exited,
and releases the network afterwards, while it holds the container. A rename or removal of that
container waits for it, so the step after each stop (``rename old aside``, ``remove``) marks the
moment its clean-up is done.

So, as Docker Compose does (it stops and removes every replaced container before its start
phase), a plan that stops containers and starts others gets one ``gate`` with no judged
operations: it follows (``after``) every such rename or removal, and every container start or
restart that would not already follow them all follows the gate. The old containers are still
removed only after their replacements started, so a failed start can still put the old one
back. A rename or removal that itself comes after a start (a start-first rollout, a later batch
of a rolling update) is left out, so the gate never waits for a start it holds back. The
operations are then put in an order that respects the new edges (stable otherwise).
"""

from __future__ import annotations

import dataclasses
import heapq

from stackup.core.plan import Kind, Operation, Plan

_STARTS = frozenset({Kind.START_CONTAINER, Kind.RESTART_CONTAINER, Kind.RUN_PRE_START})
GATE_ID = "gate:stops"
GATE_LABEL = "stopped containers released"
GATE_CAUSE = "no start before then (Engine 20.10 miscounts network endpoints)"


def _preds(op: Operation) -> tuple[str, ...]:
    extra = (op.when_image[0],) if op.when_image is not None else ()
    return (*op.depends_on, *op.after, *op.if_failed, *extra)


def starts_after_stops(plan: Plan) -> Plan:
    """``plan`` with its starts held until its stopped containers are released (see above)."""
    ops = plan.operations
    if not any(op.kind is Kind.STOP_CONTAINER for op in ops):
        return plan
    index = {op.op_id: i for i, op in enumerate(ops)}
    stops = {op.op_id for op in ops if op.kind is Kind.STOP_CONTAINER and not op.if_failed}
    # ancestors as bit sets (bit i: ops[i]); a start among them: "after a start"
    ancestors: list[int] = [0] * len(ops)
    after_start: list[bool] = [False] * len(ops)
    done: list[bool] = [False] * len(ops)

    def visit(i: int) -> None:  # iterative: a long chain must not exhaust the stack
        stack = [(i, False)]
        while stack:
            j, expanded = stack.pop()
            if done[j]:
                continue
            preds = [index[p] for p in _preds(ops[j]) if p in index]
            if not expanded:
                stack.append((j, True))
                stack.extend((p, False) for p in preds if not done[p])
                continue
            bits, started = 0, False
            for p in preds:
                bits |= ancestors[p] | (1 << p)
                started = started or after_start[p] or ops[p].kind in _STARTS
            ancestors[j], after_start[j], done[j] = bits, started, True

    for i in range(len(ops)):
        visit(i)
    released = [i for i, op in enumerate(ops)
                if op.kind in (Kind.RENAME_CONTAINER, Kind.REMOVE_CONTAINER) and not op.if_failed
                and any(d in stops for d in op.depends_on) and not after_start[i]]
    if not released:
        return plan
    need = 0
    for i in released:
        need |= 1 << i
    unsure = [i for i, op in enumerate(ops) if op.kind in _STARTS and not op.if_failed
              and ancestors[i] & need != need]
    unsure_bits = 0
    for i in unsure:
        unsure_bits |= 1 << i
    # a start after another such start follows the gate through it: no edge of its own
    held = [i for i in unsure if not ancestors[i] & unsure_bits]
    if not held:
        return plan
    held_bits = 0
    for i in held:
        held_bits |= 1 << i
    gate = Operation(GATE_ID, Kind.GATE, GATE_CAUSE, after=tuple(ops[i].op_id for i in released),
                     name=GATE_LABEL)
    changed = [*ops, gate]
    later = [bool(ancestors[i] & held_bits) or i in held for i in range(len(ops))] + [False]
    for i in held:
        changed[i] = dataclasses.replace(ops[i], after=(*ops[i].after, GATE_ID))
    # what the gate holds back (and what follows it) comes after everything else, each part in
    # the plan's order
    keys = [(later[i], i) for i in range(len(changed))]
    return dataclasses.replace(plan, operations=_ordered(changed, keys))


def _ordered(ops: list[Operation], keys: list[tuple[bool, int]]) -> tuple[Operation, ...]:
    """``ops`` in an order where every operation comes after its predecessors, by ``keys``
    wherever the edges allow (Kahn's algorithm, lowest key first)."""
    index = {op.op_id: i for i, op in enumerate(ops)}
    waiting = [0] * len(ops)
    successors: list[list[int]] = [[] for _ in ops]
    for i, op in enumerate(ops):
        for p in dict.fromkeys(_preds(op)):
            if p in index:
                waiting[i] += 1
                successors[index[p]].append(i)
    ready = [(keys[i], i) for i, n in enumerate(waiting) if n == 0]
    heapq.heapify(ready)
    out: list[Operation] = []
    while ready:
        _, i = heapq.heappop(ready)
        out.append(ops[i])
        for s in successors[i]:
            waiting[s] -= 1
            if waiting[s] == 0:
                heapq.heappush(ready, (keys[s], s))
    if len(out) != len(ops):  # a cycle: cannot happen by construction (the gate waits for
        raise ValueError("the plan's operations form a cycle")  # nothing that follows a start)
    return tuple(out)
