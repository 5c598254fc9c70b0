"""One engine contract: the same tests run against FakeEngine and DockerEngine.

The executor's fast tests trust the fake; these tests hold the fake to what the real engine does:
removing what is already gone, removing a running container, anonymous volumes, refusing what is
not the project's, rename, start/stop transitions, what observe shows, the files a container is
given, the exit code of a container killed at the stop timeout, health timing, exec, network
connect and disconnect, removing a network that stopped containers are attached to (and what
observe then says about them), a pre_start hook run beside a created replica. Each
test runs twice (``fake`` and ``docker``); only the ``Target`` helpers below look at an engine's
insides.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from stackup.core import labels as L
from stackup.testing.fake import FakeContainer, FakeEngine
from stackup.core.errors import Conflict, EngineError, NotFound
from stackup.core.model import (FileObject, FileReference, FrozenMap, Healthcheck, Mount, Network,
                           Project, Service, ServiceNetwork, Volume)

IMAGE = "busybox:local"
LOOP = "trap 'exit 0' TERM; while :; do sleep 0.2; done"


def create(target: Target, project: Project, service: Service, number: int = 1, *,
           name: str | None = None, **extra: Any) -> str:
    """The one place the contract tests call ``create_container`` (its parameters change)."""
    return target.engine.create_container(  # type: ignore[no-any-return]
        project, service, number, name=name or f"{project.name}-{service.name}-{number}",
        config_hash=f"hash-{service.name}", config_json=json.dumps({"service": service.name}),
        image=IMAGE, **extra)


def service(name: str, **kwargs: Any) -> Service:
    kwargs.setdefault("networks", (ServiceNetwork("default"),))
    kwargs.setdefault("command", ("sh", "-c", LOOP))
    return Service(name=name, image=IMAGE, stop_grace_period=1, **kwargs)


def project(name: str, *services: Service, **kwargs: Any) -> Project:
    return Project(name=name, working_dir="/tmp",
                   services=FrozenMap({s.name: s for s in services}),
                   networks=FrozenMap({"default": Network("default", f"{name}_default")}),
                   volumes=FrozenMap({"data": Volume("data", f"{name}_data")}), **kwargs)


class Target:
    """An engine under test and the few things only its own insides can tell."""

    name = ""

    def __init__(self, engine: Any, project_name: str) -> None:
        self.engine, self.project_name = engine, project_name

    def up(self, proj: Project) -> None:
        """The project's network and volume."""
        self.engine.create_network(proj.name, proj.networks["default"])
        self.engine.create_volume(proj.name, proj.volumes["data"])

    def foreign(self) -> tuple[str, str, str]:
        """(container id, network name, volume name) without any ownership label."""
        raise NotImplementedError

    def volume_exists(self, name: str) -> bool:
        raise NotImplementedError

    def anonymous_volumes(self, container_id: str) -> list[str]:
        raise NotImplementedError

    def read_file(self, container_id: str, path: str) -> tuple[bytes, int, int, int]:
        """(content, mode, uid, gid) of a file in a container."""
        raise NotImplementedError

    def networks_of(self, container_id: str) -> set[str]:
        """The names of the networks a container is attached to."""
        raise NotImplementedError

    def cleanup(self) -> None:
        pass


class FakeTarget(Target):
    name = "fake"

    def foreign(self) -> tuple[str, str, str]:
        engine: FakeEngine = self.engine
        cid = uuid.uuid4().hex
        engine.containers[cid] = FakeContainer(cid, f"{self.project_name}-foreign", "", "", 0,
                                               IMAGE, engine.images[IMAGE], "", "{}", {})
        engine.add_network(f"{self.project_name}-foreign")
        engine.add_volume(f"{self.project_name}-foreign")
        return cid, f"{self.project_name}-foreign", f"{self.project_name}-foreign"

    def volume_exists(self, name: str) -> bool:
        return name in self.engine.volumes

    def anonymous_volumes(self, container_id: str) -> list[str]:
        return list(self.engine.containers[container_id].anonymous)

    def read_file(self, container_id: str, path: str) -> tuple[bytes, int, int, int]:
        item = self.engine.containers[container_id].files[path]
        d = item.delivery
        return item.data, d.mode, d.uid, d.gid

    def networks_of(self, container_id: str) -> set[str]:
        return set(self.engine.containers[container_id].networks)


