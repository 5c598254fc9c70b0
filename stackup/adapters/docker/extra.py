"""Engine calls of the smaller commands: kill, pause, unpause, top, wait, stats, events, version,
the projects on the engine (``ls``), file copies (``cp``), image removal (``down --rmi``), and a
container to an image (``commit``) or to a tar (``export``).

Pipeline position: the CLI calls these directly after an ownership-checked observe (they are
single engine calls on containers the project already has, not plan operations). Calls that
change a container (kill, pause, unpause, put_archive, commit) refuse one without the project's
label.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import docker

from stackup.core import labels as L
from stackup.adapters.docker.containers import ContainerMixin
from stackup.core.errors import EngineError

if TYPE_CHECKING:  # ports.engine is imported by the calls that build these
    from stackup.ports.engine import ContainerSummary, ProjectSummary

_CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"


class ExtraMixin(ContainerMixin):
    """kill, pause, unpause, top, wait, stats, events, version, projects, archives, rmi,
    commit, export."""

    # --- containers of the project (ownership checked) ---------------------------------------

    def kill_container(self, project_name: str, container_id: str,
                       signal: str | None = None) -> None:
        name, _ = self._ours(project_name, container_id, "kill")
        with self._call(f"cannot kill container {name}"):
            self.api.kill(container_id, signal=signal or "SIGKILL")

    def pause_container(self, project_name: str, container_id: str) -> None:
        name, _ = self._ours(project_name, container_id, "pause")
        with self._call(f"cannot pause container {name}"):
            self.api.pause(container_id)

    def unpause_container(self, project_name: str, container_id: str) -> None:
        name, _ = self._ours(project_name, container_id, "unpause")
        with self._call(f"cannot unpause container {name}"):
            self.api.unpause(container_id)

    def put_archive(self, project_name: str, container_id: str, path: str,
                    data: bytes) -> None:
        """Extract the tar ``data`` into the directory ``path`` of the container."""
        name, _ = self._ours(project_name, container_id, "copy to")
        with self._call(f"cannot copy to {name}:{path}"):
            self.api.put_archive(container_id, path, data)

    def commit_container(self, project_name: str, container_id: str, *,
                         repository: str | None = None, tag: str | None = None,
                         author: str | None = None, message: str | None = None,
                         changes: tuple[str, ...] = (), pause: bool = True) -> str:
        """A new image from the container (refused for one not the project's); its id."""
        name, _ = self._ours(project_name, container_id, "commit")
        with self._call(f"cannot commit container {name}"):
            answer = self.api.commit(container_id, repository=repository, tag=tag,
                                     message=message, author=author, pause=pause,
                                     changes=list(changes) or None)
        return str(answer["Id"])

    # --- reads ------------------------------------------------------------------------------

    def export_container(self, container_id: str) -> Iterator[bytes]:
        """The container's filesystem as a tar stream."""
        what = f"cannot export container {container_id}"
        with self._call(what):
            stream = self.api.export(container_id, chunk_size=1 << 16)
        return self._guarded(stream, what)

    def top(self, container_id: str) -> tuple[list[str], list[list[str]]]:
        """(column titles, process rows) of ``ps`` inside the container."""
        with self._call(f"cannot list the processes of {container_id}"):
            found = self.api.top(container_id)
        return list(found.get("Titles") or []), [list(p) for p in found.get("Processes") or []]

    def wait_container(self, container_id: str) -> int:
        """Block until the container stops; its exit code."""
        with self._call(f"cannot wait for container {container_id}"):
            return int(self.api.wait(container_id, timeout=None).get("StatusCode", -1))

    def stats(self, container_id: str, *, stream: bool = True) -> Iterator[dict[str, Any]]:
        """Resource usage samples (one when not ``stream``), as the engine reports them."""
        with self._call(f"cannot read the stats of {container_id}"):
            found = self.api.stats(container_id, decode=True if stream else None, stream=stream)
        if not stream:
            yield found
            return
        with self._call(f"cannot read the stats of {container_id}"):
            yield from found

    def events(self, project_name: str, *, since: str | None = None,
               until: str | None = None) -> Iterator[dict[str, Any]]:
        """The engine's container events of the project's containers, as they happen."""
        filters = {"label": [L.project_filter(project_name)], "type": ["container"]}
        with self._call("cannot read the engine's events"):
            stream = self.api.events(since=since, until=until, filters=filters, decode=True)
        with self._call("cannot read the engine's events"):
            yield from stream

    def engine_version(self) -> dict[str, Any]:
        with self._call("cannot read the engine's version"):
            return dict(self.api.version())

    def list_projects(self, *, all_containers: bool = False) -> list[ProjectSummary]:
        """stackup's projects on the engine, from their containers' labels, sorted by name."""
        from stackup.ports.engine import ProjectSummary

        filters = {"label": [L.PROJECT]}
        with self._call("cannot list the engine's containers"):
            found = self.api.containers(all=True, filters=filters)
        states: dict[str, dict[str, int]] = {}
        files: dict[str, list[str]] = {}
        for raw in found:
            labels: Mapping[str, str] = raw.get("Labels") or {}
            name = labels.get(L.PROJECT, "")
            state = str(raw.get("State") or "unknown")
            counts = states.setdefault(name, {})
            counts[state] = counts.get(state, 0) + 1
            for item in (labels.get(_CONFIG_FILES_LABEL) or "").split(","):
                if item and item not in files.setdefault(name, []):
                    files[name].append(item)
        rows = []
        for name in sorted(states):
            counts = states[name]
            if not all_containers and not counts.get("running") and not counts.get("restarting"):
                continue
            rows.append(ProjectSummary(name, tuple(sorted(counts.items())),
                                       tuple(files.get(name, ()))))
        return rows

    def list_containers(self, project_name: str, *,
                        all_containers: bool = True) -> list[ContainerSummary]:
        """The project's containers as the engine lists them, sorted by service and number."""
        label = {"label": [L.project_filter(project_name)]}
        what = f"cannot list the containers of project {project_name}"
        with self._call(what):
            raw = self.api.containers(all=all_containers, filters=label)
        found = [summary_from_list(item) for item in raw or []]
        return sorted(found, key=lambda c: (c.service, c.oneoff, c.number, c.name))

    def all_containers(self) -> list[ContainerSummary]:
        """Every container on the engine (one list call), for preflight, sorted by name."""
        with self._call("cannot list the engine's containers"):
            raw = self.api.containers(all=True)
        return sorted((summary_from_list(item) for item in raw or []), key=lambda c: c.name)

    def stat_path(self, container_id: str, path: str) -> dict[str, Any] | None:
        """The engine's stat of ``path`` in the container (name, size, mode, linkTarget), or
        None when it does not exist."""
        answer = self.request("HEAD", f"/containers/{container_id}/archive",
                              what=f"cannot look at {container_id}:{path}", ok=(404,),
                              params={"path": path})
        if answer.status_code == 404:
            return None
        header = answer.headers.get("X-Docker-Container-Path-Stat") or ""
        import base64

        try:
            return dict(json.loads(base64.b64decode(header)))
        except ValueError as exc:
            raise EngineError(f"cannot look at {container_id}:{path}: unreadable stat "
                              f"header") from exc

    def get_archive(self, container_id: str, path: str) -> tuple[Iterator[bytes], dict[str, Any]]:
        """A tar stream of ``path`` in the container, and its stat."""
        with self._call(f"cannot copy from {container_id}:{path}"):
            stream, stat = self.api.get_archive(container_id, path, chunk_size=1 << 16)
        return self._guarded(stream, f"cannot copy from {container_id}:{path}"), dict(stat)

    def _guarded(self, stream: Iterator[bytes], what: str) -> Iterator[bytes]:
        with self._call(what):
            yield from stream

    # --- images ---------------------------------------------------------------------------

    def remove_image(self, ref: str) -> bool:
        """Remove an image by reference; False when the engine does not have it."""
        with self._call(f"cannot remove image {ref}"):
            try:
                self.api.remove_image(ref)
            except docker.errors.NotFound:
                return False
        return True



_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")
_EXITED = re.compile(r"Exited \((-?\d+)\)")


def summary_from_list(raw: Mapping[str, Any]) -> ContainerSummary:
    """One entry of the engine's container list → ``ContainerSummary``."""
    from stackup.ports.engine import ContainerSummary, PortBinding

    labels: Mapping[str, str] = raw.get("Labels") or {}
    status = str(raw.get("Status") or "")
    health = _HEALTH.search(status)
    exited = _EXITED.search(status)
    names = raw.get("Names") or []
    name = str(names[0]).lstrip("/") if names else str(raw.get("Id", ""))[:12]
    bindings = [PortBinding(int(p.get("PrivatePort") or 0), str(p.get("Type") or "tcp"),
                            str(p.get("IP") or ""), int(p.get("PublicPort") or 0))
                for p in raw.get("Ports") or []]
    ports = tuple(sorted(bindings, key=lambda p: (p.ip, p.protocol, p.private, p.public)))
    mounts = raw.get("Mounts") or []
    networks = (raw.get("NetworkSettings") or {}).get("Networks") or {}
    try:
        number = int(labels.get(L.NUMBER, "0"))
    except ValueError:
        number = 0
    return ContainerSummary(
        container_id=str(raw.get("Id", "")), name=name, project=labels.get(L.PROJECT, ""),
        service=labels.get(L.SERVICE, ""), number=number, image=str(raw.get("Image") or ""),
        command=str(raw.get("Command") or ""), created=float(raw.get("Created") or 0),
        state=str(raw.get("State") or ""), status=status,
        health=(health.group(1).replace("health: ", "") if health else ""),
        exit_code=int(exited.group(1)) if exited else 0, ports=ports,
        labels=tuple(sorted(labels.items())), networks=tuple(sorted(networks)),
        mounts=tuple(str(m.get("Name") or m.get("Source") or "") for m in mounts),
        local_volumes=sum(1 for m in mounts if m.get("Driver") == "local"),
        oneoff=labels.get(L.ONEOFF) == "True")
