"""The loader: environment layering, multi-file merge, project name/dir, stdin; .env parsing."""

from pathlib import Path

import pytest

from stackup.core.errors import SpecError
from stackup.loader import loader as loader_mod
from stackup.loader.discover import normalize_name
from stackup.loader.dotenv import parse_env_file, parse_env_text
from stackup.loader.loader import LoadOptions, load_project, load_tree


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- .env files --------------------------------------------------------------------------


def test_env_file_rules() -> None:
    text = ("# comment\n\nA=1\nexport B = two words # note\nC='lit $A \\n'\n"
            'D="x\\ty\\n$A \\$A"\nE\nF=\nG="multi\nline"\nH=a#b\n')
    assert parse_env_text(text, ".env") == {
        "A": "1", "B": "two words", "C": "lit $A \\n", "D": "x\ty\n$A $A", "E": None, "F": "",
        "G": "multi\nline", "H": "a#b"}


def test_env_file_expansion_with_lookup() -> None:
    values = parse_env_text("A=1\nB=${A}-$OUT\nC='$A'\nD=\"\\$A\"\n", ".env", {"OUT": "o"})
    assert values == {"A": "1", "B": "1-o", "C": "$A", "D": "$A"}


@pytest.mark.parametrize("line", ["=x", "1A=x", "A B=x", 'A="open'])
def test_env_file_errors_have_line(line: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_env_text(f"OK=1\n{line}\n", "my.env")
    assert err.value.location.file == "my.env" and err.value.location.line == 2


def test_missing_env_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError):
        parse_env_file(str(tmp_path / "none.env"))


# --- load_tree ---------------------------------------------------------------------------


def test_dotenv_interpolation_and_precedence(tmp_path: Path) -> None:
    write(tmp_path / "compose.yaml", "services:\n  web:\n    image: nginx:${TAG}\n"
                                     "    environment: {W: $WHO}\n")
    write(tmp_path / ".env", "TAG=1.25\nWHO=dotenv\n")
    loaded = load_tree(LoadOptions(cwd=str(tmp_path), environ={"WHO": "process"}))
    web = loaded.tree["services"]["web"]
    assert web["image"] == "nginx:1.25" and web["environment"]["W"] == "process"
    assert loaded.environment["TAG"] == "1.25"
    assert loaded.working_dir == str(tmp_path)
    assert loaded.project_name == normalize_name(tmp_path.name)


def test_env_files_replace_dotenv_later_wins(tmp_path: Path) -> None:
    write(tmp_path / "compose.yaml", "services:\n  web: {image: 'x:${TAG}-${B}'}\n")
    write(tmp_path / ".env", "TAG=dotenv\nB=dotenv\n")
    write(tmp_path / "one.env", "TAG=one\nB=one\n")
    write(tmp_path / "two.env", "TAG=two\n")
    loaded = load_tree(LoadOptions(cwd=str(tmp_path), env_files=("one.env", "two.env")))
    assert loaded.tree["services"]["web"]["image"] == "x:two-one"


def test_multiple_files_merge_and_project_dir(tmp_path: Path) -> None:
    write(tmp_path / "app" / "base.yaml", "name: ${NAME:-fromfile}\nservices:\n"
                                          "  web: {image: a, ports: ['80']}\n")
    write(tmp_path / "over.yaml", "services:\n  web: {image: b, ports: ['81']}\n")
    loaded = load_tree(LoadOptions(files=("app/base.yaml", "over.yaml"), cwd=str(tmp_path)))
    assert loaded.tree["services"]["web"] == {"image": "b", "ports": ["80", "81"]}
    assert loaded.working_dir == str(tmp_path / "app")
    assert loaded.project_name == "fromfile"
    assert loaded.files == (str(tmp_path / "app" / "base.yaml"), str(tmp_path / "over.yaml"))


def test_compose_variables_from_dotenv(tmp_path: Path) -> None:
    write(tmp_path / "x.yaml", "services:\n  web: {image: a}\n")
    write(tmp_path / ".env", "COMPOSE_FILE=x.yaml\nCOMPOSE_PROJECT_NAME=envname\n"
                             "COMPOSE_PROFILES=debug,ops\n")
    loaded = load_tree(LoadOptions(cwd=str(tmp_path)))
    assert loaded.files == (str(tmp_path / "x.yaml"),)
    assert loaded.project_name == "envname" and loaded.profiles == ("debug", "ops")
    cli = load_tree(LoadOptions(cwd=str(tmp_path), project_name="cli", profiles=("p",)))
    assert cli.project_name == "cli" and cli.profiles == ("p",)


def test_stdin_and_warnings(tmp_path: Path) -> None:
    loaded = load_tree(LoadOptions(files=("-",), cwd=str(tmp_path),
                                   stdin="services:\n  web: {image: '$NOPE'}\n"))
    assert loaded.working_dir == str(tmp_path)
    assert loaded.tree["services"]["web"]["image"] == ""
    assert len(loaded.warnings) == 1 and '"NOPE" variable is not set' in loaded.warnings[0]
    assert loaded.warnings[0].startswith("-:2:16 (services.web.image)")


def test_reset_in_single_file_is_stripped(tmp_path: Path) -> None:
    write(tmp_path / "compose.yaml", "services:\n  web: {image: a, ports: !reset ['80'], "
                                     "command: !override [x]}\n")
    web = load_tree(LoadOptions(cwd=str(tmp_path))).tree["services"]["web"]
    assert web == {"image": "a", "command": ["x"]}


def test_extends_through_loader_is_interpolated(tmp_path: Path) -> None:
    write(tmp_path / "compose.yaml", "services:\n  web: {extends: {file: lib/b.yaml, service: b}}\n")
    write(tmp_path / "lib" / "b.yaml", "services:\n  b: {image: 'img:${TAG:-dflt}'}\n")
    loaded = load_tree(LoadOptions(cwd=str(tmp_path)))
    assert loaded.tree["services"]["web"] == {"image": "img:dflt"}


def test_missing_extends_file_located(tmp_path: Path) -> None:
    write(tmp_path / "compose.yaml", "services:\n  web: {extends: {file: gone.yaml, service: b}}\n")
    with pytest.raises(SpecError) as err:
        load_tree(LoadOptions(cwd=str(tmp_path)))
    assert err.value.location.path == "services.web.extends"


def test_load_project_calls_parser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "compose.yaml", "services:\n  web: {image: a}\n")
    seen: dict[str, object] = {}

    def fake_parse(tree, **kwargs):  # type: ignore[no-untyped-def]
        seen.update(kwargs, tree=tree)
        kwargs["warnings"].append("from parser")
        return "PROJECT"

    import stackup.loader.parse as parse_mod
    monkeypatch.setattr(parse_mod, "parse_project", fake_parse)
    loaded = loader_mod.load_project(LoadOptions(cwd=str(tmp_path), project_name="p",
                                                 services=("web",)))
    assert loaded.project == "PROJECT" and loaded.warnings == ("from parser",)
    assert seen["project_name"] == "p" and seen["requested_services"] == ("web",)
    assert seen["config_files"] == (str(tmp_path / "compose.yaml"),)


def test_load_project_end_to_end(tmp_path: Path) -> None:
    write(tmp_path / "compose.yaml", "services:\n  web: {image: 'nginx:${TAG:-1}'}\n")
    loaded = load_project(LoadOptions(cwd=str(tmp_path), project_name="demo"))
    assert loaded.project.name == "demo"
    assert loaded.project.services["web"].image == "nginx:1"