class DockerTarget(Target):
    name = "docker"

    def __init__(self, engine: Any, project_name: str) -> None:
        super().__init__(engine, project_name)
        self.api = engine.api
        self.leftovers: list[tuple[str, str]] = []

    def foreign(self) -> tuple[str, str, str]:
        name = f"{self.project_name}-foreign"
        cid = self.api.create_container(IMAGE, command=["sh", "-c", LOOP], name=name)["Id"]
        self.api.create_network(name)
        self.api.create_volume(name)
        self.leftovers += [("container", cid), ("network", name), ("volume", name)]
        return cid, name, name

    def volume_exists(self, name: str) -> bool:
        try:
            self.api.inspect_volume(name)
        except docker.errors.NotFound:  # any other engine error is raised, not a "no"
            return False
        return True

    def anonymous_volumes(self, container_id: str) -> list[str]:
        mounts = self.api.inspect_container(container_id)["Mounts"]
        names = [m["Name"] for m in mounts if m["Type"] == "volume"
                 and m["Name"] != f"{self.project_name}_data"]
        self.leftovers += [("volume", n) for n in names]
        return names

    def read_file(self, container_id: str, path: str) -> tuple[bytes, int, int, int]:
        stream, _ = self.api.get_archive(container_id, path)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.getmembers()[0]
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            return data, member.mode & 0o7777, member.uid, member.gid

    def networks_of(self, container_id: str) -> set[str]:
        return set(self.api.inspect_container(container_id)["NetworkSettings"]["Networks"])

    def cleanup(self) -> None:
        for kind, ref in self.leftovers:
            try:
                {"container": lambda r: self.api.remove_container(r, force=True, v=True),
                 "network": self.api.remove_network,
                 "volume": self.api.remove_volume}[kind](ref)
            except Exception:  # noqa: BLE001 - best effort: already gone is fine
                pass


@pytest.fixture(params=["fake", pytest.param("docker", marks=pytest.mark.engine)])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    if request.param == "fake":
        made: Target = FakeTarget(FakeEngine(auto_images=False,
                                             images={IMAGE: "sha256:" + "b" * 64}),
                                  f"stk-{uuid.uuid4().hex[:10]}")
    else:  # the real engine, and the labelled leftovers of the project removed afterwards
        made = DockerTarget(request.getfixturevalue("docker_engine"),
                            request.getfixturevalue("project_name"))
    yield made
    made.cleanup()


def _state(target: Target, container_id: str) -> tuple[str, int | None]:
    seen = target.engine.inspect_container(container_id)
    return seen.state, seen.exit_code


def test_removing_what_is_gone_returns(target: Target) -> None:
    proj = project(target.project_name, service("web"))
    target.up(proj)
    cid = create(target, proj, proj.services["web"])
    target.engine.remove_container(proj.name, cid)
    target.engine.remove_container(proj.name, cid)  # again: already gone
    target.engine.remove_container(proj.name, f"{proj.name}-never-1")
    target.engine.remove_network(proj.name, f"{proj.name}_never")
    target.engine.remove_volume(proj.name, f"{proj.name}_never")
    with pytest.raises(NotFound):
        target.engine.inspect_container(cid)


def test_a_running_container_is_removed_only_with_force(target: Target) -> None:
    proj = project(target.project_name, service("web"))
    target.up(proj)
    cid = create(target, proj, proj.services["web"])
    target.engine.start_container(proj.name, cid)
    with pytest.raises(Conflict):
        target.engine.remove_container(proj.name, cid)
    assert _state(target, cid) == ("running", None)
    target.engine.remove_container(proj.name, cid, force=True)
    with pytest.raises(NotFound):
        target.engine.inspect_container(cid)


