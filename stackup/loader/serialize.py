"""A ``Project`` → the normalised Compose document that ``stackup config`` prints.

Pipeline position: the model going back out. Same shape as ``docker compose config``: long forms
everywhere (ports, volumes, depends_on, networks), durations as Go duration strings, byte sizes
as decimal strings, commands as lists, defaults omitted. Every ``$`` in a string is written
``$$`` so the output loads back (read → interpolate → parse) into an equal Project.
Only active services are printed (those disabled by profiles are left out, as Compose does).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import yaml

from stackup.core.model import (BuildSpec, Deploy, FileObject, FileReference, Healthcheck, Mount,
                           Network, Project, Resources, Service, UpdateConfig, Volume)
from stackup.loader.units import format_duration, format_port, format_size



class _Dumper(yaml.SafeDumper):
    """YAML the way ``docker compose config`` writes it, so that the two can be diffed:
    sequences indented under their key, double quotes where quotes are needed, no folding of
    long lines, multi-line text as literal blocks."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def choose_scalar_style(self) -> str:
        style = super().choose_scalar_style()
        event = self.event  # a scalar's, when its style is chosen
        if style == "'" and isinstance(event, yaml.ScalarEvent) and '"' not in event.value:
            return '"'
        return style


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value.rstrip("\n") or value.endswith("\n") and value.strip():
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _represent_str)

_DURATIONS = frozenset({"stop_grace_period", "interval", "timeout", "start_period",
                        "start_interval", "delay", "monitor", "window", "pull_refresh_after"})
_SIZES = frozenset({"shm_size", "mem_limit", "mem_reservation", "memory"})
_SERVICE_SPECIAL = frozenset({"name", "build", "environment", "ports", "volumes", "networks",
                              "depends_on", "healthcheck", "deploy", "extra_hosts", "ulimits",
                              "secrets", "configs", "extensions", "network_mode",
                              "env_file_keys"})


