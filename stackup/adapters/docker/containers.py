"""Containers: create, start, stop, restart, remove, rename; one engine call per plan
operation, each refusing a container without the project's label.

Pipeline position: ``execute`` calls one of these per container operation of a plan; each is
one SDK call (the create body is the SDK's own ``create_container_config``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import docker

from stackup.adapters.docker.client import ClientBase
from stackup.adapters.docker.files import deliver_files
from stackup.adapters.docker.hooks import run_hooks
from stackup.adapters.docker.resource_specs import (
    container_name,
)
from stackup.core.errors import (
    EngineError,
    NotFound,
    StackupError,
)
from stackup.core.model import Project, Service


class ContainerMixin(ClientBase):
    """Container operations."""

    def create_container(self, project: Project, service: Service, number: int, *,
                         name: str, config_hash: str, config_json: str, image: str,
                         anonymous_volumes: Mapping[str, str] | None = None,
                         network_mode_container: str | None = None,
                         hidden: bool = False) -> str:
        """Create (not start). Every value comes from the plan: the anonymous volumes taken
        over from a replaced container, the container ``network_mode: service:x`` joins,
        whether the service's DNS aliases wait (``hidden``) for ``connect_network``."""
        from stackup.adapters.docker.container_limits import discarded_limits
        from stackup.adapters.docker.container_spec import container_create_args, extra_networks
        from stackup.adapters.docker.service_refs import create_extras

        mode_container = network_mode_container
        anonymous = dict(anonymous_volumes or {})
        args = container_create_args(
            project, service, number, name=name, config_hash=config_hash,
            config_json=config_json, image=image, network_mode_container=mode_container,
            anonymous_volumes=anonymous, **create_extras(self, project.name, service, image))
        if hidden:
            for endpoint in (args.get("networking_config") or {}).get("EndpointsConfig",
                                                                        {}).values():
                endpoint["Aliases"] = []
        healthcheck = args.pop("healthcheck", None)
        create_name = args.pop("name")
        platform = args.pop("platform", None)
        args.setdefault("command", None)  # the SDK requires it; None keeps the image's CMD
        what = f"cannot create container {name}"
        with self._call(what):
            config = self.api.create_container_config(**args)
            if healthcheck is not None:
                config["Healthcheck"] = healthcheck
            answer = self.api.create_container_from_config(config, name=create_name,
                                                           platform=platform)
            container_id = str(answer["Id"])
        self._remember(project.name, container_id, name, args["labels"])
        discarded = discarded_limits(service, answer.get("Warnings"))
        if discarded:  # it would run without a limit the file sets: not made, as in an error
            with self._call(f"cannot remove half-created container {name}"):
                self.api.remove_container(container_id, force=True)
            raise EngineError(f"cannot create container {name}: the engine cannot apply "
                              f"{discarded[0].partition(':')[0]}",
                              detail="The engine said: " + "; ".join(
                                  d.partition(": ")[2] for d in discarded)
                              + "\nRemove the key, or run on an engine whose kernel has it.")
        try:
            for network_name, kwargs in extra_networks(project, service):
                if hidden:
                    kwargs = {**kwargs, "aliases": None}
                with self._call(f"cannot connect {name} to network {network_name}"):
                    self.api.connect_container_to_network(container_id, network_name, **kwargs)
        except StackupError:
            with self._call(f"cannot remove half-created container {name}"):
                self.api.remove_container(container_id, force=True)
            raise
        deliver_files(self, container_id, project, service, name)  # secrets, configs
        return container_id

    def _ours(self, project_name: str, container_id: str,
              verb: str) -> tuple[str, tuple[str, ...]]:
        """(name, carried anonymous volumes) of a container of the project; refuses others.

        One inspect the first time a container is met; none for containers already seen with
        the label (observed or created here): labels never change, ids are never reused."""
        known = self._mine.get((project_name, container_id))
        if known is None:
            info = self._owned(project_name, "container", container_id, verb)
            labels = (info.get("Config") or {}).get("Labels") or {}
            self._remember(project_name, container_id, container_name(info), labels)
            known = self._mine[(project_name, container_id)]
        return known

    def start_container(self, project_name: str, container_id: str) -> None:
        name, _ = self._ours(project_name, container_id, "start")
        self._start(container_id, f"cannot start container {name}")

    def _start(self, container_id: str, what: str) -> None:
        with self._call(what):
            self.api.start(container_id)

    def _stop(self, container_id: str, timeout: float | None, what: str) -> None:
        """Stop (``timeout``: whole seconds, else the container's own StopTimeout); the SDK
        waits for the answer its timeout plus the stop timeout. Then an inspect: the engine
        answers the stop once the process has exited and releases the container's network
        afterwards, holding the container, which an inspect waits for (so the stop is over
        when this returns; the executor's turns and its pacing of endpoint changes rely on
        it)."""
        seconds = _seconds(timeout)
        with self._call(what):
            self.api.stop(container_id, timeout=seconds)
            self.api.inspect_container(container_id)

    def stop_container(self, project_name: str, container_id: str,
                       timeout: float | None = None) -> None:
        """Without ``timeout`` the engine applies the container's own StopTimeout."""
        name, _ = self._ours(project_name, container_id, "stop")
        self._stop(container_id, timeout, f"cannot stop container {name}")

    def restart_container(self, project_name: str, container_id: str,
                          timeout: float | None = None) -> None:
        name, _ = self._ours(project_name, container_id, "restart")
        what = f"cannot restart container {name}"
        self._stop(container_id, timeout, what)
        self._start(container_id, what)

    def remove_container(self, project_name: str, container_id: str, *,
                         volumes: bool = False, force: bool = False,
                         timeout: float | None = None) -> None:
        """Remove a stopped container (``force``: also one that started again since the plan
        stopped it). Already gone is fine. With ``volumes``, also the anonymous volumes it
        carried over from a container it replaced (the engine's own ``v`` removes only those it
        created for this one)."""
        try:
            name, carried = self._ours(project_name, container_id, "remove")
        except NotFound:
            return
        what = f"cannot remove container {name}"
        with self._call(what):
            try:
                self.api.remove_container(container_id, v=volumes, force=force)
            except docker.errors.NotFound:
                return
        self._forget(project_name, container_id, name)
        for volume in carried if volumes else ():
            try:
                self.api.remove_volume(volume)
            except docker.errors.APIError:
                continue

    def rename_container(self, project_name: str, container_id: str, name: str) -> None:
        old, carried = self._ours(project_name, container_id, "rename")
        if old == name:
            return  # already there (a rerun after an interrupted replacement)
        what = f"cannot rename container {old} to {name}"
        with self._call(what):
            self.api.rename(container_id, name)
        self._mine.pop((project_name, old), None)
        self._mine[(project_name, container_id)] = (name, carried)
        self._mine[(project_name, name)] = (name, carried)


    def disconnect_network(self, project_name: str, container_id: str, network: str) -> None:
        """Take the container off a network (its DNS names there go at once)."""
        name, _ = self._ours(project_name, container_id, "disconnect")
        with self._call(f"cannot disconnect {name} from network {network}"):
            try:
                self.api.disconnect_container_from_network(container_id, network)
            except docker.errors.APIError as exc:
                if "is not connected" not in str(exc.explanation or exc):
                    raise

    def connect_network(self, project: Project, container_id: str, service: Service,
                        key: str) -> None:
        """Attach the container to one of its service's networks, aliases as at create (a
        container already attached keeps its attachment: disconnect it first)."""
        name, _ = self._ours(project.name, container_id, "connect")
        from stackup.adapters.docker.container_spec import connect_args

        network, kwargs = connect_args(project, service, key)
        with self._call(f"cannot connect {name} to network {network}"):
            try:
                self.api.connect_container_to_network(container_id, network, **kwargs)
            except docker.errors.APIError as exc:
                if "already exists" not in str(exc.explanation or exc):
                    raise

    def run_hook(self, project_name: str, container_id: str, service: Service, kind: str, *,
                 on_output: Callable[[str], None] | None = None) -> None:
        """The service's ``post_start`` or ``pre_stop`` hooks, exec'd in the container in
        order (``adapters.docker.hooks``)."""
        run_hooks(self, project_name, container_id, service, kind, on_output=on_output)


def _seconds(timeout: float | None) -> int | None:
    """A stop timeout for the engine (whole seconds), or None for the container's own."""
    return None if timeout is None else max(0, math.ceil(timeout))
