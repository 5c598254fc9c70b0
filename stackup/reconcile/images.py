"""Image decisions: which images to build, pull or push. Pure: no I/O, no engine.

Pipeline position: inside reconcile. ``plan_up`` asks ``image_needs`` for the build/pull
operations of the selected services: one per distinct image reference, planned when asked for
(``always``, ``build``, ``--build``) or when a container running that image is created or
recreated (a missing image of a converged service changes nothing); the container operations of
every service running that image depend on it. ``plan_build``, ``plan_pull`` and ``plan_push`` are the
plans of the ``build``, ``pull`` and ``push`` commands.

For ``up``, per image reference (the ``--pull`` option wins over each service's ``pull_policy``):

* ``--build`` and the service has ``build:`` → build;
* policy ``build`` → build (the service must have ``build:``);
* policy ``always`` → pull when the service names an ``image:``; a build-only service (its image
  is ``<project>-<service>``, which no registry has) builds when its image is missing;
* policy ``missing`` (the default) → when the image is not found locally, build if the service
  has ``build:``, else pull;
* policy ``daily``, ``weekly``, ``every_<duration>`` or ``refresh`` with ``pull_refresh_after``
  (``refresh_interval``) → as ``missing``, and also pull an image of ``image:`` when stackup's
  last pull of it on this engine (``ObservedState.pulled_ago``, kept on the engine by each
  pull) is that long ago or more, or unknown;
* policy ``never`` → a missing image is built when the service has ``build:``, otherwise it is a
  ``PlanError`` naming the image and the service.

When services disagree about one reference, a build wins over a pull (the building service
produces the image the others run).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from stackup.core.errors import PlanError
from stackup.core.model import Project, Service
from stackup.core.observed import ObservedState
from stackup.core.plan import Kind, Operation, Plan
from stackup.reconcile._select import with_dependencies

__all__ = ["ImageNeed", "image_needs", "plan_build", "plan_pull", "plan_push"]

PULL_CHOICES = ("always", "missing", "never")


@dataclass(frozen=True, slots=True)
class _Want:
    kind: Kind | None  # None: the image cannot be had (``error`` says why)
    cause: str
    service: Service
    explicit: bool  # asked for (always, build, --build), not only because it is missing
    error: PlanError | None = None


@dataclass(frozen=True, slots=True)
class ImageNeed:
    """What one image reference needs. ``op`` is planned when ``explicit`` or when a container
    of a service running it is created or recreated; without ``op``, such a container is the
    ``error``."""

    op: Operation | None
    explicit: bool
    error: PlanError | None = None


_EVERY = {"daily": 86400.0, "weekly": 7 * 86400.0}


def refresh_interval(service: Service) -> float | None:
    """Seconds after which a pulled image is pulled again, for ``pull_policy: daily``,
    ``weekly``, ``every_<duration>`` and ``refresh`` (with ``pull_refresh_after``); None for
    every other policy."""
    policy = service.pull_policy or ""
    if policy in _EVERY:
        return _EVERY[policy]
    if policy.startswith("every_"):
        from stackup.loader.units import parse_duration

        return parse_duration(policy[len("every_"):])
    if policy == "refresh":
        return service.pull_refresh_after
    return None


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def _decide(project: Project, service: Service, local: str | None, *, build: bool,
            pull: str | None, no_build: bool = False,
            pulled_ago: Mapping[str, float] | None = None) -> _Want | None:
    pulled_ago = pulled_ago or {}
    ref = service.image_ref(project.name)
    if no_build and service.build is not None:
        if local is not None or service.image is None:
            return None if local is not None else _Want(None, "", service, False, PlanError(
                f"image {ref} not found locally and --no-build (service {service.name})",
                detail="Build it first (`stackup build`), or drop --no-build."))
        service = dataclasses.replace(service, build=None)  # an image: pulled, never built
    policy = pull if pull is not None else (service.pull_policy or "missing")
    source = f"--pull {pull}" if pull is not None else f"pull_policy: {policy}"
    buildable = service.build is not None
    if build and buildable:
        return _Want(Kind.BUILD_IMAGE, "--build", service, True)
    if policy == "build":
        if not buildable:
            raise PlanError(f"service {service.name} has pull_policy build but no build section",
                            detail="Add `build:` to the service or change its pull_policy.")
        return _Want(Kind.BUILD_IMAGE, source, service, True)
    if policy == "always" and service.image is not None:
        return _Want(Kind.PULL_IMAGE, source, service, True)
    interval = refresh_interval(service) if pull is None else None
    if local is not None and interval is not None and service.image is not None:
        ago = pulled_ago.get(ref)
        if ago is None:
            return _Want(Kind.PULL_IMAGE, f"{source}: never pulled by stackup on this engine",
                         service, True)
        if ago >= interval:
            return _Want(Kind.PULL_IMAGE, f"{source}: last pulled {_age(ago)} ago", service,
                         True)
    if local is not None:
        return None
    if buildable:
        return _Want(Kind.BUILD_IMAGE, "image not found locally", service, False)
    if policy == "never":
        return _Want(None, "", service, False, PlanError(
            f"image {ref} not found locally and {'--pull' if pull is not None else 'pull_policy'}"
            f" is never (service {service.name})",
            detail=f"Build or load the image first (`docker pull {ref}` where a registry is "
                   f"reachable), or allow pulling it."))
    return _Want(Kind.PULL_IMAGE, "image not found locally", service, False)


def image_needs(project: Project, observed: ObservedState, services: Iterable[str], *,
                build: bool = False, pull: str | None = None,
                no_build: bool = False) -> dict[str, ImageNeed]:
    """Image reference → what it needs (a build, a pull, or an error), for the given services."""
    if pull is not None and pull not in PULL_CHOICES:
        raise PlanError(f"--pull {pull}: expected one of {', '.join(PULL_CHOICES)}")
    wants: dict[str, list[_Want]] = {}
    for name in sorted(set(services)):
        service = project.services[name]
        ref = service.image_ref(project.name)
        want = _decide(project, service, observed.images.get(ref), build=build and not no_build,
                       pull=pull, no_build=no_build, pulled_ago=observed.pulled_ago)
        if want is not None:
            wants.setdefault(ref, []).append(want)
    needs: dict[str, ImageNeed] = {}
    for ref in sorted(wants):
        found = wants[ref]
        acting = ([w for w in found if w.kind is Kind.BUILD_IMAGE]
                  or [w for w in found if w.kind is Kind.PULL_IMAGE])
        if not acting:
            needs[ref] = ImageNeed(None, False, found[0].error)
            continue
        chosen = next((w for w in acting if w.explicit), acting[0])
        assert chosen.kind is not None
        needs[ref] = ImageNeed(_image_op(chosen.kind, ref, chosen.cause, chosen.service),
                               chosen.explicit)
    return needs


def _image_op(kind: Kind, ref: str, cause: str, service: Service, *, no_cache: bool = False,
              pull: bool = False) -> Operation:
    return Operation(f"{kind.value}:{ref}", kind, cause, service=service, image=ref,
                     no_cache=no_cache, pull=pull)


def _selected(project: Project, services: Iterable[str]) -> list[Service]:
    names = tuple(services)
    chosen = with_dependencies(project, names) if names else set(project.services)
    if names:  # the commands act on the named services only, not their dependencies
        chosen = set(names)
    return [project.services[n] for n in sorted(chosen)]


def plan_build(project: Project, services: Iterable[str] = (), *, no_cache: bool = False,
               pull: bool = False) -> Plan:
    """``build``: every selected service with ``build:``, one build per image reference."""
    ops: dict[str, Operation] = {}
    for service in _selected(project, services):
        if service.build is None:
            continue
        ref = service.image_ref(project.name)
        ops.setdefault(ref, _image_op(Kind.BUILD_IMAGE, ref, "build", service,
                                      no_cache=no_cache or service.build.no_cache,
                                      pull=pull or service.build.pull))
    return Plan(project.name, tuple(ops[r] for r in sorted(ops)))


def plan_pull(project: Project, services: Iterable[str] = ()) -> Plan:
    """``pull``: every selected service that names an ``image:`` and is not built by policy."""
    ops: dict[str, Operation] = {}
    notes: list[str] = []
    for service in _selected(project, services):
        if service.image is None:
            continue
        if service.pull_policy == "build":
            notes.append(f"service {service.name}: pull_policy is build, not pulled")
            continue
        ref = service.image
        ops.setdefault(ref, _image_op(Kind.PULL_IMAGE, ref, "pull", service))
    return Plan(project.name, tuple(ops[r] for r in sorted(ops)), tuple(notes))


def plan_push(project: Project, services: Iterable[str] = ()) -> Plan:
    """``push``: every selected service that names an ``image:``, one push per reference."""
    ops: dict[str, Operation] = {}
    for service in _selected(project, services):
        if service.image is None:
            continue
        ops.setdefault(service.image, _image_op(Kind.PUSH_IMAGE, service.image, "push", service))
    return Plan(project.name, tuple(ops[r] for r in sorted(ops)))
