"""container_limits: the issue-20 keys → the engine's HostConfig, the keys refused before the
engine sees them (Windows-only keys on Linux, a socket that is not there, an API too old), and
the create warnings that mean the engine dropped a limit."""

from __future__ import annotations

from typing import Any

import pytest

from stackup.adapters.docker.container_limits import discarded_limits, limit_settings
from stackup.adapters.docker.resource_specs import file_deliveries
from stackup.core.errors import EngineError, PlanError
from stackup.core.model import (BlkioConfig, FileObject, FileReference, FrozenMap, Mount,
                                Service, ThrottleDevice)
from stackup.reconcile import plan_up
from tests.engine.test_container_spec import args_for, make
from tests.test_reconcile import observed


def web(**kw: Any) -> Service:
    return Service("web", image="img:1", **kw)


def test_each_key_becomes_its_host_config_entry() -> None:
    host = limit_settings(web(
        cpu_period=100000, cpu_quota=50000, cpu_rt_period=1000000, cpu_rt_runtime=10000,
        mem_swappiness=20, memswap_limit=-1, oom_kill_disable=True,
        blkio_config=BlkioConfig(weight=300, weight_device=(ThrottleDevice("/dev/vda", 400),),
                                 device_read_bps=(ThrottleDevice("/dev/vda", 1024),),
                                 device_write_bps=(ThrottleDevice("/dev/vda", 2048),),
                                 device_read_iops=(ThrottleDevice("/dev/vda", 10),),
                                 device_write_iops=(ThrottleDevice("/dev/vda", 20),)),
        device_cgroup_rules=("c 1:3 mr",), storage_opt=FrozenMap({"size": "1G"}), uts="host",
        cgroup="private", isolation="default", annotations=FrozenMap({"a": "b"})))
    assert host == {
        "CpuPeriod": 100000, "CpuQuota": 50000, "CpuRealtimePeriod": 1000000,
        "CpuRealtimeRuntime": 10000, "MemorySwappiness": 20, "MemorySwap": -1,
        "OomKillDisable": True, "BlkioWeight": 300,
        "BlkioWeightDevice": [{"Path": "/dev/vda", "Weight": 400}],
        "BlkioDeviceReadBps": [{"Path": "/dev/vda", "Rate": 1024}],
        "BlkioDeviceWriteBps": [{"Path": "/dev/vda", "Rate": 2048}],
        "BlkioDeviceReadIOps": [{"Path": "/dev/vda", "Rate": 10}],
        "BlkioDeviceWriteIOps": [{"Path": "/dev/vda", "Rate": 20}],
        "DeviceCgroupRules": ["c 1:3 mr"], "StorageOpt": {"size": "1G"}, "UTSMode": "host",
        "CgroupnsMode": "private", "Isolation": "default", "Annotations": {"a": "b"}}
    assert limit_settings(web()) == {}


@pytest.mark.parametrize(("kw", "key"), [({"cpu_count": 2}, "cpu_count"),
                                          ({"cpu_percent": 50}, "cpu_percent"),
                                          ({"credential_spec": FrozenMap({"file": "x.json"})},
                                           "credential_spec")])
def test_windows_only_keys_are_refused_on_linux_and_applied_on_windows(kw: dict[str, Any],
                                                                      key: str) -> None:
    with pytest.raises(EngineError) as info:
        limit_settings(web(**kw))
    assert info.value.summary == (f"service web: {key} applies to Windows containers only; "
                                  "this engine runs linux containers"
                                  + (" (use cpus: on Linux)" if key != "credential_spec" else ""))
    host = limit_settings(web(**kw), engine_os="windows")
    assert host.get("CpuCount") == 2 or host.get("CpuPercent") == 50 \
        or host.get("SecurityOpt") == ["credentialspec=file://x.json"]


def test_use_api_socket_mounts_the_engine_socket_beside_the_other_binds() -> None:
    svc = web(use_api_socket=True, volumes=(Mount("bind", "/src", "/host/src"),))
    host = args_for(svc, socket="/var/run/docker.sock")["host_config"]
    assert host["Binds"] == ["/host/src:/src:rw", "/var/run/docker.sock:/var/run/docker.sock"]
    with pytest.raises(EngineError, match="use_api_socket needs an engine reached through a "
                                          "unix socket"):
        args_for(svc, socket=None)


def test_annotations_are_refused_by_an_engine_older_than_api_1_43() -> None:
    svc = web(annotations=FrozenMap({"a": "b"}))
    with pytest.raises(EngineError) as info:
        args_for(svc, api_version="1.41")
    assert info.value.summary == ("services.web.annotations needs Docker engine API 1.43 or "
                                  "later; this engine speaks API 1.41")
    assert args_for(svc, api_version="1.43")["host_config"]["Annotations"] == {"a": "b"}


def test_a_create_warning_that_drops_a_limit_of_the_file_is_found() -> None:
    weight = "Your kernel does not support Block I/O weight or the cgroup is not mounted. " \
             "Weight discarded."
    oom = "OOM killer is disabled for the container, but no memory limit is set, this can " \
          "result in the system running out of resources."
    limited = web(blkio_config=BlkioConfig(weight=300), oom_kill_disable=True)
    assert discarded_limits(limited, [weight, oom]) == [f"blkio_config: {weight}"]
    assert discarded_limits(web(), [weight]) == []  # not a key of this service
    assert discarded_limits(limited, None) == []


def test_an_external_secret_on_one_engine_is_an_error_not_skipped() -> None:
    svc = Service("web", image="busybox:local", secrets=(FileReference("ext"),))
    project = make(svc, secrets=FrozenMap({"ext": FileObject("ext", "ext", external=True)}))
    with pytest.raises(PlanError) as info:
        plan_up(project, observed(project))
    assert info.value.summary == ("service web uses external secret ext: a single engine has "
                                  "no secret store (external secrets live in a Swarm)")
    with pytest.raises(EngineError, match="external secret ext"):
        file_deliveries(project, svc)
