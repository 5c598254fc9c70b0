"""The docker-style text the new commands print: durations, ports, templates, events, stats."""

import datetime as dt

import pytest

from stackup.cli.commands.cp import _split
from stackup.cli.views.engine_events import event_record, rfc3339, stats_record
from stackup.cli.views.formatting import (displayable_ports, human_duration, human_size,
                                    quote_command, render_template)
from stackup.cli.selection import table
from stackup.ports.engine import PortBinding
from stackup.core.errors import ProjectError


@pytest.mark.parametrize("seconds,text", [
    (0.5, "Less than a second"), (1, "1 second"), (59, "59 seconds"), (60, "About a minute"),
    (119, "About a minute"), (120, "2 minutes"), (3599, "59 minutes"), (3600, "About an hour"),
    (5400, "2 hours"), (47 * 3600, "47 hours"), (3 * 86400, "3 days"),
    (20 * 86400, "2 weeks"), (90 * 86400, "3 months"), (800 * 86400, "2 years")])
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_ports_grouped_like_docker_ps() -> None:
    ports = [PortBinding(8001, "tcp", "0.0.0.0", 8001), PortBinding(8000, "tcp", "0.0.0.0", 8000),
             PortBinding(80, "tcp", "::", 8080), PortBinding(9000, "udp"),
             PortBinding(9001, "udp"), PortBinding(53, "udp", "127.0.0.1", 5353)]
    assert displayable_ports(ports) == (
        "0.0.0.0:8000-8001->8000-8001/tcp, 9000-9001/udp, "
        "127.0.0.1:5353->53/udp, [::]:8080->80/tcp")
    assert displayable_ports([]) == ""


def test_command_and_sizes() -> None:
    assert quote_command("sh -c 'sleep 1000; echo done'") == '"sh -c \'sleep 1000; …"'
    assert quote_command("short") == '"short"'
    assert human_size(1234567) == "1.23MB" and human_size(1536, binary=True) == "1.5KiB"


def test_templates_and_tables() -> None:
    rows = [{"Name": "a-1", "State": "running", "Publishers": [{"PublishedPort": 80}]},
            {"Name": "b-1", "State": "exited", "Publishers": []}]
    headers = {"Name": "NAME", "State": "STATE"}
    assert render_template("{{.Name}}: {{ .State }}", rows, headers) == \
        "a-1: running\nb-1: exited\n"
    assert render_template("{{json .Publishers}}", rows, headers) == \
        '[{"PublishedPort": 80}]\n[]\n'
    assert render_template("table {{.Name}}\\t{{.State}}", rows, headers).splitlines() == [
        "NAME      STATE", "a-1       running", "b-1       exited"]
    with pytest.raises(ProjectError):
        render_template("{{.Nope}}", rows, headers)
    assert table(["A", "LONGER HEADER"], [["x", "y"]]).splitlines() == [
        "A         LONGER HEADER", "x         y"]


def test_event_record_in_composes_shape() -> None:
    event = {"Type": "container", "Action": "start", "timeNano": 1700000000123456789,
             "Actor": {"ID": "abc", "Attributes": {
                 "io.stackup.service": "web", "io.stackup.project": "p", "name": "p-web-1",
                 "com.docker.compose.service": "web", "image": "busybox"}}}
    record = event_record(event)
    assert record is not None
    assert {k: record[k] for k in ("action", "id", "service", "type", "attributes")} == {
        "action": "start", "id": "abc", "service": "web", "type": "container",
        "attributes": {"image": "busybox", "name": "p-web-1"}}
    assert record["time"].endswith(("Z", ":00")) and ".123456789" in record["time"]
    oneoff = {**event, "Actor": {"ID": "x", "Attributes": {"io.stackup.oneoff": "True"}}}
    assert event_record(oneoff) is None
    assert event_record({**event, "Type": "network"}) is None
    utc = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert rfc3339(utc, 500_000_000) == "2024-01-02T03:04:05.5Z" and rfc3339(utc, 0).endswith(
        "05Z")


def test_stats_record() -> None:
    sample = {"cpu_stats": {"cpu_usage": {"total_usage": 300}, "system_cpu_usage": 2000,
                            "online_cpus": 2},
              "precpu_stats": {"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 1000},
              "memory_stats": {"usage": 3 * 1024 * 1024, "limit": 100 * 1024 * 1024,
                               "stats": {"inactive_file": 1024 * 1024}},
              "networks": {"eth0": {"rx_bytes": 1500, "tx_bytes": 500}},
              "blkio_stats": {"io_service_bytes_recursive": [{"op": "Read", "value": 4096},
                                                             {"op": "write", "value": 0}]},
              "pids_stats": {"current": 3}}
    row = stats_record("p-web-1", "0123456789abcdef", sample)
    assert row == {"BlockIO": "4.1kB / 0B", "CPUPerc": "40.00%", "Container": "0123456789ab",
                   "ID": "0123456789ab", "MemPerc": "2.00%", "MemUsage": "2MiB / 100MiB",
                   "Name": "p-web-1", "NetIO": "1.5kB / 500B", "PIDs": "3"}


def test_cp_argument_split() -> None:
    assert _split("web:/etc/hosts") == ("web", "/etc/hosts")
    assert _split("web:") == ("web", "/")
    assert _split("./a:b") == (None, "./a:b")
    assert _split("/abs/x") == (None, "/abs/x")
    assert _split("-") == (None, "-")
    assert _split("plainfile") == (None, "plainfile")
