"""The body of ``POST /containers/create``, built as the Docker SDK builds it, without the SDK.

Pipeline position: inside the engine adapter. ``ContainerMixin.create_container`` sends a create
over the unix socket (``unix_http``) when there is one, so that an ``up`` that creates and
starts containers neither imports the SDK and ``requests`` (~0.1 s) nor pays their per-call
cost. ``container_config`` takes exactly the keywords of the SDK's ``ContainerConfig`` (what
``engine.container_spec.container_create_args`` produces) and gives the same dict, with the
``None`` values left out as the SDK's ``_post_json`` leaves them out; a test holds it to the SDK.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any


def container_config(image: str, command: str | list[str] | None, hostname: str | None = None,
                     user: str | int | None = None, detach: bool = False,
                     stdin_open: bool = False, tty: bool = False,
                     ports: list[Any] | Mapping[str, Any] | None = None,
                     environment: Mapping[str, Any] | list[str] | None = None,
                     volumes: str | list[str] | Mapping[str, Any] | None = None,
                     network_disabled: bool = False,
                     entrypoint: str | list[str] | None = None,
                     working_dir: str | None = None, domainname: str | None = None,
                     host_config: Mapping[str, Any] | None = None,
                     mac_address: str | None = None,
                     labels: Mapping[str, str] | list[str] | None = None,
                     stop_signal: str | None = None,
                     networking_config: Mapping[str, Any] | None = None,
                     healthcheck: Mapping[str, Any] | None = None,
                     stop_timeout: int | None = None,
                     runtime: str | None = None) -> dict[str, Any]:
    """The create body for these ``ContainerConfig`` keywords (API 1.41 and later), without
    ``None`` values: the same conversions as the SDK (a command string split like a shell, an
    environment dict as ``K=V`` lines, labels and ports given as lists, a healthcheck dict),
    tested against it."""
    if isinstance(command, str):
        command = shlex.split(command)
    if isinstance(entrypoint, str):
        entrypoint = shlex.split(entrypoint)
    if isinstance(environment, dict):
        environment = [_env_line(k, v) for k, v in environment.items()]
    if isinstance(labels, list):
        labels = {label: "" for label in labels}
    if isinstance(ports, list):
        exposed: dict[str, Any] = {}
        for definition in ports:
            port, proto = definition, "tcp"
            if isinstance(definition, tuple):
                if len(definition) == 2:
                    proto = definition[1]
                port = definition[0]
            exposed[f"{port}/{proto}"] = {}
        ports = exposed
    if isinstance(volumes, str):
        volumes = [volumes]
    if isinstance(volumes, list):
        volumes = {volume: {} for volume in volumes}
    if healthcheck and isinstance(healthcheck, dict):
        healthcheck = _healthcheck(healthcheck)
    attach = not detach
    body = {
        "Hostname": hostname, "Domainname": domainname, "ExposedPorts": ports,
        "User": str(user) if user is not None else None, "Tty": tty, "OpenStdin": stdin_open,
        "StdinOnce": attach and stdin_open, "AttachStdin": attach and stdin_open,
        "AttachStdout": attach, "AttachStderr": attach, "Env": environment, "Cmd": command,
        "Image": image, "Volumes": volumes, "NetworkDisabled": network_disabled,
        "Entrypoint": entrypoint, "WorkingDir": working_dir, "HostConfig": host_config,
        "NetworkingConfig": networking_config, "MacAddress": mac_address, "Labels": labels,
        "StopSignal": stop_signal, "Healthcheck": healthcheck, "StopTimeout": stop_timeout,
        "Runtime": runtime,
    }
    return {key: value for key, value in body.items() if value is not None}


def _env_line(key: str, value: Any) -> str:
    if value is None:
        return key
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    return f"{key}={value}"


def _healthcheck(given: Mapping[str, Any]) -> dict[str, Any]:
    """The SDK's ``Healthcheck`` of a dict: lower- or capitalised keys, a string test run by
    the shell, exactly five keys."""
    test = given.get("test", given.get("Test"))
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    return {"Test": test, "Interval": given.get("interval", given.get("Interval")),
            "Timeout": given.get("timeout", given.get("Timeout")),
            "Retries": given.get("retries", given.get("Retries")),
            "StartPeriod": given.get("start_period", given.get("StartPeriod"))}
