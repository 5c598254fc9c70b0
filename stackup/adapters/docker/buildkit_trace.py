"""BuildKit's progress records, as the engine streams them from ``/build?version=2``, turned
into readable lines. Pure: no I/O.

Pipeline position: ``adapters/docker/images.py`` builds with the engine's own BuildKit when no
``docker buildx`` is installed; each ``{"id": "moby.buildkit.trace", "aux": "<base64>"}`` record
it receives holds a protobuf ``moby.buildkit.v1.StatusResponse``. Only the fields a person needs
are decoded (a few lines of protobuf wire format, so no protobuf dependency): vertexes (steps:
digest, name, cached, started, completed, error) and their logs (the output of ``RUN``).
Lines look like ``docker buildx --progress plain``: ``#3 [2/2] RUN make``, ``#3 CACHED``,
``#3 DONE``, ``#3 ERROR: ...`` and the step's output prefixed by its number.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of a protobuf message: ints for varints, bytes otherwise."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, value
        elif wire == 2:
            length, pos = _varint(data, pos)
            yield number, data[pos:pos + length]
            pos += length
        elif wire == 1:
            yield number, data[pos:pos + 8]
            pos += 8
        elif wire == 5:
            yield number, data[pos:pos + 4]
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _text(value: int | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class TraceReader:
    """Feeds decoded status messages to ``on_line``; ``step`` is the step that last failed
    (or last started), for error messages."""

    def __init__(self, on_line: Callable[[str], None]) -> None:
        self.on_line = on_line
        self.numbers: dict[str, int] = {}  # vertex digest → #n, in order of appearance
        self.names: dict[str, str] = {}
        self.done: set[str] = set()
        self.step: str | None = None
        self.errors: list[str] = []

    def feed_aux(self, aux: str) -> None:
        try:
            self.feed(base64.b64decode(aux))
        except ValueError:
            return  # a record of a newer BuildKit we cannot read: skip it, the build goes on

    def _number(self, digest: str) -> int:
        if digest not in self.numbers:
            self.numbers[digest] = len(self.numbers) + 1
        return self.numbers[digest]

    def feed(self, message: bytes) -> None:
        for number, value in fields(message):
            if number == 1 and isinstance(value, bytes):
                self._vertex(value)
            elif number == 3 and isinstance(value, bytes):
                self._log(value)

    def _vertex(self, data: bytes) -> None:
        digest = name = error = ""
        cached = started = completed = False
        for number, value in fields(data):
            if number == 1:
                digest = _text(value)
            elif number == 3:
                name = _text(value)
            elif number == 4:
                cached = bool(value)
            elif number == 5:
                started = True
            elif number == 6:
                completed = True
            elif number == 7:
                error = _text(value)
        n = self._number(digest)
        if digest not in self.names and name:
            self.names[digest] = name
            self.on_line(f"#{n} {name}")
            if not name.startswith("[internal]"):
                self.step = name
        if digest in self.done:
            return
        if error:
            self.done.add(digest)
            self.step = self.names.get(digest, name)
            self.errors.append(error)
            self.on_line(f"#{n} ERROR: {error}")
        elif cached and completed:
            self.done.add(digest)
            self.on_line(f"#{n} CACHED")
        elif completed:
            self.done.add(digest)
            self.on_line(f"#{n} DONE")
        elif started and not name:
            pass

    def _log(self, data: bytes) -> None:
        digest, text = "", ""
        for number, value in fields(data):
            if number == 1:
                digest = _text(value)
            elif number == 4:
                text = _text(value)
        n = self._number(digest)
        for line in text.splitlines():
            if line.strip():
                self.on_line(f"#{n} {line.rstrip()}")
