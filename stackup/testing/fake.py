"""FakeEngine: an in-memory implementation of the Engine protocol, for fast executor tests.

Pipeline position: stands where ``adapters/docker/`` stands (``execute`` and ``app`` call it).
It keeps containers (state, health, exit code, labels), networks, volumes and image ids in
dicts under one lock, so it is safe to call from the executor's worker threads. It applies the
same ownership rules as the real adapter: nothing without the project's label is stopped,
started, renamed or removed, and a network or volume in use cannot be removed.

Knobs for tests: ``latency`` (seconds slept per call, outside the lock, so calls overlap),
``fail_on(method, name)`` (the next call of ``method`` on that container/network/volume name
raises), ``health(service, after=K, final=...)`` (containers of a service with a healthcheck
report ``starting`` for K inspects, then ``final``), ``exit_with(service, code, logs, after=K)``
(a one-shot: running for K inspects, then exited with ``code``), ``wedge_network(name)``
(its removal fails as Engine 20.10's does when it lost count of the network's endpoints, until
``restart_engine()``). Images: with ``auto_images`` (the default) every reference exists;
otherwise only those in ``images``, and ``pull_image`` finds those in ``registry`` (ref → id);
``build_image`` gives a new id per build and ``fail_on("build_image" | "pull_image" |
"push_image", ref)`` works too. ``calls`` records every call as ``Call(method, subject, start,
end)``; ``max_in_flight`` is the most calls seen at once.

Where the real engine's behaviour follows from the service, the fake follows it too (the
contract tests in tests/engine/test_contract.py hold both to it): health stays ``starting``
until the healthcheck's ``interval`` has passed since the start (``unhealthy`` after ``retries``
intervals, and once stopped; a healthcheck without an interval is checked at once, where the
engine waits its 30 s default); a ``sh -c`` command whose ``trap`` on TERM does not exit is
killed at the stop timeout and exits 137 (one that traps ``exit N`` exits N, any other command
0); ``exec`` runs a few shell words itself (see ``_run``); a network can be removed while only
stopped containers are attached, and such a container then fails to start until it is
disconnected from it, also once a network of the same name is made again (it keeps the old
network's id); ``observe`` reports such a network in ``gone_networks``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import shlex
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from stackup.core import labels
from stackup.ports.engine import ContainerSummary, ExecResult, ImageInfo
from stackup.adapters.memory_lock import FakeLockStore
from stackup.testing.fake_revisions import FakeRevisionsMixin
from stackup.adapters.docker.file_specs import Payload, delivered
from stackup.core.errors import (
    Conflict,
    EngineError,
    NotFound,
    OperationFailed,
    StackupError,
    endpoints_miscounted,
)
from stackup.core.model import BuildSpec, FrozenMap, Network, Project, Service, Volume
from stackup.core.observed import (
    ObservedContainer,
    ObservedNetwork,
    ObservedState,
    ObservedVolume,
)


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    subject: str
    start: float  # time.monotonic()
    end: float


@dataclass(slots=True)
class FakeContainer:
    container_id: str
    name: str
    project: str
    service: str
    number: int
    image_ref: str
    image_id: str
    config_hash: str
    config_json: str
    labels: dict[str, str]
    networks: tuple[str, ...] = ()  # engine names
    network_ids: dict[str, str] = field(default_factory=dict)  # name → id, once it has run
    volumes: tuple[str, ...] = ()  # named volumes (engine names)
    anonymous: tuple[str, ...] = ()  # anonymous volume names
    anonymous_paths: tuple[tuple[str, str], ...] = ()  # (container path, volume name)
    has_healthcheck: bool = False
    health_interval: float = 0.0  # seconds from the start to the first check
    health_retries: int = 3
    term_exit: int | None = 0  # exit code on SIGTERM; None: ignored, killed at the timeout
    started_at: float = 0.0  # time.monotonic() of the last start
    state: str = "created"
    health: str | None = None
    exit_code: int | None = None
    inspects: int = 0  # inspects since the last start
    logs: list[bytes] = field(default_factory=list)
    files: dict[str, Payload] = field(default_factory=dict)  # secrets/configs by target path


@dataclass(slots=True)
class _Behaviour:
    health_after: int = 0
    health_final: str = "healthy"
    exit_code: int | None = None
    exit_after: int = 0
    logs: tuple[str, ...] = ()


class FakeEngine(FakeRevisionsMixin):
    """An in-memory engine. Thread-safe; see the module docstring for the knobs."""

    def __init__(self, *, latency: float = 0.0, images: dict[str, str] | None = None,
                 auto_images: bool = True) -> None:
        self.latency = latency
        self.images: dict[str, str] = dict(images or {})
        self.auto_images = auto_images
        self.registry: dict[str, str] = {}  # pullable references (when not auto_images)
        self.pulled_at: dict[str, float] = {}  # ref → when pull_image last pulled it
        self.clock: Callable[[], float] = time.time  # tests may set a clock of their own
        self.pushed: dict[str, str] = {}  # ref → id pushed
        self.builds: list[tuple[str, BuildSpec, str, bool, bool]] = []  # (service, build, tag,
        # no_cache, pull)
        self.containers: dict[str, FakeContainer] = {}
        self.networks: dict[str, ObservedNetwork] = {}
        self.volumes: dict[str, ObservedVolume] = {}
        self.calls: list[Call] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self.hooks_run: list[tuple[str, str, str]] = []  # (container, kind, command) in order
        self._lock_store: FakeLockStore | None = None
        self._failures: dict[tuple[str, str], StackupError] = {}
        self.wedged_networks: set[str] = set()
        self._behaviour: dict[str, _Behaviour] = {}

    # --- knobs --------------------------------------------------------------------------------
    def fail_on(self, method: str, name: str, error: StackupError | None = None) -> None:
        """Make the next ``method`` call on the named container, network or volume fail."""
        self._failures[(method, name)] = error or EngineError(f"injected failure: {method} {name}")

    def wedge_network(self, name: str) -> None:
        """Make the network impossible to remove, as Engine 20.10 does when it has lost count of
        its endpoints ("has active endpoints" with no container attached), until
        ``restart_engine``."""
        self.wedged_networks.add(name)

    def restart_engine(self) -> None:
        """What a dockerd restart does here: recount the networks' endpoints."""
        self.wedged_networks.clear()

    def health(self, service: str, *, after: int = 0, final: str = "healthy") -> None:
        self._behaviour.setdefault(service, _Behaviour()).health_after = after
        self._behaviour[service].health_final = final

    def exit_with(self, service: str, code: int, logs: Iterable[str] = (), *,
                  after: int = 0) -> None:
        b = self._behaviour.setdefault(service, _Behaviour())
        b.exit_code, b.exit_after, b.logs = code, after, tuple(logs)

    def add_network(self, name: str, *, project: str | None = None, driver: str = "bridge",
                    key: str | None = None, extra_labels: dict[str, str] | None = None) -> None:
        lab = dict(extra_labels or {})
        if project:
            lab[labels.PROJECT] = project
        self.networks[name] = ObservedNetwork(name, f"net{next(self._ids)}", key, driver,
                                              labels=FrozenMap(lab), project=project)

    def add_volume(self, name: str, *, project: str | None = None, driver: str = "local",
                   key: str | None = None) -> None:
        lab = {labels.PROJECT: project} if project else {}
        self.volumes[name] = ObservedVolume(name, key, driver, labels=FrozenMap(lab),
                                            project=project)

    def by_name(self, name: str) -> FakeContainer:
        with self._lock:
            for c in self.containers.values():
                if c.name == name:
                    return c
        raise NotFound(f"no container named {name}")

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # --- plumbing -----------------------------------------------------------------------------
    def _call(self, method: str, subject: str) -> _Tracker:
        return _Tracker(self, method, subject)

    def _owned(self, project_name: str, container_id: str) -> FakeContainer:
        c = self.containers.get(container_id) or next(
            (o for o in self.containers.values() if o.name == container_id), None)
        if c is None:
            raise NotFound(f"no such container: {container_id}")
        if c.labels.get(labels.PROJECT) != project_name:
            raise EngineError(f"refusing to touch container {c.name}: it does not belong to "
                              f"project {project_name}")
        return c

    # --- observe ------------------------------------------------------------------------------
    def observe(self, project_name: str, *, networks: Iterable[str] = (),
                volumes: Iterable[str] = (), images: Iterable[str] = (),
                all_containers: bool = True, pulled: Iterable[str] = ()) -> ObservedState:
        with self._call("observe", project_name), self._lock:
            found = [self._view(c) for c in self.containers.values()
                     if c.labels.get(labels.PROJECT) == project_name
                     and (all_containers or c.state == "running")]
            found.sort(key=lambda c: (c.service, c.number, c.name))
            nets = {n: v for n, v in self.networks.items()
                    if v.project == project_name or n in set(networks)}
            vols = {n: v for n, v in self.volumes.items()
                    if v.project == project_name or n in set(volumes)}
            return ObservedState(project_name, tuple(found), FrozenMap(sorted(nets.items())),
                                 FrozenMap(sorted(vols.items())),
                                 FrozenMap({r: self._image(r) for r in sorted(set(images))}),
                                 pulled_ago=FrozenMap({
                                     r: max(0.0, self.clock() - self.pulled_at[r])
                                     for r in sorted(set(pulled)) if r in self.pulled_at}))

    def _image(self, ref: str) -> str | None:
        if ref not in self.images and self.auto_images:
            self.images[ref] = "sha256:" + hashlib.sha256(ref.encode()).hexdigest()
        return self.images.get(ref)

    def _view(self, c: FakeContainer) -> ObservedContainer:
        return ObservedContainer(c.container_id, c.name, c.service, c.number, c.state, c.health,
                                 c.exit_code, c.config_hash, FrozenMap(json.loads(c.config_json)),
                                 c.image_id, c.image_ref, FrozenMap(c.labels),
                                 oneoff=c.labels.get(labels.ONEOFF) == "True",
                                 volume_mounts=c.anonymous_paths,
                                 networks=tuple(sorted(c.networks)),
                                 gone_networks=tuple(sorted(self._gone(c))))

    def _hold_ids(self, c: FakeContainer) -> None:
        """A container that runs holds the ids of its networks (one never started: names)."""
        for name in c.networks:
            c.network_ids.setdefault(name, self.networks[name].network_id)

    def _gone(self, c: FakeContainer) -> list[str]:
        """The networks ``c`` is attached to that are gone: as on the engine, a container that
        has run keeps the id of each network, which one made again under the same name does
        not have; one never started goes by the name."""
        gone = []
        for name in c.networks:
            seen = self.networks.get(name)
            if seen is None or c.network_ids.get(name, seen.network_id) != seen.network_id:
                gone.append(name)
        return gone

    def inspect_container(self, container_id: str) -> ObservedContainer:
        with self._call("inspect_container", container_id), self._lock:
            c = self.containers.get(container_id) or next(
                (o for o in self.containers.values() if o.name == container_id), None)
            if c is None:
                raise NotFound(f"no such container: {container_id}")
            self._advance(c)
            return self._view(c)

    def _advance(self, c: FakeContainer) -> None:
        """One inspect of a running container: health and one-shot exits progress. The health
        checks run at the healthcheck's interval from the start: the first result comes one
        interval after it, ``unhealthy`` only after ``retries`` failed checks."""
        if c.state != "running":
            return
        c.inspects += 1
        b = self._behaviour.get(c.service, _Behaviour())
        if b.exit_code is not None and c.inspects > b.exit_after:
            c.state, c.exit_code, c.health = "exited", b.exit_code, None
            c.logs.extend(f"{line}\n".encode() for line in b.logs)
        elif c.has_healthcheck and c.inspects > b.health_after:
            checks = c.health_retries if b.health_final == "unhealthy" else 1
            if time.monotonic() - c.started_at >= c.health_interval * checks:
                c.health = b.health_final

    # --- networks and volumes ---------------------------------------------------------------
    def create_network(self, project_name: str, network: Network) -> None:
        with self._call("create_network", network.name), self._lock:
            self._maybe_fail("create_network", network.name)
            if network.name in self.networks:
                raise Conflict(f"network {network.name} already exists")
            lab = {**network.labels, labels.PROJECT: project_name, labels.NETWORK: network.key}
            self.networks[network.name] = ObservedNetwork(
                network.name, f"net{next(self._ids)}", network.key, network.driver or "bridge",
                network.internal, network.attachable, network.driver_opts, FrozenMap(lab),
                project_name)

    def remove_network(self, project_name: str, name: str) -> None:
        with self._call("remove_network", name), self._lock:
            seen = self.networks.get(name)
            if seen is None:
                return  # already gone, as on the real engine
            if seen.project != project_name:
                raise EngineError(f"refusing to remove network {name}: it does not belong to "
                                  f"project {project_name}")
            users = sorted(c.name for c in self.containers.values()
                           if name in c.networks and c.state == "running")
            if users:  # stopped ones keep the name and cannot start until disconnected
                raise EngineError(f"network {name} has active endpoints (in use by "
                                  f"{', '.join(users)})")
            if name in self.wedged_networks:
                raise endpoints_miscounted(
                    f"cannot remove network {name}: error while removing network: network "
                    f"{name} id {seen.network_id} has active endpoints", name)
            del self.networks[name]

    def create_volume(self, project_name: str, volume: Volume) -> None:
        with self._call("create_volume", volume.name), self._lock:
            self._maybe_fail("create_volume", volume.name)
            if volume.name in self.volumes:
                raise Conflict(f"volume {volume.name} already exists")
            lab = {**volume.labels, labels.PROJECT: project_name, labels.VOLUME: volume.key}
            self.volumes[volume.name] = ObservedVolume(volume.name, volume.key,
                                                       volume.driver or "local",
                                                       volume.driver_opts, FrozenMap(lab),
                                                       project_name)

    def remove_volume(self, project_name: str, name: str) -> None:
        with self._call("remove_volume", name), self._lock:
            seen = self.volumes.get(name)
            if seen is None:
                return  # already gone, as on the real engine
            if seen.project != project_name:
                raise EngineError(f"refusing to remove volume {name}: it does not belong to "
                                  f"project {project_name}")
            users = sorted(c.name for c in self.containers.values()
                           if name in c.volumes or name in c.anonymous)
            if users:
                raise Conflict(f"volume {name} is in use by {', '.join(users)}")
            del self.volumes[name]

    # --- containers -------------------------------------------------------------------------
    def create_container(self, project: Project, service: Service, number: int, *,
                         name: str, config_hash: str, config_json: str, image: str,
                         anonymous_volumes: Mapping[str, str] | None = None,
                         network_mode_container: str | None = None,
                         hidden: bool = False) -> str:
        with self._call("create_container", name), self._lock:
            self._maybe_fail("create_container", name)
            if any(c.name == name for c in self.containers.values()):
                raise Conflict(f"container name {name} is already in use")
            if image not in self.images:
                if not self.auto_images:
                    raise NotFound(f"image {image} not found")
                self.images[image] = "sha256:" + hashlib.sha256(image.encode()).hexdigest()
            nets = tuple(project.networks[n.name].name if n.name in project.networks else n.name
                         for n in service.networks)
            vols = tuple(project.volumes[m.source].name for m in service.volumes
                         if m.type == "volume" and m.source is not None
                         and m.source in project.volumes)
            missing = [n for n in nets if n not in self.networks] + \
                      [v for v in vols if v not in self.volumes]
            if missing:
                raise NotFound(f"container {name} needs {', '.join(missing)}, which do not exist")
            if network_mode_container is not None and not any(
                    network_mode_container in (o.container_id, o.name)
                    for o in self.containers.values()):
                raise NotFound(f"container {network_mode_container} to join (network_mode) "
                               f"does not exist")
            inherited = dict(anonymous_volumes or {})
            paths = tuple(sorted((m.target, inherited.get(m.target) or f"anon{next(self._ids)}")
                                 for m in service.volumes
                                 if m.type == "volume" and m.source is None))
            anonymous: tuple[str, ...] = tuple(name for _, name in paths)
            for target, volume_name in paths:  # the engine makes them, with the mount's labels
                if volume_name not in self.volumes:
                    from stackup.adapters.docker.container_spec import anonymous_volume_labels

                    self.volumes[volume_name] = ObservedVolume(
                        volume_name, None, "local", labels=FrozenMap(
                            anonymous_volume_labels(project, service, target)),
                        project=project.name)
            hc = service.healthcheck
            container_id = hashlib.sha256(f"{name}{next(self._ids)}".encode()).hexdigest()
            self.containers[container_id] = FakeContainer(
                container_id, name, project.name, service.name, number, image,
                self.images[image], config_hash, config_json,
                {**service.labels, labels.PROJECT: project.name, labels.SERVICE: service.name,
                 labels.NUMBER: str(number), labels.CONFIG_HASH: config_hash,
                 labels.CONFIG: config_json, labels.IMAGE: image},
                nets, {}, vols, anonymous, anonymous_paths=paths,
                has_healthcheck=hc is not None and not hc.disable and hc.test[:1] != ("NONE",),
                health_interval=(hc.interval or 0.0) if hc is not None else 0.0,
                health_retries=(hc.retries or 3) if hc is not None else 3,
                term_exit=_term_exit((*(service.entrypoint or ()), *(service.command or ()))))
            self.containers[container_id].files = delivered(project, service)
            return container_id

    def start_container(self, project_name: str, container_id: str) -> None:
        with self._call("start_container", container_id), self._lock:
            c = self._owned(project_name, container_id)
            self._maybe_fail("start_container", c.name)
            if c.state == "running":
                return
            gone = self._gone(c)
            if gone:
                raise NotFound(f"cannot start container {c.name}: network {gone[0]} not found")
            self._hold_ids(c)
            c.state, c.exit_code, c.inspects = "running", None, 0
            c.started_at = time.monotonic()
            c.health = "starting" if c.has_healthcheck else None
            b = self._behaviour.get(c.service)
            if b is not None and b.exit_code is not None and b.exit_after == 0:
                self._advance(c)  # a quick job: already finished when start returns

    def stop_container(self, project_name: str, container_id: str,
                       timeout: float | None = None) -> None:
        with self._call("stop_container", container_id), self._lock:
            c = self._owned(project_name, container_id)
            self._maybe_fail("stop_container", c.name)
            if c.state == "running":  # the engine leaves a stopped container's health unhealthy
                c.state, c.exit_code = "exited", _stopped_code(c)
                c.health = "unhealthy" if c.has_healthcheck else None

    def restart_container(self, project_name: str, container_id: str,
                          timeout: float | None = None) -> None:
        with self._call("restart_container", container_id), self._lock:
            c = self._owned(project_name, container_id)
            self._maybe_fail("restart_container", c.name)
            gone = self._gone(c)
            if gone:
                raise NotFound(f"cannot restart container {c.name}: network {gone[0]} not found")
            self._hold_ids(c)
            c.state, c.exit_code, c.inspects = "running", None, 0
            c.started_at = time.monotonic()
            c.health = "starting" if c.has_healthcheck else None

    def remove_container(self, project_name: str, container_id: str, *,
                         volumes: bool = False, force: bool = False,
                         timeout: float | None = None) -> None:
        with self._call("remove_container", container_id), self._lock:
            try:
                c = self._owned(project_name, container_id)
            except NotFound:
                return  # already gone, as on the real engine
            self._maybe_fail("remove_container", c.name)
            if c.state == "running" and not force:
                raise Conflict(f"cannot remove container {c.name}: it is running")
            del self.containers[c.container_id]
            for volume_name in c.anonymous if volumes else ():  # as the engine's ``v``
                if not any(volume_name in o.anonymous for o in self.containers.values()):
                    self.volumes.pop(volume_name, None)

    def rename_container(self, project_name: str, container_id: str, name: str) -> None:
        with self._call("rename_container", container_id), self._lock:
            c = self._owned(project_name, container_id)
            self._maybe_fail("rename_container", c.name)
            if c.name == name:
                return
            if any(o.name == name for o in self.containers.values() if o is not c):
                raise Conflict(f"container name {name} is already in use")
            c.name = name

    def disconnect_network(self, project_name: str, container_id: str, network: str) -> None:
        with self._call("disconnect_network", container_id), self._lock:
            c = self._owned(project_name, container_id)
            self._maybe_fail("disconnect_network", c.name)
            c.networks = tuple(n for n in c.networks if n != network)
            c.network_ids.pop(network, None)

    def connect_network(self, project: Project, container_id: str, service: Service,
                        key: str) -> None:
        with self._call("connect_network", container_id), self._lock:
            c = self._owned(project.name, container_id)
            self._maybe_fail("connect_network", c.name)
            name = project.networks[key].name if key in project.networks else key
            if name not in self.networks:
                raise NotFound(f"cannot connect {c.name} to network {name}: network {name} "
                               f"not found")
            if name not in c.networks:
                c.networks = (*c.networks, name)
                if c.state == "running":
                    self._hold_ids(c)

    def lock_store(self) -> FakeLockStore:
        """The project lock's records, in memory (one store per fake engine)."""
        if self._lock_store is None:
            self._lock_store = FakeLockStore()
        return self._lock_store

    def run_hook(self, project_name: str, container_id: str, service: Service, kind: str, *,
                 on_output: Callable[[str], None] | None = None) -> None:
        with self._call("run_hook", container_id), self._lock:
            c = self._owned(project_name, container_id)
            self._maybe_fail("run_hook", c.name)
            if kind == "pre_stop" and c.state != "running":
                return
            hooks = service.post_start if kind == "post_start" else service.pre_stop
            self.hooks_run.extend((c.name, kind, " ".join(h.command)) for h in hooks)

    def run_pre_start(self, project: Project, service: Service, number: int, image: str, *,
                      replica: str, on_output: Callable[[str], None] | None = None) -> None:
        """Records ``(<project>-<service>-pre_start-<n>, "pre_start", command)`` in
        ``hooks_run``; ``fail_on("run_pre_start", "<service>:<n>", error)`` makes it fail."""
        name = service.pre_start_container_name(project.name, number)
        with self._call("run_pre_start", name), self._lock:
            self._maybe_fail("run_pre_start", f"{service.name}:{number}")
            if not any(replica in (c.container_id, c.name) for c in self.containers.values()):
                raise NotFound(f"cannot run pre_start hook {number} of service {service.name}: "
                               f"its replica {replica} (whose volumes it shares) does not exist")
            self.hooks_run.append((name, "pre_start",
                                   " ".join(service.pre_start[number - 1].command)))

    def _maybe_fail(self, method: str, name: str) -> None:
        error = self._failures.pop((method, name), None)
        if error is not None:
            raise error

    # --- images and interactive ---------------------------------------------------------------
    def image_id(self, ref: str) -> str | None:
        with self._call("image_id", ref), self._lock:
            return self._image(ref)

    def build_image(self, service_name: str, build: BuildSpec, tag: str, *,
                    no_cache: bool = False, pull: bool = False,
                    on_output: Callable[[str], None] | None = None) -> str:
        with self._call("build_image", tag), self._lock:
            self.builds.append((service_name, build, tag, no_cache, pull))
            if on_output is not None:
                on_output(f"Step 1/1 : FROM {tag}")
            error = self._failures.pop(("build_image", tag), None)
            if error is not None:
                raise error
            image_id = "sha256:" + hashlib.sha256(f"{tag}{next(self._ids)}".encode()).hexdigest()
            self.images[tag] = image_id
            return image_id

    def pull_image(self, ref: str, *, on_output: Callable[[str], None] | None = None) -> str:
        with self._call("pull_image", ref), self._lock:
            error = self._failures.pop(("pull_image", ref), None)
            if error is not None:
                raise error
            if ref in self.registry:
                self.images[ref] = self.registry[ref]
            elif self.auto_images:
                self.images[ref] = "sha256:" + hashlib.sha256(ref.encode()).hexdigest()
            else:
                raise OperationFailed(f"cannot pull image {ref}: not found in the registry")
            if on_output is not None:
                on_output(f"Pulled {ref}")
            self.pulled_at[ref] = self.clock()
            return self.images[ref]

    def push_image(self, ref: str, *, on_output: Callable[[str], None] | None = None) -> None:
        with self._call("push_image", ref), self._lock:
            error = self._failures.pop(("push_image", ref), None)
            if error is not None:
                raise error
            if ref not in self.images:
                raise NotFound(f"cannot push image {ref}: no such image")
            self.pushed[ref] = self.images[ref]

    def image_unpullable(self, ref: str) -> str | None:
        with self._lock:  # not recorded in ``calls``: preflight reads, not plan steps
            if ref in self.registry or self.auto_images or ("pull_image", ref) in self._failures:
                return None  # (a failure set with ``fail_on`` is one of the run, not of preflight)
            return f"{ref}: not found in the registry"

    def all_containers(self) -> list[ContainerSummary]:
        with self._lock:
            return sorted((ContainerSummary(c.container_id, c.name, c.project, c.service,
                                            c.number, c.image_ref, "", 0.0, c.state, c.state)
                           for c in self.containers.values()), key=lambda c: c.name)

    def image_details(self, image_ids: Iterable[str]) -> dict[str, ImageInfo]:
        with self._call("image_details", ""), self._lock:
            wanted = set(image_ids)
            return {i: ImageInfo(i, tuple(sorted(r for r, v in self.images.items() if v == i)),
                                 1000)
                    for i in sorted(wanted) if i in self.images.values()}

    def commit_container(self, project_name: str, container_id: str, *,
                         repository: str | None = None, tag: str | None = None,
                         author: str | None = None, message: str | None = None,
                         changes: tuple[str, ...] = (), pause: bool = True) -> str:
        with self._call("commit_container", container_id), self._lock:
            c = self._owned(project_name, container_id)
            image_id = "sha256:" + hashlib.sha256(
                f"{c.container_id}:{len(self.images)}".encode()).hexdigest()
            if repository:
                self.images[f"{repository}:{tag or 'latest'}"] = image_id
            return image_id

    def export_container(self, container_id: str) -> Iterator[bytes]:
        """A tar of the files delivered to the container (the fake keeps no other files)."""
        from stackup.adapters.docker.file_specs import tar_archive

        with self._call("export_container", container_id), self._lock:
            c = self.containers.get(container_id)
            if c is None:
                raise NotFound(f"no such container: {container_id}")
            data = tar_archive(list(c.files.values()))
        return iter([data])

    def logs(self, container_id: str, *, follow: bool = False, tail: int | None = None,
             timestamps: bool = False) -> Iterator[bytes]:
        with self._call("logs", container_id), self._lock:
            c = self.containers.get(container_id)
            if c is None:
                raise NotFound(f"no such container: {container_id}")
            lines = list(c.logs if tail is None else c.logs[-tail:] if tail else [])
        return iter(lines)

    def exec(self, container_id: str, command: list[str], *, tty: bool = False,
             user: str | None = None, workdir: str | None = None,
             environment: dict[str, str] | None = None) -> ExecResult:
        with self._call("exec", container_id), self._lock:
            c = self.containers.get(container_id) or next(
                (o for o in self.containers.values() if o.name == container_id), None)
            if c is None:
                raise NotFound(f"cannot exec in container {container_id}: no such container")
            if c.state != "running":
                raise Conflict(f"cannot exec in container {c.name}: container {c.container_id} "
                               f"is not running")
        return _run(command, environment or {}, workdir or "/")


