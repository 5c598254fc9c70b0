"""What creating a container must look up in the engine besides the plan: the containers of the
services it links to or takes volumes from, and the negotiated API version.

Pipeline position: ``ContainerMixin.create_container`` passes ``create_extras(...)`` on to the
pure ``container_spec.container_create_args`` (``linked`` and ``api_version``); nothing is
looked up for a service without ``links`` or ``volumes_from``.
"""

from __future__ import annotations

from typing import Any

from stackup.core import labels as L
from stackup.adapters.docker.client import ClientBase
from stackup.adapters.docker.container_limits import windows_only
from stackup.adapters.docker.resource_specs import container_from_list
from stackup.core.errors import NotFound
from stackup.core.model import Service


def linked_services(service: Service) -> list[str]:
    """The services whose containers ``links``, ``volumes_from`` and ``ipc``/``pid:
    service:x`` name."""
    names = [link.partition(":")[0] for link in service.links]
    names += [v.partition(":")[0] for v in service.volumes_from if not v.startswith("container:")]
    names += [m[8:] for m in (service.ipc, service.pid) if m and m.startswith("service:")]
    return list(dict.fromkeys(names))


def service_containers(client: ClientBase, project_name: str,
                       service_name: str) -> tuple[str, ...]:
    """The names of a service's containers (not one-off), running first, then by number."""
    filters = {"label": [L.project_filter(project_name), f"{L.SERVICE}={service_name}"]}
    what = f"cannot find the containers of service {service_name}"
    with client._call(what):
        raw = client.api.containers(all=True, filters=filters)
    found = [c for c in (container_from_list(r) for r in raw) if not c.oneoff]
    found.sort(key=lambda c: (not c.running, c.number, c.name))
    return tuple(c.name for c in found)


def image_volumes(client: ClientBase, image: str) -> tuple[str, ...]:
    """The paths the image declares with ``VOLUME`` (none when it cannot be inspected: the
    create then fails on the image itself, naming it)."""
    what = f"cannot inspect image {image}"
    try:
        with client._call(what):
            info = client.api.inspect_image(image)
    except NotFound:
        return ()
    return tuple(sorted(((info or {}).get("Config") or {}).get("Volumes") or {}))


def engine_socket(client: ClientBase) -> str | None:
    """The path of the engine's unix socket on this machine (``use_api_socket`` mounts it),
    None for an engine reached over tcp or ssh."""
    url = client.base_url
    return url[len("unix://"):] if url.startswith("unix://") else None


def create_extras(client: ClientBase, project_name: str, service: Service,
                  image: str = "") -> dict[str, Any]:
    """Keyword arguments for ``container_create_args``: ``linked`` (service → container names),
    ``api_version`` (a key the engine is too old for is refused there, naming it) and
    ``image_volumes`` (so that the anonymous volumes the image declares carry the project's
    labels); for the services that use them, ``socket`` (``use_api_socket``) and
    ``engine_os`` (the Windows-only keys)."""
    linked = {name: service_containers(client, project_name, name)
              for name in linked_services(service)}
    out: dict[str, Any] = {"linked": linked, "api_version": client.api_version,
                           "image_volumes": image_volumes(client, image) if image else ()}
    if service.use_api_socket:
        out["socket"] = engine_socket(client)
    if windows_only(service):
        with client._call("cannot read the engine's version"):
            out["engine_os"] = str(client.api.version().get("Os") or "linux")
    return out
