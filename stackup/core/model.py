"""The typed, immutable project model: what the loader produces and everything else reads.

Pipeline position: ``loader`` (stack files) → **model** → graph / reconcile / engine.
Past the loader only these values travel: frozen dataclasses, tuples and ``FrozenMap``.
Durations are float seconds, byte sizes are int bytes. Paths are absolute.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar


K = TypeVar("K")
V = TypeVar("V")


class FrozenMap(Mapping[K, V], Generic[K, V]):
    """An immutable, hashable mapping that keeps insertion order."""

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping[K, V] | Any = ()) -> None:
        self._data: dict[K, V] = dict(data)
        self._hash: int | None = None

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


def _empty() -> FrozenMap[Any, Any]:
    return FrozenMap()


# --- service parts -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BuildSpec:
    context: str  # absolute path (or a URL)
    dockerfile: str | None = None
    dockerfile_inline: str | None = None
    args: FrozenMap[str, str | None] = field(default_factory=_empty)
    target: str | None = None
    labels: FrozenMap[str, str] = field(default_factory=_empty)
    network: str | None = None
    extra_hosts: tuple[str, ...] = ()
    shm_size: int | None = None
    cache_from: tuple[str, ...] = ()
    no_cache: bool = False
    pull: bool = False
    # BuildKit's options: `docker buildx` applies them all; the API builders say what they lack
    cache_to: tuple[str, ...] = ()
    additional_contexts: FrozenMap[str, str] = field(default_factory=_empty)  # name → path/URL
    ssh: tuple[str, ...] = ()  # "default" or "id=path"
    secrets: tuple[BuildSecret, ...] = ()
    tags: tuple[str, ...] = ()  # more tags for the built image
    platforms: tuple[str, ...] = ()
    privileged: bool = False
    isolation: str | None = None
    ulimits: tuple[Ulimit, ...] = ()
    entitlements: tuple[str, ...] = ()
    provenance: str | None = None  # "true", "false" or a buildx attestation spec
    sbom: str | None = None
    # "build.ssh" → " (compose.yaml:12)": where each BuildKit-only key was written, so that a
    # builder lacking it can say so with the file and line. Not part of the value.
    origins: FrozenMap[str, str] = field(default_factory=_empty, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class BuildSecret:
    """A top-level secret made available to a build (``RUN --mount=type=secret,id=<id>``)."""

    source: str  # the top-level secret's key
    target: str | None = None  # the id the Dockerfile uses; default: source
    file: str | None = None  # absolute path, for `file:` secrets
    environment: str | None = None  # the variable, for `environment:` secrets
    content: str | None = field(default=None, repr=False)  # the value (content/environment)

    @property
    def id(self) -> str:
        return self.target or self.source


@dataclass(frozen=True, slots=True)
class DeviceRequest:
    """``gpus`` and ``deploy.resources.reservations.devices`` → the engine's DeviceRequests."""

    capabilities: tuple[str, ...] = ()
    count: int | None = None  # -1: all
    device_ids: tuple[str, ...] = ()
    driver: str | None = None
    options: FrozenMap[str, str] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class Hook:
    """A ``post_start`` / ``pre_stop`` command, run with exec in the service's container, or a
    ``pre_start`` one, run in a container of its own (``image``: other than the service's)."""

    command: tuple[str, ...]
    user: str | None = None
    privileged: bool = False
    working_dir: str | None = None
    environment: FrozenMap[str, str] = field(default_factory=_empty)
    image: str | None = None  # pre_start only


WATCH_ACTIONS = ("sync", "rebuild", "restart", "sync+restart", "sync+exec")


@dataclass(frozen=True, slots=True)
class WatchRule:
    """One ``develop.watch`` entry: when a file under ``path`` changes, do ``action``.

    ``path`` is absolute on the host; ``target`` a path in the container (the sync actions);
    ``ignore`` and ``include`` are gitignore-style patterns relative to ``path``; ``exec`` is
    the command ``sync+exec`` runs after syncing."""

    path: str
    action: str  # one of WATCH_ACTIONS
    target: str | None = None
    ignore: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    initial_sync: bool = False
    exec: Hook | None = None


