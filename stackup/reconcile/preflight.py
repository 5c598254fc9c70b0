"""Preflight: what ``up`` can know is wrong before it creates anything, found all at once.

Pipeline position: after observe, around reconcile, before execute. Pure: what it needs to know
about the machine and the rest of the engine (host ports taken, paths missing, images no
registry resolves, every container on the engine) comes in a ``HostFacts`` record that the use
case (``app``) gathers for exactly the ``Wants`` listed here. Three steps:

1. ``before_plan``: what reconcile would refuse one at a time: external networks and volumes
   that do not exist, images that policy forbids pulling and nothing builds (``pull_policy:
   never``, ``--no-build``), external secrets (a swarm's; a container cannot be given one).
2. ``wants``: what to ask about, from the plan's operations (the containers it creates and
   starts, the images it pulls); without a plan (step 1 found problems), from the selected
   services that have no container yet.
3. ``check``: the answers → problems: a host port another process or another project's
   container holds, a ``container_name`` another container has, a bind source that does not
   exist where the engine would refuse it (long syntax with ``create_host_path: false``), a
   host port the run itself would bind twice (two services, or replicas of one), a
   secret or config file that does not exist, an image that is neither present, pullable nor
   built.

Each problem names the key path it comes from (``services.web.ports[0]``); ``failure`` locates
them in the loader's tree (file:line) and makes one ``PreflightFailed`` listing all.
``locate_failure`` does the same for an engine error during the run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stackup.core.errors import Location, PlanError, PreflightFailed
from stackup.loader.located import locate
from stackup.loader.units import parse_port, parse_volume
from stackup.core.model import FrozenMap, Mount, Port, Project, Service
from stackup.core.observed import ObservedState
from stackup.core.plan import Kind, Operation, Plan
from stackup.reconcile._select import container_name, with_dependencies
from stackup.reconcile.images import image_needs
from stackup.reconcile.up import UpOptions

_WILDCARD = frozenset({"", "0.0.0.0", "::"})


@dataclass(frozen=True, slots=True, order=True)
class HostPort:
    """A published port as the engine binds it: ``host_ip`` "" is every address."""

    host_ip: str
    port: int
    protocol: str = "tcp"

    def overlaps(self, other: HostPort) -> bool:
        return self.port == other.port and self.protocol == other.protocol and (
            self.host_ip == other.host_ip or self.host_ip in _WILDCARD
            or other.host_ip in _WILDCARD)

    def __str__(self) -> str:
        ip = f"[{self.host_ip}]" if ":" in self.host_ip else self.host_ip
        return f"{ip + ':' if ip else ''}{self.port}/{self.protocol}"


@dataclass(frozen=True, slots=True)
class EngineContainer:
    """One container on the engine, of any project: what preflight compares with."""

    name: str
    project: str  # stackup's or Compose's project label; "" for none
    running: bool
    ports: tuple[HostPort, ...] = ()  # published (held while it runs)


@dataclass(frozen=True, slots=True)
class Wants:
    """What preflight asks the host and the engine about."""

    ports: tuple[tuple[str, Port], ...] = ()  # (service, port) of containers the run starts
    names: tuple[tuple[str, str], ...] = ()  # (service, container name) the run creates
    binds: tuple[tuple[str, Mount], ...] = ()  # (service, bind) the engine will not create
    files: tuple[tuple[str, str, str, str], ...] = ()  # (service, section, key, path) of the
    # secret and config files it is given (stackup reads them here, whatever the engine)
    images: tuple[tuple[str, str], ...] = ()  # (service, reference) pulled and not present

    @property
    def host_ports(self) -> list[HostPort]:
        return sorted({host_port(p) for _, p in self.ports})


@dataclass(frozen=True, slots=True)
class HostFacts:
    """The answers. ``local``: the engine runs on this machine (a unix socket), so host ports
    were probed and bind sources looked at here; otherwise only the engine's list counts."""

    local: bool = False
    busy: frozenset[HostPort] = frozenset()  # ports a probe could not bind
    missing: frozenset[str] = frozenset()  # paths that do not exist
    containers: tuple[EngineContainer, ...] = ()
    unpullable: FrozenMap[str, str] = field(default_factory=FrozenMap)  # ref → why not


