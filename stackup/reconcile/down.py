"""reconcile for ``down``. Pure, like ``reconcile.up``.

Pipeline position: ``Project`` (or ``None`` when there is no stack file) + ``ObservedState`` →
**plan_down** → ``Plan`` → ``execute``.

What is removed is decided from the engine's labels: the containers, networks and (with ``-v``)
volumes labelled with the project. The stack file says only what the labels cannot:

* without ``-p`` (the file names the project): containers of services it does not define are
  orphans, kept unless ``--remove-orphans``, and so are the networks they are attached to and
  the volumes they mount (removing those would fail, or cut a kept container off);
* with ``-p NAME`` (``named``): everything labelled NAME goes, as with Compose's ``-p`` (which
  does not read the folder's file at all). The folder's file is used only when it defines every
  service the labels name, i.e. it is that project's file; a file that does not (another
  project's, in the folder ``down`` was run from) is not used for anything, and a note says so.

When the file is used: teardown order (a stop of a service's container depends on the stops of
the containers of the services that directly depend on it, so dependents stop first while
unrelated services stop in parallel), its hooks and stop timeouts, and its external networks and
volumes, never removed even if they carry the label. Without it nothing is known about
dependencies: everything labelled with the project is acted on at once. Only resources carrying
this project's label are ever removed. With ``-v`` that includes the anonymous volumes stackup
labelled when it created their containers, also after a plain ``down`` removed those containers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

from stackup.core.labels import ANONYMOUS_VOLUME
from stackup.core.model import Network, Project, Volume
from stackup.core.observed import (ObservedContainer, ObservedNetwork, ObservedState,
                                   ObservedVolume)
from stackup.core.plan import Kind, Operation, Plan
from stackup.reconcile._select import known_services, sorted_containers
from stackup.reconcile.lifecycle import stop_then_remove

T = TypeVar("T", ObservedNetwork, ObservedVolume)


def plan_down(project: Project | None, observed: ObservedState, *, remove_volumes: bool = False,
              remove_orphans: bool = False, timeout: float | None = None,
              ignore_orphans: bool = False, named: bool = False) -> Plan:
    """Stop and remove the project's containers, then its networks (and volumes).

    ``named``: the project was named on the command line (``-p``), so every container labelled
    with it goes, and ``project`` (the folder's file) is used only if it defines all their
    services. The plan's ``project`` is the file that was used (None: none was)."""
    notes: list[str] = []
    if named and project is not None:
        foreign = undefined_services(project, observed)
        if foreign:
            notes.append(f"The stack file here does not define service{_s(foreign)} "
                         f"{', '.join(foreign)} of project {observed.project_name}: down does "
                         f"not use it, and removes everything labelled {observed.project_name}.")
            project = None
    known = set(known_services(project)) if project is not None else None
    containers = sorted_containers(observed.containers)
    orphans = [c for c in containers if known is not None and c.service not in known]
    kept = [] if remove_orphans else orphans
    targets = [c for c in containers if c not in kept]
    networks = _owned(observed.networks, observed.project_name,
                      project.networks.values() if project is not None else ())
    volumes = _owned(observed.volumes, observed.project_name,
                     project.volumes.values() if project is not None else ())
    # what kept containers use stays with them: removing it would fail, or cut them off
    kept_networks = sorted(set(networks) & _networks_of(kept, observed))
    kept_volumes = sorted(set(volumes) & {v for c in kept for _, v in c.volume_mounts}) \
        if remove_volumes else []
    used = [*(f"network {n}" for n in kept_networks), *(f"volume {v}" for v in kept_volumes)]
    if kept and not ignore_orphans:
        notes.append(f"Found orphan containers ({', '.join(c.name for c in kept)}) for this "
                     f"project. Run with --remove-orphans to remove them"
                     + (f"; {', '.join(used)}, which they use, {_are(used)} kept." if used
                        else "."))
    elif kept and used:
        notes.append(f"Kept {', '.join(used)}: orphan containers of this project use "
                     f"{'it' if len(used) == 1 else 'them'}.")

    def cause(c: ObservedContainer) -> str:
        return "orphan" if c in orphans else "down"

    ops = stop_then_remove(project, targets, cause, timeout=timeout,
                           remove_volumes=remove_volumes)
    after = tuple(op.op_id for op in ops if op.kind is Kind.REMOVE_CONTAINER)
    ops.extend(_removals(Kind.REMOVE_NETWORK, set(networks) - set(kept_networks), after))
    if remove_volumes:
        mounted = {volume for c in containers for _, volume in c.volume_mounts}
        ops.extend(_removals(Kind.REMOVE_VOLUME,
                             {name for name, seen in volumes.items()
                              if not (_anonymous(seen) and name in mounted)}
                             - set(kept_volumes), after))
    return Plan(observed.project_name, tuple(ops), tuple(notes), project=project)


def undefined_services(project: Project, observed: ObservedState) -> list[str]:
    """The services of the project's labelled containers that ``project`` does not define."""
    known = known_services(project)
    return sorted({c.service for c in observed.containers if c.service not in known})


def _networks_of(containers: list[ObservedContainer], observed: ObservedState) -> set[str]:
    """The networks ``containers`` are attached to; all of the project's when one of them was
    observed without its networks (an engine that does not say)."""
    if any(c.networks is None for c in containers):
        return set(observed.networks)
    return {name for c in containers for name in c.networks or ()}


def _are(items: list[str]) -> str:
    return "is" if len(items) == 1 else "are"


def _s(items: list[str]) -> str:
    return "" if len(items) == 1 else "s"


def _anonymous(volume: ObservedVolume) -> bool:
    """An anonymous volume stackup labelled at container create. One a container still
    mounts is left to that container: its removal takes the volume along (``v``), and a
    container ``down`` keeps (an orphan) keeps using it."""
    return volume.key is None and ANONYMOUS_VOLUME in volume.labels


def _owned(seen: Mapping[str, T], project_name: str,
           declared: Iterable[Network | Volume]) -> dict[str, T]:
    """The project's own networks or volumes: labelled with it, never external ones."""
    external = {item.name for item in declared if item.external}
    return {name: item for name, item in seen.items()
            if item.project == project_name and name not in external}


def _removals(kind: Kind, names: Iterable[str], after: tuple[str, ...]) -> list[Operation]:
    return [Operation(f"{kind.value}:{name}", kind, "down", depends_on=after, name=name)
            for name in sorted(names)]
