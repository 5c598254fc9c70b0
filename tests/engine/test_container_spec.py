"""container_spec and resources: the model → engine-argument translation, as pure dict checks."""

from __future__ import annotations

import io
import tarfile
from typing import Any

import pytest

from stackup.core import labels as L
from stackup.adapters.docker.container_spec import (container_create_args, device_config, extra_networks,
                                           healthcheck_config, port_config, restart_policy)
from stackup.adapters.docker.file_specs import payloads, tar_archive
from stackup.adapters.docker.resource_specs import (STACKUP_VERSION, FileDelivery, container_from_inspect,
                                      container_from_list, default_state_dir, file_deliveries,
                                      network_create_args, volume_create_args)
from stackup.core.errors import EngineError
from stackup.core.model import (Deploy, FileObject, FileReference, FrozenMap, Healthcheck, Ipam,
                           IpamPool, Logging, Mount, Network, Port, Project, Resources,
                           RestartPolicy, Service, ServiceNetwork, Ulimit, Volume)


def make(svc: Service, **kwargs: Any) -> Project:
    return Project(name="proj", working_dir="/w", services=FrozenMap({svc.name: svc}),
                   networks=FrozenMap({"default": Network("default", "proj_default"),
                                       "back": Network("back", "custom-back")}),
                   volumes=FrozenMap({"data": Volume("data", "proj_data")}), **kwargs)


def args_for(svc: Service, **kwargs: Any) -> dict[str, Any]:
    project = make(svc, **{k: kwargs.pop(k) for k in ("secrets", "configs") if k in kwargs})
    return container_create_args(project, svc, 2, name="proj-web-2", config_hash="abc",
                                 config_json='{"x": 1}', image="img:1", **kwargs)


def test_minimal_service() -> None:
    args = args_for(Service("web", image="img:1", networks=(ServiceNetwork("default"),)))
    assert args == {
        "image": "img:1", "name": "proj-web-2", "detach": True,
        "labels": {L.PROJECT: "proj", L.SERVICE: "web", L.NUMBER: "2", L.CONFIG_HASH: "abc",
                   L.CONFIG: '{"x": 1}', L.IMAGE: "img:1", L.VERSION: STACKUP_VERSION,
                   # Docker Compose's, so that `docker compose ps/logs/down` see it
                   L.COMPOSE_PROJECT: "proj", L.COMPOSE_SERVICE: "web", L.COMPOSE_NUMBER: "2",
                   L.COMPOSE_ONEOFF: "False", L.COMPOSE_CONFIG_HASH: "abc",
                   L.COMPOSE_VERSION: L.COMPOSE_LABELS_VERSION, L.COMPOSE_WORKING_DIR: "/w",
                   L.COMPOSE_CONFIG_FILES: "", L.COMPOSE_DEPENDS_ON: ""},
        "networking_config": {"EndpointsConfig": {"proj_default": {"Aliases": ["web"]}}},
        "host_config": {"NetworkMode": "proj_default"},
    }


def test_process_settings() -> None:
    svc = Service("web", command=("sh", "-c", "x"), entrypoint=(), user="1000:1000",
                  working_dir="/app", hostname="h", domainname="example.org", tty=True,
                  stdin_open=True, stop_signal="SIGINT", stop_grace_period=1.5,
                  platform="linux/amd64", labels=FrozenMap({"a": "b", L.PROJECT: "spoofed"}),
                  environment=FrozenMap({"A": "1", "E": "", "N": None}))
    args = args_for(svc)
    assert args["command"] == ["sh", "-c", "x"]
    assert args["entrypoint"] == []
    assert args["environment"] == ["A=1", "E="]
    assert (args["user"], args["working_dir"], args["hostname"], args["domainname"]) == (
        "1000:1000", "/app", "h", "example.org")
    assert args["tty"] is True and args["stdin_open"] is True
    assert args["stop_signal"] == "SIGINT" and args["stop_timeout"] == 2
    assert args["platform"] == "linux/amd64"
    assert args["labels"]["a"] == "b" and args["labels"][L.PROJECT] == "proj"
    assert "command" not in args_for(Service("web"))  # None: the image's default


def test_oneoff_label() -> None:
    project = make(Service("web"))
    args = container_create_args(project, Service("web"), 1, name="n", config_hash="h",
                                 config_json="{}", image="i", oneoff=True)
    assert args["labels"][L.ONEOFF] == "True"