@dataclass(frozen=True, slots=True)
class Problem:
    path: str  # key path in the stack file: services.web.ports[0]
    message: str


def host_port(port: Port) -> HostPort:
    return HostPort(port.host_ip or "", int(port.published or 0), port.protocol)


def selected(project: Project, options: UpOptions) -> list[str]:
    """The services ``up`` converges (as reconcile selects them), sorted."""
    if options.services and options.no_deps:
        return sorted(options.services)
    if options.services:
        return sorted(with_dependencies(project, options.services))
    return sorted(project.services)


# --- step 1 ------------------------------------------------------------------------------------


def before_plan(project: Project, observed: ObservedState, options: UpOptions,
                tree: Mapping[str, Any] | None = None) -> list[Problem]:
    """What reconcile would refuse one at a time, all at once."""
    out: list[Problem] = []
    names = selected(project, options)
    for key in sorted({n.name for s in names for n in project.services[s].networks}):
        network = project.networks.get(key)
        if network is not None and network.external and network.name not in observed.networks:
            out.append(Problem(f"networks.{key}", f"external network {network.name} not found "
                                                  f"(create it: docker network create "
                                                  f"{network.name})"))
    for key in sorted({m.source for s in names for m in project.services[s].volumes
                       if m.type == "volume" and m.source}):
        volume = project.volumes.get(key)
        if volume is not None and volume.external and volume.name not in observed.volumes:
            out.append(Problem(f"volumes.{key}", f"external volume {volume.name} not found "
                                                 f"(create it: docker volume create "
                                                 f"{volume.name})"))
    for key in sorted({r.source for s in names for r in project.services[s].secrets}):
        secret = project.secrets.get(key)
        if secret is not None and secret.external:
            out.append(Problem(f"secrets.{key}", f"secret {key} is external: only a swarm "
                                                 f"keeps secrets; give it a file, environment "
                                                 f"or content"))
    fresh = [s for s in names if not observed.containers_of(s)]
    for name in fresh:  # an error is certain only for a service whose containers are created
        service = project.services[name]
        try:
            need = image_needs(project, observed, [name], build=options.build, pull=options.pull,
                               no_build=options.no_build).get(service.image_ref(project.name))
        except PlanError as error:
            out.append(Problem(f"services.{name}.pull_policy", error.summary))
            continue
        if need is not None and need.error is not None:
            key = "image" if service.image else "build"
            out.append(Problem(f"services.{name}.{key}", need.error.summary))
    return out


# --- step 2 ------------------------------------------------------------------------------------


def wants(project: Project, observed: ObservedState, plan: Plan) -> Wants:
    """What the plan's operations need: the containers it creates and starts, its pulls."""
    ports: dict[tuple[str, Port], None] = {}
    names: dict[tuple[str, str], None] = {}
    created: dict[str, None] = {}
    images: dict[tuple[str, str], None] = {}
    for op in plan.operations:
        if op.if_failed or op.service is None:
            continue  # restore steps give back what was there
        name = op.service.name
        if op.kind is Kind.CREATE_CONTAINER:
            created[name] = None
            if op.container_name:
                names[(name, op.container_name)] = None
        elif op.kind is Kind.START_CONTAINER:
            ports.update(((name, p), None) for p in _fixed_ports(op.service))
        elif op.kind is Kind.PULL_IMAGE and op.image and observed.images.get(op.image) is None:
            images[(name, op.image)] = None
    return _wants(project, ports, names, created, images)


def wants_without_plan(project: Project, observed: ObservedState,
                       options: UpOptions) -> Wants:
    """When there is no plan (step 1 found problems): the selected services that have no
    container yet, as ``up`` would create them."""
    ports: dict[tuple[str, Port], None] = {}
    names: dict[tuple[str, str], None] = {}
    created: dict[str, None] = {}
    images: dict[tuple[str, str], None] = {}
    for name in selected(project, options):
        if observed.containers_of(name):
            continue
        service = project.services[name]
        created[name] = None
        names.update(((name, container_name(project.name, service, n)), None)
                     for n in range(1, service.replicas + 1))
        if not options.no_start and service.replicas:
            ports.update(((name, p), None) for p in _fixed_ports(service))
        ref = service.image_ref(project.name)
        try:
            need = image_needs(project, observed, [name], build=options.build, pull=options.pull,
                               no_build=options.no_build).get(ref)
        except PlanError:
            continue
        if need is not None and need.op is not None and need.op.kind is Kind.PULL_IMAGE \
                and observed.images.get(ref) is None:
            images[(name, ref)] = None
    return _wants(project, ports, names, created, images)


