"""``events`` and ``stats`` records: the engine's events and samples in Compose's shapes."""

from __future__ import annotations

import datetime as dt
from typing import Any


from stackup.core import labels as L
from stackup.cli.views.formatting import human_size

_HIDDEN = (L.PREFIX + ".", "com.docker.compose.")


def _when(event: dict[str, Any]) -> tuple[dt.datetime, int]:
    nanos = int(event.get("timeNano") or int(event.get("time") or 0) * 1_000_000_000)
    return dt.datetime.fromtimestamp(nanos // 1_000_000_000).astimezone(), nanos % 1_000_000_000


def rfc3339(moment: dt.datetime, nanos: int) -> str:
    """Go's RFC3339Nano: trailing zeros of the fraction dropped, ``Z`` for UTC."""
    fraction = f".{nanos:09d}".rstrip("0").rstrip(".")
    offset = moment.strftime("%z")
    zone = "Z" if offset in ("+0000", "") else f"{offset[:3]}:{offset[3:]}"
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + zone


def event_record(event: dict[str, Any]) -> dict[str, Any] | None:
    """A container event of a service container in Compose's JSON shape (None to skip it)."""
    actor = event.get("Actor") or {}
    attributes = actor.get("Attributes") or {}
    if (event.get("Type") or event.get("type")) != "container" \
            or attributes.get(L.ONEOFF) == "True":
        return None
    moment, nanos = _when(event)
    return {"action": str(event.get("Action") or event.get("status") or ""),
            "attributes": {k: v for k, v in sorted(attributes.items())
                           if not k.startswith(_HIDDEN)},
            "id": str(actor.get("ID") or event.get("id") or ""),
            "service": attributes.get(L.SERVICE, ""),
            "time": rfc3339(moment, nanos), "type": "container",
            "_text_time": moment.strftime("%Y-%m-%d %H:%M:%S") + f".{nanos // 1000:06d}"}


# --- stats ------------------------------------------------------------------------------------


def stats_record(name: str, container_id: str, sample: dict[str, Any]) -> dict[str, str]:
    """One sample in ``docker stats --format json``'s shape."""
    cpu, pre = sample.get("cpu_stats") or {}, sample.get("precpu_stats") or {}
    cpu_delta = (cpu.get("cpu_usage") or {}).get("total_usage", 0) \
        - (pre.get("cpu_usage") or {}).get("total_usage", 0)
    system_delta = (cpu.get("system_cpu_usage") or 0) - (pre.get("system_cpu_usage") or 0)
    cpus = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or
                                         []) or 1
    cpu_percent = cpu_delta / system_delta * cpus * 100.0 if cpu_delta > 0 and system_delta > 0 \
        else 0.0
    memory = sample.get("memory_stats") or {}
    usage = float(memory.get("usage") or 0)
    details = memory.get("stats") or {}
    for key in ("total_inactive_file", "inactive_file"):
        if key in details and details[key] < usage:
            usage -= details[key]
            break
    limit = float(memory.get("limit") or 0)
    rx = sum(n.get("rx_bytes", 0) for n in (sample.get("networks") or {}).values())
    tx = sum(n.get("tx_bytes", 0) for n in (sample.get("networks") or {}).values())
    read = write = 0
    for entry in (sample.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []:
        op = str(entry.get("op", "")).lower()
        read += entry.get("value", 0) if op == "read" else 0
        write += entry.get("value", 0) if op == "write" else 0
    return {"BlockIO": f"{human_size(read)} / {human_size(write)}",
            "CPUPerc": f"{cpu_percent:.2f}%", "Container": container_id[:12],
            "ID": container_id[:12],
            "MemPerc": f"{usage / limit * 100.0 if limit else 0.0:.2f}%",
            "MemUsage": f"{human_size(usage, binary=True)} / {human_size(limit, binary=True)}",
            "Name": name, "NetIO": f"{human_size(rx)} / {human_size(tx)}",
            "PIDs": str((sample.get("pids_stats") or {}).get("current", 0))}