def test_ports_and_expose() -> None:
    svc = Service("web", ports=(Port(80, "8080"), Port(80, "8081", host_ip="127.0.0.1"),
                                Port(53, None, protocol="udp"), Port(9000, "8000-8010")),
                  expose=("3000", "4000-4001/udp"))
    exposed, bindings = port_config(svc)
    assert exposed == {"80/tcp": {}, "53/udp": {}, "9000/tcp": {}, "3000/tcp": {},
                       "4000/udp": {}, "4001/udp": {}}
    assert bindings == {
        "80/tcp": [{"HostIp": "", "HostPort": "8080"},
                   {"HostIp": "127.0.0.1", "HostPort": "8081"}],
        "53/udp": [{"HostIp": "", "HostPort": ""}],
        "9000/tcp": [{"HostIp": "", "HostPort": "8000-8010"}],
    }
    args = args_for(svc)
    assert args["ports"] == exposed and args["host_config"]["PortBindings"] == bindings


def test_volumes_binds_tmpfs() -> None:
    svc = Service("web", volumes=(
        Mount("volume", "/data", "data", read_only=True, nocopy=True, subpath="sub"),
        Mount("volume", "/anon"),
        Mount("volume", "/ext", "not-declared"),
        Mount("bind", "/src", "/host/src", propagation="rprivate", selinux="z"),
        Mount("bind", "/strict", "/host/strict", create_host_path=False, read_only=True),
        Mount("tmpfs", "/cache", tmpfs_size=1024, tmpfs_mode=0o1777),
    ), tmpfs=("/run", "/tmp:size=64m"))
    host = args_for(svc)["host_config"]
    assert host["Binds"] == ["/host/src:/src:rw,z,rprivate"]
    assert host["Mounts"] == [
        {"Type": "volume", "Target": "/data", "Source": "proj_data", "ReadOnly": True,
         "VolumeOptions": {"NoCopy": True, "Subpath": "sub"}},
        {"Type": "volume", "Target": "/anon", "VolumeOptions": {"Labels": {
            "io.stackup.project": "proj", "io.stackup.anonymous-volume": "web:/anon",
            "io.stackup.version": STACKUP_VERSION, "com.docker.compose.project": "proj",
            "com.docker.volume.anonymous": ""}}},
        {"Type": "volume", "Target": "/ext", "Source": "not-declared"},
        {"Type": "bind", "Target": "/strict", "Source": "/host/strict", "ReadOnly": True},
        {"Type": "tmpfs", "Target": "/cache", "TmpfsOptions": {"SizeBytes": 1024,
                                                               "Mode": 0o1777}},
    ]
    assert host["Tmpfs"] == {"/run": "", "/tmp": "size=64m"}


def test_anonymous_volumes_carried_over() -> None:
    svc = Service("db", volumes=(Mount("volume", "/anon"), Mount("volume", "/data", "data")))
    host = args_for(svc, anonymous_volumes={"/anon": "a" * 64, "/image-volume": "b" * 64})[
        "host_config"]
    assert host["Mounts"] == [
        {"Type": "volume", "Target": "/anon", "Source": "a" * 64},
        {"Type": "volume", "Target": "/data", "Source": "proj_data"},
        {"Type": "volume", "Source": "b" * 64, "Target": "/image-volume"},
    ]


def test_networks_aliases_addresses_and_priority() -> None:
    svc = Service("web", networks=(
        ServiceNetwork("back", aliases=("api", "web"), ipv4_address="10.0.0.5",
                       ipv6_address="fd00::5", link_local_ips=("169.254.1.1",)),
        ServiceNetwork("default", priority=10, mac_address="02:42:ac:11:00:02"),
    ))
    args = args_for(svc)
    assert args["host_config"]["NetworkMode"] == "proj_default"
    assert args["networking_config"] == {"EndpointsConfig": {"proj_default": {
        "Aliases": ["web"], "MacAddress": "02:42:ac:11:00:02"}}}
    assert args["mac_address"] == "02:42:ac:11:00:02"
    assert extra_networks(make(svc), svc) == [("custom-back", {
        "aliases": ["web", "api"], "ipv4_address": "10.0.0.5", "ipv6_address": "fd00::5",
        "link_local_ips": ["169.254.1.1"]})]
    assert extra_networks(make(svc), svc, {"back": "other"})[0][0] == "other"


@pytest.mark.parametrize(("mode", "expected"), [
    ("host", "host"), ("none", "none"), ("container:abc", "container:abc"),
    ("service:db", "container:db-id")])
def test_network_mode(mode: str, expected: str) -> None:
    args = args_for(Service("web", network_mode=mode), network_mode_container="db-id")
    assert args["host_config"]["NetworkMode"] == expected
    assert "networking_config" not in args