@dataclass(frozen=True, slots=True)
class Develop:
    """A service's ``develop:`` section (Compose's development loop, run by ``stackup watch``).
    Not part of the config hash: it says how to update a container, not what runs."""

    watch: tuple[WatchRule, ...] = ()


@dataclass(frozen=True, slots=True)
class Port:
    """One container port. Ranges in the file are expanded, one Port per container port."""

    target: int
    published: str | None = None  # "8080", a range "8000-8010", or None (random)
    host_ip: str | None = None
    protocol: str = "tcp"
    mode: str = "ingress"
    name: str | None = None
    app_protocol: str | None = None


@dataclass(frozen=True, slots=True)
class Mount:
    """A service volume entry: type is volume, bind, tmpfs, npipe or cluster."""

    type: str
    target: str
    source: str | None = None  # volume key (not engine name), absolute host path, or None
    read_only: bool = False
    consistency: str | None = None
    # bind
    create_host_path: bool = True
    propagation: str | None = None
    selinux: str | None = None
    # volume
    nocopy: bool = False
    subpath: str | None = None
    # tmpfs
    tmpfs_size: int | None = None
    tmpfs_mode: int | None = None


@dataclass(frozen=True, slots=True)
class ServiceNetwork:
    """A service's attachment to a network (``name`` is the network key in the file)."""

    name: str
    aliases: tuple[str, ...] = ()
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    link_local_ips: tuple[str, ...] = ()
    mac_address: str | None = None
    priority: int = 0
    driver_opts: FrozenMap[str, str] = field(default_factory=_empty)
    gw_priority: int = 0  # the engine picks the default gateway by it (API 1.48)
    interface_name: str | None = None  # name of the interface in the container (API 1.49)


@dataclass(frozen=True, slots=True)
class Dependency:
    service: str
    condition: str = "service_started"  # service_healthy, service_completed_successfully
    restart: bool = False
    required: bool = True


@dataclass(frozen=True, slots=True)
class Healthcheck:
    test: tuple[str, ...] = ()  # ("CMD", ...), ("CMD-SHELL", "..."), ("NONE",)
    interval: float | None = None
    timeout: float | None = None
    retries: int | None = None
    start_period: float | None = None
    start_interval: float | None = None
    disable: bool = False


@dataclass(frozen=True, slots=True)
class Resources:
    cpus: float | None = None
    memory: int | None = None
    pids: int | None = None
    devices: tuple[DeviceRequest, ...] = ()  # reservations only (GPUs and other devices)


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    condition: str | None = None  # none, on-failure, any
    delay: float | None = None
    max_attempts: int | None = None
    window: float | None = None


@dataclass(frozen=True, slots=True)
class UpdateConfig:
    parallelism: int | None = None
    delay: float | None = None
    failure_action: str | None = None
    monitor: float | None = None
    max_failure_ratio: float | None = None
    order: str | None = None  # stop-first, start-first


@dataclass(frozen=True, slots=True)
class Deploy:
    mode: str | None = None
    replicas: int | None = None
    labels: FrozenMap[str, str] = field(default_factory=_empty)
    limits: Resources | None = None
    reservations: Resources | None = None
    restart_policy: RestartPolicy | None = None
    update_config: UpdateConfig | None = None
    rollback_config: UpdateConfig | None = None
    placement_constraints: tuple[str, ...] = ()
    endpoint_mode: str | None = None


@dataclass(frozen=True, slots=True)
class ThrottleDevice:
    """One ``blkio_config`` device entry: a weight or a rate (bytes or operations per second)."""

    path: str
    rate: int


@dataclass(frozen=True, slots=True)
class BlkioConfig:
    weight: int | None = None
    weight_device: tuple[ThrottleDevice, ...] = ()  # rate: the weight
    device_read_bps: tuple[ThrottleDevice, ...] = ()
    device_write_bps: tuple[ThrottleDevice, ...] = ()
    device_read_iops: tuple[ThrottleDevice, ...] = ()
    device_write_iops: tuple[ThrottleDevice, ...] = ()


