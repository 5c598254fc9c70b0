"""A service's connections to the rest of the project: ``ports``, ``volumes``, ``networks`` and
``depends_on``, short and long syntax, each reference checked against the project's names.

Pipeline position: handlers of ``parse_service`` (one call per key), pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stackup.loader import check as ck
from stackup.loader import units
from stackup.loader.parse_context import Context
from stackup.core.model import Dependency, FrozenMap, Mount, Port, ServiceNetwork

_DEP_CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")


def ports(raw: Any, key: str, path: str, ctx: Context) -> tuple[Port, ...]:
    out: list[Port] = []
    items = ck.as_list(raw, key, path)
    for i, item in enumerate(items):
        sub = f"{path}[{i}]"
        if isinstance(item, Mapping):
            ck.check_keys(item, _PORT_KEYS, sub)
            if "target" not in item:
                raise ck.fail(items, i, sub, "a long-form port needs 'target'")
            target = ck.as_int(item, "target", f"{sub}.target", minimum=1)
            published = None
            if item.get("published") is not None:
                published = ck.as_str(item, "published", f"{sub}.published")
                ck.convert(item, "published", f"{sub}.published", units.parse_port)
            out.append(Port(
                target=target, published=published,
                host_ip=ck.opt_str(item, "host_ip", sub) if "host_ip" in item else None,
                protocol=ck.as_choice(item, "protocol", f"{sub}.protocol", ("tcp", "udp", "sctp"))
                if item.get("protocol") else "tcp",
                mode=ck.as_choice(item, "mode", f"{sub}.mode", ("ingress", "host"))
                if item.get("mode") else "ingress",
                name=ck.opt_str(item, "name", sub) if "name" in item else None,
                app_protocol=ck.opt_str(item, "app_protocol", sub) if "app_protocol" in item
                else None))
        else:
            out.extend(ck.convert(items, i, sub, units.parse_port))
    return tuple(out)


_PORT_KEYS = frozenset({"target", "published", "host_ip", "protocol", "mode", "name",
                        "app_protocol"})
_VOLUME_KEYS = frozenset({"type", "source", "target", "read_only", "bind", "volume", "tmpfs",
                          "consistency", "image"})


def volumes(raw: Any, key: str, path: str, ctx: Context) -> tuple[Mount, ...]:
    out: list[Mount] = []
    items = ck.as_list(raw, key, path)
    for i, item in enumerate(items):
        sub = f"{path}[{i}]"
        mount = _long_volume(item, sub, ctx) if isinstance(item, Mapping) else \
            _short_volume(items, i, sub, ctx)
        if mount.type == "volume" and mount.source is not None and \
                mount.source not in ctx.volumes:
            raise ck.reference_error(items, i, sub, "volume", mount.source, ctx.volumes)
        out.append(mount)
    return tuple(out)


def _short_volume(items: Any, i: int, sub: str, ctx: Context) -> Mount:
    short = ck.convert(items, i, sub, units.parse_volume)
    source = short.source
    if short.type == "bind" and source is not None:
        source = ctx.path(source)
    return Mount(type=short.type, target=short.target, source=source, read_only=short.read_only,
                 consistency=short.consistency, propagation=short.propagation,
                 selinux=short.selinux, nocopy=short.nocopy)


def _long_volume(item: Any, sub: str, ctx: Context) -> Mount:
    ck.check_keys(item, _VOLUME_KEYS, sub)
    if "type" not in item or "target" not in item:
        raise ck.fail(item, None, sub, "a long-form volume needs 'type' and 'target'")
    kind = ck.as_choice(item, "type", f"{sub}.type",
                        ("volume", "bind", "tmpfs", "npipe", "cluster", "image"))
    target = ck.as_str(item, "target", f"{sub}.target")
    source = ck.opt_str(item, "source", f"{sub}.source") if "source" in item else None
    if kind == "bind":
        if not source:
            raise ck.fail(item, None, sub, "a bind mount needs 'source'")
        source = ctx.path(source)
    fields: dict[str, Any] = {}
    for part, keys in (("bind", ("propagation", "create_host_path", "selinux")),
                       ("volume", ("nocopy", "subpath")), ("tmpfs", ("size", "mode"))):
        if item.get(part) is None:
            continue
        opts = ck.as_mapping(item, part, f"{sub}.{part}")
        ck.check_keys(opts, keys, f"{sub}.{part}")
        for name in opts:
            p = f"{sub}.{part}.{name}"
            if name in ("create_host_path", "nocopy"):
                fields[name] = ck.as_bool(opts, name, p)
            elif name == "size":
                fields["tmpfs_size"] = ck.convert(opts, name, p, units.parse_size)
            elif name == "mode":
                fields["tmpfs_mode"] = octal(opts, name, p)
            else:
                fields[name] = ck.as_str(opts, name, p)
    return Mount(type=kind, target=target, source=source,
                 read_only=ck.as_bool(item, "read_only", f"{sub}.read_only")
                 if "read_only" in item else False,
                 consistency=ck.opt_str(item, "consistency", sub) if "consistency" in item
                 else None, **fields)


def octal(c: Any, k: Any, path: str) -> int:
    value = c[k]
    if isinstance(value, str):
        try:
            return int(value, 8)
        except ValueError:
            raise ck.fail(c, k, path, f"expected an octal mode like '0440', found {value!r}") \
                from None
    return ck.as_int(c, k, path)


_NET_KEYS = frozenset({"aliases", "ipv4_address", "ipv6_address", "link_local_ips",
                       "mac_address", "priority", "driver_opts", "gw_priority",
                       "interface_name"})


def networks(raw: Any, key: str, path: str, ctx: Context) -> tuple[ServiceNetwork, ...]:
    value = raw[key]
    out: list[ServiceNetwork] = []
    known = ctx.networks | {"default"}
    if isinstance(value, list):
        for i in range(len(value)):
            name = ck.as_str(value, i, f"{path}[{i}]")
            if name not in known:
                raise ck.reference_error(value, i, f"{path}[{i}]", "network", name, known)
            out.append(ServiceNetwork(name))
    elif isinstance(value, Mapping):
        for name in value:
            sub = f"{path}.{name}"
            if name not in known:
                raise ck.reference_error(value, name, sub, "network", str(name), known)
            opts = value[name]
            if opts is None:
                out.append(ServiceNetwork(str(name)))
                continue
            opts = ck.as_mapping(value, name, sub)
            ck.check_keys(opts, _NET_KEYS, sub)
            get = opts.get
            out.append(ServiceNetwork(
                name=str(name),
                aliases=ck.as_str_list(opts, "aliases", f"{sub}.aliases") if "aliases" in opts
                else (),
                ipv4_address=ck.opt_str(opts, "ipv4_address", sub) if get("ipv4_address")
                else None,
                ipv6_address=ck.opt_str(opts, "ipv6_address", sub) if get("ipv6_address")
                else None,
                link_local_ips=ck.as_str_list(opts, "link_local_ips", sub)
                if "link_local_ips" in opts else (),
                mac_address=ck.opt_str(opts, "mac_address", sub) if get("mac_address") else None,
                priority=ck.as_int(opts, "priority", f"{sub}.priority", minimum=None)
                if get("priority") is not None else 0,
                driver_opts=FrozenMap(sorted((k, v or "") for k, v in ck.as_dict_of_str(
                    opts, "driver_opts", f"{sub}.driver_opts").items()))
                if get("driver_opts") is not None else FrozenMap(),
                gw_priority=ck.as_int(opts, "gw_priority", f"{sub}.gw_priority", minimum=None)
                if get("gw_priority") is not None else 0,
                interface_name=ck.opt_str(opts, "interface_name", sub)
                if get("interface_name") else None))
    elif value is not None:
        raise ck.fail(raw, key, path, f"expected a list or a mapping, found {ck.describe(value)}")
    return tuple(sorted(out, key=lambda n: n.name))


def depends_on(raw: Any, key: str, path: str, ctx: Context) -> tuple[Dependency, ...]:
    value = raw[key]
    out: list[Dependency] = []
    if isinstance(value, list):
        services = ctx.services
        for i, name in enumerate(value):
            if name.__class__ is not str:
                name = ck.as_str(value, i, f"{path}[{i}]")
            if name not in services:
                raise ck.reference_error(value, i, f"{path}[{i}]", "service", name, services)
            out.append(Dependency(name))
    elif isinstance(value, Mapping):
        for name in value:
            sub = f"{path}.{name}"
            if name not in ctx.services:
                raise ck.reference_error(value, name, sub, "service", str(name), ctx.services)
            opts = value[name] if value[name] is not None else {}
            if not isinstance(opts, Mapping):
                raise ck.fail(value, name, sub, "expected a mapping with 'condition'")
            ck.check_keys(opts, ("condition", "restart", "required"), sub)
            out.append(Dependency(
                service=str(name),
                condition=ck.as_choice(opts, "condition", f"{sub}.condition", _DEP_CONDITIONS)
                if opts.get("condition") is not None else "service_started",
                restart=ck.as_bool(opts, "restart", f"{sub}.restart")
                if opts.get("restart") is not None else False,
                required=ck.as_bool(opts, "required", f"{sub}.required")
                if opts.get("required") is not None else True))
    elif value is not None:
        raise ck.fail(raw, key, path, f"expected a list or a mapping, found {ck.describe(value)}")
    return tuple(sorted(out, key=lambda d: d.service))
