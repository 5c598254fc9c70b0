"""Networks and volumes of ``up``: create what is missing, use what matches, refuse the rest.

Pipeline position: part of ``reconcile.up`` (a mixin of its planner). Pure. External networks
and volumes must exist; one of the project's that differs from the file, or that another
project or tool made, is a ``PlanError`` (never silently removed, recreated or adopted; Compose
only warns about a foreign one, stackup refuses so that ``down`` can never remove what ``up`` did
not create); a network the engine holds twice under one name (two racing creates) loses its
empty duplicate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stackup.core import labels
from stackup.core.errors import PlanError
from stackup.core.model import Network, Project, Volume
from stackup.core.observed import ObservedNetwork, ObservedState, ObservedVolume
from stackup.core.plan import Kind, Operation


class ResourcePlanner:
    """What ``_Up`` shares with these methods."""

    project: Project
    observed: ObservedState
    ops: list[Operation]
    notes: list[str]
    resource_ops: dict[str, str]

    # --- networks and volumes ---------------------------------------------------------------
    def _network(self, key: str) -> None:
        network = self.project.networks.get(key)
        if network is None:
            raise PlanError(f"network {key} is used by a service but not defined",
                            detail="Add it under the top-level `networks:` key.")
        seen = self.observed.networks.get(network.name)
        if network.external:
            if seen is None:
                raise PlanError(f"external network '{network.name}' not found",
                                detail=f"Create it first: `docker network create {network.name}`.")
            return
        if seen is None:
            op_id = f"create_network:{key}"
            self.ops.append(Operation(op_id, Kind.CREATE_NETWORK, "not found", network=network))
            self.resource_ops[f"network:{key}"] = op_id
            return
        self._check_owner("network", network.name, seen.project,
                          f"docker network rm {network.name}", seen.compose_made)
        self._duplicates(key, network)
        changes = _network_changes(network, seen)
        if changes:
            raise PlanError(
                f"network {network.name} differs from the stack file: {'; '.join(changes)}",
                detail="Run `stackup down` to remove the network (with the project's "
                       "containers), then `stackup up`; or revert the file.")

    def _duplicates(self, key: str, network: Network) -> None:
        """Remove the empty duplicates of a network that carry the project's label (by id);
        containers that use the network wait for that, as a name held twice is ambiguous."""
        after: tuple[str, ...] = ()
        for dup in self.observed.duplicate_networks:
            if dup.name != network.name:
                continue
            if dup.project != self.project.name or dup.containers:
                users = ", ".join(dup.containers) or "nothing"
                raise PlanError(
                    f"network {network.name} exists twice (ids {dup.kept_id[:12]} and "
                    f"{dup.network_id[:12]}), and the second is not an empty one of this project",
                    detail=f"The second is used by {users}. Run `stackup down`, then `stackup up`.")
            op_id = f"remove_network:{network.name}:{dup.network_id[:12]}"
            self.ops.append(Operation(op_id, Kind.REMOVE_NETWORK,
                                      f"duplicate of {dup.kept_id[:12]} (two creates raced)",
                                      depends_on=after, name=dup.network_id))
            self.notes.append(f"network {network.name} existed twice: removing the empty "
                              f"duplicate {dup.network_id[:12]}, keeping {dup.kept_id[:12]}")
            self.resource_ops[f"network:{key}"] = op_id
            after = (op_id,)

    def _volume(self, key: str) -> None:
        volume = self.project.volumes[key]
        seen = self.observed.volumes.get(volume.name)
        if volume.external:
            if seen is None:
                raise PlanError(f"external volume '{volume.name}' not found",
                                detail=f"Create it first: `docker volume create {volume.name}`.")
            return
        if seen is None:
            op_id = f"create_volume:{key}"
            self.ops.append(Operation(op_id, Kind.CREATE_VOLUME, "not found", volume=volume))
            self.resource_ops[f"volume:{key}"] = op_id
            return
        self._check_owner("volume", volume.name, seen.project, f"docker volume rm {volume.name}",
                          seen.compose_made)
        changes = _volume_changes(volume, seen)
        if changes:
            raise PlanError(
                f"volume {volume.name} differs from the stack file: {'; '.join(changes)}",
                detail=f"The volume holds data: back it up, then `docker volume rm "
                       f"{volume.name}`, or revert the file.")

    def _check_owner(self, what: str, name: str, owner: str | None, remove: str,
                     compose_made: bool = False) -> None:
        if owner == self.project.name:
            if compose_made:  # Compose's label for this project: reused in place, data and all
                self.notes.append(f"{what} {name} taken over from Docker Compose (project "
                                  f"{owner}): reused in place")
            return
        by = f"by project {owner}" if owner else "outside stackup"
        raise PlanError(
            f"{what} {name} exists and is not owned by project {self.project.name}",
            detail=f"It was created {by} (no {labels.PROJECT}={self.project.name} label). "
                   f"Declare it `external: true` to use it as is, or remove it: `{remove}`.")



def _user_labels(found: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in found.items()
            if not k.startswith((labels.PREFIX + ".", labels.COMPOSE_PREFIX + "."))}


def _compare(changes: list[str], what: str, wanted: Any, found: Any) -> None:
    if wanted != found:
        changes.append(f"{what}: file says {wanted!r}, engine has {found!r}")


def _network_changes(network: Network, seen: ObservedNetwork) -> list[str]:
    changes: list[str] = []
    _compare(changes, "driver", network.driver or "bridge", seen.driver)
    _compare(changes, "driver_opts", dict(network.driver_opts), dict(seen.options))
    _compare(changes, "internal", network.internal, seen.internal)
    _compare(changes, "labels", dict(network.labels), _user_labels(seen.labels))
    return changes


def _volume_changes(volume: Volume, seen: ObservedVolume) -> list[str]:
    changes: list[str] = []
    _compare(changes, "driver", volume.driver or "local", seen.driver)
    _compare(changes, "driver_opts", dict(volume.driver_opts), dict(seen.options))
    _compare(changes, "labels", dict(volume.labels), _user_labels(seen.labels))
    return changes
