"""DockerEngine against a real engine: what the adapter creates really lands, and it refuses what
is not the project's. Every resource carries the test's project label (``project_name`` cleans up).
"""

from __future__ import annotations

import json
import random
import socket
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from stackup.core import labels as L
from stackup.adapters.docker import DockerEngine
from stackup.core.errors import Conflict, EngineError, EngineUnavailable, NotFound
from stackup.core.model import (FileObject, FileReference, FrozenMap, Healthcheck, Ipam, IpamPool,
                           Mount, Network, Port, Project, Service, ServiceNetwork, Volume)
from stackup.core.observed import ObservedContainer

IMAGE = "busybox:local"
LOOP = "trap 'exit 0' TERM; while :; do sleep 0.2; done"
HTTPD = "mkdir -p /www; echo hello-from-$HOSTNAME > /www/index.html; httpd -p 80 -h /www; " + LOOP


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service(name: str, *, shell: str = LOOP, **kwargs: object) -> Service:
    kwargs.setdefault("networks", (ServiceNetwork("default"),))
    return Service(name=name, image=IMAGE, command=("sh", "-c", shell),
                   stop_grace_period=2, **kwargs)  # type: ignore[arg-type]


def project(name: str, *services: Service, networks: tuple[Network, ...] = (),
            volumes: tuple[str, ...] = (), **kwargs: object) -> Project:
    nets = networks or (Network("default", f"{name}_default"),)
    return Project(
        name=name, working_dir="/tmp",
        services=FrozenMap({s.name: s for s in services}),
        networks=FrozenMap({n.key: n for n in nets}),
        volumes=FrozenMap({k: Volume(k, f"{name}_{k}") for k in volumes}),
        **kwargs)  # type: ignore[arg-type]


