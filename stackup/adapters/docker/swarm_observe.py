"""Reading a swarm: one snapshot of a project's services, tasks and objects; service logs.

Pipeline position: the Swarm backend (``adapters.docker.swarm``) calls ``SwarmReader.observe``
once per run for ``swarm.reconcile``, ``tasks`` for ``ps`` and waits, ``logs`` for ``logs`` and
failure reports. Only objects whose labels say this project's Swarm backend made them
(``swarm.objects.owned``) are the project's; others are only looked up by name, as external.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from stackup.core import labels as L
from stackup.core.errors import EngineError, NotFound
from stackup.core.model import FrozenMap
from stackup.core.swarm_objects import CONFIG_KEY, IMAGE_ID, SECRET, owned
from stackup.core.swarm_observed import SwarmObject, SwarmObserved, SwarmService, SwarmTask

if TYPE_CHECKING:
    from stackup.adapters.docker.engine import DockerEngine

_SECTIONS = ("networks", "secrets", "configs", "volumes")


class SwarmReader:
    """Reads through an existing ``DockerEngine`` (its client and its error mapping)."""

    def __init__(self, engine: DockerEngine) -> None:
        self.engine = engine

    @property
    def api(self) -> Any:
        return self.engine.api

    def check_manager(self) -> int:
        """The number of nodes; fails when this engine is not a swarm manager."""
        with self.engine._call("cannot read the engine's swarm state"):
            info = self.api.info()
        swarm = info.get("Swarm") or {}
        if swarm.get("LocalNodeState") != "active":
            raise EngineError(
                "this Docker engine is not part of a swarm",
                detail="`docker swarm init` makes it a single-node swarm (or join one with "
                       "`docker swarm join`); or drop --target swarm to run on this engine.")
        if not swarm.get("ControlAvailable"):
            raise EngineError("this Docker engine is a swarm worker, not a manager",
                              detail="Point DOCKER_HOST (or the docker context) at a manager.")
        return int(swarm.get("Nodes") or 1)

    def observe(self, project_name: str, *, names: Mapping[str, Iterable[str]] | None = None,
                images: Iterable[str] = (), tasks: bool = False) -> SwarmObserved:
        """The project's snapshot. ``names`` (section → engine names) are looked up whatever
        their labels, for external references; ``images`` are looked up locally."""
        nodes = self.check_manager()
        label = {"label": L.project_filter(project_name)}
        with self.engine._call(f"cannot list the services of {project_name}"):
            raw_services = [s for s in self.api.services(filters=label)
                            if owned(s["Spec"].get("Labels"), project_name)]
        services = tuple(sorted((_service(s) for s in raw_services), key=lambda s: s.key))
        found: dict[str, tuple[SwarmObject, ...]] = {}
        for section in _SECTIONS:
            found[section] = tuple(sorted(
                (_object(section, o) for o in self._list(section, label)
                 if owned(_labels(section, o), project_name)), key=lambda o: o.name))
        external: dict[str, frozenset[str]] = {}
        for section, wanted in (names or {}).items():
            ours = {o.name for o in found[section]}
            external[section] = frozenset(n for n in sorted(set(wanted))
                                          if n not in ours and self._exists(section, n))
        image_ids = {ref: self.engine.image_id(ref) for ref in sorted(set(images))}
        task_list = self.tasks(services) if tasks else ()
        return SwarmObserved(project_name, nodes, services, task_list, found["networks"],
                             found["secrets"], found["configs"], found["volumes"],
                             FrozenMap(external), FrozenMap(image_ids))

    def _list(self, section: str, filters: dict[str, str]) -> list[dict[str, Any]]:
        with self.engine._call(f"cannot list {section}"):
            if section == "networks":
                return list(self.api.networks(filters=filters))
            if section == "secrets":
                return list(self.api.secrets(filters=filters))
            if section == "configs":
                return list(self.api.configs(filters=filters))
            return list((self.api.volumes(filters=filters) or {}).get("Volumes") or [])

    def _exists(self, section: str, name: str) -> bool:
        try:
            with self.engine._call(f"cannot look up {section[:-1]} {name}"):
                if section == "networks":
                    self.api.inspect_network(name)
                elif section == "volumes":
                    self.api.inspect_volume(name)
                else:
                    listed = (self.api.secrets if section == "secrets"
                              else self.api.configs)(filters={"name": name})
                    return any(o["Spec"]["Name"] == name for o in listed)
        except NotFound:
            return False
        return True

    def find(self, section: str, name: str) -> dict[str, Any] | None:
        """A secret or config by its exact name (None when there is none)."""
        with self.engine._call(f"cannot look up {section[:-1]} {name}"):
            listed = (self.api.secrets if section == "secrets"
                      else self.api.configs)(filters={"name": name})
        return next((o for o in listed if o["Spec"]["Name"] == name), None)

    def tasks(self, services: Iterable[SwarmService]) -> tuple[SwarmTask, ...]:
        """Every task of these services, sorted by service, slot, node and time."""
        keys = {s.service_id: s.key for s in services}
        if not keys:
            return ()
        with self.engine._call("cannot list tasks"):
            raw = self.api.tasks(filters={"service": list(keys)})
            nodes = {n["ID"]: (n.get("Description") or {}).get("Hostname") or n["ID"]
                     for n in self.api.nodes()}
        tasks = [_task(t, keys.get(t.get("ServiceID", ""), "?"), nodes) for t in raw]
        tasks.sort(key=lambda t: (t.service, t.slot or 0, t.node, t.updated_at))
        return tuple(tasks)

    def logs(self, service_id: str, *, follow: bool = False, tail: int | None = None,
             timestamps: bool = False) -> Iterator[tuple[str, bytes]]:
        """(task id, one line) of a service's tasks, as the engine streams them."""
        with self.engine._call(f"cannot read the logs of service {service_id}"):
            stream = self.api.service_logs(service_id, details=True, stdout=True, stderr=True,
                                           follow=follow, timestamps=timestamps,
                                           tail=tail if tail is not None else "all")
        pending = b""
        with self.engine._call(f"cannot read the logs of service {service_id}"):
            for chunk in stream:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield _task_line(line)
        if pending:
            yield _task_line(pending)


