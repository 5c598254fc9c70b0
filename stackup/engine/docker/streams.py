"""Streams: logs and exec.

Pipeline position: ``logs`` and ``exec`` commands (through ``app``) read these; nothing here
changes the project.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stackup.engine.base import ExecResult
from stackup.engine.docker.client import ClientBase


class StreamMixin(ClientBase):
    """logs and exec."""

    def logs(self, container_id: str, *, follow: bool = False, tail: int | None = None,
             timestamps: bool = False) -> Iterator[bytes]:
        what = f"cannot read the logs of {container_id}"
        with self._call(what):
            stream = self.api.logs(container_id, stream=True, follow=follow,
                                   tail="all" if tail is None else tail, timestamps=timestamps)
        with self._call(what):
            yield from stream

    def exec(self, container_id: str, command: list[str], *, tty: bool = False,
             user: str | None = None, workdir: str | None = None,
             environment: dict[str, str] | None = None) -> ExecResult:
        """Run a command to completion; ``output`` is stdout and stderr interleaved."""
        chunks = self.exec_stream(container_id, command, tty=tty, user=user, workdir=workdir,
                                  environment=environment)
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
