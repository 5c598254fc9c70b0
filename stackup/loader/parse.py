"""The merged, interpolated raw tree → a validated ``model.Project``.

Pipeline position: the last step of ``loader``. The loader reads files, interpolates, merges and
resolves ``extends``, then calls :func:`parse_project`. This module parses the project level and
the top-level resources (networks, volumes, secrets, configs), hands each service to
``loader.parse_service``, applies profiles, adds the implicit ``default`` network and checks
depends_on for cycles. Nothing past this point sees raw YAML.
"""

from __future__ import annotations

import dataclasses
import os
import re
import stat
from collections.abc import Mapping
from hashlib import sha256
from typing import Any

from stackup.core.errors import CycleError, ProjectError, SpecError
from stackup.core.model import (FileObject, FrozenMap, Ipam, IpamPool, Network, Project, Service,
                           Volume)
from stackup.loader import check as ck
from stackup.loader.located import loc_of
from stackup.loader.parse_context import Context
from stackup.loader.parse_service import parse_service

_TOP_KEYS = frozenset({"version", "name", "services", "networks", "volumes", "secrets",
                       "configs", "include"})
_SERVICE_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
_PROJECT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_NETWORK_KEYS = frozenset({"driver", "driver_opts", "internal", "attachable", "external", "name",
                           "ipam", "enable_ipv6", "labels", "enable_ipv4"})
_VOLUME_KEYS = frozenset({"driver", "driver_opts", "external", "name", "labels"})
_FILE_KEYS = frozenset({"file", "environment", "content", "external", "name", "labels"})
_FILE_UNSUPPORTED = frozenset({"driver", "driver_opts", "template_driver"})


def parse_project(tree: Any, *, project_name: str, working_dir: str, environ: Mapping[str, str],
                  profiles: tuple[str, ...], requested_services: tuple[str, ...],
                  config_files: tuple[str, ...], warnings: list[str],
                  scopes: Mapping[tuple[str, str], Mapping[str, str]] | None = None) -> Project:
    """Validate the whole tree and build the Project (raises a located SpecError)."""
    if not isinstance(tree, Mapping):
        raise SpecError("a stack file must be a mapping with a 'services' key",
                        location=loc_of(tree))
    if "models" in tree:  # Compose's AI models: one line saying why, not "unknown key"
        from stackup.loader.parse_limits import REFUSED

        raise ck.fail(tree, "models", "models", f"not supported: {REFUSED['models']}")
    ck.check_keys(tree, _TOP_KEYS, "")
    if "version" in tree:
        warnings.append(f"the attribute 'version' is obsolete and ignored{ck.short_where(tree, 'version')}")
    name = project_name or (ck.as_str(tree, "name", "name") if tree.get("name") else "")
    if not _PROJECT_NAME.fullmatch(name or ""):
        raise ProjectError(f"invalid project name {name!r}",
                           detail="Use lowercase letters, digits, dashes and underscores, "
                                  "starting with a letter or digit.")
    ctx = Context(working_dir=working_dir, environ=environ, warnings=warnings)
    networks = _section(tree, "networks", lambda c, k, p: _network(c, k, p, name))
    volumes = _section(tree, "volumes", lambda c, k, p: _volume(c, k, p, name, ctx))
    scoped = _Scopes(ctx, scopes or {})
    secrets = _section(tree, "secrets",
                       lambda c, k, p: _file_object(c, k, p, name, scoped("secrets", k)))
    configs = _section(tree, "configs",
                       lambda c, k, p: _file_object(c, k, p, name, scoped("configs", k)))
    raw_services = tree.get("services")
    if raw_services is None and "services" in tree:
        raise ck.fail(tree, "services", "services", "expected a mapping of service names, "
                                                    "found null")
    if raw_services is None:
        raw_services = {}
    elif not isinstance(raw_services, Mapping):
        raise ck.fail(tree, "services", "services", "expected a mapping of service names, "
                                                    f"found {ck.describe(raw_services)}")
    ctx.networks, ctx.volumes = frozenset(networks), frozenset(volumes)
    ctx.secrets, ctx.configs = frozenset(secrets), frozenset(configs)
    ctx.secret_objects = secrets  # build secrets are resolved against them
    ctx.services = frozenset(str(k) for k in raw_services)
    parsed: dict[str, Service] = {}
    for key in raw_services:
        sname = str(key)
        if not _SERVICE_NAME.fullmatch(sname):
            raise ck.fail(raw_services, key, f"services.{sname}",
                          f"invalid service name {sname!r}: use letters, digits, '_', '.', '-'")
        raw = raw_services[key]
        if not isinstance(raw, Mapping):
            raise ck.fail(raw_services, key, f"services.{sname}",
                          f"expected a mapping, found {ck.describe(raw)}")
        ctx.service_loc = ck.where(raw_services, key, f"services.{sname}")
        parsed[sname] = parse_service(sname, raw, scoped("services", sname))
    active, disabled = _apply_profiles(parsed, raw_services, profiles, requested_services)
    if any(n.name == "default" for s in active.values() for n in s.networks) and \
            "default" not in networks:
        networks["default"] = Network(key="default", name=f"{name}_default")
    project = Project(
        name=name, working_dir=working_dir,
        services=FrozenMap(sorted(active.items())),
        networks=FrozenMap(sorted(networks.items())),
        volumes=FrozenMap(sorted(volumes.items())),
        secrets=FrozenMap(sorted(secrets.items())),
        configs=FrozenMap(sorted(configs.items())),
        disabled_services=FrozenMap(sorted(disabled.items())),
        config_files=tuple(config_files),
        extensions=ck.extensions_of(tree))
    _check_cycles(project, raw_services)
    return project


