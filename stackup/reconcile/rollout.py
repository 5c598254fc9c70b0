"""Rolling updates on one engine: ``deploy.update_config`` as plan shapes. Pure.

Pipeline position: ``reconcile.up`` hands the replacements of one service here; without an
``update_config`` every replica is replaced at once with ``chains.replace`` (stop-first, as
Compose does). With one, replicas go in batches of ``parallelism`` (default 1; 0: all at once),
``delay`` seconds apart, each batch checked by a ``gate`` that stops the rollout when more than
``max_failure_ratio`` of the replicas failed (``failure_action: pause``, the default, and
``rollback``) or goes on anyway (``continue``). A replica's old container is removed as soon as
its replacement carries the name, except with ``rollback``, where it is kept stopped until the
last check passed.

``order: start-first`` (zero downtime), per replica::

    create <name>-next (no service alias) ─▶ start ─▶ healthy (or running for ``monitor`` s)
      ─▶ new on its networks with the service's aliases ─▶ old off its networks ─▶ stop old ─▶ rename old aside ─▶ rename new to <name>      … then (after the
                                                                     last batch): remove old

The new container gets the service's network aliases only once it is healthy (Docker's DNS
answers for a container as soon as it starts, before its process listens), so DNS by service
name reaches old and new while both can answer; the old one is taken off its networks before it
is stopped, so that no request is sent to a container on its way out. If the new one is not healthy in time it is removed and the old one keeps
running (restore step). With ``failure_action: rollback``, a stopped rollout also rolls back the
replicas of earlier batches: their new containers are removed and the old ones, kept stopped
aside until the end, get their names back and start again. Where start-first cannot work (a
fixed host port, ``container_name``) the plan says so in a note and the service falls back to
stop-first.

``order: stop-first`` replaces each replica as ``chains.replace`` does (the old container is
restored when the new one cannot be created, started or made healthy), in the same batches.
"""

from __future__ import annotations

import dataclasses
from typing import Any
import math
from dataclasses import dataclass

from stackup.core.model import Service, UpdateConfig
from stackup.core.observed import ObservedContainer
from stackup.core.plan import Kind, Operation
from stackup.reconcile import chains

DEFAULT_MONITOR = 5.0  # seconds a new container without healthcheck must keep running


@dataclass(frozen=True, slots=True)
class Replacement:
    shape: chains.Shape  # its create template names this replica
    old: ObservedContainer
    cause: str
    when_image: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Rollout:
    ops: list[Operation]
    ready: list[str]  # after these the replicas are up (what dependents wait for)
    notes: list[str]


def roll(service: Service, replacements: list[Replacement]) -> Rollout:
    config = service.deploy.update_config if service.deploy is not None else None
    if config is None:
        ops: list[Operation] = []
        ready: list[str] = []
        for r in replacements:
            made, up = chains.replace(r.shape, r.old, r.cause, r.when_image)
            ops += made
            ready.append(up)
        return Rollout(ops, ready, [])
    notes: list[str] = []
    order = config.order or "stop-first"
    if order == "start-first":
        reason = _start_first_impossible(service)
        if reason is not None:
            notes.append(f"service {service.name}: update_config.order start-first is not "
                         f"possible ({reason}); replacing stop-first")
            order = "stop-first"
    return _batches(service, config, order, sorted(replacements, key=lambda r: r.old.number),
                    notes)


def _start_first_impossible(service: Service) -> str | None:
    if service.container_name:
        return "container_name gives the container a fixed name"
    fixed = [p for p in service.ports if p.published]
    if fixed:
        return f"host port {fixed[0].published} can be bound by one container only"
    return None


def _verify(service: Service, config: UpdateConfig) -> Operation:
    """The wait that says a new container is good: healthy with a healthcheck, else running for
    ``monitor`` seconds."""
    hc = service.healthcheck
    if hc is not None and not hc.disable and hc.test[:1] != ("NONE",):
        return Operation("wait", Kind.WAIT_HEALTHY, "update_config: healthy", service=service,
                         settle=config.monitor or None)
    return Operation("wait", Kind.WAIT_RUNNING, "update_config: running", service=service,
                     settle=config.monitor if config.monitor is not None else DEFAULT_MONITOR)


