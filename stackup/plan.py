"""Plan: the operations that take the engine from what it has to what the file says.

Pipeline position: ``reconcile`` returns a Plan (a value); ``execute`` walks it; the CLI renders
it. Every operation carries a ``cause`` for people; the executor never reads it. ``depends_on``
holds the ids of the operations that must finish first (and succeed) before this one starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from stackup.model import Network, Service, Volume


class Kind(str, Enum):
    CREATE_NETWORK = "create_network"
    CREATE_VOLUME = "create_volume"
    PULL_IMAGE = "pull_image"
    BUILD_IMAGE = "build_image"
    PUSH_IMAGE = "push_image"
    CREATE_CONTAINER = "create_container"  # create and start
    RECREATE_CONTAINER = "recreate_container"  # stop, replace (keeping anonymous volumes), start
    START_CONTAINER = "start_container"
    STOP_CONTAINER = "stop_container"
    RESTART_CONTAINER = "restart_container"
    REMOVE_CONTAINER = "remove_container"  # stop (if running) and remove
    REMOVE_NETWORK = "remove_network"
    REMOVE_VOLUME = "remove_volume"
    WAIT_HEALTHY = "wait_healthy"  # a service's containers report healthy
    WAIT_COMPLETED = "wait_completed"  # a service's containers exited 0
    WAIT_RUNNING = "wait_running"  # a service's containers are running


@dataclass(frozen=True)
class Operation:
    op_id: str  # unique in the plan and stable across runs, e.g. "create_container:web:1"
    kind: Kind
    cause: str  # for people: "not found", "environment.VERSION changed", ...
    depends_on: tuple[str, ...] = ()  # op_ids
    # create_container only: the container is created as soon as ``depends_on`` are done (its
    # image, networks, volumes) and started once these are too (the services it depends on), so
    # that creating a layer's containers overlaps the start of the layer below.
    start_after: tuple[str, ...] = ()
    service: Service | None = None  # container and wait operations
    number: int | None = None  # replica number for container operations
    container_name: str | None = None  # the engine name the container has or will have
    container_id: str | None = None  # the existing container, for start/stop/recreate/remove
    config_hash: str | None = None  # for create/recreate: the label to put on the container
    config_json: str | None = None  # for create/recreate: the canonical config it hashes
    image: str | None = None  # image reference for pull/build/create
    network: Network | None = None
    volume: Volume | None = None
    name: str | None = None  # engine name of a network or volume to remove
    timeout: float | None = None  # stop timeout / wait timeout in seconds
    remove_volumes: bool = False  # remove anonymous volumes with the container
    no_cache: bool = False  # build: do not use the build cache
    pull: bool = False  # build: pull newer base images first

    @property
    def service_name(self) -> str | None:
        return self.service.name if self.service is not None else None

    @property
    def subject(self) -> str:
        """What a person reads as the thing acted on: a container, network, volume or service."""
        if self.container_name:
            return self.container_name
        if self.network is not None:
            return self.network.name
        if self.volume is not None:
            return self.volume.name
        if self.name:
            return self.name
        if self.image:
            return self.image
        return self.service.name if self.service is not None else self.op_id


@dataclass(frozen=True)
class Plan:
    project_name: str
    operations: tuple[Operation, ...] = ()  # in a stable, dependency-respecting order
    notes: tuple[str, ...] = field(default=())  # warnings for people (orphans kept, ...)
    up_to_date: tuple[str, ...] = ()  # names of the containers left as they are, sorted

    @property
    def empty(self) -> bool:
        return not any(op.kind not in _PASSIVE for op in self.operations)

    def operation(self, op_id: str) -> Operation:
        """The operation with this id (``KeyError`` when there is none)."""
        for op in self.operations:
            if op.op_id == op_id:
                return op
        raise KeyError(op_id)


IMAGE_KINDS = frozenset({Kind.PULL_IMAGE, Kind.BUILD_IMAGE, Kind.PUSH_IMAGE})

_PASSIVE = frozenset({Kind.WAIT_HEALTHY, Kind.WAIT_COMPLETED, Kind.WAIT_RUNNING})
