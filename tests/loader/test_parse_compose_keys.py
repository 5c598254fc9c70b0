"""The Compose keys stackup applies since issue 11: parsed into the model, checked with their
location, shown by `config`, and never dropped without a word."""

from __future__ import annotations

import pytest

from stackup.core.errors import SpecError
from stackup.loader.serialize import to_compose_dict
from stackup.core.model import BuildSecret, Dependency, DeviceRequest, Hook
from tests.loader.test_parse import error, parse, svc

PROJECT = """
secrets:
  tok: {file: ./tok.txt}
  envtok: {environment: TOKEN}
services:
  db:
    image: busybox
  web:
    image: busybox
    links: ["db:database"]
    volumes_from: ["db:ro", "container:other"]
    external_links: ["legacy:old"]
    gpus: all
    runtime: runc
    userns_mode: host
    cgroup_parent: /batch
    cpuset: "0-1"
    mac_address: 02:42:ac:11:00:02
    oom_score_adj: -500
    post_start:
      - command: touch /ready
        user: root
        environment: [MODE=fast]
    pre_stop:
      - command: ["sh", "-c", "drain"]
        privileged: true
        working_dir: /app
    deploy:
      resources:
        reservations:
          devices:
            - {capabilities: [gpu, utility], count: 2, driver: nvidia}
            - {capabilities: [tpu], device_ids: ["0", "3"], options: {x: y}}
    networks:
      default:
        driver_opts: {com.example.opt: "1"}
        gw_priority: 10
        interface_name: eth9
    build:
      context: .
      args: [FROM_ENV, NOT_SET, "PLAIN=1"]
      cache_to: ["type=inline"]
      additional_contexts: {assets: ./assets, base: "docker-image://busybox:local"}
      ssh: [default]
      secrets: [tok, {source: envtok, target: api_token}]
      tags: ["web:extra"]
      platforms: [linux/amd64, linux/arm64]
      privileged: true
      isolation: default
      ulimits: {nofile: {soft: 1024, hard: 2048}}
      entitlements: [network.host]
      provenance: false
      sbom: true
"""


def load() -> object:
    return parse(PROJECT, env={"FROM_ENV": "from-env", "TOKEN": "t0k"})


def test_service_keys_are_modelled() -> None:
    web = load().services["web"]
    assert web.links == ("db:database",) and web.external_links == ("legacy:old",)
    assert web.volumes_from == ("db:ro", "container:other")
    assert Dependency("db") in web.depends_on  # links and volumes_from imply depends_on
    assert web.gpus == (DeviceRequest(capabilities=("gpu",), count=-1),)
    assert (web.runtime, web.userns_mode, web.cgroup_parent, web.cpuset, web.mac_address,
            web.oom_score_adj) == ("runc", "host", "/batch", "0-1", "02:42:ac:11:00:02", -500)
    assert web.post_start == (Hook(("touch", "/ready"), user="root",
                                   environment={"MODE": "fast"}),)
    assert web.pre_stop == (Hook(("sh", "-c", "drain"), privileged=True, working_dir="/app"),)
    devices = web.deploy.reservations.devices
    assert devices[0] == DeviceRequest(("gpu", "utility"), 2, (), "nvidia")
    assert devices[1].device_ids == ("0", "3") and devices[1].options == {"x": "y"}
    net = web.networks[0]
    assert (dict(net.driver_opts), net.gw_priority, net.interface_name) == (
        {"com.example.opt": "1"}, 10, "eth9")


def test_build_keys_are_modelled_and_name_only_args_come_from_the_environment() -> None:
    build = load().services["web"].build
    assert dict(build.args) == {"FROM_ENV": "from-env", "NOT_SET": None, "PLAIN": "1"}
    assert build.cache_to == ("type=inline",) and build.ssh == ("default",)
    assert dict(build.additional_contexts) == {"assets": "/proj/assets",
                                               "base": "docker-image://busybox:local"}
    assert build.secrets == (BuildSecret("tok", file="/proj/tok.txt"),
                             BuildSecret("envtok", "api_token", environment="TOKEN",
                                         content="t0k"))
    assert build.secrets[1].id == "api_token" and "t0k" not in repr(build.secrets)
    assert (build.tags, build.platforms, build.privileged, build.isolation) == (
        ("web:extra",), ("linux/amd64", "linux/arm64"), True, "default")
    assert [(u.name, u.soft, u.hard) for u in build.ulimits] == [("nofile", 1024, 2048)]
    assert (build.entitlements, build.provenance, build.sbom) == (
        ("network.host",), "false", "true")
    assert build.origins["build.ssh"] == " (compose.yaml:44)"  # where, for builder warnings


def test_config_shows_every_key_and_never_a_secret_value() -> None:
    doc = to_compose_dict(load())
    web = doc["services"]["web"]
    for key in ("links", "volumes_from", "external_links", "gpus", "runtime", "userns_mode",
                "cgroup_parent", "cpuset", "mac_address", "oom_score_adj", "post_start",
                "pre_stop"):
        assert key in web, key
    assert web["networks"]["default"] == {"driver_opts": {"com.example.opt": "1"},
                                          "gw_priority": 10, "interface_name": "eth9"}
    assert web["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"
    build = web["build"]
    assert build["secrets"] == [{"source": "tok"}, {"source": "envtok", "target": "api_token"}]
    assert build["ulimits"] == {"nofile": {"soft": 1024, "hard": 2048}}
    assert "origins" not in build and "t0k" not in repr(doc["services"])


@pytest.mark.parametrize("body, message", [
    ("links: [nope]", "undefined service 'nope'"),
    ("volumes_from: ['db:rx']", "expected 'service[:ro|rw]'"),
    ("deploy: {resources: {reservations: {devices: [{count: 1}]}}}", "capabilities"),
    ("post_start: [{user: root}]", "a hook needs 'command'"),
    ("oom_score_adj: -2000", "-1000"),
])
def test_bad_values_point_at_the_line(body: str, message: str) -> None:
    text = "services:\n  db: {image: x}\n  s:\n    image: x\n    " + body + "\n"
    found = error(text)
    assert message in str(found), str(found)
    assert found.location is not None and found.location.line == 5


def test_build_secret_must_exist() -> None:
    found = error("services:\n  s:\n    build: {context: ., secrets: [missing]}\n")
    assert "missing" in str(found) and found.location.line == 3


def test_still_unsupported_keys_warn_with_file_and_line() -> None:
    warnings: list[str] = []
    svc("image: x\nblkio_config: {weight: 300}\n"
        "deploy: {resources: {reservations: {generic_resources: []}}}", warnings=warnings)
    assert warnings == [
        "services.s.deploy.resources.reservations.generic_resources is not supported by "
        "stackup and is ignored (compose.yaml:5)"]
    with pytest.raises(SpecError):
        svc("image: x\nbuild: {context: ., cache_too: [x]}")  # a typo is an error, with a hint