def up(engine: DockerEngine, proj: Project, *, start: bool = True) -> dict[str, str]:
    """Create the project's networks/volumes and one container per service; name → id."""
    for network in proj.networks.values():
        engine.create_network(proj.name, network)
    for volume in proj.volumes.values():
        engine.create_volume(proj.name, volume)
    ids = {}
    for svc in proj.services.values():
        config = json.dumps({"image": IMAGE, "service": svc.name})
        joined = (f"{proj.name}-{svc.network_mode[8:]}-1"
                  if svc.network_mode and svc.network_mode.startswith("service:") else None)
        ids[svc.name] = engine.create_container(
            proj, svc, 1, name=f"{proj.name}-{svc.name}-1", config_hash=f"hash-{svc.name}",
            config_json=config, image=IMAGE, network_mode_container=joined)
        if start:
            engine.start_container(proj.name, ids[svc.name])
    return ids


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def fetch(url: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return answer.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_create_start_observe_and_inspect(docker_engine: DockerEngine, project_name: str) -> None:
    port = free_port()
    web = service(
        "web", shell=HTTPD, environment=FrozenMap({"A": "1", "EMPTY": "", "UNSET": None}),
        ports=(Port(80, str(port), host_ip="127.0.0.1"),),
        volumes=(Mount("volume", "/data", "data"), Mount("volume", "/anon")),
        healthcheck=Healthcheck(("CMD-SHELL", "test -f /www/index.html"), interval=0.3,
                                timeout=2, retries=3),
        labels=FrozenMap({"com.example.team": "core"}))
    proj = project(project_name, web, volumes=("data",))
    ids = up(docker_engine, proj)

    def healthy() -> bool:
        state = docker_engine.observe(project_name)
        return bool(state.containers) and state.containers[0].health == "healthy"
    wait_for(healthy)

    state = docker_engine.observe(project_name, networks=[f"{project_name}_default", "nope-net"],
                                  volumes=[f"{project_name}_data"], images=[IMAGE, "nope:1"])
    (container,) = state.containers
    assert container.container_id == ids["web"]
    assert (container.name, container.service, container.number) == (
        f"{project_name}-web-1", "web", 1)
    assert container.state == "running" and container.running
    assert container.config_hash == "hash-web"
    assert container.config == FrozenMap({"image": IMAGE, "service": "web"})
    assert container.image_id == state.images[IMAGE] == docker_engine.image_id(IMAGE)
    assert container.image_ref == IMAGE
    assert container.ports == (f"127.0.0.1:{port}->80/tcp",)
    assert state.images["nope:1"] is None
    assert list(state.networks) == [f"{project_name}_default"]
    assert state.networks[f"{project_name}_default"].key == "default"
    assert state.networks[f"{project_name}_default"].project == project_name
    (anonymous,) = [v for v in state.volumes.values() if v.key is None]  # /anon, labelled
    assert sorted(state.volumes) == sorted([f"{project_name}_data", anonymous.name])
    assert state.volumes[f"{project_name}_data"].key == "data"
    assert anonymous.project == project_name
    assert anonymous.labels["io.stackup.anonymous-volume"] == "web:/anon"

    info = docker_engine.api.inspect_container(ids["web"])
    env = info["Config"]["Env"]
    assert "A=1" in env and "EMPTY=" in env and not any(e.startswith("UNSET") for e in env)
    assert info["Config"]["Labels"]["com.example.team"] == "core"
    assert info["Config"]["Labels"][L.PROJECT] == project_name
    assert info["Config"]["Healthcheck"]["Interval"] == 300_000_000
    mounts = {m["Destination"]: m for m in info["Mounts"]}
    assert mounts["/data"]["Name"] == f"{project_name}_data"
    assert mounts["/anon"]["Type"] == "volume"
    net = info["NetworkSettings"]["Networks"][f"{project_name}_default"]
    assert "web" in net["Aliases"]

    assert fetch(f"http://127.0.0.1:{port}/").startswith("hello-from-")
    fresh = docker_engine.inspect_container(ids["web"])
    assert fresh.health == "healthy" and fresh.config_hash == "hash-web"


def test_dns_by_alias_between_containers(docker_engine: DockerEngine, project_name: str) -> None:
    web = service("web", shell=HTTPD,
                  networks=(ServiceNetwork("default", aliases=("www",)),))
    client = service("client")
    proj = project(project_name, web, client)
    ids = up(docker_engine, proj)
    for host in ("web", "www"):
        def answered(host: str = host) -> bool:
            result = docker_engine.exec(ids["client"], ["wget", "-qO-", f"http://{host}/"])
            return result.exit_code == 0 and b"hello-from-" in result.output
        wait_for(answered)
    looked_up = docker_engine.exec(ids["client"], ["nslookup", "web"])
    assert looked_up.exit_code == 0, looked_up.output


def test_extra_networks_aliases_and_static_address(docker_engine: DockerEngine,
                                                   project_name: str) -> None:
    octet = random.randint(16, 250)
    back = Network("back", f"{project_name}_back",
                   ipam=Ipam(config=(IpamPool(subnet=f"10.231.{octet}.0/24"),)))
    front = Network("front", f"{project_name}_front")
    app = service("app", networks=(
        ServiceNetwork("back", aliases=("db-client",), ipv4_address=f"10.231.{octet}.42"),
        ServiceNetwork("front")))
    ids = up(docker_engine, project(project_name, app, networks=(back, front)))
    nets = docker_engine.api.inspect_container(ids["app"])["NetworkSettings"]["Networks"]
    assert sorted(nets) == [f"{project_name}_back", f"{project_name}_front"]
    assert nets[f"{project_name}_back"]["IPAddress"] == f"10.231.{octet}.42"
    assert {"app", "db-client"} <= set(nets[f"{project_name}_back"]["Aliases"])
    assert "app" in nets[f"{project_name}_front"]["Aliases"]


def test_anonymous_volume_carried_over_on_recreate(docker_engine: DockerEngine,
                                                    project_name: str) -> None:
    svc = service("db", volumes=(Mount("volume", "/anon"),))
    proj = project(project_name, svc)
    old = up(docker_engine, proj)["db"]
    written = docker_engine.exec(old, ["sh", "-c", "echo kept > /anon/file"])
    assert written.exit_code == 0
    docker_engine.stop_container(project_name, old, timeout=5)
    docker_engine.rename_container(project_name, old, f"{project_name}-db-1-old")
    # observe reports the anonymous volume; the plan hands it to the replacement's create
    seen = {c.container_id: c for c in docker_engine.observe(project_name).containers}
    old_volume = dict(seen[old].volume_mounts)["/anon"]
    assert old_volume == {m["Destination"]: m["Name"]
                          for m in docker_engine.api.inspect_container(old)["Mounts"]}["/anon"]
    new = docker_engine.create_container(
        proj, svc, 1, name=f"{project_name}-db-1", config_hash="hash-2", config_json="{}",
        image=IMAGE, anonymous_volumes={"/anon": old_volume})
    docker_engine.remove_container(project_name, old)
    docker_engine.start_container(project_name, new)
    mounts = {m["Destination"]: m["Name"]
              for m in docker_engine.api.inspect_container(new)["Mounts"]}
    assert mounts["/anon"] == old_volume
    assert docker_engine.exec(new, ["cat", "/anon/file"]).output == b"kept\n"
    docker_engine.remove_container(project_name, new, volumes=True, force=True)
    with pytest.raises(Exception):
        docker_engine.api.inspect_volume(old_volume)  # the carried-over volume goes too


def test_refuses_to_touch_what_is_not_the_projects(docker_engine: DockerEngine,
                                                   project_name: str) -> None:
    api = docker_engine.api
    stranger = api.create_container(IMAGE, ["sh", "-c", LOOP], name=f"{project_name}-web-1",
                                    stop_timeout=1)["Id"]
    network = api.create_network(f"{project_name}_default")["Id"]
    try:
        api.start(stranger)
        with pytest.raises(EngineError, match="refusing to remove .*-web-1: it does not belong"):
            docker_engine.remove_container(project_name, stranger)
        with pytest.raises(EngineError, match="refusing to stop"):
            docker_engine.stop_container(project_name, stranger)
        with pytest.raises(EngineError, match="refusing to remove"):
            docker_engine.remove_network(project_name, f"{project_name}_default")
        assert api.inspect_container(stranger)["State"]["Running"]
        assert api.inspect_network(network)["Id"] == network
    finally:
        api.remove_container(stranger, force=True)
        api.remove_network(network)


def test_port_already_allocated_is_a_conflict_naming_the_port(docker_engine: DockerEngine,
                                                              project_name: str) -> None:
    port = free_port()
    first = service("one", ports=(Port(80, str(port), host_ip="127.0.0.1"),))
    second = service("two", ports=(Port(80, str(port), host_ip="127.0.0.1"),))
    proj = project(project_name, first, second)
    ids = up(docker_engine, proj, start=False)
    docker_engine.start_container(project_name, ids["one"])
    with pytest.raises(Conflict, match=str(port)) as raised:
        docker_engine.start_container(project_name, ids["two"])
    assert "two-1" in str(raised.value)


def test_engine_unreachable() -> None:
    engine = DockerEngine.from_env({"DOCKER_HOST": "unix:///nonexistent"})
    with pytest.raises(EngineUnavailable) as raised:
        engine.observe("anything")
    assert "unix:///nonexistent" in str(raised.value)
    assert "DOCKER_HOST" in raised.value.detail
    assert raised.value.transient


def test_missing_image_and_container_are_not_found(docker_engine: DockerEngine,
                                                   project_name: str) -> None:
    proj = project(project_name, service("web"))
    docker_engine.create_network(project_name, proj.networks["default"])
    with pytest.raises(NotFound, match="nope-image"):
        docker_engine.create_container(proj, proj.services["web"], 1, name=f"{project_name}-x-1",
                                       config_hash="h", config_json="{}", image="nope-image:1")
    with pytest.raises(NotFound):
        docker_engine.inspect_container("no-such-container-xyz")
    docker_engine.remove_container(project_name, "no-such-container-xyz")  # already gone: fine


def test_secrets_configs_network_mode_logs_and_exec(docker_engine: DockerEngine,
                                                    project_name: str, tmp_path: Path) -> None:
    secret_file = tmp_path / "token.txt"
    secret_file.write_text("from-file")
    main = service(
        "main", shell="echo started; " + LOOP,
        secrets=(FileReference("token"), FileReference("inline", target="renamed")),
        configs=(FileReference("conf", target="/etc/app.conf"),))
    sidecar = service("sidecar", networks=(), network_mode="service:main")
    proj = project(project_name, main, sidecar,
                   secrets=FrozenMap({"token": FileObject("token", "token", file=str(secret_file)),
                                      "inline": FileObject("inline", "inline", content="s3cret")}),
                   configs=FrozenMap({"conf": FileObject("conf", "conf", content="a=1\n")}))
    ids = up(docker_engine, proj)
    read = docker_engine.exec(ids["main"], ["cat", "/run/secrets/token", "/run/secrets/renamed",
                                            "/etc/app.conf"])
    assert read.exit_code == 0 and read.output == b"from-files3creta=1\n", read.output
    mode = docker_engine.api.inspect_container(ids["sidecar"])["HostConfig"]["NetworkMode"]
    assert mode in (f"container:{ids['main']}", f"container:{project_name}-main-1")
    wait_for(lambda: b"started" in b"".join(docker_engine.logs(ids["main"], tail=10)))
    result = docker_engine.exec(ids["main"], ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert result.exit_code == 3
    assert b"out\n" in result.output and b"err\n" in result.output
    stream = docker_engine.exec_stream(ids["main"], ["sh", "-c", "echo a; echo b >&2"])
    chunks = list(stream)
    assert (1, b"a\n") in chunks and (2, b"b\n") in chunks and stream.exit_code == 0


def test_concurrent_calls_from_threads(docker_engine: DockerEngine, project_name: str) -> None:
    services = [service(f"s{i}") for i in range(8)]
    proj = project(project_name, *services)
    docker_engine.create_network(project_name, proj.networks["default"])

    def create_and_start(svc: Service) -> str:
        cid = docker_engine.create_container(
            proj, svc, 1, name=f"{project_name}-{svc.name}-1", config_hash="h",
            config_json="{}", image=IMAGE)
        docker_engine.start_container(project_name, cid)
        return cid

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(create_and_start, services))
    state = docker_engine.observe(project_name)
    assert [c.service for c in state.containers] == sorted(s.name for s in services)
    assert all(c.running for c in state.containers)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda cid: docker_engine.remove_container(project_name, cid, volumes=True,
                                                                 force=True), ids))
    assert time.monotonic() - started < 15  # the TERM trap makes stops fast
    assert docker_engine.observe(project_name).containers == ()