class _Tracker:
    """Context manager recording one call (with latency outside the engine lock)."""

    def __init__(self, engine: FakeEngine, method: str, subject: str) -> None:
        self.engine, self.method, self.subject = engine, method, subject
        self.start = 0.0

    def __enter__(self) -> None:
        e = self.engine
        with e._lock:
            if self.subject in e.containers:
                self.subject = e.containers[self.subject].name
            e._in_flight += 1
            e.max_in_flight = max(e.max_in_flight, e._in_flight)
        self.start = time.monotonic()
        if e.latency:
            time.sleep(e.latency)

    def __exit__(self, *exc: Any) -> None:
        e = self.engine
        with e._lock:
            e._in_flight -= 1
            e.calls.append(Call(self.method, self.subject, self.start, time.monotonic()))


def _term_exit(argv: tuple[str, ...]) -> int | None:
    """The exit code of a container's main process on SIGTERM, as its command tells: in a
    ``sh -c`` script, ``trap 'exit N' TERM`` exits N and a TERM trap that does not exit ignores
    the signal (None: the engine kills it at the stop timeout). Any other command: 0."""
    script = argv[2] if len(argv) >= 3 and argv[1] == "-c" else ""
    for action, signals in re.findall(r"trap\s+'([^']*)'\s+([A-Z0-9 ]+)", script):
        if {"TERM", "SIGTERM", "15"} & set(signals.split()):
            found = re.search(r"\bexit(?:\s+(\d+))?", action)
            return int(found.group(1) or 0) if found else None
    return 0


