"""Pure parts of the issue-11 engine work: container-create settings of the newly applied keys,
the API-version check, version negotiation, the buildx command line and BuildKit's trace."""

from __future__ import annotations

import base64

import pytest

from stackup.adapters.docker.buildkit_trace import TraceReader
from stackup.adapters.docker.container_extras import api_requirements, check_api
from stackup.adapters.docker.container_spec import container_create_args, extra_networks
from stackup.adapters.docker.buildx import buildx_command
from stackup.adapters.docker.client import negotiate
from stackup.core.errors import EngineError
from stackup.core.model import (BuildSecret, BuildSpec, Deploy, DeviceRequest, FrozenMap,
                           Healthcheck, Mount, Resources, Service, ServiceNetwork, Ulimit)
from tests.engine.test_container_spec import make


def test_links_volumes_from_devices_and_host_keys() -> None:
    svc = Service("web", image="img", links=("db:database",), external_links=("old:legacy",),
                  volumes_from=("db:ro", "container:other"), runtime="runc",
                  userns_mode="host", cgroup_parent="/batch", cpuset="0", oom_score_adj=5,
                  gpus=(DeviceRequest(("gpu",), -1),),
                  deploy=Deploy(reservations=Resources(devices=(
                      DeviceRequest(("gpu",), device_ids=("1",), driver="nvidia"),))),
                  networks=(ServiceNetwork("default"),))
    args = container_create_args(make(svc), svc, 1, name="proj-web-1", config_hash="h",
                                 config_json="{}", image="img",
                                 linked={"db": ("proj-db-1", "proj-db-2")})
    host = args["host_config"]
    assert host["Links"] == ["proj-db-1:database", "proj-db-1:proj-db-1", "proj-db-2:database",
                             "proj-db-2:proj-db-2", "old:legacy"]
    assert args["networking_config"]["EndpointsConfig"]["proj_default"]["Links"] == host["Links"]
    assert host["VolumesFrom"] == ["proj-db-1:ro", "other"]
    assert (host["Runtime"], host["UsernsMode"], host["CgroupParent"], host["CpusetCpus"],
            host["OomScoreAdj"]) == ("runc", "host", "/batch", "0", 5)
    assert host["DeviceRequests"] == [
        {"Driver": "", "Capabilities": [["gpu"]], "Count": -1},
        {"Driver": "nvidia", "Capabilities": [["gpu"]], "DeviceIDs": ["1"]}]


def test_volumes_from_a_service_without_container_names_both() -> None:
    svc = Service("web", image="img", volumes_from=("db",))
    with pytest.raises(EngineError, match="service web cannot mount the volumes of service db"):
        container_create_args(make(svc), svc, 1, name="n", config_hash="h", config_json="{}",
                              image="img", linked={"db": ()})


def test_endpoint_driver_opts_interface_name_gw_priority_and_service_mac() -> None:
    svc = Service("web", image="img", mac_address="02:00:00:00:00:01", networks=(
        ServiceNetwork("back", driver_opts=FrozenMap({"o": "1"})),
        ServiceNetwork("default", gw_priority=5, interface_name="eth7", priority=10)))
    args = container_create_args(make(svc), svc, 1, name="n", config_hash="h",
                                 config_json="{}", image="img")
    first = args["networking_config"]["EndpointsConfig"]["proj_default"]
    assert first["DriverOpts"] == {"com.docker.network.endpoint.ifname": "eth7"}
    assert first["GwPriority"] == 5 and first["MacAddress"] == "02:00:00:00:00:01"
    assert args["mac_address"] == "02:00:00:00:00:01"
    assert extra_networks(make(svc), svc)[0][1]["driver_opt"] == {"o": "1"}


def test_keys_needing_a_newer_engine_are_refused_naming_them() -> None:
    svc = Service("app", image="img", healthcheck=Healthcheck(("CMD", "true"),
                                                              start_interval=1.0),
                  volumes=(Mount("volume", "/d", "data", subpath="sub"),),
                  networks=(ServiceNetwork("default", interface_name="eth1"),))
    assert api_requirements(svc) == [
        ("services.app.healthcheck.start_interval", "1.44"),
        ("services.app.volumes[0].volume.subpath", "1.45"),
        ("services.app.networks.default.interface_name", "1.49")]
    check_api(svc, "1.49")
    with pytest.raises(EngineError) as found:
        check_api(svc, "1.44")
    assert str(found.value).startswith("services.app.volumes[0].volume.subpath needs Docker "
                                       "engine API 1.45 or later; this engine speaks API 1.44")
    with pytest.raises(EngineError):
        container_create_args(make(svc), svc, 1, name="n", config_hash="h", config_json="{}",
                              image="img", api_version="1.41")


