"""serialize: the `config` document, and the round trip parse → to_yaml → parse."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from stackup.core.model import Project
from stackup.loader.interpolate import interpolate
from stackup.loader.parse import parse_project
from stackup.loader.serialize import to_compose_dict, to_json, to_yaml
from stackup.loader.yamlsrc import read_yaml

GOOD = Path(__file__).resolve().parent.parent / "corpus" / "good"
ENV = {"CERT_PEM": "pem", "HOME": "/home/me"}
SINGLE = sorted(p.name for p in GOOD.glob("*.yaml") if p.name != "override.yaml")


def parse_text(text: str, file: str, directory: Path, name: str = "") -> Project:
    tree, _ = interpolate(read_yaml(text, file), ENV)
    return parse_project(tree, project_name=name or ("" if tree.get("name") else directory.name),
                         working_dir=str(directory), environ=ENV, profiles=("*",),
                         requested_services=(), config_files=(file,), warnings=[])


@pytest.mark.parametrize("name", SINGLE)
def test_round_trip(name: str) -> None:
    path = GOOD / name
    first = parse_text(path.read_text(), str(path), GOOD)
    text = to_yaml(first)
    second = parse_text(text, "<config>", GOOD, first.name)
    assert dataclasses.replace(second, config_files=first.config_files) == first
    assert to_yaml(second) == text  # stable


def test_dollars_are_escaped_and_survive() -> None:
    text = "services:\n  a:\n    image: x\n    command: echo $$HOME\n    environment: {P: 'a$$b'}\n"
    first = parse_text(text, "c.yaml", GOOD, "demo")
    assert first.services["a"].command == ("echo", "$HOME")
    doc = to_compose_dict(first)
    assert doc["services"]["a"]["command"] == ["echo", "$$HOME"]
    assert doc["services"]["a"]["environment"] == {"P": "a$$b"}
    assert parse_text(to_yaml(first), "c.yaml", GOOD, "demo") == first


def test_shape_of_config_output() -> None:
    project = parse_text((GOOD / "webapp.yaml").read_text(), "webapp.yaml", GOOD)
    doc = to_compose_dict(project)
    assert list(doc) == ["name", "services", "networks", "volumes"]
    api = doc["services"]["api"]
    assert api["healthcheck"]["start_period"] == "1m30s"
    assert api["depends_on"]["db"] == {"condition": "service_healthy", "restart": True,
                                       "required": True}
    assert api["command"][0] == "gunicorn"
    web = doc["services"]["web"]
    assert web["ports"][0] == {"mode": "ingress", "target": 80, "published": "8080",
                               "protocol": "tcp"}
    assert web["volumes"][0]["bind"] == {"create_host_path": True}
    assert doc["services"]["cache"]["mem_limit"] == "536870912"
    assert doc["services"]["db"]["networks"] == {"back": None}
    assert "privileged" not in web and "environment" not in web
    assert json.loads(to_json(project)) == doc
    assert yaml.safe_load(to_yaml(project)) == doc


def test_yaml_is_written_the_way_compose_config_writes_it(tmp_path) -> None:
    """Indented sequences, double quotes, no folded lines, Compose's healthcheck key order and
    an implied Dockerfile: `diff <(docker compose config) <(stackup config)` stays quiet."""
    from stackup.loader.loader import LoadOptions, load_project
    from stackup.loader.serialize import to_yaml

    long_command = "echo " + "x" * 120
    (tmp_path / "compose.yaml").write_text(f"""
services:
  web:
    build: .
    command: ["sh", "-c", "{long_command}"]
    ports: ["127.0.0.1:8080:80"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
      timeout: 2s
      retries: 3
    depends_on:
      db: {{condition: service_healthy, restart: true}}
  db:
    image: busybox:local
""")
    project = load_project(LoadOptions(files=(str(tmp_path / "compose.yaml"),))).project
    text = to_yaml(project)
    assert "\n      - sh\n" in text  # sequence items indented under their key
    assert 'published: "8080"' in text
    assert f"      - {long_command}\n" in text  # not folded
    assert text.index("timeout: 2s") < text.index("interval: 1s")
    assert "dockerfile: Dockerfile" in text
    assert "        condition: service_healthy\n        restart: true\n        required: true" \
        in text
