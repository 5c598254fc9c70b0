"""One ``services.<name>`` mapping of the raw tree → a ``model.Service``.

Pipeline position: called by ``loader.parse.parse_project`` after top-level resources are parsed
(so references to networks, volumes, secrets and configs are checked here, where their
locations are known). Input: an interpolated, merged ``LDict``. Output: a frozen ``Service``.
Short and long syntaxes are normalised here; paths are made absolute against the project dir.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from stackup.core.model import (WATCH_ACTIONS, Dependency, Develop, FileReference, FrozenMap,
                                Healthcheck, Hook, Logging, Service, ServiceNetwork, WatchRule)
from stackup.core.errors import SpecError
from stackup.loader import check as ck
from stackup.loader.limits import MAX_IMAGE_CHARS
from stackup.loader import units
from stackup.loader.parse_context import Context, Handler
from stackup.loader.parse_limits import LIMIT_HANDLERS, label_files
from stackup.loader.parse_parts import (parse_build, parse_deploy, parse_device_requests,
                                        parse_extra_hosts, parse_ulimits, read_env_files)
from stackup.loader.parse_wiring import depends_on, networks, octal, ports, volumes

_UNSUPPORTED = frozenset("""stop_timeout""".split())

_STR = ("image", "container_name", "hostname", "domainname", "user", "working_dir",
        "network_mode", "stop_signal", "ipc", "pid", "platform", "runtime", "userns_mode",
        "cgroup_parent", "cpuset", "mac_address")
_BOOL = ("privileged", "read_only", "tty", "stdin_open", "init")
_LIST = ("expose", "cap_add", "cap_drop", "security_opt", "group_add", "profiles", "devices",
         "external_links")
_LIST_OR_STR = ("dns", "dns_search", "dns_opt", "tmpfs")
_SIZE = ("shm_size", "mem_limit", "mem_reservation")
_PULL = ("always", "never", "missing", "build")
_SHELL_QUOTES = frozenset("'\"\\")


def _command(raw: Any, key: str, path: str, ctx: Context) -> tuple[str, ...] | None:
    value = raw[key]
    if value is None:
        return None
    if isinstance(value, str):
        if not _SHELL_QUOTES.intersection(value):
            return tuple(value.split())
        try:
            return tuple(shlex.split(value))
        except ValueError as exc:
            raise ck.fail(raw, key, path, f"cannot split the command: {exc}") from None
    return ck.as_str_list(raw, key, path)


_HEALTH_KEYS = frozenset({"test", "interval", "timeout", "retries", "start_period",
                          "start_interval", "disable"})


def _healthcheck(raw: Any, key: str, path: str, ctx: Context) -> Healthcheck | None:
    if raw[key] is None:
        return None
    hc = ck.as_mapping(raw, key, path)
    ck.check_keys(hc, _HEALTH_KEYS, path)
    kw: dict[str, Any] = {}
    test = hc.get("test")
    if isinstance(test, str):
        kw["test"] = ("CMD-SHELL", test)
    elif test is not None:
        kw["test"] = ck.as_str_list(hc, "test", f"{path}.test")
    for name in ("interval", "timeout", "start_period", "start_interval"):
        if hc.get(name) is not None:
            kw[name] = ck.convert(hc, name, f"{path}.{name}", units.parse_duration)
    if hc.get("retries") is not None:
        kw["retries"] = ck.as_int(hc, "retries", f"{path}.retries")
    disabled = hc.get("disable") is not None and ck.as_bool(hc, "disable", f"{path}.disable")
    if disabled or kw.get("test") == ("NONE",):
        return Healthcheck(test=("NONE",), disable=True)
    return Healthcheck(**kw)


def _restart(raw: Any, key: str, path: str, ctx: Context) -> str | None:
    value = raw[key]
    if value is False:  # YAML 1.1 reads a bare `no` as false
        return "no"
    text = ck.as_str(raw, key, path)
    if text in ("no", "always", "on-failure", "unless-stopped"):
        return text
    head, _, count = text.partition(":")
    if head == "on-failure" and count.isdigit():
        return text
    raise ck.fail(raw, key, path, "expected no, always, on-failure[:N] or unless-stopped, "
                                  f"found {text!r}")


def _hooks(raw: Any, key: str, path: str, ctx: Context) -> tuple[Hook, ...]:
    """``post_start`` / ``pre_stop``: a list of {command, user, privileged, working_dir,
    environment}, run with exec in the container."""
    items = ck.as_list(raw, key, path)
    return tuple(_hook(items, i, f"{path}[{i}]", ctx) for i in range(len(items)))


def _pre_start(raw: Any, key: str, path: str, ctx: Context) -> tuple[Hook, ...]:
    """``pre_start``: a list of {command, image, user, privileged, working_dir, environment,
    per_replica}, each run in a container of its own before the service starts. Only
    ``per_replica: false`` exists, as in Compose."""
    items = ck.as_list(raw, key, path)
    hooks = []
    for i in range(len(items)):
        sub = f"{path}[{i}]"
        opts = dict(ck.as_mapping(items, i, sub))
        per_replica = ck.as_bool(opts, "per_replica", f"{sub}.per_replica") \
            if opts.get("per_replica") is not None else False
        if per_replica:
            raise ck.fail(opts, "per_replica", f"{sub}.per_replica",
                          "per_replica: true is not supported (Compose does not support it "
                          "either); remove it or set it to false")
        image = ck.opt_str(opts, "image", sub) if "image" in opts else None
        opts.pop("per_replica", None)
        opts.pop("image", None)
        hook = _hook([opts], 0, sub, ctx)
        hooks.append(dataclasses.replace(hook, image=image) if image else hook)
    return tuple(hooks)


def _hook(container: Any, key: Any, sub: str, ctx: Context) -> Hook:
    """One ``{command, user, privileged, working_dir, environment}`` (a hook, or the ``exec``
    of a ``sync+exec`` watch rule)."""
    opts = ck.as_mapping(container, key, sub)
    ck.check_keys(opts, ("command", "user", "privileged", "working_dir", "environment"), sub)
    if opts.get("command") is None:
        raise ck.fail(container, key, sub, "a hook needs 'command'")
    env = ck.as_dict_of_str(opts, "environment", f"{sub}.environment",
                            missing=ctx.environ.get) if opts.get("environment") else {}
    return Hook(
        command=_command(opts, "command", f"{sub}.command", ctx) or (),
        user=ck.opt_str(opts, "user", sub) if "user" in opts else None,
        privileged=ck.as_bool(opts, "privileged", f"{sub}.privileged")
        if opts.get("privileged") is not None else False,
        working_dir=ck.opt_str(opts, "working_dir", sub) if "working_dir" in opts else None,
        environment=FrozenMap(sorted((k, v) for k, v in env.items() if v is not None)))


_WATCH_KEYS = ("path", "action", "target", "ignore", "include", "initial_sync", "exec")
_SYNCS = ("sync", "sync+restart", "sync+exec")


def _develop(raw: Any, key: str, path: str, ctx: Context) -> Develop:
    """``develop: {watch: [{path, action, target, ignore, include, initial_sync, exec}]}``:
    what ``stackup watch`` does when files change. ``path`` is made absolute against the project
    directory; the sync actions need ``target``, ``sync+exec`` needs ``exec``."""
    spec = ck.as_mapping(raw, key, path)
    ck.check_keys(spec, ("watch",), path)
    if spec.get("watch") is None:
        return Develop()
    items = ck.as_list(spec, "watch", f"{path}.watch")
    rules = []
    for i, item in enumerate(items):
        sub = f"{path}.watch[{i}]"
        opts = ck.as_mapping(items, i, sub)
        ck.check_keys(opts, _WATCH_KEYS, sub)
        for needed in ("path", "action"):
            if opts.get(needed) is None:
                raise ck.fail(items, i, sub, f"a watch rule needs '{needed}'")
        action = ck.as_choice(opts, "action", f"{sub}.action", WATCH_ACTIONS)
        target = ck.opt_str(opts, "target", f"{sub}.target") if "target" in opts else None
        if action in _SYNCS and not target:
            raise ck.fail(items, i, sub, f"action '{action}' needs 'target' (where the files "
                                         f"go in the container)")
        hook = None
        if opts.get("exec") is not None:
            hook = _hook(opts, "exec", f"{sub}.exec", ctx)
        elif action == "sync+exec":
            raise ck.fail(items, i, sub, "action 'sync+exec' needs 'exec' (the command to run)")
        rules.append(WatchRule(
            path=ctx.path(ck.as_str(opts, "path", f"{sub}.path")), action=action, target=target,
            ignore=ck.as_str_list(opts, "ignore", f"{sub}.ignore", allow_string=True)
            if opts.get("ignore") is not None else (),
            include=ck.as_str_list(opts, "include", f"{sub}.include", allow_string=True)
            if opts.get("include") is not None else (),
            initial_sync=ck.as_bool(opts, "initial_sync", f"{sub}.initial_sync")
            if opts.get("initial_sync") is not None else False,
            exec=hook))
    return Develop(watch=tuple(rules))


def _service_refs(kind: str) -> Handler:
    """``links`` ("service[:alias]") and ``volumes_from`` ("service[:ro|rw]" or
    "container:name[:ro|rw]"): each service named must exist in the file."""
    def parse(raw: Any, key: str, path: str, ctx: Context) -> tuple[str, ...]:
        items = ck.as_str_list(raw, key, path)
        for i, item in enumerate(items):
            name, _, rest = item.partition(":")
            if kind == "volumes_from":
                if name == "container":
                    if not rest.partition(":")[0]:
                        raise ck.fail(raw[key], i, f"{path}[{i}]", "expected container:<name>")
                    continue
                if rest not in ("", "ro", "rw"):
                    raise ck.fail(raw[key], i, f"{path}[{i}]",
                                  f"expected 'service[:ro|rw]', found {item!r}")
            if name not in ctx.services:
                raise ck.reference_error(raw[key], i, f"{path}[{i}]", "service", name,
                                         ctx.services)
        return items
    return parse


def _logging(raw: Any, key: str, path: str, ctx: Context) -> Logging:
    opts = ck.as_mapping(raw, key, path)
    ck.check_keys(opts, ("driver", "options"), path)
    options = ck.as_dict_of_str(opts, "options", f"{path}.options") if "options" in opts else {}
    return Logging(driver=ck.opt_str(opts, "driver", path) if "driver" in opts else None,
                   options=FrozenMap(sorted((k, v or "") for k, v in options.items())))


def _pull_policy(raw: Any, key: str, path: str, ctx: Context) -> str:
    text = ck.as_str(raw, key, path)
    if text == "if_not_present":
        return "missing"
    if text in ("daily", "weekly", "refresh") or text.startswith("every_"):
        if text.startswith("every_"):
            ck.convert(raw, key, path, lambda v: units.parse_duration(str(v)[6:]))
        return text
    if text in _PULL:
        return text
    return ck.as_choice(raw, key, path, (*_PULL, "if_not_present", "daily", "weekly",
                                         "refresh"))


def _file_refs(kind: str) -> Handler:
    def parse(raw: Any, key: str, path: str, ctx: Context) -> tuple[FileReference, ...]:
        known = ctx.secrets if kind == "secret" else ctx.configs
        items = ck.as_list(raw, key, path)
        out = []
        for i, item in enumerate(items):
            sub = f"{path}[{i}]"
            if not isinstance(item, Mapping):
                ref = FileReference(ck.as_str(items, i, sub))
            else:
                ck.check_keys(item, ("source", "target", "uid", "gid", "mode"), sub)
                if "source" not in item:
                    raise ck.fail(items, i, sub, "expected 'source'")
                ref = FileReference(
                    source=ck.as_str(item, "source", f"{sub}.source"),
                    target=ck.opt_str(item, "target", sub) if "target" in item else None,
                    uid=_id(item, "uid", sub) if "uid" in item else None,
                    gid=_id(item, "gid", sub) if "gid" in item else None,
                    mode=octal(item, "mode", f"{sub}.mode") if item.get("mode") is not None
                    else None)
            if ref.source not in known:
                raise ck.reference_error(items, i, sub, kind, ref.source, known)
            out.append(ref)
        return tuple(out)
    return parse


def _id(item: Any, key: str, path: str) -> str | None:
    """A numeric user or group id (``uid: "1000"``), as Compose requires for secrets."""
    value = ck.opt_str(item, key, path)
    if value is not None and not (value.isdigit() and int(value) < 2**32):
        raise ck.fail(item, key, f"{path}.{key}", f"expected a numeric id, found {value!r}")
    return value


def _simple(func: Callable[..., Any]) -> Handler:
    return lambda raw, key, path, ctx: func(raw, key, path)


def _labels(raw: Any, key: str, path: str, ctx: Context) -> FrozenMap[str, str]:
    data = ck.as_dict_of_str(raw, key, path)
    return FrozenMap(sorted((k, v or "") for k, v in data.items()))


HANDLERS: dict[str, Handler] = {
    **{k: _simple(ck.opt_str) for k in _STR},
    **{k: _simple(ck.as_bool) for k in _BOOL},
    **{k: _simple(ck.as_str_list) for k in _LIST},
    **{k: (lambda r, k, p, c: ck.as_str_list(r, k, p, allow_string=True)) for k in _LIST_OR_STR},
    **{k: (lambda r, k, p, c: ck.convert(r, k, p, units.parse_size)) for k in _SIZE},
    "command": _command, "entrypoint": _command, "ports": ports, "volumes": volumes,
    "networks": networks, "depends_on": depends_on, "healthcheck": _healthcheck,
    "restart": _restart, "extra_hosts": _simple(parse_extra_hosts),
    "ulimits": _simple(parse_ulimits), "post_start": _hooks, "pre_stop": _hooks,
    "pre_start": _pre_start,
    "links": _service_refs("links"), "volumes_from": _service_refs("volumes_from"),
    "gpus": lambda r, k, p, c: parse_device_requests(r, k, p, gpu=True),
    "oom_score_adj": lambda r, k, p, c: ck.as_int(r, k, p, minimum=-1000),
    "logging": _logging, "pull_policy": _pull_policy, "labels": _labels, "sysctls": _labels,
    "secrets": _file_refs("secret"), "configs": _file_refs("config"),
    "cpus": _simple(ck.as_float), "cpu_shares": _simple(ck.as_int), "scale": _simple(ck.as_int),
    "pids_limit": lambda r, k, p, c: ck.as_int(r, k, p, minimum=-1),
    "stop_grace_period": lambda r, k, p, c: ck.convert(r, k, p, units.parse_duration),
    "build": lambda r, k, p, c: parse_build(r, k, p, c.path, warnings=c.warnings,
                                            environ=c.environ, secrets=c.secret_objects),
    "deploy": lambda r, k, p, c: parse_deploy(r, k, p, c.warnings), "develop": _develop,
    **LIMIT_HANDLERS,
}
_KNOWN = frozenset(HANDLERS) | {"environment", "env_file", "extends", "label_file"}


def _network_mode_dependency(raw: Any, path: str, kw: dict[str, Any], ctx: Context) -> None:
    """``network_mode: service:x`` needs x's container: an implied depends_on, as in Compose
    (restart: true, since the network namespace goes with x's container)."""
    mode = kw["network_mode"]
    if not mode.startswith("service:"):
        return
    target = mode.partition(":")[2]
    if target not in ctx.services:
        raise ck.reference_error(raw, "network_mode", f"{path}.network_mode", "service",
                                 target, ctx.services)
    deps = kw.get("depends_on", ())
    if all(dep.service != target for dep in deps):
        implied = Dependency(target, "service_started", restart=True, required=True)
        kw["depends_on"] = tuple(sorted((*deps, implied), key=lambda d: d.service))


def _implied_dependencies(raw: Any, path: str, kw: dict[str, Any], ctx: Context) -> None:
    """``links``, ``volumes_from: service``, ``ipc: service:x`` and ``pid: service:x`` need
    the other service's container first: an implied ``depends_on`` (service_started,
    required), as in Compose."""
    named = [link.partition(":")[0] for link in kw.get("links", ())]
    named += [v.partition(":")[0] for v in kw.get("volumes_from", ())
              if not v.startswith("container:")]
    for key in ("ipc", "pid"):
        mode = kw.get(key)
        if isinstance(mode, str) and mode.startswith("service:"):
            target = mode.partition(":")[2]
            if target not in ctx.services:
                raise ck.reference_error(raw, key, f"{path}.{key}", "service", target,
                                         ctx.services)
            named.append(target)
    deps = list(kw.get("depends_on", ()))
    for target in dict.fromkeys(named):
        if all(dep.service != target for dep in deps):
            deps.append(Dependency(target, "service_started"))
    if len(deps) != len(kw.get("depends_on", ())):
        kw["depends_on"] = tuple(sorted(deps, key=lambda d: d.service))


def parse_service(name: str, raw: Any, ctx: Context) -> Service:
    """``services.<name>`` → Service. Raises a located SpecError on the first problem."""
    path = f"services.{name}"
    ck.check_keys(raw, _KNOWN, path, unsupported=_UNSUPPORTED, warnings=ctx.warnings)
    kw: dict[str, Any] = {}
    for key in raw:
        handler = HANDLERS.get(key)
        if handler is not None and raw[key] is not None:
            kw[key] = handler(raw, key, f"{path}.{key}", ctx)
    if "image" not in kw and "build" not in kw:
        raise SpecError(f"{path}: a service needs 'image' or 'build'",
                        location=ctx.service_loc or ck.where(raw, None, path))
    if len(kw.get("image") or "") > MAX_IMAGE_CHARS:
        raise ck.fail(raw, "image", f"{path}.image", f"an image reference is at most "
                      f"{MAX_IMAGE_CHARS} characters, found {len(kw['image'])}")
    env = read_env_files(raw, path, ctx) if raw.get("env_file") is not None else {}
    from_files = {k for k, v in env.items() if v is not None}
    if raw.get("environment") is not None:
        inline = ck.as_dict_of_str(raw, "environment", f"{path}.environment",
                                   missing=ctx.environ.get)
        from_files -= set(inline)
        env.update(inline)
    kw["environment"] = FrozenMap(sorted((k, v) for k, v in env.items() if v is not None))
    if raw.get("label_file") is not None:  # the service's own labels win, as in Compose
        kw["labels"] = FrozenMap(sorted({**label_files(raw, path, ctx),
                                         **kw.get("labels", {})}.items()))
    if from_files:
        kw["env_file_keys"] = tuple(sorted(from_files))
    _implied_dependencies(raw, path, kw, ctx)
    if "network_mode" in kw:
        kw.pop("networks", None)
        _network_mode_dependency(raw, path, kw, ctx)
    elif "networks" not in kw:
        kw["networks"] = (ServiceNetwork("default"),)
    kw["extensions"] = ck.extensions_of(raw)
    service = Service(name=name, **kw)
    if service.container_name and service.replicas > 1:
        raise ck.fail(raw, "container_name", f"{path}.container_name",
                      f"container_name cannot be used with {service.replicas} replicas: "
                      "container names must be unique")
    return service
