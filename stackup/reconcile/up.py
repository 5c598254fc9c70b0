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
  create). One that Docker Compose created for this same project (its ``com.docker.compose.project``
  label) is taken over: reused in place, with a plan note, as Compose 2 took over Compose 1's;
* per service (dependencies first) and replica 1..N: create what is missing; recreate on a config
  hash change (cause names the changed keys), on an image id change, or with --force-recreate;
  a stopped container attached to a network the engine no longer has is replaced too ("network
  X is gone"): it could not start (with --no-recreate that is a ``PlanError`` before anything
  runs);
  a container Docker Compose created is replaced ("created by Docker Compose"): Compose's config
  hash is a digest of its own Go model, which stackup cannot recompute to prove a match;
  start stopped ones (like Compose, exited one-shots run again); restart running dependents
  whose ``depends_on.restart`` dependency is recreated; remove replicas above N, highest first;
* orphans (containers of services no longer in the file) are removed with --remove-orphans,
  otherwise noted.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stackup.core.errors import PlanError
from stackup.core.hashing import config_hash, diff_configs
from stackup.core.model import FrozenMap, Project, Service
from stackup.core.observed import (
    ObservedContainer,
    ObservedState,
)
from stackup.core.plan import WAIT_KINDS, Change, Kind, Operation, Plan
from stackup.reconcile import chains, rollout
from stackup.reconcile._select import (
    container_name,
    known_services,
    short_image_id,
    start_order,
    state_cause,
    with_dependencies,
)
from stackup.reconcile.hooks import add_hooks
from stackup.reconcile.images import ImageNeed, image_needs
from stackup.reconcile.phases import starts_after_stops
from stackup.reconcile.resources import ResourcePlanner
from stackup.core.redact import field_changes

__all__ = ["UpOptions", "plan_up"]

_MAX_KEYS_IN_CAUSE = 5


@dataclass(frozen=True, slots=True)
class UpOptions:
    services: tuple[str, ...] = ()  # named on the command line (+ their dependencies); () = all
    force_recreate: bool = False
    no_recreate: bool = False
    scale: Mapping[str, int] = field(default_factory=FrozenMap)
    remove_orphans: bool = False
    ignore_orphans: bool = False  # COMPOSE_IGNORE_ORPHANS: no orphan note
    always_recreate_deps: bool = False  # recreate the dependencies of the named services too
    timeout: float | None = None  # stop timeout override (-t)
    wait: bool = False  # --wait: also wait until each selected service is healthy / running
    build: bool = False  # --build: build the images of services with ``build:`` first
    pull: str | None = None  # --pull always|missing|never: overrides each pull_policy
    wait_timeout: float | None = None  # seconds a wait may take (None: the executor's default)
    no_deps: bool = False  # --no-deps: the named services only, not their dependencies
    no_build: bool = False  # --no-build: never build (a missing image is an error)
    no_start: bool = False  # --no-start: create, never start (``reconcile.no_start``)
    renew_anon_volumes: bool = False  # -V: replacements get new anonymous volumes
    all_resources: bool = False  # --all-resources: also the networks and volumes no one uses


def plan_up(project: Project, observed: ObservedState, options: UpOptions = UpOptions()) -> Plan:
    """The operations that make the engine match the file for the selected services."""
    if options.force_recreate and options.no_recreate:
        raise PlanError("--force-recreate and --no-recreate cannot be used together")
    for name, count in sorted(options.scale.items()):
        if name not in project.services:
            raise PlanError(f"cannot scale {name}: no such service")
        if count < 0:
            raise PlanError(f"cannot scale {name} to {count}: use 0 or more")
    plan = _Up(project, observed, options).build()
    if options.no_start:
        from stackup.reconcile.no_start import without_starts

        plan = without_starts(plan)
    return starts_after_stops(plan)