def _stopped_code(c: FakeContainer) -> int:
    return 137 if c.term_exit is None else c.term_exit


def _run(command: list[str], environment: Mapping[str, str], workdir: str) -> ExecResult:
    """An exec the fake runs itself: ``sh -c`` scripts of ``;``-separated ``echo`` (``$NAME``
    words from ``environment``; ``>&2`` allowed), ``pwd``, ``true``, ``false`` and ``exit N``,
    or one of those as the command. Output is stdout and stderr in order, as the engine's
    ``exec`` gives it. Anything else succeeds with no output."""
    steps = [shlex.split(step) for step in command[2].split(";")] \
        if len(command) >= 3 and command[:2] == ["sh", "-c"] else [list(command)]
    output, code = b"", 0
    for words in steps:
        if words[-1:] == [">&2"]:
            words = words[:-1]
        if not words:
            continue
        name, args = words[0], words[1:]
        if name == "exit":
            return ExecResult(int(args[0]) if args else code, output)
        if name == "echo":
            text = " ".join(environment.get(a[1:], "") if a.startswith("$") else a for a in args)
            output, code = output + f"{text}\n".encode(), 0
        elif name == "pwd":
            output, code = output + f"{workdir}\n".encode(), 0
        else:
            code = 1 if name == "false" else 0
    return ExecResult(code, output)
