"""parse_project on small inline stacks: syntaxes, defaults, profiles, checks and warnings."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest

from stackup.core.errors import CycleError, ProjectError, SpecError
from stackup.core.model import Project
from stackup.loader.interpolate import interpolate
from stackup.loader.parse import parse_project
from stackup.loader.yamlsrc import read_yaml


def parse(text: str, *, env: Mapping[str, str] | None = None, profiles: tuple[str, ...] = (),
          requested: tuple[str, ...] = (), warnings: list[str] | None = None,
          working_dir: str = "/proj") -> Project:
    environ = dict(env or {})
    tree, _ = interpolate(read_yaml(text, "compose.yaml"), environ)
    return parse_project(tree, project_name="demo", working_dir=working_dir, environ=environ,
                         profiles=profiles, requested_services=requested,
                         config_files=("compose.yaml",),
                         warnings=warnings if warnings is not None else [])


def svc(body: str, **kw: Any) -> Any:
    text = "services:\n  s:\n" + "".join(f"    {line}\n" for line in body.strip().splitlines())
    return parse(text, **kw).services["s"]


def error(text: str, **kw: Any) -> SpecError:
    with pytest.raises(SpecError) as info:
        parse(text, **kw)
    return info.value


def test_command_string_is_shell_split() -> None:
    s = svc("image: x\ncommand: sh -c 'echo \"a b\"'\nentrypoint: []")
    assert s.command == ("sh", "-c", 'echo "a b"') and s.entrypoint == ()


def test_environment_list_and_map_forms() -> None:
    s = svc("image: x\nenvironment: [A=1, B, C=, D=x=y]", env={"B": "from-env"})
    assert s.environment == {"A": "1", "B": "from-env", "C": "", "D": "x=y"}
    s = svc("image: x\nenvironment: {A: 1.5, B: true, C: null, D: ''}")
    assert s.environment == {"A": "1.5", "B": "true", "D": ""}


def test_env_file_and_environment_precedence(tmp_path: Any) -> None:
    (tmp_path / "a.env").write_text("A=file\nB=file\n# comment\nC='single $X'\n")
    s = svc("image: x\nenv_file: a.env\nenvironment: {A: env}", working_dir=str(tmp_path))
    assert s.environment == {"A": "env", "B": "file", "C": "single $X"}


def test_missing_optional_env_file_is_skipped(tmp_path: Any) -> None:
    s = svc("image: x\nenv_file: [{path: nope.env, required: false}]", working_dir=str(tmp_path))
    assert s.environment == {}


def test_default_network_added() -> None:
    p = parse("services:\n  a: {image: x}\n  b: {image: x, network_mode: host}\n")
    assert p.networks["default"].name == "demo_default"
    assert [n.name for n in p.services["a"].networks] == ["default"]
    assert p.services["b"].networks == ()


def test_declared_default_network_customizes_it() -> None:
    p = parse("services:\n  a: {image: x}\nnetworks:\n  default: {name: shared, external: true}\n")
    assert p.networks["default"].name == "shared" and p.networks["default"].external


def test_no_default_network_when_every_service_chooses() -> None:
    p = parse("services:\n  a: {image: x, networks: [n]}\nnetworks: {n: {}}\n")
    assert list(p.networks) == ["n"]


def test_resource_engine_names() -> None:
    p = parse("services: {}\nvolumes:\n  a: {}\n  b: {name: custom}\n  c: {external: true}\n"
              "  d: {external: {name: legacy}}\n")
    assert [v.name for v in p.volumes.values()] == ["demo_a", "custom", "c", "legacy"]


def test_secret_sources() -> None:
    p = parse("services: {}\nsecrets:\n  f: {file: ./s.txt}\n  e: {environment: TOKEN}\n"
              "  x: {external: true}\n", env={"TOKEN": "t0k"})
    assert p.secrets["f"].file == "/proj/s.txt"
    assert p.secrets["e"].content == "t0k" and p.secrets["x"].name == "x"


@pytest.mark.parametrize("body, fragment", [
    ("e: {environment: NOPE}", "'NOPE' is not set"),
    ("e: {file: a, content: b}", "exactly one"),
    ("e: {}", "exactly one"),
])
def test_secret_errors(body: str, fragment: str) -> None:
    assert fragment in str(error(f"services: {{}}\nsecrets:\n  {body}\n"))


def test_profiles() -> None:
    text = ("services:\n  a: {image: x}\n  b: {image: x, profiles: [dev]}\n"
            "  c: {image: x, profiles: [test, dev]}\n  d: {image: x, profiles: [ops]}\n")
    assert list(parse(text).services) == ["a"]
    assert list(parse(text).disabled_services) == ["b", "c", "d"]
    assert list(parse(text, profiles=("dev",)).services) == ["a", "b", "c"]
    assert list(parse(text, profiles=("*",)).services) == ["a", "b", "c", "d"]
    assert list(parse(text, requested=("d",)).services) == ["a", "d"]
    assert parse(text).all_profiles == ("dev", "ops", "test")


def test_requested_unknown_service() -> None:
    err = error("services:\n  web: {image: x}\n", requested=("wbe",))
    assert "no such service: wbe" in str(err) and "did you mean 'web'" in str(err)


def test_required_dependency_on_disabled_service() -> None:
    text = "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, profiles: [p]}\n"
    assert "enable profile p" in str(error(text))
    assert [d.service for d in parse(text, profiles=("p",)).services["a"].depends_on] == ["b"]


def test_unsupported_keys_warn() -> None:
    warnings: list[str] = []
    svc("image: x\ncpu_count: 2\nstop_timeout: 3", warnings=warnings)
    assert warnings == [
        "services.s.stop_timeout is not supported by stackup and is ignored (compose.yaml:5)"]


def test_version_and_include_warn() -> None:
    warnings: list[str] = []
    parse("version: '3'\nservices: {}\n", warnings=warnings)
    assert "obsolete" in warnings[0]


def test_healthcheck_forms() -> None:
    hc = svc("image: x\nhealthcheck: {test: [NONE]}").healthcheck
    assert hc.disable and hc.test == ("NONE",)
    hc = svc("image: x\nhealthcheck: {disable: true}").healthcheck
    assert hc.disable
    hc = svc("image: x\nhealthcheck: {interval: 1m30s, timeout: 500ms, retries: 3}").healthcheck
    assert (hc.test, hc.interval, hc.timeout, hc.retries) == ((), 90.0, 0.5, 3)


@pytest.mark.parametrize("value, expected", [
    ("no", "no"), ("always", "always"), ("on-failure", "on-failure"),
    ("on-failure:5", "on-failure:5"), ("unless-stopped", "unless-stopped"), ("'no'", "no"),
])
def test_restart(value: str, expected: str) -> None:
    assert svc(f"image: x\nrestart: {value}").restart == expected


@pytest.mark.parametrize("value, expected", [
    ("always", "always"), ("if_not_present", "missing"), ("build", "build"),
    ("daily", "daily"), ("every_12h", "every_12h"),
])
def test_pull_policy(value: str, expected: str) -> None:
    assert svc(f"image: x\npull_policy: {value}").pull_policy == expected


def test_interpolated_scalars_are_coerced() -> None:
    s = svc("image: x\nprivileged: ${P}\nscale: ${N}\ncpus: ${C}", env={"P": "true", "N": "3",
                                                                        "C": "0.5"})
    assert s.privileged is True and s.scale == 3 and s.cpus == 0.5


def test_build_string_and_url() -> None:
    assert svc("build: ./app").build.context == "/proj/app"
    url = "https://github.com/x/y.git#main"
    assert svc(f"build: {url}").build.context == url


def test_tilde_paths_use_environ_home() -> None:
    s = svc("image: x\nvolumes: ['~/data:/data']", env={"HOME": "/home/u"})
    assert s.volumes[0].source == "/home/u/data"


def test_networks_are_sorted_and_dependencies_too() -> None:
    text = ("services:\n  a:\n    image: x\n    networks: [z, m]\n    depends_on: [c, b]\n"
            "  b: {image: x}\n  c: {image: x}\nnetworks: {z: {}, m: {}}\n")
    a = parse(text).services["a"]
    assert [n.name for n in a.networks] == ["m", "z"]
    assert [d.service for d in a.depends_on] == ["b", "c"]


@pytest.mark.parametrize("body, path, fragment", [
    ("image: x\nports: [{published: 80}]", "services.s.ports[0]", "needs 'target'"),
    ("image: x\nvolumes: [{type: bind, target: /x}]", "services.s.volumes[0]", "needs 'source'"),
    ("image: x\nvolumes: [{type: weird, target: /x}]", "services.s.volumes[0].type",
     "expected one of"),
    ("image: x\ndepends_on: {s2: {condition: service_happy}}", "services.s.depends_on", ""),
    ("image: x\nulimits: {nofile: {soft: 1}}", "services.s.ulimits.nofile", "'hard'"),
    ("image: x\nextra_hosts: [nohost]", "services.s.extra_hosts[0]", "host:ip"),
    ("image: x\ncommand: 'echo \"unterminated'", "services.s.command", "cannot split"),
    ("image: x\ncpus: lots", "services.s.cpus", "expected a number"),
    ("image: x\nlabels: 5", "services.s.labels", "expected a mapping or a list"),
    ("image: x\ndeploy: {replicas: -1}", "services.s.deploy.replicas", ">= 0"),
    ("image: x\ndeploy: {resources: {limits: {memory: huge}}}",
     "services.s.deploy.resources.limits.memory", "expected a size"),
    ("image: x\nsecrets: [{source: s, mode: '9z'}]", "services.s.secrets[0].mode", "octal"),
    ("image: [x]", "services.s.image", "expected a string"),
])
def test_service_errors(body: str, path: str, fragment: str) -> None:
    text = "services:\n  s:\n" + "".join(f"    {line}\n" for line in body.splitlines()) + \
        "  s2: {image: x}\nsecrets: {s: {file: f}}\n"
    err = error(text)
    assert err.location is not None and err.location.path.startswith(path)
    assert err.location.file == "compose.yaml"
    assert fragment in str(err)


def test_depends_on_condition_suggestion() -> None:
    err = error("services:\n  a: {image: x, depends_on: {b: {condition: service_helthy}}}\n"
                "  b: {image: x}\n")
    assert "did you mean 'service_healthy'" in str(err)


def test_self_dependency_is_a_cycle() -> None:
    with pytest.raises(CycleError) as info:
        parse("services:\n  a: {image: x, depends_on: [a]}\n")
    assert info.value.cycle == ["a"]


def test_long_cycle_in_order() -> None:
    with pytest.raises(CycleError) as info:
        parse("services:\n  web: {image: x, depends_on: [api]}\n  api: {image: x, depends_on: [db]}\n"
              "  db: {image: x, depends_on: [web]}\n")
    assert str(info.value).startswith("dependency cycle: api -> db -> web -> api")
    assert info.value.location is not None and info.value.location.line == 3


def test_replicas_with_container_name_via_deploy() -> None:
    assert "replicas" in str(error("services:\n  a: {image: x, container_name: c, "
                                   "deploy: {replicas: 3}}\n"))


def test_bad_project_name() -> None:
    tree = read_yaml("services: {}\n", "c.yaml")
    with pytest.raises(ProjectError):
        parse_project(tree, project_name="Bad Name", working_dir="/p", environ={}, profiles=(),
                      requested_services=(), config_files=(), warnings=[])


def test_plain_dicts_without_locations_work() -> None:
    tree = {"services": {"web": {"image": "x", "ports": ["80800:80"]}}}
    with pytest.raises(SpecError) as info:
        parse_project(tree, project_name="p", working_dir="/p", environ={}, profiles=(),
                      requested_services=(), config_files=(), warnings=[])
    assert info.value.location is not None
    assert info.value.location.path == "services.web.ports[0]"


def test_model_is_hashable_and_frozen() -> None:
    text = "x-a: {b: [1, {c: 2}]}\nservices:\n  a: {image: x, x-y: {z: [1]}}\n"
    p, same = parse(text), parse(text)
    assert p is not same and p == same and hash(p) == hash(same)  # a value: equal, same hash
    assert {p: "seen"}[same] == "seen"
    other = parse(text.replace("c: 2", "c: 3"))
    assert other != p and other not in {p}
    assert p.extensions["x-a"]["b"][1]["c"] == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.name = "other"  # type: ignore[misc]  # frozen: assigning must fail
    with pytest.raises(TypeError):
        p.extensions["x-a"]["b"][1]["c"] = 3  # type: ignore[index]  # nested maps are frozen
    with pytest.raises(TypeError):
        p.services["a"].extensions["x-y"]["z"][0] = 2  # type: ignore[index]  # lists: tuples


def test_network_mode_service_implies_a_dependency(tmp_path) -> None:
    from stackup.loader.loader import LoadOptions, load_project

    (tmp_path / "compose.yaml").write_text(
        "services:\n  vpn:\n    image: a\n  app:\n    image: b\n    network_mode: service:vpn\n")
    project = load_project(LoadOptions(files=(str(tmp_path / "compose.yaml"),))).project
    app = project.services["app"]
    assert app.networks == ()
    assert [(d.service, d.condition, d.restart) for d in app.depends_on] == [
        ("vpn", "service_started", True)]


def test_network_mode_unknown_service_is_located(tmp_path) -> None:
    from stackup.core.errors import SpecError
    from stackup.loader.loader import LoadOptions, load_project

    (tmp_path / "compose.yaml").write_text(
        "services:\n  app:\n    image: b\n    network_mode: service:vnp\n")
    with pytest.raises(SpecError) as err:
        load_project(LoadOptions(files=(str(tmp_path / "compose.yaml"),)))
    assert err.value.location.line == 4
    assert "vnp" in str(err.value)
