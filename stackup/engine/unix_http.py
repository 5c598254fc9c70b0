"""A small read-only client for the Docker engine's HTTP API on a unix socket.

Pipeline position: inside the engine adapter. ``DockerEngine.observe`` (and the inspections
the executor polls) only read JSON; doing that over the standard library instead of the Docker
SDK keeps commands that change nothing (a no-op ``up``, ``plan``, ``ps``) from importing the SDK
and ``requests``, which cost more than the observation itself. Everything that changes the engine
still goes through the SDK, except the project lock's few small writes (``request``, used by
``engine.docker.lock``), which every changing command makes, even one with nothing to do.
Failures map to stackup errors with the engine's own message.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from stackup.errors import EngineError, EngineUnavailable, NotFound, StackupError

API_VERSION = "1.41"  # the floor: Docker 20.10; what is used until the engine is asked
MAX_API_VERSION = "1.49"  # the newest API whose keys stackup knows (interface_name: 1.49)


def negotiate(engine_api: str) -> str:
    """The API version to speak: the engine's own, capped at ``MAX_API_VERSION``."""
    def key(version: str) -> tuple[int, ...]:
        try:
            return tuple(int(part) for part in version.split("."))
        except ValueError:
            return (0,)
    if not engine_api or key(engine_api) == (0,):
        return API_VERSION
    return min(engine_api, MAX_API_VERSION, key=key)


class _Connection(http.client.HTTPConnection):
    def __init__(self, socket_path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


class UnixSocketReader:
    """GET JSON from the engine; one keep-alive connection per thread."""

    def __init__(self, socket_path: str, *, display: str, timeout: float = 60.0) -> None:
        self.socket_path = socket_path
        self.display = display
        self.timeout = timeout
        self._local = threading.local()
        self.version: str | None = None  # negotiated on the first request (``api_version``)
        self._version_lock = threading.Lock()

    def api_version(self) -> str:
        """The negotiated API version: ``GET /version`` once (unversioned, ~1 ms), the engine's
        version capped at what stackup knows; every later path is prefixed with it."""
        if self.version is None:
            with self._version_lock:
                if self.version is None:
                    try:
                        status, data, _ = self._request("/version")
                    except (OSError, http.client.HTTPException) as exc:
                        raise EngineUnavailable(
                            f"cannot reach the Docker engine at {self.display}",
                            detail=f"{exc}; start dockerd or set DOCKER_HOST") from exc
                    info = json.loads(data) if status == 200 else {}
                    self.version = negotiate(str(info.get("ApiVersion") or ""))
        return self.version

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, what: str) -> Any:
        """The decoded JSON of ``GET /v<negotiated><path>``; 404 → NotFound, others → EngineError."""
        return self.request("GET", path, params, what=what)[0]

    def request(self, method: str, path: str, params: Mapping[str, Any] | None = None,
                body: Any = None, *, what: str) -> tuple[Any, str]:
        """(decoded JSON or None, the response's Date header) of ``METHOD /v<negotiated><path>`` with
        ``body`` sent as JSON. Only for calls that are safe to send twice (the connection is
        retried once when the engine closed it)."""
        url = f"/v{self.api_version()}{quote(path)}"
        if params:
            url += "?" + urlencode({k: v if isinstance(v, str) else json.dumps(v)
                                    for k, v in params.items()})
        payload = None if body is None else json.dumps(body).encode()
        try:
            status, data, date = self._request(url, method, payload)
        except StackupError:
            raise
        except (OSError, http.client.HTTPException) as exc:
            raise EngineUnavailable(f"cannot reach the Docker engine at {self.display}",
                                    detail=f"{exc}; start dockerd or set DOCKER_HOST") from exc
        if 200 <= status < 300:
            return (json.loads(data) if data.strip() else None), date
        message = _message(data)
        if status == 404:
            raise NotFound(f"{what}: {message}")
        raise EngineError(f"{what}: {message}")

    def _request(self, url: str, method: str = "GET",
                 payload: bytes | None = None) -> tuple[int, bytes, str]:
        headers = {"Host": "docker"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):  # a kept-alive connection the engine closed: reconnect once
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = _Connection(self.socket_path, self.timeout)
            try:
                conn.request(method, url, body=payload, headers=headers)
                response = conn.getresponse()
                return response.status, response.read(), response.getheader("Date") or ""
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body).get("message") or body.decode("utf-8", "replace")).strip()
    except (ValueError, AttributeError):
        return body.decode("utf-8", "replace").strip()
