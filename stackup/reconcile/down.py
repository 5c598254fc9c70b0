"""reconcile for ``down``. Pure, like ``reconcile.up``.

Pipeline position: ``Project`` (or ``None`` when there is no stack file) + ``ObservedState`` →
**plan_down** → ``Plan`` → ``execute``.

Teardown order: a stop of a service's container depends on the stops of the containers of the
services that directly depend on it, so dependents stop first while unrelated services stop in
parallel. Without a project (no stack file) nothing is known about dependencies: everything
labelled with the project is acted on at once. Only resources carrying this project's label are
ever removed; external networks and volumes declared in the file are never removed even if they
carry it. With ``-v`` that includes the anonymous volumes stackup labelled when it created their
containers, also after a plain ``down`` removed those containers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from stackup.core.labels import ANONYMOUS_VOLUME
from stackup.core.model import Network, Project, Volume
from stackup.core.observed import ObservedContainer, ObservedNetwork, ObservedState, ObservedVolume
from stackup.core.plan import Kind, Operation, Plan
from stackup.reconcile._select import known_services, sorted_containers
from stackup.reconcile.lifecycle import stop_then_remove


def plan_down(project: Project | None, observed: ObservedState, *, remove_volumes: bool = False,
              remove_orphans: bool = False, timeout: float | None = None,
              ignore_orphans: bool = False) -> Plan:
    """Stop and remove the project's containers, then its networks (and volumes)."""
    known = set(known_services(project)) if project is not None else None
    containers = sorted_containers(observed.containers)
    orphans = [c for c in containers if known is not None and c.service not in known]
    targets = [c for c in containers if c not in orphans or remove_orphans]
    notes: list[str] = []
    if orphans and not remove_orphans and not ignore_orphans:
        notes.append(f"Found orphan containers ({', '.join(c.name for c in orphans)}) for this "
                     f"project. Run with --remove-orphans to remove them (the project's "
                     f"networks cannot be removed while they use them).")

    def cause(c: ObservedContainer) -> str:
        return "orphan" if c in orphans else "down"

    ops = stop_then_remove(project, targets, cause, timeout=timeout,
                           remove_volumes=remove_volumes)
    removes = [op for op in ops if op.kind is Kind.REMOVE_CONTAINER]
    after = tuple(op.op_id for op in removes)
    ops.extend(_removals(Kind.REMOVE_NETWORK, observed.networks, observed.project_name,
                         project.networks.values() if project is not None else (), after))
    if remove_volumes:
        mounted = {volume for c in containers for _, volume in c.volume_mounts}
        volumes = {name: seen for name, seen in observed.volumes.items()
                   if not (_anonymous(seen) and name in mounted)}
        ops.extend(_removals(Kind.REMOVE_VOLUME, volumes, observed.project_name,
                             project.volumes.values() if project is not None else (), after))
    return Plan(observed.project_name, tuple(ops), tuple(notes))


def _anonymous(volume: ObservedVolume) -> bool:
    """An anonymous volume stackup labelled at container create. One a container still
    mounts is left to that container: its removal takes the volume along (``v``), and a
    container ``down`` keeps (an orphan) keeps using it."""
    return volume.key is None and ANONYMOUS_VOLUME in volume.labels


def _removals(kind: Kind, seen: Mapping[str, ObservedNetwork | ObservedVolume],
              project_name: str, declared: Iterable[Network | Volume],
              after: tuple[str, ...]) -> list[Operation]:
    """Remove the project's own networks or volumes (labelled, never external ones)."""
    external = {item.name for item in declared if item.external}
    prefix = kind.value
    return [Operation(f"{prefix}:{name}", kind, "down", depends_on=after, name=name)
            for name in sorted(seen)
            if seen[name].project == project_name and name not in external]


