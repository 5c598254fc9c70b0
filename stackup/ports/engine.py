"""The Engine port: what the use cases and the executor need from one engine, by role.

Pipeline position: ``run.execute`` (through ``app.container_backend``) and ``app`` call these
methods; ``adapters/docker/`` implements them on a real Docker engine, ``adapters/dry_run`` in
front of one, ``testing/fake.py`` in memory. ``Engine`` is every role at once; a function that
needs one role may ask for that role's protocol alone. Methods are synchronous (the executor
runs them in worker threads). Every method that changes a container, network or volume checks
the project's ownership label and refuses (``EngineError``) to touch anything without it.
Implementations translate engine failures into ``stackup.core.errors.EngineError`` subclasses
with the engine's reason. The Swarm target has its own port (``ports.swarm``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from stackup.core.model import BuildSpec, Network, Project, Service, Volume
from stackup.core.observed import ObservedContainer, ObservedState

if TYPE_CHECKING:
    from stackup.ports.lock import LockStore
    from stackup.ports.oneoff import OneoffOptions
    from stackup.ports.session import ExitWatch, Session
    from stackup.core.errors import StackupError
    from stackup.core.plan import Operation, Plan


@dataclass(frozen=True, slots=True)
class ExecResult:
    exit_code: int
    output: bytes = b""


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """One local image, for ``stackup images``."""

    image_id: str  # sha256:...
    tags: tuple[str, ...] = ()
    size: int = 0  # bytes
    created: str = ""  # RFC 3339


OutputSink = Callable[[str], None]
"""Receives build/pull/push output, one line at a time (called from the engine's thread)."""


class Backend(Protocol):
    """What the executor walks a plan against: one backend per kind of target (one engine's
    containers; a swarm's services). It runs ONE operation per call and decides nothing: every
    value it needs is on the operation (and the plan's project)."""

    def perform(self, plan: Plan, op: Operation, on_output: OutputSink) -> str | None:
        """Run one non-wait operation; returns an image id for build and pull, else None.
        Raises a ``stackup.core.errors`` error naming the subject and the engine's reason."""
        ...

    def poll(self, plan: Plan, op: Operation) -> bool:
        """One look for a wait operation: True when reached; raises when it never will."""
        ...

    def timed_out(self, plan: Plan, op: Operation, seconds: float) -> StackupError:
        """The error for a wait that did not finish in time, with what is known about why."""
        ...


class LockPort(Protocol):
    """The project lock (``app.locking``) lives on the engine the project runs on."""

    def lock_store(self) -> LockStore:
        """Where the project's lock lives on this engine (atomic create-or-get by name)."""
        ...

class ObservePort(Protocol):
    """What the engine runs for a project: one snapshot per run, and fresh looks for waits."""

    def observe(self, project_name: str, *, networks: Iterable[str] = (),
                volumes: Iterable[str] = (), images: Iterable[str] = (),
                all_containers: bool = True, pulled: Iterable[str] = ()) -> ObservedState:
        """One snapshot: the project's labelled containers, networks and volumes, plus the named
        (external or not) networks and volumes, the image ids of the given references, and
        how long ago stackup last pulled each of ``pulled`` (``pulled_ago``)."""
        ...

    def inspect_container(self, container_id: str) -> ObservedContainer:
        """A fresh view of one container (state, health, exit code), for waits."""
        ...

    def all_containers(self) -> list[ContainerSummary]:
        """Preflight: every container on the engine, of any project or none, running or not
        (names and published ports), sorted by name."""
        ...


class ResourcePort(Protocol):
    """The project's networks and volumes."""

    def create_network(self, project_name: str, network: Network) -> None: ...

    def remove_network(self, project_name: str, name: str) -> None: ...

    def create_volume(self, project_name: str, volume: Volume) -> None: ...

    def remove_volume(self, project_name: str, name: str) -> None: ...

class ContainerPort(Protocol):
    """The plan's container operations, one engine call each."""

    def create_container(self, project: Project, service: Service, number: int, *,
                         name: str, config_hash: str, config_json: str, image: str,
                         anonymous_volumes: Mapping[str, str] | None = None,
                         network_mode_container: str | None = None,
                         hidden: bool = False) -> str:
        """Create (not start) a container; returns its id. ``anonymous_volumes`` (container
        path → volume) are the ones it takes over from the container it replaces;
        ``network_mode_container`` the container ``network_mode: service:x`` joins; ``hidden``:
        on its networks without the service's aliases (only its own name resolves)."""
        ...

    def start_container(self, project_name: str, container_id: str) -> None: ...

    def stop_container(self, project_name: str, container_id: str,
                       timeout: float | None = None) -> None: ...

    def restart_container(self, project_name: str, container_id: str,
                          timeout: float | None = None) -> None: ...

    def remove_container(self, project_name: str, container_id: str, *,
                         volumes: bool = False, force: bool = False,
                         timeout: float | None = None) -> None:
        """Remove a stopped container (``force``: even if it runs again); already gone is fine;
        ``volumes`` also removes its anonymous volumes. ``container_id`` may be a name."""
        ...

    def rename_container(self, project_name: str, container_id: str, name: str) -> None: ...

    def disconnect_network(self, project_name: str, container_id: str, network: str) -> None:
        """Take the container off a network (engine name); not connected is fine."""
        ...

    def connect_network(self, project: Project, container_id: str, service: Service,
                        key: str) -> None:
        """Attach the container to the service's network ``key`` with its aliases."""
        ...

    def run_hook(self, project_name: str, container_id: str, service: Service, kind: str, *,
                 on_output: OutputSink | None = None) -> None:
        """Run the service's ``post_start`` or ``pre_stop`` hooks in the container (exec); a
        hook that exits non-zero raises ``OperationFailed``; ``pre_stop`` of a container that
        is not running does nothing."""
        ...

    def run_pre_start(self, project: Project, service: Service, number: int, image: str, *,
                      replica: str, on_output: OutputSink | None = None) -> None:
        """Run the service's pre_start hook ``number`` (from 1) in a container of its own,
        made from ``image`` (or the hook's) and the service's config, with the volumes of the
        container ``replica`` (created, not started), and wait for it: exit 0
        removes that container; another code raises ``OperationFailed`` and keeps it (labelled
        the project's, so ``down`` removes it)."""
        ...

class ImagePort(Protocol):
    """Images: look up, build, pull, push, describe."""

    def image_id(self, ref: str) -> str | None: ...

    def build_image(self, service_name: str, build: BuildSpec, tag: str, *,
                    no_cache: bool = False, pull: bool = False,
                    on_output: OutputSink | None = None) -> str:
        """Build ``build`` and tag it ``tag``; returns the image id. A failed build raises
        ``OperationFailed`` naming the service, the step and the engine's message."""
        ...

    def pull_image(self, ref: str, *, on_output: OutputSink | None = None) -> str:
        """Pull ``ref`` with the user's registry credentials; returns the local image id. The
        time of the pull is kept on the engine (``observe(pulled=...)`` reads it)."""
        ...

    def push_image(self, ref: str, *, on_output: OutputSink | None = None) -> None: ...

    def registry_digest(self, ref: str) -> str:
        """The digest of ``ref``'s manifest in its registry now (``sha256:...``)."""
        ...

    def image_details(self, image_ids: Iterable[str]) -> dict[str, ImageInfo]:
        """Image id → details, for the ids the engine still has."""
        ...

    def image_unpullable(self, ref: str) -> str | None:
        """Preflight: None when the engine's registry resolves ``ref`` (a pull would find it),
        else why not. Asks for the manifest only; downloads nothing."""
        ...


class StreamPort(Protocol):
    """Output and two-way streams: logs, exec, ``run`` and ``attach`` (``ports.session``)."""

    def logs(self, container_id: str, *, follow: bool = False, tail: int | None = None,
             timestamps: bool = False, since: float | None = None,
             until: float | None = None) -> Iterator[bytes]:
        """Raw output, stdout and stderr; ``since``/``until`` are unix times."""
        ...

    def exec(self, container_id: str, command: list[str], *, tty: bool = False,
             user: str | None = None, workdir: str | None = None,
             environment: dict[str, str] | None = None) -> ExecResult: ...

    def exec_session(self, container_id: str, command: list[str], *, tty: bool = False,
                     stdin: bool = True, user: str | None = None, workdir: str | None = None,
                     environment: dict[str, str] | None = None,
                     privileged: bool = False) -> Session:
        """Start a command with stdin, stdout and stderr on one two-way stream."""
        ...

    def exec_detached(self, container_id: str, command: list[str], *, tty: bool = False,
                      user: str | None = None, workdir: str | None = None,
                      environment: dict[str, str] | None = None,
                      privileged: bool = False) -> str:
        """Start a command in the background (``exec -d``); its exec id."""
        ...

    def create_oneoff(self, project: Project, service: Service, *, name: str, image: str,
                      options: OneoffOptions) -> str:
        """Create (not start) a ``run`` container of ``service``, labelled oneoff."""
        ...

    def watch_exit(self, container_id: str, *, removed: bool = False) -> ExitWatch:
        """A wait registered before the container starts (``removed``: an ``--rm`` one)."""
        ...

    def attach_container(self, container_id: str, *, stdin: bool = True,
                         watch: ExitWatch | None = None,
                         detach_keys: str | None = None) -> Session:
        """The container's main process as a two-way stream; ``detach_keys`` (the engine's
        own: ``ctrl-p,ctrl-q`` unless given) end the stream and leave the container running:
        the exit code is then 0."""
        ...

    def resize_container(self, container_id: str, height: int, width: int) -> None: ...

class ToolPort(Protocol):
    """What the smaller commands need: kill, pause, top, wait, stats, events, version, ls, cp,
    rmi, ps, commit, export."""

    def kill_container(self, project_name: str, container_id: str,
                       signal: str | None = None) -> None: ...

    def pause_container(self, project_name: str, container_id: str) -> None: ...

    def unpause_container(self, project_name: str, container_id: str) -> None: ...

    def top(self, container_id: str) -> tuple[list[str], list[list[str]]]: ...

    def wait_container(self, container_id: str) -> int: ...

    def stats(self, container_id: str, *, stream: bool = True) -> Iterator[dict[str, Any]]: ...

    def events(self, project_name: str, *, since: str | None = None,
               until: str | None = None) -> Iterator[dict[str, Any]]: ...

    def engine_version(self) -> dict[str, Any]: ...

    def list_projects(self, *, all_containers: bool = False) -> list[ProjectSummary]: ...

    def stat_path(self, container_id: str, path: str) -> dict[str, Any] | None: ...

    def get_archive(self, container_id: str,
                    path: str) -> tuple[Iterator[bytes], dict[str, Any]]: ...

    def put_archive(self, project_name: str, container_id: str, path: str,
                    data: bytes) -> None: ...

    def remove_image(self, ref: str) -> bool: ...

    def commit_container(self, project_name: str, container_id: str, *,
                         repository: str | None = None, tag: str | None = None,
                         author: str | None = None, message: str | None = None,
                         changes: tuple[str, ...] = (), pause: bool = True) -> str:
        """A new image from the container's filesystem (``commit``); returns its id."""
        ...

    def export_container(self, container_id: str) -> Iterator[bytes]:
        """The container's filesystem as a tar stream (``export``)."""
        ...

    def list_containers(self, project_name: str, *,
                        all_containers: bool = True) -> list[ContainerSummary]:
        """The project's containers as the engine lists them, sorted by service and number."""
        ...

class RevisionPort(Protocol):
    """The revision store: records of ``up``/``rollback`` (``history``), on the engine."""

    def create_revision(self, project_name: str, number: int,
                        labels: Mapping[str, str]) -> dict[str, str]:
        """Create record ``number`` or get the one already there (create-or-get by name);
        returns the labels stored under it: another writer's when it won the race."""
        ...

    def list_revisions(self, project_name: str) -> list[dict[str, str]]: ...

    def remove_revisions(self, project_name: str, numbers: Iterable[int]) -> None: ...

class EventPort(Protocol):
    """The project's engine events, for the drift watcher."""

    def project_events(self, project_name: str, *, networks: Collection[str] = (),
                       volumes: Collection[str] = (),
                       since: float | None = None) -> Iterator[dict[str, Any]]:
        """Events of the project's containers and of these networks and volumes (blocks); the
        names are looked up per event, so a caller may update the collections it passed."""
        ...


class Engine(LockPort, ObservePort, ResourcePort, ContainerPort, ImagePort, StreamPort,
             ToolPort, RevisionPort, EventPort, Protocol):
    """Every role, as one engine provides them (the Docker adapter, the dry run, the fake)."""


@dataclass(frozen=True, slots=True)
class ProjectSummary:
    """One project on the engine, for ``stackup ls``."""

    name: str
    states: tuple[tuple[str, int], ...]  # (container state, count), sorted by state
    config_files: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        """Compose's STATUS column: ``running(2), exited(1)``."""
        return ", ".join(f"{state}({count})" for state, count in self.states)


@dataclass(frozen=True, slots=True)
class PortBinding:
    """One port of a container as the engine lists it (``public`` 0 when not published)."""

    private: int
    protocol: str = "tcp"
    ip: str = ""
    public: int = 0


@dataclass(frozen=True, slots=True)
class ContainerSummary:
    """One container of a project as ``ps`` shows it (the engine's list entry)."""

    container_id: str
    name: str
    project: str
    service: str
    number: int
    image: str
    command: str
    created: float  # seconds since the epoch
    state: str  # running, exited, paused ...
    status: str  # the engine's text: "Up 2 minutes (healthy)", "Exited (0) 3 seconds ago"
    health: str = ""  # healthy, unhealthy, starting; "" without a healthcheck
    exit_code: int = 0
    ports: tuple[PortBinding, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    networks: tuple[str, ...] = ()
    mounts: tuple[str, ...] = ()  # volume names or host paths
    local_volumes: int = 0
    oneoff: bool = False
