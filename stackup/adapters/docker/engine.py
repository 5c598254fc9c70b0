"""DockerEngine: the Engine protocol against a real Docker engine.

Pipeline position: ``app`` calls ``observe`` once per run; ``execute`` calls one method per plan
operation, from several worker threads at once (one low-level ``APIClient`` whose connection
pool is sized for that). Split by concern: ``client`` (the SDK, ``_call`` and error mapping),
``observe``, ``resources`` (networks, volumes), ``containers``, ``images``, ``streams``.
Arguments come from the pure ``adapters.docker.container_spec`` and ``adapters.docker.resource_specs`` modules.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from stackup.adapters.docker.attach import AttachMixin
from stackup.adapters.docker.client import DEFAULT_SOCKET, make_api
from stackup.adapters.docker.containers import ContainerMixin
from stackup.adapters.docker.events import EventsMixin
from stackup.adapters.docker.extra import ExtraMixin
from stackup.adapters.docker.images import ImageMixin
from stackup.adapters.docker.pre_start import run_pre_start
from stackup.core.model import Project, Service
from stackup.ports.engine import OutputSink
from stackup.adapters.docker.lock import LockMixin
from stackup.adapters.docker.observe import ObserveMixin
from stackup.adapters.docker.resources import ResourceMixin
from stackup.adapters.docker.revisions import RevisionMixin
from stackup.adapters.docker.streams import ExecStream, StreamMixin
from stackup.adapters.docker.resource_specs import default_state_dir


class DockerEngine(RevisionMixin, EventsMixin, AttachMixin, ExtraMixin, ObserveMixin,
                   ResourceMixin, ContainerMixin, ImageMixin, StreamMixin, LockMixin):
    """The Engine protocol implemented with the Docker SDK's low-level API."""

    def run_pre_start(self, project: Project, service: Service, number: int, image: str, *,
                      replica: str, on_output: OutputSink | None = None) -> None:
        """pre_start hook ``number`` of ``service`` in a container of its own
        (``adapters.docker.pre_start``)."""
        run_pre_start(self, project, service, number, image, replica=replica,
                      on_output=on_output)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, max_pool_size: int = 32,
                 timeout: int = 120, state_dir: str | None = None) -> DockerEngine:
        """An engine from DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH. Does not contact
        the engine: the SDK client is made, and the API version negotiated, on first use."""
        env = dict(os.environ if environ is None else environ)
        return cls(lambda: make_api(env, timeout=timeout, max_pool_size=max_pool_size),
                   state_dir=state_dir or default_state_dir(env),
                   base_url=env.get("DOCKER_HOST") or DEFAULT_SOCKET)


__all__ = ["DockerEngine", "ExecStream"]
