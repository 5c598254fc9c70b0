"""Reading the engine's JSON progress streams of build, pull and push. Pure: no I/O.

Pipeline position: ``adapters/docker/`` feeds each decoded record of ``/build``,
``/images/create`` and ``/images/{name}/push`` to one of these readers. They pass readable lines
to the caller's output sink, remember what the error message needs (the last build step), and
turn an ``error`` record into ``OperationFailed`` naming the image (and, for builds, the service
and the step).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from stackup.core.errors import OperationFailed

_STEP = re.compile(r"^Step \d+/\d+ : ")
_BUILT = re.compile(r"^Successfully built ([0-9a-f]+)$")
_PROGRESS_EVERY = 1.0  # seconds between two progress lines of one layer


def _error(record: Mapping[str, Any]) -> str | None:
    detail = record.get("errorDetail")
    if isinstance(detail, Mapping) and detail.get("message"):
        return str(detail["message"]).strip()
    if record.get("error"):
        return str(record["error"]).strip()
    return None


class BuildStream:
    """Consumes ``/build`` records; ``image_id`` is known once the build succeeded."""

    def __init__(self, service_name: str, tag: str,
                 on_output: Callable[[str], None] | None = None) -> None:
        self.service_name, self.tag = service_name, tag
        self.on_output = on_output
        self.step: str | None = None  # the last "Step N/M : ..." line
        self.image_id: str | None = None
        self.lines: list[str] = []

    def feed(self, record: Mapping[str, Any]) -> None:
        message = _error(record)
        if message is not None:
            where = f" at {self.step}" if self.step else ""
            raise OperationFailed(
                f"cannot build image {self.tag} for service {self.service_name}{where}: "
                f"{message}")
        aux = record.get("aux")
        if isinstance(aux, Mapping) and aux.get("ID"):
            self.image_id = str(aux["ID"])
        text = record.get("stream")
        if not isinstance(text, str):
            return
        for raw in text.splitlines():
            line = raw.rstrip()
            if not line.strip():
                continue
            if _STEP.match(line):
                self.step = line
            built = _BUILT.match(line)
            if built and self.image_id is None:
                self.image_id = built.group(1)
            self.lines.append(line)
            if self.on_output is not None:
                self.on_output(line)


class TransferStream:
    """Consumes pull or push records (``verb`` is "pull" or "push"): one line per layer
    status change, download/upload progress at most once a second per layer."""

    def __init__(self, verb: str, ref: str, on_output: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.verb, self.ref, self.on_output, self.clock = verb, ref, on_output, clock
        self.digest: str | None = None
        self._last: dict[str, tuple[str, float]] = {}

    def feed(self, record: Mapping[str, Any]) -> None:
        message = _error(record)
        if message is not None:
            raise OperationFailed(f"cannot {self.verb} image {self.ref}: {message}")
        status = str(record.get("status") or "").strip()
        if not status:
            return
        if status.startswith("Digest: "):
            self.digest = status[len("Digest: "):]
        layer = str(record.get("id") or "")
        progress = str(record.get("progress") or "").strip()
        now = self.clock()
        seen = self._last.get(layer)
        if seen is not None and seen[0] == status and (not progress
                                                      or now - seen[1] < _PROGRESS_EVERY):
            return
        self._last[layer] = (status, now)
        line = f"{layer}: {status}" if layer else status
        if progress:
            line += f" {progress}"
        if self.on_output is not None:
            self.on_output(line)
