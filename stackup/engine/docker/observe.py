"""Observe: one snapshot of a project (containers, networks, volumes, image ids), and the
ownership check every change goes through.

Networks are keyed by id while observing: Engine 20.10 lets two racing creates give two networks
one name. Of such a pair the one containers use (else the oldest) is kept in
``ObservedState.networks``; the others go to ``ObservedState.duplicate_networks`` for ``up`` to
remove when empty.

Pipeline position: ``app`` calls ``observe`` once per run; reads go over the unix socket with the
standard library when they can (``unix_http``), so a no-op run never imports the SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

from stackup import labels as L
from stackup.engine.docker.client import ClientBase
from stackup.engine.resources import (
    container_from_inspect,
    container_from_list,
    network_from_engine,
    volume_from_engine,
)
from stackup.errors import (
    EngineError,
    NotFound,
)
from stackup.model import FrozenMap
from stackup.observed import DuplicateNetwork, ObservedContainer, ObservedState

_LATEST = datetime.max.replace(tzinfo=timezone.utc)


def _swarm_made(item: Any) -> bool:
    labels = item.get("Labels") or {}
    return bool(labels.get(L.TARGET))


class ObserveMixin(ClientBase):
    """Reads: observe, inspect, image ids; ``_owned`` refuses what is not the project's."""

    def observe(self, project_name: str, *, networks: Iterable[str] = (),
                volumes: Iterable[str] = (), images: Iterable[str] = (),
                all_containers: bool = True) -> ObservedState:
        what = f"cannot observe project {project_name}"
        raw_containers: dict[str, Any] = {}
        raw_networks: dict[str, Any] = {}
        raw_volumes: dict[str, Any] = {}
        refs = sorted(set(images))
        # stackup's label, then Docker Compose's: a project Compose created is taken over, and
        # containers made by stackup before it also wrote Compose's labels are still found.
        # The engine filters by one label value per list (several are ANDed), so each kind is
        # listed twice; over the socket these reads and the image inspects go at once.
        selectors = (L.project_filter(project_name), L.compose_filter(project_name))
        if self.reader is not None:
            reader = self.reader

            def lists(label: dict[str, list[str]]) -> list[Callable[[], Any]]:
                return [
                    lambda: reader.get("/containers/json", {
                        "all": "1" if all_containers else "0", "filters": label}, what=what),
                    lambda: reader.get("/networks", {"filters": label}, what=what),
                    lambda: (reader.get("/volumes", {"filters": label}, what=what) or {})
                    .get("Volumes") or []]
            found = reader.get_all([*(call for selector in selectors
                                      for call in lists({"label": [selector]})),
                                    *((lambda ref=ref: self.image_id(ref)) for ref in refs)])
            listed = [found[i:i + 3] for i in range(0, 3 * len(selectors), 3)]
            image_ids = dict(zip(refs, found[3 * len(selectors):]))
        else:
            listed = []
            for selector in selectors:
                label = {"label": [selector]}
                with self._call(what):
                    listed.append([
                        self.api.containers(all=all_containers, filters=label),
                        self.api.networks(filters=label),
                        (self.api.volumes(filters=label) or {}).get("Volumes") or []])
            image_ids = {ref: self.image_id(ref) for ref in refs}
        for found_containers, found_networks, found_volumes in listed:
            raw_containers.update((c["Id"], c) for c in found_containers)
            raw_networks.update((n["Id"], n) for n in found_networks)  # a name may be twice
            raw_volumes.update((v["Name"], v) for v in found_volumes)
        # a project deployed to a swarm from the same engine is the Swarm backend's, not ours
        for raw in (raw_containers, raw_networks, raw_volumes):
            for key in [k for k, item in raw.items() if _swarm_made(item)]:
                del raw[key]
        # the named networks and volumes the labels did not find (external ones, and those
        # of a project before its first up), by name
        missing_networks = sorted(set(networks) - {n["Name"] for n in raw_networks.values()})
        missing_volumes = sorted(set(volumes) - set(raw_volumes))
        lookups: list[Callable[[], Any]] = [
            *((lambda name=name: self._networks_named(name)) for name in missing_networks),
            *((lambda name=name: self._inspect_or_none("volume", name))
              for name in missing_volumes)]
        looked_up = self.reader.get_all(lookups) if self.reader is not None \
            else [lookup() for lookup in lookups]
        for named in looked_up[:len(missing_networks)]:
            raw_networks.update((n["Id"], n) for n in named)
        kept, duplicates = self._dedupe_networks(list(raw_networks.values()))
        for name, volume in zip(missing_volumes, looked_up[len(missing_networks):]):
            if volume is not None:
                raw_volumes[name] = volume
        containers = sorted((container_from_list(c) for c in raw_containers.values()),
                            key=lambda c: (c.service, c.number, c.name))
        for c in containers:
            if L.owner(c.labels)[0] == project_name:
                self._remember(project_name, c.container_id, c.name, c.labels)
        return ObservedState(
            project_name=project_name, containers=tuple(containers),
            networks=FrozenMap({n: network_from_engine(kept[n]) for n in sorted(kept)}),
            volumes=FrozenMap({v: volume_from_engine(raw_volumes[v])
                               for v in sorted(raw_volumes)}),
            images=FrozenMap(image_ids),
            duplicate_networks=duplicates)

    def _networks_named(self, name: str) -> list[dict[str, Any]]:
        """Every network called exactly ``name`` (the engine's name filter matches substrings;
        and there may be several: see the module docstring)."""
        what = f"cannot look up network {name}"
        params = {"filters": {"name": [name]}}
        if self.reader is not None:
            found = self.reader.get("/networks", params, what=what)
        else:
            with self._call(what):
                found = self.api.networks(names=[name])
        return [n for n in found or [] if n.get("Name") == name]

    def _dedupe_networks(self, raw: list[dict[str, Any]]
                         ) -> tuple[dict[str, dict[str, Any]], tuple[DuplicateNetwork, ...]]:
        """(name → the network kept under it, the other networks of the same names)."""
        by_name: dict[str, list[dict[str, Any]]] = {}
        for network in raw:
            by_name.setdefault(str(network["Name"]), []).append(network)
        kept: dict[str, dict[str, Any]] = {}
        duplicates: list[DuplicateNetwork] = []
        for name, group in by_name.items():
            if len(group) == 1:
                kept[name] = group[0]
                continue
            # the list does not say who is attached: inspect each (by id), keep the one in use
            from stackup.engine.lockspec import parse_time

            group = [self._inspect_or_none("network", str(n["Id"])) or n for n in group]
            group.sort(key=lambda n: (-len(n.get("Containers") or {}),
                                      parse_time(n.get("Created")) or _LATEST,
                                      str(n["Id"])))
            kept[name] = group[0]
            for extra in group[1:]:
                seen = network_from_engine(extra)
                users = tuple(sorted(str(c.get("Name") or cid[:12])
                                     for cid, c in (extra.get("Containers") or {}).items()))
                duplicates.append(DuplicateNetwork(name, seen.network_id, str(group[0]["Id"]),
                                                   seen.project, users))
        duplicates.sort(key=lambda d: (d.name, d.network_id))
        return kept, tuple(duplicates)

    def _inspect_or_none(self, kind: str, name: str) -> dict[str, Any] | None:
        try:
            if self.reader is not None:
                path = {"network": "/networks/{}", "volume": "/volumes/{}",
                        "image": "/images/{}/json", "container": "/containers/{}/json"}[kind]
                return self.reader.get(path.format(name), what=f"cannot inspect {kind} {name}")
            with self._call(f"cannot inspect {kind} {name}"):
                if kind == "network":
                    return self.api.inspect_network(name)
                if kind == "volume":
                    return self.api.inspect_volume(name)
                if kind == "image":
                    return self.api.inspect_image(name)
                return self.api.inspect_container(name)
        except NotFound:
            return None

    def inspect_container(self, container_id: str) -> ObservedContainer:
        what = f"cannot inspect container {container_id}"
        if self.reader is not None:
            return container_from_inspect(
                self.reader.get(f"/containers/{container_id}/json", what=what))
        with self._call(what):
            return container_from_inspect(self.api.inspect_container(container_id))

    def image_id(self, ref: str) -> str | None:
        found = self._inspect_or_none("image", ref)
        return None if found is None else str(found["Id"])

    # --- ownership ------------------------------------------------------------------------

    def _owned(self, project_name: str, kind: str, ref: str, verb: str) -> dict[str, Any]:
        """Inspect a resource and refuse unless it carries the project's label."""
        what = f"cannot {verb} {kind} {ref}"
        if self.reader is not None:
            path = {"container": "/containers/{}/json", "network": "/networks/{}",
                    "volume": "/volumes/{}"}[kind]
            info = self.reader.get(path.format(ref), what=what)
            labels = ((info.get("Config") or {}) if kind == "container" else info) \
                .get("Labels") or {}
        else:
            with self._call(what):
                if kind == "container":
                    info = self.api.inspect_container(ref)
                    labels = (info.get("Config") or {}).get("Labels") or {}
                elif kind == "network":
                    info = self.api.inspect_network(ref)
                    labels = info.get("Labels") or {}
                else:
                    info = self.api.inspect_volume(ref)
                    labels = info.get("Labels") or {}
        if L.owner(labels)[0] != project_name:  # stackup's label, or Compose's for the project
            name = str(info.get("Name") or ref).lstrip("/")
            raise EngineError(f"refusing to {verb} {name}: it does not belong to project "
                              f"{project_name}",
                              detail=f"the {kind} has neither {L.PROJECT}={project_name} nor "
                                     f"{L.COMPOSE_PROJECT}={project_name} label")
        return info