def test_negotiation_takes_the_engines_version_capped_and_never_below_the_floor() -> None:
    assert negotiate("1.41") == "1.41"
    assert negotiate("1.45") == "1.45"
    assert negotiate("1.51") == "1.49"
    assert negotiate("") == negotiate("garbage") == "1.41"


def test_buildx_command_line_keeps_secret_values_off_it() -> None:
    build = BuildSpec("/ctx", "Dockerfile", args=FrozenMap({"A": "1", "B": None}),
                      cache_to=("type=inline",), ssh=("default",), tags=("x:2",),
                      secrets=(BuildSecret("tok", file="/s/tok"),
                               BuildSecret("env", "api", environment="T", content="v4lue")),
                      additional_contexts=FrozenMap({"assets": "/a"}), privileged=True,
                      platforms=("linux/amd64", "linux/arm64"), provenance="false",
                      ulimits=(Ulimit("nofile", 1, 2),))
    argv, env, stdin = buildx_command(build, "x:1", no_cache=True, pull=False, iidfile="/i")
    line = " ".join(argv)
    assert line.startswith("buildx build --progress plain --load --iidfile /i -t x:1 -t x:2 "
                           "-f /ctx/Dockerfile --build-arg A=1 --cache-to type=inline "
                           "--ssh default --allow security.insecure --build-context assets=/a "
                           "--secret id=tok,src=/s/tok --secret id=api,env=STACKUP_BUILD_SECRET_1 "
                           "--ulimit nofile=1:2 --platform linux/amd64,linux/arm64 "
                           "--provenance false --no-cache /ctx")
    assert "v4lue" not in line and env == {"STACKUP_BUILD_SECRET_1": "v4lue"} and stdin is None
    inline = BuildSpec("/ctx", dockerfile_inline="FROM scratch\n")
    argv, _, stdin = buildx_command(inline, "y", no_cache=False, pull=True, iidfile="/i")
    assert argv[-4:] == ["-f", "-", "--pull", "/ctx"] and stdin == "FROM scratch\n"


# Two records the engine (20.10, BuildKit 0.8) sent for a `RUN --mount=type=cache` build.
STARTED = ("Cm8KR3NoYTI1Njo3MDgzYTVlZWVlNTAzYzJlMThmNjc4NWVmNDZkY2E2YmJkNzYyN2YxM2QyMjk3NzU1NjM0"
           "ODQ2YTIxYzc5NmNiGiRbaW50ZXJuYWxdIGxvYWQgcmVtb3RlIGJ1aWxkIGNvbnRleHQ=")
DONE = ("CosBCkdzaGEyNTY6NzA4M2E1ZWVlZTUwM2MyZTE4ZjY3ODVlZjQ2ZGNhNmJiZDc2MjdmMTNkMjI5Nzc1NTYz"
        "NDg0NmEyMWM3OTZjYhokW2ludGVybmFsXSBsb2FkIHJlbW90ZSBidWlsZCBjb250ZXh0KgwIh/q42AYQgKKkowIy"
        "DAiH+rjYBhCb/uilAg==")


def _field(number: int, payload: bytes) -> bytes:
    return bytes([number << 3 | 2, len(payload)]) + payload


def test_buildkit_trace_becomes_plain_lines() -> None:
    lines: list[str] = []
    reader = TraceReader(lines.append)
    reader.feed_aux(STARTED)
    reader.feed_aux(DONE)
    assert lines == ["#1 [internal] load remote build context", "#1 DONE"]
    step = _field(1, b"sha256:b") + _field(3, b"[2/2] RUN make") + _field(7, b"exit code: 2")
    log = _field(1, b"sha256:b") + _field(4, b"compiling\nfailed\n")
    reader.feed(_field(1, step) + _field(3, log))
    assert lines[2:] == ["#2 [2/2] RUN make", "#2 ERROR: exit code: 2", "#2 compiling",
                         "#2 failed"]
    assert reader.step == "[2/2] RUN make"
    reader.feed_aux(base64.b64encode(b"\xff\xff").decode())  # unreadable: skipped, no crash