def test_remove_with_volumes_takes_anonymous_volumes_along(target: Target) -> None:
    web = service("web", volumes=(Mount("volume", "/scratch"), Mount("volume", "/data", "data")))
    proj = project(target.project_name, web)
    target.up(proj)
    kept = create(target, proj, web)
    (kept_volume,) = target.anonymous_volumes(kept)
    target.engine.remove_container(proj.name, kept)
    assert target.volume_exists(kept_volume)  # without volumes=True it stays
    first = create(target, proj, web)
    (carried,) = target.anonymous_volumes(first)
    second = create(target, proj, web, 2, anonymous_volumes={"/scratch": carried})
    assert target.anonymous_volumes(second) == [carried]  # recreate takes it over
    target.engine.remove_container(proj.name, first)
    assert target.volume_exists(carried)
    target.engine.remove_container(proj.name, second, volumes=True)
    assert not target.volume_exists(carried)
    assert target.volume_exists(f"{proj.name}_data")  # a named volume never goes with it
    # the anonymous volume carries the project's labels: `down -v` after `down` finds it
    target.engine.remove_volume(proj.name, kept_volume)
    assert not target.volume_exists(kept_volume)
    with pytest.raises(EngineError):  # still: not another project's to remove
        target.engine.remove_volume("other" + proj.name, f"{proj.name}_data")


def test_what_is_not_the_projects_is_refused(target: Target) -> None:
    proj = project(target.project_name, service("web"))
    container_id, network, volume = target.foreign()
    engine = target.engine
    for call in (lambda: engine.start_container(proj.name, container_id),
                 lambda: engine.stop_container(proj.name, container_id),
                 lambda: engine.restart_container(proj.name, container_id),
                 lambda: engine.remove_container(proj.name, container_id, force=True),
                 lambda: engine.rename_container(proj.name, container_id, f"{proj.name}-x"),
                 lambda: engine.remove_network(proj.name, network),
                 lambda: engine.remove_volume(proj.name, volume)):
        with pytest.raises(EngineError, match="refusing"):
            call()
    assert _state(target, container_id) == ("created", None)
    assert target.volume_exists(volume)
    assert network in engine.observe(proj.name, networks=[network]).networks


def test_rename(target: Target) -> None:
    proj = project(target.project_name, service("web"))
    target.up(proj)
    web = proj.services["web"]
    first, second = create(target, proj, web), create(target, proj, web, 2)
    target.engine.rename_container(proj.name, first, f"{proj.name}-web-9")
    target.engine.rename_container(proj.name, first, f"{proj.name}-web-9")  # already: no-op
    with pytest.raises(Conflict):
        target.engine.rename_container(proj.name, second, f"{proj.name}-web-9")
    names = sorted(c.name for c in target.engine.observe(proj.name).containers)
    assert names == [f"{proj.name}-web-2", f"{proj.name}-web-9"]
    assert target.engine.inspect_container(first).name == f"{proj.name}-web-9"


def test_start_stop_restart_transitions(target: Target) -> None:
    proj = project(target.project_name, service("web"))
    target.up(proj)
    cid = create(target, proj, proj.services["web"])
    engine = target.engine
    assert _state(target, cid) == ("created", None)
    engine.stop_container(proj.name, cid)  # stopping what never ran changes nothing
    assert _state(target, cid) == ("created", None)
    engine.start_container(proj.name, cid)
    engine.start_container(proj.name, cid)  # already running: fine
    assert _state(target, cid) == ("running", None)
    engine.stop_container(proj.name, cid, timeout=5)
    engine.stop_container(proj.name, cid)  # already stopped: fine
    assert _state(target, cid) == ("exited", 0)
    engine.restart_container(proj.name, cid, timeout=5)
    assert _state(target, cid) == ("running", None)
    engine.stop_container(proj.name, cid, timeout=5)
    engine.start_container(proj.name, cid)
    assert _state(target, cid) == ("running", None)
    engine.stop_container(proj.name, cid, timeout=5)


