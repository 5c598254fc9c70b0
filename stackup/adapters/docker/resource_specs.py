"""Networks, volumes, secrets and configs → engine arguments. Pure: no I/O, no ``docker``.

Pipeline position: the engine adapter (``adapters/docker/``) turns plan operations into engine
calls; this module computes their arguments from the model: ``network_create_args`` and
``volume_create_args`` (with stackup's ownership labels), and ``file_deliveries``, the secret
and config files the adapter copies into a new container through the engine API before it
starts (``adapters.docker.file_specs`` reads and packs them). The other way round,
``container_from_list``/``container_from_inspect``/``network_from_engine``/``volume_from_engine``
turn the engine's JSON answers into the pure observed-state values.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stackup.core.version import __version__
from stackup.core import labels as L
from stackup.core.apibody import network_options
from stackup.core.errors import EngineError
from stackup.core.model import FileObject, FrozenMap, Network, Project, Service, Volume
from stackup.core.observed import ObservedContainer, ObservedNetwork, ObservedVolume

STACKUP_VERSION = __version__  # the package's own version, as the ownership labels record it


def network_create_args(project_name: str, network: Network) -> dict[str, Any]:
    """Keyword arguments for ``APIClient.create_network``."""
    labels = dict(network.labels)
    labels.update({L.PROJECT: project_name, L.NETWORK: network.key, L.VERSION: STACKUP_VERSION,
                   **compose_resource_labels(project_name, L.COMPOSE_NETWORK, network.key)})
    args: dict[str, Any] = {"name": network.name, "driver": network.driver or "bridge",
                            "labels": labels, "check_duplicate": True}
    if network.attachable:
        args["attachable"] = True
    args.update(network_options(network))
    return args


_BODY_KEYS = {"name": "Name", "driver": "Driver", "labels": "Labels",
              "check_duplicate": "CheckDuplicate", "attachable": "Attachable",
              "options": "Options", "internal": "Internal", "enable_ipv6": "EnableIPv6",
              "ipam": "IPAM"}


def network_create_body(args: dict[str, Any]) -> dict[str, Any]:
    """``network_create_args`` as the engine's ``POST /networks/create`` body, for the keys the
    SDK's ``create_network`` has no argument for."""
    return {_BODY_KEYS[key]: value for key, value in args.items()}


def compose_resource_labels(project_name: str, key_label: str, key: str) -> dict[str, str]:
    """Docker Compose's labels for a network or volume, so that Compose recognises it as its
    project's own (``docker compose down`` removes it; ``up`` reuses it without a warning)."""
    return {L.COMPOSE_PROJECT: project_name, key_label: key,
            L.COMPOSE_VERSION: L.COMPOSE_LABELS_VERSION}


def volume_create_args(project_name: str, volume: Volume) -> dict[str, Any]:
    """Keyword arguments for ``APIClient.create_volume``."""
    labels = dict(volume.labels)
    labels.update({L.PROJECT: project_name, L.VOLUME: volume.key, L.VERSION: STACKUP_VERSION,
                   **compose_resource_labels(project_name, L.COMPOSE_VOLUME, volume.key)})
    args: dict[str, Any] = {"name": volume.name, "driver": volume.driver or "local",
                            "labels": labels}
    if volume.driver_opts:
        args["driver_opts"] = dict(volume.driver_opts)
    return args


# --- secrets and configs --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileDelivery:
    """A secret or config file to copy into a container after create and before start.

    Exactly one of ``content`` (``content:`` or ``environment:``: the text itself) and ``file``
    (``file:``: a path on the machine running stackup, read when the file is delivered) is set.
    The bytes travel to the engine in a tar through its API, never as a bind mount, so they reach
    a remote ``DOCKER_HOST`` too, and never appear in labels, mounts or ``docker inspect``.
    """

    kind: str  # "secret" or "config"
    key: str
    target: str  # absolute path in the container
    mode: int = 0o444
    uid: int = 0
    gid: int = 0
    content: str | None = None
    file: str | None = None

    def __repr__(self) -> str:  # never print the content (tracebacks, debug logs)
        return (f"FileDelivery({self.kind} {self.key!r} → {self.target}, mode={self.mode:o}, "
                f"uid={self.uid}, gid={self.gid}, "
                f"{'file=' + repr(self.file) if self.file is not None else 'content=<hidden>'})")


