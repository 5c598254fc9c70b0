"""Loader bugs found on Compose's own test data (issue 20, item 4): an include entry without
``env_file`` (compose-go's ``include/project-directory.yaml``), the implicit dependencies of
``ipc``/``pid: service:x``, ``network_mode: service:x``, ``links`` and ``volumes_from``, and a
``local`` volume bound to a relative device path."""

from pathlib import Path

import pytest

from stackup.core.errors import SpecError
from stackup.core.graph import build_graph, walk
from stackup.loader.loader import LoadOptions, load_project


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def load(folder: Path, *files: str, environ: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return load_project(LoadOptions(cwd=str(folder), files=files, environ=environ or {})).project


def test_compose_go_include_project_directory_testdata(tmp_path: Path) -> None:
    """The three files of compose-go's ``loader/testdata/include/project-directory.yaml``
    case: the entry has ``project_directory`` and no ``env_file`` (was: internal error
    ``KeyError: 'env_file'``); the included file's paths resolve against that directory."""
    inc = tmp_path / "testdata" / "include"
    write(inc / "project-directory.yaml",
          "include:\n  - project_directory: ../subdir\n    path: ./dir/compose.yaml")
    write(inc / "dir" / "compose.yaml",
          "services:\n  service:\n    build:\n      dockerfile_inline: |\n        FROM busybox\n"
          "    env_file:\n      - extra.env")
    write(tmp_path / "testdata" / "subdir" / "extra.env", "SOURCE=extends\n")
    project = load(inc, "project-directory.yaml")
    service = project.services["service"]
    assert dict(service.environment) == {"SOURCE": "extends"}
    assert service.build is not None
    assert service.build.context == str(tmp_path / "testdata" / "subdir")


@pytest.mark.parametrize("env_file", ["sub/.env.inc", "[sub/.env.inc]"])
def test_include_env_file_long_and_list_form(tmp_path: Path, env_file: str) -> None:
    write(tmp_path / "compose.yaml",
          f"include:\n  - path: sub/compose.yaml\n    env_file: {env_file}\n")
    write(tmp_path / "sub" / ".env.inc", "TAG=1.2\n")
    write(tmp_path / "sub" / "compose.yaml", "services:\n  s:\n    image: busybox:${TAG}\n")
    assert load(tmp_path).services["s"].image == "busybox:1.2"


STACK = """
services:
  a: {image: busybox, ipc: "service:b"}
  b: {image: busybox, ipc: shareable, pid: "service:c"}
  c: {image: busybox, network_mode: "service:d"}
  d: {image: busybox, links: ["e:alias"]}
  e: {image: busybox, volumes_from: ["f:ro", "container:other"]}
  f: {image: busybox}
"""


def test_each_service_reference_is_an_implicit_dependency(tmp_path: Path) -> None:
    write(tmp_path / "compose.yaml", STACK)
    project = load(tmp_path)
    deps = {name: [(d.service, d.condition, d.required) for d in s.depends_on]
            for name, s in project.services.items()}
    started = "service_started"
    assert deps == {"a": [("b", started, True)], "b": [("c", started, True)],
                    "c": [("d", started, True)], "d": [("e", started, True)],
                    "e": [("f", started, True)], "f": []}
    assert project.services["c"].depends_on[0].restart  # the network namespace goes with d
    order = [name for kind, name in walk(build_graph(project)) if kind == "service"]
    assert order == ["f", "e", "d", "c", "b", "a"]  # each after what it references


@pytest.mark.parametrize("key", ["ipc", "pid"])
def test_a_namespace_of_an_unknown_service_is_an_error(tmp_path: Path, key: str) -> None:
    write(tmp_path / "compose.yaml", f"services:\n  a:\n    image: busybox\n"
                                     f"    {key}: service:nope\n")
    with pytest.raises(SpecError, match=f"services.a.{key}.*nope"):
        load(tmp_path)


def test_local_bind_volume_device_is_resolved_against_the_project(tmp_path: Path) -> None:
    write(tmp_path / "compose.yaml",
          "include: [sub/compose.yaml]\nservices:\n  a: {image: busybox}\nvolumes:\n"
          "  data:\n    driver_opts: {type: none, o: bind, device: ./data}\n"
          "  ro:\n    driver: local\n    driver_opts: {type: none, o: 'bind,ro', device: d2}\n"
          "  nfs:\n    driver_opts: {type: nfs, o: 'addr=1.2.3.4', device: ':/export'}\n"
          "  other:\n    driver: other\n    driver_opts: {o: bind, device: ./x}\n")
    write(tmp_path / "sub" / "compose.yaml",
          "services:\n  s: {image: busybox}\nvolumes:\n  inc:\n    driver: local\n"
          "    driver_opts: {type: none, o: bind, device: ./data}\n")
    volumes = load(tmp_path).volumes
    assert volumes["data"].driver_opts["device"] == str(tmp_path / "data")
    assert volumes["ro"].driver_opts["device"] == str(tmp_path / "d2")
    assert volumes["inc"].driver_opts["device"] == str(tmp_path / "sub" / "data")
    assert volumes["nfs"].driver_opts["device"] == ":/export"  # not a bind: the driver's own
    assert volumes["other"].driver_opts["device"] == "./x"  # another driver's options


def test_compose_go_include_env_file_scopes_the_included_services(tmp_path: Path) -> None:
    """compose-go's ``include/env_file`` and ``include/secret_env`` cases: the include's
    env_file is the environment of what the included file declares (its services' env_file
    values, ``environment: [KEY]``, a secret's ``environment:``), not of the including file."""
    write(tmp_path / "compose.yaml",
          "include:\n  - path: sub/compose.yaml\n    env_file: sub/local.env\n"
          "  - path: s2/compose.yaml\n    env_file:\n      - secret.env\n"
          "services:\n  top:\n    image: busybox\n    env_file: override.env\n")
    write(tmp_path / "override.env", "OVR=${BAR:-fallback}\n")
    write(tmp_path / "sub" / "compose.yaml",
          "services:\n  app:\n    image: alpine\n    env_file: extra.env\n"
          "    environment: [BAR]\n")
    write(tmp_path / "sub" / "local.env", "BAR=bar\n")
    write(tmp_path / "sub" / "extra.env", "FOO=$BAR\nLIT='$BAR'\n")
    write(tmp_path / "s2" / "compose.yaml",
          "services:\n  consumer:\n    image: alpine\n    secrets: [scoped]\n"
          "secrets:\n  scoped:\n    environment: MY_SECRET\n")
    write(tmp_path / "secret.env", "MY_SECRET=shadoks\n")
    project = load(tmp_path)
    assert dict(project.services["app"].environment) == {"BAR": "bar", "FOO": "bar",
                                                         "LIT": "$BAR"}
    assert dict(project.services["top"].environment) == {"OVR": "fallback"}
    secret = project.secrets["scoped"]
    assert (secret.environment, secret.content) == ("MY_SECRET", "shadoks")


def test_env_file_values_interpolate_as_in_compose(tmp_path: Path) -> None:
    """Earlier files' values first, then the project's environment; single quotes literal;
    ``format: raw`` as written."""
    write(tmp_path / "compose.yaml",
          "services:\n  a:\n    image: busybox\n    env_file:\n      - one.env\n"
          "      - two.env\n      - {path: raw.env, format: raw}\n")
    write(tmp_path / "one.env", "X=from-one\n")
    write(tmp_path / "two.env", 'A=$X\nB="${HOME_DIR}/x"\nC=${MISSING:-dflt}\nD=\'$X\'\n')
    write(tmp_path / "raw.env", "R=$X\n")
    env = dict(load(tmp_path, environ={"X": "shell", "HOME_DIR": "/h"})
               .services["a"].environment)
    assert env == {"X": "from-one", "A": "from-one", "B": "/h/x", "C": "dflt", "D": "$X",
                   "R": "$X"}
