"""Streams: logs, exec, and the hijacked two-way connections of interactive commands.

Pipeline position: the ``logs``, ``exec``, ``run`` and ``attach`` commands and attached ``up``
read these; nothing here changes the project. ``Hijacked`` is the ``ports.session.Session``
of ``exec_session`` here and of ``attach_container`` (``adapters/docker/attach.py``): the
connection the SDK's ``exec_start(socket=True)`` / ``attach_socket`` hands back, whatever the
engine's address (``Channel``), with no timeout (an interactive shell may stay idle for hours).
"""

from __future__ import annotations

import os
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from stackup.adapters.docker.client import ClientBase
from stackup.ports.session import END, STDERR, STDOUT
from stackup.core.errors import EngineError

if TYPE_CHECKING:
    from stackup.ports.engine import ExecResult


class Channel:
    """The two-way byte stream under a hijacked engine connection, as the SDK hands it back:

    - ``unix://`` and ``tcp://``: a socket (or the ``SocketIO`` around one); used through a
      socket of our own on a duplicate of its descriptor, blocking, so that the half-close
      (``shutdown``) and the absence of a timeout are public socket calls;
    - ``tcp://`` with TLS: the ``ssl.SSLSocket`` itself; the end of stdin is a TCP half-close
      on a duplicate descriptor (the engine then reads the end of its TLS stream and closes
      the process's stdin), the TLS session staying up for the output;
    - ``ssh://``: the SDK's socket around the ``ssh`` process (``docker system dial-stdio`` on
      the remote side): output is read from that process's stdout, stdin goes to its stdin,
      and closing its stdin ends the remote stdin.
    """

    def __init__(self, sock: Any) -> None:
        self._orig = sock
        self._proc = getattr(sock, "proc", None)  # the SDK's SSHSocket
        self._own: socket.socket | None = None
        if self._proc is not None:
            self._tls = None
        elif isinstance(sock, ssl.SSLSocket):
            self._tls = sock
            sock.settimeout(None)
        else:
            self._tls = None
            self._own = socket.socket(fileno=os.dup(sock.fileno()))
            self._own.settimeout(None)

    def recv(self, size: int) -> bytes:
        """Up to ``size`` bytes as soon as some arrive; b"" at the end."""
        if self._proc is not None:
            return bytes(self._proc.stdout.read1(size))
        if self._tls is not None:
            return self._tls.recv(size)
        assert self._own is not None
        return self._own.recv(size)

    def sendall(self, data: bytes) -> None:
        if self._proc is not None:
            self._proc.stdin.write(data)
            self._proc.stdin.flush()
        elif self._tls is not None:
            self._tls.sendall(data)
        else:
            assert self._own is not None
            self._own.sendall(data)

    def close_write(self) -> None:
        if self._proc is not None:
            self._proc.stdin.close()
            return
        fd = self._tls.fileno() if self._tls is not None else None
        if fd is not None:
            with socket.socket(fileno=os.dup(fd)) as dup:
                dup.shutdown(socket.SHUT_WR)
        else:
            assert self._own is not None
            self._own.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        try:
            if self._own is not None:
                self._own.close()
        finally:
            self._orig.close()


