"""Attach and one-off containers: what ``run``, ``attach`` and attached ``up`` ask the engine.

Pipeline position: the CLI (through ``stackup.app.oneoff`` for ``run``) calls these directly; they
are not plan operations. ``create_oneoff`` builds its arguments with the pure
``container_create_args`` + ``adapters.docker.oneoff_spec``; ``attach_container`` returns the same
hijacked ``Session`` as ``exec_session`` (``streams``); ``watch_exit`` registers a wait with the
engine before the container starts, so that a fast exit (or an auto-removal) is never missed.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from stackup.core import labels as L
from stackup.adapters.docker.client import ClientBase
from stackup.adapters.docker.container_limits import discarded_limits
from stackup.adapters.docker.extra import ExtraMixin
from stackup.adapters.docker.files import deliver_files
from stackup.adapters.docker.streams import Channel, Hijacked
from stackup.adapters.docker.resource_specs import container_from_list
from stackup.adapters.docker.service_refs import engine_socket
from stackup.core.errors import EngineError, NotFound, StackupError
from stackup.core.model import Project, Service

if TYPE_CHECKING:  # the one-off modules are imported by `run`, when it creates one
    from stackup.ports.oneoff import OneoffOptions
    from stackup.ports.session import ExitWatch


class ExitWatchHandle:
    """A wait the engine has registered (its response headers arrived); ``result`` reads the
    exit code once the container exits (or, with ``removed``, is removed)."""

    def __init__(self, engine: ClientBase, container_id: str, response: Any) -> None:
        self._engine, self._container_id, self._response = engine, container_id, response
        self._code: int | None = None

    def result(self) -> int:
        if self._code is None:
            with self._engine._call(f"cannot wait for container {self._container_id}"):
                body = self._response.json()
            error = (body.get("Error") or {}).get("Message")
            if error:
                raise EngineError(f"cannot wait for container {self._container_id}: {error}")
            self._code = int(body.get("StatusCode", -1))
        return self._code


class AttachMixin(ExtraMixin):
    """One-off containers, attach, exit watches, TTY resize (waits from ``ExtraMixin``)."""

    def create_oneoff(self, project: Project, service: Service, *, name: str, image: str,
                      options: OneoffOptions) -> str:
        """Create (not start) a one-off container of ``service``, labelled ``oneoff``."""
        from stackup.adapters.docker.container_spec import container_create_args
        from stackup.adapters.docker.oneoff_spec import (
            oneoff_create_args,
            oneoff_networks,
            oneoff_service,
        )
        from stackup.core.hashing import config_hash

        runs = oneoff_service(service, options)
        digest, text = config_hash(project, runs)
        mode_container = None
        if runs.network_mode and runs.network_mode.startswith("service:"):
            mode_container = self._running_container(project.name, runs.network_mode[8:])
        args = container_create_args(project, runs, 1, name=name, config_hash=digest,
                                     config_json=text, image=image,
                                     network_mode_container=mode_container, oneoff=True,
                                     socket=engine_socket(self) if runs.use_api_socket else None)
        args, raw = oneoff_create_args(args, runs, name, options)
        healthcheck = args.pop("healthcheck", None)
        platform = args.pop("platform", None)
        args.pop("name")
        args.setdefault("command", None)
        with self._call(f"cannot create container {name}"):
            config = self.api.create_container_config(**args)
            config.update(raw)
            if healthcheck is not None:
                config["Healthcheck"] = healthcheck
            answer = self.api.create_container_from_config(config, name=name,
                                                           platform=platform)
            container_id = str(answer["Id"])
        self._remember(project.name, container_id, name, args["labels"])
        try:
            discarded = discarded_limits(runs, answer.get("Warnings"))
            if discarded:  # it would run without a limit the file sets, as ``up`` refuses
                raise EngineError(f"cannot create container {name}: the engine cannot apply "
                                  f"{discarded[0].partition(':')[0]}",
                                  detail="The engine said: " + "; ".join(
                                      d.partition(": ")[2] for d in discarded))
            for network_name, kwargs in oneoff_networks(project, runs, name, options):
                with self._call(f"cannot connect {name} to network {network_name}"):
                    self.api.connect_container_to_network(container_id, network_name, **kwargs)
            deliver_files(self, container_id, project, runs, name)
        except StackupError:
            with self._call(f"cannot remove half-created container {name}"):
                self.api.remove_container(container_id, force=True)
            raise
        return container_id

    def _running_container(self, project_name: str, service_name: str) -> str:
        """The container behind ``network_mode: service:<name>`` (running, lowest number)."""
        filters = {"label": [L.project_filter(project_name), f"{L.SERVICE}={service_name}"]}
        with self._call(f"cannot find the containers of service {service_name}"):
            found = [container_from_list(c) for c in self.api.containers(filters=filters)]
        found = sorted((c for c in found if not c.oneoff), key=lambda c: c.number)
        if not found:
            raise NotFound(f"service {service_name} has no running container to share its "
                           f"network with", detail=f"start it first: `stackup up -d "
                                                   f"{service_name}`")
        return found[0].container_id

    def watch_exit(self, container_id: str, *, removed: bool = False) -> ExitWatchHandle:
        """Register a wait now (before start): ``next-exit``, or ``removed`` for a container
        the engine removes itself (``--rm``); ``result()`` blocks for the exit code."""
        condition = "removed" if removed else "next-exit"
        response = self.request("POST", f"/containers/{container_id}/wait",
                                what=f"cannot wait for container {container_id}",
                                params={"condition": condition}, stream=True, timeout=None)
        return ExitWatchHandle(self, container_id, response)

    def attach_container(self, container_id: str, *, stdin: bool = True,
                         watch: ExitWatch | None = None,
                         detach_keys: str | None = None) -> Hijacked:
        """Attach to the container's main process (stdin too when ``stdin``); its exit code
        comes from ``watch`` when given, else from a wait once the output ended (0 when the
        container still runs then: detached with the detach keys)."""
        what = f"cannot attach to container {container_id}"
        with self._call(what):
            config = self.api.inspect_container(container_id).get("Config") or {}
            tty = bool(config.get("Tty"))
            params: dict[str, Any] = {"stdout": 1, "stderr": 1, "stream": 1,
                                      "stdin": 1 if stdin else 0}
            if detach_keys:
                params["detachKeys"] = detach_keys
            sock = self.api.attach_socket(container_id, params=params)

        def resize(height: int, width: int) -> None:
            self.resize_container(container_id, height, width)

        exit_code = watch.result if watch is not None else (
            lambda: self._attached_exit(container_id))
        # Without StdinOnce the engine ends the output when stdin ends: keep it open then.
        return Hijacked(Channel(sock), tty=tty, exit_code=exit_code, resize=resize,
                        half_close=bool(config.get("StdinOnce")))

    def _attached_exit(self, container_id: str) -> int:
        """The exit code once an attached stream ended: the container's, or 0 when it still
        runs a moment later (the detach keys ended the stream, not the process)."""
        deadline = time.monotonic() + 2
        while True:
            with self._call(f"cannot inspect container {container_id}"):
                state = self.api.inspect_container(container_id).get("State") or {}
            if not state.get("Running"):
                return int(self.wait_container(container_id))
            if time.monotonic() > deadline:
                return 0
            time.sleep(0.1)

    def resize_container(self, container_id: str, height: int, width: int) -> None:
        with self._call(f"cannot resize the TTY of container {container_id}"):
            self.api.resize(container_id, height=height, width=width)
