"""Preflight, pure: a stack file (loaded for its lines), an observed state and host facts made
by hand → the problems, each with its file and line. No engine, no sockets."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from stackup.core.errors import Location
from stackup.core.hashing import config_hash
from stackup.loader.loader import Loaded, LoadOptions, load_project
from stackup.core.model import FrozenMap
from stackup.core.observed import ObservedContainer, ObservedNetwork, ObservedState
from stackup.core.plan import Kind, Operation
from stackup.reconcile import UpOptions, plan_up
from stackup.reconcile import preflight as P

IMAGE_ID = "sha256:" + "1" * 64


def load(tmp_path: Path, text: str) -> Loaded:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(text).lstrip())
    return load_project(LoadOptions(files=("compose.yaml",), project_name="demo",
                                    cwd=str(tmp_path), environ={}))


def engine_has(loaded: Loaded, *containers: ObservedContainer,
               images: dict[str, str | None] | None = None) -> ObservedState:
    project = loaded.project
    refs = {s.image_ref("demo"): IMAGE_ID for s in project.services.values()}
    refs.update(images or {})
    nets = {n.name: ObservedNetwork(n.name, "n1", n.key, project="demo")
            for n in project.networks.values() if not n.external}
    return ObservedState("demo", containers=containers, networks=FrozenMap(nets),
                         images=FrozenMap(refs))


def running(loaded: Loaded, service: str) -> ObservedContainer:
    s = loaded.project.services[service]
    digest, text = config_hash(loaded.project, s)
    return ObservedContainer(f"{service}1".ljust(64, "0"), f"demo-{service}-1", service, 1,
                             "running", config_hash=digest, config=FrozenMap(json.loads(text)),
                             image_id=IMAGE_ID, image_ref=s.image_ref("demo"))


def preflight(loaded: Loaded, observed: ObservedState, host: P.HostFacts,
              options: UpOptions = UpOptions()) -> str:
    """What `up` would say: '' when preflight passes."""
    tree = loaded.tree
    problems = P.before_plan(loaded.project, observed, options, tree)
    wanted = (P.wants_without_plan(loaded.project, observed, options) if problems
              else P.wants(loaded.project, observed, plan_up(loaded.project, observed, options)))
    problems += P.check(loaded.project, wanted, host, tree)
    return str(P.failure(problems, tree)) if problems else ""


def test_every_problem_at_once_in_file_order(tmp_path: Path) -> None:
    loaded = load(tmp_path, """
        services:
          web:
            image: busybox:local
            container_name: taken
            ports: ["127.0.0.1:8080:80", "9090:90/udp"]
            networks: [outside]
          db:
            image: postgres:missing
            pull_policy: never
            volumes:
              - type: bind
                source: ./initdb
                target: /docker-entrypoint-initdb.d
                bind: {create_host_path: false}
              - ./logs:/logs
              - keep:/data
            secrets: [token]
        networks:
          outside: {external: true, name: shared}
        volumes:
          keep: {external: true}
        secrets:
          token: {external: true}
    """)
    observed = engine_has(loaded, images={"postgres:missing": None})
    host = P.HostFacts(
        local=True, busy=frozenset({P.HostPort("127.0.0.1", 8080)}),
        missing=frozenset({f"{tmp_path}/initdb", f"{tmp_path}/logs"}),
        containers=(P.EngineContainer("taken", "", False),))
    f = tmp_path / "compose.yaml"
    assert preflight(loaded, observed, host) == textwrap.dedent(f"""\
        7 problems found before starting; nothing was changed
          {f}:4: services.web.container_name: container name taken is taken by a container outside any project
          {f}:5: services.web.ports[0]: host port 127.0.0.1:8080/tcp is already in use by another process on this machine
          {f}:8: services.db.image: image postgres:missing not found locally and pull_policy is never (service db)
          {f}:11: services.db.volumes[0]: bind source {tmp_path}/initdb does not exist (create_host_path: false)
          {f}:19: networks.outside: external network shared not found (create it: docker network create shared)
          {f}:21: volumes.keep: external volume keep not found (create it: docker volume create keep)
          {f}:23: secrets.token: secret token is external: only a swarm keeps secrets; give it a file, environment or content""")  # noqa: E501


def test_a_remote_engine_only_has_its_container_list(tmp_path: Path) -> None:
    """Not on this machine: no socket probes, no bind sources looked at; another project's
    container publishing the port still counts, wildcard addresses overlap every address."""
    loaded = load(tmp_path, """
        services:
          web:
            image: busybox:local
            ports:
              - "8080:80"
              - target: 81
                published: "8081"
    """)
    host = P.HostFacts(local=False, busy=frozenset({P.HostPort("", 8080)}),
                       containers=(P.EngineContainer("shop-web-1", "shop", True,
                                                     (P.HostPort("127.0.0.1", 8081),)),))
    f = tmp_path / "compose.yaml"
    assert preflight(loaded, engine_has(loaded), host).splitlines()[1:] == [
        f"  {f}:6: services.web.ports[1]: host port 8081/tcp is already published by container "
        f"shop-web-1 of project shop"]


def test_own_containers_ports_and_names_are_no_conflict(tmp_path: Path) -> None:
    loaded = load(tmp_path, """
        services:
          web:
            image: busybox:local
            environment: {VERSION: "2"}
            ports: ["8080:80"]
    """)
    old = running(loaded, "web")
    mine = P.EngineContainer("demo-web-1", "demo", True, (P.HostPort("0.0.0.0", 8080),))
    host = P.HostFacts(local=True, busy=frozenset({P.HostPort("", 8080)}), containers=(mine,))
    stale = ObservedContainer(old.container_id, old.name, "web", 1, "running",
                              config_hash="old", image_id=IMAGE_ID, image_ref="busybox:local")
    assert preflight(loaded, engine_has(loaded, stale), host) == ""  # recreated in place
    stopped = P.HostFacts(local=True, containers=(P.EngineContainer("x", "other", False,
                                                                    (P.HostPort("", 8080),)),))
    assert preflight(loaded, engine_has(loaded), stopped) == ""  # a stopped one holds nothing


def test_a_present_image_is_not_asked_about_and_a_missing_one_is(tmp_path: Path) -> None:
    loaded = load(tmp_path, """
        services:
          web: {image: busybox:local}
          api: {image: "shop/api:1"}
          built: {build: .}
    """)
    observed = engine_has(loaded, images={"shop/api:1": None, "demo-built": None})
    wanted = P.wants(loaded.project, observed, plan_up(loaded.project, observed))
    assert wanted.images == (("api", "shop/api:1"),)  # busybox present; demo-built is built
    host = P.HostFacts(unpullable=FrozenMap({"shop/api:1": "no such host"}))
    assert preflight(loaded, observed, host).splitlines()[1:] == [
        f"  {tmp_path}/compose.yaml:3: services.api.image: image shop/api:1 is not present and "
        f"cannot be pulled: no such host"]


def test_create_without_start_and_the_host_network_bind_no_port(tmp_path: Path) -> None:
    loaded = load(tmp_path, """
        services:
          web: {image: busybox:local, ports: ["8080:80"]}
          direct: {image: busybox:local, ports: ["8080:80"], network_mode: host}
    """)
    host = P.HostFacts(local=True, busy=frozenset({P.HostPort("", 8080)}))
    assert preflight(loaded, engine_has(loaded), host, UpOptions(no_start=True)) == ""
    found = preflight(loaded, engine_has(loaded), host).splitlines()
    assert [line.split(": ")[1] for line in found[1:]] == ["services.web.ports[0]"]


@pytest.mark.parametrize(("message", "line"), [
    ("cannot start container demo-web-1: driver failed programming external connectivity on "
     "endpoint demo-web-1 (abc): Bind for 0.0.0.0:9090 failed: port is already allocated", 5),
    ("cannot start container demo-web-1: Error starting userland proxy: listen tcp4 "
     "0.0.0.0:8080: bind: address already in use", 4),
    ("cannot start container demo-web-1: OCI runtime create failed", 2),
])
def test_an_engine_error_during_the_run_is_located(tmp_path: Path, message: str,
                                                   line: int) -> None:
    loaded = load(tmp_path, """
        services:
          web:
            ports:
              - "8080:80"
              - "9090:90"
            image: busybox:local
    """)
    op = Operation("start_container:web:1", Kind.START_CONTAINER, "not found",
                   service=loaded.project.services["web"], number=1)
    found = P.locate_failure(op, message, loaded.tree)
    assert isinstance(found, Location)
    assert (found.file, found.line) == (str(tmp_path / "compose.yaml"), line)


def test_host_port_overlap() -> None:
    any_address = P.HostPort("", 80)
    assert any_address.overlaps(P.HostPort("127.0.0.1", 80))
    assert P.HostPort("::", 80).overlaps(P.HostPort("127.0.0.1", 80))
    assert not P.HostPort("127.0.0.1", 80).overlaps(P.HostPort("127.0.0.2", 80))
    assert not any_address.overlaps(P.HostPort("", 80, "udp"))
    assert str(P.HostPort("::1", 80, "udp")) == "[::1]:80/udp"


def test_a_missing_secret_file_names_its_services(tmp_path: Path) -> None:
    """Read by stackup itself, so looked at whatever the engine (here: a remote one)."""
    loaded = load(tmp_path, """
        services:
          api: {image: busybox:local, secrets: [cert]}
          web: {image: busybox:local, secrets: [cert]}
        secrets:
          cert: {file: ./cert.pem}
    """)
    host = P.HostFacts(local=False, missing=frozenset({f"{tmp_path}/cert.pem"}))
    assert preflight(loaded, engine_has(loaded), host).splitlines()[1:] == [
        f"  {tmp_path}/compose.yaml:5: secrets.cert.file: secret cert of service api, web: "
        f"file {tmp_path}/cert.pem does not exist"]


def test_a_host_port_the_run_would_bind_twice(tmp_path: Path) -> None:
    """Two services publishing one host port, and a fixed host port on a service of two
    replicas: found before anything is made (the engine would refuse the second start, after
    the first container was made)."""
    loaded = load(tmp_path, """
        services:
          web:
            image: busybox:local
            ports: ["8080:80"]
          admin:
            image: busybox:local
            ports: ["127.0.0.1:8080:81", "9000:90"]
          api:
            image: busybox:local
            scale: 2
            ports: ["7000:70", "7100-7101:71"]
    """)
    f = tmp_path / "compose.yaml"
    assert preflight(loaded, engine_has(loaded), P.HostFacts()).splitlines() == [
        "2 problems found before starting; nothing was changed",
        f"  {f}:4: services.web.ports[0]: host port 8080/tcp is also published by service "
        f"admin: only one of them can bind it",
        f"  {f}:11: services.api.ports[0]: host port 7000/tcp is published by each of the 2 "
        f"replicas of api: only one can bind it (give a range, e.g. \"7000-7001:70\", or no "
        f"host port)"]
