"""Resolve the top-level ``include:`` of one stack file, as the compose spec defines it.

Pipeline position: yamlsrc → interpolate → extends → **include** → merge → parse. Runs per
file (after its ``extends``, before it is merged with the next ``-f`` file), as compose-go does.

Forms: ``include: [a.yaml]`` (short) and ``include: [{path: a.yaml | [a.yaml, b.yaml],
project_directory: dir, env_file: f | [f, ...]}]`` (long). For each entry:

* relative ``path``, ``project_directory`` and ``env_file`` are resolved against the including
  project's directory (the main project's working directory at the top, the included project's
  directory for nested includes);
* ``project_directory`` defaults to the directory of the first path; every relative path in the
  included files (build contexts, env_file, ``./`` bind mounts, secret and config files) is made
  absolute against it;
* the included files are interpolated with the including environment plus the values of the
  entry's ``env_file`` (default: ``<project_directory>/.env`` when it exists); the including
  environment wins, as in Compose. ``/dev/null`` as an env file is skipped;
* several paths are merged like ``-f`` files (the later ones override), and their own
  ``include:`` sections are followed (a cycle is an error naming the chain);
* services, networks, volumes, secrets and configs are copied into the including file. A name
  defined on both sides, differently, is an error (Compose: "conflicts with imported
  resource"); an identical definition is not.

Every error names the including file and the line of the include entry.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stackup.core.errors import Location, SpecError
from stackup.loader import check as ck
from stackup.loader.dotenv import parse_env_file
from stackup.loader.extends import _rebase as rebase_service
from stackup.loader.extends import resolve_extends
from stackup.loader.interpolate import interpolate
from stackup.loader.located import LDict, loc_of
from stackup.loader.merge import merge_documents, strip_tags
from stackup.loader.limits import read_text
from stackup.loader.parse_limits import REMOTE, REMOTE_HINT
from stackup.loader.yamlsrc import read_yaml

RESOURCES = ("services", "volumes", "networks", "secrets", "configs")
_ENTRY_KEYS = frozenset({"path", "project_directory", "env_file"})


@dataclass(frozen=True, slots=True)
class _Entry:
    paths: tuple[str, ...]  # absolute
    project_directory: str  # absolute
    env_files: tuple[str, ...]  # absolute, existing
    where: Location | None  # the include entry in the including file


def apply_include(tree: LDict, file: str, working_dir: str, environment: Mapping[str, str],
                  warnings: list[str], chain: tuple[str, ...] = (), *,
                  scopes: dict[tuple[str, str], Mapping[str, str]] | None = None) -> LDict:
    """``tree`` (the file ``file``) with its ``include:`` resolved and removed.

    ``working_dir`` is the including project's directory; ``environment`` its interpolation
    environment; ``chain`` the files including this one (for cycle errors). ``scopes`` gets,
    for each imported service, secret and config, the environment of its include (the
    innermost one): the parser resolves their env_file values, ``environment: [KEY]`` and
    ``secrets.x.environment`` in it, as Compose does."""
    if not isinstance(tree, LDict) or "include" not in tree:
        return tree
    raw = tree["include"]
    out = LDict(tree, loc=tree.loc)
    out.key_locs = dict(tree.key_locs)
    del out["include"]
    out.key_locs.pop("include", None)
    if raw is None:
        return out
    if not isinstance(raw, list):
        raise ck.fail(tree, "include", "include",
                      f"expected a list of files or mappings, found {ck.describe(raw)}")
    for index in range(len(raw)):
        entry = _entry(raw, index, working_dir, environment)
        key = os.path.normpath(file)
        for path in entry.paths:
            if path == key or path in chain:
                names = [*chain, key, path]
                raise SpecError(f"include cycle: {' -> '.join(names)}",
                                detail="A file cannot include itself, directly or indirectly.",
                                location=entry.where)
        env = _environment(entry, environment)
        imported = _load(entry, env, warnings, (*chain, key), scopes)
        _import(out, imported, entry)
        if scopes is not None:
            for section in ("services", "secrets", "configs"):
                items = imported.get(section)
                for name in items if isinstance(items, Mapping) else ():
                    scopes.setdefault((section, str(name)), env)  # a nested include's first
    return out


def _entry(raw: list[Any], index: int, working_dir: str,
           environment: Mapping[str, str]) -> _Entry:
    where = loc_of(raw, index)
    at = f"include[{index}]"
    item = raw[index]
    if isinstance(item, str):
        paths: tuple[str, ...] = (item,)
        project_dir: str | None = None
        env_files: tuple[str, ...] = ()
    elif isinstance(item, Mapping):
        ck.check_keys(item, _ENTRY_KEYS, at)
        if item.get("path") is None:
            raise SpecError(f"{at}: 'path' is required", detail="e.g. include: [{path: db.yaml}]",
                            location=where.at(at) if where else None)
        paths = ck.as_str_list(item, "path", f"{at}.path", allow_string=True)
        project_dir = (ck.as_str(item, "project_directory", f"{at}.project_directory")
                       if item.get("project_directory") is not None else None)
        env_files = (ck.as_str_list(item, "env_file", f"{at}.env_file", allow_string=True)
                     if item.get("env_file") is not None else ())
    else:
        raise ck.fail(raw, index, at,
                      f"expected a file path or a mapping with 'path', found {ck.describe(item)}")
    if not paths or not all(paths):
        raise ck.fail(raw, index, at, "expected at least one non-empty path")
    for given in paths:  # a remote include (git, OCI) needs fetching that stackup does not do
        if REMOTE.match(given):
            raise SpecError(f"{at}: remote include {given} is not supported", detail=REMOTE_HINT,
                            location=where.at(at) if where else None)
    home = environment.get("HOME", "~")
    full = tuple(os.path.normpath(os.path.join(working_dir, _home(p, home))) for p in paths)
    for given, path in zip(paths, full):
        if not os.path.isfile(path):
            raise SpecError(f"{at}: included file not found: {given}",
                            detail=f"Looked for {path} (relative paths are resolved against "
                                   f"{working_dir}).", location=where.at(at) if where else None)
    directory = (os.path.dirname(full[0]) if project_dir is None
                 else os.path.normpath(os.path.join(working_dir, _home(project_dir, home))))
    if env_files:
        found = []
        for name in env_files:
            if name == "/dev/null":
                continue
            path = os.path.normpath(os.path.join(working_dir, _home(name, home)))
            if not os.path.isfile(path):
                raise SpecError(f"{at}.env_file: env file not found: {name}",
                                detail=f"Looked for {path}.",
                                location=where.at(f"{at}.env_file") if where else None)
            found.append(path)
        env_files = tuple(found)
    else:
        dotenv = os.path.join(directory, ".env")
        env_files = (dotenv,) if os.path.isfile(dotenv) else ()
    return _Entry(full, directory, env_files, where.at(at) if where else None)


def _home(path: str, home: str) -> str:
    return home + path[1:] if path.startswith("~") else path


def _environment(entry: _Entry, environment: Mapping[str, str]) -> dict[str, str]:
    """The including environment plus the entry's env files (the including values win)."""
    from_files: dict[str, str] = {}
    for path in entry.env_files:
        values = parse_env_file(path, {**from_files, **environment})
        from_files.update({k: v for k, v in values.items() if v is not None})
    return {**from_files, **environment}


