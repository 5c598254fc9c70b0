"""reconcile for ``down``, ``stop``, ``start``, ``restart`` and ``rm``. Pure, like ``reconcile``.

Pipeline position: ``Project`` (or ``None`` when there is no stack file) + ``ObservedState`` →
**plan_down / plan_stop / ...** → ``Plan`` → ``execute``.

Teardown order: an operation on a service's container depends on the same operation on the
containers of every service that (transitively) depends on it, so dependents stop first while
unrelated services stop in parallel. Without a project (no stack file) nothing is known about
dependencies: everything labelled with the project is acted on at once. Start order is the
reverse: dependencies first.

Only resources carrying this project's label are ever removed; external networks and volumes
declared in the file are never removed even if they carry it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable


from stackup.core.errors import PlanError
from stackup.core.model import Project
from stackup.core.observed import ObservedContainer, ObservedState
from stackup.core.plan import Kind, Operation, Plan
from stackup.reconcile.hooks import add_hooks
from stackup.reconcile._select import (container_op_id, known_services, select,
                                       sorted_containers, start_order, state_cause, stop_order)


def plan_stop(project: Project | None, observed: ObservedState, services: Iterable[str] = (),
              *, timeout: float | None = None) -> Plan:
    """Stop the running containers of the named services (all when none), dependents first."""
    chosen = _chosen(project, observed, services)
    targets = [c for c in chosen if c.running or c.state == "paused"]
    ops = add_hooks(ordered(project, targets, Kind.STOP_CONTAINER, lambda c: c.state,
                            timeout=timeout, dependents_first=True))
    return Plan(observed.project_name, tuple(ops),
                up_to_date=tuple(sorted(c.name for c in chosen if c not in targets)))


def plan_start(project: Project | None, observed: ObservedState,
               services: Iterable[str] = (), *, timeout: float | None = None) -> Plan:
    """Start the stopped containers of the named services (all when none), dependencies first.

    ``timeout`` is accepted for symmetry with the other lifecycle planners and unused."""
    chosen = _chosen(project, observed, services)
    targets = [c for c in chosen if not c.running and c.state not in ("paused", "removing")]
    _networks_present("start", targets)
    ops = add_hooks(ordered(project, targets, Kind.START_CONTAINER, state_cause,
                            dependents_first=False), observed)
    notes = []
    if project is not None:
        present = {c.service for c in observed.containers}
        missing = sorted(n for n in (set(services) or set(project.services)) if n not in present)
        if missing:
            notes.append(f"No containers for {', '.join(missing)}: run `stackup up` to create them.")
    return Plan(observed.project_name, tuple(ops), tuple(notes),
                tuple(sorted(c.name for c in chosen if c not in targets)))


def plan_restart(project: Project | None, observed: ObservedState, services: Iterable[str] = (),
                 *, timeout: float | None = None) -> Plan:
    """Restart every container of the named services (all when none), dependencies first."""
    targets = _chosen(project, observed, services)
    _networks_present("restart", [c for c in targets if not c.running])
    ops = ordered(project, targets, Kind.RESTART_CONTAINER, lambda c: "restart requested",
                   timeout=timeout, dependents_first=False)
    return Plan(observed.project_name, tuple(ops))


def _networks_present(verb: str, targets: Iterable[ObservedContainer]) -> None:
    """A stopped container whose network was removed cannot start (the engine knows the
    network by its old id): refused before anything starts, with the command that mends it."""
    stranded = [c for c in targets if c.gone_networks]
    if stranded:
        gone = sorted({n for c in stranded for n in c.gone_networks})
        raise PlanError(
            f"cannot {verb} {', '.join(c.name for c in stranded)}: "
            f"{'network' if len(gone) == 1 else 'networks'} {', '.join(gone)} "
            f"{'it was' if len(stranded) == 1 else 'they were'} attached to "
            f"{'is' if len(gone) == 1 else 'are'} gone; nothing was started",
            detail="Run `stackup up`: it makes the network again and replaces these containers "
                   "(named volumes are kept).")


def plan_rm(project: Project | None, observed: ObservedState, services: Iterable[str] = (), *,
            stop: bool = False, remove_volumes: bool = False,
            timeout: float | None = None) -> Plan:
    """Remove the stopped containers of the named services; running ones only with ``stop``."""
    chosen = _chosen(project, observed, services)
    running = [c for c in chosen if c.running or c.state == "paused"]
    targets = [c for c in chosen if stop or c not in running]
    ops = stop_then_remove(project, targets, state_cause, timeout=timeout,
                           remove_volumes=remove_volumes)
    notes = []
    if running and not stop:
        notes.append(f"Not removing running containers ({', '.join(c.name for c in running)}): "
                     f"stop them first or use -s/--stop.")
    return Plan(observed.project_name, tuple(ops), tuple(notes))


def stop_then_remove(project: Project | None, targets: list[ObservedContainer],
                     cause: Callable[[ObservedContainer], str], *, timeout: float | None,
                     remove_volumes: bool) -> list[Operation]:
    """Stops dependents first, each as soon as the containers depending on it have stopped; a
    container is removed as soon as it is stopped, while the next layer stops."""
    running = [c for c in targets if c.running or c.state == "paused"]
    ops = ordered(project, running, Kind.STOP_CONTAINER, cause, timeout=timeout,
                  dependents_first=True)
    stop_ids = {op.container_id: op.op_id for op in ops}
    services = known_services(project) if project is not None else {}
    removes = [Operation(container_op_id(Kind.REMOVE_CONTAINER.value, c),
                         Kind.REMOVE_CONTAINER, cause(c),
                         depends_on=(stop_ids[c.container_id],) if c.container_id in stop_ids
                         else (),
                         service=services.get(c.service), number=c.number, container_name=c.name,
                         container_id=c.container_id, timeout=timeout,
                         remove_volumes=remove_volumes, force=c.container_id in stop_ids)
               for c in targets]
    position = {container_id: i for i, container_id in enumerate(stop_ids)}
    removes.sort(key=lambda op: position.get(op.container_id or "", len(position)))
    return add_hooks(ops + removes)


def _chosen(project: Project | None, observed: ObservedState,
            services: Iterable[str]) -> list[ObservedContainer]:
    names = select(project, (c.service for c in observed.containers), services)
    return [c for c in sorted_containers(observed.containers)
            if c.service in names and not c.oneoff]


def ordered(project: Project | None, targets: list[ObservedContainer], kind: Kind,
            cause: Callable[[ObservedContainer], str], *, timeout: float | None = None,
            remove_volumes: bool = False, dependents_first: bool) -> list[Operation]:
    """One op per container; each depends on the same op on the containers of the services it
    must follow, DIRECT edges only: where such a service has no container to act on, the edges
    pass through it to the services beyond (so the order holds and the edge count stays linear
    in services plus dependency edges)."""
    services = known_services(project) if project is not None else {}
    ids: dict[str, str] = {}
    by_service: dict[str, list[str]] = {}
    for c in targets:
        op_id = container_op_id(kind.value, c)
        if op_id in ids.values():
            op_id = f"{op_id}:{c.container_id[:12]}"
        ids[c.container_id] = op_id
        by_service.setdefault(c.service, []).append(op_id)
    order = stop_order(services) if dependents_first else start_order(services)
    before: dict[str, list[str]] = {name: [] for name in services}  # who goes first, directly
    for name, svc in services.items():
        for dep in {d.service for d in svc.depends_on if d.service in services}:
            if dependents_first:
                before[dep].append(name)
            else:
                before[name].append(dep)
    frontier: dict[str, tuple[str, ...]] = {}  # op ids a service's ops (would) wait for
    for name in order:  # every service in ``before[name]`` comes earlier in ``order``
        found: list[str] = []
        for first in sorted(before[name]):
            found.extend(by_service.get(first) or frontier[first])
        frontier[name] = tuple(dict.fromkeys(found))
    rank = {name: i for i, name in enumerate(order)}
    ranked = sorted(targets, key=lambda c: (rank.get(c.service, len(rank)), c.service, c.oneoff,
                                            -c.number if dependents_first else c.number, c.name))
    return [Operation(ids[c.container_id], kind, cause(c), depends_on=frontier.get(c.service, ()),
                      service=services.get(c.service), number=c.number, container_name=c.name,
                      container_id=c.container_id, timeout=timeout,
                      remove_volumes=remove_volumes)
            for c in ranked]
