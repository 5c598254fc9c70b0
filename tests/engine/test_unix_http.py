"""unix_http speaks HTTP/1.1 itself: bodies by length or chunked, kept-alive connections reused
and re-opened when the engine closed them, the API version from /_ping, concurrent reads.
Against a small scripted server on a unix socket (the real engine is covered by
test_docker_engine.py)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stackup.engine.unix_http import UnixSocketReader
from stackup.errors import Conflict, EngineError, EngineUnavailable, NotFound

Handler = Callable[[str, str], bytes]  # (method, target) -> raw response bytes


def _answer(body: bytes, *, status: str = "200 OK", chunked: bool = False,
            close: bool = False, extra: str = "") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}"
    if close:
        head += "Connection: close\r\n"
    if chunked:
        parts = [body[i:i + 7] for i in range(0, len(body), 7)]
        payload = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts) + b"0\r\n\r\n"
        return (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + payload
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


class Server:
    """Accepts connections; answers each request with ``handler``; counts connections."""

    def __init__(self, path: Path, handler: Handler, *, close_after: int = 0) -> None:
        self.path, self.handler, self.close_after = str(path), handler, close_after
        self.connections = 0
        self.requests: list[str] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        file = conn.makefile("rb")
        served = 0
        with conn:
            while True:
                line = file.readline()
                if not line:
                    return
                method, target, _ = line.decode().split(" ", 2)
                length = 0
                while (header := file.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                file.read(length)
                self.requests.append(f"{method} {target}")
                conn.sendall(self.handler(method, target))
                served += 1
                if self.close_after and served >= self.close_after:
                    return

    def stop(self) -> None:
        self.sock.close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(handler: Handler, **kwargs: int) -> Server:
        server = Server(tmp_path / f"s{len(servers)}.sock", handler, **kwargs)
        servers.append(server)
        return server
    yield start
    for server in servers:
        server.stop()


def _engine(method: str, target: str) -> bytes:
    if target == "/_ping":
        return _answer(b"OK", extra="Api-Version: 1.43\r\nOstype: linux\r\n")
    if target.startswith("/v1.43/containers/json"):
        return _answer(json.dumps([{"Id": str(i)} for i in range(40)]).encode(), chunked=True)
    if target.startswith("/v1.43/containers/gone"):
        return _answer(b'{"message":"No such container: gone"}', status="404 Not Found")
    if target.startswith("/v1.43/broken"):
        return _answer(b'{"message":"it broke"}', status="500 Internal Server Error")
    if target.startswith("/v1.43/taken"):
        return _answer(b'{"message":"name is in use"}', status="409 Conflict")
    if target.startswith("/v1.43/port"):
        return _answer(b'{"message":"Bind for 0.0.0.0:80 failed: port is already allocated"}',
                       status="500 Internal Server Error")
    if target.startswith("/v1.43/dying"):
        return _answer(b'{"message":"start failed: transport is closing: unavailable"}',
                       status="500 Internal Server Error")
    if target.startswith("/v1.43/running/start"):
        return b"HTTP/1.1 304 Not Modified\r\n\r\n"
    return _answer(json.dumps({"target": target, "method": method}).encode())


def test_bodies_by_length_and_chunked_on_one_kept_alive_connection(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve(_engine)
    reader = UnixSocketReader(server.path, display="test")
    assert reader.api_version() == "1.43" and reader.os_type == "linux"
    assert len(reader.get("/containers/json", {"all": "1"}, what="list")) == 40
    assert reader.get("/images/busybox:local/json", what="inspect") == {
        "target": "/v1.43/images/busybox%3Alocal/json", "method": "GET"}
    data, _ = reader.request("POST", "/volumes/create", body={"Name": "x"}, what="create")
    assert data == {"target": "/v1.43/volumes/create", "method": "POST"}
    assert server.connections == 1
    assert server.requests[0] == "GET /_ping"
    assert server.requests[1] == "GET /v1.43/containers/json?all=1"


def test_errors_carry_the_engines_message(serve) -> None:  # type: ignore[no-untyped-def]
    reader = UnixSocketReader(serve(_engine).path, display="test")
    with pytest.raises(NotFound, match="cannot inspect gone: No such container: gone"):
        reader.get("/containers/gone/json", what="cannot inspect gone")
    with pytest.raises(EngineError, match="it broke") as broke:
        reader.get("/broken", what="cannot do it")
    assert type(broke.value) is EngineError
    with pytest.raises(Conflict, match="cannot create x: name is in use"):
        reader.request("POST", "/taken", what="cannot create x")
    with pytest.raises(Conflict, match="port is already allocated"):
        reader.request("POST", "/port", what="cannot start x")
    with pytest.raises(EngineUnavailable, match="stopping or restarting"):
        reader.request("POST", "/dying", what="cannot start x")
    assert reader.request("POST", "/running/start", what="start") == (None, "")
    assert reader.get("/after", what="still works")["target"] == "/v1.43/after"


def test_a_connection_the_engine_closed_is_opened_again(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve(_engine, close_after=2)  # ping + one request, then the server hangs up
    reader = UnixSocketReader(server.path, display="test")
    for i in range(5):
        assert reader.get(f"/n{i}", what="get")["target"] == f"/v1.43/n{i}"
    assert server.connections == 3


def test_connection_close_is_not_reused(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve(lambda m, t: _answer(b'{"ok":1}', close=True,
                                        extra="Api-Version: 1.41\r\n" if t == "/_ping" else ""))
    reader = UnixSocketReader(server.path, display="test")
    assert reader.get("/a", what="get") == {"ok": 1}
    assert reader.get("/b", what="get") == {"ok": 1}
    assert server.connections == 3


def test_without_an_api_version_header_the_version_is_asked(serve) -> None:  # type: ignore[no-untyped-def]
    def old(method: str, target: str) -> bytes:
        if target == "/_ping":
            return _answer(b"OK")
        if target == "/version":
            return _answer(b'{"ApiVersion":"1.41","Os":"linux"}')
        return _answer(b"{}")
    reader = UnixSocketReader(serve(old).path, display="test")
    assert reader.api_version() == "1.41"


def test_reads_run_at_once_and_come_back_in_order(serve) -> None:  # type: ignore[no-untyped-def]
    arrived = threading.Barrier(4, timeout=10)

    def slow(method: str, target: str) -> bytes:
        if target.startswith("/v1.43/wait"):
            arrived.wait()  # answers only once four requests are in flight at the same time
        return _engine(method, target)
    reader = UnixSocketReader(serve(slow).path, display="test")
    calls = [lambda i=i: reader.get(f"/wait{i}", what="get")["target"] for i in range(4)]
    assert reader.get_all(calls) == [f"/v1.43/wait{i}" for i in range(4)]
    failing = [lambda: reader.get("/ok", what="get"),
               lambda: reader.get("/containers/gone/json", what="cannot inspect gone")]
    with pytest.raises(NotFound):
        reader.get_all(failing)


def test_no_engine_is_engine_unavailable(tmp_path: Path) -> None:
    reader = UnixSocketReader(str(tmp_path / "none.sock"), display="unix:///none.sock")
    with pytest.raises(EngineUnavailable, match="cannot reach the Docker engine"):
        reader.get("/containers/json", what="list")