def _load(entry: _Entry, env: Mapping[str, str], warnings: list[str],
          chain: tuple[str, ...],
          scopes: dict[tuple[str, str], Mapping[str, str]] | None) -> LDict:
    """The included files read, interpolated, extended, included and merged; paths absolute."""
    cache: dict[str, LDict] = {}

    def read(path: str) -> LDict:
        if path not in cache:
            tree, more = interpolate(read_yaml(read_text(path), path), env)  # limits apply
            warnings.extend(w for w in more if w not in warnings)
            cache[path] = tree
        return cache[path]

    merged: LDict | None = None
    for path in entry.paths:
        try:
            tree = read(path)
        except OSError as err:
            raise SpecError(f"cannot read included file {path}: {err.strerror}",
                            location=entry.where) from None
        if not isinstance(tree, LDict):
            raise SpecError(f"included file {path} must be a mapping with a 'services' key",
                            location=entry.where)
        tree = resolve_extends(tree, path, read)
        tree = apply_include(tree, path, entry.project_directory, env, warnings, chain,
                             scopes=scopes)
        merged = strip_tags(tree) if merged is None else merge_documents(merged, tree)
    assert merged is not None
    return _absolute_paths(merged, entry.project_directory)


def _absolute_paths(tree: LDict, directory: str) -> LDict:
    """Relative paths of the included model made absolute against its project directory."""
    out = LDict(tree, loc=tree.loc)
    out.key_locs = dict(tree.key_locs)
    services = tree.get("services")
    if isinstance(services, LDict):
        new = LDict(services, loc=services.loc)
        new.key_locs = dict(services.key_locs)
        for name, service in services.items():
            if isinstance(service, LDict):
                new[name] = rebase_service(service, directory)
        out["services"] = new
    for section in ("secrets", "configs"):
        items = tree.get(section)
        if not isinstance(items, LDict):
            continue
        new = LDict(items, loc=items.loc)
        new.key_locs = dict(items.key_locs)
        for name, spec in items.items():
            source = spec.get("file") if isinstance(spec, LDict) else None
            if isinstance(source, str) and not os.path.isabs(source) \
                    and not source.startswith("~"):
                copy = LDict(spec, loc=spec.loc)
                copy.key_locs = dict(spec.key_locs)
                copy["file"] = os.path.normpath(os.path.join(directory, source))
                new[name] = copy
        out[section] = new
    volumes = tree.get("volumes")
    if isinstance(volumes, LDict):
        new = LDict(volumes, loc=volumes.loc)
        new.key_locs = dict(volumes.key_locs)
        for name, spec in volumes.items():
            opts = spec.get("driver_opts") if isinstance(spec, LDict) else None
            device = opts.get("device") if isinstance(opts, LDict) else None
            if isinstance(opts, LDict) and isinstance(device, str) and device \
                    and not os.path.isabs(device) and not device.startswith("~"):
                # a bind device (``loader.parse.bind_device``) is the included project's path
                binds = "bind" in (o.strip() for o in str(opts.get("o", "")).split(","))
                if binds and spec.get("driver") in (None, "local"):
                    copy_opts = LDict(opts, loc=opts.loc)
                    copy_opts.key_locs = dict(opts.key_locs)
                    copy_opts["device"] = os.path.normpath(os.path.join(directory, device))
                    copy = LDict(spec, loc=spec.loc)
                    copy.key_locs = dict(spec.key_locs)
                    copy["driver_opts"] = copy_opts
                    new[name] = copy
        out["volumes"] = new
    return out


