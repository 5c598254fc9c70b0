"""container_body builds the create body the Docker SDK would send (ContainerConfig, None values
left out as _post_json leaves them out), so that creating over the socket changes nothing the
engine sees: checked on every service of the example and corpus stacks and on the SDK's own
conversions (command strings, environment dicts, label and port lists, healthcheck dicts)."""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

import pytest
from docker.types.containers import ContainerConfig

from stackup.engine.container_spec import container_create_args
from stackup.engine.docker.container_body import container_config
from stackup.loader.loader import LoadOptions, load_project

ROOT = Path(__file__).resolve().parent.parent.parent
ENV = {"CERT_PEM": "-----BEGIN CERT-----"}  # what everything.yaml reads
STACKS = [ROOT / "tests" / "corpus" / "good" / "everything.yaml",
          ROOT / "tests" / "corpus" / "good" / "webapp.yaml",
          *sorted((ROOT / "examples").glob("*/compose.yaml"))]


def _sdk(**args: Any) -> dict[str, Any]:
    """What the SDK posts: ContainerConfig without its top-level None values."""
    return {k: v for k, v in ContainerConfig("1.41", **args).items() if v is not None}


def test_the_signature_is_the_sdks() -> None:
    sdk = list(inspect.signature(ContainerConfig.__init__).parameters)[2:]  # self, version
    assert list(inspect.signature(container_config).parameters) == sdk


@pytest.mark.parametrize("stack", STACKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_service_of_the_stacks_gets_the_sdks_body(stack: Path) -> None:
    project = load_project(LoadOptions(files=(str(stack),), environ={**os.environ, **ENV},
                                       cwd=str(stack.parent))).project
    assert project.services
    for number, service in enumerate(project.services.values(), 1):
        args = container_create_args(
            project, service, number, name=f"{project.name}-{service.name}-{number}",
            config_hash="h", config_json="{}", image=service.image_ref(project.name),
            anonymous_volumes={"/anon": "vol-1"})
        args.pop("healthcheck", None)  # set on the body by the adapter, raw, in both paths
        args.pop("name")
        args.pop("platform", None)
        args.setdefault("command", None)
        assert container_config(**args) == _sdk(**args), service.name


@pytest.mark.parametrize("args", [
    {"command": "sh -c 'echo \"a b\"; sleep 1'", "entrypoint": "/bin/tini --"},
    {"command": ["a", "b"], "environment": {"A": "1", "B": None, "C": b"bytes"}},
    {"command": None, "labels": ["one", "two"], "ports": [80, (53, "udp"), "8080"]},
    {"command": None, "volumes": "/data", "user": 1000, "detach": False, "stdin_open": True},
    {"command": None, "volumes": ["/a", "/b"], "tty": True, "network_disabled": True},
    {"command": None, "healthcheck": {"test": "curl -f x", "interval": 10, "retries": 3}},
    {"command": None, "healthcheck": {"Test": ["CMD", "true"], "StartPeriod": 5}},
    {"command": None, "detach": True, "stop_timeout": 3, "stop_signal": "SIGINT",
     "mac_address": "02:42:ac:11:00:02", "runtime": "runc", "working_dir": "/w",
     "domainname": "d", "hostname": "h", "host_config": {"Init": True},
     "networking_config": {"EndpointsConfig": {"n": {"Aliases": ["x"]}}}},
])
def test_the_sdks_conversions(args: dict[str, Any]) -> None:
    assert container_config("img", **args) == _sdk(image="img", **args)