def test_observe_view(target: Target) -> None:
    web = service("web", labels=FrozenMap({"team": "core"}))
    proj = project(target.project_name, web, service("db"))
    target.up(proj)
    with pytest.raises(Conflict):
        target.engine.create_network(proj.name, proj.networks["default"])
    web_id = create(target, proj, web)
    with pytest.raises(Conflict):
        create(target, proj, web)  # the name is taken
    db_id = create(target, proj, proj.services["db"])
    target.engine.start_container(proj.name, db_id)
    seen = target.engine.observe(proj.name, images=[IMAGE, "stackup-missing:never"])
    assert [(c.name, c.service, c.number, c.state, c.config_hash, c.image_ref,
             dict(c.config or {}), c.labels.get("team"), c.oneoff)
            for c in seen.containers] == [
        (f"{proj.name}-db-1", "db", 1, "running", "hash-db", IMAGE, {"service": "db"}, None,
         False),
        (f"{proj.name}-web-1", "web", 1, "created", "hash-web", IMAGE, {"service": "web"},
         "core", False)]
    assert [c.container_id for c in seen.containers] == [db_id, web_id]
    assert [(n.name, n.key, n.project) for n in seen.networks.values()] == [
        (f"{proj.name}_default", "default", proj.name)]
    assert [(v.name, v.key, v.project) for v in seen.volumes.values()] == [
        (f"{proj.name}_data", "data", proj.name)]
    assert seen.images[IMAGE] is not None and seen.images["stackup-missing:never"] is None
    running = target.engine.observe(proj.name, all_containers=False)
    assert [c.name for c in running.containers] == [f"{proj.name}-db-1"]
    assert target.engine.observe(f"{proj.name}-other").containers == ()
    with pytest.raises(EngineError):  # the network is in use
        target.engine.remove_network(proj.name, f"{proj.name}_default")
    target.engine.stop_container(proj.name, db_id, timeout=5)


def test_secrets_and_configs_are_delivered(target: Target) -> None:
    web = service("web", secrets=(FileReference("tok", uid="1000", gid="1001", mode=0o400),),
                  configs=(FileReference("conf", target="/etc/app/app.ini"),))
    proj = project(target.project_name, web,
                   secrets=FrozenMap({"tok": FileObject("tok", "tok", content="s3cr3t")}),
                   configs=FrozenMap({"conf": FileObject("conf", "conf", content="a=1\n")}))
    target.up(proj)
    cid = create(target, proj, web)
    assert target.read_file(cid, "/run/secrets/tok") == (b"s3cr3t", 0o400, 1000, 1001)
    assert target.read_file(cid, "/etc/app/app.ini") == (b"a=1\n", 0o444, 0, 0)
    assert "s3cr3t" not in json.dumps(dict(target.engine.inspect_container(cid).labels))
    assert L.PROJECT in target.engine.inspect_container(cid).labels


def test_a_container_that_ignores_sigterm_is_killed_at_the_stop_timeout(target: Target) -> None:
    ignores = service("ignores", command=("sh", "-c", "trap '' TERM; while :; do sleep 0.2; done"))
    exits = service("exits",
                    command=("sh", "-c", "trap 'exit 3' TERM; while :; do sleep 0.2; done"))
    proj = project(target.project_name, ignores, exits)
    target.up(proj)
    for svc, code in ((ignores, 137), (exits, 3)):
        cid = create(target, proj, svc)
        target.engine.start_container(proj.name, cid)
        time.sleep(1.5)  # the shell has set its trap (a TERM before that is ignored by PID 1)
        target.engine.stop_container(proj.name, cid, timeout=1)
        assert _state(target, cid) == ("exited", code), svc.name


