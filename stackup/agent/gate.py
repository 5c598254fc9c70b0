"""The gate between a plan and the engine: does this plan run now, or wait for a person?

Pipeline position: after ``plan``, before ``execute``. Pure: a Plan and the Project it was made
from in, a decision out. ``auto`` runs every plan; ``manual`` none; ``non-destructive`` runs a
plan unless it removes a volume, a network or a service (orphan containers of a service no
longer in the files, or a Swarm service), or replaces the containers (on a Swarm, the tasks) of
a service that mounts a named volume (data a new container may treat differently). The reasons
say which, for the status and the notification.
"""

from __future__ import annotations

from dataclasses import dataclass

from stackup.core.model import Project
from stackup.core.plan import Kind, Plan


@dataclass(frozen=True, slots=True)
class Decision:
    apply: bool
    reasons: tuple[str, ...] = ()  # why it waits for an approval


def destructive(plan: Plan, project: Project) -> list[str]:
    """What in ``plan`` destroys something, one line each (empty: nothing)."""
    out: list[str] = []
    created = {op.service.name for op in plan.operations
               if op.kind is Kind.CREATE_CONTAINER and op.service is not None}
    replaced: set[str] = set()
    for op in plan.operations:
        if op.if_failed:
            continue  # a restore step runs only when something failed
        if op.kind is Kind.REMOVE_VOLUME:
            out.append(f"removes volume {op.name or (op.volume.key if op.volume else '?')}")
        elif op.kind is Kind.REMOVE_NETWORK:
            out.append(f"removes network {op.name or (op.network.key if op.network else '?')}")
        elif op.kind is Kind.REMOVE_SERVICE:
            out.append(f"removes service {op.service_name or op.name}")
        elif op.kind is Kind.REMOVE_CONTAINER:
            service = op.service_name
            if service is None and op.cause == "orphan":  # ids: "remove_container:db:1"
                service = op.op_id.split(":")[1] if op.op_id.count(":") >= 2 else None
            if service is None or service not in project.services:
                line = f"removes service {service or op.container_name}"
                if line not in out:
                    out.append(line)
            elif service in created:
                replaced.add(service)
        elif op.kind is Kind.UPDATE_SERVICE and op.service is not None:
            replaced.add(op.service.name)  # a Swarm update replaces the service's tasks
    for name in sorted(replaced):
        named = [m.source for m in project.services[name].volumes
                 if m.type == "volume" and m.source]
        if named:
            out.append(f"recreates service {name}, which mounts named volume "
                       f"{', '.join(sorted(set(named)))}")
    return out


def decide(mode: str, plan: Plan, project: Project) -> Decision:
    """``mode``: auto | non-destructive | manual (agent.yaml's ``approve``)."""
    if plan.empty or mode == "auto":
        return Decision(True)
    if mode == "manual":
        return Decision(False, ("approve: manual",))
    reasons = destructive(plan, project)
    return Decision(not reasons, tuple(reasons))
