"""What a service's parsers know about the rest of the project while one service is parsed.

Pipeline position: ``loader.parse`` makes one ``Context`` per project; ``parse_service`` and
``parse_wiring`` read it (references are checked against its names, paths made absolute).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stackup.core.errors import Location
from stackup.core.model import FileObject


@dataclass(slots=True)
class Context:
    """What a service parser needs to know about the rest of the project."""

    working_dir: str
    environ: Mapping[str, str]
    warnings: list[str]
    networks: frozenset[str] = frozenset()
    volumes: frozenset[str] = frozenset()
    secrets: frozenset[str] = frozenset()
    configs: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()
    env_cache: dict[str, str] = field(default_factory=dict)  # env_file path → its text
    secret_objects: Mapping[str, FileObject] = field(default_factory=dict)  # for build secrets
    service_loc: Location | None = None  # where the service being parsed is named

    def path(self, raw: str) -> str:
        """A host path from the file → absolute, normalised."""
        if raw.startswith("~"):
            home = self.environ.get("HOME") or self.environ.get("USERPROFILE") or "~"
            raw = home + raw[1:]
        return os.path.normpath(os.path.join(self.working_dir, raw))


Handler = Callable[[Any, str, str, Context], Any]