def test_network_mode_service_needs_the_container() -> None:
    with pytest.raises(ValueError, match="service:db"):
        args_for(Service("web", network_mode="service:db"))


def test_healthcheck() -> None:
    check = Healthcheck(("CMD", "true"), interval=1.5, timeout=0.25, retries=3,
                        start_period=10, start_interval=0.5)
    assert healthcheck_config(check) == {
        "Test": ["CMD", "true"], "Interval": 1_500_000_000, "Timeout": 250_000_000,
        "StartPeriod": 10_000_000_000, "StartInterval": 500_000_000, "Retries": 3}
    assert healthcheck_config(Healthcheck(disable=True, test=("CMD", "x"))) == {"Test": ["NONE"]}
    assert healthcheck_config(Healthcheck(interval=2)) == {"Interval": 2_000_000_000}
    assert args_for(Service("w", healthcheck=check))["healthcheck"]["Retries"] == 3


@pytest.mark.parametrize(("svc", "expected"), [
    (Service("w", restart="always"), {"Name": "always"}),
    (Service("w", restart="no"), {"Name": ""}),
    (Service("w", restart="on-failure:3"), {"Name": "on-failure", "MaximumRetryCount": 3}),
    (Service("w", restart="unless-stopped"), {"Name": "unless-stopped"}),
    (Service("w", deploy=Deploy(restart_policy=RestartPolicy("any"))), {"Name": "always"}),
    (Service("w", deploy=Deploy(restart_policy=RestartPolicy("none"))), {"Name": ""}),
    (Service("w", deploy=Deploy(restart_policy=RestartPolicy("on-failure", max_attempts=2))),
     {"Name": "on-failure", "MaximumRetryCount": 2}),
    (Service("w"), None),
])
def test_restart_policy(svc: Service, expected: dict[str, Any] | None) -> None:
    assert restart_policy(svc) == expected


