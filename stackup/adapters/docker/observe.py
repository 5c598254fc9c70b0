"""Observe: one snapshot of a project (containers, networks, volumes, image ids).

Networks are keyed by id while observing: Engine 20.10 lets two racing creates give two networks
one name. Of such a pair the one containers use (else the oldest) is kept in
``ObservedState.networks``; the others go to ``ObservedState.duplicate_networks`` for ``up`` to
remove when empty. A container attached to a network the engine no longer has (by id) is
reported with it in ``gone_networks``: it cannot start, and ``up`` replaces it.

Pipeline position: ``app`` calls ``observe`` once per run; every read is an SDK call.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

from stackup.core import labels as L
from stackup.adapters.docker.client import ClientBase
from stackup.adapters.docker.resource_specs import (
    container_from_inspect,
    container_from_list,
    network_from_engine,
    volume_from_engine,
)
from stackup.core.model import FrozenMap
from stackup.core.observed import DuplicateNetwork, ObservedContainer, ObservedState

_LATEST = datetime.max.replace(tzinfo=timezone.utc)
_LISTS = 5  # the label reads of ``observe`` (``_list_reads``)


def _swarm_made(item: Any) -> bool:
    labels = item.get("Labels") or {}
    return bool(labels.get(L.TARGET))


# the engine's own networks (network_mode bridge, host, none): always there, never looked up
_PREDEFINED = frozenset({"bridge", "host", "none"})


def _network_ids(raw: Any) -> dict[str, str]:
    """Network name → id ("" when the container never ran), of the networks a listed
    container is attached to."""
    attached = (raw.get("NetworkSettings") or {}).get("Networks") or {}
    return {str(name): str(info.get("NetworkID") or "") for name, info in attached.items()
            if name not in _PREDEFINED and isinstance(info, dict)}


def _with_gone(container: ObservedContainer, gone: tuple[str, ...]) -> ObservedContainer:
    return dataclasses.replace(container, gone_networks=gone) if gone else container


class ObserveMixin(ClientBase):
    """Reads: observe and inspect (the lookups shared with the other mixins are on
    ``ClientBase``)."""

    def observe(self, project_name: str, *, networks: Iterable[str] = (),
                volumes: Iterable[str] = (), images: Iterable[str] = (),
                all_containers: bool = True, pulled: Iterable[str] = ()) -> ObservedState:
        raw_containers: dict[str, Any] = {}
        raw_networks: dict[str, Any] = {}
        raw_volumes: dict[str, Any] = {}
        refs = sorted(set(images))
        images_read = [(lambda ref=ref: self.image_id(ref)) for ref in refs]
        found = self._read_all([*self._list_reads(project_name, all_containers), *images_read])
        lists, image_ids = found[:_LISTS], dict(zip(refs, found[_LISTS:]))
        found_containers, *found_resources = lists
        if any(L.COMPOSE_PROJECT not in (item.get("Labels") or {})
               for found in found_resources for item in found):
            # made by a build of stackup from before it wrote Compose's labels: its containers
            # have only stackup's label
            found_containers = [*found_containers,
                                *self._containers_labelled(L.project_filter(project_name),
                                                           all_containers)]
        raw_containers.update((c["Id"], c) for c in found_containers)
        for found in found_resources[0::2]:
            raw_networks.update((n["Id"], n) for n in found)  # a name may be twice
        for found in found_resources[1::2]:
            raw_volumes.update((v["Name"], v) for v in found)
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
        looked_up = self._read_all(lookups)
        for named in looked_up[:len(missing_networks)]:
            raw_networks.update((n["Id"], n) for n in named)
        kept, duplicates = self._dedupe_networks(list(raw_networks.values()))
        for name, volume in zip(missing_volumes, looked_up[len(missing_networks):]):
            if volume is not None:
                raw_volumes[name] = volume
        gone = self._gone_networks(raw_containers, raw_networks)
        containers = sorted((_with_gone(container_from_list(c), gone.get(c["Id"], ()))
                             for c in raw_containers.values()),
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
            duplicate_networks=duplicates,
            pulled_ago=FrozenMap(self._pulled_ago(sorted(set(pulled)))))

    def _pulled_ago(self, refs: list[str]) -> dict[str, float]:
        """Seconds since stackup last pulled each of ``refs`` on this engine (its record
        volume's label); refs without a record are left out."""
        out: dict[str, float] = {}
        now = time.time()
        for ref in refs:
            record = self._inspect_or_none("volume", L.pull_record_name(ref))
            labels = (record or {}).get("Labels") or {}
            try:
                if labels.get(L.PULLED_REF) == ref:
                    out[ref] = max(0.0, now - float(labels[L.PULLED_AT]))
            except (KeyError, ValueError):
                continue  # a record that cannot be read: as if never pulled
        return out

    def _gone_networks(self, raw_containers: dict[str, Any], raw_networks: dict[str, Any]
                       ) -> dict[str, tuple[str, ...]]:
        """Container id → the names of the networks it is attached to that the engine no
        longer has. A container that has run holds the id of each of its networks: a network
        removed while it was stopped is gone for it even once one is made again under the same
        name. One never started holds names only (its ids are empty): gone while no network has
        the name. When the label reads did not already find them all, one list of every
        network answers (none in the usual case)."""
        attached = {cid: _network_ids(raw) for cid, raw in raw_containers.items()}
        known_ids = set(raw_networks)
        known_names = {str(n.get("Name")) for n in raw_networks.values()}
        if all((nid in known_ids) if nid else (name in known_names)
               for ids in attached.values() for name, nid in ids.items()):
            return {}
        with self._call("cannot list the networks"):
            every = self.api.networks() or []
        ids = {str(n.get("Id")) for n in every}
        names = {str(n.get("Name")) for n in every}
        return {cid: gone for cid, found in attached.items()
                if (gone := tuple(sorted(name for name, nid in found.items()
                                         if (nid not in ids if nid else name not in names))))}

    def _read_all(self, reads: list[Callable[[], Any]]) -> list[Any]:
        """The reads' results, in order."""
        return [read() for read in reads]

    def _list_reads(self, project_name: str, all_containers: bool) -> list[Callable[[], Any]]:
        """The ``_LISTS`` label reads of ``observe``: containers, networks and volumes with
        Docker Compose's project label, which stackup writes on everything it creates too (so
        one list finds both a project Compose created and one of stackup's); then networks and
        volumes with stackup's own label, which are few and cheap to list, to notice a project
        made by a stackup from before it wrote Compose's labels (``observe``). The engine ANDs
        several label filters, so one list cannot ask for either label."""
        compose = L.compose_filter(project_name)
        own = L.project_filter(project_name)
        return [lambda: self._containers_labelled(compose, all_containers),
                lambda: self._labelled("networks", compose),
                lambda: self._labelled("volumes", compose),
                lambda: self._labelled("networks", own),
                lambda: self._labelled("volumes", own)]

    def _containers_labelled(self, selector: str, all_containers: bool) -> list[Any]:
        label = {"label": [selector]}
        what = f"cannot list the containers labelled {selector}"
        with self._call(what):
            return self.api.containers(all=all_containers, filters=label) or []

    def _labelled(self, kind: str, selector: str) -> list[Any]:
        """The networks or volumes labelled ``selector``."""
        label = {"label": [selector]}
        what = f"cannot list the {kind} labelled {selector}"
        with self._call(what):
            found = (self.api.networks if kind == "networks" else self.api.volumes)(
                filters=label)
        if kind == "volumes":
            return (found or {}).get("Volumes") or []
        return found or []

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
            from stackup.ports.lock import parse_time

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

    def inspect_container(self, container_id: str) -> ObservedContainer:
        what = f"cannot inspect container {container_id}"
        with self._call(what):
            return container_from_inspect(self.api.inspect_container(container_id))
