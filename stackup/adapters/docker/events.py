"""The engine's event stream for one project: its containers, networks and volumes.

Pipeline position: ``stackup drift`` reads it (through ``drift.event_from_engine``) to notice
drift as it happens. Container events carry the container's labels, so they are filtered by the
project label; network and volume events carry none, so those are matched by name here.
(``ExtraMixin.events`` serves the ``events`` command and sees containers only.)
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from stackup.core import labels as L
from stackup.adapters.docker.client import ClientBase

CONTAINER_ACTIONS = ("create", "start", "kill", "die", "stop", "destroy", "rename", "update",
                     "pause", "unpause", "oom")
RESOURCE_ACTIONS = ("destroy",)


class EventsMixin(ClientBase):
    """``project_events``: one stream, filtered for a project."""

    def project_events(self, project_name: str, *, networks: Collection[str] = (),
                       volumes: Collection[str] = (),
                       since: float | None = None) -> Iterator[dict[str, Any]]:
        """Raw engine events (``Type``, ``Action``, ``Actor``, ``timeNano``) of the project's
        containers and of the named networks and volumes, as they happen. Blocks; read it in
        a thread of its own. The names are looked up per event: a caller may update the
        collections it passed (after reloading the stack files)."""
        nets, vols = networks, volumes
        filters = {"type": ["container", "network", "volume"],
                   "event": sorted(set(CONTAINER_ACTIONS) | set(RESOURCE_ACTIONS))}
        what = f"cannot follow the engine's events for {project_name}"
        with self._call(what):
            stream = self.api.events(since=since, filters=filters, decode=True)
        with self._call(what):
            for event in stream:
                kind = event.get("Type")
                attributes = (event.get("Actor") or {}).get("Attributes") or {}
                if kind == "container":
                    if attributes.get(L.PROJECT) == project_name:
                        yield event
                elif kind == "network":
                    if attributes.get("name") in nets:
                        yield event
                elif kind == "volume" and (event.get("Actor") or {}).get("ID") in vols:
                    yield event
