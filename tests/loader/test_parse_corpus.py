"""The good and bad corpora: realistic stacks parse to the expected model; broken ones fail
with a SpecError that names the file, the line and the key path."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path

import pytest

from stackup.core.errors import CycleError, SpecError, StackupError
from stackup.core.model import Project
from stackup.loader.interpolate import interpolate
from stackup.loader.parse import parse_project
from stackup.loader.yamlsrc import read_yaml

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
GOOD, BAD = CORPUS / "good", CORPUS / "bad"
ENV = {"CERT_PEM": "-----BEGIN CERT-----", "HOME": "/home/me"}


def load(*names: str, directory: Path = GOOD, env: Mapping[str, str] = ENV,
         profiles: tuple[str, ...] = (), warnings: list[str] | None = None) -> Project:
    """read → interpolate → merge → parse, like the loader does."""
    tree = None
    for name in names:
        path = str(directory / name)
        doc, _ = interpolate(read_yaml(Path(path).read_text(), path), env)
        if tree is None:
            tree = doc
        else:
            from stackup.loader.merge import merge_documents
            tree = merge_documents(tree, doc)
    name = "" if tree.get("name") else directory.name
    return parse_project(tree, project_name=name, working_dir=str(directory), environ=env,
                         profiles=profiles, requested_services=(), config_files=names,
                         warnings=warnings if warnings is not None else [])


def test_webapp_stack() -> None:
    project = load("webapp.yaml")
    assert project.name == "webapp"
    assert list(project.services) == ["api", "cache", "db", "web"]
    web, api, db = project.services["web"], project.services["api"], project.services["db"]
    assert [(p.target, p.published, p.host_ip) for p in web.ports] == [
        (80, "8080", None), (443, "8443", "127.0.0.1")]
    assert web.volumes[0].source == str(GOOD / "nginx.conf") and web.volumes[0].read_only
    assert web.volumes[1].type == "volume" and web.volumes[1].source == "static"
    assert api.environment["DATABASE_URL"] == "postgres://app:secret@db:5432/app"
    assert api.environment["DEBUG"] == "false" and api.environment["WORKERS"] == "4"
    assert [(d.service, d.condition, d.restart) for d in api.depends_on] == [
        ("cache", "service_started", False), ("db", "service_healthy", True)]
    assert api.healthcheck is not None and api.healthcheck.start_period == 90.0
    assert api.build is not None and api.build.context == str(GOOD / "api")
    assert db.healthcheck is not None and db.healthcheck.test == ("CMD-SHELL", "pg_isready -U app")
    assert db.stop_grace_period == 30.0 and db.shm_size == 256 << 20
    assert project.services["cache"].command == ("redis-server", "--save", "")
    assert project.networks["back"].internal and project.networks["front"].name == "webapp_front"
    assert "default" not in project.networks
    assert project.volumes["dbdata"].labels == {"backup": "daily"}


def test_anchors_and_extensions() -> None:
    project = load("anchors.yaml")
    worker = project.services["worker"]
    assert worker.environment == {"LOG_LEVEL": "debug", "QUEUE": "jobs", "TZ": "UTC"}
    assert worker.logging is not None and worker.logging.options["max-file"] == "3"
    assert worker.restart == "always" and worker.extensions == {"x-owner": "alice"}
    assert project.services["scheduler"].replicas == 2
    assert "x-base" in project.extensions and project.networks["default"].name == "good_default"


def test_every_key() -> None:
    warnings: list[str] = []
    project = load("everything.yaml", warnings=warnings)
    app = project.services["app"]
    assert app.build is not None and app.build.args == {"NOVALUE": None, "VERSION": "1.0"}
    assert app.build.shm_size == 128 << 20 and app.build.extra_hosts == ("mirror:10.0.0.5",)
    assert app.entrypoint == ("/bin/sh", "-c")
    assert app.environment == {"A": "1", "B": "two words", "C": "", "EXPORTED": "1",
                               "FROM_FILE": "yes", "QUOTED": "hello world"}
    assert app.ports[0].name == "metrics" and app.ports[0].mode == "host"
    assert [(p.target, p.published) for p in app.ports[1:]] == [(80, "8000"), (81, "8001")]
    bind, vol, tmp, anon = app.volumes
    assert bind.source == str(GOOD / "src") and not bind.create_host_path
    assert bind.propagation == "rprivate" and bind.selinux == "z"
    assert vol.nocopy and vol.subpath == "sub"
    assert tmp.tmpfs_size == 64 << 20 and tmp.tmpfs_mode == 1777
    assert anon.source is None
    assert app.tmpfs == ("/run",) and app.expose == ("3000", "3001")
    assert app.networks[0].aliases == ("app.local",) and app.networks[0].priority == 100
    assert app.healthcheck is not None and app.healthcheck.start_interval == 1.0
    assert app.restart == "on-failure:3"
    deploy = app.deploy
    assert deploy is not None and deploy.limits is not None and deploy.limits.cpus == 0.5
    assert deploy.limits.memory == 1 << 30 and deploy.reservations is not None
    assert deploy.restart_policy is not None and deploy.restart_policy.window == 120.0
    assert deploy.update_config is not None and deploy.update_config.order == "start-first"
    assert deploy.placement_constraints == ("node.role==manager",)
    assert app.labels == {"com.example.a": "1", "com.example.b": "2"}
    assert app.extra_hosts == ("db.local:10.0.0.2", "cache.local:10.0.0.3")
    assert app.dns == ("8.8.8.8",) and app.stop_grace_period == 60.0
    assert [(u.name, u.soft, u.hard) for u in app.ulimits] == [
        ("nofile", 20000, 40000), ("nproc", 65535, 65535)]
    assert app.sysctls == {"net.core.somaxconn": "1024"} and app.group_add == ("audio", "1001")
    assert app.mem_limit == 1 << 30 and app.cpus == 1.5 and app.pids_limit == 200
    assert app.pull_policy == "missing" and app.init is True
    assert app.secrets[1].mode == 0o440 and app.configs[0].mode == 0o444
    assert app.secrets[1].target == "/certs/site.pem"
    assert app.extensions == {"x-note": "extension"}
    assert "helper" in project.disabled_services and not app.depends_on  # optional: dropped
    assert project.volumes["legacy"].name == "old-volume" and project.volumes["legacy"].external
    assert project.networks["outside"].name == "shared-net"
    assert project.networks["net1"].ipam is not None
    assert project.networks["net1"].ipam.config[0].aux_addresses == {"router": "172.20.0.2"}
    assert project.secrets["token"].file == str(GOOD / "secrets" / "token.txt")
    assert project.secrets["cert"].content == "-----BEGIN CERT-----"
    assert project.configs["appconf"].content == "port = 80\n"
    assert project.extensions["x-project-note"]["tags"] == ("a", "b")


def test_every_key_with_profile() -> None:
    project = load("everything.yaml", profiles=("tools",))
    assert [d.service for d in project.services["app"].depends_on] == ["helper"]
    assert project.services["helper"].network_mode == "none"
    assert project.services["helper"].networks == ()


def test_override_files() -> None:
    project = load("base.yaml", "override.yaml")
    web = project.services["web"]
    assert web.image == "example/web:dev"
    assert web.environment == {"LOG": "info", "MODE": "development"}
    assert [p.published for p in web.ports] == ["80", "8080"]
    assert web.volumes[0].source == str(GOOD) and web.volumes[0].target == "/app"
    assert project.services["worker"].command == ("work", "--queue", "default")
    assert list(project.disabled_services) == ["debug"]
    assert project.config_files == ("base.yaml", "override.yaml")


BAD_CASES = [
    # file, line, key path, message fragment. A scalar is located where it is written, a
    # nested block at its key's line.
    ("unknown_key.yaml", 1, "servics", "did you mean 'services'"),
    ("unknown_service_key.yaml", 4, "services.web.enviroment", "did you mean 'environment'"),
    ("wrong_type.yaml", 4, "services.web.privileged", "expected true or false"),
    ("bad_port.yaml", 6, "services.web.ports[1]", "expected a port like '8080:80'"),
    ("bad_duration.yaml", 6, "services.web.healthcheck.interval", "expected a duration"),
    ("bad_size.yaml", 4, "services.web.mem_limit", "expected a size"),
    ("undefined_network.yaml", 5, "services.web.networks[0]", "did you mean 'front'"),
    ("undefined_volume.yaml", 5, "services.db.volumes[0]", "undefined volume 'pgdata'"),
    ("undefined_secret.yaml", 5, "services.web.secrets[0]", "undefined secret 'api_key'"),
    ("undefined_config.yaml", 5, "services.web.configs[0]", "undefined config 'nginx_conf'"),
    ("unknown_depends_on.yaml", 5, "services.web.depends_on[0]", "undefined service 'api'"),
    ("cycle.yaml", 8, "services.api.depends_on", "api -> web -> api"),
    ("container_name_scale.yaml", 4, "services.web.container_name", "2 replicas"),
    ("missing_image.yaml", 2, "services.web", "needs 'image' or 'build'"),
    ("missing_variable.yaml", 3, "services.web.image", "need TAG"),
    ("tabs.yaml", 3, "", "tab"),
    ("bad_indent.yaml", 4, "", ""),
    ("missing_env_file.yaml", 5, "services.web.env_file[0]", "cannot read env_file"),
    ("bad_service_name.yaml", 2, "services.-web", "invalid service name"),
    ("bad_restart.yaml", 4, "services.web.restart", "on-failure[:N]"),
]


@pytest.mark.parametrize("name, line, path, fragment", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_corpus(name: str, line: int, path: str, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        load(name, directory=BAD, env={})
    err = info.value
    assert fragment.lower() in str(err).lower()
    assert err.location is not None
    assert os.path.basename(err.location.file) == name
    assert err.location.line == line
    if path:
        assert err.location.path.startswith(path) or path.startswith(err.location.path)
    if name == "cycle.yaml":
        assert isinstance(err, CycleError) and err.cycle == ["api", "web"]


def test_every_bad_file_has_a_case() -> None:
    assert {p.name for p in BAD.glob("*.yaml")} == {c[0] for c in BAD_CASES}


@pytest.mark.skipif(importlib.util.find_spec("stackup.loader.loader") is None,
                    reason="loader not written yet")
def test_missing_file() -> None:
    from stackup.loader.loader import LoadOptions, load_project

    with pytest.raises(StackupError, match="no-such-file"):
        load_project(LoadOptions(files=(str(BAD / "no-such-file.yaml"),), cwd=str(BAD)))