_DETAILS = re.compile(rb"^((?:[\w.]+=[^,\s]*,?)+) ")


def _task_line(line: bytes) -> tuple[str, bytes]:
    """``details`` prefix (``k=v,k=v ``) → (task id, the line without it)."""
    match = _DETAILS.match(line)
    if match is None:
        return "", line
    details = dict(item.split(b"=", 1) for item in match.group(1).split(b",") if b"=" in item)
    return details.get(b"com.docker.swarm.task.id", b"").decode(), line[match.end():]


def _labels(section: str, raw: dict[str, Any]) -> dict[str, str]:
    if section in ("secrets", "configs"):
        return dict(raw["Spec"].get("Labels") or {})
    return dict(raw.get("Labels") or {})


def _object(section: str, raw: dict[str, Any]) -> SwarmObject:
    labels = _labels(section, raw)
    if section in ("secrets", "configs"):
        key = labels.get(SECRET if section == "secrets" else CONFIG_KEY)
        return SwarmObject(raw["Spec"]["Name"], raw["ID"], key, FrozenMap(labels))
    key = labels.get(L.NETWORK if section == "networks" else L.VOLUME)
    return SwarmObject(raw["Name"], raw.get("Id") or raw["Name"], key, FrozenMap(labels),
                       raw.get("Driver"))


def _service(raw: dict[str, Any]) -> SwarmService:
    spec = raw["Spec"]
    labels = dict(spec.get("Labels") or {})
    container = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    replicated = (spec.get("Mode") or {}).get("Replicated")
    status = raw.get("UpdateStatus") or {}
    return SwarmService(
        name=spec["Name"], service_id=raw["ID"], version=int(raw["Version"]["Index"]),
        key=labels.get(L.SERVICE, spec["Name"]), labels=FrozenMap(labels),
        applied=labels.get(L.CONFIG), applied_hash=labels.get(L.CONFIG_HASH),
        replicas=replicated.get("Replicas") if replicated is not None else None,
        update_state=status.get("State"), update_message=status.get("Message") or "",
        secrets=tuple(s.get("SecretName") or "" for s in container.get("Secrets") or ()),
        configs=tuple(c.get("ConfigName") or "" for c in container.get("Configs") or ()),
        image=container.get("Image") or "",
        image_id=(container.get("Labels") or {}).get(IMAGE_ID))


def _task(raw: dict[str, Any], key: str, nodes: dict[str, str]) -> SwarmTask:
    status = raw.get("Status") or {}
    container = status.get("ContainerStatus") or {}
    ports = tuple(dict.fromkeys(  # the engine lists a port once per address family
        f"{p.get('PublishedPort', '')}->{p['TargetPort']}/{p.get('Protocol', 'tcp')}"
        for p in (status.get("PortStatus") or {}).get("Ports") or ()))
    return SwarmTask(
        task_id=raw["ID"], service=key, slot=raw.get("Slot"),
        node=nodes.get(raw.get("NodeID", ""), raw.get("NodeID", "")),
        state=status.get("State", ""), desired_state=raw.get("DesiredState", ""),
        error=status.get("Err") or "", message=status.get("Message") or "",
        image=((raw.get("Spec") or {}).get("ContainerSpec") or {}).get("Image", ""),
        exit_code=container.get("ExitCode"), container_id=container.get("ContainerID") or "",
        ports=ports, updated_at=raw.get("UpdatedAt") or "")