def test_health_follows_the_healthchecks_timing(target: Target) -> None:
    web = service("web", healthcheck=Healthcheck(test=("CMD", "true"), interval=2.0, timeout=10.0,
                                                 retries=3))
    proj = project(target.project_name, web)
    target.up(proj)
    cid = create(target, proj, web)
    assert target.engine.inspect_container(cid).health is None  # created: no health yet
    target.engine.start_container(proj.name, cid)
    started = time.monotonic()
    assert target.engine.inspect_container(cid).health == "starting"
    while (seen := target.engine.inspect_container(cid)).health == "starting":
        assert time.monotonic() - started < 15, "never healthy"
        time.sleep(0.1)
    assert seen.health == "healthy", seen.health_log
    assert time.monotonic() - started >= 1.8  # the first check runs one interval after the start
    target.engine.stop_container(proj.name, cid, timeout=5)
    assert target.engine.inspect_container(cid).health == "unhealthy"  # stopped: as the engine
    target.engine.start_container(proj.name, cid)
    assert target.engine.inspect_container(cid).health == "starting"  # checked again from start
    target.engine.stop_container(proj.name, cid, timeout=5)


def test_exec_returns_the_commands_exit_code_and_output(target: Target) -> None:
    proj = project(target.project_name, service("web"))
    target.up(proj)
    cid = create(target, proj, proj.services["web"])
    with pytest.raises(Conflict):  # not running
        target.engine.exec(cid, ["true"])
    target.engine.start_container(proj.name, cid)
    done = target.engine.exec(cid, ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert done.exit_code == 3 and sorted(done.output.splitlines()) == [b"err", b"out"]
    assert (target.engine.exec(cid, ["false"]).exit_code,
            target.engine.exec(cid, ["false"]).output) == (1, b"")
    seen = target.engine.exec(cid, ["sh", "-c", 'echo "$GREETING"; pwd'],
                              environment={"GREETING": "hi there"}, workdir="/etc")
    assert (seen.exit_code, seen.output) == (0, b"hi there\n/etc\n")
    with pytest.raises(NotFound):
        target.engine.exec(f"{proj.name}-never-1", ["true"])
    target.engine.stop_container(proj.name, cid, timeout=5)


def _two_networks(name: str) -> tuple[Project, Service, Service]:
    """A project with networks ``default`` and ``back``; its service on default only (as
    created) and on both (for connect)."""
    both = service("web", networks=(ServiceNetwork("default"), ServiceNetwork("back")))
    proj = Project(name=name, working_dir="/tmp", services=FrozenMap({"web": both}),
                   networks=FrozenMap({"default": Network("default", f"{name}_default"),
                                       "back": Network("back", f"{name}_back")}),
                   volumes=FrozenMap({"data": Volume("data", f"{name}_data")}))
    return proj, service("web"), both


def test_network_connect_and_disconnect(target: Target) -> None:
    proj, created, both = _two_networks(target.project_name)
    target.up(proj)
    engine = target.engine
    engine.create_network(proj.name, proj.networks["back"])
    cid = create(target, proj, created)
    engine.start_container(proj.name, cid)
    assert target.networks_of(cid) == {f"{proj.name}_default"}
    engine.connect_network(proj, cid, both, "back")
    engine.connect_network(proj, cid, both, "back")  # already attached: fine
    assert target.networks_of(cid) == {f"{proj.name}_default", f"{proj.name}_back"}
    engine.disconnect_network(proj.name, cid, f"{proj.name}_back")
    engine.disconnect_network(proj.name, cid, f"{proj.name}_back")  # already off: fine
    assert target.networks_of(cid) == {f"{proj.name}_default"}
    engine.remove_network(proj.name, f"{proj.name}_back")
    with pytest.raises(NotFound):
        engine.connect_network(proj, cid, both, "back")
    assert engine.inspect_container(cid).state == "running"
    engine.stop_container(proj.name, cid, timeout=5)


def test_a_network_with_only_stopped_containers_attached_can_be_removed(target: Target) -> None:
    """Engine 20.10 refuses to remove a network a running container uses, but removes one that
    only stopped (or never started) containers are attached to; such a container then cannot
    start until it is disconnected from the removed network."""
    proj, _, both = _two_networks(target.project_name)
    target.up(proj)
    engine = target.engine
    engine.create_network(proj.name, proj.networks["back"])
    cid = create(target, proj, both)
    never_started = create(target, proj, both, 2)
    engine.start_container(proj.name, cid)
    with pytest.raises(EngineError):
        engine.remove_network(proj.name, f"{proj.name}_back")
    assert f"{proj.name}_back" in engine.observe(proj.name).networks
    engine.stop_container(proj.name, cid, timeout=5)
    engine.remove_network(proj.name, f"{proj.name}_back")
    assert f"{proj.name}_back" not in engine.observe(proj.name).networks
    for container in (cid, never_started):
        assert f"{proj.name}_back" in target.networks_of(container)  # still named there
        with pytest.raises(NotFound):
            engine.start_container(proj.name, container)
        assert _state(target, container)[0] != "running"
        engine.disconnect_network(proj.name, container, f"{proj.name}_back")
        engine.start_container(proj.name, container)
        assert _state(target, container) == ("running", None)
        assert target.networks_of(container) == {f"{proj.name}_default"}
        engine.stop_container(proj.name, container, timeout=5)


def test_observe_reports_a_removed_network_as_gone(target: Target) -> None:
    """Containers attached to a network removed under them: observe says it is gone. One that
    has run holds the network's id, so it stays gone once a network of the same name is made
    again (and the container cannot start); one never started goes by the name."""
    proj, _, both = _two_networks(target.project_name)
    target.up(proj)
    engine = target.engine
    engine.create_network(proj.name, proj.networks["back"])
    ran = create(target, proj, both)
    never_started = create(target, proj, both, 2)
    engine.start_container(proj.name, ran)
    engine.stop_container(proj.name, ran, timeout=5)
    back, default = f"{proj.name}_back", f"{proj.name}_default"

    def seen() -> dict[str, tuple[tuple[str, ...] | None, tuple[str, ...]]]:
        return {c.container_id: (c.networks, c.gone_networks)
                for c in engine.observe(proj.name).containers}

    assert seen() == {ran: ((back, default), ()), never_started: ((back, default), ())}
    engine.remove_network(proj.name, back)
    assert seen() == {ran: ((back, default), (back,)), never_started: ((back, default), (back,))}
    engine.create_network(proj.name, proj.networks["back"])
    assert seen() == {ran: ((back, default), (back,)), never_started: ((back, default), ())}
    with pytest.raises(NotFound):
        engine.start_container(proj.name, ran)
    engine.start_container(proj.name, never_started)
    engine.stop_container(proj.name, never_started, timeout=5)


def test_a_pre_start_hook_runs_beside_the_created_replica_and_leaves_nothing(
        target: Target) -> None:
    from stackup.core.model import Hook

    web = service("web", volumes=(Mount("volume", "/data", "data"),),
                  pre_start=(Hook(("sh", "-c", "echo hi > /data/f")),))
    proj = project(target.project_name, web)
    target.up(proj)
    cid = create(target, proj, web)
    target.engine.run_pre_start(proj, web, 1, IMAGE, replica=cid)
    seen = target.engine.observe(proj.name)
    assert [(c.name, c.state) for c in seen.containers] == [(f"{proj.name}-web-1", "created")]
    with pytest.raises(NotFound):
        target.engine.run_pre_start(proj, web, 1, IMAGE, replica=f"{proj.name}-never-1")
    assert [c.name for c in target.engine.observe(proj.name).containers] == \
        [f"{proj.name}-web-1"]
