"""ObservedState: a frozen snapshot of what the engine has for one project.

Pipeline position: ``engine.observe(...)`` builds one per run; ``reconcile`` reads it. Pure values
only: the engine adapter translates the engine's answers into these types, so that reconcile
tests can build them by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stackup.core.model import FrozenMap, _empty


@dataclass(frozen=True, slots=True)
class ObservedContainer:
    container_id: str
    name: str
    service: str
    number: int
    state: str  # created, running, restarting, paused, exited, dead, removing
    health: str | None = None  # starting, healthy, unhealthy; None without a healthcheck
    exit_code: int | None = None
    config_hash: str = ""
    config: FrozenMap[str, Any] | None = None  # canonical config from the CONFIG label
    image_id: str = ""  # the image id the container was created from
    image_ref: str = ""  # the image reference it was created from
    labels: FrozenMap[str, str] = field(default_factory=_empty)
    ports: tuple[str, ...] = ()  # "127.0.0.1:8080->80/tcp", for ps
    oneoff: bool = False
    health_log: tuple[str, ...] = ()  # latest healthcheck outputs (inspect only), oldest first
    compose_made: bool = False  # created by Docker Compose (its labels only, not stackup's)
    volume_mounts: tuple[tuple[str, str], ...] = ()  # (container path, volume name), sorted
    # engine names of the networks it is attached to, sorted; None where not read (fakes)
    networks: tuple[str, ...] | None = None
    # engine names of the networks it is attached to that the engine no longer has (removed
    # while the container was stopped, perhaps made again since under the same name: the
    # container keeps the old network's id and cannot start), sorted; observe only
    gone_networks: tuple[str, ...] = ()

    @property
    def running(self) -> bool:
        return self.state in ("running", "restarting")


@dataclass(frozen=True, slots=True)
class ObservedNetwork:
    name: str  # engine name
    network_id: str
    key: str | None = None  # stack-file key from the NETWORK label; None when not ours
    driver: str = "bridge"
    internal: bool = False
    attachable: bool = False
    options: FrozenMap[str, str] = field(default_factory=_empty)
    labels: FrozenMap[str, str] = field(default_factory=_empty)
    project: str | None = None  # the PROJECT label; None when not created by stackup
    compose_made: bool = False  # project from Docker Compose's label (created by Compose)


@dataclass(frozen=True, slots=True)
class ObservedVolume:
    name: str
    key: str | None = None
    driver: str = "local"
    options: FrozenMap[str, str] = field(default_factory=_empty)
    labels: FrozenMap[str, str] = field(default_factory=_empty)
    project: str | None = None
    compose_made: bool = False  # project from Docker Compose's label (created by Compose)


@dataclass(frozen=True, slots=True)
class DuplicateNetwork:
    """A network that shares its name with the one kept in ``ObservedState.networks`` (Engine
    20.10 lets two racing creates both succeed; every call by that name then fails as
    ambiguous). Addressed by id only."""

    name: str
    network_id: str
    kept_id: str  # network_id of the one in ObservedState.networks[name]
    project: str | None = None  # its project label (stackup's or Compose's); None: not a project's
    containers: tuple[str, ...] = ()  # names of the containers attached; empty: safe to remove


@dataclass(frozen=True, slots=True)
class ObservedState:
    """Everything reconcile needs to know about the engine, observed once per run."""

    project_name: str
    containers: tuple[ObservedContainer, ...] = ()  # the project's, sorted by (service, number)
    networks: FrozenMap[str, ObservedNetwork] = field(default_factory=_empty)  # by engine name
    volumes: FrozenMap[str, ObservedVolume] = field(default_factory=_empty)  # by engine name
    images: FrozenMap[str, str | None] = field(default_factory=_empty)  # ref -> image id or None
    duplicate_networks: tuple[DuplicateNetwork, ...] = ()  # by (name, network_id)
    # ref -> seconds since stackup last pulled it on this engine, for the refs asked about
    # (``pulled``); a ref never pulled by stackup is absent
    pulled_ago: FrozenMap[str, float] = field(default_factory=_empty)

    def containers_of(self, service: str) -> tuple[ObservedContainer, ...]:
        return tuple(c for c in self.containers if c.service == service and not c.oneoff)
