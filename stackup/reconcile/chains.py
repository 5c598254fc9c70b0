"""The operation shapes of one container: create, start, replace, remove. Pure.

Pipeline position: used by ``reconcile.up`` (and ``down``) to turn a decision about one replica
into engine-sized operations with their direct edges. Each function returns the operations and
the id of the operation after which the replica is up (``ready``), if any.

A replacement (recreate) is, in order::

    stop old ─▶ rename old to <id12>_<name> ─▶ create new ─▶ start new ─▶ remove old

plus three restore steps that run only if the rename, create or start failed (``if_failed``):
remove the half-made new container (gone is fine), give the old one its name back, start it
again (when it was running). With ``when_image`` every step runs only if the planned build or
pull changed the image id.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from collections.abc import Sequence
from dataclasses import dataclass

from stackup.core.observed import ObservedContainer
from stackup.core.plan import Kind, Operation


@dataclass(frozen=True, slots=True)
class Shape:
    """The parts every container operation of one replica shares."""

    create: Operation  # the create operation template: id, service, number, name, config...
    needs: tuple[str, ...]  # what creating needs: image, networks, volumes, a joined container
    after: tuple[str, ...]  # what starting needs besides the create: the services depended on
    declared_volumes: frozenset[str] = frozenset()  # engine names of the project's volumes
    networks: tuple[tuple[str, str], ...] = ()  # the service's networks: (key, engine name)
    renew_anonymous: bool = False  # -V: a replacement does not take over anonymous volumes


def temporary_name(container: ObservedContainer, name: str) -> str:
    return f"{container.container_id[:12]}_{name}"


def fresh(shape: Shape) -> tuple[list[Operation], str]:
    """A missing replica: create, then start."""
    create = dataclasses.replace(shape.create, depends_on=shape.needs)
    start = _start(shape, create.op_id, create.cause)
    return [create, start], start.op_id


def replace(shape: Shape, old: ObservedContainer, cause: str,
            when_image: tuple[str, str] | None = None, *, verify: Operation | None = None,
            entry_after: tuple[str, ...] = ()) -> tuple[list[Operation], str]:
    """Replace ``old`` by a new container with the same name (see the module docstring).

    ``verify``, a wait template (kind, settle), is checked between the start of the new container
    and the removal of the old one (a rolling update's health check; a failure restores the old
    one); ``entry_after`` orders the first step after a previous batch, whatever its outcome."""
    base = shape.create
    n, service, name = base.number, base.service, base.container_name
    key = f"{service.name if service else ''}:{n}"
    ops: list[Operation] = []
    prev: tuple[str, ...] = shape.needs
    common: dict[str, Any] = dict(service=service, number=n, container_id=old.container_id,
                  timeout=base.timeout, when_image=when_image)
    if old.running or old.state == "paused":
        stop = Operation(f"stop_container:{key}", Kind.STOP_CONTAINER, cause, depends_on=prev,
                         after=entry_after, container_name=old.name,
                         **common)
        ops.append(stop)
        prev = (stop.op_id,)
        entry_after = ()
    aside = temporary_name(old, name or old.name)
    renamed: tuple[str, ...] = ()
    if old.name != aside:
        rename = Operation(f"rename_container:{key}", Kind.RENAME_CONTAINER, "make way",
                           depends_on=prev, after=entry_after, container_name=old.name,
                           new_name=aside, **common)
        ops.append(rename)
        prev = (rename.op_id,)
        renamed = (rename.op_id,)
    create = dataclasses.replace(
        base, cause=cause, depends_on=tuple(dict.fromkeys((*prev, *shape.needs))),
        anonymous_volumes=_inherited(old, shape), when_image=when_image)
    start = _start(shape, create.op_id, cause, when_image)
    ops += [create, start]
    last = start.op_id
    made: tuple[str, ...] = (create.op_id, start.op_id)
    if verify is not None:
        check = dataclasses.replace(verify, op_id=f"{verify.kind.value}:{key}:new",
                                    depends_on=(start.op_id,), service=service, number=n,
                                    watch=(name or "",), when_image=when_image)
        ops.append(check)
        last = check.op_id
        made = (*made, check.op_id)
    remove = Operation(f"remove_container:{key}:replaced", Kind.REMOVE_CONTAINER, "replaced",
                       depends_on=(last,), container_name=aside, force=True,
                       **common)
    ops.append(remove)
    # A failed rename leaves the old container under its name: only a failed create or start
    # (or health check) leaves a new container to remove and the old one to name back.
    failed = (*renamed, *made)
    undo = Operation(f"restore:remove_container:{key}", Kind.REMOVE_CONTAINER,
                     f"restore {old.name}", if_failed=made, service=service, number=n,
                     container_name=name, force=True, timeout=base.timeout)
    back = Operation(f"restore:rename_container:{key}", Kind.RENAME_CONTAINER,
                     f"restore {old.name}", depends_on=(undo.op_id,), if_failed=made,
                     service=service, number=n, container_id=old.container_id,
                     container_name=aside, new_name=old.name)
    ops += [undo, back]
    if old.running:
        ops.append(Operation(f"restore:start_container:{key}", Kind.START_CONTAINER,
                             f"restore {old.name}", depends_on=(back.op_id,), if_failed=failed,
                             service=service, number=n, container_id=old.container_id,
                             container_name=old.name))
    return ops, last


def _start(shape: Shape, create_id: str, cause: str,
           when_image: tuple[str, str] | None = None) -> Operation:
    base = shape.create
    key = f"{base.service.name if base.service else ''}:{base.number}"
    return Operation(f"start_container:{key}", Kind.START_CONTAINER, cause,
                     depends_on=tuple(dict.fromkeys((create_id, *shape.after))),
                     service=base.service, number=base.number,
                     container_name=base.container_name, when_image=when_image)


def _inherited(old: ObservedContainer, shape: Shape) -> tuple[tuple[str, str], ...]:
    """The anonymous volumes of ``old`` that the new container takes over (the project's named
    volumes are mounted by name anyway)."""
    if shape.renew_anonymous:
        return ()
    return tuple((path, volume) for path, volume in old.volume_mounts
                 if volume not in shape.declared_volumes)


def existing(kind: Kind, key: str, c: ObservedContainer, cause: str, op: Operation,
             depends_on: Sequence[str] = ()) -> Operation:
    """An operation on an existing container (start, stop, restart, remove)."""
    return Operation(f"{kind.value}:{key}", kind, cause, depends_on=tuple(depends_on),
                     service=op.service, number=c.number, container_name=c.name,
                     container_id=c.container_id, timeout=op.timeout)


def retire(key: str, c: ObservedContainer, cause: str, op: Operation,
           depends_on: Sequence[str] = (), remove_volumes: bool = False) -> list[Operation]:
    """Stop (when running) and remove an existing container (forced: see below)."""
    ops: list[Operation] = []
    deps = tuple(depends_on)
    if c.running or c.state == "paused":
        stop = existing(Kind.STOP_CONTAINER, key, c, cause, op, deps)
        ops.append(stop)
        deps = (stop.op_id,)
    # forced even when seen stopped: a start still in flight from a run killed before this
    # one may have started it since (the engine finishes a dead client's requests)
    ops.append(dataclasses.replace(existing(Kind.REMOVE_CONTAINER, key, c, cause, op, deps),
                                   force=True, remove_volumes=remove_volumes))
    return ops


def after_removals(ops: list[Operation], gone: dict[str, str]) -> list[Operation]:
    """A container created or renamed under the name of one that ``gone`` removes (the
    ``<name>-next`` left by an interrupted start-first rollout) waits for that removal."""
    out = []
    for op in ops:
        name = op.new_name if op.kind is Kind.RENAME_CONTAINER else \
            op.container_name if op.kind is Kind.CREATE_CONTAINER else None
        removal = gone.get(name or "")
        if removal is not None and removal != op.op_id and removal not in op.depends_on:
            op = dataclasses.replace(op, depends_on=(*op.depends_on, removal))
        out.append(op)
    return out