def test_host_settings() -> None:
    svc = Service(
        "web", extra_hosts=("db:10.0.0.2", "cache=10.0.0.3"), dns=("1.1.1.1",),
        dns_search=("example.org",), dns_opt=("ndots:1",), cap_add=("NET_ADMIN",),
        cap_drop=("ALL",), privileged=True, read_only=True, init=True,
        ulimits=(Ulimit("nofile", 1024, 2048),), sysctls=FrozenMap({"net.core.somaxconn": "1024"}),
        devices=("/dev/fuse", "/dev/a:/dev/b:r"), security_opt=("no-new-privileges:true",),
        shm_size=64 * 2**20, mem_limit=2**30, mem_reservation=2**29, cpus=1.5, cpu_shares=512,
        pids_limit=100, ipc="shareable", pid="host", group_add=("audio",),
        logging=Logging("json-file", FrozenMap({"max-size": "1m"})))
    host = args_for(svc)["host_config"]
    assert host["ExtraHosts"] == ["db:10.0.0.2", "cache:10.0.0.3"]
    assert (host["Dns"], host["DnsSearch"], host["DnsOptions"]) == (
        ["1.1.1.1"], ["example.org"], ["ndots:1"])
    assert (host["CapAdd"], host["CapDrop"]) == (["NET_ADMIN"], ["ALL"])
    assert host["Privileged"] and host["ReadonlyRootfs"] and host["Init"]
    assert host["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]
    assert host["Sysctls"] == {"net.core.somaxconn": "1024"}
    assert host["Devices"] == [device_config("/dev/fuse"), {
        "PathOnHost": "/dev/a", "PathInContainer": "/dev/b", "CgroupPermissions": "r"}]
    assert device_config("/dev/fuse") == {"PathOnHost": "/dev/fuse",
                                          "PathInContainer": "/dev/fuse",
                                          "CgroupPermissions": "rwm"}
    assert host["SecurityOpt"] == ["no-new-privileges:true"]
    assert (host["ShmSize"], host["Memory"], host["MemoryReservation"]) == (
        64 * 2**20, 2**30, 2**29)
    assert (host["NanoCpus"], host["CpuShares"], host["PidsLimit"]) == (1_500_000_000, 512, 100)
    assert (host["IpcMode"], host["PidMode"], host["GroupAdd"]) == ("shareable", "host",
                                                                   ["audio"])
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m"}}
    bare = args_for(Service("web"))["host_config"]
    assert not {"Init", "Privileged", "Memory", "NanoCpus", "LogConfig"} & set(bare)


def test_deploy_resources_when_top_level_unset() -> None:
    deploy = Deploy(limits=Resources(cpus=0.5, memory=2**28, pids=50),
                    reservations=Resources(memory=2**27))
    host = args_for(Service("web", deploy=deploy))["host_config"]
    assert (host["NanoCpus"], host["Memory"], host["PidsLimit"], host["MemoryReservation"]) == (
        500_000_000, 2**28, 50, 2**27)
    top = args_for(Service("web", deploy=deploy, cpus=2.0, mem_limit=2**30))["host_config"]
    assert (top["NanoCpus"], top["Memory"]) == (2_000_000_000, 2**30)


def test_secrets_and_configs_are_delivered_not_mounted() -> None:
    svc = Service("web", secrets=(FileReference("token"), FileReference("pw", target="db_pw",
                                                                        uid="1000", gid="1001")),
                  configs=(FileReference("conf"), FileReference("nginx", target="/etc/n.conf",
                                                                mode=0o440)))
    secrets = FrozenMap({"token": FileObject("token", "token", file="/w/token.txt"),
                         "pw": FileObject("pw", "pw", environment="PW", content="s3cret")})
    configs = FrozenMap({"conf": FileObject("conf", "conf", content="a=1"),
                         "nginx": FileObject("nginx", "nginx", file="/w/nginx.conf")})
    args = args_for(svc, secrets=secrets, configs=configs)
    assert "Mounts" not in args["host_config"] and "Binds" not in args["host_config"]
    assert "s3cret" not in repr(args)
    deliveries = file_deliveries(make(svc, secrets=secrets, configs=configs), svc)
    assert deliveries == [
        FileDelivery("secret", "token", "/run/secrets/token", file="/w/token.txt"),
        FileDelivery("secret", "pw", "/run/secrets/db_pw", uid=1000, gid=1001, content="s3cret"),
        FileDelivery("config", "conf", "/conf", content="a=1"),
        FileDelivery("config", "nginx", "/etc/n.conf", mode=0o440, file="/w/nginx.conf"),
    ]
    assert "s3cret" not in repr(deliveries)


def test_file_payloads_and_tar(tmp_path: Any) -> None:
    source = tmp_path / "cert.pem"
    source.write_bytes(b"\x00binary\xff")
    items = payloads([FileDelivery("secret", "cert", "/run/secrets/cert", mode=0o400, uid=7,
                                   gid=8, file=str(source)),
                      FileDelivery("config", "app", "/etc/app/app.ini", content="k=\u00e9")],
                     service="web")
    with tarfile.open(fileobj=io.BytesIO(tar_archive(items))) as tar:
        members = tar.getmembers()
        assert [(m.name, m.mode, m.uid, m.gid, m.isfile()) for m in members] == [
            ("run/secrets/cert", 0o400, 7, 8, True), ("etc/app/app.ini", 0o444, 0, 0, True)]
        assert [tar.extractfile(m).read() for m in members] == [  # type: ignore[union-attr]
            b"\x00binary\xff", "k=\u00e9".encode()]
    with pytest.raises(EngineError, match="service web: cannot read secret gone from .*missing"):
        payloads([FileDelivery("secret", "gone", "/run/secrets/gone",
                               file=str(tmp_path / "missing"))], service="web")
    with pytest.raises(EngineError, match="is a directory"):
        payloads([FileDelivery("secret", "dir", "/x", file=str(tmp_path))], service="web")


def test_default_state_dir() -> None:
    assert default_state_dir({"STACKUP_STATE_DIR": "/s"}) == "/s"
    assert default_state_dir({"XDG_STATE_HOME": "/x"}) == "/x/stackup"


def test_network_and_volume_args() -> None:
    network = Network("back", "proj_back", driver="bridge",
                      driver_opts=FrozenMap({"com.docker.network.bridge.name": "br-x"}),
                      internal=True, attachable=True, enable_ipv6=True,
                      labels=FrozenMap({"team": "core"}),
                      ipam=Ipam(config=(IpamPool("10.5.0.0/16", "10.5.1.0/24", "10.5.0.1",
                                                 FrozenMap({"host1": "10.5.0.5"})),)))
    assert network_create_args("proj", network) == {
        "name": "proj_back", "driver": "bridge", "check_duplicate": True,
        "labels": {"team": "core", L.PROJECT: "proj", L.NETWORK: "back",
                   L.VERSION: STACKUP_VERSION, L.COMPOSE_PROJECT: "proj",
                   L.COMPOSE_NETWORK: "back", L.COMPOSE_VERSION: L.COMPOSE_LABELS_VERSION},
        "options": {"com.docker.network.bridge.name": "br-x"},
        "internal": True, "attachable": True, "enable_ipv6": True,
        "ipam": {"Driver": "default", "Options": {}, "Config": [
            {"Subnet": "10.5.0.0/16", "IPRange": "10.5.1.0/24", "Gateway": "10.5.0.1",
             "AuxiliaryAddresses": {"host1": "10.5.0.5"}}]},
    }
    volume = Volume("data", "proj_data", driver_opts=FrozenMap({"type": "tmpfs"}))
    assert volume_create_args("proj", volume) == {
        "name": "proj_data", "driver": "local", "driver_opts": {"type": "tmpfs"},
        "labels": {L.PROJECT: "proj", L.VOLUME: "data", L.VERSION: STACKUP_VERSION,
                   L.COMPOSE_PROJECT: "proj", L.COMPOSE_VOLUME: "data",
                   L.COMPOSE_VERSION: L.COMPOSE_LABELS_VERSION}}


def test_observed_container_from_list_output() -> None:
    raw = {"Id": "c1", "Names": ["/proj-web-1"], "Image": "img:1", "ImageID": "sha256:i",
           "State": "running", "Status": "Up 3 seconds (health: starting)",
           "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                     {"PrivatePort": 53, "Type": "udp"}],
           "Labels": {L.SERVICE: "web", L.NUMBER: "1", L.CONFIG_HASH: "h", L.IMAGE: "img:1",
                      L.CONFIG: '{"env": {"A": "1"}, "cmd": ["a", {"b": 1}]}'}}
    c = container_from_list(raw)
    assert (c.container_id, c.name, c.service, c.number, c.state, c.health) == (
        "c1", "proj-web-1", "web", 1, "running", "starting")
    assert c.config == FrozenMap({"env": FrozenMap({"A": "1"}),
                                  "cmd": ("a", FrozenMap({"b": 1}))})
    assert hash(c.config) is not None
    assert c.ports == ("53/udp", "0.0.0.0:8080->80/tcp")
    assert (c.image_id, c.image_ref, c.exit_code, c.oneoff) == ("sha256:i", "img:1", None, False)
    exited = container_from_list({**raw, "State": "exited", "Status": "Exited (137) 2 min ago",
                                  "Labels": {L.CONFIG: "not json"}})
    assert (exited.exit_code, exited.health, exited.config, exited.number) == (137, None, None, 0)
    for status, health in (("Up 1 s (healthy)", "healthy"), ("Up (unhealthy)", "unhealthy")):
        assert container_from_list({**raw, "Status": status}).health == health


def test_observed_container_from_inspect() -> None:
    info = {"Id": "c1", "Name": "/proj-web-1", "Image": "sha256:i",
            "State": {"Status": "exited", "ExitCode": 2, "Health": {"Status": "unhealthy"}},
            "Config": {"Image": "img:1", "Labels": {L.SERVICE: "web", L.NUMBER: "3"}},
            "NetworkSettings": {"Ports": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "81"}],
                                          "90/tcp": None}}}
    c = container_from_inspect(info)
    assert (c.name, c.number, c.state, c.exit_code, c.health, c.image_id, c.image_ref) == (
        "proj-web-1", 3, "exited", 2, "unhealthy", "sha256:i", "img:1")
    assert c.ports == ("127.0.0.1:81->80/tcp", "90/tcp")


def test_image_volumes_get_labelled_anonymous_mounts_where_nothing_else_is() -> None:
    svc = Service("web", volumes=(Mount("bind", "/conf", "/host/conf", create_host_path=False),),
                  tmpfs=("/run",))
    mounts = args_for(svc, image_volumes=("/cache", "/conf", "/run", "/old"),
                      anonymous_volumes={"/old": "carried"})["host_config"]["Mounts"]
    by_target = {m["Target"]: m for m in mounts}
    assert by_target["/old"] == {"Type": "volume", "Source": "carried", "Target": "/old"}
    assert by_target["/cache"]["VolumeOptions"]["Labels"][L.ANONYMOUS_VOLUME] == "web:/cache"
    assert "Source" not in by_target["/cache"] and by_target["/conf"]["Type"] == "bind"
    assert "/run" not in by_target  # the service's tmpfs
    shared = Service("web", volumes_from=("db",))
    assert "Mounts" not in args_for(shared, image_volumes=("/cache",),
                                    linked={"db": ("proj-db-1",)})["host_config"]
