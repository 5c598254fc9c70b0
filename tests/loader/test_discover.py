"""Stack-file discovery, project names and profiles."""

import os
from pathlib import Path

import pytest

from stackup.core.errors import ProjectError
from stackup.loader.discover import enabled_profiles, find_stack_files, project_name


def test_explicit_files_relative_to_cwd_and_stdin(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("services: {}\n")
    found = find_stack_files(None, ["a.yaml", "-"], {}, str(tmp_path))
    assert found == [str(tmp_path / "a.yaml"), "-"]


def test_missing_explicit_file_named(tmp_path: Path) -> None:
    with pytest.raises(ProjectError) as err:
        find_stack_files(None, ["nope.yaml"], {}, str(tmp_path))
    assert "nope.yaml" in err.value.summary


def test_compose_file_variable_with_separator(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("")
    (tmp_path / "b.yaml").write_text("")
    env = {"COMPOSE_FILE": "a.yaml;b.yaml", "COMPOSE_PATH_SEPARATOR": ";"}
    assert find_stack_files(None, [], env, str(tmp_path)) == [str(tmp_path / "a.yaml"),
                                                             str(tmp_path / "b.yaml")]
    env = {"COMPOSE_FILE": f"a.yaml{os.pathsep}b.yaml"}
    assert len(find_stack_files(None, [], env, str(tmp_path))) == 2


def test_default_names_in_order_with_override(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text("")
    assert find_stack_files(None, [], {}, str(tmp_path)) == [str(tmp_path / "docker-compose.yml")]
    (tmp_path / "compose.yaml").write_text("")
    (tmp_path / "compose.override.yml").write_text("")
    assert find_stack_files(None, [], {}, str(tmp_path)) == [
        str(tmp_path / "compose.yaml"), str(tmp_path / "compose.override.yml")]


def test_project_directory_searched(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "compose.yml").write_text("")
    assert find_stack_files("proj", [], {}, str(tmp_path)) == [str(tmp_path / "proj" / "compose.yml")]


def test_nothing_found_says_where(tmp_path: Path) -> None:
    with pytest.raises(ProjectError) as err:
        find_stack_files(None, [], {}, str(tmp_path))
    assert str(tmp_path) in err.value.summary and "compose.yaml" in err.value.detail


def test_project_name_precedence() -> None:
    env = {"COMPOSE_PROJECT_NAME": "fromenv"}
    assert project_name("cli", env, "top", "/x/dir") == "cli"
    assert project_name(None, env, "top", "/x/dir") == "fromenv"
    assert project_name(None, {}, "top", "/x/dir") == "top"
    assert project_name(None, {}, None, "/x/My.App Dir") == "myappdir"
    assert project_name(None, {}, None, "/x/__Web-1") == "web-1"


@pytest.mark.parametrize("bad", ["Upper", "-lead", "has space", "dots.x"])
def test_invalid_explicit_names(bad: str) -> None:
    for args in ((bad, {}, None), (None, {"COMPOSE_PROJECT_NAME": bad}, None), (None, {}, bad)):
        with pytest.raises(ProjectError) as err:
            project_name(*args, "/x/ok")
        assert "lowercase" in err.value.detail


def test_underivable_directory_name() -> None:
    with pytest.raises(ProjectError):
        project_name(None, {}, None, "/x/___")


def test_profiles() -> None:
    assert enabled_profiles(["a", "b,c", "a"], {"COMPOSE_PROFILES": "z"}) == ("a", "b", "c")
    assert enabled_profiles([], {"COMPOSE_PROFILES": "x, y"}) == ("x", "y")
    assert enabled_profiles([], {}) == ()