def test_stop_restart_and_remove_owned_resources(docker_engine: DockerEngine,
                                                 project_name: str) -> None:
    proj = project(project_name, service("web"), volumes=("data",))
    cid = up(docker_engine, proj)["web"]
    docker_engine.stop_container(project_name, cid, timeout=3)
    stopped: ObservedContainer = docker_engine.inspect_container(cid)
    assert stopped.state == "exited" and stopped.exit_code == 0
    docker_engine.restart_container(project_name, cid, timeout=3)
    assert docker_engine.inspect_container(cid).running
    with pytest.raises(Conflict, match="running"):  # the plan stops first; no silent fallback
        docker_engine.remove_container(project_name, cid, volumes=True)
    docker_engine.remove_container(project_name, cid, volumes=True, force=True)
    docker_engine.remove_network(project_name, f"{project_name}_default")
    docker_engine.remove_volume(project_name, f"{project_name}_data")
    state = docker_engine.observe(project_name)
    assert not state.containers and not state.networks and not state.volumes


def test_observe_is_a_few_calls_whatever_the_container_count(
        docker_engine: DockerEngine, project_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    proj = project(project_name, *(service(f"s{i}") for i in range(5)), volumes=("data",))
    up(docker_engine, proj, start=False)
    sent: list[str] = []
    api = docker_engine.api
    original_request = api.request

    def counting_request(method: str, url: str, *args: object, **kwargs: object) -> object:
        sent.append(url.split(f"/v{api.api_version}", 1)[-1])
        return original_request(method, url, *args, **kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(api, "request", counting_request)
    state = docker_engine.observe(project_name, networks=[f"{project_name}_default"],
                                  volumes=[f"{project_name}_data"], images=[IMAGE])
    assert len(state.containers) == 5 and [c.number for c in state.containers] == [1] * 5
    assert all(c.state == "created" for c in state.containers)
    # containers, networks and volumes by Docker Compose's label (stackup writes it too, and a
    # project Compose made is taken over); networks and volumes by stackup's own label (to
    # notice a project made before stackup wrote Compose's labels); one image inspect
    assert sorted(sent) == sorted(["/containers/json", "/networks", "/volumes", "/networks",
                                   "/volumes", f"/images/{IMAGE}/json"]), sent


def test_observe_finds_containers_made_before_stackup_wrote_composes_labels(
        docker_engine: DockerEngine, project_name: str) -> None:
    """A project made by a stackup that labelled things with its own label only: its network
    says so, and observe then lists the containers by stackup's label too."""
    api = docker_engine.api
    own = {L.PROJECT: project_name}
    state = docker_engine.observe(project_name)
    assert state.containers == ()
    api.create_container(IMAGE, command=["true"], name=f"{project_name}-web-1",
                         labels={**own, L.SERVICE: "web", L.NUMBER: "1"})
    # without an old network or volume, nothing says to look for such containers
    assert docker_engine.observe(project_name).containers == ()
    api.create_network(f"{project_name}_default", labels={**own, L.NETWORK: "default"})
    state = docker_engine.observe(project_name)
    assert [(c.name, c.service, c.number) for c in state.containers] == [
        (f"{project_name}-web-1", "web", 1)]
    assert list(state.networks) == [f"{project_name}_default"]


def test_engine_errors_are_mapped_in_one_place(docker_engine: DockerEngine) -> None:
    """A missing object is NotFound with the engine's message; an address where no engine
    listens is EngineUnavailable naming the address and why."""
    with pytest.raises(NotFound) as missing:
        docker_engine.inspect_container("no-such-container-here")
    assert "no-such-container-here" in str(missing.value)
    dead = DockerEngine.from_env({"DOCKER_HOST": "unix:///nonexistent.sock"})
    with pytest.raises(EngineUnavailable) as gone:
        dead.observe("whatever")
    assert gone.value.summary == ("cannot reach the Docker engine at unix:///nonexistent.sock: "
                                  "no such socket")
    closed = DockerEngine.from_env({"DOCKER_HOST": "tcp://127.0.0.1:9"})
    with pytest.raises(EngineUnavailable) as refused:
        closed.list_containers("whatever")
    assert refused.value.summary == ("cannot reach the Docker engine at tcp://127.0.0.1:9: "
                                     "connection refused")


def test_network_still_used_by_a_stranger_is_named(docker_engine: DockerEngine,
                                                   project_name: str) -> None:
    proj = project(project_name)
    up(docker_engine, proj)
    api = docker_engine.api
    stranger = api.create_container(IMAGE, ["sh", "-c", LOOP], name=f"{project_name}-guest",
                                    stop_timeout=1, host_config=api.create_host_config(
                                        network_mode=f"{project_name}_default"))["Id"]
    try:
        api.start(stranger)
        with pytest.raises(EngineError) as err:
            docker_engine.remove_network(project_name, f"{project_name}_default")
        assert f"{project_name}-guest" in err.value.summary
        assert api.inspect_container(stranger)["State"]["Running"]  # not touched
    finally:
        api.remove_container(stranger, force=True)


def test_what_the_swarm_backend_made_is_not_the_engine_targets(docker_engine: DockerEngine,
                                                                project_name: str) -> None:
    """The same project deployed to a swarm from this engine: its objects carry
    io.stackup.target=swarm and are left to the Swarm backend (never observed or removed here)."""
    api = docker_engine.api
    net = api.create_network(f"{project_name}_swarmnet", labels={
        "io.stackup.project": project_name, "io.stackup.target": "swarm"})["Id"]
    try:
        state = docker_engine.observe(project_name)
        assert f"{project_name}_swarmnet" not in state.networks
        from stackup.reconcile import plan_down

        assert plan_down(None, state).operations == ()
    finally:
        api.remove_network(net)
