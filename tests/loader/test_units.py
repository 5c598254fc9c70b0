"""units: durations, sizes, short ports and volumes — valid and invalid inputs."""

from __future__ import annotations

import pytest

from stackup.core.model import Port
from stackup.loader.units import (format_duration, format_port, format_size, parse_duration,
                                parse_port, parse_size, parse_volume)


@pytest.mark.parametrize("text, seconds", [
    ("1m30s", 90.0), ("10s", 10.0), ("1h", 3600.0), ("500ms", 0.5), ("1.5s", 1.5),
    ("0s", 0.0), ("0", 0.0), ("2h45m", 9900.0), ("100us", 0.0001), ("100µs", 0.0001),
    ("10ns", 1e-8), (5, 5.0), (2.5, 2.5), ("30", 30.0), ("1h1m1s", 3661.0), (".5s", 0.5),
])
def test_parse_duration(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "10x", "1m30", "s", "-5s", True, None, [1], "1 m",
                                  -3, "1.2.3s"])
def test_parse_duration_rejects(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("seconds, text", [
    (90, "1m30s"), (10, "10s"), (0.5, "500ms"), (1.5, "1.5s"), (3600, "1h0m0s"), (0, "0s"),
    (0.0001, "100µs"), (1e-8, "10ns"), (3661.25, "1h1m1.25s"), (60, "1m0s"),
])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text, size", [
    ("512m", 512 << 20), ("1g", 1 << 30), ("100k", 100 << 10), ("1024", 1024),
    ("1.5gb", int(1.5 * (1 << 30))), ("512MB", 512 << 20), ("10b", 10), ("2GiB", 2 << 30),
    (4096, 4096), ("1t", 1 << 40), (" 64m ", 64 << 20),
])
def test_parse_size(text: object, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "m", "12q", "1.2.3g", "-1m", True, None, {}, -5, "1 0m"])
def test_parse_size_rejects(text: object) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


def test_format_size_round_trips() -> None:
    assert format_size(536870912) == "536870912"
    assert parse_size(format_size(536870912)) == 536870912


@pytest.mark.parametrize("text, ports", [
    ("80", [Port(80)]),
    (80, [Port(80)]),
    ("8080:80", [Port(80, "8080")]),
    ("127.0.0.1:8080:80/udp", [Port(80, "8080", "127.0.0.1", "udp")]),
    ("[::1]:80:80", [Port(80, "80", "::1")]),
    ("127.0.0.1::80", [Port(80, None, "127.0.0.1")]),
    ("8000-8001:80-81", [Port(80, "8000"), Port(81, "8001")]),
    ("8000-8010:80", [Port(80, "8000-8010")]),
    ("80-82", [Port(80), Port(81), Port(82)]),
    ("53:53/sctp", [Port(53, "53", protocol="sctp")]),
    ("::1:8080:80", [Port(80, "8080", "::1")]),
])
def test_parse_port(text: object, ports: list[Port]) -> None:
    assert parse_port(text) == ports


@pytest.mark.parametrize("text", ["80800:80", "abc", "80:", "8000-8002:80-81",
                                  "80/xyz", "0", "90-80", "[::1:80:80", "[::1]:1:2:3", True,
                                  None, "1:2:3:4x"])
def test_parse_port_rejects(text: object) -> None:
    with pytest.raises(ValueError, match="port"):
        parse_port(text)


def test_format_port_long_form() -> None:
    assert format_port(Port(80, "8080", "127.0.0.1", "udp")) == {
        "mode": "ingress", "host_ip": "127.0.0.1", "target": 80, "published": "8080",
        "protocol": "udp"}
    assert format_port(Port(80)) == {"mode": "ingress", "target": 80, "protocol": "tcp"}


@pytest.mark.parametrize("text, kind, source, target, ro", [
    ("data:/var/lib/data:ro", "volume", "data", "/var/lib/data", True),
    ("./rel:/path", "bind", "./rel", "/path", False),
    ("../up:/path", "bind", "../up", "/path", False),
    ("~/home:/path", "bind", "~/home", "/path", False),
    ("/abs:/path:rw,z", "bind", "/abs", "/path", False),
    ("/anon", "volume", None, "/anon", False),
    ("sub/dir:/x", "bind", "sub/dir", "/x", False),
])
def test_parse_volume(text: str, kind: str, source: str | None, target: str, ro: bool) -> None:
    vol = parse_volume(text)
    assert (vol.type, vol.source, vol.target, vol.read_only) == (kind, source, target, ro)


def test_parse_volume_options() -> None:
    vol = parse_volume("/abs:/path:ro,Z,rshared,cached")
    assert (vol.selinux, vol.propagation, vol.consistency) == ("Z", "rshared", "cached")
    assert parse_volume("data:/d:nocopy").nocopy


@pytest.mark.parametrize("text", ["", "rel", "data:rel", "a:/b:bogus", ":/x", "a:/b:ro:x", 5,
                                  None])
def test_parse_volume_rejects(text: object) -> None:
    with pytest.raises(ValueError):
        parse_volume(text)
