"""Service sections with rules of their own: ``build``, ``deploy``, ``extra_hosts``, ``env_file``.

Pipeline position: called by ``loader.parse_service`` for the ``build`` and ``deploy`` keys of a
service; raw ``LDict`` in, frozen model parts out. Kept apart only to keep modules short.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from stackup.core.model import (BuildSecret, BuildSpec, Deploy, DeviceRequest, FileObject, FrozenMap,
                           Resources, RestartPolicy, Ulimit, UpdateConfig)
from stackup.loader import check as ck
from stackup.loader import units
from stackup.loader.limits import read_text

_BUILDKIT_KEYS = ("cache_to", "additional_contexts", "ssh", "secrets", "tags", "platforms",
                   "privileged", "isolation", "ulimits", "entitlements", "provenance", "sbom")
_BUILD_KEYS = frozenset({"context", "dockerfile", "dockerfile_inline", "args", "target",
                         "labels", "network", "extra_hosts", "shm_size", "cache_from",
                         "no_cache", "pull", *_BUILDKIT_KEYS})
_BUILD_UNSUPPORTED: frozenset[str] = frozenset()  # every build key of the spec is modelled


def _is_url(context: str) -> bool:
    return "://" in context or context.startswith(("git@", "github.com/"))


def parse_extra_hosts(raw: Any, key: str, path: str) -> tuple[str, ...]:
    """A list of ``host:ip`` / ``host=ip`` or a map host → ip (or list of ips) → ``host:ip``."""
    value = raw[key]
    out: list[str] = []
    if isinstance(value, Mapping):
        for host in value:
            ips = value[host]
            for ip in (ips if isinstance(ips, list) else [ips]):
                out.append(f"{host}:{ip}")
        return tuple(out)
    for i, item in enumerate(ck.as_str_list(raw, key, path)):
        host, sep, ip = item.partition("=")
        if not sep:
            host, sep, ip = item.partition(":")
        if not sep or not host or not ip:
            raise ck.fail(value, i, f"{path}[{i}]", f"expected 'host:ip', found {item!r}")
        out.append(f"{host}:{ip}")
    return tuple(out)


def parse_build(raw: Any, key: str, path: str, resolve: Callable[[str], str], *,
                warnings: list[str] | None = None, environ: Mapping[str, str] | None = None,
                secrets: Mapping[str, FileObject] | None = None) -> BuildSpec:
    """``build: ./dir`` or the long mapping → BuildSpec (context made absolute unless a URL).

    Keys stackup does not model go to ``warnings`` with their file and line; ``args`` given by
    name only take their value from ``environ``, as Compose does (left out when unset); build
    ``secrets`` are resolved against the top-level ``secrets``."""
    value = raw[key]
    if isinstance(value, str):
        return BuildSpec(context=value if _is_url(value) else resolve(value),
                         dockerfile="Dockerfile")
    spec = ck.as_mapping(raw, key, path)
    ck.check_keys(spec, _BUILD_KEYS, path, unsupported=_BUILD_UNSUPPORTED, warnings=warnings)
    context = ck.as_str(spec, "context", f"{path}.context") if "context" in spec else "."
    kw: dict[str, Any] = {"context": context if _is_url(context) else resolve(context)}
    for name in ("dockerfile", "dockerfile_inline", "target", "network"):
        if spec.get(name) is not None:
            kw[name] = ck.as_str(spec, name, f"{path}.{name}")
    if "dockerfile" not in kw and "dockerfile_inline" not in kw:
        kw["dockerfile"] = "Dockerfile"  # as Compose normalizes it
    if spec.get("args") is not None:
        env = environ or {}
        args = ck.as_dict_of_str(spec, "args", f"{path}.args", missing=env.get)
        kw["args"] = FrozenMap(sorted(args.items()))
    if spec.get("labels") is not None:
        labels = ck.as_dict_of_str(spec, "labels", f"{path}.labels")
        kw["labels"] = FrozenMap(sorted((k, v or "") for k, v in labels.items()))
    if spec.get("extra_hosts") is not None:
        kw["extra_hosts"] = parse_extra_hosts(spec, "extra_hosts", f"{path}.extra_hosts")
    if spec.get("shm_size") is not None:
        kw["shm_size"] = ck.convert(spec, "shm_size", f"{path}.shm_size", units.parse_size)
    if spec.get("cache_from") is not None:
        kw["cache_from"] = ck.as_str_list(spec, "cache_from", f"{path}.cache_from")
    for name in ("no_cache", "pull"):
        if spec.get(name) is not None:
            kw[name] = ck.as_bool(spec, name, f"{path}.{name}")
    _buildkit_options(spec, path, resolve, secrets or {}, kw)
    return BuildSpec(**kw)


def _buildkit_options(spec: Any, path: str, resolve: Callable[[str], str],
                      secrets: Mapping[str, FileObject], kw: dict[str, Any]) -> None:
    """The keys only BuildKit applies, and where each was written (``BuildSpec.origins``)."""
    for name in ("cache_to", "ssh", "tags", "platforms", "entitlements"):
        if spec.get(name) is not None and not isinstance(spec[name], Mapping):
            kw[name] = ck.as_str_list(spec, name, f"{path}.{name}", allow_string=name == "ssh")
    if isinstance(spec.get("ssh"), Mapping):
        kw["ssh"] = tuple(f"{k}={v}" if v else str(k) for k, v in
                          ck.as_dict_of_str(spec, "ssh", f"{path}.ssh").items())
    if spec.get("additional_contexts") is not None:
        contexts = ck.as_dict_of_str(spec, "additional_contexts", f"{path}.additional_contexts")
        kw["additional_contexts"] = FrozenMap(sorted(
            (k, v if v is None or "://" in v or v.startswith(("docker-image:", "target:",
                                                              "oci-layout:")) else resolve(v))
            for k, v in contexts.items() if v is not None))
    for name in ("isolation", "provenance", "sbom"):
        if spec.get(name) is not None:
            kw[name] = ck.scalar_str(spec, name, f"{path}.{name}")
    if spec.get("privileged") is not None:
        kw["privileged"] = ck.as_bool(spec, "privileged", f"{path}.privileged")
    if spec.get("ulimits") is not None:
        kw["ulimits"] = parse_ulimits(spec, "ulimits", f"{path}.ulimits")
    if spec.get("secrets") is not None:
        kw["secrets"] = _build_secrets(spec, f"{path}.secrets", secrets)
    kw["origins"] = FrozenMap((f"build.{name}", ck.short_where(spec, name))
                              for name in _BUILDKIT_KEYS if spec.get(name) is not None)


def _build_secrets(spec: Any, path: str,
                   secrets: Mapping[str, FileObject]) -> tuple[BuildSecret, ...]:
    items = ck.as_list(spec, "secrets", path)
    out: list[BuildSecret] = []
    for i, item in enumerate(items):
        sub = f"{path}[{i}]"
        target = None
        if isinstance(item, Mapping):
            ck.check_keys(item, ("source", "target", "uid", "gid", "mode"), sub)
            if "source" not in item:
                raise ck.fail(items, i, sub, "expected 'source'")
            source = ck.as_str(item, "source", f"{sub}.source")
            target = ck.opt_str(item, "target", sub) if "target" in item else None
        else:
            source = ck.as_str(items, i, sub)
        obj = secrets.get(source)
        if obj is None:
            raise ck.reference_error(items, i, sub, "secret", source, frozenset(secrets))
        if obj.external:
            raise ck.fail(items, i, sub, f"secret {source} is external: a build can only use "
                                         "secrets with file, environment or content")
        out.append(BuildSecret(source=source, target=target, file=obj.file,
                               environment=obj.environment,
                               content=None if obj.file is not None else (obj.content or "")))
    return tuple(out)


def parse_ulimits(raw: Any, key: str, path: str) -> tuple[Ulimit, ...]:
    """``ulimits`` (of a service or a build): a map of name → number or {soft, hard}."""
    limits = ck.as_mapping(raw, key, path)
    out = []
    for name in limits:
        sub = f"{path}.{name}"
        if isinstance(limits[name], Mapping):
            opts = limits[name]
            ck.check_keys(opts, ("soft", "hard"), sub)
            if "soft" not in opts or "hard" not in opts:
                raise ck.fail(limits, name, sub, "expected both 'soft' and 'hard'")
            soft = ck.as_int(opts, "soft", f"{sub}.soft", minimum=None)
            hard = ck.as_int(opts, "hard", f"{sub}.hard", minimum=None)
        else:
            soft = hard = ck.as_int(limits, name, sub, minimum=None)
        out.append(Ulimit(str(name), soft, hard))
    return tuple(sorted(out, key=lambda u: u.name))


def parse_device_requests(raw: Any, key: str, path: str, *,
                          gpu: bool = False) -> tuple[DeviceRequest, ...]:
    """``gpus`` (``all`` or a list) and ``deploy.resources.reservations.devices`` → device
    requests. ``gpus`` add the ``gpu`` capability, as Compose does."""
    value = raw[key]
    if gpu and value == "all":
        return (DeviceRequest(capabilities=("gpu",), count=-1),)
    items = ck.as_list(raw, key, path)
    out = []
    for i, item in enumerate(items):
        sub = f"{path}[{i}]"
        opts = ck.as_mapping(items, i, sub)
        ck.check_keys(opts, ("capabilities", "count", "device_ids", "driver", "options"), sub)
        caps = ck.as_str_list(opts, "capabilities", f"{sub}.capabilities") \
            if opts.get("capabilities") is not None else ()
        if gpu and "gpu" not in caps:
            caps = (*caps, "gpu")
        if not caps:
            raise ck.fail(items, i, sub, "a device request needs 'capabilities' (e.g. [gpu])")
        count = None
        if opts.get("count") is not None:
            count = -1 if opts["count"] == "all" else ck.as_int(opts, "count", f"{sub}.count")
        if count is not None and opts.get("device_ids") is not None:
            raise ck.fail(opts, "count", f"{sub}.count", "use either 'count' or 'device_ids'")
        options = ck.as_dict_of_str(opts, "options", f"{sub}.options") \
            if opts.get("options") is not None else {}
        out.append(DeviceRequest(
            capabilities=tuple(caps), count=count,
            device_ids=ck.as_str_list(opts, "device_ids", f"{sub}.device_ids")
            if opts.get("device_ids") is not None else (),
            driver=ck.opt_str(opts, "driver", sub) if "driver" in opts else None,
            options=FrozenMap(sorted((k, v or "") for k, v in options.items()))))
    return tuple(out)


_DEPLOY_KEYS = frozenset({"mode", "replicas", "labels", "resources", "restart_policy",
                          "update_config", "rollback_config", "placement", "endpoint_mode"})
_UPDATE_KEYS = frozenset({"parallelism", "delay", "failure_action", "monitor",
                          "max_failure_ratio", "order"})


def _resources(opts: Any, key: str, path: str, warnings: list[str]) -> Resources:
    res = ck.as_mapping(opts, key, path)
    reservations = path.endswith(".reservations")
    ck.check_keys(res, ("cpus", "memory", "pids", *(("devices",) if reservations else ())),
                  path, warnings=warnings,
                  unsupported=frozenset({"generic_resources"} if reservations
                                        else {"devices", "generic_resources"}))
    return Resources(
        devices=parse_device_requests(res, "devices", f"{path}.devices")
        if reservations and res.get("devices") is not None else (),
        cpus=ck.as_float(res, "cpus", f"{path}.cpus") if res.get("cpus") is not None else None,
        memory=ck.convert(res, "memory", f"{path}.memory", units.parse_size)
        if res.get("memory") is not None else None,
        pids=ck.as_int(res, "pids", f"{path}.pids", minimum=-1)
        if res.get("pids") is not None else None)


def _update(opts: Any, key: str, path: str) -> UpdateConfig:
    cfg = ck.as_mapping(opts, key, path)
    ck.check_keys(cfg, _UPDATE_KEYS, path)
    kw: dict[str, Any] = {}
    for name in cfg:
        if cfg[name] is None:
            continue
        sub = f"{path}.{name}"
        if name == "parallelism":
            kw[name] = ck.as_int(cfg, name, sub)
        elif name in ("delay", "monitor"):
            kw[name] = ck.convert(cfg, name, sub, units.parse_duration)
        elif name == "max_failure_ratio":
            kw[name] = ck.as_float(cfg, name, sub)
        elif name == "order":
            kw[name] = ck.as_choice(cfg, name, sub, ("stop-first", "start-first"))
        else:
            kw[name] = ck.as_str(cfg, name, sub)
    return UpdateConfig(**kw)


def parse_deploy(raw: Any, key: str, path: str, warnings: list[str]) -> Deploy:
    """``deploy:`` → Deploy (the parts a single-host engine can honour, and Swarm's extras)."""
    spec = ck.as_mapping(raw, key, path)
    ck.check_keys(spec, _DEPLOY_KEYS, path)
    kw: dict[str, Any] = {}
    if spec.get("mode") is not None:
        kw["mode"] = ck.as_choice(spec, "mode", f"{path}.mode",
                                  ("replicated", "global", "replicated-job", "global-job"))
    if spec.get("replicas") is not None:
        kw["replicas"] = ck.as_int(spec, "replicas", f"{path}.replicas")
    if spec.get("labels") is not None:
        labels = ck.as_dict_of_str(spec, "labels", f"{path}.labels")
        kw["labels"] = FrozenMap(sorted((k, v or "") for k, v in labels.items()))
    if spec.get("endpoint_mode") is not None:
        kw["endpoint_mode"] = ck.as_choice(spec, "endpoint_mode", f"{path}.endpoint_mode",
                                           ("vip", "dnsrr"))
    if spec.get("resources") is not None:
        res = ck.as_mapping(spec, "resources", f"{path}.resources")
        ck.check_keys(res, ("limits", "reservations"), f"{path}.resources")
        for part in ("limits", "reservations"):
            if res.get(part) is not None:
                kw[part] = _resources(res, part, f"{path}.resources.{part}", warnings)
    if spec.get("restart_policy") is not None:
        sub = f"{path}.restart_policy"
        pol = ck.as_mapping(spec, "restart_policy", sub)
        ck.check_keys(pol, ("condition", "delay", "max_attempts", "window"), sub)
        kw["restart_policy"] = RestartPolicy(
            condition=ck.as_choice(pol, "condition", f"{sub}.condition",
                                   ("none", "on-failure", "any"))
            if pol.get("condition") is not None else None,
            delay=ck.convert(pol, "delay", f"{sub}.delay", units.parse_duration)
            if pol.get("delay") is not None else None,
            max_attempts=ck.as_int(pol, "max_attempts", f"{sub}.max_attempts")
            if pol.get("max_attempts") is not None else None,
            window=ck.convert(pol, "window", f"{sub}.window", units.parse_duration)
            if pol.get("window") is not None else None)
    for part in ("update_config", "rollback_config"):
        if spec.get(part) is not None:
            kw[part] = _update(spec, part, f"{path}.{part}")
    if spec.get("placement") is not None:
        sub = f"{path}.placement"
        place = ck.as_mapping(spec, "placement", sub)
        ck.check_keys(place, ("constraints",), sub, warnings=warnings,
                      unsupported=frozenset({"preferences", "max_replicas_per_node"}))
        if place.get("constraints") is not None:
            kw["placement_constraints"] = ck.as_str_list(place, "constraints",
                                                         f"{sub}.constraints")
    return Deploy(**kw)


def read_env_files(raw: Any, path: str, ctx: Any) -> dict[str, str | None]:
    """The ``env_file`` entries of a service, merged in order (later files win)."""
    value = raw["env_file"]
    items = value if isinstance(value, list) else [value]
    container = value if isinstance(value, list) else raw
    env: dict[str, str | None] = {}
    for i, item in enumerate(items):
        key: Any = i if isinstance(value, list) else "env_file"
        sub = f"{path}.env_file[{i}]" if isinstance(value, list) else f"{path}.env_file"
        required, fmt = True, None
        if isinstance(item, Mapping):
            ck.check_keys(item, ("path", "required", "format"), sub)
            if "path" not in item:
                raise ck.fail(container, key, sub, "expected 'path'")
            file = ck.as_str(item, "path", f"{sub}.path")
            if "required" in item:
                required = ck.as_bool(item, "required", f"{sub}.required")
            fmt = ck.opt_str(item, "format", sub) if "format" in item else None
        elif isinstance(item, str):
            file = item
        else:
            raise ck.fail(container, key, sub, f"expected a file path, found {ck.describe(item)}")
        full = ctx.path(file)
        if full not in ctx.env_cache:
            try:
                ctx.env_cache[full] = read_text(full, encoding="utf-8")
            except OSError as exc:
                if not required:
                    continue
                raise ck.fail(container, key, sub,
                              f"cannot read env_file {full}: {exc.strerror}") from None
        # ``$VAR`` in a value: the files read before first, then the project's environment
        lookup = {**ctx.environ, **{k: v for k, v in env.items() if v is not None}}
        env.update(parse_env_text(ctx.env_cache[full], ctx.environ, raw=fmt == "raw",
                                  lookup=lookup, file=full))
    return env


def parse_env_text(text: str, environ: Mapping[str, str], *, raw: bool = False,
                   lookup: Mapping[str, str] | None = None, file: str = ""
                   ) -> dict[str, str | None]:
    """``KEY=VALUE`` lines (``#`` comments, ``export``, quotes) → dict; bare ``KEY`` from environ.

    With ``lookup`` (and not ``raw``), ``$VAR``/``${VAR...}`` in unquoted and double-quoted
    values expand, as Compose's env_file does: keys set earlier in the file first, then
    ``lookup``; an unset variable is empty. Single quotes keep the text as written."""
    from stackup.core.errors import Location
    from stackup.loader.interpolate import interpolate_string

    out: dict[str, str | None] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep:
            out[name] = environ.get(name)
            continue
        value = value.strip()
        quote = ""
        if not raw and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            quote, value = value[0], value[1:-1]
            if quote == '"':
                value = value.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
        elif not raw and " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        if lookup is not None and not raw and quote != "'" and "$" in value:
            scope = {**lookup, **{k: v for k, v in out.items() if v is not None}}
            value = interpolate_string(value, scope, Location(file, number) if file else None)
        out[name] = value
    return out
