"""The service keys of issue 20: CPU, memory and block-I/O limits, cgroup and isolation modes,
annotations, ``label_file``, ``attach``, ``use_api_socket`` and ``pull_refresh_after``.

Pipeline position: handlers of ``loader.parse_service`` (``HANDLERS`` takes ``LIMIT_HANDLERS``);
each turns one raw key into a frozen model value, with located errors. ``label_file`` is read
here, as ``env_file`` is, relative to the project directory; its labels are merged under the
service's own ``labels`` (which win), as in Compose. Keys stackup does not run (``models``,
``provider``, and a remote ``include:`` from git or OCI, which ``loader.include`` checks with
``REMOTE``) are refused here with what to use instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from stackup.core.model import BlkioConfig, FrozenMap, ThrottleDevice
from stackup.loader import check as ck
from stackup.loader import units
from stackup.loader.limits import read_text
from stackup.loader.parse_context import Context, Handler

_BLKIO_KEYS = ("weight", "weight_device", "device_read_bps", "device_write_bps",
               "device_read_iops", "device_write_iops")

# key → why a single engine cannot run it, and what to use instead
REFUSED = {
    "models": "it asks Docker Model Runner for an AI model, which stackup does not run; "
              "run the model server as a service of its own (an image with the model) instead",
    "provider": "it hands the service to a Compose provider plugin, which stackup does not "
                "run; create that resource outside stackup and pass its address to the "
                "services in environment instead",
}


# an ``include:`` path that names a git repository or an OCI artifact, not a file
REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@)", re.IGNORECASE)
REMOTE_HINT = ("stackup reads included files from this machine only; clone the repository (or "
               "pull the artifact) and include the local file instead.")


def _micros(raw: Any, key: str, path: str, ctx: Context) -> int:
    """An integer of microseconds, or a duration (``"10ms"``) as Compose accepts for the CPU
    periods and runtimes."""
    value = raw[key]
    if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
        return int(round(ck.convert(raw, key, path, units.parse_duration) * 1_000_000))
    return ck.as_int(raw, key, path, minimum=-1)


def _bounded(low: int, high: int) -> Handler:
    def parse(raw: Any, key: str, path: str, ctx: Context) -> int:
        value = ck.as_int(raw, key, path, minimum=None)
        if not low <= value <= high:
            raise ck.fail(raw, key, path, f"expected an integer from {low} to {high}, "
                                          f"found {value}")
        return value
    return parse


def _swap(raw: Any, key: str, path: str, ctx: Context) -> int:
    """``memswap_limit``: a size, or -1 for unlimited swap."""
    if str(raw[key]).strip() == "-1":
        return -1
    return ck.convert(raw, key, path, units.parse_size)


def _devices(raw: Any, key: str, path: str, field: str, size: bool) -> tuple[ThrottleDevice, ...]:
    items = ck.as_list(raw, key, path)
    out = []
    for i in range(len(items)):
        sub = f"{path}[{i}]"
        entry = ck.as_mapping(items, i, sub)
        ck.check_keys(entry, ("path", field), sub)
        for name in ("path", field):
            if entry.get(name) is None:
                raise ck.fail(items, i, sub, f"expected '{name}'")
        rate = (ck.convert(entry, field, f"{sub}.{field}", units.parse_size) if size
                else ck.as_int(entry, field, f"{sub}.{field}"))
        out.append(ThrottleDevice(ck.as_str(entry, "path", f"{sub}.path"), rate))
    return tuple(out)


def _blkio(raw: Any, key: str, path: str, ctx: Context) -> BlkioConfig:
    spec = ck.as_mapping(raw, key, path)
    ck.check_keys(spec, _BLKIO_KEYS, path)
    kw: dict[str, Any] = {}
    if spec.get("weight") is not None:
        kw["weight"] = _bounded(10, 1000)(spec, "weight", f"{path}.weight", ctx)
    for name in _BLKIO_KEYS[1:]:
        if spec.get(name) is not None:
            field = "weight" if name == "weight_device" else "rate"
            kw[name] = _devices(spec, name, f"{path}.{name}", field, name.endswith("_bps"))
    return BlkioConfig(**kw)


def _string_map(raw: Any, key: str, path: str, ctx: Context) -> FrozenMap[str, str]:
    data = ck.as_dict_of_str(raw, key, path)
    return FrozenMap(sorted((k, v or "") for k, v in data.items()))


def _credential_spec(raw: Any, key: str, path: str, ctx: Context) -> FrozenMap[str, str]:
    spec = ck.as_mapping(raw, key, path)
    ck.check_keys(spec, ("config", "file", "registry"), path)
    return FrozenMap(sorted((str(k), ck.as_str(spec, k, f"{path}.{k}")) for k in spec
                            if spec[k] is not None))


def _refused(raw: Any, key: str, path: str, ctx: Context) -> None:
    raise ck.fail(raw, key, path, f"not supported: {REFUSED[key]}")


LIMIT_HANDLERS: dict[str, Handler] = {
    "cpu_count": lambda r, k, p, c: ck.as_int(r, k, p),
    "cpu_percent": _bounded(0, 100),
    "cpu_period": _micros, "cpu_quota": _micros, "cpu_rt_period": _micros,
    "cpu_rt_runtime": _micros,
    "mem_swappiness": _bounded(0, 100),
    "memswap_limit": _swap,
    "oom_kill_disable": lambda r, k, p, c: ck.as_bool(r, k, p),
    "blkio_config": _blkio,
    "device_cgroup_rules": lambda r, k, p, c: ck.as_str_list(r, k, p),
    "storage_opt": _string_map, "annotations": _string_map,
    "uts": lambda r, k, p, c: ck.as_str(r, k, p),
    "cgroup": lambda r, k, p, c: ck.as_choice(r, k, p, ("host", "private")),
    "isolation": lambda r, k, p, c: ck.as_str(r, k, p),
    "credential_spec": _credential_spec,
    "use_api_socket": lambda r, k, p, c: ck.as_bool(r, k, p),
    "attach": lambda r, k, p, c: ck.as_bool(r, k, p),
    "pull_refresh_after": lambda r, k, p, c: ck.convert(r, k, p, units.parse_duration),
    "models": _refused, "provider": _refused,
}


def label_files(raw: Mapping[Any, Any], path: str, ctx: Context) -> dict[str, str]:
    """The labels of ``label_file`` (one path or a list; ``KEY=VALUE`` lines, as an env file),
    later files winning; a file that cannot be read is a located error."""
    value = raw["label_file"]
    items = value if isinstance(value, list) else [value]
    container: Any = value if isinstance(value, list) else raw
    out: dict[str, str] = {}
    for i, item in enumerate(items):
        key: Any = i if isinstance(value, list) else "label_file"
        sub = f"{path}.label_file[{i}]" if isinstance(value, list) else f"{path}.label_file"
        if not isinstance(item, str):
            raise ck.fail(container, key, sub, f"expected a file path, found {ck.describe(item)}")
        full = ctx.path(item)
        try:
            text = read_text(full, encoding="utf-8")
        except OSError as exc:
            raise ck.fail(container, key, sub,
                          f"cannot read label_file {full}: {exc.strerror}") from None
        from stackup.loader.parse_parts import parse_env_text

        out.update((k, v or "") for k, v in parse_env_text(text, {}).items())
    return out
