"""Merge stack files (``-f a.yaml -f b.yaml``) and ``extends`` bases with the Compose rules.

Pipeline position: yamlsrc → interpolate → extends → **merge** → parse. Inputs are located
trees; the result is a new tree (untouched subtrees are shared, never mutated) whose values keep
the location of the file they came from.

Rules: mappings merge recursively; sequences append; scalars are replaced. Per service:
``command``, ``entrypoint`` and ``healthcheck.test`` are replaced; ``ports`` merge by
ip+published+target+protocol, ``volumes`` by target, ``secrets``/``configs`` by target (else
source), ``env_file`` by path; ``environment``, ``labels``, ``annotations``, ``extra_hosts``,
``sysctls``, ``build.args``/``labels``/``extra_hosts`` and ``deploy.labels`` merge by key, list
form (``KEY=VAL``) normalized to a mapping when both sides exist; ``dns``, ``expose``,
``cap_add`` and the other string lists append without duplicates; ``depends_on`` and
``networks`` normalize list form to a mapping and merge by name; ``build: ctx`` becomes
``{context: ctx}``; ``logging`` with a different driver is replaced. In the overriding file,
``!reset`` removes the value and ``!override`` replaces it instead of merging.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stackup.loader.located import LDict, LList
from stackup.loader.yamlsrc import Override, Reset

Path = tuple[str, ...]
Merger = Callable[[Path, Any, Any], Any]
_S = ("services", "*")


def strip_tags(tree: Any) -> Any:
    """Resolve leftover ``!reset`` (key removed) / ``!override`` (plain value) wrappers.

    Returns ``tree`` itself when it holds no wrappers (copy on write otherwise)."""
    if isinstance(tree, Override):
        return strip_tags(tree.value)
    if isinstance(tree, LDict):
        out: LDict | None = None
        for key, value in tree.items():
            new = strip_tags(value)
            if new is value and not isinstance(value, Reset):
                continue
            if out is None:
                out = _copy_dict(tree)
            if isinstance(value, Reset):
                del out[key]
                out.key_locs.pop(key, None)
            else:
                out[key] = new
        return tree if out is None else out
    if isinstance(tree, LList):
        if not any(isinstance(v, (LDict, LList, Reset, Override)) for v in tree):
            return tree
        lst = LList(loc=tree.loc)
        for idx, value in enumerate(tree):
            if not isinstance(value, Reset):
                _append(lst, strip_tags(value), _item_loc(tree, idx))
        return lst
    return tree


def merge_documents(base: LDict, override: LDict) -> LDict:
    """``override`` (a later file) merged onto ``base`` (the files before it)."""
    result = _merge_map((), strip_tags(base), override)
    return result if isinstance(result, LDict) else LDict(loc=base.loc)


def merge_services(base: LDict, override: LDict, name: str) -> LDict:
    """One service definition merged onto another (used by ``extends``)."""
    result = _merge_value(("services", name), strip_tags(base), override)
    return result if isinstance(result, LDict) else LDict(loc=override.loc)


# --- generic ---------------------------------------------------------------------------


def _copy_dict(src: LDict) -> LDict:
    out = LDict(src, loc=src.loc)
    out.key_locs = dict(src.key_locs)
    return out


def _item_loc(lst: Any, idx: int) -> Any:
    locs = getattr(lst, "item_locs", [])
    return locs[idx] if idx < len(locs) else getattr(lst, "loc", None)


def _append(lst: LList, value: Any, loc: Any) -> None:
    lst.append(value)
    lst.item_locs.append(loc)


def _pattern(path: Path) -> Path:
    if len(path) >= 2 and path[0] in ("services", "networks", "volumes", "secrets", "configs"):
        return (path[0], "*", *path[2:])
    return path


def _merge_value(path: Path, base: Any, over: Any) -> Any:
    if isinstance(over, Override):
        return strip_tags(over.value)
    rule = _RULES.get(_pattern(path))
    if rule is not None:
        return rule(path, base, over)
    return _generic(path, base, over)


def _generic(path: Path, base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        return _merge_map(path, base, over)
    if isinstance(base, list) and isinstance(over, list):
        return _concat(base, over, unique=False)
    return strip_tags(over)


def _merge_map(path: Path, base: Any, over: Any) -> Any:
    out = _copy_dict(base) if isinstance(base, LDict) else LDict(base, loc=getattr(over, "loc", None))
    over_locs = getattr(over, "key_locs", {})
    for key, value in over.items():
        if isinstance(value, Reset):
            out.pop(key, None)
            out.key_locs.pop(key, None)
            continue
        if key in out:
            out[key] = _merge_value((*path, str(key)), out[key], value)
        else:
            out[key] = strip_tags(value)
        if key in over_locs:
            out.key_locs[key] = over_locs[key]
    return out


def _concat(base: list[Any], over: list[Any], *, unique: bool,
            key: Callable[[Any], Any] | None = None) -> LList:
    """``base`` then ``over``; with ``key``, an item of ``over`` replaces the base item it keys
    to; with ``unique``, equal items are kept once."""
    out = LList(loc=getattr(base, "loc", None) or getattr(over, "loc", None))
    index: dict[Any, int] = {}
    for src in (base, over):
        for idx, raw in enumerate(src):
            if isinstance(raw, Reset):
                continue
            item = strip_tags(raw)
            k = key(item) if key is not None else (_hashable(item) if unique else None)
            if k is not None and k in index:
                at = index[k]
                out[at] = item
                out.item_locs[at] = _item_loc(src, idx)
                continue
            if k is not None:
                index[k] = len(out)
            _append(out, item, _item_loc(src, idx))
    return out


def _hashable(item: Any) -> Any:
    if isinstance(item, dict):
        return ("map", tuple((k, _hashable(v)) for k, v in item.items()))
    if isinstance(item, list):
        return ("seq", tuple(_hashable(v) for v in item))
    return ("val", type(item).__name__, item)


# --- normalization -------------------------------------------------------------------------


def _as_map(value: Any, split: Callable[[str], tuple[str, Any]],
            default: Callable[[], Any] = lambda: None) -> Any:
    """A list form (``KEY=VAL``, ``name``) as an LDict; mappings are returned as they are."""
    if not isinstance(value, list):
        return value
    out = LDict(loc=getattr(value, "loc", None))
    for idx, item in enumerate(value):
        key, val = split(item) if isinstance(item, str) else (str(item), None)
        if val is None:
            val = default()
        out[key] = val
        loc = _item_loc(value, idx)
        if loc is not None:
            out.key_locs[key] = loc
    return out


def _split_eq(item: str) -> tuple[str, Any]:
    key, sep, val = item.partition("=")
    return key, (val if sep else None)


def _split_host(item: str) -> tuple[str, Any]:
    if "=" in item:
        return _split_eq(item)
    host, _, ip = item.partition(":")
    return host, ip


def _split_name(item: str) -> tuple[str, Any]:
    return item, None


def _key_value(split: Callable[[str], tuple[str, Any]]) -> Merger:
    def merge(path: Path, base: Any, over: Any) -> Any:
        if isinstance(base, (list, dict)) and isinstance(over, (list, dict)):
            return _merge_map(path, _as_map(base, split), _as_map(over, split))
        return strip_tags(over)
    return merge


def _named(default: Callable[[], Any]) -> Merger:
    """depends_on / networks: list of names or mapping, merged by name."""
    def merge(path: Path, base: Any, over: Any) -> Any:
        if not (isinstance(base, (list, dict)) and isinstance(over, (list, dict))):
            return strip_tags(over)
        b, o = _as_map(base, _split_name, default), _as_map(over, _split_name, default)
        out = _merge_map(path, b, LDict(loc=getattr(o, "loc", None)))
        for key, value in o.items():
            if isinstance(value, Reset):
                out.pop(key, None)
                continue
            old = out.get(key)
            if isinstance(old, dict) and isinstance(value, dict):
                out[key] = _merge_map((*path, key), old, value)
            elif value is not None or key not in out:
                out[key] = strip_tags(value)
            if key in getattr(o, "key_locs", {}):
                out.key_locs[key] = o.key_locs[key]
        return out
    return merge


def _list_rule(*, unique: bool, key: Callable[[Any], Any] | None = None) -> Merger:
    def merge(path: Path, base: Any, over: Any) -> Any:
        if isinstance(base, (str, int)) and not isinstance(base, bool):
            base = LList([base])
        if isinstance(over, (str, int)) and not isinstance(over, bool):
            over = LList([over], loc=None)
        if isinstance(base, list) and isinstance(over, list):
            return _concat(base, over, unique=unique, key=key)
        return strip_tags(over)
    return merge


def _port_key(item: Any) -> Any:
    if isinstance(item, dict):
        return ("port", item.get("host_ip"), _s(item.get("published")), _s(item.get("target")),
                item.get("protocol") or "tcp")
    text = str(item)
    text, _, proto = text.partition("/")
    host_ip = None
    if text.startswith("["):
        end = text.find("]")
        host_ip, text = text[1:end], text[end + 2:]
    parts = text.rsplit(":", 2)
    if len(parts) == 3:
        host_ip, parts = parts[0], parts[1:]
    published = parts[0] if len(parts) == 2 else None
    return ("port", host_ip or None, published, parts[-1], proto or "tcp")


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def _volume_key(item: Any) -> Any:
    if isinstance(item, dict):
        return ("target", _s(item.get("target")))
    parts = str(item).split(":")
    return ("target", parts[0] if len(parts) == 1 else parts[1])


def _fileref_key(item: Any) -> Any:
    if isinstance(item, dict):
        return ("ref", _s(item.get("target") or item.get("source")))
    return ("ref", str(item))


def _env_file_key(item: Any) -> Any:
    return ("path", str(item.get("path")) if isinstance(item, dict) else str(item))


def _replace(path: Path, base: Any, over: Any) -> Any:
    return strip_tags(over)


def _build(path: Path, base: Any, over: Any) -> Any:
    def norm(value: Any) -> Any:
        return LDict({"context": value}, loc=None) if isinstance(value, str) else value
    return _generic(path, norm(base), norm(over))


def _logging(path: Path, base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        if over.get("driver") is not None and base.get("driver") not in (None, over["driver"]):
            return strip_tags(over)
    return _generic(path, base, over)


_KV = _key_value(_split_eq)
_HOSTS = _key_value(_split_host)
_UNIQUE = _list_rule(unique=True)
_RULES: dict[Path, Merger] = {
    (*_S, "command"): _replace,
    (*_S, "entrypoint"): _replace,
    (*_S, "healthcheck", "test"): _replace,
    (*_S, "environment"): _KV,
    (*_S, "labels"): _KV,
    (*_S, "annotations"): _KV,
    (*_S, "sysctls"): _KV,
    (*_S, "extra_hosts"): _HOSTS,
    (*_S, "build"): _build,
    (*_S, "build", "args"): _KV,
    (*_S, "build", "labels"): _KV,
    (*_S, "build", "extra_hosts"): _HOSTS,
    (*_S, "deploy", "labels"): _KV,
    (*_S, "logging"): _logging,
    (*_S, "ports"): _list_rule(unique=True, key=_port_key),
    (*_S, "volumes"): _list_rule(unique=True, key=_volume_key),
    (*_S, "secrets"): _list_rule(unique=True, key=_fileref_key),
    (*_S, "configs"): _list_rule(unique=True, key=_fileref_key),
    (*_S, "env_file"): _list_rule(unique=True, key=_env_file_key),
    (*_S, "depends_on"): _named(lambda: LDict({"condition": "service_started"})),
    (*_S, "networks"): _named(lambda: None),
    **{(*_S, name): _UNIQUE for name in (
        "dns", "dns_search", "dns_opt", "expose", "cap_add", "cap_drop", "security_opt",
        "devices", "tmpfs", "group_add", "profiles", "links", "external_links", "volumes_from",
        "device_cgroup_rules")},
    **{(kind, "*", "labels"): _KV for kind in ("networks", "volumes", "secrets", "configs")},
}