def plain(value: Any) -> Any:
    """FrozenMap / tuple / nested dataclass → dict / list for YAML and JSON."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields(value)
    return value


def _escape(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {k: _escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape(v) for v in value]
    return value


def _fields(obj: Any, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Non-default fields of a dataclass, durations and sizes formatted."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        if f.name in skip:
            continue
        value = getattr(obj, f.name)
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        if value == default and not (f.name == "init" and value is not None):
            continue
        if value is None:
            continue
        if f.name in _DURATIONS:
            value = format_duration(value)
        elif f.name in _SIZES:
            value = format_size(value)
        elif f.name == "blkio_config":
            value = {**_fields(value, skip=frozenset({"weight_device"})),
                     **({"weight_device": [{"path": d.path, "weight": d.rate}
                                           for d in value.weight_device]}
                        if value.weight_device else {})}
        elif dataclasses.is_dataclass(value):
            value = _fields(value)
        out[f.name] = plain(value)
    return out


def _mount(mount: Mount) -> dict[str, Any]:
    out: dict[str, Any] = {"type": mount.type}
    if mount.source is not None:
        out["source"] = mount.source
    out["target"] = mount.target
    if mount.read_only:
        out["read_only"] = True
    if mount.consistency:
        out["consistency"] = mount.consistency
    if mount.type == "bind":
        bind: dict[str, Any] = {"create_host_path": mount.create_host_path}
        if mount.propagation:
            bind["propagation"] = mount.propagation
        if mount.selinux:
            bind["selinux"] = mount.selinux
        out["bind"] = bind
    volume = {k: v for k, v in (("nocopy", mount.nocopy), ("subpath", mount.subpath)) if v}
    if volume:
        out["volume"] = volume
    tmpfs = {k: v for k, v in (("size", mount.tmpfs_size), ("mode", mount.tmpfs_mode))
             if v is not None}
    if tmpfs:
        out["tmpfs"] = tmpfs
    return out


_HEALTHCHECK_ORDER = ("test", "timeout", "interval", "retries", "start_period", "start_interval")


def _healthcheck(hc: Healthcheck) -> dict[str, Any]:
    if hc.disable:
        return {"disable": True}
    fields = _fields(hc, skip=frozenset({"disable"}))
    return {key: fields[key] for key in _HEALTHCHECK_ORDER if key in fields}


def _resources(res: Resources) -> dict[str, Any]:
    return _fields(res)


def _deploy(deploy: Deploy) -> dict[str, Any]:
    out = _fields(deploy, skip=frozenset({"limits", "reservations", "placement_constraints",
                                          "update_config", "rollback_config"}))
    resources = {k: _resources(v) for k, v in (("limits", deploy.limits),
                                               ("reservations", deploy.reservations)) if v}
    if resources:
        out["resources"] = resources
    for key in ("update_config", "rollback_config"):
        cfg: UpdateConfig | None = getattr(deploy, key)
        if cfg is not None:
            out[key] = _fields(cfg)
    if deploy.placement_constraints:
        out["placement"] = {"constraints": list(deploy.placement_constraints)}
    return out


def _build(build: BuildSpec) -> dict[str, Any]:
    out = _fields(build, skip=frozenset({"origins", "secrets", "ulimits"}))
    out["context"] = build.context
    if build.secrets:  # the reference only: never the secret's file, variable or value
        out["secrets"] = [{"source": s.source, **({"target": s.target} if s.target else {})}
                          for s in build.secrets]
    if build.ulimits:
        out["ulimits"] = _ulimits(build.ulimits)
    return {"context": out.pop("context"), **out}


def _ulimits(ulimits: Any) -> dict[str, Any]:
    return {u.name: u.soft if u.soft == u.hard else {"soft": u.soft, "hard": u.hard}
            for u in ulimits}


def _ref(ref: FileReference) -> dict[str, Any]:
    return _fields(ref)


def service_dict(svc: Service) -> dict[str, Any]:
    """One service in ``docker compose config`` form (``$`` not yet escaped)."""
    out: dict[str, Any] = {}
    if svc.build is not None:
        out["build"] = _build(svc.build)
    out.update(_fields(svc, skip=_SERVICE_SPECIAL))
    if svc.depends_on:
        out["depends_on"] = {d.service: {"condition": d.condition,
                                         **({"restart": True} if d.restart else {}),
                                         "required": d.required}
                             for d in svc.depends_on}
    if svc.environment:
        out["environment"] = dict(svc.environment)
    if svc.ports:
        out["ports"] = [format_port(p) for p in svc.ports]
    if svc.volumes:
        out["volumes"] = [_mount(m) for m in svc.volumes]
    if svc.network_mode is not None:
        out["network_mode"] = svc.network_mode
    elif svc.networks:
        out["networks"] = {n.name: (_fields(n, skip=frozenset({"name"})) or None)
                           for n in svc.networks}
    if svc.healthcheck is not None:
        out["healthcheck"] = _healthcheck(svc.healthcheck)
    if svc.deploy is not None:
        out["deploy"] = _deploy(svc.deploy)
    if svc.extra_hosts:
        out["extra_hosts"] = [h.replace(":", "=", 1) for h in svc.extra_hosts]
    if svc.ulimits:
        out["ulimits"] = {u.name: u.soft if u.soft == u.hard else {"soft": u.soft,
                                                                    "hard": u.hard}
                          for u in svc.ulimits}
    for key in ("secrets", "configs"):
        refs = getattr(svc, key)
        if refs:
            out[key] = [_ref(r) for r in refs]
    out.update(plain(svc.extensions))
    return dict(sorted(out.items()))


def _network(net: Network) -> dict[str, Any]:
    out = _fields(net, skip=frozenset({"key"}))
    if net.ipam is not None:
        out["ipam"] = _fields(net.ipam)
    return out


def _volume(vol: Volume) -> dict[str, Any]:
    return _fields(vol, skip=frozenset({"key"}))


def _file_object(obj: FileObject) -> dict[str, Any]:
    out = _fields(obj, skip=frozenset({"key", "digest"}))
    if obj.environment is not None:
        out.pop("content", None)  # read again from the environment
    return out


def to_compose_dict(project: Project) -> dict[str, Any]:
    """The project as the plain dict ``docker compose config`` would print."""
    doc: dict[str, Any] = {"name": project.name,
                           "services": {n: service_dict(s) for n, s in project.services.items()}}
    for key, conv in (("networks", _network), ("volumes", _volume), ("secrets", _file_object),
                      ("configs", _file_object)):
        items = getattr(project, key)
        if items:
            doc[key] = {k: conv(v) for k, v in items.items()}
    doc.update(plain(project.extensions))
    return {k: _escape(v) for k, v in doc.items()}


def to_yaml(project: Project) -> str:
    return yaml.dump(to_compose_dict(project), Dumper=_Dumper, sort_keys=False,
                     default_flow_style=False, allow_unicode=True, width=float("inf"))


def to_json(project: Project) -> str:
    return json.dumps(to_compose_dict(project), indent=2)
