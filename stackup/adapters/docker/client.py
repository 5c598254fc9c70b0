"""The Docker SDK client, and the one place SDK/HTTP failures become stackup errors.

Pipeline position: the base of ``DockerEngine`` (``adapters.docker.engine``); the other mixins
(observe, resources, containers, images, streams, lock, revisions) make every engine call
through ``self.api`` inside ``_call``, whatever the engine's address: ``unix://``, ``tcp://``
(with or without TLS) or ``ssh://`` (the ``ssh`` client, as the docker CLI does). This module is
imported only by commands that talk to the engine (``app.wiring.connect``), so the SDK's import is paid
there and nowhere else.
"""

from __future__ import annotations

import os
import socket
import ssl
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import docker
import requests

from stackup.core import labels as L
from stackup.adapters.docker.ssh import SSHAdapter, SSHFailed
from stackup.adapters.docker.resource_specs import default_state_dir
from stackup.core.errors import (
    Conflict,
    EngineError,
    EngineUnavailable,
    NotFound,
    StackupError,
)

API_VERSION = "1.41"  # the floor: Docker 20.10, spoken when the engine does not say its own
MAX_API_VERSION = "1.49"  # the newest API whose keys stackup knows (interface_name: 1.49)
DEFAULT_SOCKET = "unix:///var/run/docker.sock"


def version_key(version: str) -> tuple[int, ...]:
    """``"1.41"`` → ``(1, 41)``; ``(0,)`` for what is not a version."""
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (0,)


def negotiate(engine_api: str) -> str:
    """The API version to speak: the engine's own, capped at ``MAX_API_VERSION``; the floor
    when the engine does not say."""
    if version_key(engine_api) == (0,):
        return API_VERSION
    return min(engine_api, MAX_API_VERSION, key=version_key)


# --- errors: the one place SDK/HTTP failures become stackup errors ----------------------------


def unreachable_reason(exc: BaseException) -> str:
    """Why the engine could not be reached, in a few words, from the SDK's or requests' error
    (whose text nests the causes several levels deep)."""
    for cause in _chain(exc):
        if isinstance(cause, SSHFailed):
            said = str(cause)
            return said if said.startswith("ssh: ") else f"ssh: {said}"
    text = " ".join(str(e) for e in _chain(exc))
    low = text.lower()
    if isinstance(exc, ssl.SSLError) or "ssl" in low or "certificate" in low:
        for marker in ("certificate has expired", "certificate is not yet valid",
                       "self-signed certificate", "self signed certificate",
                       "unable to get local issuer certificate",
                       "hostname mismatch", "ip address mismatch",
                       "tlsv1 alert", "sslv3 alert", "wrong version number",
                       "certificate required", "bad certificate", "unknown ca"):
            if marker in low:
                return f"TLS: {marker}"
        return "TLS handshake failed"
    for marker, reason in (("connection refused", "connection refused"),
                           ("no such file or directory", "no such socket"),
                           ("name or service not known", "unknown host"),
                           ("temporary failure in name resolution", "unknown host"),
                           ("nodename nor servname", "unknown host"),
                           ("permission denied", "permission denied"),
                           ("timed out", "no answer in time"),
                           ("no route to host", "no route to host"),
                           ("network is unreachable", "network unreachable"),
                           ("broken pipe", "the connection closed at once"),
                           ("remotedisconnected", "the connection closed without an answer"),
                           ("connection aborted", "the connection closed at once"),
                           ("connection reset", "the connection was reset")):
        if marker in low:
            return reason
    last = str(exc).strip().splitlines()
    return last[-1] if last else type(exc).__name__


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes, and the exceptions its arguments carry (requests and urllib3
    wrap the original error in their own, as an argument)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [arg for arg in current.args if isinstance(arg, BaseException)]
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]


def unavailable(display: str, exc: BaseException) -> EngineUnavailable:
    """``EngineUnavailable`` naming the engine's address and why it cannot be reached."""
    reason = unreachable_reason(exc)
    if display.startswith("ssh://"):
        hint = ("stackup runs `ssh` as the docker CLI does (~/.ssh/config, the agent and known "
                "hosts apply); the remote host must have the docker CLI, for "
                "`docker system dial-stdio`")
    elif "TLS" in reason:
        hint = "check DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) and DOCKER_TLS_VERIFY"
    else:
        hint = "start dockerd, or set DOCKER_HOST or a docker context"
    return EngineUnavailable(f"cannot reach the Docker engine at {display}: {reason}",
                             detail=hint)


