"""reconcile: the one place that decides what ``up`` does. Pure: no I/O, no event loop, no engine.

Pipeline position: ``Project`` + ``ObservedState`` + ``UpOptions`` → **plan_up** → ``Plan``, which
``execute`` then walks. Every operation carries a cause for people. 

Decisions, in order, for ``up``:

* images: the selected services' images are built or pulled as ``reconcile.images`` decides
  (``pull_policy``, ``--pull``, ``--build``), one operation per image reference that the
  service's container operations depend on;
* networks and volumes used by the selected services are created when missing. External ones
  must already exist. An existing one whose settings differ from the file, or that does not carry
  this project's label, is a ``PlanError`` (never silently removed, recreated or adopted: Compose
  only warns about a foreign one, we refuse so that ``down`` can never remove what ``up`` did not
  create);
* per service (dependencies first) and replica 1..N: create what is missing; recreate on a config
  hash change (cause names the changed keys), on an image id change, or with --force-recreate;
  start stopped ones (like Compose, exited one-shots run again); restart running dependents
  whose ``depends_on.restart`` dependency is recreated; remove replicas above N, highest first;
* orphans (containers of services no longer in the file) are removed with --remove-orphans,
  otherwise noted.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stackup import labels
from stackup.errors import PlanError
from stackup.hashing import config_hash, diff_configs
from stackup.model import FrozenMap, Network, Project, Service, Volume
from stackup.observed import ObservedContainer, ObservedNetwork, ObservedState, ObservedVolume
from stackup.plan import Kind, Operation, Plan
from stackup.reconcile._select import (container_name, known_services, short_image_id,
                                    start_order, state_cause, with_dependencies)


from stackup.reconcile.images import ImageNeed, image_needs

__all__ = ["UpOptions", "plan_up"]

_MAX_KEYS_IN_CAUSE = 5


@dataclass(frozen=True)
class UpOptions:
    services: tuple[str, ...] = ()  # named on the command line (+ their dependencies); () = all
    force_recreate: bool = False
    no_recreate: bool = False
    scale: Mapping[str, int] = field(default_factory=FrozenMap)
    remove_orphans: bool = False
    always_recreate_deps: bool = False  # recreate the dependencies of the named services too
    timeout: float | None = None  # stop timeout override (-t)
    wait: bool = False  # --wait: also wait until each selected service is healthy / running
    build: bool = False  # --build: build the images of services with ``build:`` first
    pull: str | None = None  # --pull always|missing|never: overrides each pull_policy


def plan_up(project: Project, observed: ObservedState, options: UpOptions = UpOptions()) -> Plan:
    """The operations that make the engine match the file for the selected services."""
    if options.force_recreate and options.no_recreate:
        raise PlanError("--force-recreate and --no-recreate cannot be used together")
    for name, count in sorted(options.scale.items()):
        if name not in project.services:
            raise PlanError(f"cannot scale {name}: no such service")
        if count < 0:
            raise PlanError(f"cannot scale {name} to {count}: use 0 or more")
    return _Up(project, observed, options).build()


class _Up:
    """Accumulates the operations of one ``plan_up`` call."""

    def __init__(self, project: Project, observed: ObservedState, options: UpOptions) -> None:
        self.project = project
        self.observed = observed
        self.options = options
        self.selected = with_dependencies(project, options.services) if options.services \
            else set(project.services)
        self.deps_only = (self.selected - set(options.services)) if options.services else set()
        self.ops: list[Operation] = []
        self.up_ops: dict[str, list[str]] = {}  # service → ids bringing its containers up
        self.recreated: set[str] = set()
        self.resource_ops: dict[str, str] = {}  # "network:key" / "volume:key" → op id
        self.images: dict[str, ImageNeed] = {}  # image reference → what it needs
        self.used_images: set[str] = set()  # references whose build/pull is planned
        self.waits: dict[str, int] = {}  # wait op id → index in self.ops
        self.up_to_date: list[str] = []
        self.notes: list[str] = []

    def build(self) -> Plan:
        services = [self.project.services[n] for n in sorted(self.selected)]
        self.images = image_needs(self.project, self.observed, self.selected,
                                  build=self.options.build, pull=self.options.pull)
        self.used_images = {ref for ref, need in self.images.items() if need.explicit}
        for key in sorted({n.name for s in services for n in s.networks}):
            self._network(key)
        for key in sorted({m.source for s in services for m in s.volumes
                           if m.type == "volume" and m.source in self.project.volumes}):
            self._volume(key)
        for name in start_order(self.project.services):
            self._service(self.project.services[name], selected=name in self.selected)
        if self.options.wait:
            self._final_waits()
        self._orphans()
        image_ops = [need.op for ref, need in self.images.items()
                     if ref in self.used_images and need.op is not None]
        return Plan(self.project.name, (*image_ops, *self.ops), tuple(self.notes),
                    tuple(sorted(self.up_to_date)))

    # --- networks and volumes ---------------------------------------------------------------
    def _network(self, key: str) -> None:
        network = self.project.networks.get(key)
        if network is None:
            raise PlanError(f"network {key} is used by a service but not defined",
                            detail="Add it under the top-level `networks:` key.")
        seen = self.observed.networks.get(network.name)
        if network.external:
            if seen is None:
                raise PlanError(f"external network '{network.name}' not found",
                                detail=f"Create it first: `docker network create {network.name}`.")
            return
        if seen is None:
            op_id = f"create_network:{key}"
            self.ops.append(Operation(op_id, Kind.CREATE_NETWORK, "not found", network=network))
            self.resource_ops[f"network:{key}"] = op_id
            return
        self._check_owner("network", network.name, seen.project,
                          f"docker network rm {network.name}")
        changes = _network_changes(network, seen)
        if changes:
            raise PlanError(
                f"network {network.name} differs from the stack file: {'; '.join(changes)}",
                detail="Run `stackup down` to remove the network (with the project's "
                       "containers), then `stackup up`; or revert the file.")

    def _volume(self, key: str) -> None:
        volume = self.project.volumes[key]
        seen = self.observed.volumes.get(volume.name)
        if volume.external:
            if seen is None:
                raise PlanError(f"external volume '{volume.name}' not found",
                                detail=f"Create it first: `docker volume create {volume.name}`.")
            return
        if seen is None:
            op_id = f"create_volume:{key}"
            self.ops.append(Operation(op_id, Kind.CREATE_VOLUME, "not found", volume=volume))
            self.resource_ops[f"volume:{key}"] = op_id
            return
        self._check_owner("volume", volume.name, seen.project, f"docker volume rm {volume.name}")
        changes = _volume_changes(volume, seen)
        if changes:
            raise PlanError(
                f"volume {volume.name} differs from the stack file: {'; '.join(changes)}",
                detail=f"The volume holds data: back it up, then `docker volume rm "
                       f"{volume.name}`, or revert the file.")

    def _check_owner(self, what: str, name: str, owner: str | None, remove: str) -> None:
        if owner == self.project.name:
            return
        by = f"by project {owner}" if owner else "outside stackup"
        raise PlanError(
            f"{what} {name} exists and is not owned by project {self.project.name}",
            detail=f"It was created {by} (no {labels.PROJECT}={self.project.name} label). "
                   f"Declare it `external: true` to use it as is, or remove it: `{remove}`.")

    # --- containers -------------------------------------------------------------------------
    def _service(self, service: Service, *, selected: bool) -> None:
        project, options = self.project, self.options
        want = options.scale.get(service.name, service.replicas)
        by_number: dict[int, ObservedContainer] = {}
        extra: list[ObservedContainer] = []
        for c in sorted(self.observed.containers_of(service.name), key=lambda c: (c.number, c.name)):
            if c.number < 1 or c.number in by_number:
                extra.append(c)
            else:
                by_number[c.number] = c
        if not selected:
            self._restarts_only(service, by_number)
            return
        digest, text = config_hash(project, service)
        wanted: dict[str, Any] = json.loads(text)
        ref = service.image_ref(project.name)
        ops: list[Operation] = []
        for n in range(1, want + 1):
            name = container_name(project.name, service, n)
            c = by_number.get(n)
            base = Operation(f"create_container:{service.name}:{n}", Kind.CREATE_CONTAINER,
                             "not found", service=service, number=n, container_name=name,
                             config_hash=digest, config_json=text, image=ref,
                             timeout=options.timeout)
            if c is None:
                ops.append(base)
                continue
            cause = self._recreate_cause(service, c, digest, wanted, ref)
            if cause is not None:
                self.recreated.add(service.name)
                ops.append(dataclasses.replace(base, op_id=f"recreate_container:{service.name}:{n}",
                                               kind=Kind.RECREATE_CONTAINER, cause=cause,
                                               container_id=c.container_id))
            elif not c.running and c.state != "paused":
                ops.append(self._existing(Kind.START_CONTAINER, service, c, state_cause(c)))
            elif (restart := self._restart_cause(service)) is not None:
                ops.append(self._existing(Kind.RESTART_CONTAINER, service, c, restart))
            else:
                self.up_to_date.append(c.name)
        self._add(service, ops)
        removals = [c for n, c in by_number.items() if n > want] + extra
        for c in sorted(removals, key=lambda c: (-c.number, c.name)):
            cause = (f"replica {c.number} above scale {want}" if by_number.get(c.number) is c
                     else f"duplicate replica {c.number}")
            op = self._existing(Kind.REMOVE_CONTAINER, service, c, cause)
            if by_number.get(c.number) is not c:
                op = dataclasses.replace(op, op_id=f"{op.op_id}:{c.container_id[:12]}")
            self.ops.append(op)

    def _restarts_only(self, service: Service, by_number: dict[int, ObservedContainer]) -> None:
        """A service not selected is left alone, except a restart:true dependency recreated."""
        cause = self._restart_cause(service)
        if cause is None:
            return
        self._add(service, [self._existing(Kind.RESTART_CONTAINER, service, c, cause)
                            for _, c in sorted(by_number.items()) if c.running])

    def _existing(self, kind: Kind, service: Service, c: ObservedContainer,
                  cause: str) -> Operation:
        return Operation(f"{kind.value}:{service.name}:{c.number}", kind, cause, service=service,
                         number=c.number, container_name=c.name, container_id=c.container_id,
                         timeout=self.options.timeout)

    def _recreate_cause(self, service: Service, c: ObservedContainer, digest: str,
                        wanted: Mapping[str, Any], ref: str) -> str | None:
        if self.options.no_recreate:
            return None
        if self.options.force_recreate:
            return "--force-recreate"
        if self.options.always_recreate_deps and service.name in self.deps_only:
            return "--always-recreate-deps"
        if c.state == "dead":
            return "container is dead"
        if c.config_hash != digest:
            keys = diff_configs(c.config, wanted) if c.config is not None else []
            if not keys:
                return "config hash changed"
            shown = ", ".join(keys[:_MAX_KEYS_IN_CAUSE])
            more = len(keys) - _MAX_KEYS_IN_CAUSE
            return f"{shown}{f' and {more} more' if more > 0 else ''} changed"
        image_id = self.observed.images.get(ref)
        if image_id and c.image_id and c.image_id != image_id:
            return f"image {ref} now resolves to {short_image_id(image_id)}"
        return None

    def _restart_cause(self, service: Service) -> str | None:
        for dep in service.depends_on:
            if dep.restart and dep.service in self.recreated:
                return f"dependency {dep.service} was recreated"
        return None

    def _add(self, service: Service, ops: list[Operation]) -> None:
        """Append a service's container ops, depending on its dependencies and resources."""
        if not ops:
            return
        needs: list[str] = []
        ref = service.image_ref(self.project.name)
        image = self.images.get(ref)
        creates = any(op.kind in (Kind.CREATE_CONTAINER, Kind.RECREATE_CONTAINER) for op in ops)
        if image is not None and image.op is None and creates and image.error is not None:
            raise image.error
        if image is not None and image.op is not None and (creates or ref in self.used_images):
            self.used_images.add(ref)
            needs.append(image.op.op_id)
        services: list[str] = []  # what the services it depends on must reach first
        for dep in service.depends_on:
            if dep.service not in self.project.services:
                continue
            if dep.condition == "service_healthy":
                services.append(self._wait(Kind.WAIT_HEALTHY, dep.service, service.name))
            elif dep.condition == "service_completed_successfully":
                services.append(self._wait(Kind.WAIT_COMPLETED, dep.service, service.name))
            else:
                services.extend(self.up_ops.get(dep.service, []))
        for n in service.networks:
            needs.extend(self._resource(f"network:{n.name}"))
        for m in service.volumes:
            if m.type == "volume" and m.source is not None:
                needs.extend(self._resource(f"volume:{m.source}"))
        if service.network_mode and service.network_mode.startswith("service:"):
            needs.extend(services)  # its container must exist (and run) to be joined
        depends = tuple(dict.fromkeys(needs))
        everything = tuple(dict.fromkeys([*needs, *services]))
        after = tuple(d for d in dict.fromkeys(services) if d not in depends)
        # A new container is created as soon as its image, networks and volumes are there, and
        # started once the services it depends on are: creates overlap the layer below.
        ops = [dataclasses.replace(op, depends_on=depends, start_after=after)
               if op.kind is Kind.CREATE_CONTAINER
               else dataclasses.replace(op, depends_on=everything) for op in ops]
        self.ops.extend(ops)
        self.up_ops[service.name] = [op.op_id for op in ops]

    def _resource(self, key: str) -> list[str]:
        op_id = self.resource_ops.get(key)
        return [op_id] if op_id else []

    def _wait(self, kind: Kind, dependency: str, dependent: str,
              prefix: str = "depends_on condition of ") -> str:
        op_id = f"{kind.value}:{dependency}"
        index = self.waits.get(op_id)
        if index is not None:
            op = self.ops[index]
            self.ops[index] = dataclasses.replace(op, cause=f"{op.cause}, {dependent}")
            return op_id
        self.waits[op_id] = len(self.ops)
        self.ops.append(Operation(op_id, kind, f"{prefix}{dependent}",
                                  depends_on=tuple(self.up_ops.get(dependency, [])),
                                  service=self.project.services[dependency]))
        return op_id

    def _final_waits(self) -> None:
        """--wait: healthy for services with a healthcheck, completed for services others wait
        on with service_completed_successfully (jobs), running for the rest."""
        jobs = {d.service for s in self.project.services.values() for d in s.depends_on
                if d.condition == "service_completed_successfully"}
        for name in start_order(self.project.services):
            if name not in self.selected:
                continue
            hc = self.project.services[name].healthcheck
            checked = hc is not None and not hc.disable and hc.test[:1] != ("NONE",)
            kind = Kind.WAIT_COMPLETED if name in jobs else \
                Kind.WAIT_HEALTHY if checked else Kind.WAIT_RUNNING
            self._wait(kind, name, "--wait", prefix="")

    # --- orphans ------------------------------------------------------------------------------
    def _orphans(self) -> None:
        known = known_services(self.project)
        orphans = sorted((c for c in self.observed.containers
                          if c.service not in known and not c.oneoff),
                         key=lambda c: (c.service, c.number, c.name))
        if not orphans:
            return
        if not self.options.remove_orphans:
            self.notes.append(
                f"Found orphan containers ({', '.join(c.name for c in orphans)}) for this "
                f"project. If you removed or renamed this service in your stack file, run with "
                f"--remove-orphans to remove them.")
            return
        for c in orphans:
            self.ops.append(Operation(f"remove_container:{c.service}:{c.number}",
                                      Kind.REMOVE_CONTAINER, "orphan", number=c.number,
                                      container_name=c.name, container_id=c.container_id,
                                      timeout=self.options.timeout))


def _user_labels(found: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in found.items() if not k.startswith(labels.PREFIX + ".")}


def _compare(changes: list[str], what: str, wanted: Any, found: Any) -> None:
    if wanted != found:
        changes.append(f"{what}: file says {wanted!r}, engine has {found!r}")


def _network_changes(network: Network, seen: ObservedNetwork) -> list[str]:
    changes: list[str] = []
    _compare(changes, "driver", network.driver or "bridge", seen.driver)
    _compare(changes, "driver_opts", dict(network.driver_opts), dict(seen.options))
    _compare(changes, "internal", network.internal, seen.internal)
    _compare(changes, "labels", dict(network.labels), _user_labels(seen.labels))
    return changes


def _volume_changes(volume: Volume, seen: ObservedVolume) -> list[str]:
    changes: list[str] = []
    _compare(changes, "driver", volume.driver or "local", seen.driver)
    _compare(changes, "driver_opts", dict(volume.driver_opts), dict(seen.options))
    _compare(changes, "labels", dict(volume.labels), _user_labels(seen.labels))
    return changes
