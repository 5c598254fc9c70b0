"""DockerEngine: the Engine protocol against a real Docker engine.

Pipeline position: ``app`` calls ``observe`` once per run; ``execute`` calls one method per plan
operation, from several worker threads at once (one low-level ``APIClient`` whose connection
pool is sized for that). Split by concern: ``client`` (the SDK, ``_call`` and error mapping),
``observe``, ``resources`` (networks, volumes), ``containers``, ``images``, ``streams``.
Arguments come from the pure ``engine.container_spec`` and ``engine.resources`` modules.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from stackup.engine.docker.attach import AttachMixin
from stackup.engine.docker.client import API_VERSION, DEFAULT_SOCKET, docker
from stackup.engine.docker.containers import ContainerMixin
from stackup.engine.docker.events import EventsMixin
from stackup.engine.docker.extra import ExtraMixin
from stackup.engine.docker.images import ImageMixin
from stackup.engine.docker.lock import LockMixin
from stackup.engine.docker.observe import ObserveMixin
from stackup.engine.docker.resources import ResourceMixin
from stackup.engine.docker.revisions import RevisionMixin
from stackup.engine.docker.streams import ExecStream, StreamMixin
from stackup.engine.resources import (
    default_state_dir,
)
from stackup.engine.unix_http import UnixSocketReader, negotiate
from stackup.errors import (
    EngineUnavailable,
)


class DockerEngine(RevisionMixin, EventsMixin, AttachMixin, ExtraMixin, ObserveMixin, ResourceMixin, ContainerMixin,
                   ImageMixin,
                   StreamMixin, LockMixin):
    """The Engine protocol implemented with the Docker SDK's low-level API."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, max_pool_size: int = 32,
                 timeout: int = 120, state_dir: str | None = None) -> DockerEngine:
        """An engine from DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH. Does not contact
        the engine, nor import the SDK: the API version is negotiated on first use, once (the
        engine's own, capped at ``unix_http.MAX_API_VERSION``, never below 1.41)."""
        env = dict(os.environ if environ is None else environ)
        display = env.get("DOCKER_HOST") or DEFAULT_SOCKET

        def make_api() -> docker.APIClient:
            kwargs = docker.utils.kwargs_from_env(environment=env) if env.get("DOCKER_HOST") \
                else {}
            kwargs.setdefault("base_url", DEFAULT_SOCKET)
            try:
                version = reader.api_version() if reader is not None else API_VERSION
                client = docker.APIClient(version=version, timeout=timeout,
                                          max_pool_size=max_pool_size, **kwargs)
                if reader is None:  # negotiate over the SDK: one unversioned GET /version
                    client._version = negotiate(str(client.version(api_version=False)
                                                    .get("ApiVersion") or ""))
                return client
            except (docker.errors.DockerException,
                    docker.errors.requests.exceptions.RequestException) as exc:
                raise EngineUnavailable(f"cannot reach the Docker engine at {display}",
                                        detail=f"{exc}; start dockerd or set DOCKER_HOST") from exc

        reader = None
        if display.startswith("unix://") and not env.get("DOCKER_TLS_VERIFY"):
            reader = UnixSocketReader(display[len("unix://"):], display=display,
                                      timeout=timeout)
        engine = cls(make_api, state_dir=state_dir or default_state_dir(env), reader=reader)
        engine.base_url = display
        return engine

    def prime(self, project_name: str, *, revisions: bool = False) -> None:
        """Read the project's labelled containers, networks and volumes now (and with
        ``revisions`` its revision records), for the next ``observe`` (``list_revisions``) of
        that project to use instead of reading them again. The CLI calls it in a thread while
        the stack file loads, after taking the lock for a command that changes the project,
        so that the engine's answers overlap the loading (``cli.early``)."""
        reads = self._list_reads(project_name, True)
        if revisions:
            reads.append(lambda: self.list_revisions(project_name))
        found = self._read_all(reads)
        if revisions:
            self._primed_revisions[project_name] = found.pop()
        self._primed[project_name] = found



__all__ = ["DockerEngine", "ExecStream"]
