"""Container output as Compose prints it: ``<service>-<n>  | line``, a colour per service.

Pipeline position: the CLI's rendering of log streams, shared by ``logs`` and attached ``up``
(``cli/attach.py``). Colour only on a terminal, never with ``--no-color``, ``NO_COLOR`` or
``COMPOSE_ANSI=never`` (``always`` forces it). Also here: the ``--since``/``--until`` values.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import TextIO

# Compose's order: cyan, yellow, green, magenta, blue, then their bright forms.
COLORS = ("36", "33", "32", "35", "34", "36;1", "33;1", "32;1", "35;1", "34;1")


def use_color(no_color: bool = False, environ: Mapping[str, str] | None = None,
              isatty: bool | None = None) -> bool:
    env = os.environ if environ is None else environ
    ansi = (env.get("COMPOSE_ANSI") or "auto").lower()
    if no_color or ansi == "never":
        return False
    if ansi == "always":
        return True
    return (sys.stdout.isatty() if isatty is None else isatty) and not env.get("NO_COLOR")


def paint(code: str | None, text: str) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if code else text


class LogPrinter:
    """Whole lines to stdout, prefixed per container; safe to call from several threads."""

    def __init__(self, names: Iterable[tuple[str, str]], *, color: bool, prefix: bool = True,
                 stream: TextIO | None = None) -> None:
        """``names``: (container label like ``web-1``, service name), in display order."""
        pairs = list(names)
        width = max((len(label) for label, _ in pairs), default=0) + 1
        services: dict[str, str] = {}
        for _, service in pairs:
            services.setdefault(service, COLORS[len(services) % len(COLORS)])
        self.colors = {label: services[service] if color else None for label, service in pairs}
        self.prefixes = {label: paint(self.colors[label], f"{label:<{width}} | ") if prefix
                         else "" for label, _ in pairs}
        self.stream = stream or sys.stdout
        self.lock = threading.Lock()

    def lines(self, label: str, lines: Iterable[str]) -> None:
        prefix = self.prefixes.get(label, "")
        text = "".join(f"{prefix}{line}\n" for line in lines)
        if text:
            with self.lock:
                self.stream.write(text)
                self.stream.flush()

    def status(self, label: str, message: str) -> None:
        with self.lock:
            self.stream.write(paint(self.colors.get(label), f"{label} {message}") + "\n")
            self.stream.flush()


def split_lines(chunks: Iterable[bytes]) -> Iterator[list[str]]:
    """Raw output chunks → batches of complete lines (a last partial line at the end)."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        if complete:
            yield [line.decode("utf-8", "replace").removesuffix("\r") for line in complete]
    if pending:
        yield [pending.decode("utf-8", "replace")]


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
TIME_HELP = ("a timestamp (2024-01-02T15:04:05Z, 2024-01-02, a unix time) or a duration back "
             "from now (42m, 1h30m)")


def parse_time(value: str, now: float) -> float:
    """``--since``/``--until`` as the docker CLI reads them → a unix time."""
    text = value.strip()
    if text and _DURATION_PART.sub("", text) == "" and _DURATION_PART.match(text):
        return now - sum(float(n) * _SECONDS[u] for n, u in _DURATION_PART.findall(text))
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"expected {TIME_HELP}, found {value!r}") from None
    return moment.timestamp()  # without a zone: local time, as docker reads it