def _batches(service: Service, config: UpdateConfig, order: str, todo: list[Replacement],
             notes: list[str]) -> Rollout:
    size = config.parallelism if config.parallelism else len(todo)
    if config.parallelism is None:
        size = 1
    batches = [todo[i:i + size] for i in range(0, len(todo), size)] if todo else []
    action = config.failure_action or "pause"
    allowed = math.floor((config.max_failure_ratio or 0.0) * len(todo) + 1e-9)
    verify = _verify(service, config)
    ops: list[Operation] = []
    ready: list[str] = []
    judged: list[str] = []
    entry: tuple[str, ...] = ()  # what the next batch waits for (success needed)
    entry_after: tuple[str, ...] = ()  # what it follows whatever the outcome (continue)
    gates: list[str] = []
    swaps: list[tuple[Replacement, str]] = []  # start-first: (replica, id of its final rename)
    for index, batch in enumerate(batches, 1):
        label = f"batch {index}/{len(batches)}"
        ends: list[str] = []
        for r in batch:
            shape = dataclasses.replace(r.shape, needs=tuple(dict.fromkeys((*r.shape.needs,
                                                                            *entry))))
            cause = f"{r.cause} ({label}, {order})"
            if order == "start-first":
                made, up, end = _start_first(shape, r, cause, verify, entry_after)
                swaps.append((r, end))
            else:
                made, up = chains.replace(shape, r.old, cause, r.when_image, verify=verify,
                                          entry_after=entry_after)
                end = up
            ops += made
            ready.append(up)
            ends.append(end)
        judged += ends
        gate = Operation(f"gate:{service.name}:{index}", Kind.GATE,
                         f"{label}: at most {allowed} of {len(todo)} replicas may fail "
                         f"(failure_action {action})", after=tuple(ends), service=service,
                         judge=tuple(judged), max_failures=allowed)
        ops.append(gate)
        gates.append(gate.op_id)
        nxt = gate.op_id
        if config.delay and index < len(batches):
            sleep = Operation(f"sleep:{service.name}:{index}", Kind.SLEEP,
                              f"update_config.delay between batches",
                              after=(gate.op_id,) if action == "continue" else (),
                              depends_on=() if action == "continue" else (gate.op_id,),
                              service=service, timeout=config.delay)
            ops.append(sleep)
            nxt = sleep.op_id
        if action == "continue":
            entry, entry_after = (), (nxt,)
        else:
            entry, entry_after = (nxt,), ()
    if order == "start-first":
        ops += _retire_old(swaps, gates[-1] if gates else None, action)
        if action == "rollback":
            ops += _roll_back(swaps, gates)
    return Rollout(ops, ready, notes)


def _start_first(shape: chains.Shape, r: Replacement, cause: str, verify: Operation,
                 entry_after: tuple[str, ...]) -> tuple[list[Operation], str, str]:
    """One replica, new beside old: (ops, ready id, id of the step that completes it)."""
    base, old, when = shape.create, r.old, r.when_image
    service, n, name = base.service, base.number, base.container_name or old.name
    key = f"{service.name if service else ''}:{n}"
    nxt = f"{name}-next"
    create = dataclasses.replace(base, cause=cause, container_name=nxt, depends_on=shape.needs,
                                 after=entry_after, anonymous_volumes=(), when_image=when,
                                 hidden=True)
    start = Operation(f"start_container:{key}", Kind.START_CONTAINER, cause,
                      depends_on=tuple(dict.fromkeys((create.op_id, *shape.after))),
                      service=service, number=n, container_name=nxt, when_image=when)
    check = dataclasses.replace(verify, op_id=f"{verify.kind.value}:{key}:new",
                                depends_on=(start.op_id,), service=service, number=n,
                                watch=(nxt,), when_image=when)
    common: dict[str, Any] = dict(service=service, number=n, container_id=old.container_id,
                  timeout=base.timeout, when_image=when)
    aside = chains.temporary_name(old, name)
    ops = [create, start, check]
    prev = (check.op_id,)
    # healthy: now it gets the service's DNS names (created without them, so that no request
    # reached it before it could answer) ...
    for net_key, network in shape.networks:
        off = Operation(f"disconnect_network:{key}:{net_key}:new", Kind.DISCONNECT_NETWORK,
                        "publish", depends_on=prev, service=service, number=n,
                        container_name=nxt, name=network, when_image=when)
        on = Operation(f"connect_network:{key}:{net_key}:new", Kind.CONNECT_NETWORK, "publish",
                       depends_on=(off.op_id,), service=service, number=n, container_name=nxt,
                       name=net_key, when_image=when)
        ops += [off, on]
        prev = (on.op_id,)
    if old.running:
        # off the networks first: its DNS names go at once, so no new request reaches it
        # while it stops (the new container answers them)
        for net_key, network in shape.networks:
            detach = Operation(f"disconnect_network:{key}:{net_key}", Kind.DISCONNECT_NETWORK,
                               "drain", depends_on=prev, container_name=old.name, name=network,
                               **common)
            ops.append(detach)
            prev = (detach.op_id,)
    if old.running or old.state == "paused":
        stop = Operation(f"stop_container:{key}", Kind.STOP_CONTAINER, "replaced",
                         depends_on=prev, container_name=old.name, **common)
        ops.append(stop)
        prev = (stop.op_id,)
    aside_op = Operation(f"rename_container:{key}", Kind.RENAME_CONTAINER, "make way",
                         depends_on=prev, container_name=old.name, new_name=aside,
                         **common)
    named = Operation(f"rename_container:{key}:new", Kind.RENAME_CONTAINER, cause,
                      depends_on=(aside_op.op_id,), service=service, number=n,
                      container_name=nxt, new_name=name, when_image=when)
    published = tuple(op.op_id for op in ops if op.kind in (Kind.DISCONNECT_NETWORK,
                                                            Kind.CONNECT_NETWORK)
                      and op.op_id.endswith(":new"))
    undo = Operation(f"restore:remove_container:{key}", Kind.REMOVE_CONTAINER,
                     f"restore {old.name}",
                     if_failed=(create.op_id, start.op_id, check.op_id, *published),
                     service=service, number=n, container_name=nxt, force=True,
                     timeout=base.timeout)
    ops += [aside_op, named, undo]
    # up (for dependents and final waits) once the new container carries the name
    return ops, named.op_id, named.op_id