def _wants(project: Project, ports: Mapping[tuple[str, Port], None],
           names: Mapping[tuple[str, str], None], created: Iterable[str],
           images: Mapping[tuple[str, str], None]) -> Wants:
    binds: list[tuple[str, Mount]] = []
    files: dict[tuple[str, str, str, str], None] = {}
    for name in created:
        service = project.services[name]
        binds.extend((name, m) for m in service.volumes if _bind_must_exist(m))
        for section, refs, declared in (("secrets", service.secrets, project.secrets),
                                        ("configs", service.configs, project.configs)):
            for ref in refs:
                obj = declared.get(ref.source)
                if obj is not None and obj.file is not None:
                    files[(name, section, obj.key, obj.file)] = None
    return Wants(tuple(ports), tuple(names), tuple(binds), tuple(files), tuple(images))


def _fixed_ports(service: Service) -> list[Port]:
    """Published ports with one host port (a range lets the engine pick a free one); none on
    the host's network, where the engine publishes nothing."""
    if service.network_mode == "host":
        return []
    return [p for p in service.ports if p.published and p.published.isdigit()]


def _bind_must_exist(mount: Mount) -> bool:
    """A bind the engine refuses when its source is missing: the ``Mounts`` API, used for the
    long syntax with ``create_host_path: false`` (or a ``consistency``); the short syntax goes
    through ``Binds``, which creates it (as Compose does)."""
    return mount.type == "bind" and mount.source is not None and (
        not mount.create_host_path or bool(mount.consistency))


# --- step 3 ------------------------------------------------------------------------------------


def check(project: Project, wanted: Wants, host: HostFacts,
          tree: Mapping[str, Any] | None = None) -> list[Problem]:
    """The answers to ``wanted`` → the problems they show."""
    out: list[Problem] = []
    others = [c for c in host.containers if c.project != project.name]
    ours = [c for c in host.containers if c.project == project.name and c.running]
    for service_name, port in wanted.ports:
        wanted_port = host_port(port)
        path = port_path(tree, service_name, port)
        holder = next((c for c in others if c.running
                       and any(wanted_port.overlaps(p) for p in c.ports)), None)
        if holder is not None:
            out.append(Problem(path, f"host port {wanted_port} is already published by "
                                     f"container {holder.name}{_of(holder)}"))
        elif host.local and any(wanted_port.overlaps(b) for b in host.busy) and not any(
                wanted_port.overlaps(p) for c in ours for p in c.ports):
            out.append(Problem(path, f"host port {wanted_port} is already in use by another "
                                     f"process on this machine"))
    out += _clashes(project, wanted, tree)
    by_name = {c.name: c for c in host.containers}
    for service_name, name in wanted.names:
        found = by_name.get(name)
        if found is not None and found.project != project.name:
            service = project.services[service_name]
            key = f"services.{service_name}" + (".container_name" if service.container_name
                                                 else "")
            out.append(Problem(key, f"container name {name} is taken by "
                                    f"{'another' if found.project else 'a'} container"
                                    f"{_of(found)}"))
    for service_name, mount in wanted.binds:
        if host.local and mount.source in host.missing:
            out.append(Problem(volume_path(tree, service_name, mount),
                               f"bind source {mount.source} does not exist (create_host_path: "
                               f"false)"))
    users: dict[tuple[str, str, str], list[str]] = {}
    for service_name, section, key, path in wanted.files:
        users.setdefault((section, key, path), []).append(service_name)
    for (section, key, path), names in users.items():
        if path in host.missing:
            out.append(Problem(f"{section}.{key}.file",
                               f"{section[:-1]} {key} of service {', '.join(names)}: file "
                               f"{path} does not exist"))
    for service_name, ref in wanted.images:
        reason = host.unpullable.get(ref)
        if reason is not None:
            key = "image" if project.services[service_name].image else "build"
            out.append(Problem(f"services.{service_name}.{key}",
                               f"image {ref} is not present and cannot be pulled: {reason}"))
    return out


