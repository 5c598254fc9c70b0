"""The canonical service configuration, its hash, and a readable diff between two of them.

Pipeline position: pure helper of ``reconcile`` (which compares the hash stored on a container
with the one the file asks for) and of ``execute`` (which puts the hash and its canonical JSON on
each container it creates, as the ``labels.CONFIG_HASH`` and ``labels.CONFIG`` labels).

Only settings that must force a recreate are hashed: everything in ``Service`` except
``depends_on``, ``scale``, ``deploy.replicas``, ``deploy.update_config`` and ``rollback_config`` (how to
update, not what runs), ``build``, ``pull_policy``, ``pull_refresh_after``, ``attach``, ``develop``, ``profiles`` and the
``x-`` extensions. References to top-level objects are resolved to what the engine sees: network
and volume keys become engine names, secrets and configs become a salted sha256 digest of their
bytes (``content_digest``): the canonical config is stored in clear in a container label, so it
never holds a secret's content.

Fields left at their dataclass default are omitted, so that adding a field to the model later
does not change the hash of every existing container (which would recreate them all).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Iterator, Mapping
from hashlib import sha256
from typing import Any

from stackup.core.model import FileObject, Mount, Project, Service, ServiceNetwork

# Service fields that never force a recreate.
_NOT_HASHED = frozenset({"name", "depends_on", "scale", "build", "pull_policy", "profiles",
                         "extensions", "env_file_keys", "attach",
                         "pull_refresh_after", "develop"})


_NO_DEFAULT = object()


@functools.cache
def _defaults(cls: type) -> tuple[tuple[str, Any], ...]:
    """``(field name, its default)`` of a model dataclass, in field order (``_NO_DEFAULT`` for
    a field without one), computed once per class: a ``default_factory`` result is only
    compared with, never handed out, so one made per class serves every comparison."""
    out = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out.append((f.name, f.default))
        elif f.default_factory is not dataclasses.MISSING:
            out.append((f.name, f.default_factory()))
        else:
            out.append((f.name, _NO_DEFAULT))
    return tuple(out)


def _set_fields(value: object) -> Iterator[tuple[str, Any]]:
    """``(name, value)`` of the fields of a record that differ from their defaults."""
    cls: type = type(value)
    for name, default in _defaults(cls):
        item = getattr(value, name)
        if default is _NO_DEFAULT or not bool(item == default):
            yield name, item


def _plain(value: Any) -> Any:
    """A JSON-able form of a model value: dataclasses → dicts without default fields."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: _plain(item) for name, item in _set_fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def content_digest(kind: str, obj: FileObject) -> str | None:
    """The digest a secret's or config's bytes are known by in the canonical config, never the
    bytes: ``sha256("stackup:<kind>:<key>:" + sha256(bytes))``. The key salts it, so the label
    of two projects with the same secret differ and no precomputed table reverses it (a short,
    guessable secret can still be guessed by whoever can read labels: use long random secrets).
    The file path is left out: two runners with different checkouts give the same hash.
    None for a ``file:`` the loader could not read."""
    if obj.file is not None:
        if obj.digest is None:
            return None
        inner = bytes.fromhex(obj.digest)
    else:
        inner = sha256((obj.content or "").encode("utf-8")).digest()
    return sha256(f"stackup:{kind}:{obj.key}:".encode() + inner).hexdigest()


def _file_object(obj: FileObject | None, key: str, kind: str) -> Any:
    if obj is None:
        return {"missing": key}
    if obj.external:
        return {"external": obj.name}
    return {"sha256": content_digest(kind, obj)}


def _network(project: Project, attachment: ServiceNetwork) -> dict[str, Any]:
    data = _plain(attachment)
    network = project.networks.get(attachment.name)
    data["name"] = network.name if network is not None else attachment.name
    return dict(data)


def _mount(project: Project, mount: Mount) -> dict[str, Any]:
    data = dict(_plain(mount))
    if mount.type == "volume" and mount.source is not None:
        volume = project.volumes.get(mount.source)
        if volume is not None:
            data["source"] = volume.name
    return data


def canonical_config(project: Project, service: Service) -> dict[str, Any]:
    """The JSON-able settings of ``service`` whose change must recreate its containers."""
    out: dict[str, Any] = {"image": service.image_ref(project.name)}
    for name, value in _set_fields(service):
        if name in _NOT_HASHED or name == "image":
            continue
        if name == "networks":
            out["networks"] = [_network(project, n) for n in value]
        elif name == "volumes":
            out["volumes"] = [_mount(project, m) for m in value]
        elif name in ("secrets", "configs"):
            table = project.secrets if name == "secrets" else project.configs
            out[name] = [
                {**_plain(ref), "object": _file_object(table.get(ref.source), ref.source,
                                                       name[:-1])}
                for ref in value
            ]
        elif name == "deploy":
            deploy = _plain(dataclasses.replace(value, replicas=None, update_config=None,
                                                rollback_config=None))
            if deploy:
                out["deploy"] = deploy
        else:
            out[name] = _plain(value)
    return {k: out[k] for k in sorted(out)}


def canonical_json(config: Mapping[str, Any]) -> str:
    """The one text form of a canonical config: sorted keys, no whitespace."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def config_hash(project: Project, service: Service) -> tuple[str, str]:
    """``(sha256 hex, canonical JSON)`` of the service's recreate-relevant settings."""
    text = canonical_json(canonical_config(project, service))
    return sha256(text.encode("utf-8")).hexdigest(), text


def diff_configs(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Sorted key paths whose values differ, e.g. ``["environment.VERSION", "ports"]``.

    Mappings are compared key by key (recursively); any other value, lists included, is
    compared whole and reported at its own path.
    """
    changed: list[str] = []
    _diff(old, new, "", changed)
    return sorted(changed)


def _diff(old: Any, new: Any, path: str, out: list[str]) -> None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in old or key not in new:
                out.append(sub)
            else:
                _diff(old[key], new[key], sub, out)
        return
    if _normal(old) != _normal(new):
        out.append(path or "(config)")


def _normal(value: Any) -> Any:
    """Tuples and lists compare equal (labels come back from JSON as lists)."""
    if isinstance(value, (tuple, list)):
        return [_normal(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _normal(v) for k, v in value.items()}
    return value
