"""Compose's flags that need no engine, through the installed command: an unknown option of
`exec`/`run` is a usage error naming it (exit 64) before anything else; `config
--no-env-resolution`; `build --print`, `--check`; the global `-v`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

STACKUP = str(Path(sys.executable).parent / "stackup")


def stackup(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([STACKUP, *args], cwd=folder, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("args, option", [
    (["exec", "-x", "web", "sh"], "-x"), (["exec", "--nope", "web", "sh"], "--nope"),
    (["run", "--bogus", "web"], "--bogus"), (["run", "-Z", "web"], "-Z"),
    (["exec", "-itx", "web", "sh"], "-x"),
])
def test_unknown_option_is_a_usage_error(tmp_path: Path, args: list[str], option: str) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n")
    result = stackup(tmp_path, *args)
    assert result.returncode == 64, result.stderr
    assert f"No such option: {option}" in result.stderr \
        or f"No such option '{option}'" in result.stderr, result.stderr
    assert "no such service" not in result.stderr


def test_config_no_env_resolution(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  a:\n    image: busybox\n    env_file: [x.env, {path: y.env, "
        "required: false}]\n    environment: [KEEP, 'Z=1']\n")
    (tmp_path / "x.env").write_text("FROM_FILE=1\n")
    resolved = json.loads(stackup(tmp_path, "config", "--format", "json").stdout)
    assert resolved["services"]["a"]["environment"] == {"FROM_FILE": "1", "Z": "1"}
    result = stackup(tmp_path, "config", "--format", "json", "--no-env-resolution")
    assert result.returncode == 0, result.stderr
    service = json.loads(result.stdout)["services"]["a"]
    assert service["environment"] == {"KEEP": None, "Z": "1"}
    assert service["env_file"] == [{"path": str(tmp_path / "x.env"), "required": True},
                                   {"path": str(tmp_path / "y.env"), "required": False}]


def test_build_print_builder_check_and_version(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  app:\n    build:\n      context: .\n      args: {A: '1'}\n"
        "      target: prod\n  db:\n    image: busybox\n")
    printed = stackup(tmp_path, "-p", "demo", "build", "--print")
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout) == {
        "group": {"default": {"targets": ["app"]}},
        "target": {"app": {"context": str(tmp_path), "dockerfile": "Dockerfile",
                           "args": {"A": "1"}, "target": "prod", "tags": ["demo-app"]}}}
    check = stackup(tmp_path, "build", "--check")
    assert check.returncode == 64 and "--check" in check.stderr
    version = stackup(tmp_path, "-v")
    assert version.returncode == 0 and version.stdout.startswith("stackup, version ")
