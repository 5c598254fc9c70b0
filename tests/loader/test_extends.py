"""extends: same file, other file, short form, chains, cycles, path rebasing, errors."""

import os
from pathlib import Path

import pytest

from stackup.core.errors import SpecError
from stackup.loader.extends import resolve_extends
from stackup.loader.located import LDict
from stackup.loader.yamlsrc import read_yaml


def reader(path: str) -> LDict:
    with open(path, encoding="utf-8") as handle:
        return read_yaml(handle.read(), path)


def load(tmp_path: Path, text: str, **others: str) -> LDict:
    for name, body in others.items():
        target = tmp_path / name.replace("__", "/").replace("_yaml", ".yaml")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body)
    main = tmp_path / "compose.yaml"
    main.write_text(text)
    return resolve_extends(reader(str(main)), str(main), reader)["services"]


def test_same_file_short_and_long_forms(tmp_path: Path) -> None:
    services = load(tmp_path, "services:\n"
                    "  base: {image: a, environment: [A=1], command: [x]}\n"
                    "  one: {extends: base, environment: {B: '2'}}\n"
                    "  two: {extends: {service: base}, command: [y]}\n")
    assert services["one"] == {"image": "a", "environment": {"A": "1", "B": "2"}, "command": ["x"]}
    assert services["two"] == {"image": "a", "environment": ["A=1"], "command": ["y"]}
    assert "extends" not in services["one"]


def test_chain(tmp_path: Path) -> None:
    services = load(tmp_path, "services:\n  a: {image: a, user: me}\n"
                    "  b: {extends: a, image: b}\n  c: {extends: b, restart: always}\n")
    assert services["c"] == {"image": "b", "user": "me", "restart": "always"}


def test_other_file_paths_made_absolute(tmp_path: Path) -> None:
    services = load(
        tmp_path,
        "services:\n  web:\n    extends: {file: common/base.yaml, service: app}\n    image: w\n",
        common__base_yaml="services:\n  app:\n    build: ./src\n    env_file: [./app.env]\n"
                          "    volumes: ['./data:/data', 'named:/n', '/abs:/abs']\n")
    common = os.path.join(str(tmp_path), "common")
    web = services["web"]
    assert web["build"] == os.path.join(common, "src")
    assert web["env_file"] == [os.path.join(common, "app.env")]
    assert web["volumes"] == [f"{os.path.join(common, 'data')}:/data", "named:/n", "/abs:/abs"]
    assert web["image"] == "w"


def test_other_file_chain_relative_to_that_file(tmp_path: Path) -> None:
    services = load(
        tmp_path, "services:\n  web: {extends: {file: lib/a.yaml, service: a}}\n",
        lib__a_yaml="services:\n  a: {extends: {file: b.yaml, service: b}, user: u}\n",
        lib__b_yaml="services:\n  b: {image: deep, build: {context: ctx}}\n")
    assert services["web"]["image"] == "deep" and services["web"]["user"] == "u"
    assert services["web"]["build"] == {"context": os.path.join(str(tmp_path), "lib", "ctx")}


def test_cycle_is_error_naming_chain(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as err:
        load(tmp_path, "services:\n  a: {extends: b}\n  b: {extends: c}\n  c: {extends: a}\n")
    assert "cycle" in err.value.summary
    assert "a (compose.yaml) -> b (compose.yaml) -> c (compose.yaml) -> a" in err.value.summary


def test_unknown_service_error_located(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as err:
        load(tmp_path, "services:\n  web:\n    image: x\n    extends: nope\n")
    assert '"nope" not found' in err.value.summary
    assert err.value.location.line == 4 and err.value.location.path == "services.web.extends"


def test_missing_file_error_located(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as err:
        load(tmp_path, "services:\n  web:\n    extends: {file: gone.yaml, service: x}\n")
    assert "gone.yaml" in err.value.summary and err.value.location.line == 3


def test_tree_without_extends_returned_as_is(tmp_path: Path) -> None:
    tree = read_yaml("services:\n  a: {image: x}\n", "c.yaml")
    assert resolve_extends(tree, "c.yaml", reader) is tree
