"""A small JSON client for the Docker engine's HTTP API on a unix socket.

Pipeline position: inside the engine adapter. ``DockerEngine.observe`` (and the inspections
the executor polls) only read JSON; doing that over a plain socket instead of the Docker SDK
keeps commands that change nothing (a no-op ``up``, ``plan``, ``ps``) from importing the SDK
and ``requests``, which cost more than the observation itself. Everything that changes the engine
still goes through the SDK, except the project lock's few small writes (``request``, used by
``engine.docker.lock``), which every changing command makes, even one with nothing to do.
Failures map to stackup errors with the engine's own message.

HTTP/1.1 is spoken here directly (request line, headers, a ``Content-Length`` or chunked body),
not through ``http.client``: that module imports ``email``, ``ssl`` and ``urllib`` (about 20 ms,
a tenth of a no-op ``up``) for features a local JSON API does not use. For the same reason the
connections are the ``_socket`` module's own sockets, read through an ``io.BufferedReader``: the
``socket`` module around them builds its enum classes at import (about 3 ms, with
``selectors``) and adds nothing a unix-socket client uses. Kept-alive connections are pooled,
so several threads (``get_all``) can read at once.
"""

from __future__ import annotations

import _socket
import io
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from stackup.errors import (
    Conflict,
    EngineError,
    EngineUnavailable,
    NotFound,
    StackupError,
)

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


class ProtocolError(OSError):
    """The engine's answer is not the HTTP/1.1 expected (or the connection closed early)."""


class _Closed(ProtocolError):
    """A kept-alive connection the engine closed before answering: safe to send again."""


_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def quote(text: str, safe: str = "/") -> str:
    """Percent-encode ``text`` for a URL (``urllib.parse.quote``'s rules)."""
    allowed = _SAFE | frozenset(safe.encode())
    return "".join(chr(b) if b in allowed else f"%{b:02X}" for b in text.encode("utf-8"))


def urlencode(params: Mapping[str, str]) -> str:
    """A query string (``urllib.parse.urlencode``'s rules: spaces as ``+``)."""
    return "&".join(f"{quote(k, '').replace('%20', '+')}={quote(v, '').replace('%20', '+')}"
                    for k, v in params.items())


class _Received(io.RawIOBase):
    """What ``socket.makefile("rb")`` gives, for a ``_socket`` socket: its bytes as a raw
    stream (``io.BufferedReader`` adds ``readline`` and ``read``)."""

    def __init__(self, sock: _socket.socket) -> None:
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._sock.recv_into(buffer)


class _Connection:
    """One HTTP/1.1 connection to the engine's socket."""

    def __init__(self, socket_path: str, timeout: float) -> None:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock
        self.timeout = timeout
        self.file = io.BufferedReader(_Received(sock))
        self.reusable = True

    def close(self) -> None:
        self.reusable = False
        try:
            self.file.close()
        finally:
            self.sock.close()

    def exchange(self, method: str, url: str, payload: bytes | None, fresh: bool,
                 timeout: float | None = None) -> tuple[int, dict[str, str], bytes]:
        """Send one request, read its whole answer: (status, headers lower-cased, body).
        ``timeout``: seconds without an answer before giving up, for this request only."""
        if timeout is not None:
            self.sock.settimeout(timeout)
            try:
                return self.exchange(method, url, payload, fresh)
            finally:
                if self.reusable:
                    self.sock.settimeout(self.timeout)
        head = [f"{method} {url} HTTP/1.1", "Host: docker"]
        if payload is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        elif method in ("POST", "PUT"):
            head.append("Content-Length: 0")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (payload or b"")
        try:
            self.sock.sendall(data)
            line = self.file.readline(65537)
        except (BrokenPipeError, ConnectionResetError) as exc:
            if fresh:
                raise
            raise _Closed(str(exc)) from exc
        if not line:
            if fresh:
                raise ProtocolError("the engine closed the connection without an answer")
            raise _Closed("the engine closed a kept-alive connection")
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError(f"not an HTTP answer: {line[:80]!r}")
        status = int(parts[1])
        headers: dict[str, str] = {}
        while True:
            line = self.file.readline(65537)
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise ProtocolError("the engine closed the connection in the headers")
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if parts[0] == b"HTTP/1.0" or "close" in headers.get("connection", "").lower():
            self.reusable = False
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return status, headers, b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return status, headers, self._chunked()
        if "content-length" in headers:
            size = int(headers["content-length"])
            body = self.file.read(size)
            if len(body) != size:
                raise ProtocolError("the engine closed the connection in the body")
            return status, headers, body
        self.reusable = False  # the body runs to the end of the connection
        return status, headers, self.file.read()

    def _chunked(self) -> bytes:
        chunks = []
        while True:
            line = self.file.readline(65537)
            if not line:
                raise ProtocolError("the engine closed the connection in the body")
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.file.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunk = self.file.read(size)
            if len(chunk) != size:
                raise ProtocolError("the engine closed the connection in the body")
            chunks.append(chunk)
            self.file.readline(65537)  # the CRLF after the chunk