def _import(target: LDict, imported: LDict, entry: _Entry) -> None:
    """Copy the imported resources into ``target``; a differing duplicate is an error."""
    for section in RESOURCES:
        source = imported.get(section)
        if not isinstance(source, Mapping) or not source:
            continue
        existing = target.get(section)
        if existing is None:
            existing = LDict(loc=getattr(source, "loc", None))
        elif not isinstance(existing, LDict):
            raise ck.fail(target, section, section,
                          f"expected a mapping, found {ck.describe(existing)}")
        merged = LDict(existing, loc=existing.loc)
        merged.key_locs = dict(existing.key_locs)
        for name, value in source.items():
            if name in merged:
                if _same(merged[name], value):
                    continue
                mine = loc_of(merged, name)
                theirs = loc_of(source, name)
                raise SpecError(
                    f"{section}.{name} conflicts with imported resource",
                    detail=f"It is defined at {mine.file if mine else '?'}"
                           f"{f':{mine.line}' if mine and mine.line else ''} and, differently, "
                           f"at {theirs.file if theirs else '?'}"
                           f"{f':{theirs.line}' if theirs and theirs.line else ''}. Rename or "
                           "remove one; to change an included definition on purpose, list an "
                           "override file after it in this include's path.",
                    location=entry.where)
            merged[name] = value
            where: Location | None = getattr(source, "key_locs", {}).get(name, entry.where)
            if where is not None:
                merged.key_locs[name] = where
        target[section] = merged
        section_where: Location | None = getattr(source, "loc", None) or entry.where
        if section_where is not None:
            target.key_locs.setdefault(section, section_where)


def _same(a: Any, b: Any) -> bool:
    """Equal as stack-file values (locations ignored; ``!reset`` tags already resolved)."""
    return bool(strip_tags(a) == strip_tags(b))
