"""Plan: a graph of operations that takes the engine from what it has to what the file says.

Pipeline position: ``reconcile`` returns a Plan (a value); ``execute`` walks it; the CLI renders
it; ``planfile`` saves and reads it. Every operation is ONE engine action and carries every value
that action needs (ids, names, the canonical config and its hash, the anonymous volumes it
inherits, the container a ``service:`` network mode joins, the containers a wait watches), a
``cause`` for people (never read by the executor) and the ids of its DIRECT predecessors.

Four edge kinds, one rule each (the executor applies them and decides nothing else):

* ``depends_on``: run after these; when one failed or was skipped, this one is skipped.
  An operation that was *not needed* (see below) counts as done.
* ``if_failed``: a restore step. It runs only when at least one of these failed (after its
  ``depends_on``); otherwise it is *not needed*. A recreate plans, beside stop → rename →
  create → start → remove, the steps that give the old container its name back and start it
  again when its replacement cannot be created or started.
* ``when_image``: ``(image operation id, image id)``. The operation runs only when that build or
  pull produced a different image id than the one given; otherwise it is *not needed*. This is
  how ``plan --build`` shows "recreate web-1 if the built image differs" and ``up`` runs exactly
  that plan.
* ``after``: run after these have finished, whatever their outcome (a rolling update with
  ``failure_action: continue`` goes on to the next batch).

Two kinds are run by the executor itself, by fixed rules: a ``gate`` fails when more than
``max_failures`` of its ``judge`` operations failed or were skipped (a rolling update's
``max_failure_ratio``), and a ``sleep`` waits ``timeout`` seconds (its ``delay``). A wait with
``settle`` is reached once its goal has held that many seconds in a row (``monitor``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from stackup.core.model import Network, Service, Volume

if TYPE_CHECKING:
    from stackup.core.model import Project


class Kind(str, Enum):
    CREATE_NETWORK = "create_network"
    CREATE_VOLUME = "create_volume"
    PULL_IMAGE = "pull_image"
    BUILD_IMAGE = "build_image"
    PUSH_IMAGE = "push_image"
    CREATE_CONTAINER = "create_container"  # create, not start
    START_CONTAINER = "start_container"
    STOP_CONTAINER = "stop_container"
    RESTART_CONTAINER = "restart_container"
    RENAME_CONTAINER = "rename_container"
    REMOVE_CONTAINER = "remove_container"  # a stopped container (``force``: one the plan stops)
    DISCONNECT_NETWORK = "disconnect_network"  # a container off the network named ``name``
    CONNECT_NETWORK = "connect_network"  # back on its service's network (``name``: the key)
    RUN_HOOK = "run_hook"  # a service's post_start / pre_stop commands, exec'd in a container
    RUN_PRE_START = "run_pre_start"  # pre_start hook ``number`` of a service, in a container of
    # its own (``image``), waited for until it exits 0
    GATE = "gate"  # a rolling update's check between batches: fails past max_failures
    SLEEP = "sleep"  # a rolling update's delay between batches (``timeout`` seconds)
    REMOVE_NETWORK = "remove_network"
    REMOVE_VOLUME = "remove_volume"
    WAIT_HEALTHY = "wait_healthy"  # the watched containers report healthy
    WAIT_COMPLETED = "wait_completed"  # the watched containers exited 0
    WAIT_RUNNING = "wait_running"  # the watched containers are running
    # Swarm backend (stackup.swarm): services, secrets and configs on a swarm
    CREATE_SERVICE = "create_service"
    UPDATE_SERVICE = "update_service"  # the engine rolls the tasks (update_config)
    REMOVE_SERVICE = "remove_service"
    CREATE_SECRET = "create_secret"
    REMOVE_SECRET = "remove_secret"
    CREATE_CONFIG = "create_config"
    REMOVE_CONFIG = "remove_config"
    WAIT_SERVICE = "wait_service"  # its update completed, its tasks run (healthy if checked)
    WAIT_SERVICE_COMPLETED = "wait_service_completed"  # its tasks (a job's) completed


@dataclass(frozen=True, slots=True)
class Operation:
    op_id: str  # unique in the plan and stable across runs, e.g. "create_container:web:1"
    kind: Kind
    cause: str  # for people: "not found", "environment.VERSION changed", ...
    depends_on: tuple[str, ...] = ()  # op_ids of direct predecessors
    after: tuple[str, ...] = ()  # run after these have finished, whatever their outcome
    if_failed: tuple[str, ...] = ()  # restore step: runs only when one of these failed
    when_image: tuple[str, str] | None = None  # (image op id, image id): run if it differs
    service: Service | None = None  # container and wait operations
    number: int | None = None  # replica number for container operations
    container_name: str | None = None  # the name the container has (or gets, for create)
    container_id: str | None = None  # the existing container; None for one created in the plan
    new_name: str | None = None  # rename: the name it gets
    config_hash: str | None = None  # create: the label to put on the container
    config_json: str | None = None  # create: the canonical config it hashes
    image: str | None = None  # image reference for pull/build/push/create
    anonymous_volumes: tuple[tuple[str, str], ...] = ()  # create: (container path, volume)
    network_mode_container: str | None = None  # create: the container ``service:x`` joins
    hidden: bool = False  # create: without the service's DNS aliases (a rolling update's new
    # container, given them by connect_network once it is healthy)
    watch: tuple[str, ...] = ()  # waits: the container names watched
    network: Network | None = None
    volume: Volume | None = None
    name: str | None = None  # engine name of a network or volume to remove
    timeout: float | None = None  # stop timeout / wait timeout in seconds
    remove_volumes: bool = False  # remove anonymous volumes with the container
    force: bool = False  # remove: the container may still run (the plan stopped it)
    no_cache: bool = False  # build: do not use the build cache
    pull: bool = False  # build: pull newer base images first
    hook: str | None = None  # run_hook: "post_start" or "pre_stop"
    settle: float | None = None  # waits: the goal must hold this many seconds in a row
    judge: tuple[str, ...] = ()  # gate: the operations that mark replicas updated
    max_failures: int = 0  # gate: how many of ``judge`` may fail or be skipped
    changes: tuple[Change, ...] = ()  # field-level differences behind a recreate

    @property
    def service_name(self) -> str | None:
        return self.service.name if self.service is not None else None

    @property
    def target(self) -> str:
        """How the engine is told which container: its id when it exists, else its name."""
        return self.container_id or self.container_name or ""

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

    @property
    def conditional(self) -> bool:
        return bool(self.if_failed) or self.when_image is not None


@dataclass(frozen=True, slots=True)
class Change:
    """One changed field: ``path`` like ``environment.VERSION``; values are display strings
    (sensitive ones are never here: ``sensitive`` is set and both values are None)."""

    path: str
    old: str | None
    new: str | None
    sensitive: bool = False


@dataclass(frozen=True)  # no slots: ``_index`` is a cached_property, kept in __dict__
class Plan:
    project_name: str
    operations: tuple[Operation, ...] = ()  # in a stable, dependency-respecting order
    notes: tuple[str, ...] = field(default=())  # warnings for people (orphans kept, ...)
    up_to_date: tuple[str, ...] = ()  # names of the containers left as they are, sorted
    # The resolved model the plan was computed from (not saved in a plan file: ``apply``
    # reloads the files and checks them against the plan's fingerprint instead).
    project: Project | None = field(default=None, compare=False, repr=False)

    @property
    def empty(self) -> bool:
        return not any(op.kind not in PASSIVE and not op.if_failed for op in self.operations)

    def operation(self, op_id: str) -> Operation:
        """The operation with this id (``KeyError`` when there is none)."""
        return self.operations[self._index[op_id]]

    @functools.cached_property
    def _index(self) -> dict[str, int]:
        return {op.op_id: i for i, op in enumerate(self.operations)}

    def edge_count(self) -> int:
        return sum(len(op.depends_on) + len(op.if_failed) + len(op.after)
                   for op in self.operations)


IMAGE_KINDS = frozenset({Kind.PULL_IMAGE, Kind.BUILD_IMAGE, Kind.PUSH_IMAGE})

WAIT_KINDS = frozenset({Kind.WAIT_HEALTHY, Kind.WAIT_COMPLETED, Kind.WAIT_RUNNING,
                        Kind.WAIT_SERVICE, Kind.WAIT_SERVICE_COMPLETED})
"""Operations the executor polls the backend for."""

EXECUTOR_KINDS = frozenset({Kind.GATE, Kind.SLEEP})
"""Operations the executor runs itself (no engine call)."""

PASSIVE = WAIT_KINDS | EXECUTOR_KINDS
"""Operations that change nothing: a plan of only these is empty."""

STOPPING_KINDS = frozenset({Kind.STOP_CONTAINER, Kind.REMOVE_CONTAINER})
"""Operations that mostly wait for a process to exit: the executor gives them a wider bound."""