def default_state_dir(environ: Mapping[str, str]) -> str:
    """Where stackup may keep per-project files on the runner: ``$STACKUP_STATE_DIR``, else
    ``$XDG_STATE_HOME/stackup``, else ``/var/lib/stackup`` for root, else
    ``~/.local/state/stackup``. (Secrets and configs no longer use it: see ``FileDelivery``.)"""
    if environ.get("STACKUP_STATE_DIR"):
        return environ["STACKUP_STATE_DIR"]
    if environ.get("XDG_STATE_HOME"):
        return os.path.join(environ["XDG_STATE_HOME"], "stackup")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return "/var/lib/stackup"
    home = environ.get("HOME") or os.path.expanduser("~")
    return os.path.join(home, ".local", "state", "stackup")


def file_target(kind: str, key: str, target: str | None) -> str:
    """Where a secret or config lands: ``/run/secrets/<key>`` and ``/<key>`` by default; a
    relative secret target is under ``/run/secrets``, a relative config target under ``/``."""
    if kind == "secret":
        if not target:
            return f"/run/secrets/{key}"
        return target if target.startswith("/") else f"/run/secrets/{target}"
    if not target:
        return f"/{key}"
    return target if target.startswith("/") else f"/{target}"


def _id(value: str | None) -> int:
    return int(value) if value and value.strip().isdigit() else 0


def file_deliveries(project: Project, service: Service) -> list[FileDelivery]:
    """The service's secrets and configs, in file order (secrets first). External ones (Swarm
    only) and references to undeclared keys are skipped: the loader reports those."""
    out: list[FileDelivery] = []
    for kind, refs, declared in (("secret", service.secrets, project.secrets),
                                 ("config", service.configs, project.configs)):
        for ref in refs:
            obj: FileObject | None = declared.get(ref.source)
            if obj is None:
                continue
            if obj.external:  # reconcile refuses it first; a one-off container too
                raise EngineError(f"service {service.name} uses external {kind} {ref.source}: "
                                  f"a single engine has no {kind} store",
                                  detail=f"Give the {kind} a file:, environment: or content: "
                                         "source, or deploy to a swarm.")
            out.append(FileDelivery(
                kind, obj.key, file_target(kind, ref.source, ref.target),
                ref.mode if ref.mode is not None else 0o444, _id(ref.uid), _id(ref.gid),
                content=None if obj.file is not None else (obj.content or ""), file=obj.file))
    return out


# --- engine answers → observed values ---------------------------------------------------------

_HEALTH = (("(healthy)", "healthy"), ("(unhealthy)", "unhealthy"),
           ("(health: starting)", "starting"))
