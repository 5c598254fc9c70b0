"""Lifecycle hooks as plan operations: ``post_start`` after a start, ``pre_stop`` before a stop.

Pipeline position: the last step of ``plan_up``, ``plan_down``, ``plan_stop`` and ``plan_rm``
(pure). For a service with ``post_start`` hooks, each start of one of its containers is followed
by a ``run_hook`` operation, and whatever depended on the start (its dependents, waits, the
removal of a replaced container) depends on the hook instead: the container counts as up once
its hooks ran. For a service with ``pre_stop`` hooks, each stop is preceded by one: the hook
takes the stop's predecessors and the stop waits for the hook. A hook that fails fails its
operation (and so skips what depends on it), as a failed start or stop does. Restore steps are
left as they are. ``restart`` runs no hooks.
"""

from __future__ import annotations

import dataclasses

from stackup.core.plan import Kind, Operation


def add_hooks(ops: list[Operation]) -> list[Operation]:
    """``ops`` with ``run_hook`` operations inserted and edges rewired (see the docstring)."""
    if not any(op.service is not None and (op.service.post_start or op.service.pre_stop)
               for op in ops):
        return ops
    after: dict[str, str] = {}  # start id → its post_start hook id
    out: list[Operation] = []
    for op in ops:
        service = op.service
        if op.kind is Kind.STOP_CONTAINER and service is not None and service.pre_stop \
                and not op.if_failed:
            hook = _hook(op, "pre_stop", op.depends_on)
            out += [hook, dataclasses.replace(op, depends_on=(hook.op_id,))]
            continue
        out.append(op)
        if op.kind is Kind.START_CONTAINER and service is not None and service.post_start \
                and not op.if_failed:
            hook = _hook(op, "post_start", (op.op_id,))
            after[op.op_id] = hook.op_id
            out.append(hook)
    if not after:
        return out
    return [op if op.if_failed or op.kind is Kind.RUN_HOOK else dataclasses.replace(
        op, depends_on=tuple(after.get(d, d) for d in op.depends_on)) for op in out]


def _hook(op: Operation, kind: str, depends_on: tuple[str, ...]) -> Operation:
    return Operation(f"run_hook:{kind}:{op.op_id.split(':', 1)[1]}", Kind.RUN_HOOK,
                     f"{kind} of service {op.service_name}", depends_on=depends_on,
                     when_image=op.when_image, service=op.service, number=op.number,
                     container_name=op.container_name, container_id=op.container_id,
                     hook=kind)
