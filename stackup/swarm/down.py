"""Swarm down: SwarmObserved → the Plan that removes the project from the swarm. Pure.

Pipeline position: the Swarm backend's ``observe`` → **plan_down** → ``execute``. Only what
``observe`` found carrying the project's Swarm labels is removed: services first, then the
networks, secrets and configs they used (and volumes with ``remove_volumes``), each removal
after every service removal.
"""

from __future__ import annotations

from stackup.core.model import Project
from stackup.core.plan import Kind, Operation, Plan
from stackup.core.swarm_observed import SwarmObserved


def plan_down(project_name: str, observed: SwarmObserved, *, remove_volumes: bool,
              project: Project | None = None) -> Plan:
    """Remove every service, network, secret and config this project's Swarm backend made
    (volumes only with ``remove_volumes``): objects after the services that use them."""
    ops: list[Operation] = []
    removals = tuple(f"remove_service:{s.key}" for s in observed.services)
    for svc in observed.services:
        ops.append(Operation(f"remove_service:{svc.key}", Kind.REMOVE_SERVICE, "down",
                             name=svc.name))
    for section, kind in (("secrets", Kind.REMOVE_SECRET), ("configs", Kind.REMOVE_CONFIG),
                          ("networks", Kind.REMOVE_NETWORK), ("volumes", Kind.REMOVE_VOLUME)):
        if section == "volumes" and not remove_volumes:
            continue
        for obj in getattr(observed, section):
            ops.append(Operation(f"{kind.value}:{obj.name}", kind, "down",
                                 depends_on=removals, name=obj.name))
    notes = () if remove_volumes or not observed.volumes else (
        f"volumes kept: {', '.join(v.name for v in observed.volumes)} (down -v removes them)",)
    return Plan(project_name, tuple(ops), notes, project=project)
