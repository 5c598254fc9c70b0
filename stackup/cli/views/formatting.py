"""Text the docker CLI users know: "2 minutes ago", "0.0.0.0:8080->80/tcp", quoted commands,
sizes, and ``--format '{{.Name}}'`` templates.

Pipeline position: pure helpers for the CLI's tables (``ps``, ``ls``, ``stats``); no engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from stackup.ports.engine import PortBinding
from stackup.core.errors import ProjectError


def human_duration(seconds: float) -> str:
    """The docker CLI's rounding of a duration ("About a minute", "3 hours", "2 weeks")."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{s // 3600 // 24 // 365} years"


def ellipsis(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def quote_command(command: str, truncate: bool = True) -> str:
    """A container's command as ``docker ps`` shows it: quoted, cut at 20 characters."""
    return json.dumps(ellipsis(command, 20) if truncate else command, ensure_ascii=False)


def _group(key: str, first: int, last: int) -> str:
    ip, _, kind = key.rpartition("/")
    ports = str(first) if first == last else f"{first}-{last}"
    return f"{ip}:{ports}->{ports}/{kind}" if ip else f"{ports}/{kind}"


def displayable_ports(ports: Iterable[PortBinding]) -> str:
    """Ports as ``docker ps`` prints them: unpublished ports and ports published on the same
    number grouped into ranges (``0.0.0.0:8000-8001->8000-8001/tcp``, ``9000-9001/udp``),
    then the other mappings one by one (``127.0.0.1:8080->80/tcp``)."""
    groups: dict[str, list[int]] = {}
    ranges: list[str] = []
    mappings: list[str] = []
    for port in sorted(ports, key=lambda p: (p.private, p.ip, p.public, p.protocol)):
        key = port.protocol
        if port.ip:
            if port.public != port.private:
                host = f"[{port.ip}]" if ":" in port.ip else port.ip
                mappings.append(f"{host}:{port.public}->{port.private}/{port.protocol}")
                continue
            key = f"{port.ip}/{port.protocol}"
        group = groups.get(key)
        if group is None:
            groups[key] = [port.private, port.private]
        elif port.private == group[1] + 1:
            group[1] = port.private
        else:
            ranges.append(_group(key, *group))
            groups[key] = [port.private, port.private]
    ranges.extend(_group(key, *group) for key, group in groups.items())
    return ", ".join(ranges + mappings)


def human_size(size: float, binary: bool = False) -> str:
    """go-units sizes: decimal ``12.3MB`` (``HumanSize``) or binary ``1.5MiB`` (``BytesSize``)."""
    base = 1024.0 if binary else 1000.0
    units = (["B", "KiB", "MiB", "GiB", "TiB"] if binary else ["B", "kB", "MB", "GB", "TB"])
    value = float(size)
    for unit in units:
        if value < base or unit == units[-1]:
            return f"{value:.4g}{unit}" if binary else f"{value:.3g}{unit}"
        value /= base
    return f"{size}B"


_FIELD = re.compile(r"\{\{\s*(json\s+)?\.([A-Za-z]*)\s*\}\}")


def render_template(template: str, records: Sequence[Mapping[str, Any]],
                    headers: Mapping[str, str]) -> str:
    """A Go-template subset as ``--format`` takes it: ``{{.Field}}``, ``{{json .}}``,
    ``{{json .Field}}``, ``\\t``; a leading ``table`` adds a header row and aligns columns."""
    is_table = template.startswith("table")
    body = template[5:].strip() if is_table else template
    body = body.replace("\\t", "\t").replace("\\n", "\n")
    names = [m.group(2) for m in _FIELD.finditer(body)]
    for name in names:
        if name and records and name not in records[0]:
            raise ProjectError(f"--format: unknown field .{name}",
                               detail=f"Fields: {', '.join(sorted(records[0]))}.")

    def fill(record: Mapping[str, Any]) -> str:
        def one(match: re.Match[str]) -> str:
            value: Any = record if not match.group(2) else record.get(match.group(2), "")
            if match.group(1):
                return json.dumps(value)
            return value if isinstance(value, str) else json.dumps(value)
        return _FIELD.sub(one, body)

    lines = [fill(r) for r in records]
    if not is_table:
        return "".join(f"{line}\n" for line in lines)
    header = _FIELD.sub(lambda m: headers.get(m.group(2), m.group(2).upper()), body)
    rows = [line.split("\t") for line in [header, *lines]]
    width = max(len(r) for r in rows)
    widths = [max(10, max(len(r[i]) if i < len(r) else 0 for r in rows) + 3)
              for i in range(width)]
    text = []
    for row in rows:
        text.append("".join(c.ljust(widths[i]) if i < len(row) - 1 else c
                            for i, c in enumerate(row)).rstrip())
    return "\n".join(text) + "\n"
