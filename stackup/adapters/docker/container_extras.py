"""The container-create settings of the Compose keys stackup applies since issue 11, and the
engine API version each key needs. Pure: no I/O, no ``docker`` import.

Pipeline position: ``container_spec.container_create_args`` (which the engine adapter calls to
create a container) adds these to the engine's ``HostConfig`` and endpoint settings:
``links`` and ``external_links`` (legacy links: the linked container is reachable by the alias),
``volumes_from``, ``gpus`` and ``deploy.resources.reservations.devices`` (``DeviceRequests``),
``runtime``, ``userns_mode``, ``cgroup_parent``, ``cpuset``, ``oom_score_adj``, and per network
``driver_opts``, ``interface_name`` and ``gw_priority``. What the adapter must look up first
(the containers of linked services) comes in as ``linked``: service name → its container names,
the one to use first.

``api_requirements`` lists the keys of a service that an older engine would silently ignore,
with the API version they need; ``check_api`` turns one the negotiated version lacks into an
error naming the key, the version needed and the engine's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stackup.core.errors import EngineError
from stackup.core.model import DeviceRequest, Service, ServiceNetwork

IFNAME_OPTION = "com.docker.network.endpoint.ifname"


def version_tuple(version: str) -> tuple[int, ...]:
    """``"1.41"`` → ``(1, 41)``; anything unparsable sorts first."""
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (0,)


def api_requirements(service: Service) -> list[tuple[str, str]]:
    """(key path, API version needed) for the keys of ``service`` that need a newer engine
    than API 1.41 (Docker 20.10), in file order."""
    path = f"services.{service.name}"
    out: list[tuple[str, str]] = []
    check = service.healthcheck
    if check is not None and not check.disable and check.start_interval is not None:
        out.append((f"{path}.healthcheck.start_interval", "1.44"))
    for i, mount in enumerate(service.volumes):
        if mount.subpath:
            out.append((f"{path}.volumes[{i}].volume.subpath", "1.45"))
        if mount.type == "image":
            out.append((f"{path}.volumes[{i}].type: image", "1.48"))
    if service.annotations:
        out.append((f"{path}.annotations", "1.43"))
    for attachment in service.networks:
        sub = f"{path}.networks.{attachment.name}"
        if attachment.gw_priority:
            out.append((f"{sub}.gw_priority", "1.48"))
        if attachment.interface_name:
            out.append((f"{sub}.interface_name", "1.49"))
    return out


def check_api(service: Service, api_version: str) -> None:
    """Refuse a key the engine's API version would ignore (``EngineError`` naming it)."""
    have = version_tuple(api_version)
    for key, needed in api_requirements(service):
        if version_tuple(needed) > have:
            raise EngineError(
                f"{key} needs Docker engine API {needed} or later; this engine speaks API "
                f"{api_version}",
                detail=f"Upgrade the Docker engine of service {service.name}, or remove the key.")


def device_request(request: DeviceRequest) -> dict[str, Any]:
    """One engine ``DeviceRequest`` (GPUs and other devices the engine's drivers offer)."""
    out: dict[str, Any] = {"Driver": request.driver or "",
                           "Capabilities": [list(request.capabilities)]}
    if request.device_ids:
        out["DeviceIDs"] = list(request.device_ids)
    else:
        out["Count"] = request.count if request.count is not None else -1
    if request.options:
        out["Options"] = dict(request.options)
    return out


def service_links(service: Service, linked: Mapping[str, Sequence[str]]) -> list[str]:
    """``container:alias`` entries: each container of a linked service under the link's alias
    and its own name (as Compose does), then ``external_links`` as written."""
    out: list[str] = []
    for link in service.links:
        target, _, alias = link.partition(":")
        for name in linked.get(target, ()):
            out.extend([f"{name}:{alias or target}", f"{name}:{name}"])
    for link in service.external_links:
        target, _, alias = link.partition(":")
        out.append(f"{target}:{alias or target}")
    return list(dict.fromkeys(out))


def volumes_from(service: Service, linked: Mapping[str, Sequence[str]]) -> list[str]:
    """``VolumesFrom`` entries: the first container of a service, or a named container, with
    ``:ro``/``:rw`` kept. A service without a container is an error naming both services."""
    out: list[str] = []
    for entry in service.volumes_from:
        head, _, rest = entry.partition(":")
        if head == "container":
            out.append(rest)
            continue
        found = linked.get(head, ())
        if not found:
            raise EngineError(f"service {service.name} cannot mount the volumes of service "
                              f"{head}: it has no container",
                              detail=f"create {head} first (volumes_from: {entry})")
        out.append(f"{found[0]}:{rest}" if rest else found[0])
    return out


def host_extras(service: Service, linked: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The ``HostConfig`` entries of the keys this module covers."""
    host: dict[str, Any] = {}
    links = service_links(service, linked)
    if links:
        host["Links"] = links
    shared = volumes_from(service, linked)
    if shared:
        host["VolumesFrom"] = shared
    for key, mode in (("IpcMode", service.ipc), ("PidMode", service.pid)):
        if mode and mode.startswith("service:"):  # the engine knows containers, not services
            found = linked.get(mode[8:], ())
            if not found:
                raise EngineError(f"service {service.name} cannot join the {key[:3].lower()} "
                                  f"namespace of service {mode[8:]}: it has no container",
                                  detail=f"create {mode[8:]} first ({key[:3].lower()}: {mode})")
            host[key] = f"container:{found[0]}"
    for key, value in (("Runtime", service.runtime), ("UsernsMode", service.userns_mode),
                       ("CgroupParent", service.cgroup_parent),
                       ("CpusetCpus", service.cpuset), ("OomScoreAdj", service.oom_score_adj)):
        if value is not None:
            host[key] = value
    reservations = service.deploy.reservations if service.deploy else None
    requests = [*service.gpus, *(reservations.devices if reservations else ())]
    if requests:
        host["DeviceRequests"] = [device_request(r) for r in requests]
    return host


def endpoint_extras(attachment: ServiceNetwork) -> dict[str, Any]:
    """An endpoint's ``DriverOpts`` (``interface_name`` becomes the ifname option, as in
    Compose) and ``GwPriority``."""
    out: dict[str, Any] = {}
    options = dict(attachment.driver_opts)
    if attachment.interface_name:
        options[IFNAME_OPTION] = attachment.interface_name
    if options:
        out["DriverOpts"] = options
    if attachment.gw_priority:
        out["GwPriority"] = attachment.gw_priority
    return out