@dataclass(frozen=True, slots=True)
class Ulimit:
    name: str
    soft: int
    hard: int


@dataclass(frozen=True, slots=True)
class Logging:
    driver: str | None = None
    options: FrozenMap[str, str] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class FileReference:
    """A service's use of a secret or config (``source`` is the top-level key)."""

    source: str
    target: str | None = None  # secrets: /run/secrets/<source> when None; configs: /<source>
    uid: str | None = None
    gid: str | None = None
    mode: int | None = None


# --- service ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    image: str | None = None
    build: BuildSpec | None = None
    command: tuple[str, ...] | None = None  # None: image default; () : explicitly empty
    entrypoint: tuple[str, ...] | None = None
    environment: FrozenMap[str, str | None] = field(default_factory=_empty)
    ports: tuple[Port, ...] = ()
    expose: tuple[str, ...] = ()
    volumes: tuple[Mount, ...] = ()
    tmpfs: tuple[str, ...] = ()
    networks: tuple[ServiceNetwork, ...] = ()  # sorted by name; empty when network_mode is set
    network_mode: str | None = None
    depends_on: tuple[Dependency, ...] = ()  # sorted by service
    healthcheck: Healthcheck | None = None
    restart: str | None = None  # no, always, on-failure[:N], unless-stopped
    deploy: Deploy | None = None
    scale: int | None = None
    labels: FrozenMap[str, str] = field(default_factory=_empty)
    container_name: str | None = None
    hostname: str | None = None
    domainname: str | None = None
    user: str | None = None
    working_dir: str | None = None
    extra_hosts: tuple[str, ...] = ()  # "host:ip" (Compose config prints host=ip)
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_opt: tuple[str, ...] = ()
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    read_only: bool = False
    init: bool | None = None
    stop_signal: str | None = None
    stop_grace_period: float | None = None
    ulimits: tuple[Ulimit, ...] = ()
    sysctls: FrozenMap[str, str] = field(default_factory=_empty)
    devices: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    shm_size: int | None = None
    mem_limit: int | None = None
    mem_reservation: int | None = None
    cpus: float | None = None
    cpu_shares: int | None = None
    pids_limit: int | None = None
    ipc: str | None = None
    pid: str | None = None
    group_add: tuple[str, ...] = ()
    logging: Logging | None = None
    pull_policy: str | None = None  # always, missing, never, build (if_not_present → missing)
    profiles: tuple[str, ...] = ()
    secrets: tuple[FileReference, ...] = ()
    configs: tuple[FileReference, ...] = ()
    tty: bool = False
    stdin_open: bool = False
    platform: str | None = None
    extensions: FrozenMap[str, Any] = field(default_factory=_empty)  # x-* keys
    # environment keys whose value came from an env_file: treated as sensitive (never shown)
    env_file_keys: tuple[str, ...] = field(default=(), compare=False)
    # Added later, at the end and with defaults, so the config hash of containers created
    # before them does not change (hashing omits fields left at their default).
    links: tuple[str, ...] = ()  # "service[:alias]"
    external_links: tuple[str, ...] = ()  # "container[:alias]"
    volumes_from: tuple[str, ...] = ()  # "service[:ro|rw]" or "container:name[:ro|rw]"
    gpus: tuple[DeviceRequest, ...] = ()
    runtime: str | None = None
    userns_mode: str | None = None
    cgroup_parent: str | None = None
    cpuset: str | None = None
    mac_address: str | None = None
    oom_score_adj: int | None = None
    post_start: tuple[Hook, ...] = ()
    pre_stop: tuple[Hook, ...] = ()
    pre_start: tuple[Hook, ...] = ()  # one-off containers run before the first replica starts
    # issue 20: the resource and isolation keys a single engine honours
    cpu_count: int | None = None
    cpu_percent: int | None = None
    cpu_period: int | None = None  # microseconds
    cpu_quota: int | None = None  # microseconds
    cpu_rt_period: int | None = None  # microseconds
    cpu_rt_runtime: int | None = None  # microseconds
    mem_swappiness: int | None = None
    memswap_limit: int | None = None  # bytes; -1: unlimited swap
    oom_kill_disable: bool = False
    blkio_config: BlkioConfig | None = None
    device_cgroup_rules: tuple[str, ...] = ()
    storage_opt: FrozenMap[str, str] = field(default_factory=_empty)
    uts: str | None = None
    cgroup: str | None = None  # host, private
    isolation: str | None = None
    annotations: FrozenMap[str, str] = field(default_factory=_empty)
    credential_spec: FrozenMap[str, str] = field(default_factory=_empty)  # Windows only
    use_api_socket: bool = False
    attach: bool = True  # false: an attached `up` does not stream its output (not hashed)
    pull_refresh_after: float | None = None  # seconds, with pull_policy refresh (not hashed)
    develop: Develop | None = None  # `stackup watch`'s rules (not hashed)

    @property
    def replicas(self) -> int:
        """Desired number of containers: ``scale`` wins over ``deploy.replicas``; default 1."""
        if self.scale is not None:
            return self.scale
        if self.deploy is not None and self.deploy.replicas is not None:
            return self.deploy.replicas
        return 1

    def image_ref(self, project_name: str) -> str:
        """The image this service runs: ``image`` or, for build-only services, ``<project>-<service>``."""
        return self.image or f"{project_name}-{self.name}"

    def pre_start_container_name(self, project_name: str, number: int) -> str:
        """The container ``pre_start`` hook ``number`` (from 1) runs in."""
        return f"{project_name}-{self.name}-pre_start-{number}"


