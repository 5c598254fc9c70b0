"""Networks and volumes: create and remove, only ever the project's own.

Pipeline position: ``execute`` calls these for create/remove network and volume operations.
"""

from __future__ import annotations

from collections.abc import Callable

from stackup.adapters.docker.client import ClientBase
from stackup.adapters.docker.resource_specs import (
    network_create_args,
    network_create_body,
    volume_create_args,
)
from stackup.core import labels as L
from stackup.core.errors import (
    EngineError,
    NotFound,
    endpoints_miscounted,
)
from stackup.core.model import Network, Volume


class ResourceMixin(ClientBase):
    """Networks and volumes."""

    def create_network(self, project_name: str, network: Network) -> None:
        what = f"cannot create network {network.name}"
        args = network_create_args(project_name, network)
        if network.enable_ipv4 is False:  # the SDK has no argument for it: the API body
            from stackup.adapters.docker.container_extras import version_tuple

            if version_tuple(self.api_version) < (1, 47):
                raise EngineError(
                    f"networks.{network.key}.enable_ipv4 needs Docker engine API 1.47 or "
                    f"later; this engine speaks API {self.api_version}",
                    detail="Upgrade the Docker engine, or remove enable_ipv4: false.")
            self.request("POST", "/networks/create", what=what,
                         json={**network_create_body(args), "EnableIPv4": False})
            return
        with self._call(what):
            self.api.create_network(**args)

    def remove_network(self, project_name: str, name: str) -> None:
        """Remove the project's network ``name``: every network so named that carries the
        project's label (Engine 20.10 may have let two share the name), or, given a network id
        (a duplicate ``up`` removes), exactly that one. Each is addressed by id, as a name the
        engine has twice is ambiguous. Already gone is fine; one that is not the project's is
        refused, unless another of the same name is the project's (then it is left alone)."""
        targets = [str(n["Id"]) for n in self._networks_named(name)] or [name]
        owned: list[str] = []
        refusal: EngineError | None = None
        for network_id in targets:
            try:
                self._owned(project_name, "network", network_id, "remove")
            except NotFound:
                continue
            except EngineError as error:
                if "refusing" not in error.summary:
                    raise
                refusal = refusal or error
                continue
            owned.append(network_id)
        if not owned and refusal is not None:
            raise refusal
        for network_id in owned:
            shown = name if len(targets) == 1 else f"{name} ({network_id[:12]})"
            try:
                if not self._delete(f"/networks/{network_id}", f"cannot remove network {shown}",
                                    lambda: self.api.remove_network(network_id)):
                    continue
            except EngineError as error:
                if "active endpoints" not in error.summary:
                    raise
                raise self._network_in_use(project_name, shown, network_id, error) from error

    def _network_in_use(self, project_name: str, name: str, network_id: str,
                        error: EngineError) -> EngineError:
        """Say who still uses a network the engine refuses to remove: containers of the
        project (made since the plan was), or outside it, as their labels say."""
        info = self._inspect_or_none("network", network_id) or {}
        users = sorted((str(c.get("Name") or cid[:12]), cid)
                       for cid, c in (info.get("Containers") or {}).items())
        if not users:
            return endpoints_miscounted(error.summary, name)
        ours = [shown for shown, cid in users if L.owner(
            ((self._inspect_or_none("container", cid) or {}).get("Config") or {})
            .get("Labels") or {})[0] == project_name]
        outside = [shown for shown, _ in users if shown not in ours]
        said = [*([f"containers of the project still use it: {', '.join(ours)}"] if ours else []),
                *([f"containers outside the project still use it: {', '.join(outside)}"]
                  if outside else [])]
        return EngineError(f"cannot remove network {name}: {'; '.join(said)}",
                           detail="Disconnect or remove them, then run `stackup down` again.")

    def create_volume(self, project_name: str, volume: Volume) -> None:
        with self._call(f"cannot create volume {volume.name}"):
            self.api.create_volume(**volume_create_args(project_name, volume))

    def remove_volume(self, project_name: str, name: str) -> None:
        try:
            self._owned(project_name, "volume", name, "remove")
        except NotFound:
            return
        self._delete(f"/volumes/{name}", f"cannot remove volume {name}",
                     lambda: self.api.remove_volume(name))

    def _delete(self, path: str, what: str, sdk_call: Callable[[], object]) -> bool:
        """``sdk_call`` (a removal); False when the engine has nothing there any more."""
        try:
            with self._call(what):
                sdk_call()
        except NotFound:
            return False
        return True

