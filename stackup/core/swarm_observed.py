"""SwarmObserved: one frozen snapshot of what a swarm has for one project.

Pipeline position: the Swarm backend's ``observe`` builds it (one pass over services, tasks,
networks, secrets, configs, volumes and nodes); ``swarm.reconcile`` reads it; ``ps`` shows its
tasks. Pure values: sorted tuples, so that two runs of the same input plan the same.

Only objects carrying the project's label and ``io.stackup.target=swarm`` are the project's;
``external`` holds the names of the other networks, secrets, configs and volumes the stack file
refers to that exist (they may be used, never changed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from stackup.core.model import FrozenMap


def _empty() -> FrozenMap[Any, Any]:
    return FrozenMap()


@dataclass(frozen=True, slots=True)
class SwarmTask:
    task_id: str
    service: str  # the service's key in the stack file
    slot: int | None  # replicated: 1..N; global: None (one per node)
    node: str  # node hostname (or id)
    state: str  # new, pending, ..., starting, running, complete, failed, shutdown, rejected
    desired_state: str  # running, shutdown, complete, ...
    error: str = ""  # Status.Err
    message: str = ""  # Status.Message
    image: str = ""
    exit_code: int | None = None
    container_id: str = ""
    ports: tuple[str, ...] = ()  # "8080->80/tcp (host)"
    updated_at: str = ""  # RFC 3339
    current: bool = True  # runs the service's current task spec


@dataclass(frozen=True, slots=True)
class SwarmService:
    name: str  # engine name, <project>_<service>
    service_id: str
    version: int  # Version.Index, for updates
    key: str  # the service's key in the stack file (io.stackup.service)
    labels: FrozenMap[str, str] = field(default_factory=_empty)
    applied: str | None = None  # canonical JSON of the spec stackup last applied (label)
    applied_hash: str | None = None
    replicas: int | None = None  # Mode.Replicated.Replicas as the engine has it now
    update_state: str | None = None  # UpdateStatus.State: updating, paused, completed, ...
    update_message: str = ""
    secrets: tuple[str, ...] = ()  # secret names the engine's spec refers to
    configs: tuple[str, ...] = ()
    image: str = ""
    image_id: str | None = None  # the image id the task template is labelled with

    @property
    def applied_spec(self) -> dict[str, Any] | None:
        if not self.applied:
            return None
        try:
            value = json.loads(self.applied)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


@dataclass(frozen=True, slots=True)
class SwarmObject:
    """A network, secret, config or volume the project owns."""

    name: str
    object_id: str
    key: str | None = None  # the key in the stack file, from its label
    labels: FrozenMap[str, str] = field(default_factory=_empty)
    driver: str | None = None  # networks and volumes


@dataclass(frozen=True, slots=True)
class SwarmObserved:
    project_name: str
    nodes: int = 1  # nodes in the swarm (a built image is pushed when more than one)
    services: tuple[SwarmService, ...] = ()  # sorted by key
    tasks: tuple[SwarmTask, ...] = ()  # sorted by service, slot, node, updated_at
    networks: tuple[SwarmObject, ...] = ()  # each sorted by name
    secrets: tuple[SwarmObject, ...] = ()
    configs: tuple[SwarmObject, ...] = ()
    volumes: tuple[SwarmObject, ...] = ()
    external: FrozenMap[str, frozenset[str]] = field(default_factory=_empty)
    images: FrozenMap[str, str | None] = field(default_factory=_empty)  # ref → local image id

    def service(self, key: str) -> SwarmService | None:
        for found in self.services:
            if found.key == key:
                return found
        return None

    def exists(self, section: str, name: str) -> bool:
        """Whether a network/secret/config/volume of this name exists (ours or not)."""
        ours = {"networks": self.networks, "secrets": self.secrets, "configs": self.configs,
                "volumes": self.volumes}[section]
        return any(o.name == name for o in ours) or name in self.external.get(section, ())

    def tasks_of(self, key: str) -> tuple[SwarmTask, ...]:
        return tuple(t for t in self.tasks if t.service == key)
