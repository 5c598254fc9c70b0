"""Swarm reconcile: project + SwarmObserved → Plan. Pure: no I/O, no event loop, no engine.

Pipeline position: ``load`` → ``swarm.check`` → Swarm backend ``observe`` → **plan_up** /
**plan_down** → ``execute`` with the Swarm backend. The one place that decides what ``up`` and
``down`` (``swarm.down``) do on a swarm; every operation carries a cause and the ids of its
direct predecessors.

Decisions for ``up``, over the selected services and their dependencies:

* networks (overlay), volumes, secrets and configs they use are created when missing; external
  ones must exist. A name held by something this project's Swarm backend did not create is a
  ``PlanError`` (never adopted, so ``down`` never removes it). Secrets and configs are immutable:
  new content is a new object (``<name>-<digest8>``); the services move to it and the old object
  is removed after their update converged (so that a rolled-back update still finds it);
* images with ``build:`` are built when missing locally (or with ``--build``); on a swarm of more
  than one node they are then pushed to the registry their name names;
* a service is created when missing and updated when its spec differs from the one stackup
  last applied (its label), or when its replica count was changed behind stackup's back. The
  cause lists the changed fields; sensitive values are never shown. The engine rolls the update
  out (``update_config``);
* ``depends_on``: a service is created after its dependencies' tasks run (healthy when they have
  a healthcheck) or completed (``service_completed_successfully``); updates roll without waiting;
* with ``wait``, every selected service's rollout is waited on (passive when unchanged);
* services no longer in the file are removed with ``remove_orphans``, else noted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stackup.core.errors import PlanError
from stackup.core.graph import dependencies, service_order
from stackup.core.model import FileObject, FrozenMap, Project, Service
from stackup.core.plan import Change, Kind, Operation, Plan
from stackup.core import swarm_objects as O
from stackup.swarm.diff import changes_cause, spec_changes
from stackup.core.swarm_observed import SwarmObserved, SwarmService
from stackup.swarm.spec import is_job, replicas_of, service_spec


@dataclass(frozen=True, slots=True)
class SwarmUpOptions:
    services: tuple[str, ...] = ()  # named on the command line (+ dependencies); () = all
    scale: Mapping[str, int] = field(default_factory=FrozenMap)
    remove_orphans: bool = False
    build: bool = False  # build images even when present
    no_cache: bool = False
    wait: bool = False  # wait for every selected service's rollout
    timeout: float | None = None  # wait timeout (None: the executor's)


def plan_up(project: Project, observed: SwarmObserved, options: SwarmUpOptions) -> Plan:
    planner = _Up(project, observed, options)
    return planner.plan()


class _Up:
    def __init__(self, project: Project, observed: SwarmObserved,
                 options: SwarmUpOptions) -> None:
        self.project, self.observed, self.options = project, observed, options
        names = options.services or tuple(project.services)
        unknown = sorted(set(names) - set(project.services))
        if unknown:
            raise PlanError(f"no such service: {', '.join(unknown)}")
        self.selected = dependencies(project, names)
        self.order = [n for n in service_order(project.services) if n in self.selected]
        self.ops: list[Operation] = []
        self.ids: dict[tuple[str, str], str] = {}  # (section, key) → id of the creating op
        self.object_names: dict[tuple[str, str], str] = {}  # (kind, key) → swarm object name
        self.notes: list[str] = []
        self.up_to_date: list[str] = []

    def plan(self) -> Plan:
        services = [self.project.services[n] for n in self.order]
        self._networks(services)
        self._volumes(services)
        self._objects(services)
        image_ops = self._images(services)
        specs = {s.name: self._spec(s) for s in services}
        service_ops, changed = self._services(services, specs, image_ops)
        waits = self._waits(services, service_ops, changed)
        self.ops.extend(waits.values())
        self._orphans()
        self._retire(specs, service_ops, waits)
        ordered = _order(self.ops, service_ops, waits)
        return Plan(self.project.name, tuple(ordered), tuple(self.notes),
                    tuple(sorted(self.up_to_date)), project=self.project)

    # --- networks, volumes, secrets, configs -------------------------------------------------
    def _networks(self, services: list[Service]) -> None:
        used = sorted({n.name for s in services for n in s.networks})
        for key in used:
            network = self.project.networks.get(key)
            if network is None:
                continue
            mine = _named(self.observed.networks, network.name)
            if network.external:
                if not self.observed.exists("networks", network.name):
                    raise PlanError(f"external network {network.name} not found",
                                    detail="Create it on the swarm (an overlay network) first.")
                continue
            if mine is not None:
                continue
            if network.name in self.observed.external.get("networks", ()):
                raise PlanError(f"network {network.name} exists and is not this project's",
                                detail="stackup never adopts what it did not create: remove "
                                       "it or name the network differently (name:).")
            op_id = f"create_network:{key}"
            self.ids[("networks", key)] = op_id
            self.ops.append(Operation(op_id, Kind.CREATE_NETWORK, "not found", network=network,
                                      config_json=O.canonical_json(
                                          O.network_spec(self.project.name, network))))

    def _volumes(self, services: list[Service]) -> None:
        used = sorted({m.source for s in services for m in s.volumes
                       if m.type == "volume" and m.source is not None
                       and m.source in self.project.volumes})
        for key in used:
            volume = self.project.volumes[key]
            if volume.external or _named(self.observed.volumes, volume.name) is not None:
                continue
            if volume.name in self.observed.external.get("volumes", ()):
                raise PlanError(f"volume {volume.name} exists and is not this project's",
                                detail="stackup never adopts what it did not create.")
            op_id = f"create_volume:{key}"
            self.ids[("volumes", key)] = op_id
            self.ops.append(Operation(op_id, Kind.CREATE_VOLUME, "not found", volume=volume,
                                      config_json=O.canonical_json(
                                          O.volume_spec(self.project.name, volume))))

    def _objects(self, services: list[Service]) -> None:
        for kind, section, table, refs in (
                ("secret", "secrets", self.project.secrets, lambda s: s.secrets),
                ("config", "configs", self.project.configs, lambda s: s.configs)):
            used = sorted({r.source for s in services for r in refs(s) if r.source in table})
            for key in used:
                self._object(kind, section, table[key])

    def _object(self, kind: str, section: str, obj: FileObject) -> None:
        if obj.external:
            if not self.observed.exists(section, obj.name):
                raise PlanError(f"external {kind} {obj.name} not found",
                                detail=f"Create it with `docker {kind} create` first.")
            self.object_names[(kind, obj.key)] = obj.name
            return
        sha = O.content_sha256(obj)
        if sha is None:
            raise PlanError(f"cannot read the {kind} {obj.key} ({obj.file})")
        spec = O.file_object_spec(kind, self.project.name, obj, sha)
        name = spec["Name"]
        self.object_names[(kind, obj.key)] = name
        existing = getattr(self.observed, section)
        if _named(existing, name) is not None:
            return
        if name in self.observed.external.get(section, ()):
            raise PlanError(f"{kind} {name} exists and is not this project's")
        older = [o.name for o in existing if o.key == obj.key]
        cause = f"content changed (was {older[-1]})" if older else "not found"
        op_id = f"create_{kind}:{obj.key}"
        self.ids[(section, obj.key)] = op_id
        self.ops.append(Operation(op_id, Kind.CREATE_SECRET if kind == "secret"
                                  else Kind.CREATE_CONFIG, cause, name=name,
                                  config_json=O.canonical_json(spec),
                                  config_hash=spec["Digest"]))

    # --- images ------------------------------------------------------------------------------
    def _images(self, services: list[Service]) -> dict[str, tuple[str, str]]:
        """Build (and on a multi-node swarm push) images; service key → (build op, last op)."""
        out: dict[str, tuple[str, str]] = {}
        by_ref: dict[str, tuple[str, str]] = {}
        for service in services:
            if service.build is None:
                continue
            ref = service.image_ref(self.project.name)
            if ref in by_ref:
                out[service.name] = by_ref[ref]
                continue
            present = self.observed.images.get(ref) is not None
            if present and not self.options.build:
                continue
            op_id = f"build_image:{service.name}"
            self.ops.append(Operation(op_id, Kind.BUILD_IMAGE,
                                      "--build" if present else "image not found",
                                      service=service, image=ref,
                                      no_cache=self.options.no_cache))
            last = op_id
            if self.observed.nodes > 1:
                last = f"push_image:{service.name}"
                self.ops.append(Operation(last, Kind.PUSH_IMAGE,
                                          f"{self.observed.nodes} nodes pull it",
                                          depends_on=(op_id,), service=service, image=ref))
            by_ref[ref] = out[service.name] = (op_id, last)
        for service in services:
            ref = service.image_ref(self.project.name)
            if service.build is None and ref in by_ref:  # runs an image built here
                out[service.name] = by_ref[ref]
                continue
            if service.build is None and self.observed.nodes == 1 \
                    and self.observed.images.get(ref) is None:
                self.notes.append(f"image {ref} of service {service.name} is not on this node: "
                                  f"the swarm will try to pull it")
        return out

    # --- services ----------------------------------------------------------------------------
    def _spec(self, service: Service) -> dict[str, Any]:
        return service_spec(
            self.project, service,
            secret_names={r.source: self.object_names.get(("secret", r.source), r.source)
                          for r in service.secrets},
            config_names={r.source: self.object_names.get(("config", r.source), r.source)
                          for r in service.configs},
            replicas=self.options.scale.get(service.name))

    def _services(self, services: list[Service], specs: Mapping[str, dict[str, Any]],
                  image_ops: Mapping[str, tuple[str, str]]
                  ) -> tuple[dict[str, Operation], set[str]]:
        out: dict[str, Operation] = {}
        created: set[str] = set()
        for service in services:
            spec = specs[service.name]
            text = O.canonical_json(spec)
            ref = service.image_ref(self.project.name)
            found = self.observed.service(service.name)
            needs = [self.ids[k] for k in self._uses(service) if k in self.ids]
            built = image_ops.get(service.name)
            if built is not None:
                needs.append(built[1])
            common = dict(service=service, name=spec["Name"], config_json=text,
                          config_hash=O.spec_hash(text), image=ref)
            if found is None:
                waits = [f"wait_service:{d.service}" for d in service.depends_on
                         if d.service in self.selected]
                out[service.name] = Operation(f"create_service:{service.name}",
                                              Kind.CREATE_SERVICE, "not found",
                                              depends_on=tuple(needs + waits), **common)
                created.add(service.name)
                continue
            changes = self._changes(service, found, spec, common["config_hash"])
            image_id = self.observed.images.get(ref)
            if image_id and found.image_id and image_id != found.image_id:
                changes.append(Change("image_id", _short(found.image_id), _short(image_id)))
            op_id = f"update_service:{service.name}"
            if changes:
                out[service.name] = Operation(op_id, Kind.UPDATE_SERVICE,
                                              changes_cause(changes), depends_on=tuple(needs),
                                              changes=tuple(changes), **common)
            elif built is not None:
                out[service.name] = Operation(op_id, Kind.UPDATE_SERVICE,
                                              "the built image differs",
                                              depends_on=tuple(needs),
                                              when_image=(built[0], image_id or ""), **common)
            else:
                self.up_to_date.append(found.name)
                self._note_update(found)
        return out, created

    def _note_update(self, found: SwarmService) -> None:
        if found.update_state in ("paused", "rollback_paused", "rollback_completed"):
            message = f": {found.update_message}" if found.update_message else ""
            self.notes.append(f"service {found.name}: its last update "
                              f"{found.update_state.replace('_', ' ')}{message}")

    def _uses(self, service: Service) -> list[tuple[str, str]]:
        return ([("networks", n.name) for n in service.networks]
                + [("volumes", m.source) for m in service.volumes if m.source]
                + [("secrets", r.source) for r in service.secrets]
                + [("configs", r.source) for r in service.configs])

    def _changes(self, service: Service, found: SwarmService, spec: dict[str, Any],
                 digest: str) -> list[Change]:
        env_keys = getattr(service, "env_file_keys", ())
        changes: list[Change] = []
        if found.applied_hash != digest:
            applied = found.applied_spec
            if applied is None:
                return [Change("(service spec)", "(unreadable label)", "(the stack file's)")]
            changes = spec_changes(applied, spec, env_keys) or [
                Change("(spec)", "(changed)", "(changed)")]
        mode = spec.get("Mode", {}).get("Replicated")
        if mode is not None and found.replicas is not None \
                and found.replicas != mode["Replicas"] \
                and not any(c.path == "deploy.replicas" for c in changes):
            changes.append(Change("deploy.replicas", f"{found.replicas} (changed outside "
                                  f"stackup)", str(mode["Replicas"])))
        return changes

    # --- waits, retired objects, orphans -----------------------------------------------------
    def _waits(self, services: list[Service], service_ops: Mapping[str, Operation],
               created: set[str]) -> dict[str, Operation]:
        why: dict[str, list[str]] = {}
        completed: set[str] = set()
        for service in services:
            if service.name not in created:
                continue
            for dep in service.depends_on:
                if dep.service in self.selected:
                    why.setdefault(dep.service, []).append(f"depends_on of {service.name}")
                    if dep.condition == "service_completed_successfully":
                        completed.add(dep.service)
        for service in services:
            if self._retires(service):
                why.setdefault(service.name, []).append("before old secrets/configs go")
            if self.options.wait:
                why.setdefault(service.name, []).append("--wait")
        out: dict[str, Operation] = {}
        for name in self.order:
            if name not in why:
                continue
            service = self.project.services[name]
            done = name in completed or is_job(service)
            op = service_ops.get(name)
            out[name] = Operation(
                f"wait_service:{name}",
                Kind.WAIT_SERVICE_COMPLETED if done else Kind.WAIT_SERVICE,
                ", ".join(dict.fromkeys(why[name])),
                depends_on=(op.op_id,) if op is not None else (), service=service,
                name=O.service_name(self.project.name, name), timeout=self.options.timeout)
        return out

    def _retires(self, service: Service) -> bool:
        found = self.observed.service(service.name)
        if found is None:
            return False
        wanted = {self.object_names.get(("secret", r.source)) for r in service.secrets} | {
            self.object_names.get(("config", r.source)) for r in service.configs}
        return bool(set(found.secrets + found.configs) - wanted)

    def _retire(self, specs: Mapping[str, dict[str, Any]], service_ops: Mapping[str, Operation],
                waits: Mapping[str, Operation]) -> None:
        """Remove this project's secrets and configs that no service will use any more, after
        the services that used them moved off (their wait)."""
        wanted = set(self.object_names.values())
        for svc in self.observed.services:
            if svc.key not in self.selected:  # unselected or orphan: keeps what it uses
                wanted.update(svc.secrets + svc.configs)
        for section, kind in (("secrets", Kind.REMOVE_SECRET), ("configs", Kind.REMOVE_CONFIG)):
            for obj in getattr(self.observed, section):
                if obj.name in wanted:
                    continue
                users = [s.key for s in self.observed.services
                         if obj.name in s.secrets + s.configs]
                removed = {op.op_id for op in self.ops if op.kind is Kind.REMOVE_SERVICE}
                needs = tuple(waits[u].op_id if u in waits else f"remove_service:{u}"
                              for u in users
                              if u in waits or f"remove_service:{u}" in removed)
                if len(needs) != len(users):
                    continue  # a user that is not rolled here still refers to it
                newer = self.object_names.get((section[:-1], obj.key or ""))
                cause = f"replaced by {newer}" if newer else "no longer used"
                self.ops.append(Operation(f"{kind.value}:{obj.name}", kind, cause,
                                          depends_on=needs, name=obj.name))

    def _orphans(self) -> None:
        known = set(self.project.services) | set(self.project.disabled_services)
        for svc in self.observed.services:
            if svc.key in known:
                continue
            if self.options.remove_orphans:
                self.ops.append(Operation(f"remove_service:{svc.key}", Kind.REMOVE_SERVICE,
                                          "orphan: not in the stack file", name=svc.name))
            else:
                self.notes.append(f"service {svc.name} is not in the stack file (orphan); "
                                  f"--remove-orphans removes it")


def _short(image_id: str) -> str:
    return image_id.split(":", 1)[-1][:12]


def _named(found: tuple[Any, ...], name: str) -> Any:
    for item in found:
        if item.name == name:
            return item
    return None


def _order(ops: list[Operation], service_ops: Mapping[str, Operation],
           waits: Mapping[str, Operation]) -> list[Operation]:
    """Resources and images first, then each service's operation followed by its wait, in
    start order, then removals: every operation after its predecessors."""
    first = [op for op in ops if op.kind not in _LATE]
    late = [op for op in ops if op.kind in _LATE and op.kind not in _WAITS]
    middle: list[Operation] = []
    for name in dict.fromkeys([*service_ops, *waits]):
        if name in service_ops:
            middle.append(service_ops[name])
        if name in waits:
            middle.append(waits[name])
    placed: list[Operation] = []
    seen: set[str] = set()
    pending = first + middle + late
    while pending:  # stable topological pass: a wait may precede a later service's create
        rest = []
        for op in pending:
            if all(d in seen for d in op.depends_on):
                placed.append(op)
                seen.add(op.op_id)
            else:
                rest.append(op)
        if len(rest) == len(pending):
            raise PlanError("the swarm plan has a dependency cycle (a reconcile bug)")
        pending = rest
    return placed


_WAITS = frozenset({Kind.WAIT_SERVICE, Kind.WAIT_SERVICE_COMPLETED})
_LATE = frozenset({Kind.REMOVE_SECRET, Kind.REMOVE_CONFIG, Kind.REMOVE_SERVICE, *_WAITS})
