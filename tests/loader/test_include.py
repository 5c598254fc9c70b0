"""``include:``: short and long forms, relative paths, env files, conflicts, cycles, errors."""

from pathlib import Path

import pytest

from stackup.core.errors import SpecError
from stackup.loader.loader import LoadOptions, load_project


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def load(folder: Path, environ: dict[str, str] | None = None, **kw: object):  # type: ignore[no-untyped-def]
    return load_project(LoadOptions(cwd=str(folder), environ=environ or {}, **kw)).project


def test_short_form_imports_services_and_depends_on_works(tmp_path: Path) -> None:
    write(tmp_path / "compose.yaml", "include:\n  - db/compose.yaml\nservices:\n"
                                     "  web:\n    image: busybox\n    depends_on: [db]\n")
    write(tmp_path / "db" / "compose.yaml",
          "services:\n  db:\n    image: busybox\n    env_file: db.env\n"
          "    volumes: [./data:/data, dbdata:/var/lib]\n    build: .\n"
          "volumes:\n  dbdata: {}\nsecrets:\n  pw:\n    file: ./pw.txt\n")
    write(tmp_path / "db" / "db.env", "X=1\n")
    project = load(tmp_path)
    assert sorted(project.services) == ["db", "web"]
    db = project.services["db"]
    # relative paths of the included file resolve against its own project directory
    assert str(tmp_path / "db" / "data") in {m.source for m in db.volumes}
    assert db.build is not None and db.build.context == str(tmp_path / "db")
    assert project.secrets["pw"].file == str(tmp_path / "db" / "pw.txt")
    assert "dbdata" in project.volumes
    assert [d.service for d in project.services["web"].depends_on] == ["db"]


def test_long_form_project_directory_and_env_file(tmp_path: Path) -> None:
    write(tmp_path / "compose.yaml",
          "include:\n  - path: [parts/a.yaml, parts/a.override.yaml]\n"
          "    project_directory: work\n    env_file: [vars.env]\n"
          "services:\n  main:\n    image: busybox\n")
    write(tmp_path / "vars.env", "TAG=fromfile\nWHO=fromfile\n")
    write(tmp_path / "parts" / "a.yaml",
          "services:\n  a:\n    image: busybox:${TAG}\n    environment: {W: $WHO}\n"
          "    volumes: [./x:/x]\n")
    write(tmp_path / "parts" / "a.override.yaml", "services:\n  a:\n    environment: {O: yes}\n")
    project = load(tmp_path, {"WHO": "process"})
    a = project.services["a"]
    assert a.image == "busybox:fromfile"  # from the include's env_file
    assert dict(a.environment)["W"] == "process"  # the including environment wins
    assert dict(a.environment)["O"] == "yes"  # second path overrides the first
    assert {m.source for m in a.volumes} == {str(tmp_path / "work" / "x")}


def test_included_dotenv_is_the_default_env_file(tmp_path: Path) -> None:
    write(tmp_path / "compose.yaml", "include: [sub/compose.yaml]\n")
    write(tmp_path / "sub" / "compose.yaml", "services:\n  s:\n    image: busybox:${T}\n")
    write(tmp_path / "sub" / ".env", "T=sub\n")
    assert load(tmp_path).services["s"].image == "busybox:sub"


def test_nested_include_relative_to_included_project(tmp_path: Path) -> None:
    write(tmp_path / "compose.yaml", "include: [a/compose.yaml]\n")
    write(tmp_path / "a" / "compose.yaml",
          "include: [b/compose.yaml]\nservices:\n  a:\n    image: busybox\n")
    write(tmp_path / "a" / "b" / "compose.yaml",
          "services:\n  b:\n    image: busybox\n    env_file: b.env\n")
    write(tmp_path / "a" / "b" / "b.env", "B=1\n")
    project = load(tmp_path)
    assert sorted(project.services) == ["a", "b"]
    assert dict(project.services["b"].environment)["B"] == "1"


def test_identical_definition_is_not_a_conflict(tmp_path: Path) -> None:
    write(tmp_path / "compose.yaml", "include: [other.yaml]\nnetworks:\n  shared: {}\n"
                                     "services:\n  x:\n    image: busybox\n")
    write(tmp_path / "other.yaml", "networks:\n  shared: {}\nservices:\n  y:\n    image: busybox\n")
    assert sorted(load(tmp_path).services) == ["x", "y"]


def test_conflict_names_resource_and_including_line(tmp_path: Path) -> None:
    main = write(tmp_path / "compose.yaml", "services:\n  web:\n    image: busybox\n"
                                            "include:\n  - other.yaml\n")
    write(tmp_path / "other.yaml", "services:\n  web:\n    image: nginx\n")
    with pytest.raises(SpecError) as err:
        load(tmp_path)
    assert err.value.summary == "services.web conflicts with imported resource"
    assert err.value.location.file == str(main) and err.value.location.line == 5
    assert "other.yaml:2" in err.value.detail and "compose.yaml:2" in err.value.detail


def test_missing_file_error_names_including_file_and_line(tmp_path: Path) -> None:
    main = write(tmp_path / "compose.yaml", "services: {}\ninclude:\n  - nope.yaml\n")
    with pytest.raises(SpecError) as err:
        load(tmp_path)
    assert "included file not found: nope.yaml" in err.value.summary
    assert err.value.location.file == str(main) and err.value.location.line == 3


def test_missing_env_file_and_bad_keys(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "services: {}\n")
    write(tmp_path / "compose.yaml", "include:\n  - path: a.yaml\n    env_file: none.env\n")
    with pytest.raises(SpecError) as err:
        load(tmp_path)
    assert "env file not found: none.env" in err.value.summary
    assert err.value.location.line == 2
    write(tmp_path / "compose.yaml", "include:\n  - paht: a.yaml\n")
    with pytest.raises(SpecError) as err:
        load(tmp_path)
    assert "did you mean 'path'" in err.value.summary
    write(tmp_path / "compose.yaml", "include: a.yaml\n")
    with pytest.raises(SpecError) as err:
        load(tmp_path)
    assert "expected a list" in err.value.summary and err.value.location.line == 1
    write(tmp_path / "compose.yaml", "include:\n  - project_directory: x\n")
    with pytest.raises(SpecError) as err:
        load(tmp_path)
    assert "'path' is required" in err.value.summary


def test_cycle_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "compose.yaml", "include: [a.yaml]\n")
    write(tmp_path / "a.yaml", "include: [b.yaml]\nservices: {}\n")
    write(tmp_path / "b.yaml", "include: [a.yaml]\nservices: {}\n")
    with pytest.raises(SpecError) as err:
        load(tmp_path)
    assert err.value.summary.startswith("include cycle:")
    assert "a.yaml -> " in err.value.summary and str(tmp_path / "b.yaml") in err.value.summary


def test_include_is_interpolated_and_override_file_wins(tmp_path: Path) -> None:
    write(tmp_path / "compose.yaml", "include: ['${PART}.yaml']\n")
    write(tmp_path / "compose.override.yaml", "services:\n  p:\n    image: nginx\n")
    write(tmp_path / "part.yaml", "services:\n  p:\n    image: busybox\n")
    project = load(tmp_path, {"PART": "part"})
    assert project.services["p"].image == "nginx"  # a later -f file merges onto included ones
