"""Lifecycle hooks as plan operations: ``post_start`` after a start, ``pre_stop`` before a stop.

Pipeline position: the last step of ``plan_up``, ``plan_down``, ``plan_stop`` and ``plan_rm``
(pure). For a service with ``post_start`` hooks, each start of one of its containers is followed
by a ``run_hook`` operation, and whatever depended on the start (its dependents, waits, the
removal of a replaced container) depends on the hook instead: the container counts as up once
its hooks ran. For a service with ``pre_stop`` hooks, each stop is preceded by one: the hook
takes the stop's predecessors and the stop waits for the hook. A hook that fails fails its
operation (and so skips what depends on it), as a failed start or stop does. Restore steps are
left as they are. ``restart`` runs no hooks.

``pre_start`` hooks (as Compose runs them) come first: for a service the plan starts while none
of its replicas stays running (the ones running before are stopped by the plan, or there are
none), one ``run_pre_start`` operation per hook, in order, each after the previous; the first
takes the predecessors of the service's starts (its creates, its dependencies' waits) and the
stops of its old containers, and every start of the service waits for the last. The operation
names the service's lowest-numbered replica it starts (whose volumes the hook shares, as
Compose's ``VolumesFrom``). A failing hook fails its operation, so the service's starts are
skipped.
"""

from __future__ import annotations

import dataclasses

from stackup.core.observed import ObservedState
from stackup.core.plan import Kind, Operation


def _add_pre_start(ops: list[Operation], observed: ObservedState) -> list[Operation]:
    starts: dict[str, list[Operation]] = {}
    for op in ops:
        if op.kind is Kind.START_CONTAINER and op.service is not None \
                and op.service.pre_start and not op.if_failed:
            starts.setdefault(op.service.name, []).append(op)
    if not starts:
        return ops
    stopped = {op.target for op in ops if not op.if_failed and (
        op.kind is Kind.STOP_CONTAINER or (op.kind is Kind.REMOVE_CONTAINER and op.force))}
    staying = {c.service for c in observed.containers
               if c.running and not c.oneoff and c.container_id not in stopped
               and c.name not in stopped}
    last: dict[str, str] = {}  # start id → the last pre_start hook it waits for
    hooks: dict[str, list[Operation]] = {}  # the first start of a service → its hooks
    for name, service_starts in starts.items():
        if name in staying:
            continue
        service = service_starts[0].service
        assert service is not None
        creates = {op.op_id: op for op in ops if op.kind is Kind.CREATE_CONTAINER
                   and op.service_name == name and not op.if_failed}
        first = dict.fromkeys(d for s in service_starts for d in s.depends_on)
        first.update(dict.fromkeys(op.op_id for op in ops if op.service_name == name
                                   and op.kind is Kind.STOP_CONTAINER and not op.if_failed))
        image = next((op.image for op in creates.values() if op.image), None)
        replica = min(service_starts, key=lambda s: s.number or 0)  # its volumes are shared
        chain: list[Operation] = []
        for i, hook in enumerate(service.pre_start, start=1):
            chain.append(Operation(
                f"run_pre_start:{name}:{i}", Kind.RUN_PRE_START,
                f"pre_start hook {i} of service {name}",
                depends_on=(chain[-1].op_id,) if chain else tuple(first),
                when_image=service_starts[0].when_image, service=service, number=i,
                container_name=replica.container_name, container_id=replica.container_id,
                image=hook.image or image, hook="pre_start"))
        hooks[service_starts[0].op_id] = chain
        for s in service_starts:
            last[s.op_id] = chain[-1].op_id
    out: list[Operation] = []
    for op in ops:
        out += hooks.get(op.op_id, [])
        out.append(dataclasses.replace(op, depends_on=(*op.depends_on, last[op.op_id]))
                   if op.op_id in last else op)
    return out


def add_hooks(ops: list[Operation], observed: ObservedState | None = None) -> list[Operation]:
    """``ops`` with ``run_pre_start`` and ``run_hook`` operations inserted and edges rewired
    (see the docstring); ``observed``: the engine before the plan (no ``pre_start`` without)."""
    if observed is not None:
        ops = _add_pre_start(ops, observed)
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
