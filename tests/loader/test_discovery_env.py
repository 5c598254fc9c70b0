"""Discovery by walking up from the working directory; COMPOSE_ENV_FILES and
COMPOSE_DISABLE_ENV_FILE."""

from pathlib import Path

import pytest

from stackup.core.errors import ProjectError
from stackup.loader.discover import find_stack_files
from stackup.loader.loader import LoadOptions, load_project


def test_stack_file_found_in_a_parent_directory(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n")
    (tmp_path / "compose.override.yaml").write_text("services:\n  web:\n    command: [x]\n")
    deep = tmp_path / "src" / "pkg"
    deep.mkdir(parents=True)
    assert find_stack_files(None, [], {}, str(deep)) == [
        str(tmp_path / "compose.yaml"), str(tmp_path / "compose.override.yaml")]
    project = load_project(LoadOptions(cwd=str(deep), environ={})).project
    assert project.working_dir == str(tmp_path)  # the project lives where the file is
    assert project.services["web"].command == ("x",)


def test_nearest_parent_wins(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "docker-compose.yml").write_text("services: {}\n")
    (tmp_path / "a" / "b").mkdir()
    assert find_stack_files(None, [], {}, str(tmp_path / "a" / "b")) == [
        str(tmp_path / "a" / "docker-compose.yml")]


def test_walk_up_starts_at_project_directory(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    (tmp_path / "p" / "q").mkdir(parents=True)
    other = tmp_path / "elsewhere"
    other.mkdir()
    assert find_stack_files("../p/q", [], {}, str(other)) == [str(tmp_path / "compose.yaml")]


def test_nothing_found_anywhere_names_start(tmp_path: Path) -> None:
    with pytest.raises(ProjectError) as err:
        find_stack_files(None, [], {}, str(tmp_path))
    assert str(tmp_path) in err.value.summary and "parent" in err.value.summary


def _project(folder: Path, environ: dict[str, str]):  # type: ignore[no-untyped-def]
    return load_project(LoadOptions(cwd=str(folder), environ=environ)).project


def test_compose_env_files_replace_dotenv(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  s:\n    image: busybox:${T}\n")
    (tmp_path / ".env").write_text("T=dotenv\n")
    (tmp_path / "a.env").write_text("T=a\n")
    (tmp_path / "b.env").write_text("T=b\n")
    assert _project(tmp_path, {}).services["s"].image == "busybox:dotenv"
    assert _project(tmp_path, {"COMPOSE_ENV_FILES": "a.env,b.env"}).services["s"].image \
        == "busybox:b"
    with pytest.raises(ProjectError) as err:
        _project(tmp_path, {"COMPOSE_ENV_FILES": "missing.env"})
    assert "missing.env" in err.value.summary
    # --env-file wins over COMPOSE_ENV_FILES
    loaded = load_project(LoadOptions(cwd=str(tmp_path), env_files=("a.env",),
                                      environ={"COMPOSE_ENV_FILES": "b.env"}))
    assert loaded.project.services["s"].image == "busybox:a"


@pytest.mark.parametrize("value", ["1", "true", "TRUE"])
def test_compose_disable_env_file(tmp_path: Path, value: str) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  s:\n    image: busybox:${T:-none}\n")
    (tmp_path / ".env").write_text("T=dotenv\nCOMPOSE_PROJECT_NAME=fromdotenv\n")
    project = _project(tmp_path, {"COMPOSE_DISABLE_ENV_FILE": value})
    assert project.services["s"].image == "busybox:none"
    assert project.name != "fromdotenv"
    assert _project(tmp_path, {"COMPOSE_DISABLE_ENV_FILE": "0"}).name == "fromdotenv"
