"""Resolve ``extends:`` in one stack file's services.

Pipeline position: yamlsrc → interpolate → **extends** → merge → parse. Runs per file, before
the files are merged. ``read(path)`` returns another file's (already interpolated) tree.

Forms: ``extends: base`` (same file), ``extends: {service: base}`` and
``extends: {file: other.yaml, service: base}``. Chains are followed, cycles are a ``SpecError``
naming the chain. The base service is merged under the extending one with ``loader.merge`` rules.
Relative paths in a service taken from a file in another directory (``build``/``build.context``,
``env_file``, ``./``/``../`` bind-mount sources, ``extends.file``) are made **absolute**
against that file's directory, so they keep pointing at the same place.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from stackup.core.errors import Location, SpecError
from stackup.loader.located import LDict, LList, loc_of
from stackup.loader.merge import merge_services, strip_tags

Reader = Callable[[str], LDict]


class _Resolver:
    def __init__(self, read: Reader) -> None:
        self.read = read
        self.trees: dict[str, LDict] = {}
        self.done: dict[tuple[str, str], LDict] = {}

    def tree(self, file: str, where: Location | None) -> LDict:
        if file not in self.trees:
            try:
                self.trees[file] = self.read(file)
            except FileNotFoundError:
                raise SpecError(f"extends: cannot find file {file}", location=where) from None
            except OSError as err:
                raise SpecError(f"extends: cannot read {file}: {err.strerror}",
                                location=where) from None
        return self.trees[file]

    def service(self, file: str, name: str, chain: list[tuple[str, str]],
                where: Location | None) -> LDict:
        key = (file, name)
        if key in self.done:
            return self.done[key]
        if key in chain:
            cycle = [*chain[chain.index(key):], key]
            text = " -> ".join(f"{n} ({os.path.basename(f)})" for f, n in cycle)
            raise SpecError(f"extends cycle: {text}",
                            detail="A service cannot extend itself, directly or indirectly.",
                            location=where)
        services = self.tree(file, where).get("services")
        if not isinstance(services, dict) or name not in services:
            raise SpecError(f'extends: service "{name}" not found in {file}', location=where)
        service = services[name]
        if service is None:
            service = LDict(loc=loc_of(services, name))
        if not isinstance(service, LDict):
            raise SpecError(f'service "{name}" must be a mapping', location=loc_of(services, name))
        result = self.expand(file, name, service, [*chain, key])
        self.done[key] = result
        return result

    def expand(self, file: str, name: str, service: LDict,
               chain: list[tuple[str, str]]) -> LDict:
        if "extends" not in service:
            return service
        spec = service["extends"]
        where = loc_of(service, "extends")
        if isinstance(spec, str):
            base_file, base_name = file, spec
        elif isinstance(spec, dict) and isinstance(spec.get("service"), str):
            base_name = spec["service"]
            other = spec.get("file")
            if other is None:
                base_file = file
            elif isinstance(other, str):
                base_file = os.path.normpath(os.path.join(os.path.dirname(file), other))
            else:
                raise SpecError("extends.file must be a string", location=loc_of(spec, "file"))
        else:
            raise SpecError("extends must be a service name or a mapping with 'service'",
                            detail="e.g. extends: {file: common.yaml, service: web}",
                            location=where)
        base = self.service(base_file, base_name, chain, where)
        if os.path.dirname(base_file) != os.path.dirname(file):
            base = _rebase(base, os.path.dirname(base_file))
        own = LDict(service, loc=service.loc)
        own.key_locs = dict(service.key_locs)
        del own["extends"]
        own.key_locs.pop("extends", None)
        return merge_services(base, own, name)


def _absolute(directory: str, path: Any) -> Any:
    if not isinstance(path, str) or not path or os.path.isabs(path) or "://" in path \
            or path.startswith(("~", "git@", "github.com/")):
        return path
    return os.path.normpath(os.path.join(directory, path))


def _rebase(service: LDict, directory: str) -> LDict:
    """A copy of ``service`` whose relative file paths are absolute against ``directory``."""
    out = LDict(service, loc=service.loc)
    out.key_locs = dict(service.key_locs)
    build = out.get("build")
    if isinstance(build, str):
        out["build"] = _absolute(directory, build)
    elif isinstance(build, dict) and "context" in build:
        new = LDict(build, loc=getattr(build, "loc", None))
        new.key_locs = dict(getattr(build, "key_locs", {}))
        new["context"] = _absolute(directory, build["context"])
        out["build"] = new
    elif isinstance(build, dict):
        new = LDict(build, loc=getattr(build, "loc", None))
        new.key_locs = dict(getattr(build, "key_locs", {}))
        new["context"] = directory
        out["build"] = new
    env_file = out.get("env_file")
    if isinstance(env_file, str):
        out["env_file"] = _absolute(directory, env_file)
    elif isinstance(env_file, list):
        out["env_file"] = _map_list(env_file, lambda item: _env_item(directory, item))
    volumes = out.get("volumes")
    if isinstance(volumes, list):
        out["volumes"] = _map_list(volumes, lambda item: _volume_item(directory, item))
    return out


def _map_list(items: list[Any], fn: Callable[[Any], Any]) -> LList:
    out = LList((fn(item) for item in items), loc=getattr(items, "loc", None))
    out.item_locs = list(getattr(items, "item_locs", []))
    return out


def _env_item(directory: str, item: Any) -> Any:
    if isinstance(item, dict) and "path" in item:
        new = LDict(item, loc=getattr(item, "loc", None))
        new.key_locs = dict(getattr(item, "key_locs", {}))
        new["path"] = _absolute(directory, item["path"])
        return new
    return _absolute(directory, item)


def _volume_item(directory: str, item: Any) -> Any:
    if isinstance(item, str):
        source, sep, rest = item.partition(":")
        if sep and source.startswith("."):
            return f"{_absolute(directory, source)}:{rest}"
        return item
    if isinstance(item, dict) and str(item.get("source", "")).startswith("."):
        new = LDict(item, loc=getattr(item, "loc", None))
        new.key_locs = dict(getattr(item, "key_locs", {}))
        new["source"] = _absolute(directory, item["source"])
        return new
    return item


def resolve_extends(tree: LDict, file: str, read: Reader) -> LDict:
    """A copy of ``tree`` (the file ``file``) with every service's ``extends`` merged in."""
    services = tree.get("services")
    if not isinstance(services, dict) or not any(
            isinstance(s, dict) and "extends" in s for s in services.values()):
        return tree
    file = os.path.normpath(file)
    resolver = _Resolver(read)
    resolver.trees[file] = tree
    new_services = LDict(services, loc=getattr(services, "loc", None))
    new_services.key_locs = dict(getattr(services, "key_locs", {}))
    for name, service in services.items():
        if isinstance(service, LDict) and "extends" in service:
            new_services[name] = strip_tags(resolver.service(file, name, [], None))
    out = LDict(tree, loc=tree.loc)
    out.key_locs = dict(tree.key_locs)
    out["services"] = new_services
    return out
