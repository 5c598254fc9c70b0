"""The Swarm target's port: what its use cases need from a swarm manager.

Pipeline position: ``app.swarm`` observes with it, plans with ``stackup.swarm`` (pure) and runs
the plan through it (it is the executor's ``Backend`` for Swarm operations);
``adapters.docker.swarm`` implements it on a Docker engine in swarm mode.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol

from stackup.core.swarm_observed import SwarmObserved
from stackup.ports.engine import Backend


class SwarmPort(Backend, Protocol):
    def observe(self, project_name: str, *, names: Mapping[str, Iterable[str]] | None = None,
                tasks: bool = False, images: Iterable[str] = ()) -> SwarmObserved:
        """The project's services (their tasks too with ``tasks``), networks, volumes,
        secrets and configs, and the named external ones."""
        ...

    def logs(self, service_id: str, *, follow: bool = False, tail: int | None = None,
             timestamps: bool = False) -> Iterator[tuple[str, bytes]]:
        """(task id, one line) of a service's tasks, as the engine streams them."""
        ...