# --- top-level resources ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IpamPool:
    subnet: str | None = None
    ip_range: str | None = None
    gateway: str | None = None
    aux_addresses: FrozenMap[str, str] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class Ipam:
    driver: str | None = None
    config: tuple[IpamPool, ...] = ()
    options: FrozenMap[str, str] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class Network:
    key: str  # the key under top-level ``networks``
    name: str  # the engine name: <project>_<key> unless ``name:`` or external
    driver: str | None = None
    driver_opts: FrozenMap[str, str] = field(default_factory=_empty)
    internal: bool = False
    attachable: bool = False
    external: bool = False
    ipam: Ipam | None = None
    enable_ipv6: bool = False
    labels: FrozenMap[str, str] = field(default_factory=_empty)
    enable_ipv4: bool | None = None  # None: the engine's default (IPv4 on); needs API 1.47


@dataclass(frozen=True, slots=True)
class Volume:
    key: str
    name: str  # the engine name: <project>_<key> unless ``name:`` or external
    driver: str | None = None
    driver_opts: FrozenMap[str, str] = field(default_factory=_empty)
    external: bool = False
    labels: FrozenMap[str, str] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class FileObject:
    """A top-level secret or config. Exactly one of file, environment, content, external."""

    key: str
    name: str
    file: str | None = None  # absolute path
    environment: str | None = None  # variable name
    content: str | None = None  # inline content, or the variable's value when environment is set
    external: bool = False
    labels: FrozenMap[str, str] = field(default_factory=_empty)
    digest: str | None = None  # sha256 hex of a file source's bytes (None: unreadable at load)


# --- project ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Project:
    name: str
    working_dir: str  # absolute project directory
    services: FrozenMap[str, Service] = field(default_factory=_empty)  # active services, sorted
    networks: FrozenMap[str, Network] = field(default_factory=_empty)
    volumes: FrozenMap[str, Volume] = field(default_factory=_empty)
    secrets: FrozenMap[str, FileObject] = field(default_factory=_empty)
    configs: FrozenMap[str, FileObject] = field(default_factory=_empty)
    disabled_services: FrozenMap[str, Service] = field(default_factory=_empty)  # profile off
    config_files: tuple[str, ...] = ()
    extensions: FrozenMap[str, Any] = field(default_factory=_empty)

    @property
    def all_profiles(self) -> tuple[str, ...]:
        names = {p for s in (*self.services.values(), *self.disabled_services.values())
                 for p in s.profiles}
        return tuple(sorted(names))
