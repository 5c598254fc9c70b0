"""Where the adapters are plugged into the ports: the only module that imports ``adapters``.

The CLI (and Python callers) ask here for an engine (the Docker engine the environment names,
wrapped for ``--dry-run``) or a swarm; everything else sees only the ports.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stackup.core.plan import Plan
    from stackup.ports.engine import Engine
    from stackup.ports.swarm import SwarmPort


def connect(environ: Mapping[str, str] | None = None, *, dry_run: bool = False) -> Engine:
    """The Docker engine from the environment: ``DOCKER_HOST``, else the docker context
    (``DOCKER_CONTEXT`` or the docker CLI's current one); with ``dry_run``, wrapped so that
    reads pass and writes are only recorded."""
    from stackup.adapters.docker import DockerEngine
    from stackup.adapters.docker.context import engine_environ

    engine: Engine = DockerEngine.from_env(engine_environ(os.environ if environ is None
                                                          else environ))
    if dry_run:
        from stackup.adapters.dry_run import DryRunEngine

        engine = DryRunEngine(engine)
    return engine


def swarm(engine: Engine) -> SwarmPort:
    """The swarm that ``engine`` manages (``--dry-run`` is refused with ``--target swarm``)."""
    from stackup.adapters.docker.engine import DockerEngine
    from stackup.adapters.docker.swarm import SwarmBackend

    if not isinstance(engine, DockerEngine):
        raise TypeError(f"the Swarm backend needs a Docker engine, not {type(engine).__name__}")
    return SwarmBackend(engine)


def check_engine_supports(plan: Plan, engine: Engine) -> None:
    """Before anything runs: refuse a key the engine's API version would ignore, naming it."""
    version = getattr(engine, "api_version", None)
    if not isinstance(version, str):
        return  # the fake, or an engine that does not say
    from stackup.adapters.docker.container_extras import check_api
    from stackup.core.plan import Kind

    for service in {op.service.name: op.service for op in plan.operations
                    if op.kind is Kind.CREATE_CONTAINER and op.service is not None}.values():
        check_api(service, version)