_EXITED = re.compile(r"^Exited \((-?\d+)\)")


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return FrozenMap({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _config(labels: Mapping[str, str]) -> FrozenMap[str, Any] | None:
    raw = labels.get(L.CONFIG)
    if not raw:
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None
    return _freeze(parsed) if isinstance(parsed, dict) else None


def _number(labels: Mapping[str, str]) -> int:
    try:
        return int(labels.get(L.NUMBER) or labels.get(L.COMPOSE_NUMBER) or "0")
    except ValueError:
        return 0


def _service(labels: Mapping[str, str]) -> str:
    """The service label: stackup's, else Docker Compose's (a project Compose created)."""
    return labels.get(L.SERVICE) or labels.get(L.COMPOSE_SERVICE) or ""


def _oneoff(labels: Mapping[str, str]) -> bool:
    return (labels.get(L.ONEOFF) or labels.get(L.COMPOSE_ONEOFF)) == "True"


def container_from_list(raw: Mapping[str, Any]) -> ObservedContainer:
    labels = raw.get("Labels") or {}
    status = str(raw.get("Status") or "")
    health = next((h for marker, h in _HEALTH if marker in status), None)
    exited = _EXITED.match(status)
    ports = []
    for p in sorted(raw.get("Ports") or [], key=lambda p: (p.get("PrivatePort", 0),
                                                           p.get("Type", ""), p.get("IP", ""))):
        inner = f"{p.get('PrivatePort')}/{p.get('Type', 'tcp')}"
        ports.append(f"{p['IP']}:{p['PublicPort']}->{inner}" if p.get("PublicPort") else inner)
    names = raw.get("Names") or [raw.get("Id", "")[:12]]
    return ObservedContainer(
        container_id=str(raw["Id"]), name=str(names[0]).lstrip("/"),
        service=_service(labels), number=_number(labels),
        state=str(raw.get("State") or ""), health=health,
        exit_code=int(exited.group(1)) if exited else None,
        config_hash=labels.get(L.CONFIG_HASH, ""), config=_config(labels),
        image_id=str(raw.get("ImageID") or ""), image_ref=labels.get(L.IMAGE, raw.get("Image", "")),
        labels=FrozenMap(labels), ports=tuple(dict.fromkeys(ports)),
        oneoff=_oneoff(labels), volume_mounts=_volume_mounts(raw),
        compose_made=L.owner(labels)[1], networks=_attached(raw))


def container_from_inspect(info: Mapping[str, Any]) -> ObservedContainer:
    labels = (info.get("Config") or {}).get("Labels") or {}
    state = info.get("State") or {}
    health = (state.get("Health") or {}).get("Status") or None
    checks = (state.get("Health") or {}).get("Log") or []
    health_log = tuple(f"exit {entry.get('ExitCode')}: {str(entry.get('Output') or '').strip()}"
                       for entry in checks[-3:])
    ports = []
    for inner, bindings in sorted(((info.get("NetworkSettings") or {}).get("Ports") or {}).items()):
        for b in bindings or [None]:
            ports.append(f"{b['HostIp']}:{b['HostPort']}->{inner}" if b else inner)
    status = str(state.get("Status") or "")
    return ObservedContainer(
        container_id=str(info["Id"]), name=container_name(info),
        service=_service(labels),
        number=_number(labels), state=status, health=health,
        exit_code=int(state["ExitCode"]) if status in ("exited", "dead") else None,
        config_hash=labels.get(L.CONFIG_HASH, ""), config=_config(labels),
        image_id=str(info.get("Image") or ""),
        image_ref=labels.get(L.IMAGE, (info.get("Config") or {}).get("Image", "")),
        labels=FrozenMap(labels), ports=tuple(dict.fromkeys(ports)),
        oneoff=_oneoff(labels), health_log=health_log,
        volume_mounts=_volume_mounts(info), compose_made=L.owner(labels)[1],
        networks=_attached(info))


def _attached(raw: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The networks a container is attached to (list or inspect form); None if not given."""
    settings = raw.get("NetworkSettings")
    if not isinstance(settings, Mapping) or not isinstance(settings.get("Networks"), Mapping):
        return None
    return tuple(sorted(settings["Networks"]))


def _volume_mounts(raw: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """(container path, volume name) of the volumes a container mounts (list or inspect form)."""
    return tuple(sorted((str(m["Destination"]), str(m["Name"])) for m in raw.get("Mounts") or []
                        if m.get("Type") == "volume" and m.get("Name") and m.get("Destination")))


def network_from_engine(raw: Mapping[str, Any]) -> ObservedNetwork:
    labels = raw.get("Labels") or {}
    project, compose_made = L.owner(labels)
    return ObservedNetwork(
        name=str(raw["Name"]), network_id=str(raw.get("Id") or ""),
        key=labels.get(L.NETWORK) or labels.get(L.COMPOSE_NETWORK),
        driver=str(raw.get("Driver") or "bridge"), internal=bool(raw.get("Internal")),
        attachable=bool(raw.get("Attachable")), options=FrozenMap(raw.get("Options") or {}),
        labels=FrozenMap(labels), project=project, compose_made=compose_made)


def volume_from_engine(raw: Mapping[str, Any]) -> ObservedVolume:
    labels = raw.get("Labels") or {}
    project, compose_made = L.owner(labels)
    return ObservedVolume(
        name=str(raw["Name"]), key=labels.get(L.VOLUME) or labels.get(L.COMPOSE_VOLUME),
        driver=str(raw.get("Driver") or "local"),
        options=FrozenMap(raw.get("Options") or {}), labels=FrozenMap(labels),
        project=project, compose_made=compose_made)


def container_name(info: Mapping[str, Any]) -> str:
    return str(info.get("Name") or info.get("Id", "")[:12]).lstrip("/")