class UnixSocketReader:
    """JSON requests to the engine over its unix socket; kept-alive connections, pooled."""

    def __init__(self, socket_path: str, *, display: str, timeout: float = 60.0) -> None:
        self.socket_path = socket_path
        self.display = display
        self.timeout = timeout
        self._idle: list[_Connection] = []
        self._pool_lock = threading.Lock()
        self.version: str | None = None  # negotiated on the first request (``api_version``)
        self.os_type: str | None = None  # the engine's OS ("linux"), from the same answer
        self._version_lock = threading.Lock()

    def api_version(self) -> str:
        """The negotiated API version: asked once with ``GET /_ping`` (its ``Api-Version``
        header, as the docker CLI negotiates; ``GET /version`` when the header is missing),
        the engine's version capped at what stackup knows; every later path is prefixed
        with it."""
        if self.version is None:
            with self._version_lock:
                if self.version is None:
                    try:
                        status, headers, data = self._request("/_ping")
                        engine_api = headers.get("api-version", "") if status == 200 else ""
                        self.os_type = headers.get("ostype") or None
                        if not engine_api:
                            status, _, data = self._request("/version")
                            info = json.loads(data) if status == 200 else {}
                            engine_api = str(info.get("ApiVersion") or "")
                            self.os_type = str(info.get("Os") or "") or None
                    except (OSError, ValueError) as exc:
                        raise EngineUnavailable(
                            f"cannot reach the Docker engine at {self.display}",
                            detail=f"{exc}; start dockerd or set DOCKER_HOST") from exc
                    self.version = negotiate(engine_api)
        return self.version

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, what: str) -> Any:
        """The decoded JSON of ``GET /v<negotiated><path>``; 404 → NotFound, others → EngineError."""
        return self.request("GET", path, params, what=what)[0]

    def get_all(self, calls: Sequence[Callable[[], Any]], *, workers: int = 8) -> list[Any]:
        """Run the given calls (reads: ``lambda: reader.get(...)``) at the same time, up to
        ``workers`` at once, each on its own connection; their results in order. The first
        failure (in order) is raised once all have ended."""
        if len(calls) < 2:
            return [call() for call in calls]
        self.api_version()  # once, before the threads
        results: list[Any] = [None] * len(calls)
        errors: list[BaseException | None] = [None] * len(calls)
        todo = iter(range(len(calls)))
        take = threading.Lock()

        def work() -> None:
            while True:
                with take:
                    i = next(todo, None)
                if i is None:
                    return
                try:
                    results[i] = calls[i]()
                except BaseException as exc:  # noqa: BLE001 - raised in the caller below
                    errors[i] = exc
        threads = [threading.Thread(target=work, daemon=True)
                   for _ in range(min(workers, len(calls)) - 1)]
        for thread in threads:
            thread.start()
        work()
        for thread in threads:
            thread.join()
        for error in errors:
            if error is not None:
                raise error
        return results

    def request(self, method: str, path: str, params: Mapping[str, Any] | None = None,
                body: Any = None, *, what: str,
                timeout: float | None = None) -> tuple[Any, str]:
        """(decoded JSON or None, the response's Date header) of ``METHOD /v<negotiated><path>`` with
        ``body`` sent as JSON; ``timeout`` (seconds) replaces the reader's for this request.
        Errors as the adapter maps the SDK's (``client._translate``): 404 ``NotFound``, 409 or a
        port in use ``Conflict``, no answer in time or no engine ``EngineUnavailable``, others
        ``EngineError``, each with the engine's message. A request is sent again only when a
        kept-alive connection turns out closed before it was answered."""
        url = f"/v{self.api_version()}{quote(path)}"
        if params:
            url += "?" + urlencode({k: v if isinstance(v, str) else json.dumps(v)
                                    for k, v in params.items()})
        payload = None if body is None else json.dumps(body).encode()
        try:
            status, headers, data = self._request(url, method, payload, timeout)
        except StackupError:
            raise
        except TimeoutError as exc:
            raise EngineUnavailable(f"{what}: the Docker engine at {self.display} did not "
                                    f"answer in time") from exc
        except OSError as exc:
            raise EngineUnavailable(f"cannot reach the Docker engine at {self.display}",
                                    detail=f"{exc}; start dockerd or set DOCKER_HOST") from exc
        date = headers.get("date", "")
        if 200 <= status < 300:
            return (json.loads(data) if data.strip() else None), date
        if status == 304:  # e.g. starting a container that runs: nothing to do
            return None, date
        raise error_for(status, _message(data), what, self.display)

    def _request(self, url: str, method: str = "GET", payload: bytes | None = None,
                 timeout: float | None = None) -> tuple[int, dict[str, str], bytes]:
        for attempt in (1, 2):  # a kept-alive connection the engine closed: reconnect once
            conn = None
            if attempt == 1:
                with self._pool_lock:
                    conn = self._idle.pop() if self._idle else None
            fresh = conn is None
            if conn is None:
                conn = _Connection(self.socket_path, self.timeout)
            try:
                answer = conn.exchange(method, url, payload, fresh, timeout)
            except _Closed:
                conn.close()
                continue
            except BaseException:
                conn.close()
                raise
            if conn.reusable:
                with self._pool_lock:
                    self._idle.append(conn)
            else:
                conn.close()
            return answer
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._pool_lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def error_for(status: int, message: str, what: str, display: str) -> StackupError:
    """The stackup error for the engine's answer ``status`` with ``message`` (the same mapping as
    ``engine.docker.client._translate`` for the SDK's errors)."""
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
    import socket

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


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body).get("message") or body.decode("utf-8", "replace")).strip()
    except (ValueError, AttributeError):
        return body.decode("utf-8", "replace").strip()
