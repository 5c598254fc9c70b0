"""Small value syntaxes of stack files: durations, byte sizes, short port and volume forms.

Pipeline position: helpers of ``loader.parse_service`` (string → value) and of ``loader.serialize``
(value → string). Pure and fast: patterns are compiled once; errors are ``ValueError`` with a
short "expected ..." message that the parser turns into a located ``SpecError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stackup.core.model import Port

# --- durations ----------------------------------------------------------------------------

_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3,
                   "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_FULL = re.compile(r"(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")
_NUMBER = re.compile(r"\d+(?:\.\d*)?|\.\d+")


def parse_duration(value: object) -> float:
    """``"1m30s"``, ``"10s"``, ``"1h"``, ``"500ms"``, ``"1.5s"`` or a number of seconds → seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like '10s' or '1m30s'")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("expected a non-negative duration")
        return float(value)
    if not isinstance(value, str):
        raise ValueError("expected a duration like '10s' or '1m30s'")
    text = value.strip()
    if _NUMBER.fullmatch(text):
        return float(text)
    if not _DURATION_FULL.fullmatch(text):
        raise ValueError(f"expected a duration like '10s' or '1m30s', found {value!r}")
    total = 0.0
    for number, unit in _DURATION_PART.findall(text):
        total += float(number) * _DURATION_UNITS[unit]
    return round(total, 9)


def format_duration(seconds: float) -> str:
    """Seconds → a Go duration string, as Compose prints them ("1m30s", "500ms", "1h0m0s")."""
    nanos = round(seconds * 1e9)
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    nanos = abs(nanos)
    if nanos < 1_000:
        return f"{sign}{nanos}ns"
    if nanos < 1_000_000:
        return f"{sign}{_frac(nanos, 1_000)}µs"
    if nanos < 1_000_000_000:
        return f"{sign}{_frac(nanos, 1_000_000)}ms"
    hours, rest = divmod(nanos, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    secs = _frac(rest, 1_000_000_000)
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{sign}{minutes}m{secs}s"
    return f"{sign}{secs}s"


def _frac(value: int, unit: int) -> str:
    whole, rest = divmod(value, unit)
    if not rest:
        return str(whole)
    digits = str(rest).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


# --- byte sizes ---------------------------------------------------------------------------

_SIZE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([kmgtp]?)(?:i?b)?", re.IGNORECASE)
_SIZE_FACTORS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_size(value: object) -> int:
    """``"512m"``, ``"1g"``, ``"100k"``, ``"1024"``, ``"1.5gb"`` or an int → bytes (binary units)."""
    if isinstance(value, bool):
        raise ValueError("expected a size like '512m' or '1g'")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("expected a non-negative size")
        return value
    if isinstance(value, float):
        if value < 0:
            raise ValueError("expected a non-negative size")
        return int(value)
    if not isinstance(value, str):
        raise ValueError("expected a size like '512m' or '1g'")
    match = _SIZE.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"expected a size like '512m' or '1g', found {value!r}")
    number, unit = match.groups()
    return int(float(number) * _SIZE_FACTORS[unit.lower()])


def format_size(size: int) -> str:
    """Bytes → the decimal string Compose prints (``"536870912"``)."""
    return str(size)


# --- ports --------------------------------------------------------------------------------

_PORT_RANGE = re.compile(r"(\d+)(?:-(\d+))?")
_PORT_HELP = "expected a port like '8080:80'"


def _port_range(text: str, original: str) -> tuple[int, int]:
    match = _PORT_RANGE.fullmatch(text)
    if match is None:
        raise ValueError(f"{_PORT_HELP}, found {original!r}")
    low = int(match.group(1))
    high = int(match.group(2)) if match.group(2) else low
    if not 0 < low <= high <= 65535:
        raise ValueError(f"{_PORT_HELP}, found {original!r}")
    return low, high


