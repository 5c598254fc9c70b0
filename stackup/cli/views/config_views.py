"""The other views of ``stackup config``: ``--hash``, ``--images``, ``--environment``,
``--variables``, ``--no-interpolate``, ``--no-normalize``, ``--no-path-resolution``,
``--no-env-resolution``.

Pipeline position: CLI over the loader (``load_tree`` for the merged tree before parsing,
``loader.variables`` for what the files interpolate) and ``loader.serialize``; no engine.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import yaml

from stackup.cli.context import Globals
from stackup.cli.selection import table
from stackup.core.errors import ProjectError


@dataclass(frozen=True, slots=True)
class View:
    hash: str | None = None  # "*" or service names, comma-separated
    images: bool = False
    environment: bool = False
    variables: bool = False
    no_interpolate: bool = False
    no_normalize: bool = False
    no_path_resolution: bool = False
    no_env_resolution: bool = False

    @property
    def special(self) -> bool:
        return self != View()


def _dump(doc: Any, fmt: str) -> str:
    from stackup.loader.serialize import _Dumper

    if fmt == "json":
        return json.dumps(doc, indent=2) + "\n"
    return str(yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                         allow_unicode=True, width=float("inf")))


def _unescape(value: Any) -> Any:
    """Undo serialize's ``$`` → ``$$`` (the values were never interpolated)."""
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, dict):
        return {k: _unescape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unescape(v) for v in value]
    return value


def _relative(path: Any, base: str) -> Any:
    if not isinstance(path, str) or not os.path.isabs(path):
        return path
    rel = os.path.relpath(path, base)
    return "." if rel == "." else rel if rel.startswith("..") else f"./{rel}"


def _unresolve(doc: dict[str, Any], base: str) -> dict[str, Any]:
    """Host paths back to paths relative to the project directory (--no-path-resolution)."""
    for service in (doc.get("services") or {}).values():
        build = service.get("build")
        if isinstance(build, dict) and "context" in build:
            build["context"] = _relative(build["context"], base)
        for mount in service.get("volumes") or []:
            if isinstance(mount, dict) and mount.get("type") == "bind":
                mount["source"] = _relative(mount.get("source"), base)
        env_files = service.get("env_file")
        if isinstance(env_files, list):
            service["env_file"] = [dict(e, path=_relative(e["path"], base))
                                   if isinstance(e, dict) and "path" in e
                                   else _relative(e, base) for e in env_files]
    for section in ("secrets", "configs"):
        for item in (doc.get(section) or {}).values():
            if isinstance(item, dict) and "file" in item:
                item["file"] = _relative(item["file"], base)
    return doc


def _env_unresolved(g: Globals, services: tuple[str, ...], doc: dict[str, Any],
                    working_dir: str, interpolate: bool) -> dict[str, Any]:
    """--no-env-resolution: each service's ``env_file`` entries as files (absolute paths,
    ``required``) and its ``environment`` as written (a bare ``KEY`` stays null), as
    Compose prints them, instead of the environment the files resolve to."""
    from stackup.loader.loader import load_tree

    tree = load_tree(g.load_options(services, interpolate=interpolate)).tree
    raw_services = tree.get("services") or {}
    for name, service in (doc.get("services") or {}).items():
        raw = raw_services.get(name) or {}
        inline = raw.get("environment")
        if isinstance(inline, list):
            pairs = [str(i).partition("=") for i in inline]
            inline = {k: v if sep else None for k, sep, v in pairs}
        environment = {str(k): None if v is None else str(v)
                       for k, v in (inline or {}).items()}
        if environment:
            service["environment"] = dict(sorted(environment.items()))
        else:
            service.pop("environment", None)
        files = raw.get("env_file")
        if files is None:
            continue
        entries = []
        for item in files if isinstance(files, list) else [files]:
            spec = dict(item) if isinstance(item, dict) else {"path": item}
            path = os.path.expanduser(str(spec.get("path", "")))
            entry: dict[str, Any] = {"path": os.path.normpath(os.path.join(working_dir, path)),
                                     "required": bool(spec.get("required", True))}
            if spec.get("format"):
                entry["format"] = spec["format"]
            entries.append(entry)
        service["env_file"] = entries
    return doc


def _variables(g: Globals, services: tuple[str, ...], fmt: str) -> str:
    from stackup.loader.loader import load_tree
    from stackup.loader.variables import variables_in

    found = variables_in(load_tree(g.load_options(services, interpolate=False)).tree)
    if fmt == "json":
        return json.dumps({n: {"Name": v.name, "DefaultValue": v.default or "",
                               "PresenceValue": v.alternate or "", "Required": v.required}
                           for n, v in found.items()}, indent=2) + "\n"
    return table(["NAME", "REQUIRED", "DEFAULT VALUE", "ALTERNATE VALUE"],
                 [[v.name, str(v.required).lower(), v.default or "", v.alternate or ""]
                  for v in found.values()])


def render(g: Globals, services: tuple[str, ...], fmt: str, view: View) -> str:
    """The text ``config`` prints for a special ``view``."""
    if view.variables:
        return _variables(g, services, fmt)
    interpolate = not view.no_interpolate
    if view.no_normalize:
        from stackup.loader.loader import load_tree
        from stackup.loader.serialize import plain

        return _dump(plain(load_tree(g.load_options(services, interpolate=interpolate)).tree),
                     fmt)
    loaded = g.load(services, interpolate=interpolate)
    project = loaded.project
    if view.hash is not None:
        from stackup.core.hashing import config_hash

        names = list(project.services) if view.hash.strip() == "*" else \
            [n.strip() for n in view.hash.split(",") if n.strip()]
        for name in names:
            if name not in project.services:
                raise ProjectError(f"--hash: no such service: {name}",
                                   detail=f"The stack file defines: "
                                          f"{', '.join(project.services) or 'no services'}.")
        return "".join(f"{n} {config_hash(project, project.services[n])[0]}\n" for n in names)
    if view.images:
        return "".join(f"{s.image_ref(project.name)}\n" for s in project.services.values())
    if view.environment:
        return "".join(f"{k}={v}\n" for k, v in sorted(loaded.environment.items()))
    from stackup.loader.serialize import to_compose_dict

    doc = to_compose_dict(project)
    if view.no_env_resolution:
        doc = _env_unresolved(g, services, doc, project.working_dir, interpolate)
    if view.no_interpolate:
        doc = _unescape(doc)
    if view.no_path_resolution:
        doc = _unresolve(doc, project.working_dir)
    return _dump(doc, fmt)
