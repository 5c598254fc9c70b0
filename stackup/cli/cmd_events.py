"""``events`` and ``stats``: what the project's containers do, as it happens.

Pipeline position: CLI over the engine's event stream (filtered by the project's label) and its
per-container stats. ``events`` prints Compose's line format, or with ``--json`` one object per
line (``action``, ``attributes``, ``id``, ``service``, ``time``, ``type``). ``stats`` prints
docker's columns, once (``--no-stream``) or redrawn every second until interrupted.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
import time
from typing import Any

import click

from stackup.cli import complete
from stackup.core import labels as L
from stackup.cli.views.formatting import human_size, render_template
from stackup.cli.context import Globals, pass_globals
from stackup.cli.selection import containers, each, load_or_name, table
from stackup.core.errors import StackupError

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


@click.command("events")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--since", help="Show events since this time (unix seconds or RFC 3339).")
@click.option("--until", help="Stop at this time (unix seconds or RFC 3339).")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def events_cmd(g: Globals, as_json: bool, since: str | None, until: str | None,
               services: tuple[str, ...]) -> None:
    """Stream the container events of the project (of SERVICE(s) when named)."""
    _, name = load_or_name(g, services)
    for event in g.engine().events(name, since=since, until=until):
        record = event_record(event)
        if record is None or (services and record["service"] not in services):
            continue
        text_time = record.pop("_text_time")
        if as_json:
            click.echo(json.dumps(record))
        else:
            attrs = ", ".join(f"{k}={v}" for k, v in record["attributes"].items())
            click.echo(f"{text_time} container {record['action']} {record['id']} ({attrs})")


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


_COLUMNS = ("ID", "Name", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDs")
_HEADERS = {"ID": "CONTAINER ID", "Container": "CONTAINER", "Name": "NAME", "CPUPerc": "CPU %",
            "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
            "BlockIO": "BLOCK I/O", "PIDs": "PIDS"}


def _render(rows: list[dict[str, str]], fmt: str) -> str:
    if fmt == "json":
        return "".join(json.dumps(r) + "\n" for r in rows)
    if fmt == "table":
        return table([_HEADERS[c] for c in _COLUMNS], [[r[c] for c in _COLUMNS] for r in rows])
    return render_template(fmt, rows, _HEADERS)


@click.command("stats")
@click.option("--no-stream", is_flag=True, help="Print one sample and exit.")
@click.option("-a", "--all", "show_all", is_flag=True, help="Include stopped containers.")
@click.option("--format", "fmt", default="table", show_default=True,
              help="table, json, or a template such as '{{.Name}} {{.CPUPerc}}'.")
@click.option("--no-trunc", is_flag=True, help="Full container ids.")
@click.argument("services", nargs=-1, shell_complete=complete.services)
@pass_globals
def stats_cmd(g: Globals, no_stream: bool, show_all: bool, fmt: str, no_trunc: bool,
              services: tuple[str, ...]) -> None:
    """Show the resource usage of the project's containers (of SERVICE(s) when named)."""
    _, found = containers(g, services, running=not show_all)
    engine = g.engine()
    latest: dict[str, dict[str, str]] = {}
    lock = threading.Lock()

    def sample(container: Any) -> None:
        for one in engine.stats(container.container_id, stream=not no_stream):
            record = stats_record(container.name, container.container_id, one)
            if no_trunc:
                record["ID"] = record["Container"] = container.container_id
            with lock:
                latest[container.container_id] = record

    if no_stream:
        for container, error in each(found, sample, max(1, len(found))):
            click.echo(f"error: {container.name}: {error}", err=True)
        click.echo(_render([latest[c.container_id] for c in found
                            if c.container_id in latest], fmt), nl=False)
        return
    def follow(container: Any) -> None:
        try:
            sample(container)
        except StackupError:  # the container went away: its row goes too
            pass
        with lock:
            latest.pop(container.container_id, None)

    for container in found:
        # `stats`: one reader per container's stats stream; ends with it or with the process
        threading.Thread(target=follow, args=(container,), daemon=True).start()
    clear = sys.stdout.isatty() and fmt == "table"
    while True:
        time.sleep(1.0)
        with lock:
            rows = [latest[c.container_id] for c in found if c.container_id in latest]
        text = _render(rows, fmt)
        click.echo(("\x1b[2J\x1b[H" if clear else "") + text, nl=False)