def _of(container: EngineContainer) -> str:
    return f" of project {container.project}" if container.project else " outside any project"


def failure(problems: Iterable[Problem],
            tree: Mapping[str, Any] | None = None) -> PreflightFailed:
    """One error listing every problem with its file and line, in the order written."""
    located: list[tuple[str, Location | None]] = []
    for problem in problems:
        location = locate(tree, problem.path)
        message = f"{problem.path}: {problem.message}"
        located.append((message, location))
    located = list(dict.fromkeys(located))
    located.sort(key=lambda item: (item[1] is None, item[1].file if item[1] else "",
                                   item[1].line if item[1] else 0))
    return PreflightFailed(tuple(located))


# --- locating entries ---------------------------------------------------------------------------


def _raw_list(tree: Mapping[str, Any] | None, service: str, key: str) -> list[Any]:
    try:
        found = (tree or {})["services"][service][key]
    except (KeyError, TypeError):
        return []
    return found if isinstance(found, list) else []


def _clashes(project: Project, wanted: Wants,
             tree: Mapping[str, Any] | None) -> list[Problem]:
    """Host ports the run itself would bind twice: two services publishing one port, or a
    service of several replicas publishing a single host port (the second container's start
    would fail with "port is already allocated", after the first was made)."""
    out: list[Problem] = []
    first: dict[HostPort, str] = {}
    for service_name, port in sorted(wanted.ports, key=lambda item: item[0]):
        wanted_port = host_port(port)
        path = port_path(tree, service_name, port)
        replicas = project.services[service_name].replicas
        if replicas > 1:
            out.append(Problem(path, f"host port {wanted_port} is published by each of the "
                                     f"{replicas} replicas of {service_name}: only one can "
                                     f"bind it (give a range, e.g. \"{port.published}-"
                                     f"{int(port.published or 0) + replicas - 1}:{port.target}\","
                                     f" or no host port)"))
        other = next((name for p, name in first.items()
                      if name != service_name and wanted_port.overlaps(p)), None)
        if other is not None:
            out.append(Problem(path, f"host port {wanted_port} is also published by service "
                                     f"{other}: only one of them can bind it"))
        first.setdefault(wanted_port, service_name)
    return out


def port_path(tree: Mapping[str, Any] | None, service: str, port: Port) -> str:
    """``services.web.ports[i]``: the entry (as written, after merging) that made ``port``."""
    for i, item in enumerate(_raw_list(tree, service, "ports")):
        try:
            if isinstance(item, Mapping):
                if int(item.get("target", -1)) == port.target and \
                        str(item.get("published")) == port.published:
                    return f"services.{service}.ports[{i}]"
            elif port in parse_port(item):
                return f"services.{service}.ports[{i}]"
        except (TypeError, ValueError):
            continue
    return f"services.{service}.ports"


def volume_path(tree: Mapping[str, Any] | None, service: str, mount: Mount) -> str:
    """``services.web.volumes[i]``: the entry that mounts at ``mount.target``."""
    for i, item in enumerate(_raw_list(tree, service, "volumes")):
        try:
            target = item.get("target") if isinstance(item, Mapping) else \
                parse_volume(item).target
        except (TypeError, ValueError):
            continue
        if target == mount.target:
            return f"services.{service}.volumes[{i}]"
    return f"services.{service}.volumes"


_PORT_IN_ERROR = re.compile(r"(?:Bind for |listen (?:tcp|udp)[46]? )\[?[0-9a-fA-F.:]*?\]?:(\d+)")


def locate_failure(op: Operation, message: str,
                   tree: Mapping[str, Any] | None) -> Location | None:
    """Where an engine error of ``op`` during the run comes from: the ``ports:`` entry a port
    error names, else the service."""
    service = op.service
    if service is None:
        return None
    found = _PORT_IN_ERROR.search(message)
    if found is not None:
        number = found.group(1)
        for port in service.ports:
            if port.published == number:
                return locate(tree, port_path(tree, service.name, port))
    return locate(tree, f"services.{service.name}")