def _retire_old(swaps: list[tuple[Replacement, str]], last_gate: str | None,
                action: str) -> list[Operation]:
    """The old containers, kept stopped aside until the rollout passed its last check."""
    out = []
    for r, end in swaps:
        base = r.shape.create
        key = f"{base.service.name if base.service else ''}:{base.number}"
        needs: tuple[str, ...] = (end,)
        if last_gate is not None and action == "rollback":
            needs = (end, last_gate)  # kept until the rollout passed
        out.append(Operation(f"remove_container:{key}:replaced", Kind.REMOVE_CONTAINER,
                             "replaced", service=base.service, number=base.number,
                             container_id=r.old.container_id,
                             container_name=chains.temporary_name(
                                 r.old, base.container_name or r.old.name),
                             force=True, when_image=r.when_image,
                             depends_on=needs))
    return out


def _roll_back(swaps: list[tuple[Replacement, str]], gates: list[str]) -> list[Operation]:
    """failure_action rollback: when a check fails, every replica already swapped gets its old
    container back (new one removed, old renamed back and started)."""
    out = []
    for r, end in swaps:
        base, old = r.shape.create, r.old
        key = f"{base.service.name if base.service else ''}:{base.number}"
        name = base.container_name or old.name
        aside = chains.temporary_name(old, name)
        common: dict[str, Any] = dict(service=base.service, number=base.number, if_failed=tuple(gates))
        drop = Operation(f"rollback:remove_container:{key}", Kind.REMOVE_CONTAINER,
                         f"rollback {name}", depends_on=(end,), container_name=name,
                         force=True, timeout=base.timeout, **common)
        back = Operation(f"rollback:rename_container:{key}", Kind.RENAME_CONTAINER,
                         f"rollback {name}", depends_on=(drop.op_id,),
                         container_id=old.container_id, container_name=aside, new_name=name,
                         **common)
        out += [drop, back]
        prev = back.op_id
        if old.running:
            for net_key, _ in r.shape.networks:  # it was taken off them to drain
                attach = Operation(f"rollback:connect_network:{key}:{net_key}",
                                   Kind.CONNECT_NETWORK, f"rollback {name}", depends_on=(prev,),
                                   container_id=old.container_id, container_name=name,
                                   name=net_key, **common)
                out.append(attach)
                prev = attach.op_id
            out.append(Operation(f"rollback:start_container:{key}", Kind.START_CONTAINER,
                                 f"rollback {name}", depends_on=(prev,),
                                 container_id=old.container_id, container_name=name,
                                 **common))
    return out
