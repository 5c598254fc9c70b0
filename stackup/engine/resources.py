"""Networks, volumes, secrets and configs → engine arguments. Pure: no I/O, no ``docker``.

Pipeline position: the engine adapter (``engine/docker.py``) turns plan operations into engine
calls; this module computes their arguments from the model: ``network_create_args`` and
``volume_create_args`` (with stackup's ownership labels), and ``file_mounts``, the read-only
bind mounts that give a service its secrets and configs. Contents that do not live in a file
(``content:``/``environment:``) are written by the adapter to ``FileMount.host_path`` under a
per-project state directory before the container is created.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from stackup import labels as L
from stackup.model import FileObject, Network, Project, Service, Volume


def _version() -> str:
    try:
        return metadata.version("stackup")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0.1.0.dev0"


STACKUP_VERSION = _version()


def network_create_args(project_name: str, network: Network) -> dict[str, Any]:
    """Keyword arguments for ``APIClient.create_network``."""
    labels = dict(network.labels)
    labels.update({L.PROJECT: project_name, L.NETWORK: network.key, L.VERSION: STACKUP_VERSION})
    args: dict[str, Any] = {"name": network.name, "driver": network.driver or "bridge",
                            "labels": labels, "check_duplicate": True}
    if network.driver_opts:
        args["options"] = dict(network.driver_opts)
    if network.internal:
        args["internal"] = True
    if network.attachable:
        args["attachable"] = True
    if network.enable_ipv6:
        args["enable_ipv6"] = True
    if network.ipam is not None:
        pools = []
        for pool in network.ipam.config:
            entry = {key: value for key, value in (
                ("Subnet", pool.subnet), ("IPRange", pool.ip_range), ("Gateway", pool.gateway))
                if value}
            if pool.aux_addresses:
                entry["AuxiliaryAddresses"] = dict(pool.aux_addresses)
            pools.append(entry)
        args["ipam"] = {"Driver": network.ipam.driver or "default", "Config": pools,
                        "Options": dict(network.ipam.options)}
    return args


def volume_create_args(project_name: str, volume: Volume) -> dict[str, Any]:
    """Keyword arguments for ``APIClient.create_volume``."""
    labels = dict(volume.labels)
    labels.update({L.PROJECT: project_name, L.VOLUME: volume.key, L.VERSION: STACKUP_VERSION})
    args: dict[str, Any] = {"name": volume.name, "driver": volume.driver or "local",
                            "labels": labels}
    if volume.driver_opts:
        args["driver_opts"] = dict(volume.driver_opts)
    return args


# --- secrets and configs --------------------------------------------------------------------


@dataclass(frozen=True)
class FileMount:
    """A secret or config file bind-mounted read-only into a container.

    ``content`` is None when ``host_path`` is the user's own file; otherwise the adapter writes
    ``content`` to ``host_path`` (mode ``mode``) before creating the container.
    """

    kind: str  # "secret" or "config"
    key: str
    host_path: str
    target: str
    content: str | None = None
    mode: int = 0o444


def default_state_dir(environ: Mapping[str, str]) -> str:
    """Where stackup keeps per-project files: ``$STACKUP_STATE_DIR``, else
    ``$XDG_STATE_HOME/stackup``, else ``/var/lib/stackup`` for root, else
    ``~/.local/state/stackup``."""
    if environ.get("STACKUP_STATE_DIR"):
        return environ["STACKUP_STATE_DIR"]
    if environ.get("XDG_STATE_HOME"):
        return os.path.join(environ["XDG_STATE_HOME"], "stackup")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return "/var/lib/stackup"
    home = environ.get("HOME") or os.path.expanduser("~")
    return os.path.join(home, ".local", "state", "stackup")


def _target(kind: str, key: str, target: str | None) -> str:
    if kind == "secret":
        if not target:
            return f"/run/secrets/{key}"
        return target if target.startswith("/") else f"/run/secrets/{target}"
    if not target:
        return f"/{key}"
    return target if target.startswith("/") else f"/{target}"


def file_mounts(project: Project, service: Service, state_dir: str | None) -> list[FileMount]:
    """The service's secrets and configs as read-only bind mounts. External ones (Swarm only)
    and references to undeclared keys are skipped: the loader reports those."""
    out: list[FileMount] = []
    for kind, refs, declared in (("secret", service.secrets, project.secrets),
                                 ("config", service.configs, project.configs)):
        for ref in refs:
            obj: FileObject | None = declared.get(ref.source)
            if obj is None or obj.external:
                continue
            target = _target(kind, ref.source, ref.target)
            mode = ref.mode if ref.mode is not None else 0o444
            if obj.file is not None:
                out.append(FileMount(kind, obj.key, obj.file, target, None, mode))
                continue
            base = state_dir or "/var/lib/stackup"
            host_path = os.path.join(base, project.name, f"{kind}s", obj.key)
            out.append(FileMount(kind, obj.key, host_path, target, obj.content or "", mode))
    return out