class _Up(ResourcePlanner):
    """Accumulates the operations of one ``plan_up`` call."""

    def __init__(self, project: Project, observed: ObservedState, options: UpOptions) -> None:
        self.project = project
        self.observed = observed
        self.options = options
        self.selected = set(options.services) if options.services and options.no_deps else \
            with_dependencies(project, options.services) if options.services \
            else set(project.services)
        self.deps_only = (self.selected - set(options.services)) if options.services else set()
        self.ops: list[Operation] = []
        self.ready: dict[str, list[str]] = {}  # service → ids after which its containers are up
        self.watched: dict[str, tuple[str, ...]] = {}  # service → its containers' names
        self.recreated: set[str] = set()
        self.maybe_recreated: dict[str, tuple[str, str]] = {}  # service → when_image
        self.wait_notes: dict[str, str] = {}  # wait op id → a note, if the wait is kept
        self.declared_volumes = frozenset(v.name for v in project.volumes.values())
        self.resource_ops: dict[str, str] = {}  # "network:key" / "volume:key" → op id
        self.images: dict[str, ImageNeed] = {}  # image reference → what it needs
        self.used_images: set[str] = set()  # references whose build/pull is planned
        self.waits: dict[str, int] = {}  # wait op id → index in self.ops
        self.up_to_date: list[str] = []
        self.notes: list[str] = []

    def build(self) -> Plan:
        from stackup.core.graph import build_graph, walk

        project = self.project
        self.images = image_needs(project, self.observed, self.selected,
                                  build=self.options.build, pull=self.options.pull,
                                  no_build=self.options.no_build)
        self.used_images = {ref for ref, need in self.images.items() if need.explicit}
        selected = [project.services[n] for n in sorted(self.selected)]
        networks = {n.name for s in selected for n in s.networks}
        volumes = {m.source for s in selected for m in s.volumes
                   if m.type == "volume" and m.source in project.volumes}
        if self.options.all_resources:
            networks |= set(project.networks)
            volumes |= set(project.volumes)
        for kind, key in walk(build_graph(project)):  # everything a node needs comes before it
            if kind == "network" and key in networks:
                self._network(key)
            elif kind == "volume" and key in volumes:
                self._volume(key)
            elif kind == "service":
                self._service(project.services[key], selected=key in self.selected)
        for key in sorted(networks - set(project.networks)):
            self._network(key)  # used but not defined: an error naming it
        if self.options.wait:
            self._final_waits()
        self._orphans()
        self.notes[:0] = [self.wait_notes[w] for w in sorted(self.waits) if w in self.wait_notes]
        image_ops = [need.op for ref, need in self.images.items()
                     if ref in self.used_images and need.op is not None]
        return Plan(project.name, (*image_ops, *add_hooks(self.ops, self.observed)), tuple(self.notes),
                    tuple(sorted(self.up_to_date)), project=project)

    # --- containers -------------------------------------------------------------------------
    def _service(self, service: Service, *, selected: bool) -> None:
        project, options = self.project, self.options
        want = options.scale.get(service.name, service.replicas)
        by_number: dict[int, ObservedContainer] = {}
        extra: list[ObservedContainer] = []
        canonical = {n: container_name(project.name, service, n) for n in range(1, want + 1)}
        # the canonical name wins a number; a container left under a temporary name by an
        # interrupted replacement comes next; any other is a duplicate, and so is always the
        # ``<name>-next`` of an interrupted start-first rollout (it may lack its DNS aliases)
        for seen in sorted(self.observed.containers_of(service.name),
                           key=lambda c: (c.number, c.name != canonical.get(c.number), c.name)):
            if seen.number < 1 or seen.number in by_number \
                    or seen.name == f"{canonical.get(seen.number)}-next":
                extra.append(seen)
            else:
                by_number[seen.number] = seen
        if not selected:
            self._restarts_only(service, by_number)
            return
        _no_external_files(project, service)
        digest, text = config_hash(project, service)
        ref = service.image_ref(project.name)
        image = self.images.get(ref)
        waits_before = len(self.ops)
        shape = self._shape(service, digest, text, ref)
        ops: list[Operation] = []
        ready: list[str] = []
        replacements: list[rollout.Replacement] = []
        for n in range(1, want + 1):
            name = canonical[n]
            c = by_number.get(n)
            key = f"{service.name}:{n}"
            # the create operation this replica would have (built only when needed: most
            # containers of a converged project are up to date)
            template = functools.partial(dataclasses.replace, shape.create,
                                         op_id=f"create_container:{key}", number=n,
                                         container_name=name)
            if c is None:
                self._uses_image(ref)
                made, up = chains.fresh(dataclasses.replace(shape, create=template()))
                ops += made
                ready.append(up)
                continue
            cause, changes = self._recreate_cause(service, c, digest, text, ref)
            if cause is not None:
                self._uses_image(ref)
                self.recreated.add(service.name)
                replacements.append(rollout.Replacement(dataclasses.replace(
                    shape, create=template(changes=tuple(changes))), c, cause))
                continue
            joined = service.network_mode[8:] if service.network_mode and \
                service.network_mode.startswith("service:") else None
            if joined in self.maybe_recreated and not self.options.no_recreate:
                self.recreated.add(service.name)
                self.maybe_recreated[service.name] = self.maybe_recreated[joined]
                replacements.append(rollout.Replacement(
                    dataclasses.replace(shape, create=template()), c,
                    f"replaced if network_mode service:{joined} is",
                    self.maybe_recreated[joined]))
                continue
            if (image is not None and image.op is not None and ref in self.used_images
                    and c.image_id and not self.options.no_recreate):
                # the build or pull may change the image: replace only if it does
                op_id = image.op.op_id
                self.recreated.add(service.name)
                self.maybe_recreated[service.name] = (op_id, c.image_id)
                replacements.append(rollout.Replacement(
                    dataclasses.replace(shape, create=template()), c,
                    f"recreate if {ref} changes (now {short_image_id(c.image_id)})",
                    (op_id, c.image_id)))
                continue
            deps: list[str] = []
            if c.name != name:
                rename = chains.existing(Kind.RENAME_CONTAINER, key, c,
                                         "left under a temporary name by an interrupted run",
                                         template())
                ops.append(dataclasses.replace(rename, new_name=name))
                deps.append(rename.op_id)
            if not c.running and c.state != "paused":
                start = chains.existing(Kind.START_CONTAINER, key, c, state_cause(c), template(),
                                        (*deps, *shape.after))
                ops.append(dataclasses.replace(start, container_name=name))
                ready.append(start.op_id)
            elif (restart := self._restart_cause(service)) is not None:
                ops.append(self._restart(key, c, restart, template(), shape.after))
                ready.append(ops[-1].op_id)
            else:
                self.up_to_date.append(c.name)
        if replacements:
            rolled = rollout.roll(service, replacements)
            ops += rolled.ops
            ready += rolled.ready
            self.notes.extend(rolled.notes)
        removals = [c for n, c in by_number.items() if n > want] + extra
        gone: dict[str, str] = {}  # name of a container removed here → its removal
        for c in sorted(removals, key=lambda c: (-c.number, c.name)):
            surplus = by_number.get(c.number) is c
            cause = f"replica {c.number} above scale {want}" if surplus \
                else f"duplicate replica {c.number}"
            key = f"{service.name}:{c.number}" if surplus \
                else f"{service.name}:{c.number}:{c.container_id[:12]}"
            retired = chains.retire(key, c, cause, shape.create)
            ops += retired
            gone[c.name] = retired[-1].op_id
        ops = chains.after_removals(ops, gone)
        self._drop_unused_waits(waits_before, ops)
        self.ops.extend(ops)
        self.ready[service.name] = ready
        self.watched[service.name] = tuple(canonical[n] for n in sorted(canonical))

    def _shape(self, service: Service, digest: str, text: str, ref: str) -> chains.Shape:
        """What every container operation of ``service`` needs and waits for."""
        needs: list[str] = []
        image = self.images.get(ref)
        if image is not None and image.op is not None:
            needs.append(image.op.op_id)
        after: list[str] = []  # what the services it depends on must reach first
        for dep in service.depends_on:
            if dep.service not in self.project.services:
                continue
            if self.options.no_deps and dep.service not in self.selected:
                continue  # --no-deps: what it depends on is left as it is, not waited for
            if dep.condition == "service_healthy":
                after.append(self._wait(Kind.WAIT_HEALTHY, dep.service, service.name))
            elif dep.condition == "service_completed_successfully":
                after.append(self._wait(Kind.WAIT_COMPLETED, dep.service, service.name))
            else:
                after.extend(self.ready.get(dep.service, []))
        for n in service.networks:
            needs.extend(self._resource(f"network:{n.name}"))
        for m in service.volumes:
            if m.type == "volume" and m.source is not None:
                needs.extend(self._resource(f"volume:{m.source}"))
        joined = None
        if service.network_mode and service.network_mode.startswith("service:"):
            target = self.project.services.get(service.network_mode[8:])
            if target is not None:
                joined = container_name(self.project.name, target, 1)
                needs.extend(after)  # its container must exist (and run) to be joined
        if service.links or any(not v.startswith("container:") for v in service.volumes_from) \
                or any(m and m.startswith("service:") for m in (service.ipc, service.pid)):
            needs.extend(after)  # links, volumes_from, ipc/pid name those containers at create
        create = Operation("create_container", Kind.CREATE_CONTAINER, "not found",
                           service=service, config_hash=digest, config_json=text, image=ref,
                           network_mode_container=joined, timeout=self.options.timeout)
        networks = tuple((n.name, self.project.networks[n.name].name) for n in service.networks
                         if n.name in self.project.networks)
        return chains.Shape(create, tuple(dict.fromkeys(needs)), tuple(dict.fromkeys(after)),
                            self.declared_volumes, networks,
                            renew_anonymous=self.options.renew_anon_volumes)

    def _drop_unused_waits(self, since: int, ops: list[Operation]) -> None:
        """Waits planned for this service's dependencies that none of its operations needs
        (the service is up to date) are dropped: nothing waits for nothing."""
        used = {d for op in ops for d in op.depends_on}
        for index in range(len(self.ops) - 1, since - 1, -1):
            op = self.ops[index]
            if op.kind in WAIT_KINDS and op.op_id not in used and \
                    self.waits.get(op.op_id) == index:
                del self.ops[index]
                del self.waits[op.op_id]

    def _uses_image(self, ref: str) -> None:
        need = self.images.get(ref)
        if need is None:
            return
        if need.op is None and need.error is not None:
            raise need.error
        if need.op is not None:
            self.used_images.add(ref)

    def _restarts_only(self, service: Service, by_number: dict[int, ObservedContainer]) -> None:
        """A service not selected is left alone, except a restart:true dependency recreated."""
        cause = self._restart_cause(service)
        if cause is None:
            return
        template = Operation("", Kind.RESTART_CONTAINER, cause, service=service,
                             timeout=self.options.timeout)
        ops = [self._restart(f"{service.name}:{n}", c, cause, template, ())
               for n, c in sorted(by_number.items()) if c.running]
        self.ops.extend(ops)
        self.ready[service.name] = [op.op_id for op in ops]

    def _restart(self, key: str, c: ObservedContainer, cause: str, template: Operation,
                 after: tuple[str, ...]) -> Operation:
        """Restart a running dependent after its recreated dependency is up again."""
        deps = list(after)
        when = None
        for dep in template.service.depends_on if template.service else ():
            if dep.restart and dep.service in self.recreated:
                deps.extend(self.ready.get(dep.service, []))
                when = self.maybe_recreated.get(dep.service, when)
        op = chains.existing(Kind.RESTART_CONTAINER, key, c, cause, template,
                             tuple(dict.fromkeys(deps)))
        return dataclasses.replace(op, when_image=when)

    def _recreate_cause(self, service: Service, c: ObservedContainer, digest: str,
                        text: str, ref: str) -> tuple[str | None, list[Change]]:
        """Why ``c`` must be replaced (None: it need not), and the field changes. ``digest``
        and ``text``: the service's config hash and canonical JSON."""
        if c.gone_networks and not c.running:
            gone = _network_words(c.gone_networks)
            if self.options.no_recreate:
                raise PlanError(f"cannot start container {c.name}: {gone} it is attached to "
                                f"is gone, and --no-recreate keeps it",
                                detail="Run without --no-recreate: up then replaces it.")
            remade = [n for n in c.gone_networks if n in self.observed.networks]
            if remade:  # a new network has the name; the container has the old one's id
                return f"{gone} was removed and made again", []
            return f"{gone} is gone", []
        if self.options.no_recreate:
            return None, []
        if self.options.force_recreate:
            return "--force-recreate", []
        if self.options.always_recreate_deps and service.name in self.deps_only:
            return "--always-recreate-deps", []
        if c.state == "dead":
            return "container is dead", []
        if c.state == "created" and (service.secrets or service.configs):
            # secrets and configs are copied in right after the create: a run killed in between
            # left a container that would start without them (labels cannot say whether it did)
            return ("created but never started: its secret and config files may be missing "
                    "(an interrupted run)"), []
        joined = service.network_mode[8:] if service.network_mode and \
            service.network_mode.startswith("service:") else None
        if joined in self.recreated and joined not in self.maybe_recreated:
            # it shares the network namespace of a container being replaced
            return f"network_mode service:{joined} is replaced", []
        detached = self._detached_from(service, c)
        if detached:  # as Compose does: recreated, not reconnected (the endpoint config is new)
            return f"not attached to network {', '.join(detached)}", []
        if c.compose_made:  # Compose's config hash hashes its own model: it cannot prove a match
            return "created by Docker Compose", []
        if c.config_hash != digest:
            if c.config is None:
                return "config hash changed", []
            wanted: dict[str, Any] = json.loads(text)
            changes = field_changes(c.config, wanted, service.env_file_keys)
            keys = sorted({_top_path(ch.path) for ch in changes}) or diff_configs(c.config,
                                                                                 wanted)
            if not keys:
                return "config hash changed", changes
            shown = ", ".join(keys[:_MAX_KEYS_IN_CAUSE])
            more = len(keys) - _MAX_KEYS_IN_CAUSE
            return f"{shown}{f' and {more} more' if more > 0 else ''} changed", changes
        image_id = self.observed.images.get(ref)
        if image_id and c.image_id and c.image_id != image_id:
            return (f"image {ref} now resolves to {short_image_id(image_id)}",
                    [Change("image", c.image_id, image_id)])
        return None, []

    def _detached_from(self, service: Service, c: ObservedContainer) -> list[str]:
        """The networks of the service ``c`` is not attached to (someone ran `docker network
        disconnect`, or a run was killed between detaching and replacing it)."""
        if c.networks is None or service.network_mode is not None:
            return []
        wanted = (self.project.networks[n.name].name for n in service.networks
                  if n.name in self.project.networks)
        return sorted(set(wanted) - set(c.networks))

    def _restart_cause(self, service: Service) -> str | None:
        for dep in service.depends_on:
            if dep.restart and dep.service in self.recreated:
                return f"dependency {dep.service} was recreated"
        return None

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
        target = self.project.services[dependency]
        hc = target.healthcheck
        if kind is Kind.WAIT_HEALTHY and hc is not None and (hc.disable or hc.test[:1] == ("NONE",)):
            raise PlanError(f"service {dependent} waits for {dependency} to be healthy, but "
                            f"{dependency}'s healthcheck is disabled",
                            detail="Enable the healthcheck or use condition service_started.")
        if kind is Kind.WAIT_HEALTHY and hc is None:
            self.wait_notes[op_id] = (f"service {dependency} has no healthcheck in the stack "
                                      f"file: waiting for it to be healthy relies on its "
                                      f"image's HEALTHCHECK.")
        self.waits[op_id] = len(self.ops)
        want = self.options.scale.get(dependency, target.replicas)
        watch = self.watched.get(dependency) or tuple(
            container_name(self.project.name, target, n) for n in range(1, want + 1))
        self.ops.append(Operation(op_id, kind, f"{prefix}{dependent}",
                                  depends_on=tuple(self.ready.get(dependency, [])),
                                  service=target, watch=watch, timeout=self.options.wait_timeout))
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
            if self.options.ignore_orphans:
                return
            self.notes.append(
                f"Found orphan containers ({', '.join(c.name for c in orphans)}) for this "
                f"project. If you removed or renamed this service in your stack file, run with "
                f"--remove-orphans to remove them.")
            return
        template = Operation("", Kind.REMOVE_CONTAINER, "orphan", timeout=self.options.timeout)
        for c in orphans:
            self.ops.extend(chains.retire(f"{c.service}:{c.number}", c, "orphan", template))


def _network_words(names: tuple[str, ...]) -> str:
    return f"network {names[0]}" if len(names) == 1 else f"networks {', '.join(names)}"


def _no_external_files(project: Project, service: Service) -> None:
    """An external secret or config lives in a Swarm's store, which a single engine has none
    of: an error, as in Compose, rather than a container without the file."""
    for kind, refs, table in (("secret", service.secrets, project.secrets),
                              ("config", service.configs, project.configs)):
        for ref in refs:
            obj = table.get(ref.source)
            if obj is not None and obj.external:
                raise PlanError(
                    f"service {service.name} uses external {kind} {ref.source}: a single engine "
                    f"has no {kind} store (external {kind}s live in a Swarm)",
                    detail=f"Give the {kind} a file:, environment: or content: source, or deploy "
                           "to a swarm (`stackup --target swarm up`).")


def _top_path(path: str) -> str:
    """``environment.VERSION`` stays; ``ports[0]`` → ``ports``; ``healthcheck.test[1]`` →
    ``healthcheck.test``."""
    return path.split("[", 1)[0]
