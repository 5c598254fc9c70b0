"""The Docker SDK client, imported lazily, and the one place SDK/HTTP failures become stackup errors.

Pipeline position: the base of ``DockerEngine`` (``engine.docker.engine``); the other mixins
(observe, resources, containers, images, streams) make their engine calls through ``_call``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Any

from stackup import labels as L
from stackup.engine.resources import default_state_dir
from stackup.engine.unix_http import UnixSocketReader, error_for
from stackup.errors import (
    EngineError,
    EngineUnavailable,
    StackupError,
)

if TYPE_CHECKING:
    import docker
    import requests
else:  # pragma: no cover - trivial
    class _Lazy:
        """The SDK, imported on first use: commands that only read (a no-op ``up``, ``plan``,
        ``ps``) observe through ``unix_http`` and never pay for importing it."""

        def __init__(self, name: str) -> None:
            self._name = name
            self._module: ModuleType | None = None

        def __getattr__(self, attr: str) -> Any:
            if self._module is None:
                self._module = importlib.import_module(self._name)
                importlib.import_module(f"{self._name}.{_SUBMODULES[self._name]}")
            return getattr(self._module, attr)

    _SUBMODULES = {"docker": "api.build", "requests": "exceptions"}
    docker = _Lazy("docker")
    requests = _Lazy("requests")

API_VERSION = "1.41"
DEFAULT_SOCKET = "unix:///var/run/docker.sock"


# --- errors: the one place SDK/HTTP failures become stackup errors ----------------------------


def _translate(exc: Exception, what: str, base_url: str) -> StackupError:
    """Map an SDK/HTTP failure to a stackup error carrying the engine's own message."""
    if isinstance(exc, requests.exceptions.ConnectionError) or (
            isinstance(exc, docker.errors.DockerException)
            and not isinstance(exc, docker.errors.APIError)
            and "connection" in str(exc).lower()):
        return EngineUnavailable(f"cannot reach the Docker engine at {base_url}",
                                 detail="start dockerd or set DOCKER_HOST")
    if isinstance(exc, requests.exceptions.Timeout):
        error = EngineUnavailable(f"{what}: the Docker engine at {base_url} did not answer in time")
        return error
    if isinstance(exc, docker.errors.APIError):
        # one mapping of engine answers for both paths (the SDK's and unix_http's)
        return error_for(exc.status_code or 0, str(exc.explanation or exc).strip(), what,
                         base_url)
    return EngineError(f"{what}: {exc}")



class ClientBase:
    """The SDK client (made on first use), the socket reader for reads, and ``_call``."""

    def __init__(self, api: docker.APIClient | Callable[[], docker.APIClient], *,
                 state_dir: str | None = None, reader: UnixSocketReader | None = None) -> None:
        """``api`` is an SDK client or a function making one on first use; ``reader``, when
        given, serves the read-only calls (observe, inspect) without the SDK."""
        self._api = None if callable(api) else api
        self._make_api = api if callable(api) else None
        self.reader = reader
        self.base_url = str(getattr(self._api, "base_url", "") or DEFAULT_SOCKET)
        self.state_dir = state_dir or default_state_dir(os.environ)
        # (project, container id) → (name, carried anonymous volumes) for containers seen with
        # the project's label (in observe, or created here). Labels never change and ids are
        # never reused, so these need no second inspect before being started, stopped or removed.
        self._mine: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {}
        # project → its label lists read ahead by ``prime``, for the next ``observe`` only
        self._primed: dict[str, list[list[Any]]] = {}
        self._primed_revisions: dict[str, list[dict[str, str]]] = {}  # the same, of revisions

    @property
    def api(self) -> docker.APIClient:
        if self._api is None:
            assert self._make_api is not None
            self._api = self._make_api()
        return self._api


    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
        if self._api is not None:
            self._api.close()

    def _remember(self, project_name: str, container_id: str, name: str,
                  labels: Mapping[str, str]) -> None:
        """Note a container seen with the project's label, by id and by its current name."""
        carried = tuple(v for v in labels.get(L.CARRIED_VOLUMES, "").split(",") if v)
        self._mine[(project_name, container_id)] = (name, carried)
        self._mine[(project_name, name)] = (name, carried)

    def _forget(self, project_name: str, container_id: str, name: str) -> None:
        self._mine.pop((project_name, container_id), None)
        self._mine.pop((project_name, name), None)

    @contextmanager
    def _call(self, what: str) -> Iterator[None]:
        try:
            yield
        except StackupError:
            raise
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise _translate(exc, what, self.base_url) from exc

    @property
    def api_version(self) -> str:
        """The API version negotiated with the engine (see ``unix_http.negotiate``): asked once,
        through the socket reader when there is one, else when the SDK client is made."""
        if self.reader is not None:
            return self.reader.api_version()
        return str(self.api._version)

    def ping(self) -> None:
        with self._call("ping"):
            self.api.ping()