class StreamMixin(ClientBase):
    """logs and exec."""

    def logs(self, container_id: str, *, follow: bool = False, tail: int | None = None,
             timestamps: bool = False, since: float | None = None,
             until: float | None = None) -> Iterator[bytes]:
        """Raw output chunks (stdout and stderr); ``since``/``until`` are unix times."""
        what = f"cannot read the logs of {container_id}"
        extra: dict[str, Any] = {}
        if since is not None:
            extra["since"] = max(float(since), 1e-9)  # the SDK ignores 0
        if until is not None:
            extra["until"] = max(float(until), 1e-9)
        with self._call(what):
            stream = self.api.logs(container_id, stream=True, follow=follow,
                                   tail="all" if tail is None else tail, timestamps=timestamps,
                                   **extra)
        with self._call(what):
            yield from stream

    def exec(self, container_id: str, command: list[str], *, tty: bool = False,
             user: str | None = None, workdir: str | None = None,
             environment: dict[str, str] | None = None) -> ExecResult:
        """Run a command to completion; ``output`` is stdout and stderr interleaved."""
        chunks = self.exec_stream(container_id, command, tty=tty, user=user, workdir=workdir,
                                  environment=environment)
        from stackup.ports.engine import ExecResult

        output = b"".join(chunk for _, chunk in chunks)
        return ExecResult(exit_code=chunks.exit_code, output=output)

    def exec_stream(self, container_id: str, command: list[str], *, tty: bool = False,
                    user: str | None = None, workdir: str | None = None,
                    environment: dict[str, str] | None = None) -> ExecStream:
        """Start a command; iterate the result for (1 stdout | 2 stderr, bytes) chunks as they
        come, then read ``exit_code``."""
        with self._call(f"cannot exec in container {container_id}"):
            exec_id = self.api.exec_create(container_id, command, tty=tty, user=user or "",
                                           workdir=workdir, environment=environment)["Id"]
            stream = self.api.exec_start(exec_id, tty=tty, stream=True, demux=True)
        return ExecStream(self, exec_id, stream, tty)

    def exec_session(self, container_id: str, command: list[str], *, tty: bool = False,
                     stdin: bool = True, user: str | None = None, workdir: str | None = None,
                     environment: dict[str, str] | None = None,
                     privileged: bool = False) -> Hijacked:
        """Start a command with its stdin, stdout and stderr on one hijacked connection
        (``docker exec -i[t]`` through the engine API: no docker CLI needed)."""
        what = f"cannot exec in container {container_id}"
        with self._call(what):
            exec_id = self.api.exec_create(
                container_id, command, stdout=True, stderr=True, stdin=stdin, tty=tty,
                user=user or "", workdir=workdir, environment=environment,
                privileged=privileged)["Id"]
            sock = self.api.exec_start(exec_id, tty=tty, socket=True)

        def resize(height: int, width: int) -> None:
            with self._call(f"cannot resize exec {exec_id}"):
                self.api.exec_resize(exec_id, height=height, width=width)

        return Hijacked(Channel(sock), tty=tty, exit_code=lambda: self._exec_exit(exec_id),
                        resize=resize)

    def exec_detached(self, container_id: str, command: list[str], *, tty: bool = False,
                      user: str | None = None, workdir: str | None = None,
                      environment: dict[str, str] | None = None,
                      privileged: bool = False) -> str:
        """Start a command in the background (``exec -d``); its exec id."""
        with self._call(f"cannot exec in container {container_id}"):
            exec_id = self.api.exec_create(
                container_id, command, stdout=False, stderr=False, stdin=False, tty=tty,
                user=user or "", workdir=workdir, environment=environment,
                privileged=privileged)["Id"]
            self.api.exec_start(exec_id, detach=True, tty=tty)
        return str(exec_id)

    def _exec_exit(self, exec_id: str) -> int:
        """The exec's exit code; the engine may record it a moment after the output closed."""
        deadline = time.monotonic() + 10
        while True:
            with self._call(f"cannot inspect exec {exec_id}"):
                info = self.api.exec_inspect(exec_id)
            if not info.get("Running") or time.monotonic() > deadline:
                code = info.get("ExitCode")
                return -1 if code is None else int(code)
            time.sleep(0.05)


class Hijacked:
    """A hijacked engine connection (``ports.session.Session``): writes go to the process's
    stdin; reads demultiplex the engine's 8-byte frame headers unless there is a TTY."""

    def __init__(self, channel: Channel, *, tty: bool, exit_code: Callable[[], int],
                 resize: Callable[[int, int], None] | None = None,
                 half_close: bool = True) -> None:
        """``half_close``: the end of stdin is passed on (the process reads EOF); without it
        stdin just stops, for attachments where the engine would end the output too."""
        self.tty = tty
        self._half_close = half_close
        self._channel = channel
        self._exit_code, self._resize = exit_code, resize
        self._write_lock = threading.Lock()
        self._write_closed = False

    def _read_exact(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self._channel.recv(size - len(data))
            if not chunk:
                return b""
            data += chunk
        return data

    def read(self) -> tuple[int, bytes]:
        try:
            if self.tty:
                data = self._channel.recv(65536)
                return (STDOUT, data) if data else (END, b"")
            while True:
                header = self._read_exact(8)
                if not header:
                    return END, b""
                size = struct.unpack(">I", header[4:])[0]
                data = self._read_exact(size) if size else b""
                if size and not data:
                    return END, b""
                if data:
                    return (STDERR if header[0] == STDERR else STDOUT), data
        except (OSError, ValueError):
            return END, b""  # closed under us (the process ended, or close() was called)

    def write(self, data: bytes) -> None:
        with self._write_lock:
            if self._write_closed:
                return
            try:
                self._channel.sendall(data)
            except OSError:  # the process is gone: nothing reads its stdin any more
                self._write_closed = True

    def close_write(self) -> None:
        with self._write_lock:
            if self._write_closed:
                return
            self._write_closed = True
            if not self._half_close:
                return
            try:
                self._channel.close_write()
            except (OSError, ValueError):
                pass

    def resize(self, height: int, width: int) -> None:
        if self.tty and self._resize is not None and height > 0 and width > 0:
            try:
                self._resize(height, width)
            except EngineError:
                pass  # the process may just have ended: resizing is best effort

    def exit_code(self) -> int:
        return self._exit_code()

    def close(self) -> None:
        self._channel.close()


class ExecStream:
    """Output chunks of a running exec; ``exit_code`` is known once the stream is exhausted."""

    def __init__(self, engine: ClientBase, exec_id: str, stream: Iterator[Any], tty: bool):
        self._engine, self._exec_id, self._stream, self._tty = engine, exec_id, stream, tty

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        with self._engine._call(f"cannot read exec {self._exec_id}"):
            for item in self._stream:
                if isinstance(item, tuple):
                    out, err = item
                    if out:
                        yield 1, out
                    if err:
                        yield 2, err
                elif item:
                    yield 1, item

    @property
    def exit_code(self) -> int:
        with self._engine._call(f"cannot inspect exec {self._exec_id}"):
            code = self._engine.api.exec_inspect(self._exec_id).get("ExitCode")
        return -1 if code is None else int(code)