class _Scopes:
    """The parse context of one resource: an included file's services, secrets and configs
    read their environment (``environment: [KEY]``, env_file values, ``secrets.x.environment``)
    from the include's scope (``loader.include``: the including environment plus the include's
    env_file), as Compose does; every other resource from the project's."""

    def __init__(self, ctx: Context, scopes: Mapping[tuple[str, str], Mapping[str, str]]):
        self.ctx, self.scopes = ctx, scopes

    def __call__(self, section: str, key: Any) -> Context:
        environ = self.scopes.get((section, str(key)))
        return self.ctx if environ is None else dataclasses.replace(self.ctx, environ=environ)


def _section(tree: Any, key: str, parse: Any) -> dict[str, Any]:
    value = tree.get(key)
    if value is None:
        return {}
    section = ck.as_mapping(tree, key, key)
    return {str(k): parse(section, k, f"{key}.{k}") for k in section}


def _engine_name(spec: Mapping[str, Any], path: str, key: str, project: str
                 ) -> tuple[str, bool]:
    external = False
    name = ck.as_str(spec, "name", f"{path}.name") if spec.get("name") is not None else None
    ext = spec.get("external")
    if isinstance(ext, Mapping):  # legacy `external: {name: x}`
        ck.check_keys(ext, ("name",), f"{path}.external")
        external = True
        if ext.get("name") is not None:
            name = ck.as_str(ext, "name", f"{path}.external.name")
    elif ext is not None:
        external = ck.as_bool(spec, "external", f"{path}.external")
    if name is None:
        name = key if external else f"{project}_{key}"
    return name, external


def _labels(spec: Mapping[str, Any], path: str) -> FrozenMap[str, str]:
    if spec.get("labels") is None:
        return FrozenMap()
    data = ck.as_dict_of_str(spec, "labels", f"{path}.labels")
    return FrozenMap(sorted((k, v or "") for k, v in data.items()))


def _opts(spec: Mapping[str, Any], key: str, path: str) -> FrozenMap[str, str]:
    if spec.get(key) is None:
        return FrozenMap()
    data = ck.as_dict_of_str(spec, key, f"{path}.{key}")
    return FrozenMap(sorted((k, v or "") for k, v in data.items()))


def _network(section: Any, key: Any, path: str, project: str) -> Network:
    spec = section[key] if section[key] is not None else {}
    if not isinstance(spec, Mapping):
        raise ck.fail(section, key, path, f"expected a mapping, found {ck.describe(spec)}")
    ck.check_keys(spec, _NETWORK_KEYS, path)
    name, external = _engine_name(spec, path, str(key), project)
    ipam = None
    if spec.get("ipam") is not None:
        raw = ck.as_mapping(spec, "ipam", f"{path}.ipam")
        ck.check_keys(raw, ("driver", "config", "options"), f"{path}.ipam")
        pools = []
        if raw.get("config") is not None:
            items = ck.as_list(raw, "config", f"{path}.ipam.config")
            for i in range(len(items)):
                sub = f"{path}.ipam.config[{i}]"
                pool = ck.as_mapping(items, i, sub)
                ck.check_keys(pool, ("subnet", "ip_range", "gateway", "aux_addresses"), sub)
                pools.append(IpamPool(
                    subnet=ck.opt_str(pool, "subnet", sub) if "subnet" in pool else None,
                    ip_range=ck.opt_str(pool, "ip_range", sub) if "ip_range" in pool else None,
                    gateway=ck.opt_str(pool, "gateway", sub) if "gateway" in pool else None,
                    aux_addresses=_opts(pool, "aux_addresses", sub)))
        ipam = Ipam(driver=ck.opt_str(raw, "driver", path) if "driver" in raw else None,
                    config=tuple(pools), options=_opts(raw, "options", f"{path}.ipam"))
    flag = {k: ck.as_bool(spec, k, f"{path}.{k}") for k in ("internal", "attachable",
                                                             "enable_ipv6")
            if spec.get(k) is not None}
    if spec.get("enable_ipv4") is not None:
        flag["enable_ipv4"] = ck.as_bool(spec, "enable_ipv4", f"{path}.enable_ipv4")
    return Network(key=str(key), name=name,
                   driver=ck.opt_str(spec, "driver", path) if "driver" in spec else None,
                   driver_opts=_opts(spec, "driver_opts", path), external=external, ipam=ipam,
                   labels=_labels(spec, path), **flag)


