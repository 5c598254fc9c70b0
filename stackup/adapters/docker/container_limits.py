"""The container-create settings of the Compose keys stackup applies since issue 20: CPU,
memory and block-I/O limits, cgroup rules and namespaces, storage options, isolation,
annotations and ``use_api_socket``. Pure: no I/O, no ``docker`` import.

Pipeline position: ``container_spec.container_create_args`` (which the engine adapter calls to
create a container) adds ``limit_settings`` to the engine's ``HostConfig``. ``use_api_socket``
mounts the engine's own socket at ``/var/run/docker.sock``, as Compose does; it needs an engine
reached through a unix socket on this machine (``socket`` is that path, None otherwise), and is
refused otherwise, naming the service. ``credential_spec``, ``cpu_count`` and ``cpu_percent``
are for Windows containers (a Linux engine discards or ignores them): on any other engine they
are refused with one line, rather than left to run unlimited.
"""

from __future__ import annotations

from typing import Any

from stackup.core.errors import EngineError
from stackup.core.model import Service, ThrottleDevice

API_SOCKET_TARGET = "/var/run/docker.sock"


def _devices(entries: tuple[ThrottleDevice, ...], field: str) -> list[dict[str, Any]]:
    return [{"Path": d.path, field: d.rate} for d in entries]


def blkio_settings(service: Service) -> dict[str, Any]:
    """``HostConfig`` entries of ``blkio_config``."""
    blkio = service.blkio_config
    if blkio is None:
        return {}
    host: dict[str, Any] = {}
    if blkio.weight is not None:
        host["BlkioWeight"] = blkio.weight
    for key, entries, field in (
            ("BlkioWeightDevice", blkio.weight_device, "Weight"),
            ("BlkioDeviceReadBps", blkio.device_read_bps, "Rate"),
            ("BlkioDeviceWriteBps", blkio.device_write_bps, "Rate"),
            ("BlkioDeviceReadIOps", blkio.device_read_iops, "Rate"),
            ("BlkioDeviceWriteIOps", blkio.device_write_iops, "Rate")):
        if entries:
            host[key] = _devices(entries, field)
    return host


def windows_only(service: Service) -> list[str]:
    """The keys of ``service`` that only a Windows engine applies."""
    return [key for key, value in (("cpu_count", service.cpu_count),
                                   ("cpu_percent", service.cpu_percent),
                                   ("credential_spec", service.credential_spec or None))
            if value is not None]


def limit_settings(service: Service, *, engine_os: str = "linux",
                   socket: str | None = None) -> dict[str, Any]:
    """The ``HostConfig`` entries of the issue-20 keys of ``service``."""
    used = windows_only(service)
    if used and engine_os != "windows":
        hint = " (use cpus: on Linux)" if used[0].startswith("cpu") else ""
        raise EngineError(f"service {service.name}: {used[0]} applies to Windows containers "
                          f"only; this engine runs {engine_os} containers{hint}",
                          detail=f"Remove {', '.join(used)}, or deploy to a Windows engine.")
    host: dict[str, Any] = {}
    for key, value in (("CpuCount", service.cpu_count), ("CpuPercent", service.cpu_percent),
                       ("CpuPeriod", service.cpu_period), ("CpuQuota", service.cpu_quota),
                       ("CpuRealtimePeriod", service.cpu_rt_period),
                       ("CpuRealtimeRuntime", service.cpu_rt_runtime),
                       ("MemorySwappiness", service.mem_swappiness),
                       ("MemorySwap", service.memswap_limit),
                       ("UTSMode", service.uts), ("CgroupnsMode", service.cgroup),
                       ("Isolation", service.isolation)):
        if value is not None:
            host[key] = value
    if service.oom_kill_disable:
        host["OomKillDisable"] = True
    if service.device_cgroup_rules:
        host["DeviceCgroupRules"] = list(service.device_cgroup_rules)
    if service.storage_opt:
        host["StorageOpt"] = dict(service.storage_opt)
    if service.annotations:
        host["Annotations"] = dict(service.annotations)
    if service.credential_spec:
        host["SecurityOpt"] = [f"credentialspec={_credential(service)}"]
    host.update(blkio_settings(service))
    if service.use_api_socket:
        if socket is None:
            raise EngineError(f"service {service.name}: use_api_socket needs an engine reached "
                              "through a unix socket on this machine",
                              detail="The engine's socket is mounted into the container; a "
                                     "remote engine (tcp://, ssh://) has none here to mount.")
        host["Binds"] = [f"{socket}:{API_SOCKET_TARGET}"]
    return host


# (words of an engine warning, the key of the service it is about): a create warning that says
# the engine discarded a limit the service sets
_DISCARD_TOPICS = (("block i/o", "blkio_config"), ("swappiness", "mem_swappiness"),
                   ("swap limit", "memswap_limit"), ("oomkilldisable", "oom_kill_disable"),
                   ("cfs period", "cpu_period"), ("cfs quota", "cpu_quota"),
                   ("cpu percent", "cpu_percent"))


def discarded_limits(service: Service, warnings: list[str] | None) -> list[str]:
    """The engine's create warnings that say it discarded (did not apply) a limit of the
    issue-20 keys ``service`` sets: such a container would run without the limit the file
    asks for, so the adapter refuses it (naming the service and the engine's words)."""
    out = []
    for warning in warnings or ():
        low = warning.lower()
        if "discarded" not in low and "without swap" not in low:
            continue
        for words, key in _DISCARD_TOPICS:
            value = getattr(service, key)
            if words in low and value not in (None, False):
                out.append(f"{key}: {warning}")
                break
    return out


def _credential(service: Service) -> str:
    spec = service.credential_spec
    if "file" in spec:
        return f"file://{spec['file']}"
    if "registry" in spec:
        return f"registry://{spec['registry']}"
    return f"config://{spec.get('config', '')}"