def error_for(status: int, message: str, what: str, display: str) -> StackupError:
    """The stackup error for the engine's answer ``status`` with ``message``."""
    if status >= 500 and engine_going_away(message, display):
        return EngineUnavailable(
            f"{what}: the Docker engine at {display} is stopping or restarting ({message})",
            detail="Run the command again once the engine answers: it picks up where this run "
                   "stopped.")
    if status == 404:
        return NotFound(f"{what}: {message}")
    if status == 409 or "port is already allocated" in message \
            or "address already in use" in message:
        return Conflict(f"{what}: {message}")
    return EngineError(f"{what}: {message}")


def engine_going_away(message: str, display: str = "") -> bool:
    """A dockerd on its way down (or up) answers with its containerd connection's errors:
    gRPC code ``unavailable``, "transport is closing", a refused containerd socket, or with those
    of its closed stores ("database not open", ...); asked with ``display``, any error while it
    no longer accepts new connections (it closes its listener first, then answers the requests
    under way)."""
    return message.endswith(": unavailable") or "transport is closing" in message \
        or ("containerd" in message and "connection refused" in message) \
        or "database not open" in message \
        or (bool(display) and not engine_listens(display))


def engine_listens(display: str, timeout: float = 1.0) -> bool:
    """Whether the engine at ``display`` (``unix://PATH``, ``tcp://HOST:PORT``) accepts a new
    connection; True for other kinds of address."""
    try:
        if display.startswith("unix://"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.settimeout(timeout)
                probe.connect(display[len("unix://"):])
        elif display.startswith("tcp://"):
            host, _, port = display[len("tcp://"):].rpartition(":")
            socket.create_connection((host, int(port.split("/")[0])), timeout).close()
        return True
    except (OSError, ValueError):
        return False


def translate(exc: Exception, what: str, display: str) -> StackupError:
    """Map an SDK/HTTP failure to a stackup error carrying the engine's own message."""
    if isinstance(exc, docker.errors.APIError):
        return error_for(exc.status_code or 0, str(exc.explanation or exc).strip(), what,
                         display)
    if isinstance(exc, requests.exceptions.Timeout):
        return EngineUnavailable(f"{what}: the Docker engine at {display} did not answer in time")
    if isinstance(exc, (requests.exceptions.ConnectionError, ssl.SSLError, OSError)) or (
            isinstance(exc, docker.errors.DockerException)
            and not isinstance(exc, docker.errors.APIError)):
        return unavailable(display, exc)
    return EngineError(f"{what}: {exc}")


def make_api(environ: Mapping[str, str], *, timeout: int, max_pool_size: int
             ) -> docker.APIClient:
    """An SDK client for the engine of ``environ`` (``DOCKER_HOST``, ``DOCKER_TLS_VERIFY``,
    ``DOCKER_CERT_PATH``), speaking the engine's API version capped at ``MAX_API_VERSION``
    (the SDK's own negotiation, ``version="auto"``: one ``GET /version``)."""
    display = environ.get("DOCKER_HOST") or DEFAULT_SOCKET
    try:
        if display.startswith("ssh://"):
            return _ssh_api(display, timeout=timeout, max_pool_size=max_pool_size)
        kwargs = docker.utils.kwargs_from_env(environment=dict(environ))
        kwargs.setdefault("base_url", DEFAULT_SOCKET)
        # DOCKER_CERT_PATH's CA verifies the engine: requests would let REQUESTS_CA_BUNDLE or
        # CURL_CA_BUNDLE from the environment replace it (they win over a session's own
        # ``verify``), so the environment is not consulted for a TLS engine
        tls = kwargs.get("tls")
        version = "auto"
        if tls:
            version = API_VERSION  # asked below, once the environment is out of the way
        client = docker.APIClient(version=version, timeout=timeout,
                                  max_pool_size=max_pool_size, **kwargs)
        if tls:
            client.trust_env = False
            engine_api = str(client.version(api_version=False).get("ApiVersion") or "")
        else:
            engine_api = client.api_version
        if negotiate(engine_api) != client.api_version:
            client.close()
            client = docker.APIClient(version=negotiate(engine_api), timeout=timeout,
                                      max_pool_size=max_pool_size, **kwargs)
            client.trust_env = not tls
        return client
    except (docker.errors.DockerException, requests.exceptions.RequestException,
            ssl.SSLError, OSError, ValueError) as exc:
        raise unavailable(display, exc) from exc


def _ssh_api(address: str, *, timeout: int, max_pool_size: int) -> docker.APIClient:
    """An SDK client whose requests go over ssh (``adapters.docker.ssh``), speaking the version
    negotiated with one ``GET /version``. The first client only asks that: it is dropped, not
    closed, because closing a session closes the transport both share (its ssh connection is
    the second client's first)."""
    adapter = SSHAdapter(address, max_pool_size=max_pool_size, timeout=timeout)

    def client(version: str) -> docker.APIClient:
        api = docker.APIClient(base_url="tcp://ssh-engine:22", version=version, timeout=timeout)
        api.trust_env = False  # no HTTP proxy from the environment for this made-up host
        api.mount(api.base_url, adapter)
        return api

    engine_api = str(client(API_VERSION).version(api_version=False).get("ApiVersion") or "")
    return client(negotiate(engine_api))


class ClientBase:
    """The SDK client (made on first use), ``_call``, and the lookups every mixin shares:
    inspect, image ids, and ``_owned``, which refuses what is not the project's."""

    def __init__(self, api: docker.APIClient | Callable[[], docker.APIClient], *,
                 state_dir: str | None = None, base_url: str | None = None) -> None:
        """``api`` is an SDK client or a function making one on first use; ``base_url`` is
        the engine's address as the user gave it (for messages)."""
        self._api = None if callable(api) else api
        self._make_api = api if callable(api) else None
        self._api_lock = threading.Lock()
        self.base_url = base_url or str(getattr(self._api, "base_url", "") or DEFAULT_SOCKET)
        self.state_dir = state_dir or default_state_dir(os.environ)
        # (project, container id) → (name, carried anonymous volumes) for containers seen with
        # the project's label (in observe, or created here). Labels never change and ids are
        # never reused, so these need no second inspect before being started, stopped or removed.
        self._mine: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {}

    @property
    def api(self) -> docker.APIClient:
        """The SDK client; made (and the API version negotiated) on first use."""
        if self._api is None:
            with self._api_lock:
                if self._api is None:
                    assert self._make_api is not None
                    self._api = self._make_api()
        return self._api

    def close(self) -> None:
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
        except (docker.errors.DockerException, requests.exceptions.RequestException,
                ssl.SSLError, ConnectionError) as exc:
            raise translate(exc, what, self.base_url) from exc

    def request(self, method: str, path: str, *, what: str, ok: tuple[int, ...] = (),
                **kwargs: Any) -> requests.Response:
        """``METHOD /v<negotiated><path>`` through the SDK client's HTTP session, for the few
        calls whose answer the SDK's methods do not hand back whole (headers, a wait's open
        response). A status of 400 or more, unless in ``ok``, raises the mapped error."""
        api = self.api
        with self._call(what):
            response = api.request(method, f"{api.base_url}/v{api.api_version}{path}", **kwargs)
        if response.status_code >= 400 and response.status_code not in ok:
            try:
                message = str(response.json().get("message") or response.text).strip()
            except ValueError:
                message = response.text.strip()
            raise error_for(response.status_code, message, what, self.base_url)
        return response

    @property
    def api_version(self) -> str:
        """The API version negotiated with the engine when the client was made."""
        return str(self.api.api_version)

    def ping(self) -> None:
        with self._call("ping"):
            self.api.ping()

    # --- lookups the other mixins share ------------------------------------------------

    def _networks_named(self, name: str) -> list[dict[str, Any]]:
        """Every network called exactly ``name`` (the engine's name filter matches substrings;
        and there may be several: see ``adapters.docker.observe``)."""
        what = f"cannot look up network {name}"
        with self._call(what):
            found = self.api.networks(names=[name])
        return [n for n in found or [] if n.get("Name") == name]

    def _inspect_or_none(self, kind: str, name: str) -> dict[str, Any] | None:
        try:
            with self._call(f"cannot inspect {kind} {name}"):
                if kind == "network":
                    return self.api.inspect_network(name)
                if kind == "volume":
                    return self.api.inspect_volume(name)
                if kind == "image":
                    return self.api.inspect_image(name)
                return self.api.inspect_container(name)
        except NotFound:
            return None

    def image_id(self, ref: str) -> str | None:
        found = self._inspect_or_none("image", ref)
        return None if found is None else str(found["Id"])

    def _owned(self, project_name: str, kind: str, ref: str, verb: str) -> dict[str, Any]:
        """Inspect a resource and refuse unless it carries the project's label."""
        what = f"cannot {verb} {kind} {ref}"
        with self._call(what):
            if kind == "container":
                info = self.api.inspect_container(ref)
                labels = (info.get("Config") or {}).get("Labels") or {}
            elif kind == "network":
                info = self.api.inspect_network(ref)
                labels = info.get("Labels") or {}
            else:
                info = self.api.inspect_volume(ref)
                labels = info.get("Labels") or {}
        if L.owner(labels)[0] != project_name:  # stackup's label, or Compose's for the project
            name = str(info.get("Name") or ref).lstrip("/")
            raise EngineError(f"refusing to {verb} {name}: it does not belong to project "
                              f"{project_name}",
                              detail=f"the {kind} has neither {L.PROJECT}={project_name} nor "
                                     f"{L.COMPOSE_PROJECT}={project_name} label")
        return info