def parse_port(value: object) -> list[Port]:
    """Short port syntax → one Port per container port.

    ``80``, ``"80/udp"``, ``"8080:80"``, ``"127.0.0.1:8080:80/udp"``, ``"[::1]:80:80"``,
    ``"127.0.0.1::80"`` (random host port), ``"8000-8001:80-81"`` (pairwise),
    ``"8000-8010:80"`` (one container port, a host range).
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{_PORT_HELP}, found {value!r}")
    text = str(value).strip()
    protocol = "tcp"
    if "/" in text:
        text, protocol = text.rsplit("/", 1)
        if protocol not in ("tcp", "udp", "sctp"):
            raise ValueError(f"{_PORT_HELP} with protocol tcp, udp or sctp, found {value!r}")
    host_ip: str | None = None
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or text[end + 1:end + 2] != ":":
            raise ValueError(f"{_PORT_HELP}, found {value!r}")
        host_ip, text = text[1:end], text[end + 2:]
    parts = text.split(":")
    if host_ip is not None:
        if len(parts) != 2:
            raise ValueError(f"{_PORT_HELP}, found {value!r}")
        published, target = parts
    elif len(parts) == 1:
        published, target = "", parts[0]
    elif len(parts) == 2:
        published, target = parts
    elif len(parts) == 3:
        host_ip, published, target = parts
    else:  # an unbracketed IPv6 address: the last two fields are the ports
        host_ip, published, target = ":".join(parts[:-2]), parts[-2], parts[-1]
    if host_ip == "":
        host_ip = None
    t_low, t_high = _port_range(target, str(value))
    if not published:
        return [Port(target=p, host_ip=host_ip, protocol=protocol) for p in range(t_low, t_high + 1)]
    p_low, p_high = _port_range(published, str(value))
    if t_low == t_high:
        pub = str(p_low) if p_low == p_high else f"{p_low}-{p_high}"
        return [Port(target=t_low, published=pub, host_ip=host_ip, protocol=protocol)]
    if p_high - p_low != t_high - t_low:
        raise ValueError(f"host and container port ranges differ in size in {value!r}")
    return [Port(target=t, published=str(p_low + i), host_ip=host_ip, protocol=protocol)
            for i, t in enumerate(range(t_low, t_high + 1))]


def format_port(port: Port) -> dict[str, object]:
    """A Port → the long-form mapping ``docker compose config`` prints."""
    out: dict[str, object] = {}
    if port.name:
        out["name"] = port.name
    out["mode"] = port.mode
    if port.host_ip:
        out["host_ip"] = port.host_ip
    out["target"] = port.target
    if port.published is not None:
        out["published"] = port.published
    out["protocol"] = port.protocol
    if port.app_protocol:
        out["app_protocol"] = port.app_protocol
    return out


# --- volumes ------------------------------------------------------------------------------

_PROPAGATION = frozenset({"shared", "slave", "private", "rshared", "rslave", "rprivate"})
_CONSISTENCY = frozenset({"consistent", "cached", "delegated"})


@dataclass(frozen=True, slots=True)
class ShortVolume:
    """The parts of a short volume entry; ``source`` is raw (not yet made absolute)."""

    type: str  # "volume" or "bind"
    target: str
    source: str | None = None
    read_only: bool = False
    selinux: str | None = None
    propagation: str | None = None
    consistency: str | None = None
    nocopy: bool = False


def is_path_source(source: str) -> bool:
    """A short-syntax source that names a host path (a bind) rather than a named volume."""
    return source.startswith((".", "/", "~")) or "/" in source or "\\" in source


def parse_volume(value: object) -> ShortVolume:
    """``name:/path:ro``, ``./rel:/path``, ``/abs:/path:rw,z`` or an anonymous ``/path``."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a volume like 'data:/var/lib/data', found {value!r}")
    parts = value.split(":")
    if len(parts) == 1:
        target = parts[0]
        if not target.startswith("/"):
            raise ValueError(f"expected an absolute container path, found {value!r}")
        return ShortVolume(type="volume", target=target)
    if len(parts) > 3:
        raise ValueError(f"expected 'source:target[:options]', found {value!r}")
    source, target = parts[0], parts[1]
    options = parts[2].split(",") if len(parts) == 3 else []
    if not source or not target.startswith("/"):
        raise ValueError(f"expected 'source:/container/path', found {value!r}")
    read_only = False
    selinux = propagation = consistency = None
    nocopy = False
    for option in options:
        if option in ("ro", "rw"):
            read_only = option == "ro"
        elif option in ("z", "Z"):
            selinux = option
        elif option in _PROPAGATION:
            propagation = option
        elif option in _CONSISTENCY:
            consistency = option
        elif option == "nocopy":
            nocopy = True
        elif option:
            raise ValueError(f"unknown volume option {option!r} in {value!r}")
    kind = "bind" if is_path_source(source) else "volume"
    return ShortVolume(type=kind, target=target, source=source, read_only=read_only,
                       selinux=selinux, propagation=propagation, consistency=consistency,
                       nocopy=nocopy)