def _volume(section: Any, key: Any, path: str, project: str, ctx: Context) -> Volume:
    spec = section[key] if section[key] is not None else {}
    if not isinstance(spec, Mapping):
        raise ck.fail(section, key, path, f"expected a mapping, found {ck.describe(spec)}")
    ck.check_keys(spec, _VOLUME_KEYS, path)
    name, external = _engine_name(spec, path, str(key), project)
    driver = ck.opt_str(spec, "driver", path) if "driver" in spec else None
    return Volume(key=str(key), name=name, driver=driver,
                  driver_opts=bind_device(_opts(spec, "driver_opts", path), driver, ctx),
                  external=external, labels=_labels(spec, path))


def bind_device(opts: FrozenMap[str, str], driver: str | None,
                ctx: Context) -> FrozenMap[str, str]:
    """A ``local`` volume bound to a host folder (``o: bind``, ``device: ./data``): its
    relative ``device`` is resolved against the project directory, as Compose does; the
    engine would refuse a relative one. Any other volume's options are the driver's own."""
    device = opts.get("device")
    binds = "bind" in (o.strip() for o in opts.get("o", "").split(","))
    if driver not in (None, "local") or not binds or not device or os.path.isabs(device):
        return opts
    return FrozenMap(sorted({**opts, "device": ctx.path(device)}.items()))


def _file_object(section: Any, key: Any, path: str, project: str, ctx: Context) -> FileObject:
    spec = ck.as_mapping(section, key, path)
    ck.check_keys(spec, _FILE_KEYS, path, unsupported=_FILE_UNSUPPORTED, warnings=ctx.warnings)
    name, external = _engine_name(spec, path, str(key), project)
    sources = [k for k in ("file", "environment", "content") if spec.get(k) is not None]
    if len(sources) + external != 1:
        raise ck.fail(section, key, path, "needs exactly one of file, environment, content "
                                          "or external: true")
    kw: dict[str, Any] = {}
    if "file" in sources:
        kw["file"] = ctx.path(ck.as_str(spec, "file", f"{path}.file"))
        kw["digest"] = _file_digest(kw["file"])
    elif "environment" in sources:
        var = ck.as_str(spec, "environment", f"{path}.environment")
        if var not in ctx.environ:
            raise ck.fail(spec, "environment", f"{path}.environment",
                          f"environment variable {var!r} is not set")
        kw["environment"], kw["content"] = var, ctx.environ[var]
    elif "content" in sources:
        kw["content"] = ck.scalar_str(spec, "content", f"{path}.content")
    return FileObject(key=str(key), name=name, external=external, labels=_labels(spec, path),
                      **kw)


def _file_digest(path: str) -> str | None:
    """sha256 of a secret/config file's bytes, so that editing the file recreates the services
    using it (their config hash covers this digest, never the bytes); None when unreadable (the
    engine adapter reports that when it delivers the file). Only regular files up to 64 MiB are
    read: ``file: /dev/zero`` or a FIFO must not hang the loader."""
    digest = sha256()
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > 64 * 1024 * 1024:
            return None
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 16), b""):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def _apply_profiles(services: dict[str, Service], raw_services: Any, profiles: tuple[str, ...],
                    requested: tuple[str, ...]) -> tuple[dict[str, Service], dict[str, Service]]:
    for name in requested:
        if name not in services:
            hint = ck.suggest(name, services)
            raise SpecError(f"no such service: {name}" +
                            (f" — did you mean '{hint}'?" if hint else ""))
    wanted, every = set(profiles), "*" in profiles
    active: dict[str, Service] = {}
    disabled: dict[str, Service] = {}
    for name, svc in services.items():
        on = not svc.profiles or every or name in requested or bool(wanted & set(svc.profiles))
        (active if on else disabled)[name] = svc
    if not disabled:
        return active, disabled
    for name, svc in list(active.items()):
        kept = []
        for dep in svc.depends_on:
            if dep.service in active:
                kept.append(dep)
            elif dep.required:
                raw = raw_services[name]
                deps = raw["depends_on"]
                key: Any = dep.service if isinstance(deps, Mapping) else deps.index(dep.service)
                profs = ", ".join(disabled[dep.service].profiles)
                raise ck.fail(deps, key, f"services.{name}.depends_on.{dep.service}",
                              f"service {name!r} depends on {dep.service!r}, which is disabled "
                              f"(enable profile {profs})")
        if len(kept) != len(svc.depends_on):
            active[name] = _replace_deps(svc, tuple(kept))
    return active, disabled


def _replace_deps(svc: Service, deps: tuple[Any, ...]) -> Service:
    from dataclasses import replace

    return replace(svc, depends_on=deps)


def _check_cycles(project: Project, raw_services: Any) -> None:
    from stackup.core.graph import find_cycle

    cycle = find_cycle(project)
    if cycle is None:
        return
    first, second = cycle[0], cycle[1 % len(cycle)]
    deps = raw_services[first].get("depends_on")
    location = None
    if isinstance(deps, Mapping):
        location = ck.where(deps, second, f"services.{first}.depends_on.{second}")
    elif isinstance(deps, list) and second in deps:
        location = ck.where(deps, deps.index(second), f"services.{first}.depends_on")
    raise CycleError(cycle, location=location)
