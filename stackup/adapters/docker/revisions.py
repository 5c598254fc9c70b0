"""Revision records on the engine: one small labelled volume per revision of a project.

Pipeline position: the CLI's ``history`` / ``rollback`` and the recording after ``up`` call
these. Records live on the engine the project runs on, so every runner sharing it sees them.
They carry ``io.stackup.revision.project``, never the project's ownership label: observe and
``down -v`` never see them. Numbering is race-free because a volume create is create-or-get
under the engine's per-name lock: the caller compares the returned token with its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import docker

from stackup.adapters.docker.client import ClientBase
from stackup.core.errors import EngineError


class RevisionMixin(ClientBase):
    """create / list / remove revision records (volumes labelled ``io.stackup.revision.*``)."""

    def create_revision(self, project_name: str, number: int,
                        labels: Mapping[str, str]) -> dict[str, str]:
        """Create revision ``number`` or get the one already there; returns the labels the
        engine holds under that name (another runner's when it won the race)."""
        from stackup.ports import revisions as R

        name = R.volume_name(project_name, number)
        what = f"cannot record revision {number} of {project_name}"
        with self._call(what):
            found = self.api.create_volume(name, driver="local", labels=dict(labels))
        stored = dict((found or {}).get("Labels") or {})
        if stored.get(R.PROJECT) != project_name:
            raise EngineError(f"cannot record revision {number} of {project_name}: the volume "
                              f"{name} exists and is not a stackup revision record",
                              detail="Remove or rename that volume.")
        return stored

    def list_revisions(self, project_name: str) -> list[dict[str, str]]:
        """The label sets of the project's revision records, in no particular order."""
        from stackup.ports import revisions as R

        what = f"cannot list the revisions of {project_name}"
        query = {"filters": {"label": [f"{R.PROJECT}={project_name}"]}}
        with self._call(what):
            found = self.api.volumes(filters=query["filters"]) or {}
        return [dict(v.get("Labels") or {}) for v in found.get("Volumes") or []
                if (v.get("Labels") or {}).get(R.PROJECT) == project_name]

    def remove_revisions(self, project_name: str, numbers: Iterable[int]) -> None:
        """Remove these revision records (only volumes that are this project's records)."""
        from stackup.ports import revisions as R

        for number in numbers:
            name = R.volume_name(project_name, number)
            with self._call(f"cannot remove revision {number} of {project_name}"):
                try:
                    info = self.api.inspect_volume(name)
                except docker.errors.NotFound:
                    continue
                if (info.get("Labels") or {}).get(R.PROJECT) != project_name:
                    raise EngineError(f"refusing to remove volume {name}: it is not a revision "
                                      f"record of {project_name}")
                try:
                    self.api.remove_volume(name)
                except docker.errors.NotFound:
                    continue
