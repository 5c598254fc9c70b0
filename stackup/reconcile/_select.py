"""Small pure helpers shared by ``reconcile`` (up) and ``down`` and ``lifecycle``.

Pipeline position: inside the pure reconcile step; no I/O. Service order and the services a
selection depends on come from ``stackup.core.graph`` (a lexicographic topological sort, names as
tie break), so two runs of the same input always give the same order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from stackup.core.errors import PlanError
from stackup.core.graph import dependencies, service_order
from stackup.core.model import Project, Service
from stackup.core.observed import ObservedContainer


def container_name(project_name: str, service: Service, number: int) -> str:
    """The engine name of a service's replica ``number``."""
    return service.container_name or f"{project_name}-{service.name}-{number}"


def known_services(project: Project) -> dict[str, Service]:
    """Active and profile-disabled services: both are this project's, neither is an orphan."""
    return {**dict(project.disabled_services), **dict(project.services)}


def start_order(services: Mapping[str, Service]) -> list[str]:
    """Dependencies before dependents, names as tie break. A cycle raises ``CycleError``."""
    return service_order(services)


def stop_order(services: Mapping[str, Service]) -> list[str]:
    """Dependents before their dependencies."""
    return service_order(services, dependents_first=True)


def with_dependencies(project: Project, names: Iterable[str]) -> set[str]:
    """``names`` plus their transitive dependencies. Unknown names raise ``PlanError``."""
    wanted = sorted(set(names))
    unknown = [n for n in wanted if n not in project.services]
    if unknown:
        raise PlanError(f"no such service: {', '.join(unknown)}",
                        detail=_unknown_detail(project, unknown))
    selected = dependencies(project, wanted)
    for name in sorted(selected):
        for dep in project.services[name].depends_on:
            if dep.service not in project.services and dep.required:
                raise PlanError(
                    f"service {name} depends on {dep.service}, which is not enabled",
                    detail=_unknown_detail(project, [dep.service])
                    + " Or mark the dependency `required: false`.")
    return selected


def _unknown_detail(project: Project, names: list[str]) -> str:
    disabled = [n for n in names if n in project.disabled_services]
    if disabled:
        profiles = sorted({p for n in disabled for p in project.disabled_services[n].profiles})
        return (f"{', '.join(disabled)} is disabled by profiles; enable it with "
                + " ".join(f"--profile {p}" for p in profiles) + ".")
    return f"Services in the stack file: {', '.join(sorted(project.services)) or '(none)'}."


def select(project: Project | None, observed_services: Iterable[str],
           names: Iterable[str]) -> set[str]:
    """Named services (no dependencies added) or, when none are named, every known one."""
    known = set(known_services(project)) if project is not None else set(observed_services)
    wanted = set(names)
    if not wanted:
        return known | set(observed_services) if project is None else known
    unknown = sorted(wanted - known)
    if unknown:
        raise PlanError(f"no such service: {', '.join(unknown)}",
                        detail=f"Known services: {', '.join(sorted(known)) or '(none)'}.")
    return wanted


def sorted_containers(containers: Iterable[ObservedContainer]) -> list[ObservedContainer]:
    return sorted(containers, key=lambda c: (c.service, c.oneoff, c.number, c.name))


def container_op_id(kind_value: str, container: ObservedContainer) -> str:
    """A stable id for an operation on an existing container."""
    if container.oneoff:
        return f"{kind_value}:{container.service}:{container.name}"
    return f"{kind_value}:{container.service}:{container.number}"


def state_cause(container: ObservedContainer) -> str:
    """``exited (0)``, ``created``, ``running`` ... for people."""
    if container.state == "exited" and container.exit_code is not None:
        return f"exited ({container.exit_code})"
    if container.state == "created":
        return "stopped"
    return container.state


def short_image_id(image_id: str) -> str:
    """``sha256:`` plus 12 hex characters."""
    algo, sep, digest = image_id.partition(":")
    return f"{algo}:{digest[:12]}" if sep else image_id[:12]
