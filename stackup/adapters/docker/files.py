"""Deliver a service's secrets and configs into a new container through the engine API.

Pipeline position: ``ContainerMixin.create_container`` calls ``deliver_files`` right after the
engine created the container and before anything starts it, as Docker Compose does: the files
travel in a tar (``PUT /containers/{id}/archive``, ``adapters.docker.file_specs``), so they work the same with
a remote ``DOCKER_HOST`` and never touch the runner's disk, a bind mount, a label or ``docker
inspect``. If delivery fails, the half-made container is removed and the error names the service,
the file and the engine's reason.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from stackup.adapters.docker.client import ClientBase
from stackup.adapters.docker.resource_specs import FileDelivery, file_deliveries
from stackup.core.errors import EngineError, StackupError
from stackup.core.model import Project, Service

if TYPE_CHECKING:  # adapters.docker.file_specs (tarfile) is imported when a container is created
    from stackup.adapters.docker.file_specs import Payload


def deliver_files(client: ClientBase, container_id: str, project: Project, service: Service,
                  name: str) -> None:
    """Copy the service's secret and config files into the created container ``name`` (and,
    for ``use_api_socket``, the docker CLI configuration with the user's registry
    credentials)."""
    deliveries = file_deliveries(project, service)
    if service.use_api_socket:
        deliveries.append(cli_config(service.name))
    if not deliveries:
        return  # most services have none: the archive code (tarfile) is not even imported
    from stackup.adapters.docker.file_specs import payloads

    try:
        items = payloads(deliveries, service=service.name)
        if not items:
            return
        if not service.read_only:
            _put(client, container_id, "/", items, name)
            return
        # A read-only root filesystem accepts files only inside a writable volume: put each
        # file into its own directory, which must be (inside) one of the service's volumes.
        for item in items:
            try:
                _put(client, container_id, os.path.dirname(item.delivery.target), [item], name)
            except EngineError as error:
                raise EngineError(
                    f"{error.summary} (read_only: true)",
                    detail="Secrets and configs are copied into the container, as Compose "
                           "does; with a read-only root filesystem the directory of each target "
                           "must be a volume of the service (e.g. `volumes: [/run/secrets]`)."
                ) from error
    except StackupError:
        try:
            with client._call(f"cannot remove half-created container {name}"):
                client.api.remove_container(container_id, force=True, v=True)
        except StackupError:
            pass  # the delivery error is the one to report
        raise


CLI_CONFIG_TARGET = "/root/.docker/config.json"


def cli_config(service_name: str) -> FileDelivery:
    """The docker CLI configuration ``use_api_socket`` gives a container, as Compose does: the
    registry credentials of the user running stackup (``DOCKER_CONFIG`` or
    ``~/.docker/config.json``, credential helpers resolved), so that the docker commands the
    container runs against the mounted socket pull and push as the user. Owner-only (0600)."""
    import base64
    import json

    import docker

    try:
        found = docker.auth.load_config().get_all_credentials()
    except Exception as exc:  # noqa: BLE001 - a broken helper or config: say so, no secrets
        raise EngineError(f"service {service_name}: use_api_socket: cannot read registry "
                          f"credentials ({type(exc).__name__})",
                          detail="check ~/.docker/config.json or DOCKER_CONFIG") from exc
    auths = {}
    for registry, entry in sorted((found or {}).items()):
        user, password = entry.get("Username") or "", entry.get("Password") or ""
        token = entry.get("IdentityToken")
        if token:
            auths[registry] = {"identitytoken": token}
        elif user or password:
            auths[registry] = {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
    return FileDelivery("config", "use_api_socket", CLI_CONFIG_TARGET, mode=0o600,
                        content=json.dumps({"auths": auths}, sort_keys=True))


def _put(client: ClientBase, container_id: str, directory: str, items: list[Payload],
         name: str) -> None:
    from stackup.adapters.docker.file_specs import tar_archive

    targets = ", ".join(f"{i.delivery.kind} {i.delivery.key} ({i.delivery.target})"
                        for i in items)
    with client._call(f"cannot copy {targets} into container {name}"):
        client.api.put_archive(container_id, directory, tar_archive(items, relative_to=directory))
